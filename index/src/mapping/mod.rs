//! Doc mapping: the tantivy schema of an index, records → documents, and field resolution for
//! queries.
//!
//! Every index has the same fixed fields, the explicitly mapped fields of its stream's
//! configuration, and a dynamic part that behaves like Elasticsearch's default dynamic mapping:
//!
//! | tantivy field | holds | used for |
//! |---|---|---|
//! | `_id` | record id (raw, stored, fast) | `ids` queries, replacing a document, tie-breaks |
//! | `@timestamp` | event time, ms precision (indexed, fast) | time ranges, sorting, histograms |
//! | `_source` | the record bytes exactly as sent (stored) | `_source` in hits |
//! | `_seq_no` | the record's write-ahead-log position (fast) | `_seq_no`, `if_seq_no` |
//! | `m<n>` | explicit field n: keyword, text, long, double, boolean, date or ip | as its type |
//! | `_text` | every other string leaf, tokenized with positions (JSON) | full text, phrases |
//! | `_val` | other strings up to 256 chars untokenized, numbers, booleans (JSON, columns only) | exact terms, ranges, sorting, aggregations |
//!
//! So a dynamic string is searchable as text *and* usable as an exact value, `field.keyword`
//! resolves to the exact form, and nested objects are addressed with dotted paths — as in ES,
//! where a dynamic string becomes `text` with a `keyword` sub-field (`ignore_above: 256`).
//! Each index keeps the mapping it was created with (in its `index.json`), so changing the
//! configuration affects new indices only.

mod coerce;
mod dates;
mod document;
mod scan;

use std::collections::HashMap;

pub use coerce::{to_v6, type_name};
pub use document::{DocValue, Elements, FieldValues, LogDoc, Members, View};
use hydrant_config::{FieldType, MappingConfig, MappingMode};
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, IpAddrOptions,
    JsonObjectOptions, NumericOptions, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::definitions::DynamicTemplate;
use crate::error::MappingError;
use crate::tokenizer::STANDARD;

/// An explicitly mapped `text` field: words as the `standard` analyzer cuts them, with
/// positions for phrases.
fn text_options() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(STANDARD)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Strings longer than this are not kept as exact values (ES's dynamic `ignore_above`).
pub const IGNORE_ABOVE: usize = 256;

/// Name of the id field.
pub const ID_FIELD: &str = "_id";
/// Name of the event-time field.
pub const TIMESTAMP_FIELD: &str = "@timestamp";
const SOURCE_FIELD: &str = "_source";
/// Name of the field holding each document's sequence number (its write-ahead-log position).
pub const SEQ_NO_FIELD: &str = "_seq_no";
pub(crate) const TEXT_FIELD: &str = "_text";
pub(crate) const VALUE_FIELD: &str = "_val";

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
    /// Sequence numbers (`None` in indices created before they were kept).
    pub seq_no: Option<Field>,
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
    /// An explicitly mapped field.
    Explicit {
        /// Dotted path inside the record.
        path: String,
        /// The tantivy field.
        field: Field,
        /// Its type.
        kind: FieldType,
    },
    /// A name no document of this index can have (`x.keyword` of an explicit non-keyword field,
    /// an unmapped field of a strict mapping).
    Missing,
}

/// Turns records into tantivy documents and query field names into schema locations.
#[derive(Debug, Clone)]
pub struct DocMapper {
    schema: Schema,
    fields: SchemaFields,
    mapping: MappingConfig,
    explicit: HashMap<String, (Field, FieldType)>,
    /// The `dynamic_templates` the index was created with.
    dynamic_templates: std::sync::Arc<[DynamicTemplate]>,
    /// Whether dynamic strings in Elasticsearch's default date formats are dates
    /// (`date_detection`, on unless the index's mappings turn it off).
    date_detection: bool,
    /// Names one search request gives other fields (its `runtime_mappings` that read a field
    /// as it is): name → the field it reads.
    aliases: std::sync::Arc<std::collections::BTreeMap<String, String>>,
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

/// The tantivy name of the longitude column of the `geo_point` field whose latitude is `lat`.
pub fn geo_lon_name(lat: &str) -> String {
    format!("{lat}_lon")
}

/// The longitude field of a `geo_point` field whose latitude is `lat`: always the next field
/// of the schema (checked when a mapper is opened).
pub fn geo_lon_field(lat: Field) -> Field {
    Field::from_field_id(lat.field_id() + 1)
}

/// The tantivy name of explicit field number `n`.
fn explicit_name(n: usize) -> String {
    format!("m{n}")
}

impl DocMapper {
    /// The mapper with the dynamic schema only.
    pub fn new() -> DocMapper {
        DocMapper::with_mapping(&MappingConfig {
            mode: MappingMode::Dynamic,
            fields: Vec::new(),
        })
    }

