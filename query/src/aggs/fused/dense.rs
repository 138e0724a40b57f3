//! The fused pass's result: a dense row of buckets with their metrics' statistics, merged
//! across segments and shards as arrays and turned into tantivy's intermediate form once, at
//! the end (or when it meets a segment tantivy collected).

use std::sync::Arc;

use serde::Deserialize;
use tantivy::TantivyError;
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResult, IntermediateAggregationResults, IntermediateBucketResult,
    IntermediateHistogramBucketEntry, IntermediateMetricResult,
};
use tantivy::aggregation::metric::{
    IntermediateAverage, IntermediateCount, IntermediateMax, IntermediateMin, IntermediateStats,
    IntermediateSum,
};

use super::serde_form::{self, Part};
use super::{FusedPlan, Kind, MAX_DENSE_BYTES, MetricSpec};

/// tantivy's `IntermediateStats`, collected and merged the same way (Kahan-compensated sums).
#[derive(Debug, Clone, Copy)]
pub(super) struct Stats {
    count: u64,
    sum: f64,
    delta: f64,
    min: f64,
    max: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            count: 0,
            sum: 0.0,
            delta: 0.0,
            min: f64::MAX,
            max: f64::MIN,
        }
    }
}

/// Knuth's TwoSum: `a + b` and its rounding error.
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let b_rounded = s - a;
    (s, (a - (s - b_rounded)) + (b - b_rounded))
}

