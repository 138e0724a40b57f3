//! One collector per shard for everything a search needs in a single pass over the matches:
//! the count, the top hits in the request's sort order (after `search_after`, past
//! `post_filter` and `min_score`), and the aggregations — stopping at `terminate_after` or the
//! `timeout`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::time::Instant;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{Scorer, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader, TERMINATED};

use super::cache::{Fingerprint, Lookup, RequestCache};
use super::sort::{Dir, KeyReader, SortValue};
use super::top::SegmentTop;
use crate::aggs::{AggFruit, SegmentAggs, ShardAggs};
use crate::compile::TimeRange;
use crate::error::QueryError;

/// Builds the key readers of a segment.
pub(crate) type KeysFor =
    dyn Fn(SegmentOrdinal, &SegmentReader) -> Result<Vec<KeyReader>, QueryError> + Send + Sync;

/// The top hits part of a shard's collection.
pub(crate) struct TopSpec {
    /// Hits to keep (`from + size`).
    pub k: usize,
    pub dirs: Arc<[Dir]>,
    pub keys: Box<KeysFor>,
    /// `search_after`, as global values.
    pub after: Option<Vec<SortValue>>,
    /// Custom `missing` values, per key.
    pub missing: Vec<Option<SortValue>>,
}

/// A hit candidate of one shard.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub key: Vec<SortValue>,
    pub score: f32,
    pub doc: DocAddress,
}

/// What one shard found.
pub(crate) struct ShardFruit {
    pub count: u64,
    pub hits: Vec<Candidate>,
    pub aggs: Option<AggFruit>,
    pub terminated_early: bool,
    pub timed_out: bool,
}

/// The collector of one shard.
pub(crate) struct ShardCollector {
    pub top: Option<TopSpec>,
    pub aggs: Option<ShardAggs>,
    pub post_filter: Option<Box<dyn Weight>>,
    pub min_score: Option<f32>,
    pub scoring: bool,
    pub terminate_after: Option<u64>,
    pub deadline: Option<Instant>,
    pub collected: Arc<AtomicU64>,
    pub timed_out: Arc<AtomicBool>,
    /// What spares work in a segment: the time range and the request cache.
    pub reuse: Reuse,
}

/// The request cache's names for this request on one shard: `exact` for any segment (`None`
/// when the query moves with `now`), `whole` for a segment the query matches whole.
///
/// A segment inside the query's time range gives the same result whatever the range's bounds,
/// as Elasticsearch rewrites a range that holds a whole shard to `match_all` before it looks in
/// its request cache: so a dashboard reloaded with "the last 7 days" (new epoch bounds each
/// time) finds the sealed segments it read last time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fingerprints {
    pub exact: Option<Fingerprint>,
    pub whole: Option<Fingerprint>,
}

/// What spares a segment's search: the event-time range the query requires (segments outside
/// it are skipped) and the request cache with this request's fingerprint on this shard.
#[derive(Default)]
pub(crate) struct Reuse {
    pub time: Option<TimeRange>,
    /// The range within which the query matches every document (`Compiler::whole_range`).
    pub whole: Option<TimeRange>,
    pub cache: Option<(Arc<RequestCache>, Fingerprints)>,
    /// Segments skipped by their time range.
    pub skipped: Arc<AtomicU64>,
}

/// Segments whose hits were ranked by [`ShardCollector::whole_hits`] (the tests' way to see it
/// taken).
#[cfg(test)]
pub(crate) static WHOLE_HITS: AtomicU64 = AtomicU64::new(0);

/// Documents between two readings of the clock against a search's deadline.
const CLOCK_EVERY: u32 = 4096;

/// The segment part of [`ShardCollector`].
pub(crate) struct ShardSegment {
    count: u64,
    top: Option<SegmentTop>,
    aggs: Option<SegmentAggs>,
    post_filter: Option<Box<dyn Scorer>>,
    min_score: Option<f32>,
    terminate_after: Option<u64>,
    deadline: Option<Instant>,
    collected: Arc<AtomicU64>,
    timed_out: Arc<AtomicBool>,
    stopped: bool,
    since_clock: u32,
    error: Option<QueryError>,
}

