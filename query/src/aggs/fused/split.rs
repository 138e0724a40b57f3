//! A `date_histogram` split by a `terms`, in either nesting — a `terms` over the histogram
//! (Grafana's "group by", Discover's histogram by level) or the histogram over a `terms`
//! (Kibana's split series) — collected by the fused pass into one grid of terms × time buckets.
//!
//! tantivy's collector puts each document into its bucket, buffers it there, and then runs the
//! sub-aggregation's collector per bucket; here a block of documents is read once — the term
//! column, the timestamps, the metrics — and added into the grid, which is then written out in
//! the nesting asked for.
//!
//! Taken only where tantivy keeps every term of the segment (no more distinct values than its
//! `segment_size`, checked from the column's range of stored values), so the two give the same
//! buckets and counts, with `sum_other_doc_count` and the error bound 0; string and integer
//! columns with at most one value per document; the `terms` with no `missing`,
//! `include`/`exclude` or `min_doc_count` other than 1, and with nothing but the histogram under
//! it (or, under the histogram, nothing under it).

use std::sync::Arc;

use serde::Deserialize;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::columnar::{ColumnType, MonotonicallyMappableToU64};
use tantivy::index::SegmentId;
use tantivy::{DocId, SegmentReader, TantivyError};

use super::columns::{BLOCK, Blocks, Raw, Values, one_column, single_column};
use super::dense::histogram_part;
use super::serde_form::Part;
use super::{Dense, FusedPlan, Grid, NONE};
use crate::aggs::terms::{EXACT_UP_TO, plain_terms};
use crate::compile::TimeRange;
use crate::memo::Memo;

/// The key columns this path reads.
const KEYS: [ColumnType; 3] = [ColumnType::Str, ColumnType::I64, ColumnType::U64];

/// A `terms` and a fused histogram, one under the other.
#[derive(Debug, PartialEq)]
pub(crate) struct SplitPlan {
    /// The name of the aggregation on top (the `terms`, or the histogram over it).
    name: String,
    column: String,
    /// tantivy's `segment_size`: a segment with more distinct values is cut to it.
    keep: u64,
    hist: Arc<FusedPlan>,
    /// `Some(name)`: the histogram is on top, with the `terms` named so as its only
    /// sub-aggregation; `None`: the `terms` is on top.
    terms_under: Option<String>,
}

impl SplitPlan {
    /// The plan for the first of `aggs` (top level, by name) of the shape this path answers.
    pub(crate) fn detect(aggs: &Aggregations) -> Option<SplitPlan> {
        super::first_by_name(aggs, Self::of)
    }

    fn of(name: &str, agg: &Aggregation) -> Option<SplitPlan> {
        Self::terms_over(name, agg).or_else(|| Self::histogram_over(name, agg))
    }

    /// A `terms` with one fused histogram under it.
    fn terms_over(name: &str, agg: &Aggregation) -> Option<SplitPlan> {
        let (sub_name, sub) = only_sub(agg)?;
        let (column, keep) = split_terms(agg)?;
        Some(SplitPlan {
            name: name.to_string(),
            column,
            keep,
            hist: Arc::new(FusedPlan::of(sub_name, sub)?),
            terms_under: None,
        })
    }

    /// A histogram with one `terms` under it, and nothing under that.
    fn histogram_over(name: &str, agg: &Aggregation) -> Option<SplitPlan> {
        let (sub_name, sub) = only_sub(agg)?;
        if !sub.sub_aggregation.is_empty() {
            return None;
        }
        let (column, keep) = split_terms(sub)?;
        let alone = Aggregation {
            agg: agg.agg.clone(),
            sub_aggregation: Aggregations::default(),
        };
        Some(SplitPlan {
            name: name.to_string(),
            column,
            keep,
            hist: Arc::new(FusedPlan::of(name, &alone)?),
            terms_under: Some(sub_name.clone()),
        })
    }

