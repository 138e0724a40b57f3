//! `boxplot`: a box-and-whisker summary — `min`, `max`, the quartiles `q1`–`q3`, and the
//! whiskers `lower` / `upper` (Elasticsearch x-pack analytics; OpenSearch has none).
//!
//! `min` and `max` are exact (tantivy's `stats`). The quartiles come from tantivy's quantile
//! sketch (DDSketch, 1 % relative error) where ES reads a TDigest. ES's whiskers are the
//! digest's centroids nearest inside the fences `q1 − 1.5 × IQR` and `q3 + 1.5 × IQR`; Hydrant
//! reads the same from the sketch's quantiles at the midpoints of 200 equal slices (as
//! [`mad`](super::mad) does), with the exact `min` and `max` among them: the lower whisker is
//! the smallest of these at or above the lower fence, the upper the largest at or below the
//! upper fence.

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, MetricResult};
use tantivy::aggregation::metric::{PercentilesAggregationReq, StatsAggregation};

use super::AggNode;
use super::args::Args;
use super::percentiles::{points, slice_midpoints};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, opt_number};
use crate::error::QueryError;

const SLICES: usize = 200;

/// A parsed `boxplot` aggregation.
#[derive(Debug, Clone)]
pub struct Boxplot {
    /// The field.
    pub field: String,
    missing: Option<f64>,
}

fn percents() -> Vec<f64> {
    let mut p = slice_midpoints(SLICES);
    p.extend([25.0, 50.0, 75.0]);
    p
}

impl Boxplot {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Boxplot, QueryError> {
        let a = Args::new("boxplot", v)?;
        a.allow(&[
            "field",
            "missing",
            "compression",
            "execution_hint",
            "format",
        ])?;
        Ok(Boxplot {
            field: a.field()?,
            missing: a.f64("missing")?,
        })
    }

    fn names(name: &str) -> [String; 2] {
        [format!("{name}#stats"), format!("{name}#quantiles")]
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let field = p.column(&self.field, Want::Numbers, "boxplot")?;
        let [stats, quantiles] = Self::names(name);
        Ok(vec![
            (
                stats,
                node(
                    AggregationVariants::Stats(StatsAggregation {
                        field: field.clone(),
                        missing: self.missing,
                    }),
                    Aggregations::default(),
                ),
            ),
            (
                quantiles,
                node(
                    AggregationVariants::Percentiles(PercentilesAggregationReq {
                        field,
                        percents: Some(percents()),
                        keyed: false,
                        missing: self.missing,
                    }),
                    Aggregations::default(),
                ),
            ),
        ])
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let [stats, quantiles] = Self::names(&n.name);
        let Some(AggregationResult::MetricResult(MetricResult::Stats(stats))) =
            results.0.remove(&stats)
        else {
            return Err(r.mismatch(n));
        };
        let Some(AggregationResult::MetricResult(MetricResult::Percentiles(q))) =
            results.0.remove(&quantiles)
        else {
            return Err(r.mismatch(n));
        };
        let b = summarize(stats.min, stats.max, &points(q.values));
        Ok(json!({
            "min": opt_number(b.map(|b| b.min)),
            "max": opt_number(b.map(|b| b.max)),
            "q1": opt_number(b.map(|b| b.q[0])),
            "q2": opt_number(b.map(|b| b.q[1])),
            "q3": opt_number(b.map(|b| b.q[2])),
            "lower": opt_number(b.map(|b| b.lower)),
            "upper": opt_number(b.map(|b| b.upper)),
        }))
    }
}

/// The numbers of a box plot.
#[derive(Debug, Clone, Copy)]
struct Summary {
    min: f64,
    max: f64,
    q: [f64; 3],
    lower: f64,
    upper: f64,
}

/// The box plot from the exact extremes and `(percent, quantile)` pairs (the slice midpoints
/// and the quartiles). `None` when there is no value.
fn summarize(min: Option<f64>, max: Option<f64>, points: &[(f64, f64)]) -> Option<Summary> {
    let (min, max) = (min?, max?);
    let at = |p: f64| points.iter().find(|(k, _)| *k == p).map(|(_, v)| *v);
    // The sketch's quartiles, kept within the exact extremes.
    let q = [at(25.0)?, at(50.0)?, at(75.0)?].map(|x| x.clamp(min, max));
    if q.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let iqr = q[2] - q[0];
    let (low_fence, high_fence) = (q[0] - 1.5 * iqr, q[2] + 1.5 * iqr);
    let candidates = points
        .iter()
        .map(|(_, v)| v.clamp(min, max))
        .chain([min, max])
        .filter(|v| v.is_finite());
    let (mut lower, mut upper) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in candidates {
        if v >= low_fence {
            lower = lower.min(v);
        }
        if v <= high_fence {
            upper = upper.max(v);
        }
    }
    Some(Summary {
        min,
        max,
        q,
        lower,
        upper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(lo: f64, hi: f64) -> Vec<(f64, f64)> {
        percents()
            .into_iter()
            .map(|p| (p, lo + (hi - lo) * p / 100.0))
            .collect()
    }

    #[test]
    fn whiskers_stop_at_the_fences_or_the_extremes() {
        // Uniform 0..=100: the fences (−50, 150) lie past the extremes.
        let b = summarize(Some(0.0), Some(100.0), &uniform(0.0, 100.0)).unwrap();
        assert_eq!(b.q, [25.0, 50.0, 75.0]);
        assert_eq!((b.lower, b.upper), (0.0, 100.0));
        // One outlier far above: the upper whisker is the largest value inside the fence.
        let b = summarize(Some(0.0), Some(10_000.0), &uniform(0.0, 100.0)).unwrap();
        assert_eq!(b.max, 10_000.0);
        assert!(b.upper <= 150.0 && b.upper >= 99.0, "{b:?}");
        assert_eq!(b.lower, 0.0);
        // No value: nothing.
        assert!(summarize(None, None, &[]).is_none());
    }
}
