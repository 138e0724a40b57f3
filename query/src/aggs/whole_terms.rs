//! `terms` over a segment the query matches whole, counted straight from the column.
//!
//! When every document of a segment matches (the query is `match_all`, or a time range the
//! segment lies inside), the segment has no deleted documents and the request is one `terms`
//! aggregation on a string field, its counts are how often each term ordinal occurs among the
//! column's values: one tight pass over the packed ordinals, with no document ids, no per-document
//! lookups and no buffering — the work tantivy's collector does per matching document.
//! OpenSearch shortcuts the same request (from its term dictionary); Hydrant keeps dynamic
//! exact values in columns only, so the column is where the counts are.
//!
//! Taken only for single-valued columns (the counts are then the documents per value exactly)
//! with at most [`EXACT_UP_TO`] distinct values (every one is kept, as the collector keeps
//! them then too).
//!
//! A lone `cardinality` on a string field is read the same way: the terms some value of the
//! column holds, each added once to tantivy's sketch, instead of each document's. And a lone
//! `percentiles` on a number: the column's values go into tantivy's sketch without a document
//! visited (`whole_percentiles.rs`).

use datasketches::hll::{Coupon, HllSketch, HllType};
use serde::Deserialize;
use tantivy::aggregation::agg_req::{AggregationVariants, Aggregations};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::columnar::{ColumnIndex, DynamicColumn, StrColumn};
use tantivy::{SegmentReader, TantivyError};

use super::fused::serde_form::Part;
use super::terms::{EXACT_UP_TO, plain_terms};

/// Ordinals read per call into the column.
const BLOCK: usize = 4096;

/// A `terms` (or a `cardinality`) aggregation this path can answer.
#[derive(Debug)]
pub(crate) struct WholeTerms {
    /// The aggregation's name in tantivy's request.
    name: String,
    /// The column tantivy's collector would read.
    column: String,
    what: What,
}

/// What a [`WholeTerms`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    /// A `terms`: each term's documents.
    Terms,
    /// A `cardinality`: the distinct terms of the segment, as a sketch.
    Distinct,
    /// A `percentiles`: the values of the segment, as a sketch.
    Percentiles,
}

impl WholeTerms {
    /// The plan, when `aggs` is one `terms` with nothing this path cannot honour
    /// (sub-aggregations, `missing`, `include`/`exclude`, `min_doc_count: 0`, an order by a
    /// sub-aggregation), or one `cardinality` or `percentiles` without `missing`.
    pub(crate) fn detect(aggs: &Aggregations) -> Option<WholeTerms> {
        let mut all = aggs.iter();
        let (name, agg) = all.next()?;
        if all.next().is_some() || !agg.sub_aggregation.is_empty() {
            return None;
        }
        // A sketch of a stored column's values, unless a `missing` value stands in for some.
        let sketch = |field: &String, missing: bool, what: What| {
            (!missing && !super::sources::is_computed(field)).then(|| WholeTerms {
                name: name.clone(),
                column: field.clone(),
                what,
            })
        };
        match &agg.agg {
            AggregationVariants::Cardinality(c) => {
                return sketch(&c.field, c.missing.is_some(), What::Distinct);
            }
            AggregationVariants::Percentiles(p) => {
                return sketch(&p.field, p.missing.is_some(), What::Percentiles);
            }
            _ => {}
        }
        let AggregationVariants::Terms(t) = &agg.agg else {
            return None;
        };
        // An order by a sub-aggregation (which it cannot have) is refused by tantivy's
        // collector, with the client's error: left to it.
        let plain = plain_terms(t) && t.min_doc_count != Some(0);
        plain.then(|| WholeTerms {
            name: name.clone(),
            column: t.field.clone(),
            what: What::Terms,
        })
    }

    /// Whether this is a `cardinality`.
    pub(crate) fn is_distinct(&self) -> bool {
        self.what == What::Distinct
    }

