//! Doc mapping: the tantivy schema of an index, records → documents, and field resolution for
//! queries.
//!
//! Every index has the same fixed fields plus a dynamic part that behaves like
//! Elasticsearch's default dynamic mapping:
//!
//! | tantivy field | holds | used for |
//! |---|---|---|
//! | `_id` | record id (raw, stored, fast) | `ids` queries, replacing a document, tie-breaks |
//! | `@timestamp` | event time, ms precision (indexed, fast) | time ranges, sorting, histograms |
//! | `_source` | the record bytes exactly as sent (stored) | `_source` in hits |
//! | `_text` | every string leaf, tokenized with positions (JSON) | full text, phrases |
//! | `_val` | strings up to 256 chars untokenized, numbers, booleans (JSON, fast) | exact terms, ranges, sorting, aggregations |
//!
//! So a string is searchable as text *and* usable as an exact value, `field.keyword` resolves
//! to the exact form, and nested objects are addressed with dotted paths — as in ES, where a
//! dynamic string becomes `text` with a `keyword` sub-field (`ignore_above: 256`).

use serde_json::{Map, Value};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, IndexRecordOption, JsonObjectOptions, OwnedValue,
    STORED, STRING, Schema, TextFieldIndexing,
};
use tantivy::{DateTime, TantivyDocument};

use crate::error::MappingError;

/// Strings longer than this are not kept as exact values (ES's dynamic `ignore_above`).
pub const IGNORE_ABOVE: usize = 256;

/// Name of the id field.
pub const ID_FIELD: &str = "_id";
/// Name of the event-time field.
pub const TIMESTAMP_FIELD: &str = "@timestamp";
const SOURCE_FIELD: &str = "_source";
const TEXT_FIELD: &str = "_text";
const VALUE_FIELD: &str = "_val";

/// The fields of an index's schema.
#[derive(Debug, Clone, Copy)]
pub struct SchemaFields {
    /// Record id.
    pub id: Field,
    /// Event time.
    pub timestamp: Field,
    /// Original record bytes.
    pub source: Field,
    /// Dynamic strings, tokenized.
    pub text: Field,
    /// Dynamic exact values and numbers.
    pub value: Field,
}

/// Where a field named in a query lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldTarget {
    /// The record id.
    Id,
    /// The event time.
    Timestamp,
    /// A dynamic field: its text form in `_text`, exact values and numbers in `_val`.
    Dynamic {
        /// Dotted path inside the record.
        path: String,
    },
    /// `path.keyword`: only the exact-value form.
    Keyword {
        /// Dotted path inside the record (without `.keyword`).
        path: String,
    },
}

/// Turns records into tantivy documents and query field names into schema locations.
#[derive(Debug, Clone)]
pub struct DocMapper {
    schema: Schema,
    fields: SchemaFields,
}

/// One record as the index receives it.
#[derive(Debug, Clone, Copy)]
pub struct SourceDoc<'a> {
    /// Record id (`_id`).
    pub id: &'a str,
    /// Event time in epoch milliseconds.
    pub timestamp_ms: i64,
    /// The record, exactly as sent.
    pub source: &'a [u8],
}

impl Default for DocMapper {
    fn default() -> Self {
        Self::new()
    }
}

impl DocMapper {
    /// The mapper with the dynamic schema.
    pub fn new() -> DocMapper {
        let mut b = Schema::builder();
        let id = b.add_text_field(ID_FIELD, STRING | STORED | FAST);
        let timestamp = b.add_date_field(
            TIMESTAMP_FIELD,
            DateOptions::from(tantivy::schema::INDEXED)
                .set_fast()
                .set_precision(DateTimePrecision::Milliseconds),
        );
        let source = b.add_bytes_field(SOURCE_FIELD, STORED);
        let text = b.add_json_field(
            TEXT_FIELD,
            JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("default")
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_expand_dots_enabled(),
        );
        let value = b.add_json_field(
            VALUE_FIELD,
            JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("raw")
                        .set_index_option(IndexRecordOption::Basic),
                )
                .set_fast("raw")
                .set_expand_dots_enabled(),
        );
        DocMapper {
            schema: b.build(),
            fields: SchemaFields {
                id,
                timestamp,
                source,
                text,
                value,
            },
        }
    }

    /// The tantivy schema.
    pub fn schema(&self) -> Schema {
        self.schema.clone()
    }

    /// The schema's fields.
    pub fn fields(&self) -> SchemaFields {
        self.fields
    }

    /// Where a field named in a query lives.
    pub fn resolve(&self, name: &str) -> FieldTarget {
        match name {
            ID_FIELD => FieldTarget::Id,
            TIMESTAMP_FIELD => FieldTarget::Timestamp,
            _ => match name.strip_suffix(".keyword") {
                Some(path) if !path.is_empty() => FieldTarget::Keyword {
                    path: path.to_string(),
                },
                _ => FieldTarget::Dynamic {
                    path: name.to_string(),
                },
            },
        }
    }

    /// Builds the document for one record; a record that is not a JSON object is an error
    /// for that record alone.
    pub fn to_document(&self, doc: &SourceDoc<'_>) -> Result<TantivyDocument, MappingError> {
        let object: Map<String, Value> =
            serde_json::from_slice(doc.source).map_err(|e| MappingError::NotAnObject {
                reason: format!("the record is not a JSON object: {e}"),
            })?;
        let mut out = TantivyDocument::new();
        out.add_text(self.fields.id, doc.id);
        out.add_date(
            self.fields.timestamp,
            DateTime::from_timestamp_millis(doc.timestamp_ms),
        );
        out.add_bytes(self.fields.source, doc.source);
        let mut text = Vec::new();
        let mut value = Vec::new();
        for (key, v) in object {
            if key == TIMESTAMP_FIELD {
                continue;
            }
            split_value(key, v, &mut text, &mut value);
        }
        if !text.is_empty() {
            out.add_field_value(self.fields.text, &OwnedValue::Object(text));
        }
        if !value.is_empty() {
            out.add_field_value(self.fields.value, &OwnedValue::Object(value));
        }
        Ok(out)
    }
}

