//! A `terms` on a string field with plain metrics and `filter`s under it — a dashboard's table
//! of top values ("top clients: requests, bytes, share of errors"), a top-values panel ordered
//! by a metric — collected by the fused pass with one row per term ordinal.
//!
//! tantivy's collector puts each document into its term's bucket, buffers it there, and then
//! runs each sub-aggregation's collector over every bucket's documents, for every term of the
//! segment (20,000 client addresses cost 4× the `terms` alone). Here a block of documents is
//! read once — the term ordinals, the metric columns, each filter's bits — and added into
//! dense rows indexed by ordinal.
//!
//! Each segment then keeps what tantivy's collector keeps: its `segment_size` best terms,
//! chosen by the same call on the same sequence (the terms with documents, by ordinal), so ties
//! at the cut fall the same way, with the same `sum_other_doc_count` and error bound. Taken for
//! single-valued string columns (the one column of the field) with no `missing`,
//! `include`/`exclude` or `min_doc_count` other than 1, ordered by count, key or one of its
//! metrics (not by a sum or average of floats, which tantivy adds in lanes), whose sub-aggregations are all metrics of the fused pass's kinds or `filter`s with
//! nothing under them.

use std::cmp::Reverse;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::bucket::{MAX_NUM_TERMS_FOR_PAGED_MAP, Order, OrderTarget};
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResults, IntermediateKey,
};
use tantivy::columnar::{ColumnType, StrColumn};
use tantivy::{DocId, SegmentReader, TantivyError};

use super::columns::{BLOCK, Blocks, Raw, Values, one_column, single_column};
use super::dense::{Stats, metric_part};
use super::filtered::{FilterQueries, block_bits, filter_part, members};
use super::serde_form::Part;
use super::{Kind, MAX_DENSE_BYTES, MetricSpec, NONE, metric, metric_values, physical};

// tantivy lists a segment's terms by ordinal (which the cut below relies on) in the storages
// it uses below `MAX_NUM_TERMS_FOR_PAGED_MAP` ordinals; a segment this pass takes has fewer
// (at least 8 bytes per term within `MAX_DENSE_BYTES`).
const _: () = assert!((MAX_DENSE_BYTES / 8) as u64 <= MAX_NUM_TERMS_FOR_PAGED_MAP);

/// How a segment's terms are ranked before its cut.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rank {
    Count,
    Key,
    /// By the metric at this index, with tantivy's property of it (`""` for a plain metric).
    Metric(usize, &'static str),
}

/// A `terms` with metrics and filters under it.
#[derive(Debug)]
pub(crate) struct TermsPlan {
    name: String,
    column: String,
    /// tantivy's `segment_size`.
    keep: usize,
    rank: Rank,
    desc: bool,
    metrics: Vec<MetricSpec>,
    /// The `filter`s under it: their names in the request, and their queries.
    filters: FilterQueries,
}

/// A `stats` property tantivy orders by.
fn property(p: &str) -> Option<&'static str> {
    ["count", "sum", "min", "max", "avg"]
        .into_iter()
        .find(|q| *q == p)
}

impl TermsPlan {
    /// The plan for the first of `aggs` (top level, by name) of the shape this path answers;
    /// `queries` holds the compiled queries of the `filter`s under top-level aggregations, as
    /// `{parent}>{name}`.
    pub(crate) fn detect(aggs: &Aggregations, queries: &FilterQueries) -> Option<TermsPlan> {
        super::first_by_name(aggs, |name, agg| Self::of(name, agg, queries))
    }

