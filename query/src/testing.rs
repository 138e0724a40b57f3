//! Test corpora: documents indexed through the index room into a temporary catalog, searched
//! through the same functions the HTTP routes call.

use std::sync::Arc;

use hydrant_config::{IndexSettings, MappingConfig, Rotation};
use hydrant_index::timestamp::parse_timestamp;
use hydrant_index::{Catalog, ResolveOptions, SourceDoc, StreamIndexer};
use serde_json::Value;

use crate::request::{SearchParams, SearchRequest};
use crate::search::{SearchOptions, ShardTarget, search};

/// 2015-05-17T10:05:00Z, the default event time of test documents.
pub const T0: i64 = 1_431_857_100_000;

/// Indexed documents in a temporary directory.
pub struct Corpus {
    _dir: tempfile::TempDir,
    /// The catalog holding them.
    pub catalog: Arc<Catalog>,
    /// The indexer that wrote them, for more ([`Corpus::append`]).
    indexer: parking_lot::Mutex<(StreamIndexer, u64)>,
}

/// Indexes `docs` into stream `stream` with about `shards` shards per daily index (documents
/// on different days land in different indices).
pub fn corpus(
    stream: &str,
    docs: &[Value],
    shards: usize,
    mapping: Option<MappingConfig>,
) -> Corpus {
    let dir = tempfile::tempdir().expect("temp dir");
    let catalog = Arc::new(Catalog::open(&dir.path().join("indices")).expect("catalog"));
    let mut settings = IndexSettings::builtin();
    settings.rotation = Rotation::OneDay;
    settings.writer_threads = 1;
    settings.writer_memory = 20 * 1024 * 1024;
    settings.sizing.target_shard_size = 1024 * 1024;
    // ceil(volume × 1.1 / target) shards.
    settings.sizing.daily_volume = ((shards as f64 - 0.5) / 1.1 * 1024.0 * 1024.0) as u64;
    if let Some(m) = mapping {
        settings.mapping = m;
    }
    let indexer = StreamIndexer::new(catalog.clone(), stream, settings);
    let corpus = Corpus {
        _dir: dir,
        catalog,
        indexer: parking_lot::Mutex::new((indexer, 0)),
    };
    corpus.append(docs);
    corpus
}

impl Corpus {
    /// Indexes `docs` too, and commits them (new segments). Ids go on from the last ones.
    pub fn append(&self, docs: &[Value]) {
        let mut guard = self.indexer.lock();
        let (indexer, position) = &mut *guard;
        for d in docs {
            let ts = d
                .get("@timestamp")
                .or_else(|| d.get("timestamp"))
                .and_then(parse_timestamp)
                .unwrap_or(T0);
            let id = format!("doc{:05}", *position);
            let source = d.to_string().into_bytes();
            let doc = SourceDoc {
                id: &id,
                timestamp_ms: ts,
                source: &source,
            };
            *position += 1;
            indexer.add(*position, &doc, false).expect("add");
        }
        indexer.commit(*position).expect("commit");
    }

    /// Deletes document `id` of index `index`, and commits.
    pub fn delete(&self, index: &str, id: &str) {
        let mut guard = self.indexer.lock();
        let (indexer, position) = &mut *guard;
        *position += 1;
        indexer.delete_doc(*position, index, id).expect("delete");
        indexer.commit(*position).expect("commit");
    }

    /// The shards `target` resolves to.
    pub fn targets(&self, target: &str) -> Vec<ShardTarget> {
        let indices = self
            .catalog
            .resolve(target, ResolveOptions::default())
            .expect("resolve");
        ShardTarget::open(&indices)
    }

    /// `_search` on `target`, as JSON; errors as their ES bodies.
    pub fn search(&self, target: &str, body: Value) -> Value {
        match self.try_search(target, body) {
            Ok(v) => v,
            Err(e) => e.to_json(),
        }
    }

    /// `_search` on `target`.
    pub fn try_search(&self, target: &str, body: Value) -> Result<Value, crate::QueryError> {
        let req = SearchRequest::parse(body.to_string().as_bytes(), &SearchParams::default())?;
        let opts = SearchOptions {
            now_ms: T0 + 86_400_000,
            ..SearchOptions::default()
        };
        let resp = search(&self.targets(target), &req, &opts)?;
        Ok(serde_json::to_value(resp).expect("json"))
    }
}

/// An aggregation's `buckets` as each bucket's `key_field` (`key`, `key_as_string`) and
/// `doc_count`.
pub fn bucket_counts(buckets: &Value, key_field: &str) -> std::collections::BTreeMap<String, u64> {
    buckets
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b[key_field].as_str().expect("a string key").to_string(),
                b["doc_count"].as_u64().expect("doc_count"),
            )
        })
        .collect()
}
