//! `filters` whose queries each hold the same fused histogram — a dashboard's "requests over
//! time by status class" — collected by the fused pass with one row of buckets per filter.
//!
//! tantivy's `filter` aggregation computes each filter's documents of the segment as a bitset
//! and hands every member to a generic histogram collector of its own. Here the bitsets are
//! the same, and a block of documents has its times (and metrics) read once for all the
//! filters and added into each member's row. Taken for the top-level parts of `filters` (and
//! top-level `filter`s) whose one sub-aggregation is a histogram of the fused pass's shape,
//! the same in each, up to 64 of them.

use std::sync::Arc;

use serde::Deserialize;
use tantivy::aggregation::agg_req::{AggregationVariants, Aggregations};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::query::{EnableScoring, Query};
use tantivy::{DocId, SegmentReader, TantivyError};

use super::columns::{BLOCK, Blocks, Raw, Values};
use super::dense::histogram_part;
use super::serde_form::Part;
use super::{Dense, FusedPlan, Grid, NONE};
use crate::compile::TimeRange;

/// Filters one pass takes at most (a document's filters are a bit mask).
const MAX_PARTS: usize = 64;

/// The filters with their queries, as the planner compiled them for the shard.
pub(crate) type FilterQueries = Vec<(String, Arc<dyn Query>)>;

/// Top-level `filter` aggregations sharing one fused histogram.
pub(crate) struct FilteredPlan {
    /// Each filter's name in tantivy's request, and its query.
    parts: FilterQueries,
    hist: Arc<FusedPlan>,
}

impl std::fmt::Debug for FilteredPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.names().collect();
        f.debug_struct("FilteredPlan")
            .field("parts", &names)
            .field("hist", &self.hist)
            .finish()
    }
}

impl FilteredPlan {
    /// The plan for the top-level `filter`s of `aggs` whose queries the planner compiled
    /// (`queries`) and whose one sub-aggregation is the same fused histogram.
    pub(crate) fn detect(aggs: &Aggregations, queries: &FilterQueries) -> Option<FilteredPlan> {
        let mut names: Vec<&String> = aggs.keys().collect();
        names.sort();
        let mut parts = Vec::new();
        let mut hist: Option<FusedPlan> = None;
        for name in names {
            let agg = &aggs[name];
            if !matches!(agg.agg, AggregationVariants::Filter(_)) || parts.len() == MAX_PARTS {
                continue;
            }
            let Some((_, query)) = queries.iter().find(|(n, _)| n == name) else {
                continue;
            };
            let mut subs = agg.sub_aggregation.iter();
            let (Some((sub_name, sub)), None) = (subs.next(), subs.next()) else {
                continue;
            };
            let Some(plan) = FusedPlan::of(sub_name, sub) else {
                continue;
            };
            match &hist {
                Some(h) if *h != plan => continue,
                Some(_) => {}
                None => hist = Some(plan),
            }
            parts.push((name.clone(), query.clone()));
        }
        Some(FilteredPlan {
            parts,
            hist: Arc::new(hist?),
        })
    }

    /// The names of the `filter` aggregations this plan answers.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().map(|(n, _)| n.as_str())
    }

    /// The collector of one segment, if this path takes it.
    pub(super) fn for_segment(
        self: &Arc<Self>,
        reader: &SegmentReader,
        time: Option<&TimeRange>,
    ) -> tantivy::Result<Option<FilteredFused>> {
        let rows = self.parts.len();
        let Some(c) = self.hist.columns(reader, rows, time)? else {
            return Ok(None);
        };
        let members = self
            .parts
            .iter()
            .map(|(_, query)| members(reader, query.as_ref()))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Some(FilteredFused {
            plan: self.clone(),
            members,
            docs: vec![0; rows],
            grids: (0..rows)
                .map(|_| Dense::new(self.hist.clone(), c.grid.base, c.len))
                .collect(),
            ts: c.ts,
            metrics: c.metrics,
            grid: c.grid,
            masks: Box::new([0; BLOCK]),
            slots: Box::new([NONE; BLOCK]),
            raw: Raw::new(),
            pending: Vec::new(),
        }))
    }
}

/// The documents of `reader` that `query` matches, a bit per document (as tantivy's `filter`
/// aggregation finds them).
pub(super) fn members(reader: &SegmentReader, query: &dyn Query) -> tantivy::Result<Vec<u64>> {
    let weight = query.weight(EnableScoring::disabled_from_schema(reader.schema()))?;
    let mut bits = vec![0u64; (reader.max_doc() as usize).div_ceil(64)];
    // A block of documents at a time (one virtual call per block, not per document).
    weight.for_each_no_score(reader, &mut |docs| {
        for doc in docs {
            bits[*doc as usize / 64] |= 1 << (doc % 64);
        }
    })?;
    Ok(bits)
}

