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
//! | `_val` | strings up to 256 chars untokenized, numbers, booleans (JSON, columns only) | exact terms, ranges, sorting, aggregations |
//!
//! So a string is searchable as text *and* usable as an exact value, `field.keyword` resolves
//! to the exact form, and nested objects are addressed with dotted paths — as in ES, where a
//! dynamic string becomes `text` with a `keyword` sub-field (`ignore_above: 256`).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
        // Exact values live in columns only: an inverted index of every distinct value
        // (trace ids, messages, timestamps) would triple the cost of indexing, and term and
        // range filters on columns stay fast (see the query room's compiler).
        let value = b.add_json_field(
            VALUE_FIELD,
            JsonObjectOptions::default()
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
        let mut text = Vec::new();
        let mut value = Vec::new();
        let mut de = serde_json::Deserializer::from_slice(doc.source);
        let split = Members {
            text: &mut text,
            value: &mut value,
            top: true,
        };
        serde::de::Deserializer::deserialize_map(&mut de, split)
            .and_then(|()| de.end())
            .map_err(|e| MappingError::NotAnObject {
                reason: format!("the record is not a JSON object: {e}"),
            })?;
        let mut out = TantivyDocument::new();
        out.add_text(self.fields.id, doc.id);
        out.add_date(
            self.fields.timestamp,
            DateTime::from_timestamp_millis(doc.timestamp_ms),
        );
        out.add_bytes(self.fields.source, doc.source);
        if !text.is_empty() {
            out.add_field_value(self.fields.text, &OwnedValue::Object(text));
        }
        if !value.is_empty() {
            out.add_field_value(self.fields.value, &OwnedValue::Object(value));
        }
        Ok(out)
    }
}

type Tree = Vec<(String, OwnedValue)>;

/// Reads a JSON object straight into its text and exact-value trees, without building a
/// `serde_json::Value` first (this runs once per record on the indexing hot path).
struct Members<'a> {
    text: &'a mut Tree,
    value: &'a mut Tree,
    /// The record's top level, where `@timestamp` is skipped (it has its own field).
    top: bool,
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if self.top && key == TIMESTAMP_FIELD {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let (t, v) = map.next_value_seed(Leaf)?;
            if let Some(t) = t {
                if let Some(v) = v {
                    self.value.push((key.clone(), v));
                }
                self.text.push((key, t));
            } else if let Some(v) = v {
                self.value.push((key, v));
            }
        }
        Ok(())
    }
}

/// One JSON value as its (text form, exact form); either may be absent.
struct Leaf;

type Split = (Option<OwnedValue>, Option<OwnedValue>);

impl<'de> DeserializeSeed<'de> for Leaf {
    type Value = Split;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Split, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Leaf {
    type Value = Split;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Split, E> {
        Ok((None, None))
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Split, E> {
        Ok((None, Some(OwnedValue::Bool(b))))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<Split, E> {
        Ok((None, Some(OwnedValue::I64(i))))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Split, E> {
        Ok((
            None,
            Some(match i64::try_from(u) {
                Ok(i) => OwnedValue::I64(i),
                Err(_) => OwnedValue::U64(u),
            }),
        ))
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<Split, E> {
        Ok((None, Some(OwnedValue::F64(x))))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Split, E> {
        self.visit_string(s.to_string())
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Split, E> {
        let exact = (s.len() <= IGNORE_ABOVE).then(|| OwnedValue::Str(s.clone()));
        Ok((Some(OwnedValue::Str(s)), exact))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Split, A::Error> {
        let mut text = Vec::new();
        let mut value = Vec::new();
        while let Some((t, v)) = seq.next_element_seed(Leaf)? {
            // Nested arrays flatten, as in Elasticsearch.
            for (out, item) in [(&mut text, t), (&mut value, v)] {
                match item {
                    Some(OwnedValue::Array(items)) => out.extend(items),
                    Some(x) => out.push(x),
                    None => {}
                }
            }
        }
        let wrap = |items: Vec<OwnedValue>| (!items.is_empty()).then_some(OwnedValue::Array(items));
        Ok((wrap(text), wrap(value)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Split, A::Error> {
        let mut text = Vec::new();
        let mut value = Vec::new();
        Members {
            text: &mut text,
            value: &mut value,
            top: false,
        }
        .visit_map(map)?;
        let wrap = |tree: Tree| (!tree.is_empty()).then_some(OwnedValue::Object(tree));
        Ok((wrap(text), wrap(value)))
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
