//! A `range` on `@timestamp` that reads only the stretches of a segment its times can be in.
//!
//! Logs arrive roughly in time order, so a segment's rows are too: each [`ZONE`] rows hold a
//! narrow span of times. tantivy's range over a fast field unpacks and compares every row of
//! every segment whose min–max overlaps the range (the newest segment, for "the last 15
//! minutes"); this query keeps each segment's per-zone min and max (one pass over the column,
//! once per segment: a segment never changes) and reads only the zones that overlap, taking
//! the zones inside the range whole. A segment of three zones or fewer, or one where the range
//! cuts more than a quarter of the zones (rows out of time order), goes to tantivy's range, as
//! do columns where a document may have no time, or several. The documents matched are exactly
//! tantivy's: the same column values compared with the same bounds.

use std::ops::Bound;
use std::sync::Arc;

use tantivy::columnar::{Cardinality, Column, ColumnValues};
use tantivy::index::SegmentId;
use tantivy::query::{
    AllScorer, ConstScorer, EmptyScorer, EnableScoring, ExistsQuery, Explanation, Query,
    RangeQuery, Scorer, Weight,
};
use tantivy::schema::Field;
use tantivy::{DateTime, DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

use super::time_buckets;
use crate::memo::Memo;

/// Rows per zone.
pub(crate) const ZONE: usize = 4096;

/// Each zone's smallest and largest time.
pub(crate) type Zones = Arc<[(DateTime, DateTime)]>;

/// Per segment and date column (by name), its zones; 4,096 segments kept (a segment of a
/// million rows holds 245 zones: 4 KB).
static ZONES: Memo<(SegmentId, String), Zones> = Memo::new(4096);

#[cfg(test)]
thread_local! {
    /// Segments read by zones on this thread, for the tests to see the path taken.
    static ZONED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A `range` on the event time (`@timestamp`), epoch milliseconds.
#[derive(Debug, Clone)]
pub(crate) struct ZonedRange {
    field: Field,
    lo: Bound<DateTime>,
    hi: Bound<DateTime>,
}

impl ZonedRange {
    pub(crate) fn new(field: Field, lo: Bound<DateTime>, hi: Bound<DateTime>) -> ZonedRange {
        ZonedRange { field, lo, hi }
    }
}

impl Query for ZonedRange {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let tantivy = if matches!((self.lo, self.hi), (Bound::Unbounded, Bound::Unbounded)) {
            // No bound: every document with a time, as Elasticsearch answers (tantivy's range
            // takes at least one bound).
            let name = enable_scoring.schema().get_field_name(self.field);
            ExistsQuery::new(name.to_string(), false).weight(enable_scoring)?
        } else {
            let term = |d: &DateTime| Term::from_field_date(self.field, *d);
            RangeQuery::new(self.lo.as_ref().map(term), self.hi.as_ref().map(term))
                .weight(enable_scoring)?
        };
        Ok(Box::new(ZonedWeight {
            range: self.clone(),
            tantivy,
        }))
    }
}

struct ZonedWeight {
    range: ZonedRange,
    /// tantivy's own range (or `exists`, without bounds): for columns that are not one time
    /// per document, and to explain.
    tantivy: Box<dyn Weight>,
}

impl ZonedRange {
    /// The inclusive span of column values in the range, if any (an excluded bound moves by
    /// one nanosecond, the column's finest step).
    fn span(&self) -> Option<(DateTime, DateTime)> {
        let step = |d: DateTime, by: i64| {
            d.into_timestamp_nanos()
                .checked_add(by)
                .map(DateTime::from_timestamp_nanos)
        };
        let lo = match self.lo {
            Bound::Included(d) => d,
            Bound::Excluded(d) => step(d, 1)?,
            Bound::Unbounded => DateTime::MIN,
        };
        let hi = match self.hi {
            Bound::Included(d) => d,
            Bound::Excluded(d) => step(d, -1)?,
            Bound::Unbounded => DateTime::MAX,
        };
        (lo <= hi).then_some((lo, hi))
    }
}

impl Weight for ZonedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let field = reader.schema().get_field_name(self.range.field);
        let Some(column) = reader.fast_fields().column_opt::<DateTime>(field)? else {
            return Ok(Box::new(EmptyScorer));
        };
        // Segments of a few zones (every fresh one) are read whole as fast as by zones.
        if column.get_cardinality() != Cardinality::Full
            || column.values.num_vals() as usize <= 3 * ZONE
        {
            return self.tantivy.scorer(reader, boost);
        }
        let values = column.values;
        let Some((lo, hi)) = self.range.span() else {
            return Ok(Box::new(EmptyScorer));
        };
        if values.num_vals() == 0 || values.max_value() < lo || values.min_value() > hi {
            return Ok(Box::new(EmptyScorer));
        }
        let max_doc = reader.max_doc();
        if lo <= values.min_value() && values.max_value() <= hi {
            // A bare `AllScorer` where it scores 1, as tantivy's range answers: a `bool`
            // drops it from its `must` clauses.
            if boost == 1.0 {
                return Ok(Box::new(AllScorer::new(max_doc)));
            }
            return Ok(Box::new(ConstScorer::new(AllScorer::new(max_doc), boost)));
        }
        let zones = zones(reader.segment_id(), field, values.as_ref());
        let cut = zones
            .iter()
            .filter(|(min, max)| *max >= lo && *min <= hi && !(lo <= *min && *max <= hi))
            .count();
        if cut * 4 > zones.len() {
            // Rows out of time order (zones as wide as the segment): a narrow range reads the
            // segment's rows by time (`time_buckets.rs`); a wide one, tantivy's own scan of the
            // column, which compares many values per instruction.
            let segment = reader.segment_id();
            return Ok(
                match time_buckets::matching((segment, max_doc), field, &values, lo, hi) {
                    Some(docs) => Box::new(ConstScorer::new(docs, boost)),
                    None => self.tantivy.scorer(reader, boost)?,
                },
            );
        }
        #[cfg(test)]
        ZONED.with(|n| n.set(n.get() + 1));
        let docs = ZonedDocs::new(values, zones, lo, hi);
        Ok(Box::new(ConstScorer::new(docs, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.tantivy.explain(reader, doc)
    }

    /// A segment without deletions whose rows are out of time order is counted from its time
    /// buckets (`time_buckets::count`); any other as tantivy counts (its default).
    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        if reader.num_deleted_docs() == 0
            && let Some(n) = self.bucket_count(reader)?
        {
            return Ok(n);
        }
        let mut scorer = self.scorer(reader, 1.0)?;
        Ok(match reader.alive_bitset() {
            Some(alive) => scorer.count(alive),
            None => scorer.count_including_deleted(),
        })
    }
}

impl ZonedWeight {
    /// The count of a segment whose rows are out of time order and which the range cuts, from
    /// its buckets; `None` for any other (the scorer's cases, in its order).
    fn bucket_count(&self, reader: &SegmentReader) -> tantivy::Result<Option<u32>> {
        let field = reader.schema().get_field_name(self.range.field);
        let Some(column) = reader.fast_fields().column_opt::<DateTime>(field)? else {
            return Ok(None);
        };
        if column.get_cardinality() != Cardinality::Full
            || column.values.num_vals() as usize <= 3 * ZONE
        {
            return Ok(None);
        }
        let values = column.values;
        let Some((lo, hi)) = self.range.span() else {
            return Ok(None);
        };
        let (min, max) = (values.min_value(), values.max_value());
        if max < lo || min > hi || (lo <= min && max <= hi) {
            return Ok(None);
        }
        let zones = zones(reader.segment_id(), field, values.as_ref());
        let cut = zones
            .iter()
            .filter(|(min, max)| *max >= lo && *min <= hi && !(lo <= *min && *max <= hi))
            .count();
        if cut * 4 <= zones.len() {
            return Ok(None);
        }
        Ok(time_buckets::count(
            reader.segment_id(),
            field,
            &values,
            lo,
            hi,
        ))
    }
}

/// The zones of the date column `name` of `reader`, when there are any to read by: one time
/// per document (a `Full` column) and more than three zones of rows.
pub(crate) fn time_zones(
    reader: &SegmentReader,
    name: &str,
    column: &Column<DateTime>,
) -> Option<Zones> {
    if column.get_cardinality() != Cardinality::Full
        || column.values.num_vals() as usize <= 3 * ZONE
    {
        return None;
    }
    Some(zones(reader.segment_id(), name, column.values.as_ref()))
}

/// The zones of a segment's time column, from [`ZONES`] or one pass over it.
fn zones(segment: SegmentId, name: &str, values: &dyn ColumnValues<DateTime>) -> Zones {
    ZONES.get_or((segment, name.to_string()), || {
        let rows = values.num_vals() as usize;
        let mut block = vec![DateTime::MIN; ZONE];
        (0..rows.div_ceil(ZONE))
            .map(|z| {
                let start = z * ZONE;
                let block = &mut block[..ZONE.min(rows - start)];
                values.get_range(start as u64, block);
                block
                    .iter()
                    .fold((DateTime::MAX, DateTime::MIN), |(lo, hi), v| {
                        (lo.min(*v), hi.max(*v))
                    })
            })
            .collect()
    })
}

/// The documents whose time is in `[lo, hi]`, a zone at a time.
struct ZonedDocs {
    values: Arc<dyn ColumnValues<DateTime>>,
    zones: Zones,
    lo: DateTime,
    hi: DateTime,
    /// The next zone to read.
    next: usize,
    /// The matches of the zone read last, and the position of the current one.
    docs: Vec<DocId>,
    at: usize,
    scratch: Vec<DateTime>,
    /// Rows of the zones that overlap the range: the most documents there can be.
    hint: u32,
}

impl ZonedDocs {
    fn new(
        values: Arc<dyn ColumnValues<DateTime>>,
        zones: Zones,
        lo: DateTime,
        hi: DateTime,
    ) -> ZonedDocs {
        let overlapping = zones
            .iter()
            .filter(|(min, max)| *max >= lo && *min <= hi)
            .count();
        let mut docs = ZonedDocs {
            values,
            zones,
            lo,
            hi,
            next: 0,
            docs: Vec::with_capacity(ZONE),
            at: 0,
            scratch: vec![DateTime::MIN; ZONE],
            hint: (overlapping * ZONE) as u32,
        };
        docs.read_zones();
        docs
    }

    /// Reads zones from `next` until one holds matches; none left: `docs` is empty.
    fn read_zones(&mut self) {
        self.docs.clear();
        self.at = 0;
        let rows = self.values.num_vals() as usize;
        while self.docs.is_empty() && self.next < self.zones.len() {
            let z = self.next;
            self.next += 1;
            let (min, max) = self.zones[z];
            if max < self.lo || min > self.hi {
                continue;
            }
            let start = z * ZONE;
            let end = rows.min(start + ZONE);
            if self.lo <= min && max <= self.hi {
                self.docs.extend(start as DocId..end as DocId);
                continue;
            }
            let block = &mut self.scratch[..end - start];
            self.values.get_range(start as u64, block);
            let (lo, hi) = (self.lo, self.hi);
            self.docs.extend(
                block
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| lo <= **v && **v <= hi)
                    .map(|(i, _)| (start + i) as DocId),
            );
        }
    }
}

impl DocSet for ZonedDocs {
    fn advance(&mut self) -> DocId {
        self.at += 1;
        if self.at >= self.docs.len() {
            self.read_zones();
        }
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc() >= target {
            return self.doc();
        }
        // A zone after the current one: skip the zones before the target's.
        let zone = target as usize / ZONE;
        if self.docs.last().is_none_or(|last| *last < target) && zone >= self.next {
            self.next = zone;
            self.read_zones();
        }
        loop {
            if self.docs.is_empty() {
                return TERMINATED;
            }
            self.at += self.docs[self.at..].partition_point(|d| *d < target);
            if self.at < self.docs.len() {
                return self.doc();
            }
            self.read_zones();
        }
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        self.hint
    }
}

#[cfg(test)]
mod tests;