/// Sends one JSON member to the text and/or exact-value objects.
fn split_value(
    key: String,
    v: Value,
    text: &mut Vec<(String, OwnedValue)>,
    value: &mut Vec<(String, OwnedValue)>,
) {
    match v {
        Value::Null => {}
        Value::Bool(b) => value.push((key, OwnedValue::Bool(b))),
        Value::Number(n) => {
            if let Some(n) = number(&n) {
                value.push((key, n));
            }
        }
        Value::String(s) => {
            if s.len() <= IGNORE_ABOVE {
                value.push((key.clone(), OwnedValue::Str(s.clone())));
            }
            text.push((key, OwnedValue::Str(s)));
        }
        Value::Array(items) => {
            let mut t = Vec::new();
            let mut x = Vec::new();
            for item in items {
                split_array_item(item, &mut t, &mut x);
            }
            if !t.is_empty() {
                text.push((key.clone(), OwnedValue::Array(t)));
            }
            if !x.is_empty() {
                value.push((key, OwnedValue::Array(x)));
            }
        }
        Value::Object(members) => {
            let mut t = Vec::new();
            let mut x = Vec::new();
            for (k, v) in members {
                split_value(k, v, &mut t, &mut x);
            }
            if !t.is_empty() {
                text.push((key.clone(), OwnedValue::Object(t)));
            }
            if !x.is_empty() {
                value.push((key, OwnedValue::Object(x)));
            }
        }
    }
}

fn split_array_item(item: Value, text: &mut Vec<OwnedValue>, value: &mut Vec<OwnedValue>) {
    match item {
        Value::Null => {}
        Value::Bool(b) => value.push(OwnedValue::Bool(b)),
        Value::Number(n) => {
            if let Some(n) = number(&n) {
                value.push(n);
            }
        }
        Value::String(s) => {
            if s.len() <= IGNORE_ABOVE {
                value.push(OwnedValue::Str(s.clone()));
            }
            text.push(OwnedValue::Str(s));
        }
        Value::Array(items) => {
            for item in items {
                split_array_item(item, text, value);
            }
        }
        Value::Object(members) => {
            let mut t = Vec::new();
            let mut x = Vec::new();
            for (k, v) in members {
                split_value(k, v, &mut t, &mut x);
            }
            if !t.is_empty() {
                text.push(OwnedValue::Object(t));
            }
            if !x.is_empty() {
                value.push(OwnedValue::Object(x));
            }
        }
    }
}

fn number(n: &serde_json::Number) -> Option<OwnedValue> {
    if let Some(i) = n.as_i64() {
        Some(OwnedValue::I64(i))
    } else if let Some(u) = n.as_u64() {
        Some(OwnedValue::U64(u))
    } else {
        n.as_f64().map(OwnedValue::F64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_object_record_is_a_mapping_error() {
        let m = DocMapper::new();
        let err = m
            .to_document(&SourceDoc {
                id: "1",
                timestamp_ms: 0,
                source: b"[1,2]",
            })
            .unwrap_err();
        assert_eq!(err.es_type(), "mapper_parsing_exception");
    }

    #[test]
    fn keyword_suffix_resolves_to_exact_form() {
        let m = DocMapper::new();
        assert_eq!(
            m.resolve("user.name.keyword"),
            FieldTarget::Keyword {
                path: "user.name".into()
            }
        );
        assert_eq!(
            m.resolve("user.name"),
            FieldTarget::Dynamic {
                path: "user.name".into()
            }
        );
        assert_eq!(m.resolve("@timestamp"), FieldTarget::Timestamp);
    }
}