    /// The `terms` aggregation's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The collector of one segment, if this path takes it.
    pub(super) fn for_segment(
        self: &Arc<Self>,
        reader: &SegmentReader,
        time: Option<&TimeRange>,
    ) -> tantivy::Result<Option<SplitFused>> {
        if !one_column(reader, &self.column)? {
            return Ok(None);
        }
        let Some(Some((column, kind))) = single_column(reader, &self.column, &KEYS)? else {
            return Ok(None);
        };
        let dictionary = match kind {
            ColumnType::Str => match reader.fast_fields().str(&self.column)? {
                Some(c) => Some(c),
                None => return Ok(None),
            },
            _ => None,
        };
        let Some(keys) = Values::of(column, kind) else {
            return Ok(None);
        };
        let Some((min, max)) = keys.raw_bounds() else {
            return Ok(None);
        };
        let Some((rows, table)) = Rows::of(reader, &self.column, &keys, min, max, self.keep) else {
            return Ok(None);
        };
        let Some(c) = self.hist.columns(reader, rows, time)? else {
            return Ok(None);
        };
        Ok(Some(SplitFused {
            plan: self.clone(),
            keys,
            table,
            kind,
            dictionary,
            min,
            ts: c.ts,
            metrics: c.metrics,
            grid: c.grid,
            len: c.len,
            docs: vec![0; rows],
            grids: (0..rows).map(|_| None).collect(),
            totals: self.terms_under.as_ref().map(|_| vec![0; c.len]),
            rows: Box::new([NONE; BLOCK]),
            slots: Box::new([NONE; BLOCK]),
            raw: Raw::new(),
            pending: Vec::new(),
        }))
    }
}

/// `agg`'s one sub-aggregation, if it has exactly one.
fn only_sub(agg: &Aggregation) -> Option<(&String, &Aggregation)> {
    let mut subs = agg.sub_aggregation.iter();
    let first = subs.next()?;
    subs.next().is_none().then_some(first)
}

/// The column of a `terms` this path takes, and how many of its terms tantivy keeps per
/// segment (its `TermsAggregationInternal::from_req`).
fn split_terms(agg: &Aggregation) -> Option<(String, u64)> {
    let AggregationVariants::Terms(t) = &agg.agg else {
        return None;
    };
    if !plain_terms(t) || t.min_doc_count.unwrap_or(1) != 1 {
        return None;
    }
    let size = t.size.unwrap_or(10);
    let keep = t.segment_size.unwrap_or(size.saturating_mul(10)).max(size);
    Some((t.field.clone(), u64::from(keep)))
}

/// The split's collector of one segment.
pub(super) struct SplitFused {
    plan: Arc<SplitPlan>,
    keys: Values,
    /// The row of each stored value from `min` when the values are sparse (`None`: the
    /// value's offset from `min` is its row).
    table: Option<Table>,
    kind: ColumnType,
    dictionary: Option<tantivy::columnar::StrColumn>,
    /// The stored value of row 0.
    min: u64,
    ts: Values,
    metrics: Vec<Values>,
    grid: Grid,
    len: usize,
    /// Documents per row (the term bucket's count, whether or not its time is in the grid).
    docs: Vec<u64>,
    /// Each row's histogram, made when its term is first seen.
    grids: Vec<Option<Dense>>,
    /// With the histogram on top: the documents of each time bucket, with a term or not.
    totals: Option<Vec<u64>>,
    /// Per document of the block being read, its row and its bucket (or [`NONE`]).
    rows: Box<[u32; BLOCK]>,
    slots: Box<[u32; BLOCK]>,
    raw: Box<Raw>,
    /// Documents collected one at a time, read as a block when it is full.
    pending: Vec<DocId>,
}

impl Blocks for SplitFused {
    fn pending(&mut self) -> &mut Vec<DocId> {
        &mut self.pending
    }

    fn read_block(&mut self, docs: &[DocId]) {
        for docs in docs.chunks(BLOCK) {
            let n = docs.len();
            let (rows, slots) = (&mut self.rows, &mut self.slots);
            rows[..n].fill(NONE);
            slots[..n].fill(NONE);
            let min = self.min;
            match &self.table {
                None => self
                    .keys
                    .each_raw(docs, &mut self.raw, |i, v| rows[i] = (v - min) as u32),
                Some(table) => self.keys.each_raw(docs, &mut self.raw, |i, v| {
                    rows[i] = table.1[(v - min) as usize]
                }),
            }
            let hist = &self.plan.hist;
            hist.slots(&self.ts, self.grid, docs, &mut self.raw, |i, b| {
                slots[i] = b as u32;
            });
            let width = hist.metrics.len();
            if let Some(totals) = &mut self.totals {
                for &slot in &slots[..n] {
                    if slot != NONE {
                        totals[slot as usize] += 1;
                    }
                }
            }
            for i in 0..n {
                let row = rows[i];
                if row == NONE {
                    continue;
                }
                self.docs[row as usize] += 1;
                if slots[i] == NONE {
                    continue;
                }
                let grid = self.grids[row as usize]
                    .get_or_insert_with(|| Dense::new(hist.clone(), self.grid.base, self.len));
                grid.counts[slots[i] as usize] += 1;
            }
            for (m, values) in self.metrics.iter().enumerate() {
                let grids = &mut self.grids;
                values.each(docs, &mut self.raw, |i, v| {
                    let (row, slot) = (rows[i], slots[i]);
                    if row != NONE
                        && slot != NONE
                        && let Some(grid) = &mut grids[row as usize]
                    {
                        grid.stats[slot as usize * width + m].collect(v);
                    }
                });
            }
        }
    }
}