impl Stats {
    #[inline]
    pub(super) fn collect(&mut self, value: f64) {
        self.count += 1;
        let y = value - self.delta;
        let t = self.sum + y;
        self.delta = (t - self.sum) - y;
        self.sum = t;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// tantivy's `compute_metric_value` of a segment's statistics: `prop` is one of `count`,
    /// `sum`, `min`, `max`, `avg`.
    pub(super) fn value(&self, prop: &str) -> Option<f64> {
        let some = self.count > 0;
        match prop {
            "count" => Some(self.count as f64),
            "sum" => Some(self.sum),
            "min" if some => Some(self.min),
            "max" if some => Some(self.max),
            "avg" if some => Some(self.sum / self.count as f64),
            _ => None,
        }
    }

    /// tantivy's `IntermediateStats::merge_fruits`.
    fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        let (sum, err) = two_sum(self.sum, other.sum);
        let (sum, residual) = two_sum(sum, err - (self.delta + other.delta));
        if sum.is_finite() {
            self.sum = sum;
            self.delta = -residual;
        } else {
            self.sum += other.sum;
            self.delta = 0.0;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// Buckets `base ..` of a plan's grid: their document counts and, per bucket, one [`Stats`]
/// per metric.
#[derive(Debug, Clone)]
pub struct Dense {
    pub(super) plan: Arc<FusedPlan>,
    /// The grid position of bucket 0.
    pub(super) base: i64,
    pub(super) counts: Vec<u64>,
    pub(super) stats: Vec<Stats>,
}

impl Dense {
    pub(super) fn new(plan: Arc<FusedPlan>, base: i64, len: usize) -> Dense {
        let width = plan.metrics.len();
        Dense {
            plan,
            base,
            counts: vec![0; len],
            stats: vec![Stats::default(); len * width],
        }
    }

    /// Whether `len` buckets of `width` metrics stay within [`MAX_DENSE_BYTES`].
    pub(super) fn fits(len: usize, width: usize) -> bool {
        let per_bucket = std::mem::size_of::<u64>() + width * std::mem::size_of::<Stats>();
        len.saturating_mul(per_bucket) <= MAX_DENSE_BYTES
    }

    fn width(&self) -> usize {
        self.plan.metrics.len()
    }

    /// Without the empty buckets at either end (a time-filtered search fills a few buckets of
    /// a segment's whole span), so merges and the request cache carry only what was hit.
    pub(super) fn trimmed(mut self) -> Dense {
        let Some(first) = self.counts.iter().position(|c| *c > 0) else {
            self.counts.clear();
            self.stats.clear();
            return self;
        };
        let last = self.counts.iter().rposition(|c| *c > 0).unwrap_or(first);
        if first == 0 && last + 1 == self.counts.len() {
            return self;
        }
        let width = self.width();
        self.counts = self.counts[first..=last].to_vec();
        self.stats = self.stats[first * width..(last + 1) * width].to_vec();
        self.base += first as i64;
        self
    }

    /// Adds `other` in, or gives it back when the two cannot be merged as arrays (another
    /// grid, or a span too wide).
    fn merge(&mut self, other: Box<Dense>) -> Result<(), Box<Dense>> {
        if !(Arc::ptr_eq(&self.plan, &other.plan) || self.plan == other.plan) {
            return Err(other);
        }
        if other.counts.is_empty() {
            return Ok(());
        }
        if self.counts.is_empty() {
            *self = *other;
            return Ok(());
        }
        let end = |d: &Dense| d.base + d.counts.len() as i64;
        let lo = self.base.min(other.base);
        let len = (end(self).max(end(&other)) - lo) as usize;
        if !Dense::fits(len, self.width()) {
            return Err(other);
        }
        if lo != self.base || len != self.counts.len() {
            let mut wider = Dense::new(self.plan.clone(), lo, len);
            wider.add(self);
            *self = wider;
        }
        self.add(&other);
        Ok(())
    }

    /// Adds `other`, whose buckets lie within this one's.
    fn add(&mut self, other: &Dense) {
        let width = self.width();
        let at = (other.base - self.base) as usize;
        for (i, &count) in other.counts.iter().enumerate() {
            if count == 0 {
                continue;
            }
            self.counts[at + i] += count;
            let mine = &mut self.stats[(at + i) * width..(at + i + 1) * width];
            for (s, o) in mine
                .iter_mut()
                .zip(&other.stats[i * width..(i + 1) * width])
            {
                s.merge(o);
            }
        }
    }

    /// tantivy's intermediate result of the same aggregation.
    fn into_intermediate(self) -> tantivy::Result<IntermediateAggregationResults> {
        let plan = &self.plan;
        let width = self.width();
        let mut buckets = Vec::with_capacity(self.counts.iter().filter(|c| **c > 0).count());
        for (i, &doc_count) in self.counts.iter().enumerate() {
            if doc_count == 0 {
                continue;
            }
            let mut sub = IntermediateAggregationResults::default();
            for (spec, s) in plan.metrics.iter().zip(&self.stats[i * width..]) {
                sub.push(spec.name.clone(), metric_result(spec.kind, s)?)?;
            }
            let pos = (self.base + i as i64) as f64;
            buckets.push(IntermediateHistogramBucketEntry {
                key: pos * plan.interval + plan.offset,
                doc_count,
                sub_aggregation: sub,
            });
        }
        let mut out = IntermediateAggregationResults::default();
        out.push(
            plan.name.clone(),
            IntermediateAggregationResult::Bucket(IntermediateBucketResult::Histogram {
                is_date_agg: true,
                buckets,
            }),
        )?;
        Ok(out)
    }
}

/// The serde form of tantivy's intermediate result of `dense`'s histogram (its non-empty
/// buckets), to sit inside another result built from serde form (a term bucket's).
pub(super) fn histogram_part(dense: &Dense) -> Part<'static> {
    let plan = &dense.plan;
    let width = dense.width();
    let mut buckets = Vec::new();
    for (i, &doc_count) in dense.counts.iter().enumerate() {
        if doc_count == 0 {
            continue;
        }
        let metrics = plan
            .metrics
            .iter()
            .zip(&dense.stats[i * width..])
            .map(|(spec, s)| metric_part(spec, s))
            .collect();
        let pos = (dense.base + i as i64) as f64;
        buckets.push(Part::Owned(vec![
            Part::F(pos * plan.interval + plan.offset),
            Part::U(doc_count),
            Part::Owned(vec![Part::Map(metrics)]),
        ]));
    }
    let histogram = Part::Variant(
        "Histogram",
        Box::new(Part::Owned(vec![Part::B(true), Part::Owned(buckets)])),
    );
    Part::Variant("Bucket", Box::new(histogram))
}

/// A metric's result in serde form, named: `(name, Metric(variant(stats)))`.
pub(super) fn metric_part(spec: &MetricSpec, s: &Stats) -> (Part<'static>, Part<'static>) {
    let stats = serde_form::stats(s.count, [s.sum, s.delta, s.min, s.max]);
    let (variant, form) = match spec.kind {
        Kind::Stats => ("Stats", stats),
        Kind::Avg => ("Average", Part::Owned(vec![stats])),
        Kind::Sum => ("Sum", Part::Owned(vec![stats])),
        Kind::Min => ("Min", Part::Owned(vec![stats])),
        Kind::Max => ("Max", Part::Owned(vec![stats])),
        Kind::Count => ("Count", Part::Owned(vec![stats])),
    };
    let metric = Part::Variant("Metric", Box::new(Part::Variant(variant, Box::new(form))));
    (Part::Text(spec.name.clone()), metric)
}

fn metric_result(kind: Kind, s: &Stats) -> tantivy::Result<IntermediateAggregationResult> {
    let stats = serde_form::stats(s.count, [s.sum, s.delta, s.min, s.max]);
    let wrapped = Part::Seq(std::slice::from_ref(&stats));
    let err = |e: serde::de::value::Error| {
        TantivyError::InternalError(format!("building an intermediate {kind:?}: {e}"))
    };
    let result = match kind {
        Kind::Stats => {
            IntermediateMetricResult::Stats(IntermediateStats::deserialize(&stats).map_err(err)?)
        }
        Kind::Avg => IntermediateMetricResult::Average(
            IntermediateAverage::deserialize(&wrapped).map_err(err)?,
        ),
        Kind::Sum => {
            IntermediateMetricResult::Sum(IntermediateSum::deserialize(&wrapped).map_err(err)?)
        }
        Kind::Min => {
            IntermediateMetricResult::Min(IntermediateMin::deserialize(&wrapped).map_err(err)?)
        }
        Kind::Max => {
            IntermediateMetricResult::Max(IntermediateMax::deserialize(&wrapped).map_err(err)?)
        }
        Kind::Count => {
            IntermediateMetricResult::Count(IntermediateCount::deserialize(&wrapped).map_err(err)?)
        }
    };
    Ok(IntermediateAggregationResult::Metric(result))
}

/// Aggregation results of a segment, a shard or a whole search, before finishing: tantivy's
/// intermediate results, and the fused pass's dense row when it took part.
#[derive(Debug, Clone, Default)]
pub struct AggFruit {
    tantivy: Option<IntermediateAggregationResults>,
    dense: Option<Box<Dense>>,
}

/// Merges `more` into `slot`.
fn merge_into(
    slot: &mut Option<IntermediateAggregationResults>,
    more: IntermediateAggregationResults,
) -> tantivy::Result<()> {
    match slot {
        Some(acc) => acc.merge_fruits(more),
        None => {
            *slot = Some(more);
            Ok(())
        }
    }
}

/// Counts the bytes a value's `Debug` text would take, without keeping the text.
struct ByteCount(usize);

impl std::fmt::Write for ByteCount {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

impl AggFruit {
    /// tantivy's results alone.
    pub(super) fn tantivy(results: IntermediateAggregationResults) -> AggFruit {
        AggFruit {
            tantivy: Some(results),
            dense: None,
        }
    }

    /// A segment's results.
    pub(super) fn of_segment(
        tantivy: Option<IntermediateAggregationResults>,
        dense: Option<Dense>,
    ) -> AggFruit {
        AggFruit {
            tantivy,
            dense: dense.map(Box::new),
        }
    }

    /// Merges `other` in: dense rows as arrays when they share a grid (otherwise through
    /// tantivy's form), tantivy's results as tantivy merges them.
    pub fn merge(&mut self, other: AggFruit) -> tantivy::Result<()> {
        if let Some(more) = other.tantivy {
            merge_into(&mut self.tantivy, more)?;
        }
        let Some(theirs) = other.dense else {
            return Ok(());
        };
        let unmerged = match self.dense.as_mut() {
            None => {
                self.dense = Some(theirs);
                None
            }
            Some(mine) => mine.merge(theirs).err(),
        };
        if let Some(theirs) = unmerged {
            if let Some(mine) = self.dense.take() {
                merge_into(&mut self.tantivy, mine.into_intermediate()?)?;
            }
            merge_into(&mut self.tantivy, theirs.into_intermediate()?)?;
        }
        Ok(())
    }

    /// tantivy's intermediate results of everything.
    pub fn into_intermediate(self) -> tantivy::Result<IntermediateAggregationResults> {
        let mut out = self.tantivy;
        if let Some(dense) = self.dense {
            merge_into(&mut out, dense.into_intermediate()?)?;
        }
        Ok(out.unwrap_or_default())
    }

    /// About the bytes the results hold (for the request cache's budget). tantivy's results
    /// are measured by their `Debug` text — every part of them, names included, so it errs on
    /// the heavy side; JSON cannot write their non-string map keys.
    pub fn weight(&self) -> usize {
        let dense = self.dense.as_ref().map_or(0, |d| {
            std::mem::size_of::<Dense>()
                + d.counts.len() * std::mem::size_of::<u64>()
                + d.stats.len() * std::mem::size_of::<Stats>()
        });
        let tantivy = self.tantivy.as_ref().map_or(0, |t| {
            let mut size = ByteCount(0);
            // Writing to a counter cannot fail.
            let _ = std::fmt::Write::write_fmt(&mut size, format_args!("{t:?}"));
            size.0
        });
        dense + tantivy
    }
}
