//! `median_absolute_deviation`: the median of the values' distances from their median.
//!
//! Elasticsearch computes it from a TDigest: the digest's median, then the median of a second
//! digest of each centroid's distance from it. Hydrant reads the same from tantivy's quantile
//! sketch (DDSketch, 1 % relative error): the values' quantiles at the midpoints of 200 equal
//! slices stand for the distribution, each slice for 0.5 % of the values, and the median of
//! their distances from the median is the answer — within the sketch's error plus half a slice.

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, MetricResult};
use tantivy::aggregation::metric::PercentilesAggregationReq;

use super::AggNode;
use super::args::Args;
use super::percentiles::{points, slice_midpoints};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, opt_number};
use crate::error::QueryError;

const SLICES: usize = 200;

/// A parsed `median_absolute_deviation` aggregation.
#[derive(Debug, Clone)]
pub struct MedianAbsoluteDeviation {
    /// The field.
    pub field: String,
    missing: Option<f64>,
}

fn percents() -> Vec<f64> {
    let mut p = slice_midpoints(SLICES);
    p.push(50.0);
    p
}

impl MedianAbsoluteDeviation {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<MedianAbsoluteDeviation, QueryError> {
        let a = Args::new("median_absolute_deviation", v)?;
        a.allow(&[
            "field",
            "missing",
            "compression",
            "format",
            "execution_hint",
        ])?;
        Ok(MedianAbsoluteDeviation {
            field: a.field()?,
            missing: a.f64("missing")?,
        })
    }

    pub(crate) fn plan(&self, p: &mut Planner<'_>) -> Result<Aggregation, QueryError> {
        let field = p.column(&self.field, Want::Numbers, "median_absolute_deviation")?;
        Ok(node(
            AggregationVariants::Percentiles(PercentilesAggregationReq {
                field,
                percents: Some(percents()),
                keyed: false,
                missing: self.missing,
            }),
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
        Ok(json!({ "value": opt_number(mad(&points(p.values))) }))
    }
}

/// The MAD from `(percent, quantile)` pairs: the slice midpoints and the median (50).
fn mad(points: &[(f64, f64)]) -> Option<f64> {
    let median = points.iter().find(|(k, _)| *k == 50.0)?.1;
    if !median.is_finite() {
        return None;
    }
    let mut distances: Vec<f64> = points
        .iter()
        .filter(|(k, _)| *k != 50.0)
        .map(|(_, q)| (q - median).abs())
        .filter(|d| d.is_finite())
        .collect();
    if distances.is_empty() {
        return None;
    }
    distances.sort_by(f64::total_cmp);
    let mid = distances.len() / 2;
    Some(if distances.len().is_multiple_of(2) {
        (distances[mid - 1] + distances[mid]) / 2.0
    } else {
        distances[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_distances_from_the_median() {
        // A uniform 0..=100: median 50, distances uniform on 0..=50, their median 25.
        let points: Vec<(f64, f64)> = percents().into_iter().map(|p| (p, p)).collect();
        let m = mad(&points).unwrap();
        assert!((m - 25.0).abs() < 0.5, "{m}");
        // One value: no spread.
        let points: Vec<(f64, f64)> = percents().into_iter().map(|p| (p, 7.0)).collect();
        assert_eq!(mad(&points), Some(0.0));
        // No value: the sketch answers NaN, ES null.
        assert_eq!(mad(&[(50.0, f64::NAN), (0.25, f64::NAN)]), None);
    }
}
