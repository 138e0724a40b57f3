//! `percentiles`: approximate percentiles (tantivy's DDSketch, within 1% relative error),
//! keyed `"50.0"` as ES keys them, or as a list when `keyed` is false.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, MetricResult};
use tantivy::aggregation::metric::{PercentileValues, PercentilesAggregationReq};

use super::AggNode;
use super::args::{Args, number};
use super::fields::FieldKind;
use super::plan::{Planner, Want, node};
use super::render::{Renderer, number_json};
use crate::error::QueryError;

const DEFAULT_PERCENTS: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];

/// A parsed `percentiles` aggregation.
#[derive(Debug, Clone)]
pub struct Percentiles {
    /// The field.
    pub field: String,
    percents: Vec<f64>,
    keyed: bool,
    missing: Option<f64>,
}

/// The percents at the midpoints of `n` equal slices of the values: their quantiles stand for
/// the distribution where an aggregation needs more of it than a few percentiles (`mad`,
/// `boxplot`), each for `100 / n` % of the values.
pub(crate) fn slice_midpoints(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (i as f64 + 0.5) * 100.0 / n as f64)
        .collect()
}

/// tantivy's `(percent, value)` pairs, by percent.
pub(crate) fn points(values: PercentileValues) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = match values {
        PercentileValues::Vec(v) => v.into_iter().map(|e| (e.key, e.value)).collect(),
        PercentileValues::HashMap(m) => m
            .into_iter()
            .filter_map(|(k, x)| Some((k.parse().ok()?, x)))
            .collect(),
    };
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

impl Percentiles {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Percentiles, QueryError> {
        let a = Args::new("percentiles", v)?;
        a.allow(&[
            "field", "percents", "keyed", "missing", "tdigest", "hdr", "format",
        ])?;
        if a.get("hdr").is_some() {
            return Err(QueryError::Unsupported {
                what: "[hdr] in the [percentiles] aggregation".to_string(),
            });
        }
        let percents = match a.get("percents") {
            None => DEFAULT_PERCENTS.to_vec(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|p| match number(p) {
                    Some(x) if (0.0..=100.0).contains(&x) => Ok(x),
                    _ => Err(QueryError::XContentParse(format!(
                        "percent must be in [0,100], got [{p}]: [percentiles]"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(QueryError::Parsing(format!(
                    "[percents] must be an array of numbers, got [{other}]"
                )));
            }
        };
        Ok(Percentiles {
            field: a.field()?,
            percents,
            keyed: a.bool("keyed")?.unwrap_or(true),
            missing: a.f64("missing")?,
        })
    }

    pub(crate) fn plan(&self, p: &mut Planner<'_>) -> Result<Aggregation, QueryError> {
        let want = if p.kinds.get(&self.field) == FieldKind::Date {
            Want::Dates
        } else {
            Want::Numbers
        };
        let mut field = p.column(&self.field, want, "percentiles")?;
        if let Some(base) = self.base(p.kinds, p.bounds)
            && !field.starts_with('#')
        {
            field = super::shifted::register(&mut p.registry, &field, base);
        }
        let req = PercentilesAggregationReq {
            field,
            percents: Some(self.percents.clone()),
            keyed: false,
            missing: self.missing,
        };
        Ok(node(
            AggregationVariants::Percentiles(req),
            Aggregations::default(),
        ))
    }

    /// The base a date field is sketched after: the earliest date of the request's span.
    fn base(&self, kinds: &super::FieldKinds, bounds: &super::run::Bounds) -> Option<i64> {
        (kinds.get(&self.field) == FieldKind::Date)
            .then(|| bounds.get(&self.field).map(|(lo, _)| lo))
            .flatten()
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::MetricResult(MetricResult::Percentiles(p)) = result else {
            return Err(r.mismatch(n));
        };
        let date = r.kinds.get(&self.field) == FieldKind::Date;
        // Dates were sketched as milliseconds after the span's start, or else as the column's
        // nanoseconds.
        let to_ms = |x: f64| match self.base(r.kinds, r.bounds) {
            Some(base) => x + base as f64,
            None => x * 1e-6,
        };
        let values: Vec<(f64, f64)> = points(p.values)
            .into_iter()
            .map(|(k, x)| (k, if date { to_ms(x) } else { x }))
            .collect();
        // A date percentile also reads as a date, as Elasticsearch writes it.
        let text = |x: f64| {
            (date && x.is_finite())
                .then(|| crate::dates::format_date(x as i64, None, crate::dates::Zone::Utc))
        };
        Ok(if self.keyed {
            let mut o = Map::new();
            for (k, x) in values {
                o.insert(format!("{k:?}"), number_json(x));
                if let Some(t) = text(x) {
                    o.insert(format!("{k:?}_as_string"), json!(t));
                }
            }
            json!({ "values": o })
        } else {
            let list: Vec<Value> = values
                .into_iter()
                .map(|(k, x)| {
                    let mut e = json!({"key": k, "value": number_json(x)});
                    if let Some(t) = text(x) {
                        e["value_as_string"] = json!(t);
                    }
                    e
                })
                .collect();
            json!({ "values": list })
        })
    }
}
