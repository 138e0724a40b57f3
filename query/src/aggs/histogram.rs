//! `histogram`: fixed-width numeric buckets, with `offset`, `min_doc_count` (0 fills the gaps),
//! `extended_bounds`, `hard_bounds`, `keyed` and `order` by key or count.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{
    AggregationResult, BucketEntries, BucketEntry, BucketResult,
};
use tantivy::aggregation::bucket::{HistogramAggregation, HistogramBounds};

use super::AggNode;
use super::args::{Args, number};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, buckets_json, key_json};
use crate::error::QueryError;

/// How buckets are ordered in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketOrder {
    /// By key, ascending (the default).
    KeyAsc,
    /// By key, descending.
    KeyDesc,
    /// By count, ascending.
    CountAsc,
    /// By count, descending.
    CountDesc,
}

impl BucketOrder {
    /// Parses a histogram `order` (`_key` or `_count`).
    pub fn parse(v: Option<&Value>, agg: &str) -> Result<BucketOrder, QueryError> {
        let Some(v) = v else {
            return Ok(BucketOrder::KeyAsc);
        };
        let first = match v {
            Value::Array(a) => a.first().unwrap_or(v),
            other => other,
        };
        let Some((target, dir)) = first.as_object().and_then(|o| o.iter().next()) else {
            return Err(QueryError::Parsing(format!(
                "[{agg}] order must be an object, got [{v}]"
            )));
        };
        let desc = dir.as_str() == Some("desc");
        match (target.as_str(), desc) {
            ("_key", false) => Ok(BucketOrder::KeyAsc),
            ("_key", true) => Ok(BucketOrder::KeyDesc),
            ("_count", false) => Ok(BucketOrder::CountAsc),
            ("_count", true) => Ok(BucketOrder::CountDesc),
            (other, _) => Err(QueryError::Unsupported {
                what: format!("ordering [{agg}] buckets by [{other}]"),
            }),
        }
    }

    /// Orders rendered buckets (tantivy returns them by key, ascending).
    pub fn apply(self, buckets: &mut [(String, Map<String, Value>)]) {
        let count = |b: &Map<String, Value>| b.get("doc_count").and_then(Value::as_u64);
        match self {
            BucketOrder::KeyAsc => {}
            BucketOrder::KeyDesc => buckets.reverse(),
            BucketOrder::CountAsc => buckets.sort_by_key(|(_, b)| count(b)),
            BucketOrder::CountDesc => buckets.sort_by_key(|(_, b)| std::cmp::Reverse(count(b))),
        }
    }
}

/// A parsed `histogram` aggregation.
#[derive(Debug, Clone)]
pub struct Histogram {
    /// The field.
    pub field: String,
    interval: f64,
    offset: Option<f64>,
    /// Buckets with fewer documents are left out (0: empty buckets fill the gaps).
    pub min_doc_count: u64,
    extended_bounds: Option<HistogramBounds>,
    hard_bounds: Option<HistogramBounds>,
    keyed: bool,
    order: BucketOrder,
}

/// `{"min": …, "max": …}` with numbers (or numbers as strings).
fn bounds(v: Option<&Value>, what: &str) -> Result<Option<HistogramBounds>, QueryError> {
    let Some(v) = v else { return Ok(None) };
    let get = |k: &str| v.get(k).and_then(number);
    match (get("min"), get("max")) {
        (Some(min), Some(max)) => Ok(Some(HistogramBounds { min, max })),
        _ => Err(QueryError::Parsing(format!(
            "[{what}] needs numeric [min] and [max], got [{v}]"
        ))),
    }
}

impl Histogram {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Histogram, QueryError> {
        let a = Args::new("histogram", v)?;
        a.allow(&[
            "field",
            "interval",
            "offset",
            "min_doc_count",
            "extended_bounds",
            "hard_bounds",
            "keyed",
            "order",
            "format",
        ])?;
        let interval = a.f64("interval")?.ok_or_else(|| {
            QueryError::IllegalArgument(
                "[interval] must be >0 for histogram aggregation [histogram]".to_string(),
            )
        })?;
        if interval <= 0.0 {
            return Err(QueryError::XContentParse(format!(
                "[histogram] failed to parse field [interval]: [interval] must be >0 for histogram aggregation, got [{interval}]"
            )));
        }
        Ok(Histogram {
            field: a.field()?,
            interval,
            offset: a.f64("offset")?,
            min_doc_count: a.u64("min_doc_count")?.unwrap_or(0),
            extended_bounds: bounds(a.get("extended_bounds"), "extended_bounds")?,
            hard_bounds: bounds(a.get("hard_bounds"), "hard_bounds")?,
            keyed: a.bool("keyed")?.unwrap_or(false),
            order: BucketOrder::parse(a.get("order"), "histogram")?,
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let field = p.column(&self.field, Want::Numbers, "histogram")?;
        let req = HistogramAggregation {
            field,
            interval: self.interval,
            offset: self.offset.map(|o| o.rem_euclid(self.interval)),
            min_doc_count: Some(self.min_doc_count),
            hard_bounds: self.hard_bounds,
            // tantivy refuses the pair; ES ignores the bounds when empty buckets are dropped.
            extended_bounds: self.extended_bounds.filter(|_| self.min_doc_count == 0),
            keyed: false,
            is_normalized_to_ns: false,
        };
        Ok(node(AggregationVariants::Histogram(req), subs))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let buckets = histogram_buckets(n, result, r)?;
        let mut out = Vec::with_capacity(buckets.len());
        for b in buckets {
            let mut bucket = Map::new();
            let key = key_json(&b.key);
            let name = match key.as_f64() {
                Some(x) => format!("{x:?}"),
                None => key.to_string(),
            };
            bucket.insert("key".into(), key);
            bucket.insert("doc_count".into(), json!(b.doc_count));
            r.subs(&n.subs, b.sub_aggregation, &mut bucket)?;
            out.push((name, bucket));
        }
        self.order.apply(&mut out);
        Ok(json!({ "buckets": buckets_json(out, self.keyed) }))
    }
}

/// The buckets of a tantivy histogram result.
pub(crate) fn histogram_buckets(
    n: &AggNode,
    result: AggregationResult,
    r: &Renderer<'_>,
) -> Result<Vec<BucketEntry>, QueryError> {
    match result {
        AggregationResult::BucketResult(BucketResult::Histogram { buckets }) => Ok(match buckets {
            BucketEntries::Vec(v) => v,
            BucketEntries::HashMap(m) => m.into_values().collect(),
        }),
        _ => Err(r.mismatch(n)),
    }
}