    /// The mapper (and schema) of a new index with `mapping`.
    pub fn with_mapping(mapping: &MappingConfig) -> DocMapper {
        let mut b = Schema::builder();
        b.add_text_field(ID_FIELD, STRING | STORED | FAST);
        b.add_date_field(
            TIMESTAMP_FIELD,
            DateOptions::from(INDEXED)
                .set_fast()
                .set_precision(DateTimePrecision::Milliseconds),
        );
        b.add_bytes_field(SOURCE_FIELD, STORED);
        b.add_json_field(
            TEXT_FIELD,
            JsonObjectOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(STANDARD)
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_expand_dots_enabled(),
        );
        // Exact values live in columns only: an inverted index of every distinct value
        // (trace ids, messages, timestamps) would triple the cost of indexing, and term and
        // range filters on columns stay fast (see the query room's compiler).
        b.add_json_field(
            VALUE_FIELD,
            JsonObjectOptions::default()
                .set_fast("raw")
                .set_expand_dots_enabled(),
        );
        b.add_u64_field(SEQ_NO_FIELD, FAST);
        for (n, (_, kind)) in mapping.fields.iter().enumerate() {
            let name = explicit_name(n);
            match kind {
                FieldType::Keyword => {
                    b.add_text_field(&name, STRING.set_fast("raw"));
                }
                FieldType::Text => {
                    b.add_text_field(&name, text_options());
                }
                FieldType::Long => {
                    b.add_i64_field(&name, NumericOptions::from(INDEXED).set_fast());
                }
                FieldType::Double => {
                    b.add_f64_field(&name, NumericOptions::from(INDEXED).set_fast());
                }
                FieldType::Boolean => {
                    b.add_bool_field(&name, NumericOptions::from(INDEXED).set_fast());
                }
                FieldType::Date => {
                    b.add_date_field(
                        &name,
                        DateOptions::from(INDEXED)
                            .set_fast()
                            .set_precision(DateTimePrecision::Milliseconds),
                    );
                }
                FieldType::Ip => {
                    b.add_ip_addr_field(&name, IpAddrOptions::from(INDEXED).set_fast());
                }
                FieldType::GeoPoint => {
                    // Latitude in `m<n>`, longitude right after it (see `geo_lon_field`).
                    b.add_f64_field(&name, NumericOptions::default().set_fast());
                    b.add_f64_field(&geo_lon_name(&name), NumericOptions::default().set_fast());
                }
            }
        }
        let schema = b.build();
        // The schema was built just above with every name looked up here.
        match DocMapper::open(mapping, &schema) {
            Ok(m) => m,
            Err(e) => panic!("schema built from the mapping lacks a field: {e}"),
        }
    }

    /// The mapper of an existing index, from its mapping and tantivy schema.
    pub fn open(mapping: &MappingConfig, schema: &Schema) -> Result<DocMapper, String> {
        let get = |name: &str| {
            schema
                .get_field(name)
                .map_err(|_| format!("the index schema has no field `{name}`"))
        };
        let fields = SchemaFields {
            id: get(ID_FIELD)?,
            timestamp: get(TIMESTAMP_FIELD)?,
            source: get(SOURCE_FIELD)?,
            text: get(TEXT_FIELD)?,
            value: get(VALUE_FIELD)?,
            seq_no: schema.get_field(SEQ_NO_FIELD).ok(),
        };
        let mut explicit = HashMap::new();
        for (n, (path, kind)) in mapping.fields.iter().enumerate() {
            let name = explicit_name(n);
            let field = get(&name)?;
            if *kind == FieldType::GeoPoint && get(&geo_lon_name(&name))? != geo_lon_field(field) {
                return Err(format!(
                    "the longitude of `{name}` does not follow it in the schema"
                ));
            }
            explicit.insert(path.clone(), (field, *kind));
        }
        Ok(DocMapper {
            schema: schema.clone(),
            fields,
            mapping: mapping.clone(),
            explicit,
            dynamic_templates: std::sync::Arc::from(Vec::new()),
            date_detection: true,
            aliases: Default::default(),
        })
    }

    /// This mapper with `aliases` (name → the field it reads) resolved as their fields, for one
    /// search request's runtime fields.
    pub fn with_aliases(&self, aliases: std::collections::BTreeMap<String, String>) -> DocMapper {
        DocMapper {
            aliases: std::sync::Arc::new(aliases),
            ..self.clone()
        }
    }

    /// The aliases (see [`with_aliases`](Self::with_aliases)): name and the field it reads.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.aliases.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// This mapper with `date_detection` on or off.
    pub fn with_date_detection(mut self, on: bool) -> DocMapper {
        self.date_detection = on;
        self
    }

    /// This mapper with the `dynamic_templates` of the index's declared mappings.
    pub fn with_dynamic_templates(mut self, templates: Vec<DynamicTemplate>) -> DocMapper {
        self.dynamic_templates = std::sync::Arc::from(templates);
        self
    }

    /// The type the index's `dynamic_templates` give the dynamic field at `path` whose values
    /// have JSON type `detected` (`string`, `long`, …), if one applies and changes it.
    pub fn dynamic_type(&self, path: &str, detected: &str) -> Option<&str> {
        crate::definitions::template_type(&self.dynamic_templates, path, detected)
    }

    /// The mapping this index was created with.
    pub fn mapping(&self) -> &MappingConfig {
        &self.mapping
    }

