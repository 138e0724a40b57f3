//! The final stage: tantivy's finalized results rendered in Elasticsearch's shape, walking the
//! ES request tree (which knows formats, time zones, keyed forms and `meta`).

use std::cell::Cell;

use serde_json::{Map, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_result::AggregationResults;

use super::fields::FieldKind;
use super::significant::Backgrounds;
use super::{AggKind, AggNode, Bounds, FieldKinds, HitLookup};
use crate::dates::{Zone, format_date};
use crate::error::QueryError;

/// Renders results for one request.
pub(crate) struct Renderer<'a> {
    pub kinds: &'a FieldKinds,
    /// The time spans of the pre-pass (for `auto_date_histogram`'s interval).
    pub bounds: &'a Bounds,
    /// The backgrounds of `significant_terms`, from their pre-pass.
    pub background: &'a Backgrounds,
    pub lookup: &'a dyn HitLookup,
    pub typed_keys: bool,
    /// Documents in the bucket being rendered (`top_hits` reports it as its total).
    pub doc_count: Cell<u64>,
}

impl Renderer<'_> {
    /// Renders `nodes` from `results` into `out`.
    pub fn render(
        &self,
        nodes: &[AggNode],
        mut results: AggregationResults,
        out: &mut Map<String, Value>,
    ) -> Result<(), QueryError> {
        for n in nodes {
            if matches!(n.kind, AggKind::Pipeline(_)) {
                continue;
            }
            let mut v = self.node(n, &mut results)?;
            if let (Some(meta), Value::Object(o)) = (&n.meta, &mut v) {
                o.insert("meta".into(), meta.clone());
            }
            let key = if self.typed_keys {
                format!("{}#{}", self.typed_name(n), n.name)
            } else {
                n.name.clone()
            };
            out.insert(key, v);
        }
        Ok(())
    }

    /// Renders the sub-aggregations of a bucket into it.
    pub fn subs(
        &self,
        nodes: &[AggNode],
        results: AggregationResults,
        bucket: &mut Map<String, Value>,
    ) -> Result<(), QueryError> {
        let outer = self.doc_count.get();
        if let Some(n) = bucket.get("doc_count").and_then(Value::as_u64) {
            self.doc_count.set(n);
        }
        let done = self.render(nodes, results, bucket);
        self.doc_count.set(outer);
        done
    }

    fn node(&self, n: &AggNode, results: &mut AggregationResults) -> Result<Value, QueryError> {
        match &n.kind {
            AggKind::Filters(f) => return f.render(n, results, self),
            AggKind::Terms(t) => {
                if let Some(done) = t.render_index(n, results, self) {
                    return done;
                }
            }
            AggKind::Range(r) => return r.render(n, results, self),
            AggKind::WeightedAvg(w) => return w.render(n, results, self),
            AggKind::Boxplot(b) => return b.render(n, results, self),
            AggKind::TopHits(t) => return t.render(n, results, self),
            AggKind::AdjacencyMatrix(a) => return a.render(n, results, self),
            AggKind::GeoCentroid(g) => return g.render(n, results, self),
            AggKind::GeoBounds(g) => return g.render(n, results, self),
            _ => {}
        }
        let res = results.0.remove(&n.name).ok_or_else(|| self.mismatch(n))?;
        match &n.kind {
            AggKind::Terms(t) => t.render(n, res, self),
            AggKind::RareTerms(t) => t.render(n, res, self),
            AggKind::SignificantTerms(t) => t.render(n, res, self),
            AggKind::Histogram(h) => h.render(n, res, self),
            AggKind::DateHistogram(d) => d.render(n, res, self),
            AggKind::AutoDateHistogram(a) => a.render(n, res, self),
            AggKind::Filter(f) | AggKind::Missing(f, _) => f.render(n, res, self),
            AggKind::Composite(c) => c.render(n, res, self),
            AggKind::MultiTerms(m) => m.render(n, res, self),
            AggKind::Metric(m) => m.render(n, res, self),
            AggKind::Cardinality(c) => c.render(n, res, self),
            AggKind::Percentiles(p) => p.render(n, res, self),
            AggKind::PercentileRanks(p) => p.render(n, res, self),
            AggKind::Mad(m) => m.render(n, res, self),
            AggKind::TopMetrics(t) => t.render(n, res, self),
            AggKind::GeoGrid(g) => g.render(n, res, self),
            AggKind::Filters(_)
            | AggKind::GeoCentroid(_)
            | AggKind::GeoBounds(_)
            | AggKind::Range(_)
            | AggKind::WeightedAvg(_)
            | AggKind::Boxplot(_)
            | AggKind::TopHits(_)
            | AggKind::AdjacencyMatrix(_)
            | AggKind::Pipeline(_) => Err(self.mismatch(n)),
        }
    }

    /// The error for a result that does not have the shape its request implies.
    pub fn mismatch(&self, n: &AggNode) -> QueryError {
        QueryError::Search(format!(
            "aggregation [{}] came back in an unexpected shape",
            n.name
        ))
    }

    /// A date in `format` (ES's default when `None`), in UTC.
    pub fn date(&self, ms: i64, format: Option<&str>) -> String {
        format_date(ms, format, Zone::Utc)
    }

    /// ES's internal type name, as `typed_keys` shows it.
    fn typed_name(&self, n: &AggNode) -> &'static str {
        match &n.kind {
            AggKind::Terms(t) => match self.kinds.get(&t.field) {
                FieldKind::Long | FieldKind::Date | FieldKind::Bool => "lterms",
                FieldKind::Double => "dterms",
                _ => "sterms",
            },
            AggKind::SignificantTerms(t) => match self.kinds.get(&t.terms.field) {
                FieldKind::Long | FieldKind::Date | FieldKind::Bool => "siglterms",
                _ => "sigsterms",
            },
            AggKind::RareTerms(t) => match self.kinds.get(&t.terms.field) {
                FieldKind::Long | FieldKind::Date | FieldKind::Bool => "lrareterms",
                FieldKind::Double => "drareterms",
                _ => "srareterms",
            },
            AggKind::Percentiles(_) => "tdigest_percentiles",
            AggKind::PercentileRanks(_) => "tdigest_percentile_ranks",
            AggKind::Cardinality(_) => "cardinality",
            other => other.type_name(),
        }
    }
}

/// A bucket key as JSON: integers stay integers.
pub(crate) fn key_json(k: &Key) -> Value {
    match k {
        Key::Str(s) => json!(s),
        Key::I64(i) => json!(i),
        Key::U64(u) => json!(u),
        Key::F64(f) => number_json(*f),
    }
}

/// A float as JSON (`null` when not finite, as JSON cannot carry it).
pub(crate) fn number_json(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// Keeps an optional value as JSON `null` when absent.
pub(crate) fn opt_number(x: Option<f64>) -> Value {
    x.map_or(Value::Null, number_json)
}

/// `[{key…}]`, or `{key: {…}}` for `keyed` aggregations.
pub(crate) fn buckets_json(buckets: Vec<(String, Map<String, Value>)>, keyed: bool) -> Value {
    if keyed {
        let mut o = Map::new();
        for (k, mut b) in buckets {
            if b.get("key").is_some_and(|v| v.as_str() == Some(k.as_str())) {
                b.remove("key");
            }
            o.insert(k, Value::Object(b));
        }
        Value::Object(o)
    } else {
        Value::Array(buckets.into_iter().map(|(_, b)| Value::Object(b)).collect())
    }
}