impl ShardSegment {
    /// Whether every document the query matches counts and goes to the hits and the
    /// aggregations: no post filter, minimum score or document limit.
    fn offers_every_match(&self) -> bool {
        self.post_filter.is_none() && self.min_score.is_none() && self.terminate_after.is_none()
    }

    /// Whether collection must stop before `doc` (terminate_after, timeout).
    fn must_stop(&mut self) -> bool {
        if self.stopped {
            return true;
        }
        if let Some(limit) = self.terminate_after
            && self.collected.fetch_add(1, AtomicOrdering::Relaxed) >= limit
        {
            self.stopped = true;
            return true;
        }
        if let Some(deadline) = self.deadline {
            self.since_clock += 1;
            if self.since_clock >= CLOCK_EVERY {
                self.since_clock = 0;
                if Instant::now() >= deadline {
                    self.timed_out.store(true, AtomicOrdering::Relaxed);
                    self.stopped = true;
                    return true;
                }
            }
        }
        false
    }

    fn passes_post_filter(&mut self, doc: DocId) -> bool {
        let Some(scorer) = &mut self.post_filter else {
            return true;
        };
        if scorer.doc() == TERMINATED {
            return false;
        }
        if scorer.doc() < doc {
            scorer.seek(doc);
        }
        scorer.doc() == doc
    }
}

impl SegmentCollector for ShardSegment {
    type Fruit = Result<ShardFruit, QueryError>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.must_stop() {
            return;
        }
        if let Some(min) = self.min_score
            && score < min
        {
            return;
        }
        if let Some(aggs) = &mut self.aggs {
            aggs.collect(doc);
        }
        if !self.passes_post_filter(doc) {
            return;
        }
        self.count += 1;
        if let Some(top) = &mut self.top {
            top.offer(doc, score);
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        // Without a limit to count to, the block goes to the aggregations whole (and to the
        // hits one by one), and the clock is read every few thousand documents (a read per
        // 64-document block was 13 % of a `terms` aggregation's time on this machine's
        // virtual clock).
        if self.offers_every_match() {
            if self.stopped {
                return;
            }
            self.since_clock += docs.len() as u32;
            if let Some(deadline) = self.deadline
                && self.since_clock >= CLOCK_EVERY
            {
                self.since_clock = 0;
                if Instant::now() >= deadline {
                    self.timed_out.store(true, AtomicOrdering::Relaxed);
                    self.stopped = true;
                    return;
                }
            }
            self.count += docs.len() as u64;
            if let Some(aggs) = &mut self.aggs {
                aggs.collect_block(docs);
            }
            if let Some(top) = &mut self.top {
                top.offer_block(docs);
            }
            return;
        }
        for doc in docs {
            self.collect(*doc, 0.0);
        }
    }

    fn harvest(self) -> Self::Fruit {
        if let Some(e) = self.error {
            return Err(e);
        }
        let aggs = match self.aggs {
            Some(a) => Some(a.harvest()?),
            None => None,
        };
        Ok(ShardFruit {
            count: self.count,
            hits: self.top.map(SegmentTop::harvest).unwrap_or_default(),
            aggs,
            terminated_early: self.stopped && !self.timed_out.load(AtomicOrdering::Relaxed),
            timed_out: self.timed_out.load(AtomicOrdering::Relaxed),
        })
    }
}

impl ShardCollector {
    /// Whether all this collector wants is the count.
    /// The aggregations of a segment the query matches whole, read without visiting its
    /// documents (a search for aggregations alone; `None`: collect the segment).
    fn whole_segment(&self, reader: &SegmentReader) -> tantivy::Result<Option<AggFruit>> {
        let (Some(aggs), Some(whole)) = (&self.aggs, &self.reuse.whole) else {
            return Ok(None);
        };
        let plain = self.top.is_none()
            && self.post_filter.is_none()
            && self.min_score.is_none()
            && self.terminate_after.is_none();
        if !plain || reader.num_deleted_docs() > 0 || !whole.covers_segment(reader) {
            return Ok(None);
        }
        aggs.whole_segment(reader)
    }

