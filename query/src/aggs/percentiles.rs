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
        let field = p.column(&self.field, want, "percentiles")?;
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

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::MetricResult(MetricResult::Percentiles(p)) = result else {
            return Err(r.mismatch(n));
        };
        let scale = if r.kinds.get(&self.field) == FieldKind::Date {
            1e-6
        } else {
            1.0
        };
        let values: Vec<(f64, Value)> = points(p.values)
            .into_iter()
            .map(|(k, x)| (k, number_json(x * scale)))
            .collect();
        Ok(if self.keyed {
            let mut o = Map::new();
            for (k, v) in values {
                o.insert(format!("{k:?}"), v);
            }
            json!({ "values": o })
        } else {
            let list: Vec<Value> = values
                .into_iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
            json!({ "values": list })
        })
    }
}
