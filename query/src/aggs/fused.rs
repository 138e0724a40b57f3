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
//! The rows ([`Dense`]) stay rows through the merges of segments and shards and in the request
//! cache, and become tantivy's intermediate form once, so finishing and rendering are shared
//! with every other aggregation. They hold what tantivy's would: the same keys, counts, minima
//! and maxima, and the same compensated (Kahan) sums to within rounding — tantivy sums a
//! bucket's values in lanes whose split depends on how it batched them, so its own sums vary in
//! the last bits too. A segment this path does not take — a multi-valued column, several column
//! types under one field, a date histogram over a number, a grid too fine to keep dense — goes
//! through tantivy's collector in the same search; both give the same answer.

use std::sync::Arc;

use hydrant_index::mapping::TIMESTAMP_FIELD;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::columnar::ColumnType;
use tantivy::{DocId, SegmentReader};

mod collect;
mod columns;
mod dense;
mod filtered;
pub(crate) mod serde_form;
mod split;
mod terms;

use crate::compile::TimeRange;
pub(crate) use collect::FusedAggs;
#[cfg(test)]
pub(crate) use collect::{ENABLED, USED};
pub use collect::{SegmentAggs, ShardAggs};
use columns::{BLOCK, Blocks, Raw, Values, single_column};
pub use dense::{AggFruit, Dense};
use filtered::FilteredFused;
pub(crate) use filtered::{FilterQueries, FilteredPlan};
use split::SplitFused;
pub(crate) use split::SplitPlan;
use terms::TermsFused;
pub(crate) use terms::TermsPlan;

/// The most memory one segment's or a merged result's dense row may take (a grid finer than
/// that over a segment's time span goes to tantivy's sparse buckets, which count against the
/// request's aggregation memory limit, instead).
const MAX_DENSE_BYTES: usize = 16 << 20;

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

#[derive(Debug, PartialEq)]
struct MetricSpec {
    name: String,
    kind: Kind,
    column: String,
}

/// A request this path answers: one `date_histogram` over a date column with plain metrics.
#[derive(Debug, PartialEq)]
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

/// The first of `aggs` (top level, by name) that `plan` makes a plan of.
fn first_by_name<T>(
    aggs: &Aggregations,
    plan: impl Fn(&str, &Aggregation) -> Option<T>,
) -> Option<T> {
    let mut names: Vec<&String> = aggs.keys().collect();
    names.sort();
    names.into_iter().find_map(|name| plan(name, &aggs[name]))
}