    /// The request cache's name of this request in `reader`: the one for a segment the query
    /// matches whole when it does (see [`Fingerprints`]), else the exact one.
    fn cache_name(&self, names: &Fingerprints, reader: &SegmentReader) -> Option<Fingerprint> {
        let whole = names.whole.filter(|_| {
            self.reuse
                .whole
                .as_ref()
                .is_some_and(|w| w.covers_segment(reader))
        });
        whole.or(names.exact)
    }

    /// A search for hits in a segment the query matches whole: its hits ranked from the sort
    /// column, last document first (see [`SegmentTop::offer_all`]), its aggregations collected
    /// as usual (`None`: collect the segment).
    fn whole_hits(
        &self,
        weight: &dyn Weight,
        ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Option<Result<ShardFruit, QueryError>>> {
        let (Some(_), Some(whole)) = (&self.top, &self.reuse.whole) else {
            return Ok(None);
        };
        let plain = self.post_filter.is_none()
            && self.min_score.is_none()
            && self.terminate_after.is_none()
            && !self.scoring;
        if !plain || reader.num_deleted_docs() > 0 || !whole.covers_segment(reader) {
            return Ok(None);
        }
        #[cfg(test)]
        WHOLE_HITS.fetch_add(1, AtomicOrdering::Relaxed);
        let mut segment = self.for_segment(ord, reader)?;
        let Some(mut top) = segment.top.take() else {
            // The sort could not be read here: the harvest says why.
            return Ok(Some(segment.harvest()));
        };
        if segment.aggs.is_some() {
            collect_all(&mut segment, weight, reader, false)?;
        } else {
            segment.count = u64::from(reader.num_docs());
        }
        top.offer_all(reader.max_doc(), self.deadline, &self.timed_out);
        segment.top = Some(top);
        Ok(Some(segment.harvest()))
    }

    /// Whether only the number of matches is asked: `_count`, or a search for its total alone
    /// (`size: 0`, no aggregations).
    fn counts_only(&self) -> bool {
        self.top.is_none()
            && self.aggs.is_none()
            && self.post_filter.is_none()
            && self.min_score.is_none()
            && self.terminate_after.is_none()
    }
}

impl Collector for ShardCollector {
    type Fruit = Result<ShardFruit, QueryError>;
    type Child = ShardSegment;

