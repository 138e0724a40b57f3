//! The panel every log dashboard opens with — a `date_histogram` with plain metrics under it
//! (`avg`, `sum`, `min`, `max`, `value_count`, `stats`) — collected in one pass over each
//! block of documents: the timestamp column and the metric columns are read side by side and
//! added into a dense row of buckets.
//!
//! tantivy's generic collector puts each document into its bucket, buffers it there, and later
//! reads the metric column again for each bucket's documents. Written by hand here because
//! that work is the difference between Hydrant and a columnar engine on this question (issue
//! 19: a per-minute histogram with `avg` was 1.4–1.7× ClickHouse).
//!
//! The result is tantivy's own intermediate form, bucket for bucket: the same keys, counts,
//! minima and maxima, and the same compensated (Kahan) sums to within rounding — tantivy sums a
//! bucket's values in lanes whose split depends on how it batched them, so its own sums vary
//! in the last bits too. Merging across segments, the request cache and finalization are
//! shared with every other aggregation. A
//! segment this path does not take — a multi-valued column, several column types under one
//! field, a date histogram over a number, a range of buckets too wide to keep dense — goes
//! through tantivy's collector instead; both give the same answer.

use std::sync::Arc;

use serde::Deserialize;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResult, IntermediateAggregationResults, IntermediateBucketResult,
    IntermediateHistogramBucketEntry, IntermediateMetricResult,
};
use tantivy::aggregation::metric::{
    IntermediateAverage, IntermediateCount, IntermediateMax, IntermediateMin, IntermediateStats,
    IntermediateSum,
};
use tantivy::aggregation::{
    AggregationSegmentCollector, DistributedAggregationCollector,
};
use tantivy::aggregation::bucket::HistogramBounds;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{
    Cardinality, Column, ColumnIndex, ColumnType, ColumnValues, MonotonicallyMappableToU64,
};
use tantivy::{DocId, SegmentOrdinal, SegmentReader, TantivyError};

mod serde_form;

/// The most buckets one segment keeps densely (beyond, tantivy's sparse buckets do better).
const MAX_DENSE: usize = 1 << 20;
/// Documents read per pass over the columns.
const BLOCK: usize = 64;

const NUMBERS_AND_DATES: [ColumnType; 4] = [
    ColumnType::F64,
    ColumnType::U64,
    ColumnType::I64,
    ColumnType::DateTime,
];
/// What tantivy's `value_count` reads; only numbers and dates are taken here.
const COUNTABLE: [ColumnType; 7] = [
    ColumnType::I64,
    ColumnType::U64,
    ColumnType::F64,
    ColumnType::Str,
    ColumnType::DateTime,
    ColumnType::Bool,
    ColumnType::IpAddr,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Avg,
    Sum,
    Min,
    Max,
    Count,
    Stats,
}

#[derive(Debug)]
struct MetricSpec {
    name: String,
    kind: Kind,
    column: String,
}

/// A request this path answers: one `date_histogram` over a date column with plain metrics.
#[derive(Debug)]
pub(crate) struct FusedPlan {
    name: String,
    column: String,
    /// Nanoseconds, as tantivy normalizes a date histogram.
    interval: f64,
    offset: f64,
    /// Inclusive, in nanoseconds.
    bounds: (f64, f64),
    metrics: Vec<MetricSpec>,
}

/// Computed columns (registered value sources) are named `#…` by this crate; this path reads
/// physical columns only.
fn physical(column: &str) -> bool {
    !column.starts_with('#')
}

/// A duration the planner wrote as `{n}ms`.
fn millis(s: &str) -> Option<i64> {
    s.strip_suffix("ms")?.parse().ok()
}

fn metric(name: &str, agg: &Aggregation) -> Option<MetricSpec> {
    if !agg.sub_aggregation.is_empty() {
        return None;
    }
    let (kind, field, missing) = match &agg.agg {
        AggregationVariants::Average(m) => (Kind::Avg, &m.field, m.missing),
        AggregationVariants::Sum(m) => (Kind::Sum, &m.field, m.missing),
        AggregationVariants::Min(m) => (Kind::Min, &m.field, m.missing),
        AggregationVariants::Max(m) => (Kind::Max, &m.field, m.missing),
        AggregationVariants::Count(m) => (Kind::Count, &m.field, m.missing),
        AggregationVariants::Stats(m) => (Kind::Stats, &m.field, m.missing),
        _ => return None,
    };
    (missing.is_none() && physical(field)).then(|| MetricSpec {
        name: name.to_string(),
        kind,
        column: field.clone(),
    })
}