    fn of(name: &str, agg: &Aggregation, queries: &FilterQueries) -> Option<TermsPlan> {
        let AggregationVariants::Terms(t) = &agg.agg else {
            return None;
        };
        if t.missing.is_some()
            || t.include.is_some()
            || t.exclude.is_some()
            || t.min_doc_count.unwrap_or(1) != 1
            || !physical(&t.field)
            || agg.sub_aggregation.is_empty()
        {
            return None;
        }
        let mut metrics = Vec::new();
        let mut filters = Vec::new();
        let mut subs: Vec<(&String, &Aggregation)> = agg.sub_aggregation.iter().collect();
        subs.sort_by(|a, b| a.0.cmp(b.0));
        for (sub_name, sub) in subs {
            if let AggregationVariants::Filter(_) = &sub.agg {
                let key = format!("{name}>{sub_name}");
                let (_, query) = queries.iter().find(|(n, _)| *n == key)?;
                if !sub.sub_aggregation.is_empty() {
                    return None;
                }
                filters.push((sub_name.clone(), query.clone()));
            } else {
                metrics.push(metric(sub_name, sub)?);
            }
        }
        let order = t.order.clone().unwrap_or_default();
        let rank = match &order.target {
            OrderTarget::Count => Rank::Count,
            OrderTarget::Key => Rank::Key,
            OrderTarget::SubAggregation(path) => {
                let (target, prop) = path.split_once('.').unwrap_or((path.as_str(), ""));
                let index = metrics.iter().position(|m| m.name == target)?;
                let prop = match (metrics[index].kind, prop) {
                    (Kind::Stats, p) => property(p)?,
                    (_, "") => "",
                    _ => return None,
                };
                Rank::Metric(index, prop)
            }
        };
        // tantivy's `TermsAggregationInternal::from_req`.
        let size = t.size.unwrap_or(10);
        let keep = t.segment_size.unwrap_or(size.saturating_mul(10)).max(size);
        Some(TermsPlan {
            name: name.to_string(),
            column: t.field.clone(),
            keep: keep as usize,
            rank,
            desc: order.order == Order::Desc,
            metrics,
            filters,
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
    ) -> tantivy::Result<Option<TermsFused>> {
        if !one_column(reader, &self.column)? {
            return Ok(None);
        }
        let Some(Some((ords, ColumnType::Str))) =
            single_column(reader, &self.column, &[ColumnType::Str])?
        else {
            return Ok(None);
        };
        let Some(dictionary) = reader.fast_fields().str(&self.column)? else {
            return Ok(None);
        };
        let Some(keys) = Values::of(ords, ColumnType::Str) else {
            return Ok(None);
        };
        let terms = dictionary.dictionary().num_terms();
        let (width, parts) = (self.metrics.len(), self.filters.len());
        let per_term = 4 + width * std::mem::size_of::<Stats>() + parts * 4;
        if terms.saturating_mul(per_term) > MAX_DENSE_BYTES {
            return Ok(None);
        }
        let Some(metrics) = metric_values(reader, &self.metrics)? else {
            return Ok(None);
        };
        // tantivy sums a bucket's values in lanes, so a sum of floats can differ from this
        // pass's in the last bits: ranked by one, the segment is left to tantivy (sums of
        // integers are exact either way).
        if let Rank::Metric(m, prop) = self.rank {
            let summed = matches!(self.metrics[m].kind, Kind::Sum | Kind::Avg)
                || matches!(prop, "sum" | "avg");
            if summed && metrics[m].kind() == ColumnType::F64 {
                return Ok(None);
            }
        }
        let members = self
            .filters
            .iter()
            .map(|(_, query)| members(reader, query.as_ref()))
            .collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Some(TermsFused {
            plan: self.clone(),
            keys,
            dictionary,
            metrics,
            members,
            counts: vec![0; terms],
            stats: vec![Stats::default(); terms * width],
            hits: vec![0; terms * parts],
            rows: Box::new([NONE; BLOCK]),
            raw: Raw::new(),
            pending: Vec::new(),
        }))
    }
}

/// The collector of one segment.
pub(super) struct TermsFused {
    plan: Arc<TermsPlan>,
    keys: Values,
    dictionary: StrColumn,
    metrics: Vec<Values>,
    /// Each filter's documents of the segment, a bit per document.
    members: Vec<Vec<u64>>,
    /// Documents per term ordinal (tantivy counts a term's documents in a `u32` too).
    counts: Vec<u32>,
    /// Per term ordinal, one [`Stats`] per metric.
    stats: Vec<Stats>,
    /// Per term ordinal, the documents in each filter.
    hits: Vec<u32>,
    /// Per document of the block being read, its term ordinal (or [`NONE`]).
    rows: Box<[u32; BLOCK]>,
    raw: Box<Raw>,
    pending: Vec<DocId>,
}

impl Blocks for TermsFused {
    fn pending(&mut self) -> &mut Vec<DocId> {
        &mut self.pending
    }