    fn for_segment(
        &self,
        segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<ShardSegment> {
        let mut error = None;
        let top = match &self.top {
            Some(spec) => match (spec.keys)(segment_local_id, segment) {
                Ok(readers) => {
                    let after = spec.after.as_ref().map(|a| {
                        a.iter()
                            .zip(&readers)
                            .map(|(v, r)| r.seg_value(v))
                            .collect()
                    });
                    Some(SegmentTop::new(
                        spec.k,
                        spec.dirs.clone(),
                        readers,
                        after,
                        spec.missing.clone(),
                        segment_local_id,
                    ))
                }
                Err(e) => {
                    error = Some(e);
                    None
                }
            },
            None => None,
        };
        let aggs = match &self.aggs {
            Some(a) => Some(a.for_segment(segment_local_id, segment, self.reuse.time.as_ref())?),
            None => None,
        };
        let post_filter = match &self.post_filter {
            Some(w) => Some(w.scorer(segment, 1.0)?),
            None => None,
        };
        Ok(ShardSegment {
            count: 0,
            top,
            aggs,
            post_filter,
            min_score: self.min_score,
            terminate_after: self.terminate_after,
            deadline: self.deadline,
            collected: self.collected.clone(),
            timed_out: self.timed_out.clone(),
            stopped: false,
            since_clock: 0,
            error,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scoring
    }

    /// Skips a segment outside the query's time range (its collector harvested empty, so the
    /// aggregations keep their shape) and answers a segment from the request cache when it can;
    /// otherwise collects it as tantivy would, keeping a cacheable result.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        segment_ord: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Fruit> {
        if let Some(time) = &self.reuse.time
            && time.misses_segment(reader)
        {
            self.reuse.skipped.fetch_add(1, AtomicOrdering::Relaxed);
            let aggs = match &self.aggs {
                Some(a) => Some(a.empty(segment_ord, reader)?),
                None => None,
            };
            return Ok(Ok(ShardFruit {
                count: 0,
                hits: Vec::new(),
                aggs,
                terminated_early: false,
                timed_out: false,
            }));
        }
        let lookup = match &self.reuse.cache {
            Some((cache, names)) => match self.cache_name(names, reader) {
                Some(fingerprint) => cache.get(fingerprint, reader),
                None => Lookup::NotCached,
            },
            None => Lookup::NotCached,
        };
        let key = match lookup {
            Lookup::Hit(fruit) => return Ok(Ok(fruit)),
            Lookup::Miss(key) => Some(key),
            Lookup::NotCached => None,
        };
        let fruit = if let Some(aggs) = self.whole_segment(reader)? {
            // Every document matches and the aggregations need none of them.
            Ok(ShardFruit {
                count: u64::from(reader.num_docs()),
                hits: Vec::new(),
                aggs: Some(aggs),
                terminated_early: false,
                timed_out: false,
            })
        } else if let Some(fruit) = self.whole_hits(weight, segment_ord, reader)? {
            fruit
        } else if self.counts_only() {
            // What tantivy's `Count` does: a posting list's length, not a walk through it. A
            // count does not stop inside a segment, so the deadline is read before each.
            let timed_out = self.deadline.is_some_and(|d| Instant::now() >= d);
            if timed_out {
                self.timed_out.store(true, AtomicOrdering::Relaxed);
            }
            Ok(ShardFruit {
                count: if timed_out {
                    0
                } else {
                    u64::from(weight.count(reader)?)
                },
                hits: Vec::new(),
                aggs: None,
                terminated_early: false,
                timed_out,
            })
        } else {
            let mut segment = self.for_segment(segment_ord, reader)?;
            // The documents read ahead are offered unscored.
            if segment.offers_every_match()
                && !self.scoring
                && let Some(top) = &mut segment.top
            {
                top.seed(weight, reader)?;
            }
            collect_all(&mut segment, weight, reader, self.scoring)?;
            segment.harvest()
        };
        if let (Some(key), Some((cache, _)), Ok(fruit)) = (key, &self.reuse.cache, &fruit) {
            cache.put(key, fruit);
        }
        Ok(fruit)
    }

    fn merge_fruits(
        &self,
        fruits: Vec<Result<ShardFruit, QueryError>>,
    ) -> tantivy::Result<Result<ShardFruit, QueryError>> {
        let mut out = ShardFruit {
            count: 0,
            hits: Vec::new(),
            aggs: None,
            terminated_early: false,
            timed_out: false,
        };
        for fruit in fruits {
            let fruit = match fruit {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            out.count += fruit.count;
            out.hits.extend(fruit.hits);
            out.terminated_early |= fruit.terminated_early;
            out.timed_out |= fruit.timed_out;
            match (&mut out.aggs, fruit.aggs) {
                (Some(acc), Some(more)) => acc.merge(more)?,
                (slot @ None, more) => *slot = more,
                (_, None) => {}
            }
        }
        Ok(Ok(out))
    }
}

/// Feeds every live document `weight` matches in `reader` to `segment` — what tantivy's
/// default `collect_segment` does (not public there, so written out here).
fn collect_all(
    segment: &mut ShardSegment,
    weight: &dyn Weight,
    reader: &SegmentReader,
    scoring: bool,
) -> tantivy::Result<()> {
    match (reader.alive_bitset(), scoring) {
        (Some(alive), true) => weight.for_each(reader, &mut |doc, score| {
            if alive.is_alive(doc) {
                segment.collect(doc, score);
            }
        }),
        (Some(alive), false) => weight.for_each_no_score(reader, &mut |docs| {
            for doc in docs.iter().copied() {
                if alive.is_alive(doc) {
                    segment.collect(doc, 0.0);
                }
            }
        }),
        (None, true) => weight.for_each(reader, &mut |doc, score| segment.collect(doc, score)),
        (None, false) => weight.for_each_no_score(reader, &mut |docs| segment.collect_block(docs)),
    }
}