impl FusedPlan {
    /// The plan for `aggs`, if they are of the shape this path answers.
    pub(crate) fn detect(aggs: &Aggregations) -> Option<FusedPlan> {
        if aggs.len() != 1 {
            return None;
        }
        let (name, agg) = aggs.iter().next()?;
        let AggregationVariants::DateHistogram(req) = &agg.agg else {
            return None;
        };
        if !physical(&req.field)
            || req.interval.is_some()
            || req.calendar_interval.is_some()
            || req.format.is_some()
        {
            return None;
        }
        let interval = millis(req.fixed_interval.as_deref()?)?;
        let offset = match &req.offset {
            Some(o) => millis(o)?,
            None => 0,
        };
        if interval <= 0 {
            return None;
        }
        // tantivy's normalization: milliseconds as f64, then times 1e6.
        let bounds = req.hard_bounds.unwrap_or(HistogramBounds {
            min: f64::MIN,
            max: f64::MAX,
        });
        let bounds = match req.hard_bounds {
            Some(_) => (bounds.min * 1_000_000.0, bounds.max * 1_000_000.0),
            None => (bounds.min, bounds.max),
        };
        let metrics = agg
            .sub_aggregation
            .iter()
            .map(|(n, a)| metric(n, a))
            .collect::<Option<Vec<_>>>()?;
        Some(FusedPlan {
            name: name.clone(),
            column: req.field.clone(),
            interval: interval as f64 * 1_000_000.0,
            offset: offset as f64 * 1_000_000.0,
            bounds,
            metrics,
        })
    }

    fn pos(&self, value: f64) -> f64 {
        ((value - self.offset) / self.interval).floor()
    }

    /// The collector of one segment, if this path takes it.
    fn for_segment(self: &Arc<Self>, reader: &SegmentReader) -> tantivy::Result<Option<Fused>> {
        let Some(Some((ts, ColumnType::DateTime))) =
            single_column(reader, &self.column, &NUMBERS_AND_DATES)?
        else {
            return Ok(None);
        };
        let Some(ts) = Values::of(ts, ColumnType::DateTime) else {
            return Ok(None);
        };
        let (lo, hi) = match ts.bounds() {
            Some((lo, hi)) => (
                i64::from_u64(lo) as f64,
                i64::from_u64(hi) as f64,
            ),
            None => return Ok(None),
        };
        let (lo, hi) = (lo.max(self.bounds.0), hi.min(self.bounds.1));
        let base = self.pos(lo) as i64;
        let len = if lo > hi {
            0
        } else {
            match usize::try_from(self.pos(hi) as i64 - base + 1) {
                Ok(len) if len <= MAX_DENSE => len,
                _ => return Ok(None),
            }
        };
        let mut metrics = Vec::with_capacity(self.metrics.len());
        for m in &self.metrics {
            let allowed: &[ColumnType] = if m.kind == Kind::Count {
                &COUNTABLE
            } else {
                &NUMBERS_AND_DATES
            };
            let values = match single_column(reader, &m.column, allowed)? {
                None => return Ok(None),
                Some(None) => Values::Empty,
                Some(Some((column, kind))) => {
                    if !NUMBERS_AND_DATES.contains(&kind) {
                        return Ok(None);
                    }
                    match Values::of(column, kind) {
                        Some(v) => v,
                        None => return Ok(None),
                    }
                }
            };
            metrics.push(values);
        }
        Ok(Some(Fused {
            plan: self.clone(),
            ts,
            base,
            counts: vec![0; len],
            stats: vec![Stats::default(); len * metrics.len()],
            metrics,
            slots: [NONE; BLOCK],
            vals: [None; BLOCK],
            pending: Vec::new(),
        }))
    }
}

/// The one column of `field` of an allowed type: `Some(None)` when there is none, `None` when
/// there are several (tantivy would read the first; this path leaves such segments to it).
#[allow(clippy::type_complexity)]
fn single_column(
    reader: &SegmentReader,
    field: &str,
    allowed: &[ColumnType],
) -> tantivy::Result<Option<Option<(Column<u64>, ColumnType)>>> {
    let mut columns = reader
        .fast_fields()
        .u64_lenient_for_type_all(Some(allowed), field)?;
    Ok(match columns.len() {
        0 => Some(None),
        1 => columns.pop().map(Some),
        _ => None,
    })
}

/// A single-valued column's values, as the f64 tantivy's collectors read them.
enum Values {
    Full(Arc<dyn ColumnValues<u64>>, ColumnType),
    Optional(Column<u64>, ColumnType),
    Empty,
}

