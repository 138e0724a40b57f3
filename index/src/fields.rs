//! What dynamic fields a searcher's segments hold, with their value types — for queries that
//! name no field (they search every field, as Elasticsearch's `*` default does), for wildcard
//! field names, and for `_mapping` and `_field_caps`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tantivy::index::SegmentId;
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

/// [`dynamic_fields`], merged once per set of segments: every search of a shard asks for its
/// searcher's fields, and the set changes only with a commit or a merge.
pub fn searcher_fields(searcher: &Searcher) -> Arc<DynamicFields> {
    type Merged = Mutex<HashMap<Vec<SegmentId>, Arc<DynamicFields>>>;
    static MERGED: OnceLock<Merged> = OnceLock::new();
    let merged = MERGED.get_or_init(|| Mutex::new(HashMap::new()));
    let ids: Vec<SegmentId> = searcher
        .segment_readers()
        .iter()
        .map(|s| s.segment_id())
        .collect();
    if let Some(f) = merged.lock().get(&ids) {
        return f.clone();
    }
    let fields = Arc::new(dynamic_fields(searcher));
    let mut m = merged.lock();
    // Sets of segments replaced by a commit or a merge are not asked for again.
    if m.len() >= 1024 {
        m.clear();
    }
    m.insert(ids, fields.clone());
    fields
}

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
    text_paths(segment, &mut fields);
    value_columns(segment, &mut fields);
    let fields = Arc::new(fields);
    let mut c = cache().lock();
    if c.len() >= CACHE_LIMIT {
        c.clear();
    }
    c.insert(id, fields.clone());
    fields
}

/// How tantivy encodes a JSON term: the path's segments joined by this byte, then
/// [`END_OF_PATH`], the value's type code and the value.
const PATH_SEGMENT_SEP: u8 = 1;
const END_OF_PATH: u8 = 0;

/// The paths of `_text`: one seek of its term dictionary per path, to the first term past
/// every term of the path found last — never a scan of the terms (tantivy's `fields_metadata`
/// reads every term, which on a large merged segment costs the first search a second or more).
fn text_paths(segment: &SegmentReader, out: &mut DynamicFields) {
    let Ok(field) = segment.schema().get_field(crate::mapping::TEXT_FIELD) else {
        return;
    };
    let Ok(inverted) = segment.inverted_index(field) else {
        return;
    };
    let terms = inverted.terms();
    let mut from: Vec<u8> = Vec::new();
    loop {
        let Ok(mut stream) = terms.range().ge(&from).into_stream() else {
            return;
        };
        if !stream.advance() {
            return;
        }
        let key = stream.key();
        let Some(end) = key.iter().position(|b| *b == END_OF_PATH) else {
            return;
        };
        let path = dotted(&key[..end]);
        out.paths.entry(path).or_default().insert(ValueKind::Text);
        from.clear();
        from.extend_from_slice(&key[..end]);
        from.push(END_OF_PATH + 1);
    }
}

/// The paths and value kinds of `_val`, from the names of the segment's columns.
fn value_columns(segment: &SegmentReader, out: &mut DynamicFields) {
    use tantivy::Directory;
    use tantivy::columnar::{ColumnType, ColumnarReader};
    let file = format!("{}.fast", segment.segment_id().uuid_string());
    let Ok(slice) = segment
        .index()
        .directory()
        .open_read(std::path::Path::new(&file))
    else {
        return;
    };
    let Ok(columns) = ColumnarReader::open(slice).and_then(|c| c.list_columns()) else {
        return;
    };
    let mut prefix = crate::mapping::VALUE_FIELD.as_bytes().to_vec();
    prefix.push(PATH_SEGMENT_SEP);
    for (name, handle) in columns {
        let Some(path) = name.as_bytes().strip_prefix(prefix.as_slice()) else {
            continue;
        };
        let kind = match handle.column_type() {
            ColumnType::Str => ValueKind::Keyword,
            ColumnType::I64 => ValueKind::I64,
            ColumnType::U64 => ValueKind::U64,
            ColumnType::F64 => ValueKind::F64,
            ColumnType::Bool => ValueKind::Bool,
            ColumnType::DateTime => ValueKind::Date,
            _ => continue,
        };
        out.paths.entry(dotted(path)).or_default().insert(kind);
    }
}

/// A path as tantivy stores it, with dots between its segments.
fn dotted(path: &[u8]) -> String {
    String::from_utf8_lossy(path).replace(char::from(PATH_SEGMENT_SEP), ".")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tantivy::schema::Type;

    use super::*;
    use crate::{Catalog, SourceDoc, StreamIndexer};

    /// What tantivy's `fields_metadata` (a scan of every term) says: the reference.
    fn from_metadata(segment: &SegmentReader) -> DynamicFields {
        let mut fields = DynamicFields::default();
        for meta in segment.fields_metadata().unwrap() {
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
        fields
    }

    #[test]
    fn seeking_paths_finds_what_a_scan_of_every_term_finds() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
        let mut settings = hydrant_config::StreamConfig::builtin().index;
        settings.writer_threads = 1;
        settings.writer_memory = 20 * 1024 * 1024;
        let mut ix = StreamIndexer::new(catalog.clone(), "web", settings);
        let long = "y".repeat(300);
        let records = [
            r#"{"msg":"GET /a 200","status":200,"ok":true,"lat":1.5}"#.to_string(),
            r#"{"a":{"b":"x","c":{"d":7}},"a.b":"dotted","tags":["p","q",3]}"#.to_string(),
            r#"{"":"empty key","ünï":"code","big":18446744073709551615,"n":null}"#.to_string(),
            format!(r#"{{"long":"{long}","msg":"another line","a":{{"bb":"z"}}}}"#),
            r#"{"arr":[{"k":"v"},{"k":1}],"status":"404"}"#.to_string(),
        ];
        for (i, r) in records.iter().enumerate() {
            let id = i.to_string();
            let doc = SourceDoc {
                id: &id,
                timestamp_ms: 1_764_115_200_000,
                source: r.as_bytes(),
            };
            ix.add(i as u64 + 1, &doc, false).unwrap();
        }
        ix.commit(records.len() as u64).unwrap();
        let handle = catalog.stream_indices("web").pop().unwrap();
        let searcher = handle.shards()[0].searcher();
        assert!(!searcher.segment_readers().is_empty());
        for segment in searcher.segment_readers() {
            let mut seen = DynamicFields::default();
            text_paths(segment, &mut seen);
            value_columns(segment, &mut seen);
            let want = from_metadata(segment);
            assert_eq!(seen, want);
            assert!(want.paths.len() >= 12, "{want:?}");
        }
    }
}
