//! The best `k` hits of one segment in the sort's order.

use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Instant;

use smallvec::SmallVec;
use tantivy::query::{Scorer, Weight};
use tantivy::{DateTime, DocAddress, DocId, DocSet, Score, SegmentOrdinal, SegmentReader};

use super::collector::Candidate;
use super::sort::{Dir, KeyReader, SegVal, SortValue, cmp_seg};
use crate::compile::zoned::{self, ZONE, Zones};

/// Documents read from a sort column at a time, last first.
const BLOCK: usize = 512;
/// Documents between two readings of the clock in [`SegmentTop::offer_all`].
const CLOCK_EVERY: usize = 1 << 16;

/// A candidate hit of one segment. Keys are inline for up to two sort keys (one sort field and
/// a tie-breaker), so ranking millions of documents allocates nothing per document.
struct Entry {
    key: SmallVec<[SegVal; 2]>,
    doc: DocId,
    score: f32,
}

fn order(a: &Entry, b: &Entry, dirs: &[Dir]) -> Ordering {
    cmp_seg(&a.key, &b.key, dirs).then(a.doc.cmp(&b.doc))
}

/// The best `k` documents of a segment, smallest first in the sort's order.
///
/// A buffer of up to `2k` candidates cut back to the best `k` (`select_nth_unstable`) when
/// full, rather than a heap: log data sorted newest first arrives oldest first, so nearly every
/// document beats the worst kept one, and a heap would sift on each of them. Cut this way a
/// document costs an append, and the cut — linear in `k` — comes once per `k` documents.
/// (tantivy's `TopNComputer` ranks the same way.)
pub(crate) struct SegmentTop {
    k: usize,
    dirs: Arc<[Dir]>,
    readers: Vec<KeyReader>,
    after: Option<Vec<SegVal>>,
    missing: Vec<Option<SortValue>>,
    buffer: Vec<Entry>,
    /// The worst of the best `k` at the last cut: a document not better is not kept.
    threshold: Option<Entry>,
    segment: SegmentOrdinal,
    /// Zones of the first key's times that no document of can be among the best `k` (see
    /// [`SegmentTop::seed`]).
    skip: Option<Skip>,
}

/// A bound on the first key, from `k` documents already known to match, and the time zones of
/// the segment: a document in a zone whose every time is worse than the bound is not read.
struct Skip {
    zones: Zones,
    bound: DateTime,
    desc: bool,
    /// The zones read ahead, whose documents were offered then.
    offered: Vec<bool>,
}

impl Skip {
    /// Whether `doc` is not to be offered: its zone holds no time as good as the bound, or it
    /// was offered when read ahead.
    #[inline]
    fn skips(&self, doc: DocId) -> bool {
        let zone = doc as usize / ZONE;
        self.worse(zone) || self.offered[zone]
    }

    /// Whether every time of `zone` is worse than the bound.
    fn worse(&self, zone: usize) -> bool {
        let (min, max) = self.zones[zone];
        if self.desc {
            max < self.bound
        } else {
            min > self.bound
        }
    }
}

/// Segments whose hits skipped zones after [`SegmentTop::seed`] (the tests' way to see it).
#[cfg(test)]
pub(crate) static SEEDED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Zones read ahead by [`SegmentTop::seed`] at most.
const SEED_ZONES: usize = 8;

impl SegmentTop {
    pub(crate) fn new(
        k: usize,
        dirs: Arc<[Dir]>,
        readers: Vec<KeyReader>,
        after: Option<Vec<SegVal>>,
        missing: Vec<Option<SortValue>>,
        segment: SegmentOrdinal,
    ) -> Self {
        SegmentTop {
            buffer: Vec::with_capacity(k.min(10_000) * 2),
            k,
            dirs,
            readers,
            after,
            missing,
            threshold: None,
            segment,
            skip: None,
        }
    }