impl SplitFused {
    /// tantivy's intermediate result of the `terms`: a bucket per term with documents, each
    /// holding its histogram.
    pub(super) fn harvest(mut self) -> tantivy::Result<IntermediateAggregationResults> {
        self.flush();
        if let Some(totals) = self.totals.take() {
            return self.harvest_histogram(&totals);
        }
        let empty = Dense::new(self.plan.hist.clone(), self.grid.base, 0);
        let seen: Vec<usize> = (0..self.docs.len()).filter(|r| self.docs[*r] > 0).collect();
        let keys = self.keys_of(&seen)?;
        let mut entries = Vec::with_capacity(seen.len());
        for (row, key) in seen.into_iter().zip(keys) {
            let grid = self.grids[row].as_ref().unwrap_or(&empty);
            let hist = Part::Map(vec![(
                Part::Text(self.plan.hist.name.clone()),
                histogram_part(grid),
            )]);
            let entry = Part::Owned(vec![Part::U(self.docs[row]), Part::Owned(vec![hist])]);
            entries.push((key, entry));
        }
        // IntermediateTermBucketResult { entries, sum_other_doc_count: 0, error bound: 0 }.
        let buckets = Part::Owned(vec![Part::Map(entries), Part::U(0), Part::U(0)]);
        let terms = Part::Variant("Terms", Box::new(Part::Owned(vec![buckets])));
        let result = Part::Variant("Bucket", Box::new(terms));
        let all = Part::Owned(vec![Part::Map(vec![(
            Part::Text(self.plan.name.clone()),
            result,
        )])]);
        IntermediateAggregationResults::deserialize(&all)
            .map_err(|e| TantivyError::InternalError(format!("a fused split: {e}")))
    }

    /// tantivy's intermediate result of the histogram on top: a bucket per time with
    /// documents, each holding its `terms` (`totals`: each time bucket's documents).
    fn harvest_histogram(self, totals: &[u64]) -> tantivy::Result<IntermediateAggregationResults> {
        let terms_name = self.plan.terms_under.clone().unwrap_or_default();
        let hist = &self.plan.hist;
        let seen: Vec<usize> = (0..self.docs.len())
            .filter(|r| self.grids[*r].is_some())
            .collect();
        let keys = self.keys_of(&seen)?;
        let mut buckets = Vec::new();
        for (slot, &doc_count) in totals.iter().enumerate() {
            if doc_count == 0 {
                continue;
            }
            let mut entries = Vec::new();
            for (row, key) in seen.iter().zip(&keys) {
                let count = self.grids[*row].as_ref().map_or(0, |g| g.counts[slot]);
                if count > 0 {
                    // IntermediateTermBucketEntry { doc_count, no sub-aggregations }.
                    let entry =
                        Part::Owned(vec![Part::U(count), Part::Owned(vec![Part::Map(vec![])])]);
                    entries.push((key.clone(), entry));
                }
            }
            // IntermediateTermBucketResult { entries, sum_other_doc_count: 0, error bound: 0 }.
            let terms = Part::Owned(vec![Part::Map(entries), Part::U(0), Part::U(0)]);
            let terms = Part::Variant(
                "Bucket",
                Box::new(Part::Variant("Terms", Box::new(Part::Owned(vec![terms])))),
            );
            let sub = Part::Owned(vec![Part::Map(vec![(
                Part::Text(terms_name.clone()),
                terms,
            )])]);
            let pos = (self.grid.base + slot as i64) as f64;
            buckets.push(Part::Owned(vec![
                Part::F(pos * hist.interval + hist.offset),
                Part::U(doc_count),
                sub,
            ]));
        }
        let histogram = Part::Variant(
            "Bucket",
            Box::new(Part::Variant(
                "Histogram",
                Box::new(Part::Owned(vec![Part::B(true), Part::Owned(buckets)])),
            )),
        );
        let all = Part::Owned(vec![Part::Map(vec![(
            Part::Text(self.plan.name.clone()),
            histogram,
        )])]);
        IntermediateAggregationResults::deserialize(&all)
            .map_err(|e| TantivyError::InternalError(format!("a fused split series: {e}")))
    }