    /// The explicitly mapped fields: path, tantivy field, type.
    pub fn explicit_fields(&self) -> impl Iterator<Item = (&str, Field, FieldType)> {
        self.mapping.fields.iter().filter_map(|(path, _)| {
            self.explicit
                .get(path)
                .map(|(field, kind)| (path.as_str(), *field, *kind))
        })
    }

    /// The name tantivy knows a field's column by (for sorting and aggregations), and the
    /// explicit type when the field is mapped: `m3` for an explicit field, `_val.path` for a
    /// dynamic one, `@timestamp`, `_id`. `None` when no column can exist.
    pub fn column_name(&self, name: &str) -> Option<(String, Option<FieldType>)> {
        match self.resolve(name) {
            FieldTarget::Id => Some((ID_FIELD.to_string(), Some(FieldType::Keyword))),
            FieldTarget::Timestamp => Some((TIMESTAMP_FIELD.to_string(), Some(FieldType::Date))),
            FieldTarget::Dynamic { path } | FieldTarget::Keyword { path } => {
                Some((format!("{VALUE_FIELD}.{path}"), None))
            }
            FieldTarget::Explicit { field, kind, .. } => match kind {
                FieldType::Text => None,
                _ => Some((self.schema.get_field_name(field).to_string(), Some(kind))),
            },
            FieldTarget::Missing => None,
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
        // An alias may read another (runtime fields may read each other), a few hops deep;
        // one that leads round in a circle reads nothing.
        let mut name = name;
        for _ in 0..8 {
            match self.aliases.get(name) {
                Some(target) if target != name => name = target,
                _ => return self.resolve_field(name),
            }
        }
        FieldTarget::Missing
    }

    /// [`resolve`](Self::resolve) of a field's own name (no alias).
    fn resolve_field(&self, name: &str) -> FieldTarget {
        match name {
            ID_FIELD => return FieldTarget::Id,
            TIMESTAMP_FIELD => return FieldTarget::Timestamp,
            // NUL ends a path inside tantivy's JSON terms: a name holding one can name no
            // indexed value, and a term built from it is malformed (a range on it panicked
            // tantivy; found by the `query_string` fuzz target).
            _ if name.contains('\0') => return FieldTarget::Missing,
            _ => {}
        }
        if let Some((field, kind)) = self.explicit.get(name) {
            return FieldTarget::Explicit {
                path: name.to_string(),
                field: *field,
                kind: *kind,
            };
        }
        if let Some(path) = name.strip_suffix(".keyword").filter(|p| !p.is_empty()) {
            return match self.explicit.get(path) {
                Some((field, FieldType::Keyword)) => FieldTarget::Explicit {
                    path: path.to_string(),
                    field: *field,
                    kind: FieldType::Keyword,
                },
                Some(_) => FieldTarget::Missing,
                None if self.mapping.mode == MappingMode::Strict => FieldTarget::Missing,
                None => FieldTarget::Keyword {
                    path: path.to_string(),
                },
            };
        }
        if self.mapping.mode == MappingMode::Strict {
            return FieldTarget::Missing;
        }
        // A string field a dynamic template makes a keyword is matched as one exact value.
        if self
            .dynamic_templates
            .iter()
            .find(|t| t.applies(name, "string"))
            .is_some_and(|t| t.types_strings_only() && t.is_exact())
        {
            return FieldTarget::Keyword {
                path: name.to_string(),
            };
        }
        FieldTarget::Dynamic {
            path: name.to_string(),
        }
    }

    /// Whether records need checking against this mapping before they are accepted (explicit
    /// fields or strict mode; the dynamic mapping takes any JSON object).
    pub fn checks_records(&self) -> bool {
        !self.explicit.is_empty() || self.mapping.mode == MappingMode::Strict
    }

    /// The accept-time check of a record, in one pass that builds nothing: it is one JSON
    /// object the indexer will read (valid UTF-8, nested within the parser's limit) and fits
    /// the mapping. Returns its event time (`@timestamp`, else `timestamp`, when a date), so
    /// that receivers can refuse a record alone, as Elasticsearch does, before acknowledging
    /// anything.
    pub fn scan(&self, source: &[u8]) -> Result<Option<i64>, MappingError> {
        scan::scan(
            &self.explicit,
            self.mapping.mode == MappingMode::Strict,
            source,
        )
    }

    /// [`scan`](Self::scan) of a document in memory (what an ingest pipeline made): the same
    /// checks and event time as over its serialized bytes, without writing or parsing them.
    pub fn scan_value(
        &self,
        source: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<i64>, MappingError> {
        scan::scan_value(
            &self.explicit,
            self.mapping.mode == MappingMode::Strict,
            source,
        )
    }

    /// Builds the document for one record; a record that does not fit the mapping (not a JSON
    /// object, a value of the wrong type, an unmapped field under `strict`) is an error for
    /// that record alone.
    pub fn to_document(&self, doc: &SourceDoc<'_>) -> Result<LogDoc, MappingError> {
        document::build(
            self.fields,
            &self.explicit,
            self.mapping.mode == MappingMode::Strict,
            self.date_detection,
            doc.id,
            doc.timestamp_ms,
            doc.source,
        )
    }
}

#[cfg(test)]
mod tests;