    /// Reads ahead in the zones of a segment's time column that hold its best times (the last
    /// ones, for logs sorted newest first) the documents `weight` matches there, until it has
    /// `k` of them: the `k`-th best of their times bounds the segment's `k` best, so the pass
    /// over the whole segment that follows reads no time in a zone whose every time is worse.
    /// The documents read ahead are offered then (and not again), so a pass cut short by a
    /// timeout still ranks the best it has seen.
    /// Logs arrive oldest first, so without it every document of a newest-first search beats
    /// the ones before it and has its time read.
    ///
    /// Only for a pass that offers every document `weight` matches (no `search_after`, post
    /// filter, minimum score or document limit: the caller's to check); a segment whose first
    /// key is no date column of one time per document, or of a few zones, is left as it is.
    pub(crate) fn seed(
        &mut self,
        weight: &dyn Weight,
        reader: &SegmentReader,
    ) -> tantivy::Result<()> {
        if self.k == 0 || self.after.is_some() {
            return Ok(());
        }
        let Some((name, column)) = self.readers.first().and_then(KeyReader::date_column) else {
            return Ok(());
        };
        let Some(zones) = zoned::time_zones(reader, name, column) else {
            return Ok(());
        };
        let desc = self.dirs[0].desc;
        let mut best: Vec<usize> = (0..zones.len()).collect();
        if desc {
            best.sort_unstable_by(|a, b| zones[*b].1.cmp(&zones[*a].1));
        } else {
            best.sort_unstable_by(|a, b| zones[*a].0.cmp(&zones[*b].0));
        }
        let values = &column.values;
        let alive = reader.alive_bitset();
        let max_doc = reader.max_doc();
        let mut found: Vec<(DocId, DateTime)> = Vec::new();
        let mut read = Vec::new();
        let mut scorer: Option<Box<dyn Scorer>> = None;
        for zone in best.into_iter().take(SEED_ZONES) {
            let start = (zone * ZONE) as DocId;
            let end = max_doc.min(start + ZONE as DocId);
            // Forward only: a zone before the scorer's place takes a new scorer.
            let mut s = match scorer.take() {
                Some(s) if s.doc() <= start => s,
                _ => weight.scorer(reader, 1.0)?,
            };
            let mut doc = if s.doc() < start {
                s.seek(start)
            } else {
                s.doc()
            };
            while doc < end {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    found.push((doc, values.get_val(doc)));
                }
                doc = s.advance();
            }
            read.push(zone);
            scorer = Some(s);
            if found.len() >= self.k {
                break;
            }
        }
        if found.len() < self.k {
            return Ok(());
        }
        let mut times: Vec<DateTime> = found.iter().map(|(_, t)| *t).collect();
        let (_, kth, _) = if desc {
            times.select_nth_unstable_by(self.k - 1, |a, b| b.cmp(a))
        } else {
            times.select_nth_unstable(self.k - 1)
        };
        let mut skip = Skip {
            zones,
            bound: *kth,
            desc,
            offered: Vec::new(),
        };
        // Rows out of time order (zones as wide as the segment) skip nothing: the block reads
        // of `offer_block` are then the faster way, and nothing read ahead is kept.
        let worse = (0..skip.zones.len()).filter(|z| skip.worse(*z)).count();
        if worse * 2 < skip.zones.len() {
            return Ok(());
        }
        #[cfg(test)]
        SEEDED.fetch_add(1, AtomicOrdering::Relaxed);
        skip.offered = vec![false; skip.zones.len()];
        for zone in read {
            skip.offered[zone] = true;
        }
        for (doc, _) in found {
            let first = self.readers[0].read(doc, 0.0);
            self.offer_with_first(doc, 0.0, first);
        }
        self.skip = Some(skip);
        Ok(())
    }

    pub(crate) fn offer(&mut self, doc: DocId, score: Score) {
        if self.skip.as_ref().is_some_and(|s| s.skips(doc)) {
            return;
        }
        let first = match self.readers.first_mut() {
            Some(r) => r.read(doc, score),
            None => return,
        };
        self.offer_with_first(doc, score, first);
    }

    /// Offers a block of documents (in order), their first keys read in one call where the
    /// column allows.
    pub(crate) fn offer_block(&mut self, docs: &[DocId]) {
        let mut firsts = [SegVal::Missing; 64];
        for docs in docs.chunks(firsts.len()) {
            let firsts = &mut firsts[..docs.len()];
            let read = self.skip.is_none()
                && self
                    .readers
                    .first()
                    .is_some_and(|r| r.read_docs(docs, firsts));
            if !read {
                for doc in docs {
                    self.offer(*doc, 0.0);
                }
                continue;
            }
            let desc = self.dirs[0].desc;
            let mut limit = self.int_threshold();
            for (doc, first) in docs.iter().zip(firsts.iter()) {
                if let (Some(t), SegVal::Int(v)) = (limit, *first)
                    && (if desc { v < t } else { v > t })
                {
                    continue;
                }
                self.offer_with_first(*doc, 0.0, *first);
                limit = self.int_threshold();
            }
        }
    }

    /// Offers `doc`, whose first key is `first`.
    #[inline]
    fn offer_with_first(&mut self, doc: DocId, score: Score, first: SegVal) {
        if self.below(first) {
            return;
        }
        let mut key = SmallVec::with_capacity(self.readers.len());
        key.push(first);
        for r in self.readers.iter_mut().skip(1) {
            key.push(r.read(doc, score));
        }
        if let Some(after) = &self.after
            && cmp_seg(&key, after, &self.dirs) != Ordering::Greater
        {
            return;
        }
        let entry = Entry { key, doc, score };
        if let Some(worst) = &self.threshold
            && order(&entry, worst, &self.dirs) != Ordering::Less
        {
            return;
        }
        self.buffer.push(entry);
        if self.buffer.len() >= self.k.saturating_mul(2).max(1) {
            self.cut();
        }
    }

    /// Whether a document whose first key is `first` is worse than the threshold (and so not
    /// kept). Dates and longs, nearly every sort of log search, are compared as they are: this
    /// is the one test most documents of a large segment get.
    #[inline]
    fn below(&self, first: SegVal) -> bool {
        let Some(worst) = &self.threshold else {
            return false;
        };
        if let (SegVal::Int(a), SegVal::Int(b)) = (first, worst.key[0]) {
            return if self.dirs[0].desc { a < b } else { a > b };
        }
        cmp_seg(&[first], &worst.key[..1], &self.dirs[..1]) == Ordering::Greater
    }

    /// The threshold's first key when it is a date or a long.
    #[inline]
    fn int_threshold(&self) -> Option<i64> {
        match self.threshold.as_ref().map(|w| w.key[0]) {
            Some(SegVal::Int(t)) => Some(t),
            _ => None,
        }
    }

    /// Offers every document of a segment that has `max_doc` documents, none deleted, all
    /// matching: the documents of a segment the query matches whole.
    ///
    /// They are read from the sort column a block at a time, last document first. Logs are
    /// written oldest first, so for the usual sort — newest first — the first block read holds
    /// the best `k`, and every earlier document costs one comparison with the threshold
    /// instead of a place in the buffer. (The set kept is the same in any order: ties are
    /// broken by document.) Stops at `deadline`, saying so in `timed_out`.
    pub(crate) fn offer_all(
        &mut self,
        max_doc: DocId,
        deadline: Option<Instant>,
        timed_out: &AtomicBool,
    ) {
        let mut firsts = [SegVal::Missing; BLOCK];
        let mut end = max_doc as usize;
        let mut since_clock = 0;
        while end > 0 {
            let start = end.saturating_sub(BLOCK);
            let block = &mut firsts[..end - start];
            let read = match self.readers.first() {
                Some(r) => r.read_range(start as DocId, block),
                None => return,
            };
            // The threshold as a plain number while it is one, kept in a register.
            let desc = self.dirs[0].desc;
            let mut limit = self.int_threshold();
            for i in (start..end).rev() {
                let doc = i as DocId;
                let first = if read {
                    block[i - start]
                } else {
                    self.readers[0].read(doc, 0.0)
                };
                if let (Some(t), SegVal::Int(v)) = (limit, first)
                    && (if desc { v < t } else { v > t })
                {
                    continue;
                }
                self.offer_with_first(doc, 0.0, first);
                limit = self.int_threshold();
            }
            since_clock += end - start;
            if since_clock >= CLOCK_EVERY {
                since_clock = 0;
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    timed_out.store(true, AtomicOrdering::Relaxed);
                    return;
                }
            }
            end = start;
        }
    }

    /// Keeps the best `k` of the buffer; the worst of them becomes the threshold.
    fn cut(&mut self) {
        if self.buffer.len() <= self.k {
            return;
        }
        let dirs = &self.dirs;
        if self.k == 0 {
            self.buffer.clear();
            return;
        }
        self.buffer
            .select_nth_unstable_by(self.k - 1, |a, b| order(a, b, dirs));
        self.buffer.truncate(self.k);
        let worst = &self.buffer[self.k - 1];
        self.threshold = Some(Entry {
            key: worst.key.clone(),
            doc: worst.doc,
            score: worst.score,
        });
    }

    pub(crate) fn harvest(mut self) -> Vec<Candidate> {
        self.cut();
        let readers = self.readers;
        let missing = self.missing;
        self.buffer
            .into_iter()
            .map(|e| Candidate {
                key: e
                    .key
                    .iter()
                    .zip(&readers)
                    .zip(&missing)
                    .map(|((v, r), m)| r.global(*v, m.as_ref()))
                    .collect(),
                score: e.score,
                doc: DocAddress::new(self.segment, e.doc),
            })
            .collect()
    }
}
