//! Running a search over indices and their shards: per-shard top hits and counts, merged into
//! one Elasticsearch-shaped answer.

use std::cmp::Ordering;
use std::sync::Arc;

use hydrant_index::{IndexHandle, dynamic_fields};
use serde::Serialize;
use serde_json::value::RawValue;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Value as _;
use tantivy::{DateTime, DocAddress, Order, Searcher, TantivyDocument};

use crate::ast::QueryAst;
use crate::compile::Compiler;
use crate::error::QueryError;
use crate::request::{SearchRequest, SortSpec, TrackTotalHits};

/// `_shards` of a response.
#[derive(Debug, Clone, Serialize)]
pub struct ShardStats {
    /// Shards searched.
    pub total: usize,
    /// Shards that answered.
    pub successful: usize,
    /// Shards skipped.
    pub skipped: usize,
    /// Shards that failed.
    pub failed: usize,
}

impl ShardStats {
    fn all_ok(total: usize) -> ShardStats {
        ShardStats {
            total,
            successful: total,
            skipped: 0,
            failed: 0,
        }
    }
}

/// `hits.total`.
#[derive(Debug, Clone, Serialize)]
pub struct TotalHits {
    /// Number of hits (or a lower bound).
    pub value: u64,
    /// `eq` or `gte`.
    pub relation: &'static str,
}

/// One hit.
#[derive(Debug, Serialize)]
pub struct Hit {
    /// Index holding it.
    #[serde(rename = "_index")]
    pub index: String,
    /// Document id.
    #[serde(rename = "_id")]
    pub id: String,
    /// Relevance (`null` when sorted by something else).
    #[serde(rename = "_score")]
    pub score: Option<f32>,
    /// The record as sent.
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<RawValue>>,
    /// Sort values, when sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<Vec<serde_json::Value>>,
}

/// `hits`.
#[derive(Debug, Serialize)]
pub struct Hits {
    /// Total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<TotalHits>,
    /// Best score among the hits.
    pub max_score: Option<f32>,
    /// The page of hits.
    pub hits: Vec<Hit>,
}

/// A `_search` answer.
#[derive(Debug, Serialize)]
pub struct SearchResponse {
    /// Milliseconds spent.
    pub took: u64,
    /// Whether the search stopped at its timeout.
    pub timed_out: bool,
    /// Shard accounting.
    #[serde(rename = "_shards")]
    pub shards: ShardStats,
    /// The hits.
    pub hits: Hits,
}

/// A `_count` answer.
#[derive(Debug, Serialize)]
pub struct CountResponse {
    /// Matching documents.
    pub count: u64,
    /// Shard accounting.
    #[serde(rename = "_shards")]
    pub shards: ShardStats,
}

/// A candidate hit from one shard, before the global merge.
struct Candidate {
    key: SortKey,
    score: Option<f32>,
    shard: usize,
    addr: DocAddress,
}

#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum SortKey {
    Score(f32),
    Time(Option<i64>),
}

struct OpenShard<'a> {
    index: &'a IndexHandle,
    searcher: Searcher,
}

