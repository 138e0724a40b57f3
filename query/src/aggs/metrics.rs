//! The numeric metrics: `avg`, `sum`, `min`, `max`, `value_count`, `stats`, `extended_stats`,
//! with `missing` and, on date and boolean fields, `value_as_string`.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, MetricResult};
use tantivy::aggregation::metric::{
    AverageAggregation, CountAggregation, ExtendedStats, ExtendedStatsAggregation, MaxAggregation,
    MinAggregation, Stats, StatsAggregation, SumAggregation,
};

use super::AggNode;
use super::args::{Args, number};
use super::fields::FieldKind;
use super::plan::{Planner, Want, node};
use super::render::{Renderer, opt_number};
use crate::dates::DateParser;
use crate::error::QueryError;

/// Which metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// `avg`.
    Avg,
    /// `sum`.
    Sum,
    /// `min`.
    Min,
    /// `max`.
    Max,
    /// `value_count`.
    ValueCount,
    /// `stats`.
    Stats,
    /// `extended_stats`.
    ExtendedStats,
}

impl MetricKind {
    /// The metric named `name`, if it is one of these.
    pub fn from_name(name: &str) -> Option<MetricKind> {
        Some(match name {
            "avg" => MetricKind::Avg,
            "sum" => MetricKind::Sum,
            "min" => MetricKind::Min,
            "max" => MetricKind::Max,
            "value_count" => MetricKind::ValueCount,
            "stats" => MetricKind::Stats,
            "extended_stats" => MetricKind::ExtendedStats,
            _ => return None,
        })
    }

    /// The ES name.
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Avg => "avg",
            MetricKind::Sum => "sum",
            MetricKind::Min => "min",
            MetricKind::Max => "max",
            MetricKind::ValueCount => "value_count",
            MetricKind::Stats => "stats",
            MetricKind::ExtendedStats => "extended_stats",
        }
    }
}

/// A parsed metric aggregation.
#[derive(Debug, Clone)]
pub struct Metric {
    /// Which metric.
    pub kind: MetricKind,
    /// The field.
    pub field: String,
    missing: Option<Value>,
    format: Option<String>,
    sigma: Option<f64>,
}

impl Metric {
    /// Parses the options of metric `kind`.
    pub fn parse(kind: MetricKind, v: &Value) -> Result<Metric, QueryError> {
        let a = Args::new(kind.name(), v)?;
        a.allow(&["field", "missing", "format", "sigma", "value_type"])?;
        Ok(Metric {
            kind,
            field: a.field()?,
            missing: a.get("missing").cloned(),
            format: a.str("format")?,
            sigma: a.f64("sigma")?,
        })
    }

    /// `missing` in the column's units (nanoseconds for dates).
    fn missing(&self, kind: FieldKind) -> Result<Option<f64>, QueryError> {
        let Some(m) = &self.missing else {
            return Ok(None);
        };
        if kind == FieldKind::Date {
            let ms = match m {
                Value::String(s) => {
                    DateParser::new(self.format.as_deref(), None, 0)?.parse(s, false)?
                }
                other => number(other).unwrap_or(0.0) as i64,
            };
            return Ok(Some(ms as f64 * 1e6));
        }
        number(m).map(Some).ok_or_else(|| {
            QueryError::Parsing(format!(
                "[{}] [missing] must be a number, got [{m}]",
                self.kind.name()
            ))
        })
    }

