//! Plain metrics (`sum`, `avg`, `min`, `max`, `value_count`, `stats`) over a segment the query
//! matches whole, read straight from their columns: a dashboard's single-number panels
//! ("bytes served", "average latency") over a time range that holds whole segments.
//!
//! Every document of such a segment matches, so a metric's statistics are those of every
//! value its column stores: one pass over the packed values, a block at a time, with no
//! document ids and no per-document lookups — the work tantivy's collector does per matching
//! document. Taken when every top-level aggregation is such a metric on a single-valued column
//! of numbers or dates (or on a field the segment does not hold); the statistics are
//! tantivy's, sums compensated as its are (equal to rounding).

use tantivy::SegmentReader;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;

use super::dense::{Stats, metric_result};
use super::{MetricSpec, metric, metric_values};

/// Top-level metrics this path answers.
#[derive(Debug)]
pub(crate) struct WholeMetrics {
    metrics: Vec<MetricSpec>,
}

impl WholeMetrics {
    /// The plan, when every aggregation of `aggs` is a plain metric.
    pub(crate) fn detect(aggs: &Aggregations) -> Option<WholeMetrics> {
        let mut metrics = aggs
            .iter()
            .map(|(name, agg)| metric(name, agg))
            .collect::<Option<Vec<_>>>()?;
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        (!metrics.is_empty()).then_some(WholeMetrics { metrics })
    }

    /// The first metric's name (the tests' way to see this path taken).
    pub(crate) fn name(&self) -> &str {
        &self.metrics[0].name
    }

    /// The results of `reader`, every document of which matches (`None`: the segment is not
    /// one this path takes; collect it).
    pub(crate) fn segment(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<Option<IntermediateAggregationResults>> {
        let Some(columns) = metric_values(reader, &self.metrics)? else {
            return Ok(None);
        };
        let mut out = IntermediateAggregationResults::default();
        for (spec, values) in self.metrics.iter().zip(&columns) {
            let mut stats = Stats::default();
            values.each_value(|v| stats.collect(v));
            out.push(spec.name.clone(), metric_result(spec.kind, &stats)?)?;
        }
        Ok(Some(out))
    }
}