/// Runs `req` over `indices`.
pub fn search(
    indices: &[Arc<IndexHandle>],
    req: &SearchRequest,
    now_ms: i64,
) -> Result<SearchResponse, QueryError> {
    let started = std::time::Instant::now();
    let want = req.from + req.size;
    let sort = req.sort.first().cloned().unwrap_or(SortSpec::Score);
    let mut shards = Vec::new();
    let mut candidates = Vec::new();
    let mut total = 0u64;
    for index in indices {
        for shard in index.shards() {
            let searcher = shard.searcher();
            let query = compile_for(index, shard, &searcher, &req.query, now_ms)?;
            let ord = shards.len();
            if want == 0 {
                total += searcher.search(&*query, &Count)? as u64;
            } else {
                match sort {
                    SortSpec::Score => {
                        let (top, count) = searcher.search(
                            &*query,
                            &(TopDocs::with_limit(want).order_by_score(), Count),
                        )?;
                        total += count as u64;
                        candidates.extend(top.into_iter().map(|(s, addr)| Candidate {
                            key: SortKey::Score(s),
                            score: Some(s),
                            shard: ord,
                            addr,
                        }));
                    }
                    SortSpec::Timestamp { desc } => {
                        let order = if desc { Order::Desc } else { Order::Asc };
                        let collector = TopDocs::with_limit(want)
                            .order_by_fast_field::<DateTime>("@timestamp", order);
                        let (top, count) = searcher.search(&*query, &(collector, Count))?;
                        total += count as u64;
                        candidates.extend(top.into_iter().map(|(t, addr)| Candidate {
                            key: SortKey::Time(t.map(|t| t.into_timestamp_millis())),
                            score: None,
                            shard: ord,
                            addr,
                        }));
                    }
                }
            }
            shards.push(OpenShard {
                index: index.as_ref(),
                searcher,
            });
        }
    }
    let descending = match sort {
        SortSpec::Score => true,
        SortSpec::Timestamp { desc } => desc,
    };
    candidates.sort_by(|a, b| {
        let o = a.key.partial_cmp(&b.key).unwrap_or(Ordering::Equal);
        let o = if descending { o.reverse() } else { o };
        o.then(a.shard.cmp(&b.shard)).then(a.addr.cmp(&b.addr))
    });
    let max_score = candidates
        .iter()
        .filter_map(|c| c.score)
        .fold(None, |m: Option<f32>, s| Some(m.map_or(s, |m| m.max(s))));
    let sorted = !req.sort.is_empty();
    let mut hits = Vec::with_capacity(req.size);
    for c in candidates.into_iter().skip(req.from).take(req.size) {
        let shard = &shards[c.shard];
        let doc: TantivyDocument = shard.searcher.doc(c.addr)?;
        let fields = shard.index.mapper().fields();
        let id = doc
            .get_first(fields.id)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let source = if req.source {
            doc.get_first(fields.source)
                .and_then(|v| v.as_bytes())
                .map(raw_source)
        } else {
            None
        };
        let sort_values = sorted.then(|| match c.key {
            SortKey::Score(s) => vec![serde_json::json!(s)],
            SortKey::Time(t) => vec![serde_json::json!(t)],
        });
        hits.push(Hit {
            index: shard.index.name().to_string(),
            id,
            score: if sorted && sort != SortSpec::Score {
                None
            } else {
                c.score
            },
            source,
            sort: sort_values,
        });
    }
    let total = match req.track_total_hits {
        TrackTotalHits::Exact => Some(TotalHits {
            value: total,
            relation: "eq",
        }),
        TrackTotalHits::UpTo(limit) if total > limit => Some(TotalHits {
            value: limit,
            relation: "gte",
        }),
        TrackTotalHits::UpTo(_) => Some(TotalHits {
            value: total,
            relation: "eq",
        }),
        TrackTotalHits::Off => None,
    };
    Ok(SearchResponse {
        took: started.elapsed().as_millis() as u64,
        timed_out: false,
        shards: ShardStats::all_ok(shards.len()),
        hits: Hits {
            total,
            max_score: if sorted { None } else { max_score },
            hits,
        },
    })
}

/// Counts the documents matching `query` over `indices`.
pub fn count(
    indices: &[Arc<IndexHandle>],
    query: &QueryAst,
    now_ms: i64,
) -> Result<CountResponse, QueryError> {
    let mut total = 0u64;
    let mut n = 0;
    for index in indices {
        for shard in index.shards() {
            let searcher = shard.searcher();
            let q = compile_for(index, shard, &searcher, query, now_ms)?;
            total += searcher.search(&*q, &Count)? as u64;
            n += 1;
        }
    }
    Ok(CountResponse {
        count: total,
        shards: ShardStats::all_ok(n),
    })
}

fn compile_for(
    index: &IndexHandle,
    shard: &hydrant_index::Shard,
    searcher: &Searcher,
    query: &QueryAst,
    now_ms: i64,
) -> Result<Box<dyn tantivy::query::Query>, QueryError> {
    let fields = dynamic_fields(searcher);
    Compiler::new(index.mapper(), &fields, shard.index(), now_ms).compile(query)
}

/// The stored source as raw JSON, or as a JSON string when it is not JSON.
fn raw_source(bytes: &[u8]) -> Box<RawValue> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    match RawValue::from_string(text) {
        Ok(raw) => raw,
        Err(_) => {
            let quoted = serde_json::to_string(&String::from_utf8_lossy(bytes))
                .unwrap_or_else(|_| "null".to_string());
            RawValue::from_string(quoted).unwrap_or_default()
        }
    }
}