    pub(crate) fn plan(&self, p: &mut Planner<'_>) -> Result<Aggregation, QueryError> {
        let field_kind = p.kinds.get(&self.field);
        let want = match (self.kind, field_kind) {
            (MetricKind::ValueCount, _) => Want::Any,
            (_, FieldKind::Date) => Want::Dates,
            _ => Want::Numbers,
        };
        let field = p.column(&self.field, want, self.kind.name())?;
        let missing = self.missing(field_kind)?;
        let variant = match self.kind {
            MetricKind::Avg => AggregationVariants::Average(AverageAggregation { field, missing }),
            MetricKind::Sum => AggregationVariants::Sum(SumAggregation {
                field,
                missing,
                none_if_no_match: None,
            }),
            MetricKind::Min => AggregationVariants::Min(MinAggregation { field, missing }),
            MetricKind::Max => AggregationVariants::Max(MaxAggregation { field, missing }),
            MetricKind::ValueCount => {
                AggregationVariants::Count(CountAggregation { field, missing })
            }
            MetricKind::Stats => AggregationVariants::Stats(StatsAggregation { field, missing }),
            MetricKind::ExtendedStats => {
                AggregationVariants::ExtendedStats(ExtendedStatsAggregation {
                    field,
                    missing,
                    sigma: self.sigma,
                })
            }
        };
        Ok(node(variant, Aggregations::default()))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::MetricResult(m) = result else {
            return Err(r.mismatch(n));
        };
        let date =
            r.kinds.get(&self.field) == FieldKind::Date && self.kind != MetricKind::ValueCount;
        // On a boolean field every value also reads as one (`"true"` when not 0), as ES formats it.
        let boolean =
            r.kinds.get(&self.field) == FieldKind::Bool && self.kind != MetricKind::ValueCount;
        let scale = |x: Option<f64>| if date { x.map(|v| v / 1e6) } else { x };
        let mut out = Map::new();
        let mut put = |out: &mut Map<String, Value>, key: &str, x: Option<f64>| {
            let x = scale(x);
            out.insert(key.to_string(), opt_number(x));
            if date && let Some(v) = x {
                out.insert(
                    format!("{key}_as_string"),
                    json!(r.date(whole_ms(v), self.format.as_deref())),
                );
            }
            if boolean && let Some(v) = x.filter(|v| v.is_finite()) {
                out.insert(format!("{key}_as_string"), json!((v != 0.0).to_string()));
            }
        };
        match m {
            MetricResult::Average(v) | MetricResult::Min(v) | MetricResult::Max(v) => {
                put(&mut out, "value", v.value)
            }
            MetricResult::Sum(v) => put(&mut out, "value", Some(v.value.unwrap_or(0.0))),
            MetricResult::Count(v) => {
                out.insert("value".into(), json!(v.value.unwrap_or(0.0) as u64));
            }
            MetricResult::Stats(s) => stats(&mut out, &s, &mut put),
            MetricResult::ExtendedStats(s) => extended(&mut out, &s, &mut put),
            _ => return Err(r.mismatch(n)),
        }
        Ok(Value::Object(out))
    }
}

/// A date metric's milliseconds as ES prints them: truncated (an average's fraction is
/// dropped), after undoing the float noise of nanoseconds divided down (…609.9999 is …610).
fn whole_ms(v: f64) -> i64 {
    if (v - v.round()).abs() < 1e-3 {
        v.round() as i64
    } else {
        v.trunc() as i64
    }
}

type Put<'a> = dyn FnMut(&mut Map<String, Value>, &str, Option<f64>) + 'a;

fn stats(out: &mut Map<String, Value>, s: &Stats, put: &mut Put<'_>) {
    out.insert("count".into(), json!(s.count));
    put(out, "min", s.min);
    put(out, "max", s.max);
    put(out, "avg", s.avg);
    put(out, "sum", Some(s.sum));
}

fn extended(out: &mut Map<String, Value>, s: &ExtendedStats, put: &mut Put<'_>) {
    out.insert("count".into(), json!(s.count));
    put(out, "min", s.min);
    put(out, "max", s.max);
    put(out, "avg", s.avg);
    put(out, "sum", Some(s.sum));
    let plain = |x: Option<f64>| opt_number(x);
    out.insert("sum_of_squares".into(), plain(s.sum_of_squares));
    out.insert("variance".into(), plain(s.variance));
    out.insert("variance_population".into(), plain(s.variance_population));
    out.insert("variance_sampling".into(), plain(s.variance_sampling));
    out.insert("std_deviation".into(), plain(s.std_deviation));
    out.insert(
        "std_deviation_population".into(),
        plain(s.std_deviation_population),
    );
    out.insert(
        "std_deviation_sampling".into(),
        plain(s.std_deviation_sampling),
    );
    let bounds = match &s.std_deviation_bounds {
        Some(b) => json!({
            "upper": b.upper, "lower": b.lower,
            "upper_population": b.upper_population, "lower_population": b.lower_population,
            "upper_sampling": b.upper_sampling, "lower_sampling": b.lower_sampling,
        }),
        None => json!({
            "upper": null, "lower": null, "upper_population": null,
            "lower_population": null, "upper_sampling": null, "lower_sampling": null,
        }),
    };
    out.insert("std_deviation_bounds".into(), bounds);
}