    /// The aggregation's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The results of `reader`, every document of which matches (`None`: the segment is
    /// not one this path takes; collect it).
    pub(crate) fn segment(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<Option<IntermediateAggregationResults>> {
        if reader.num_deleted_docs() > 0 {
            return Ok(None);
        }
        let mut handles = reader.fast_fields().dynamic_column_handles(&self.column)?;
        if handles.len() > 1 {
            return Ok(None);
        }
        let Some(handle) = handles.pop() else {
            // No value in this segment: no bucket (a sketch is left to tantivy).
            if self.what != What::Terms {
                return Ok(None);
            }
            return Ok(Some(results(&self.name, Vec::new())?));
        };
        let column = handle.open()?;
        if self.what == What::Percentiles {
            return super::whole_percentiles::segment(&self.name, column);
        }
        let DynamicColumn::Str(column) = column else {
            return Ok(None);
        };
        if self.what == What::Distinct {
            return distinct_terms(&self.name, &column).map(Some);
        }
        let distinct = column.dictionary().num_terms();
        if distinct as u64 > EXACT_UP_TO
            || matches!(column.ords().index, ColumnIndex::Multivalued(_))
        {
            return Ok(None);
        }
        let mut counts = vec![0u64; distinct];
        let mut stray = false;
        each_ord(&column, |ord| match counts.get_mut(ord as usize) {
            Some(n) => *n += 1,
            None => stray = true,
        });
        if stray {
            return Ok(None);
        }
        // The terms of the counted ordinals, read in one pass over the dictionary's blocks
        // (`ord_to_str` would decode a block from its start for each ordinal).
        let (ords, counts): (Vec<u64>, Vec<u64>) = counts
            .into_iter()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .map(|(ord, n)| (ord as u64, n))
            .unzip();
        let mut entries = Vec::with_capacity(ords.len());
        let mut utf8 = true;
        let found =
            column.dictionary().sorted_ords_to_term_cb(
                &ords,
                |bytes| match std::str::from_utf8(bytes) {
                    Ok(term) => entries.push(entry(term, counts[entries.len()])),
                    Err(_) => utf8 = false,
                },
            )?;
        if !found || !utf8 || entries.len() != ords.len() {
            return Ok(None);
        }
        Ok(Some(results(&self.name, entries)?))
    }
}

/// Calls `f` with every term ordinal the column holds, read a block at a time.
fn each_ord(column: &StrColumn, mut f: impl FnMut(u64)) {
    let values = &column.ords().values;
    let mut block = [0u64; BLOCK];
    let total = u64::from(values.num_vals());
    let mut start = 0u64;
    while start < total {
        let len = (total - start).min(BLOCK as u64) as usize;
        values.get_range(start, &mut block[..len]);
        block[..len].iter().for_each(|ord| f(*ord));
        start += len as u64;
    }
}

/// tantivy's `cardinality` of a string column over every document of a segment: the sketch of
/// the terms some value of the column holds (found in one pass over the packed ordinals),
/// each added as tantivy's string collector adds it — the coupon of the term's bytes, into an
/// HLL-8 sketch of lg_k 11. The registers do not depend on the order the terms come in; the
/// estimate of a sketch never merged does (its HIP accumulator), which is why a shard of one
/// segment is left to tantivy (see `AggRun::collector`).
fn distinct_terms(
    name: &str,
    column: &StrColumn,
) -> tantivy::Result<IntermediateAggregationResults> {
    let terms = column.dictionary().num_terms();
    let mut used = vec![false; terms];
    each_ord(column, |ord| {
        if let Some(u) = used.get_mut(ord as usize) {
            *u = true;
        }
    });
    let ords: Vec<u64> = (0..terms as u64).filter(|o| used[*o as usize]).collect();
    let mut sketch = HllSketch::new(11, HllType::Hll8)
        .map_err(|e| TantivyError::InternalError(format!("a cardinality sketch: {e}")))?;
    column.dictionary().sorted_ords_to_term_cb(&ords, |bytes| {
        sketch.update_with_coupon(Coupon::from_value(bytes));
    })?;
    let bytes = sketch
        .serialize()
        .into_iter()
        .map(|b| Part::U(u64::from(b)))
        .collect();
    let metric = Part::Variant("Cardinality", Box::new(Part::Owned(bytes)));
    let result = Part::Variant("Metric", Box::new(metric));
    let all = Part::Owned(vec![Part::Map(vec![(
        Part::Text(name.to_string()),
        result,
    )])]);
    IntermediateAggregationResults::deserialize(&all)
        .map_err(|e| TantivyError::InternalError(format!("cardinality of a whole segment: {e}")))
}

/// One bucket in tantivy's serde form: `IntermediateKey::Str(value)` →
/// `IntermediateTermBucketEntry { doc_count, sub_aggregation: empty }`.
fn entry(value: &str, docs: u64) -> (Part<'static>, Part<'static>) {
    let no_subs = Part::Owned(vec![Part::Map(Vec::new())]);
    (
        Part::Variant("Str", Box::new(Part::Text(value.to_string()))),
        Part::Owned(vec![Part::U(docs), no_subs]),
    )
}

/// tantivy's intermediate results holding one `terms` result named `name`: `Bucket(Terms {
/// buckets: { entries, sum_other_doc_count: 0, doc_count_error_upper_bound: 0 } })`.
fn results(
    name: &str,
    entries: Vec<(Part<'static>, Part<'static>)>,
) -> tantivy::Result<IntermediateAggregationResults> {
    let buckets = Part::Owned(vec![Part::Map(entries), Part::U(0), Part::U(0)]);
    let terms = Part::Variant("Terms", Box::new(Part::Owned(vec![buckets])));
    let result = Part::Variant("Bucket", Box::new(terms));
    let all = Part::Owned(vec![Part::Map(vec![(
        Part::Text(name.to_string()),
        result,
    )])]);
    IntermediateAggregationResults::deserialize(&all)
        .map_err(|e| TantivyError::InternalError(format!("terms of a whole segment: {e}")))
}
