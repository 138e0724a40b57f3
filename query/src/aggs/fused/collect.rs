//! The aggregations of a search as collected: per shard and per segment, the fused passes that
//! take a segment beside tantivy's collector of the rest, and the results merged.

use std::sync::Arc;

use tantivy::aggregation::{AggregationSegmentCollector, DistributedAggregationCollector};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, SegmentOrdinal, SegmentReader};

use super::{
    AggFruit, Blocks, FilteredFused, FilteredPlan, Fused, FusedPlan, SplitFused, SplitPlan,
    TermsFused, TermsPlan,
};
use crate::compile::TimeRange;

/// The aggregations of one shard: tantivy's collector of all of them, and when some have the
/// fused pass's shapes, their plans and tantivy's collector of the others.
pub struct ShardAggs {
    all: DistributedAggregationCollector,
    fused: Option<FusedAggs>,
    /// A `terms` that a segment matched whole can count from its column.
    whole: Option<crate::aggs::whole_terms::WholeTerms>,
    /// tantivy's request as planned for this shard, written out (for the request cache's key).
    planned: String,
    /// The result of a segment skipped unread, built once per shard: building tantivy's
    /// collectors costs more than a small search's whole work over a day's segments.
    empty: std::sync::OnceLock<AggFruit>,
    /// Each skipped segment's empty result is its own (`with_empty_per_segment`).
    empty_per_segment: bool,
}

/// The aggregations the fused pass takes, and tantivy's collector of the rest.
pub(crate) struct FusedAggs {
    pub hist: Option<Arc<FusedPlan>>,
    pub split: Option<Arc<SplitPlan>>,
    pub filtered: Option<Arc<FilteredPlan>>,
    pub terms: Option<Arc<TermsPlan>>,
    /// `None` when no aggregation is left for tantivy.
    pub rest: Option<DistributedAggregationCollector>,
}

impl FusedAggs {
    /// Whether the request is one fused histogram and nothing else.
    fn histogram_alone(&self) -> bool {
        self.hist.is_some()
            && self.split.is_none()
            && self.filtered.is_none()
            && self.terms.is_none()
            && self.rest.is_none()
    }
}

/// The aggregations of one segment: the fused passes (if they take the segment) and tantivy's
/// collector of the rest.
pub struct SegmentAggs {
    fused: Option<Fused>,
    split: Option<SplitFused>,
    filtered: Option<FilteredFused>,
    terms: Option<TermsFused>,
    tantivy: Option<AggregationSegmentCollector>,
}

impl ShardAggs {
    /// `all`: tantivy's collector of every aggregation; `fused`: what the fused pass takes.
    pub(crate) fn new(
        all: DistributedAggregationCollector,
        fused: Option<FusedAggs>,
        whole: Option<crate::aggs::whole_terms::WholeTerms>,
        planned: String,
    ) -> Self {
        ShardAggs {
            all,
            fused: fused.filter(|f| {
                enabled()
                    && (f.hist.is_some()
                        || f.split.is_some()
                        || f.filtered.is_some()
                        || f.terms.is_some())
            }),
            whole: whole.filter(|_| enabled()),
            planned,
            empty: std::sync::OnceLock::new(),
            empty_per_segment: false,
        }
    }

    /// Builds a skipped segment's empty result for each segment (`true`) rather than once per
    /// shard: where it lists what the segment holds (a `terms` with `min_doc_count: 0`).
    pub(crate) fn with_empty_per_segment(mut self, per_segment: bool) -> Self {
        self.empty_per_segment = per_segment;
        self
    }

    /// tantivy's request as planned for this shard, written out.
    pub fn planned(&self) -> &str {
        &self.planned
    }

    /// The results of a segment every document of which matches, when they can be read
    /// without visiting its documents (`None`: collect it).
    pub fn whole_segment(&self, reader: &SegmentReader) -> tantivy::Result<Option<AggFruit>> {
        let Some(w) = &self.whole else {
            return Ok(None);
        };
        let found = w.segment(reader)?;
        if found.is_some() {
            note_whole(w.name());
        }
        Ok(found.map(AggFruit::tantivy))
    }