impl Values {
    /// The values of `column`, of type `kind`, unless it is multi-valued.
    fn of(column: Column<u64>, kind: ColumnType) -> Option<Values> {
        match column.get_cardinality() {
            Cardinality::Multivalued => None,
            _ => Some(match &column.index {
                ColumnIndex::Full => Values::Full(column.values.clone(), kind),
                ColumnIndex::Empty { .. } => Values::Empty,
                _ => Values::Optional(column, kind),
            }),
        }
    }

    fn bounds(&self) -> Option<(u64, u64)> {
        let values = match self {
            Values::Full(v, _) => v.as_ref(),
            Values::Optional(c, _) => c.values.as_ref(),
            Values::Empty => return None,
        };
        (values.num_vals() > 0).then(|| (values.min_value(), values.max_value()))
    }

    /// Reads the values of `docs` into `out`, `None` where a document has none.
    fn read(&self, docs: &[DocId], out: &mut [Option<f64>; BLOCK]) {
        let out = &mut out[..docs.len()];
        match self {
            Values::Full(values, kind) => {
                let mut raw = [0u64; BLOCK];
                let raw = &mut raw[..docs.len()];
                values.get_vals(docs, raw);
                for (o, v) in out.iter_mut().zip(raw.iter()) {
                    *o = Some(to_f64(*v, *kind));
                }
            }
            Values::Optional(column, kind) => {
                let mut raw = [None; BLOCK];
                let raw = &mut raw[..docs.len()];
                column.first_vals(docs, raw);
                for (o, v) in out.iter_mut().zip(raw.iter()) {
                    *o = v.map(|v| to_f64(v, *kind));
                }
            }
            Values::Empty => out.fill(None),
        }
    }
}

/// tantivy's `f64_from_fastfield_u64` (dates as nanoseconds).
#[inline]
fn to_f64(v: u64, kind: ColumnType) -> f64 {
    match kind {
        ColumnType::U64 => v as f64,
        ColumnType::F64 => f64::from_u64(v),
        _ => i64::from_u64(v) as f64,
    }
}

/// tantivy's `IntermediateStats`, collected the same way (a Kahan-compensated sum).
#[derive(Debug, Clone, Copy)]
struct Stats {
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

impl Stats {
    #[inline]
    fn collect(&mut self, value: f64) {
        self.count += 1;
        let y = value - self.delta;
        let t = self.sum + y;
        self.delta = (t - self.sum) - y;
        self.sum = t;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }
}

const NONE: u32 = u32::MAX;

/// The fused collector of one segment.
pub(crate) struct Fused {
    plan: Arc<FusedPlan>,
    ts: Values,
    metrics: Vec<Values>,
    /// The position of bucket 0.
    base: i64,
    counts: Vec<u64>,
    /// Per bucket, one entry per metric.
    stats: Vec<Stats>,
    slots: [u32; BLOCK],
    vals: [Option<f64>; BLOCK],
    /// Documents collected one at a time, read as a block when it is full.
    pending: Vec<DocId>,
}

impl Fused {
    fn collect(&mut self, doc: DocId) {
        self.pending.push(doc);
        if self.pending.len() == BLOCK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        self.collect_block(&pending);
        self.pending = pending;
        self.pending.clear();
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        for docs in docs.chunks(BLOCK) {
            self.ts.read(docs, &mut self.vals);
            let (lo, hi) = self.plan.bounds;
            for (slot, ts) in self.slots.iter_mut().zip(&self.vals[..docs.len()]) {
                *slot = match ts {
                    Some(t) if *t >= lo && *t <= hi => {
                        let i = (self.plan.pos(*t) as i64 - self.base) as usize;
                        self.counts[i] += 1;
                        i as u32
                    }
                    _ => NONE,
                };
            }
            let width = self.metrics.len();
            for (m, values) in self.metrics.iter().enumerate() {
                values.read(docs, &mut self.vals);
                for (slot, v) in self.slots.iter().zip(&self.vals[..docs.len()]) {
                    if let (true, Some(v)) = (*slot != NONE, v) {
                        self.stats[*slot as usize * width + m].collect(*v);
                    }
                }
            }
        }
    }