    fn read_block(&mut self, docs: &[DocId]) {
        let (width, parts) = (self.metrics.len(), self.members.len());
        for docs in docs.chunks(BLOCK) {
            let n = docs.len();
            let rows = &mut self.rows;
            rows[..n].fill(NONE);
            let counts = &mut self.counts;
            self.keys.each_raw(docs, &mut self.raw, |i, ord| {
                if let Some(c) = counts.get_mut(ord as usize) {
                    *c += 1;
                    rows[i] = ord as u32;
                }
            });
            for (m, values) in self.metrics.iter().enumerate() {
                let stats = &mut self.stats;
                values.each(docs, &mut self.raw, |i, v| {
                    let row = rows[i];
                    if row != NONE {
                        stats[row as usize * width + m].collect(v);
                    }
                });
            }
            for (p, bits) in self.members.iter().enumerate() {
                let mut word = block_bits(bits, docs);
                while word != 0 {
                    let row = rows[word.trailing_zeros() as usize];
                    word &= word - 1;
                    if row != NONE {
                        self.hits[row as usize * parts + p] += 1;
                    }
                }
            }
        }
    }
}

/// One term's entry as tantivy's segment collector holds it before its cut: the ordinal and
/// a `Bucket { count, bucket_id }` (the same size and layout, so the cut's sort takes the same
/// path over the same sequence).
type Entry = (u64, (u32, u32));

impl TermsFused {
    /// The segment's `terms` result in tantivy's intermediate form.
    pub(super) fn harvest(mut self) -> tantivy::Result<IntermediateAggregationResults> {
        self.flush();
        let plan = self.plan.clone();
        let mut entries: Vec<Entry> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(ord, c)| (ord as u64, (*c, ord as u32)))
            .collect();
        let (before_cut, other) = self.cut(&mut entries);
        // The kept terms, by ordinal: their keys are read in one pass over the dictionary.
        entries.sort_unstable_by_key(|e| e.0);
        let ords: Vec<u64> = entries.iter().map(|e| e.0).collect();
        let mut terms = Vec::with_capacity(entries.len());
        let mut bad = false;
        self.dictionary
            .dictionary()
            .sorted_ords_to_term_cb(&ords, |bytes| match std::str::from_utf8(bytes) {
                Ok(term) => terms.push(term.to_string()),
                Err(_) => bad = true,
            })?;
        if bad || terms.len() != ords.len() {
            return Err(TantivyError::InternalError(
                "a fused terms' ordinal is not in its dictionary".into(),
            ));
        }
        // tantivy lists a segment's buckets in the order of its hash map of keys (filled by
        // ordinal). That order decides which of the buckets tied on a metric a final cut keeps
        // (it breaks ties on counts by key, but not on metrics), so it is followed here.
        let mut order: FxHashMap<IntermediateKey, usize> =
            FxHashMap::with_capacity_and_hasher(terms.len(), Default::default());
        for (i, term) in terms.iter().enumerate() {
            order.insert(IntermediateKey::Str(term.clone()), i);
        }
        let mut out = Vec::with_capacity(entries.len());
        for (_, i) in order {
            out.push((
                Part::Variant("Str", Box::new(Part::Text(std::mem::take(&mut terms[i])))),
                self.bucket(&entries[i]),
            ));
        }
        // IntermediateTermBucketResult { entries, sum_other_doc_count, error bound }.
        let buckets = Part::Owned(vec![Part::Map(out), Part::U(other), Part::U(before_cut)]);
        let terms = Part::Variant("Terms", Box::new(Part::Owned(vec![buckets])));
        let all = Part::Owned(vec![Part::Map(vec![(
            Part::Text(plan.name.clone()),
            Part::Variant("Bucket", Box::new(terms)),
        )])]);
        IntermediateAggregationResults::deserialize(&all)
            .map_err(|e| TantivyError::InternalError(format!("a fused terms: {e}")))
    }

