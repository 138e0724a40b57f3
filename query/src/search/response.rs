//! The shapes of `_search` and `_count` answers.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

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
    /// Why they failed (shards of damaged indices).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<Value>,
}

impl ShardStats {
    /// Every one of `total` shards answered.
    pub fn all_ok(total: usize) -> ShardStats {
        ShardStats {
            total,
            successful: total,
            skipped: 0,
            failed: 0,
            failures: Vec::new(),
        }
    }

    /// Counts the damaged indices a target named as failed shards, with their reasons.
    pub fn add_damaged(&mut self, damaged: &[hydrant_index::DamagedIndex]) {
        self.total += damaged.len();
        self.failed += damaged.len();
        self.failures.extend(shard_failures(damaged));
    }
}

/// Elasticsearch's shard failure entries for damaged indices (one shard each: what a damaged
/// index holds cannot be counted).
pub fn shard_failures(damaged: &[hydrant_index::DamagedIndex]) -> Vec<Value> {
    damaged
        .iter()
        .map(|d| {
            serde_json::json!({
                "shard": 0,
                "index": d.name,
                "node": "hydrant",
                "reason": {
                    "type": "no_shard_available_action_exception",
                    "reason": format!("index [{}] is damaged and cannot be searched: {}", d.name, d.reason),
                    "index": d.name,
                },
            })
        })
        .collect()
}

/// `hits.total`.
#[derive(Debug, Clone, Serialize)]
pub struct TotalHits {
    /// Number of hits (or a lower bound).
    pub value: u64,
    /// `eq` or `gte`.
    pub relation: &'static str,
}

/// `hits.total` in its object form or, with `rest_total_hits_as_int`, as a number.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Total {
    /// `{"value": …, "relation": …}`.
    Object(TotalHits),
    /// A plain number.
    Int(i64),
}

/// One hit.
#[derive(Debug, Serialize)]
pub struct Hit {
    /// Index holding it.
    #[serde(rename = "_index")]
    pub index: String,
    /// Document id (empty, and left out, under `stored_fields: "_none_"`).
    #[serde(rename = "_id", skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Version (documents are written once).
    #[serde(rename = "_version", skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Sequence number.
    #[serde(rename = "_seq_no", skip_serializing_if = "Option::is_none")]
    pub seq_no: Option<u64>,
    /// Primary term.
    #[serde(rename = "_primary_term", skip_serializing_if = "Option::is_none")]
    pub primary_term: Option<u64>,
    /// Relevance (`null` when sorted by something else).
    #[serde(rename = "_score")]
    pub score: Option<f32>,
    /// The named queries (`_name`) this hit matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_queries: Option<Vec<String>>,
    /// The record as sent (or the parts `_source` filtering kept).
    #[serde(rename = "_source", skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<RawValue>>,
    /// `fields` and `docvalue_fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
    /// Highlighted fragments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highlight: Option<Map<String, Value>>,
    /// Sort values, when sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<Vec<Value>>,
}

/// `hits`.
#[derive(Debug, Serialize)]
pub struct Hits {
    /// Total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Total>,
    /// Best score among the hits.
    pub max_score: Option<f32>,
    /// The page of hits.
    pub hits: Vec<Hit>,
}

/// A `_search` answer.
#[derive(Debug, Serialize)]
pub struct SearchResponse {
    /// The scroll to continue with.
    #[serde(rename = "_scroll_id", skip_serializing_if = "Option::is_none")]
    pub scroll_id: Option<String>,
    /// The point in time searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pit_id: Option<String>,
    /// Milliseconds spent.
    pub took: u64,
    /// Whether the search stopped at its timeout.
    pub timed_out: bool,
    /// Whether a shard stopped at `terminate_after`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated_early: Option<bool>,
    /// Shard accounting.
    #[serde(rename = "_shards")]
    pub shards: ShardStats,
    /// The hits.
    pub hits: Hits,
    /// Aggregation results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregations: Option<Map<String, Value>>,
}

/// A `_count` answer.
#[derive(Debug, Serialize)]
pub struct CountResponse {
    /// Matching documents.
    pub count: u64,
    /// With `terminate_after`: whether a shard stopped at it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated_early: Option<bool>,
    /// Shard accounting.
    #[serde(rename = "_shards")]
    pub shards: ShardStats,
}

/// The stored source as raw JSON, or as a JSON string when it is not JSON.
pub fn raw_source(bytes: &[u8]) -> Box<RawValue> {
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

/// A JSON value as a raw value.
pub fn raw_value(v: &Value) -> Box<RawValue> {
    RawValue::from_string(v.to_string()).unwrap_or_default()
}