    fn harvest(mut self) -> tantivy::Result<IntermediateAggregationResults> {
        self.flush();
        let width = self.metrics.len();
        let mut buckets = Vec::new();
        for (i, &doc_count) in self.counts.iter().enumerate() {
            if doc_count == 0 {
                continue;
            }
            let mut sub = IntermediateAggregationResults::default();
            for (m, spec) in self.plan.metrics.iter().enumerate() {
                let s = self.stats[i * width + m];
                sub.push(spec.name.clone(), metric_result(spec.kind, s)?)?;
            }
            let pos = (self.base + i as i64) as f64;
            buckets.push(IntermediateHistogramBucketEntry {
                key: pos * self.plan.interval + self.plan.offset,
                doc_count,
                sub_aggregation: sub,
            });
        }
        let mut out = IntermediateAggregationResults::default();
        out.push(
            self.plan.name.clone(),
            IntermediateAggregationResult::Bucket(IntermediateBucketResult::Histogram {
                is_date_agg: true,
                buckets,
            }),
        )?;
        Ok(out)
    }
}

fn metric_result(kind: Kind, s: Stats) -> tantivy::Result<IntermediateAggregationResult> {
    let stats = serde_form::stats(s.count, [s.sum, s.delta, s.min, s.max]);
    let wrapped = serde_form::Part::Seq(std::slice::from_ref(&stats));
    let err = |e: serde::de::value::Error| {
        TantivyError::InternalError(format!("building an intermediate {kind:?}: {e}"))
    };
    let result = match kind {
        Kind::Stats => IntermediateMetricResult::Stats(
            IntermediateStats::deserialize(&stats).map_err(err)?,
        ),
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
        Kind::Count => IntermediateMetricResult::Count(
            IntermediateCount::deserialize(&wrapped).map_err(err)?,
        ),
    };
    Ok(IntermediateAggregationResult::Metric(result))
}

/// The aggregations of one shard: tantivy's collector, and the fused plan when the request
/// has its shape.
pub struct ShardAggs {
    tantivy: DistributedAggregationCollector,
    fused: Option<Arc<FusedPlan>>,
}

/// The aggregations of one segment.
pub enum SegmentAggs {
    /// tantivy's collector.
    Tantivy(AggregationSegmentCollector),
    /// This module's.
    Fused(Box<Fused>),
}

impl ShardAggs {
    pub(crate) fn new(tantivy: DistributedAggregationCollector, fused: Option<FusedPlan>) -> Self {
        ShardAggs {
            tantivy,
            fused: fused.filter(|_| enabled()).map(Arc::new),
        }
    }

    /// The collector of one segment.
    pub fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentAggs> {
        if let Some(plan) = &self.fused
            && let Some(f) = plan.for_segment(reader)?
        {
            note_used(&plan.name);
            return Ok(SegmentAggs::Fused(Box::new(f)));
        }
        Ok(SegmentAggs::Tantivy(self.tantivy.for_segment(ord, reader)?))
    }

    /// An empty result of the right shape, for a segment skipped without being read.
    pub fn empty(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<IntermediateAggregationResults> {
        self.tantivy.for_segment(ord, reader)?.harvest()
    }
}

impl SegmentAggs {
    /// Collects one document.
    pub fn collect(&mut self, doc: DocId) {
        match self {
            SegmentAggs::Tantivy(t) => t.collect(doc, 0.0),
            SegmentAggs::Fused(f) => f.collect(doc),
        }
    }

    /// Collects a block of documents.
    pub fn collect_block(&mut self, docs: &[DocId]) {
        match self {
            SegmentAggs::Tantivy(t) => t.collect_block(docs),
            SegmentAggs::Fused(f) => {
                f.flush();
                f.collect_block(docs);
            }
        }
    }

    /// The segment's intermediate results.
    pub fn harvest(self) -> tantivy::Result<IntermediateAggregationResults> {
        match self {
            SegmentAggs::Tantivy(t) => t.harvest(),
            SegmentAggs::Fused(f) => f.harvest(),
        }
    }
}

/// Segments collected by this path, per aggregation name (the tests' way to see it taken).
#[cfg(test)]
pub(crate) static USED: parking_lot::Mutex<std::collections::BTreeMap<String, u64>> =
    parking_lot::Mutex::new(std::collections::BTreeMap::new());

#[cfg(test)]
thread_local! {
    /// Off in the tests that compare this path with tantivy's.
    pub(crate) static ENABLED: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

#[cfg(test)]
fn note_used(name: &str) {
    *USED.lock().entry(name.to_string()).or_default() += 1;
}

#[cfg(not(test))]
fn note_used(_: &str) {}

fn enabled() -> bool {
    #[cfg(test)]
    {
        ENABLED.with(std::cell::Cell::get)
    }
    #[cfg(not(test))]
    {
        true
    }
}
