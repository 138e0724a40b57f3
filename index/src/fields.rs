//! What dynamic fields a searcher's segments hold, with their value types — for queries that
//! name no field (they search every field, as Elasticsearch's `*` default does), for wildcard
//! field names, and for `_mapping` and `_field_caps`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tantivy::index::SegmentId;
use tantivy::schema::Type;
use tantivy::{Searcher, SegmentReader};

/// Value types a dynamic field holds (one field can hold several across documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueKind {
    /// Tokenized text (`_text`).
    Text,
    /// Exact string (`_val`).
    Keyword,
    /// Signed integer.
    I64,
    /// Unsigned integer above `i64::MAX`.
    U64,
    /// Floating point.
    F64,
    /// Boolean.
    Bool,
    /// Date.
    Date,
}

/// Dynamic fields of a set of segments: dotted path → kinds of values seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicFields {
    /// Every path with the kinds it holds.
    pub paths: BTreeMap<String, BTreeSet<ValueKind>>,
}

impl DynamicFields {
    /// Paths holding tokenized text.
    pub fn text_paths(&self) -> impl Iterator<Item = &str> {
        self.with_kind(ValueKind::Text)
    }

    /// Paths holding `kind`.
    pub fn with_kind(&self, kind: ValueKind) -> impl Iterator<Item = &str> {
        self.paths
            .iter()
            .filter(move |(_, k)| k.contains(&kind))
            .map(|(p, _)| p.as_str())
    }

    /// Adds another set (a union).
    pub fn merge(&mut self, other: &DynamicFields) {
        for (path, kinds) in &other.paths {
            self.paths
                .entry(path.clone())
                .or_default()
                .extend(kinds.iter().copied());
        }
    }
}

type Cache = Mutex<HashMap<SegmentId, Arc<DynamicFields>>>;

/// Segments are immutable, so their field lists are computed once each.
fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Most segments remembered before the cache is cleared (merged segments go away).
const CACHE_LIMIT: usize = 20_000;

/// The dynamic fields of every segment of `searcher`.
pub fn dynamic_fields(searcher: &Searcher) -> DynamicFields {
    let mut out = DynamicFields::default();
    for segment in searcher.segment_readers() {
        out.merge(&segment_fields(segment));
    }
    out
}

fn segment_fields(segment: &SegmentReader) -> Arc<DynamicFields> {
    let id = segment.segment_id();
    if let Some(f) = cache().lock().get(&id) {
        return f.clone();
    }
    let mut fields = DynamicFields::default();
    if let Ok(metas) = segment.fields_metadata() {
        for meta in metas {
            let (kind, path) = if let Some(path) = meta.field_name.strip_prefix("_text.") {
                (ValueKind::Text, path)
            } else if let Some(path) = meta.field_name.strip_prefix("_val.") {
                let kind = match meta.typ {
                    Type::Str => ValueKind::Keyword,
                    Type::I64 => ValueKind::I64,
                    Type::U64 => ValueKind::U64,
                    Type::F64 => ValueKind::F64,
                    Type::Bool => ValueKind::Bool,
                    Type::Date => ValueKind::Date,
                    _ => continue,
                };
                (kind, path)
            } else {
                continue;
            };
            fields
                .paths
                .entry(path.to_string())
                .or_default()
                .insert(kind);
        }
    }
    let fields = Arc::new(fields);
    let mut c = cache().lock();
    if c.len() >= CACHE_LIMIT {
        c.clear();
    }
    c.insert(id, fields.clone());
    fields
}