    /// The stored value of each row.
    fn values_of(&self, rows: &[usize]) -> Vec<u64> {
        match &self.table {
            None => rows.iter().map(|r| self.min + *r as u64).collect(),
            Some(table) => {
                let mut values = vec![0; self.docs.len()];
                for (offset, row) in table.1.iter().enumerate() {
                    if *row != NONE {
                        values[*row as usize] = self.min + offset as u64;
                    }
                }
                rows.iter().map(|r| values[*r]).collect()
            }
        }
    }

    /// The keys of `rows` (ascending), as tantivy's terms collector writes them.
    fn keys_of(&self, rows: &[usize]) -> tantivy::Result<Vec<Part<'static>>> {
        let raw = self.values_of(rows).into_iter();
        Ok(match self.kind {
            ColumnType::Str => {
                let Some(column) = &self.dictionary else {
                    return Err(TantivyError::InternalError("a split without terms".into()));
                };
                let ords: Vec<u64> = raw.collect();
                let mut keys = Vec::with_capacity(ords.len());
                let mut bad = false;
                column.dictionary().sorted_ords_to_term_cb(
                    &ords,
                    |bytes| match std::str::from_utf8(bytes) {
                        Ok(s) => keys.push(key("Str", Part::Text(s.to_string()))),
                        Err(_) => bad = true,
                    },
                )?;
                if bad || keys.len() != ords.len() {
                    return Err(TantivyError::InternalError(
                        "a split's term is not in its dictionary".into(),
                    ));
                }
                keys
            }
            // tantivy normalizes a number key to an i64 where it fits.
            ColumnType::I64 => raw.map(|v| key("I64", Part::I(i64::from_u64(v)))).collect(),
            _ => raw
                .map(|v| match i64::try_from(v) {
                    Ok(i) => key("I64", Part::I(i)),
                    Err(_) => key("U64", Part::U(v)),
                })
                .collect(),
        })
    }
}

/// How a key column's stored values become rows of the grid.
struct Rows;

/// A sparse key column's distinct values: how many, and the row of each stored value (less
/// the smallest).
type Table = Arc<(usize, Vec<u32>)>;

/// The distinct values of sparse key columns, per segment and column (`None`: too many values
/// for one), as [`Rows::table`] counted them: a segment never changes, and Discover asks for the
/// same split on every search. 256 kept (each at most [`Rows::MAX_TABLE`] × 4 bytes).
static TABLES: Memo<(SegmentId, String), Option<Table>> = Memo::new(256);

impl Rows {
    /// Widest span of stored values mapped through a table.
    const MAX_TABLE: u64 = 1 << 16;

    /// The number of rows and, for sparse values, the table from stored value (less `min`) to
    /// row; `None` when the column has more than `keep` distinct values (tantivy would cut
    /// them) or spans too wide a range to map.
    fn of(
        reader: &SegmentReader,
        column: &str,
        keys: &Values,
        min: u64,
        max: u64,
        keep: u64,
    ) -> Option<(usize, Option<Table>)> {
        let span = max.checked_sub(min)?.checked_add(1)?;
        if span <= keep {
            return Some((span as usize, None));
        }
        if span > Self::MAX_TABLE {
            return None;
        }
        let table = TABLES.get_or((reader.segment_id(), column.to_string()), || {
            Self::table(keys, min, span).map(Arc::new)
        })?;
        (table.0 as u64 <= keep).then(|| (table.0, Some(table)))
    }

    /// The rows of sparse values (HTTP statuses 200–504), in the values' order, counted by
    /// one pass over the column; `None` past [`EXACT_UP_TO`] distinct values.
    fn table(keys: &Values, min: u64, span: u64) -> Option<(usize, Vec<u32>)> {
        let mut table = vec![NONE; span as usize];
        let mut rows = 0u64;
        keys.each_stored(|v| {
            let slot = &mut table[(v - min) as usize];
            if *slot == NONE {
                *slot = 0;
                rows += 1;
            }
            rows <= EXACT_UP_TO
        });
        if rows > EXACT_UP_TO {
            return None;
        }
        for (row, slot) in table.iter_mut().filter(|s| **s != NONE).enumerate() {
            *slot = row as u32;
        }
        Some((rows as usize, table))
    }
}

fn key(variant: &'static str, value: Part<'static>) -> Part<'static> {
    Part::Variant(variant, Box::new(value))
}