/// This path reads physical columns only, not the computed ones the planner registers.
fn physical(column: &str) -> bool {
    !super::sources::is_computed(column)
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
    /// The plan for the first of `aggs` (top level) of the shape this path answers, if any.
    pub(crate) fn detect(aggs: &Aggregations) -> Option<FusedPlan> {
        first_by_name(aggs, Self::of)
    }

    /// The plan for aggregation `name`, if it is of the shape this path answers.
    fn of(name: &str, agg: &Aggregation) -> Option<FusedPlan> {
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
        let bounds = req.hard_bounds.map_or((f64::MIN, f64::MAX), |b| {
            (b.min * 1_000_000.0, b.max * 1_000_000.0)
        });
        let metrics = agg
            .sub_aggregation
            .iter()
            .map(|(n, a)| metric(n, a))
            .collect::<Option<Vec<_>>>()?;
        Some(FusedPlan {
            name: name.to_string(),
            column: req.field.clone(),
            interval: interval as f64 * 1_000_000.0,
            offset: offset as f64 * 1_000_000.0,
            bounds,
            metrics,
        })
    }

    /// The aggregation's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// tantivy's `get_bucket_pos_f64`, the same f64 arithmetic.
    fn pos(&self, value: f64) -> f64 {
        ((value - self.offset) / self.interval).floor()
    }

    /// [`FusedPlan::pos`] as an integer, in the hot loop: `f64::floor` is a libm call on
    /// baseline x86-64 (8 % of this pass in a profile); truncating and stepping down is the
    /// same for every quotient an `i64` holds.
    #[inline]
    fn pos_i64(&self, value: f64) -> i64 {
        let q = (value - self.offset) / self.interval;
        let t = q as i64;
        if (t as f64) > q { t - 1 } else { t }
    }

    /// The columns of `reader` this pass reads and its grid there, if it takes the segment
    /// with `rows` rows of buckets.
    fn columns(
        &self,
        reader: &SegmentReader,
        rows: usize,
        time: Option<&TimeRange>,
    ) -> tantivy::Result<Option<Columns>> {
        let Some(Some((ts, ColumnType::DateTime))) =
            single_column(reader, &self.column, &NUMBERS_AND_DATES)?
        else {
            return Ok(None);
        };
        let Some(ts) = Values::of(ts, ColumnType::DateTime) else {
            return Ok(None);
        };
        let Some((lo, hi)) = ts.bounds() else {
            return Ok(None);
        };
        // The query's own time range, when it has one, bounds the grid too: a search of the
        // last 15 minutes over a day's segment holds 15 buckets, not 1,440.
        let (within_lo, within_hi) = match time {
            Some(t) if self.column == TIMESTAMP_FIELD => t.nanos_hull(),
            _ => (f64::MIN, f64::MAX),
        };
        let (lo, hi) = (
            lo.max(self.bounds.0).max(within_lo),
            hi.min(self.bounds.1).min(within_hi),
        );
        let base = self.pos(lo) as i64;
        let len = if lo > hi {
            0
        } else {
            match usize::try_from(self.pos(hi) as i64 - base + 1) {
                Ok(len) if Dense::fits(len.saturating_mul(rows), self.metrics.len()) => len,
                _ => return Ok(None),
            }
        };
        let Some(metrics) = metric_values(reader, &self.metrics)? else {
            return Ok(None);
        };
        Ok(Some(Columns {
            ts,
            grid: Grid { base, lo, hi },
            len,
            metrics,
        }))
    }

    /// The collector of one segment, if this path takes it.
    fn for_segment(
        self: &Arc<Self>,
        reader: &SegmentReader,
        time: Option<&TimeRange>,
    ) -> tantivy::Result<Option<Fused>> {
        let Some(c) = self.columns(reader, 1, time)? else {
            return Ok(None);
        };
        Ok(Some(Fused {
            dense: Dense::new(self.clone(), c.grid.base, c.len),
            grid: c.grid,
            ts: c.ts,
            metrics: c.metrics,
            slots: Box::new([NONE; BLOCK]),
            raw: Raw::new(),
            pending: Vec::new(),
        }))
    }

    /// The bucket of each document of `docs` with a time inside the segment's grid, as
    /// `f(i, bucket)`.
    #[inline]
    fn slots(
        &self,
        ts: &Values,
        grid: Grid,
        docs: &[DocId],
        raw: &mut Raw,
        mut f: impl FnMut(usize, usize),
    ) {
        let Grid { base, lo, hi } = grid;
        ts.each(docs, raw, |i, t| {
            if t >= lo && t <= hi {
                f(i, (self.pos_i64(t) - base) as usize);
            }
        });
    }
}

/// The columns of `metrics` in `reader`, if each is a single-valued column of numbers or dates
/// (or absent).
fn metric_values(
    reader: &SegmentReader,
    metrics: &[MetricSpec],
) -> tantivy::Result<Option<Vec<Values>>> {
    let mut out = Vec::with_capacity(metrics.len());
    for m in metrics {
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
        out.push(values);
    }
    Ok(Some(out))
}

/// What one segment's pass reads, and its grid there.
struct Columns {
    ts: Values,
    grid: Grid,
    /// Buckets from `base` to the segment's last time (within the bounds).
    len: usize,
    metrics: Vec<Values>,
}

/// A segment's grid: the position of its bucket 0, and the times (nanoseconds, inclusive) it
/// holds. A time outside them is in no bucket.
#[derive(Debug, Clone, Copy)]
struct Grid {
    base: i64,
    lo: f64,
    hi: f64,
}

const NONE: u32 = u32::MAX;

/// The fused collector of one segment.
pub struct Fused {
    dense: Dense,
    grid: Grid,
    ts: Values,
    metrics: Vec<Values>,
    /// Per document of the block being read, its bucket (or [`NONE`]).
    slots: Box<[u32; BLOCK]>,
    raw: Box<Raw>,
    /// Documents collected one at a time, read as a block when it is full.
    pending: Vec<DocId>,
}

impl Blocks for Fused {
    fn pending(&mut self) -> &mut Vec<DocId> {
        &mut self.pending
    }

    fn read_block(&mut self, docs: &[DocId]) {
        let Dense {
            plan,
            counts,
            stats,
            ..
        } = &mut self.dense;
        let width = plan.metrics.len();
        let grid = self.grid;
        for docs in docs.chunks(BLOCK) {
            let slots = &mut self.slots;
            slots[..docs.len()].fill(NONE);
            plan.slots(&self.ts, grid, docs, &mut self.raw, |i, b| {
                counts[b] += 1;
                slots[i] = b as u32;
            });
            for (m, values) in self.metrics.iter().enumerate() {
                values.each(docs, &mut self.raw, |i, v| {
                    let slot = slots[i];
                    if slot != NONE {
                        stats[slot as usize * width + m].collect(v);
                    }
                });
            }
        }
    }
}

impl Fused {
    fn harvest(mut self) -> Dense {
        self.flush();
        self.dense.trimmed()
    }
}