    /// The collector of one segment: the fused passes when each takes it, else tantivy's.
    /// `time`: the range of event times the query requires, if any.
    pub fn for_segment(
        &self,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
        time: Option<&TimeRange>,
    ) -> tantivy::Result<SegmentAggs> {
        if let Some(f) = &self.fused {
            let hist = match &f.hist {
                Some(plan) => plan.for_segment(reader, time)?.ok_or(()),
                None => Err(()),
            };
            let split = match &f.split {
                Some(plan) => plan.for_segment(reader, time)?.ok_or(()),
                None => Err(()),
            };
            let filtered = match &f.filtered {
                Some(plan) => plan.for_segment(reader, time)?.ok_or(()),
                None => Err(()),
            };
            let terms = match &f.terms {
                Some(plan) => plan.for_segment(reader)?.ok_or(()),
                None => Err(()),
            };
            let takes = f.hist.is_none() == hist.is_err()
                && f.split.is_none() == split.is_err()
                && f.filtered.is_none() == filtered.is_err()
                && f.terms.is_none() == terms.is_err();
            if takes {
                if let Some(plan) = &f.hist {
                    note_used(&plan.name);
                }
                if let Some(plan) = &f.split {
                    note_used(plan.name());
                }
                if let Some(plan) = &f.terms {
                    note_used(plan.name());
                }
                if let Some(plan) = &f.filtered {
                    // A `filters`' parts are named `{name}>{i}`.
                    let mut names: Vec<&str> = plan
                        .names()
                        .map(|n| n.split('>').next().unwrap_or(n))
                        .collect();
                    names.dedup();
                    names.into_iter().for_each(note_used);
                }
                return Ok(SegmentAggs {
                    fused: hist.ok(),
                    split: split.ok(),
                    filtered: filtered.ok(),
                    terms: terms.ok(),
                    tantivy: match &f.rest {
                        Some(rest) => Some(rest.for_segment(ord, reader)?),
                        None => None,
                    },
                });
            }
        }
        Ok(SegmentAggs {
            fused: None,
            split: None,
            filtered: None,
            terms: None,
            tantivy: Some(self.all.for_segment(ord, reader)?),
        })
    }

    /// An empty result of the right shape, for a segment skipped without being read.
    /// Every segment's is the same (nothing collected), so the first one built is kept —
    /// unless it lists the segment's own terms (`with_empty_per_segment`).
    pub fn empty(&self, ord: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<AggFruit> {
        // A request the fused histogram answers alone needs nothing from a skipped segment: a
        // histogram without documents has no buckets, and a search that skips every segment
        // finishes with tantivy's empty result of the request, what an empty segment's
        // collector gives (tested against it). Building that collector was a twentieth of
        // a small search's work.
        if self.fused.as_ref().is_some_and(FusedAggs::histogram_alone) {
            return Ok(AggFruit::default());
        }
        let build = || {
            Ok(AggFruit::tantivy(
                self.all.for_segment(ord, reader)?.harvest()?,
            ))
        };
        if self.empty_per_segment {
            return build();
        }
        if let Some(empty) = self.empty.get() {
            return Ok(empty.clone());
        }
        let empty = build()?;
        Ok(self.empty.get_or_init(|| empty).clone())
    }
}

impl SegmentAggs {
    /// Collects one document.
    pub fn collect(&mut self, doc: DocId) {
        if let Some(f) = &mut self.fused {
            f.collect(doc);
        }
        if let Some(s) = &mut self.split {
            s.collect(doc);
        }
        if let Some(s) = &mut self.filtered {
            s.collect(doc);
        }
        if let Some(s) = &mut self.terms {
            s.collect(doc);
        }
        if let Some(t) = &mut self.tantivy {
            t.collect(doc, 0.0);
        }
    }

    /// Collects a block of documents.
    pub fn collect_block(&mut self, docs: &[DocId]) {
        if let Some(f) = &mut self.fused {
            f.flush();
            f.read_block(docs);
        }
        if let Some(s) = &mut self.split {
            s.flush();
            s.read_block(docs);
        }
        if let Some(s) = &mut self.filtered {
            s.flush();
            s.read_block(docs);
        }
        if let Some(s) = &mut self.terms {
            s.flush();
            s.read_block(docs);
        }
        if let Some(t) = &mut self.tantivy {
            t.collect_block(docs);
        }
    }

    /// The segment's results.
    pub fn harvest(self) -> tantivy::Result<AggFruit> {
        let mut tantivy = match self.tantivy {
            Some(t) => Some(t.harvest()?),
            None => None,
        };
        let split = self.split.map(SplitFused::harvest).transpose()?;
        let filtered = self.filtered.map(FilteredFused::harvest).transpose()?;
        let terms = self.terms.map(TermsFused::harvest).transpose()?;
        for part in split.into_iter().chain(filtered).chain(terms) {
            match &mut tantivy {
                Some(t) => t.merge_fruits(part)?,
                None => tantivy = Some(part),
            }
        }
        Ok(AggFruit::of_segment(
            tantivy,
            self.fused.map(Fused::harvest),
        ))
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

/// A segment whose `terms` named `name` was counted from its column.
#[cfg(test)]
fn note_whole(name: &str) {
    note_used(&format!("whole:{name}"));
}

#[cfg(not(test))]
fn note_whole(_: &str) {}

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