    /// tantivy's cut of a segment's terms to its `segment_size` best (`into_intermediate_bucket_
    /// result` and `cut_off_buckets`): the count of the first term cut (the error bound) and the
    /// documents of all those cut.
    fn cut(&self, entries: &mut Vec<Entry>) -> (u64, u64) {
        let plan = &self.plan;
        let keep = plan.keep;
        let mut total = None;
        if entries.len() > keep {
            match plan.rank {
                // The entries are in ordinal order, the terms' order.
                Rank::Key if plan.desc => entries.reverse(),
                Rank::Key => {}
                Rank::Metric(m, prop) => {
                    let mut keyed: Vec<(f64, Entry)> = entries
                        .iter()
                        .map(|e| (self.metric_value(e.0 as usize, m, prop).unwrap_or(0.0), *e))
                        .collect();
                    keyed.select_nth_unstable_by(keep, |a, b| {
                        let (a, b) = if plan.desc { (b, a) } else { (a, b) };
                        a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal)
                    });
                    *entries = keyed.into_iter().map(|(_, e)| e).collect();
                }
                Rank::Count => {
                    let docs: u64 = entries.iter().map(|e| u64::from(e.1.0)).sum();
                    total = Some(docs);
                    // tantivy sorts when most terms have one or two documents.
                    let many_alike = docs < entries.len() as u64 * 2;
                    match (plan.desc, many_alike) {
                        (true, true) => entries.sort_unstable_by_key(|e| Reverse(e.1.0)),
                        (true, false) => {
                            entries.select_nth_unstable_by_key(keep, |e| Reverse(e.1.0));
                        }
                        (false, true) => entries.sort_unstable_by_key(|e| e.1.0),
                        (false, false) => {
                            entries.select_nth_unstable_by_key(keep, |e| e.1.0);
                        }
                    }
                }
            }
        } else if plan.rank == Rank::Key && plan.desc {
            entries.reverse();
        }
        let before_cut = entries.get(keep).map_or(0, |e| u64::from(e.1.0));
        let other = match total {
            Some(total) => entries.get(..keep).map_or(0, |kept| {
                total - kept.iter().map(|e| u64::from(e.1.0)).sum::<u64>()
            }),
            None => entries
                .get(keep..)
                .map_or(0, |cut| cut.iter().map(|e| u64::from(e.1.0)).sum()),
        };
        entries.truncate(keep);
        (before_cut, other)
    }

    /// tantivy's `compute_metric_value` of metric `m` in the row of ordinal `ord`.
    fn metric_value(&self, ord: usize, m: usize, prop: &str) -> Option<f64> {
        let s = &self.stats[ord * self.metrics.len() + m];
        let prop = match (self.plan.metrics[m].kind, prop) {
            (Kind::Stats, p) => p,
            (Kind::Sum, _) => "sum",
            (Kind::Count, _) => "count",
            (Kind::Min, _) => "min",
            (Kind::Max, _) => "max",
            (Kind::Avg, _) => "avg",
        };
        s.value(prop)
    }

    /// A kept term's bucket: its documents and its sub-aggregations.
    fn bucket(&self, entry: &Entry) -> Part<'static> {
        let (ord, (docs, _)) = (entry.0 as usize, entry.1);
        let (width, parts) = (self.metrics.len(), self.members.len());
        let mut subs: Vec<(Part<'static>, Part<'static>)> = self
            .plan
            .metrics
            .iter()
            .zip(&self.stats[ord * width..(ord + 1) * width])
            .map(|(spec, s)| metric_part(spec, s))
            .collect();
        for (p, (name, _)) in self.plan.filters.iter().enumerate() {
            let hits = u64::from(self.hits[ord * parts + p]);
            subs.push((Part::Text(name.clone()), filter_part(hits, Vec::new())));
        }
        Part::Owned(vec![
            Part::U(u64::from(docs)),
            Part::Owned(vec![Part::Map(subs)]),
        ])
    }
}
