//! `rare_terms`: the values held by at most `max_doc_count` documents (default 1), rarest
//! first, ties by key.
//!
//! Elasticsearch finds them with a per-shard map and a cuckoo filter of the values it has seen
//! too often (approximate only in what it may leave out). Hydrant counts every value exactly —
//! a `terms` aggregation as large as the bucket limit, ordered rarest first — and keeps the
//! rare ones, so nothing is left out while the field has fewer distinct values than
//! `search.max_buckets`.

use std::net::IpAddr;

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::{Aggregation, Aggregations};
use tantivy::aggregation::agg_result::AggregationResult;

use super::AggNode;
use super::args::Args;
use super::date_histogram::MAX_BUCKETS;
use super::fields::FieldKind;
use super::plan::Planner;
use super::render::Renderer;
use super::terms::{Terms, key_order};
use crate::error::QueryError;

/// The largest `max_doc_count` Elasticsearch allows.
const MAX_DOC_COUNT: u64 = 100;

/// A parsed `rare_terms` aggregation.
#[derive(Debug, Clone)]
pub struct RareTerms {
    /// Every value, counted.
    pub terms: Terms,
    max_doc_count: u64,
}

impl RareTerms {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<RareTerms, QueryError> {
        let a = Args::new("rare_terms", v)?;
        a.allow(&[
            "field",
            "max_doc_count",
            "precision",
            "include",
            "exclude",
            "missing",
        ])?;
        let max_doc_count = a.u64("max_doc_count")?.unwrap_or(1);
        if max_doc_count == 0 || max_doc_count > MAX_DOC_COUNT {
            // ES's object parser wraps the refusal.
            return Err(QueryError::XContentParse(format!(
                "[max_doc_count] must be between 1 and {MAX_DOC_COUNT} in [rare_terms], got [{max_doc_count}]"
            )));
        }
        let mut terms = json!({
            "field": a.field()?,
            "size": MAX_BUCKETS,
            "order": {"_count": "asc"},
        });
        for key in ["include", "exclude", "missing"] {
            if let Some(x) = a.get(key) {
                terms[key] = x.clone();
            }
        }
        Ok(RareTerms {
            terms: Terms::parse(&terms)?,
            max_doc_count,
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        self.terms.plan(p, subs)
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let all = self.terms.render(n, result, r)?;
        let mut rare: Vec<Value> = match all.get("buckets") {
            Some(Value::Array(b)) => b
                .iter()
                .filter(|b| b["doc_count"].as_u64().unwrap_or(0) <= self.max_doc_count)
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        let ip = r.kinds.get(&self.terms.field) == FieldKind::Ip;
        rare.sort_by(|a, b| {
            a["doc_count"]
                .as_u64()
                .cmp(&b["doc_count"].as_u64())
                .then_with(|| if ip { ip_order(a, b) } else { key_order(a, b) })
        });
        Ok(json!({ "buckets": rare }))
    }
}

/// IP keys in Elasticsearch's order: by their 16 bytes, IPv4 mapped into IPv6.
fn ip_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    let bytes = |v: &Value| {
        v["key"]
            .as_str()
            .and_then(|s| s.parse::<IpAddr>().ok())
            .map(|ip| match ip {
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                IpAddr::V6(v6) => v6.octets(),
            })
    };
    bytes(a).cmp(&bytes(b)).then_with(|| key_order(a, b))
}