/// Which of `docs` (ascending, at most 64) are in `bits`: bit `i` for `docs[i]`. A block of
/// consecutive documents (a query that matches most of a segment) is read as a window of one
/// or two words, not a bit at a time.
#[inline]
pub(super) fn block_bits(bits: &[u64], docs: &[DocId]) -> u64 {
    let n = docs.len();
    debug_assert!(n <= 64 && docs.is_sorted_by(|a, b| a < b));
    let (Some(&first), Some(&last)) = (docs.first(), docs.last()) else {
        return 0;
    };
    if (last - first) as usize + 1 == n {
        let (word, shift) = (first as usize / 64, first % 64);
        let mut window = bits[word] >> shift;
        if shift > 0
            && let Some(next) = bits.get(word + 1)
        {
            window |= next << (64 - shift);
        }
        return if n == 64 {
            window
        } else {
            window & ((1 << n) - 1)
        };
    }
    docs.iter().enumerate().fold(0, |acc, (i, doc)| {
        acc | (((bits[*doc as usize / 64] >> (doc % 64)) & 1) << i)
    })
}

/// The filters' collector of one segment.
pub(super) struct FilteredFused {
    plan: Arc<FilteredPlan>,
    /// Each filter's documents of the segment, a bit per document.
    members: Vec<Vec<u64>>,
    /// Documents per filter (its bucket's count, whether or not their time is in the grid).
    docs: Vec<u64>,
    /// Each filter's histogram.
    grids: Vec<Dense>,
    ts: Values,
    metrics: Vec<Values>,
    grid: Grid,
    /// Per document of the block being read, the filters it is in and its bucket (or [`NONE`]).
    masks: Box<[u64; BLOCK]>,
    slots: Box<[u32; BLOCK]>,
    raw: Box<Raw>,
    /// Documents collected one at a time, read as a block when it is full.
    pending: Vec<DocId>,
}

impl Blocks for FilteredFused {
    fn pending(&mut self) -> &mut Vec<DocId> {
        &mut self.pending
    }

    fn read_block(&mut self, docs: &[DocId]) {
        let hist = &self.plan.hist;
        let width = hist.metrics.len();
        for docs in docs.chunks(BLOCK) {
            let n = docs.len();
            let (masks, slots) = (&mut self.masks, &mut self.slots);
            masks[..n].fill(0);
            slots[..n].fill(NONE);
            hist.slots(&self.ts, self.grid, docs, &mut self.raw, |i, b| {
                slots[i] = b as u32;
            });
            for (p, bits) in self.members.iter().enumerate() {
                let counts = &mut self.grids[p].counts;
                let mut word = block_bits(bits, docs);
                self.docs[p] += u64::from(word.count_ones());
                while word != 0 {
                    let i = word.trailing_zeros() as usize;
                    word &= word - 1;
                    masks[i] |= 1 << p;
                    if slots[i] != NONE {
                        counts[slots[i] as usize] += 1;
                    }
                }
            }
            for (m, values) in self.metrics.iter().enumerate() {
                let grids = &mut self.grids;
                values.each(docs, &mut self.raw, |i, v| {
                    let slot = slots[i];
                    if slot == NONE {
                        return;
                    }
                    let mut mask = masks[i];
                    while mask != 0 {
                        let p = mask.trailing_zeros() as usize;
                        mask &= mask - 1;
                        grids[p].stats[slot as usize * width + m].collect(v);
                    }
                });
            }
        }
    }
}

impl FilteredFused {
    /// tantivy's intermediate result of each `filter`: its documents and its histogram.
    pub(super) fn harvest(mut self) -> tantivy::Result<IntermediateAggregationResults> {
        self.flush();
        let hist_name = &self.plan.hist.name;
        let entries = self
            .plan
            .parts
            .iter()
            .zip(self.docs.iter().zip(&self.grids))
            .map(|((name, _), (docs, grid))| {
                let hist = vec![(Part::Text(hist_name.clone()), histogram_part(grid))];
                (Part::Text(name.clone()), filter_part(*docs, hist))
            })
            .collect();
        let all = Part::Owned(vec![Part::Map(entries)]);
        IntermediateAggregationResults::deserialize(&all)
            .map_err(|e| TantivyError::InternalError(format!("fused filters: {e}")))
    }
}

/// tantivy's `IntermediateBucketResult::Filter { doc_count, sub_aggregations }` in serde form.
pub(super) fn filter_part(docs: u64, subs: Vec<(Part<'static>, Part<'static>)>) -> Part<'static> {
    let filter = Part::Variant(
        "Filter",
        Box::new(Part::Owned(vec![
            Part::U(docs),
            Part::Owned(vec![Part::Map(subs)]),
        ])),
    );
    Part::Variant("Bucket", Box::new(filter))
}
