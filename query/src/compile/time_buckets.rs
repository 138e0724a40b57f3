//! A narrow `range` on `@timestamp` over a segment whose rows are out of time order.
//!
//! Zones (`zoned.rs`) read only the stretches of a segment a range can be in, which works when
//! rows arrive in rough time order. Rows out of order — shippers lagging each other, a replayed
//! archive, generated data — make every zone as wide as the segment, and tantivy's range then
//! unpacks and compares every row of it: "the last 15 minutes" of a day's segment reads the
//! whole day. Elasticsearch answers a range from its points index (a BKD tree) instead.
//!
//! Here each such segment gets its rows bucketed by time once, kept in a memo bounded by bytes
//! (segments of more than 8 M rows are left to the scan):
//! [`BUCKETS`] equal slices of the segment's time span, each the ascending list of its rows
//! (a counting sort: two passes over the column, no comparison sort; 4 bytes a row). A range
//! then takes the buckets inside it whole and compares only the rows of the two buckets it cuts,
//! and the rows it matches are joined back in document order in a bit set. A range over more than an
//! eighth of the rows is left to tantivy's scan, which reads many rows per instruction. The
//! documents matched are exactly tantivy's: the same column values compared with the same bounds.

use std::sync::Arc;

use tantivy::columnar::ColumnValues;
use tantivy::index::SegmentId;
use tantivy::query::BitSetDocSet;
use tantivy::{BitSet, DateTime, DocId};

use crate::memo::Memo;

/// Buckets per segment (a day's segment: 21 s each).
const BUCKETS: usize = 4096;

/// A range matching more than 1 / `SHARE` of a segment's rows is read by tantivy's scan.
const SHARE: u64 = 8;

/// A segment's rows by time.
pub(crate) struct TimeBuckets {
    min: i64,
    /// Nanoseconds per bucket (at least 1).
    width: i64,
    /// Where each bucket's rows start in `rows`, and where the last one ends.
    starts: Box<[u32]>,
    /// Every row, bucket by bucket, ascending within each.
    rows: Box<[DocId]>,
}

/// Bytes of buckets kept (32 million rows).
const KEPT_BYTES: usize = 128 << 20;

/// Per segment and date column (by name), its buckets.
static KEPT: Memo<(SegmentId, String), Arc<TimeBuckets>> =
    Memo::weighed(KEPT_BYTES, |b| 4 * (b.rows.len() + b.starts.len()));

#[cfg(test)]
thread_local! {
    /// Segments read by buckets on this thread, for the tests to see the path taken.
    pub(crate) static BUCKETED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl TimeBuckets {
    fn build(values: &dyn ColumnValues<DateTime>) -> TimeBuckets {
        let rows = values.num_vals() as usize;
        let min = values.min_value().into_timestamp_nanos();
        let span = values
            .max_value()
            .into_timestamp_nanos()
            .saturating_sub(min);
        let width = (span / BUCKETS as i64).saturating_add(1);
        let mut times = vec![DateTime::MIN; rows];
        values.get_range(0, &mut times);
        let bucket = |t: &DateTime| bucket_of(*t, min, width);
        let mut starts = vec![0u32; BUCKETS + 1];
        for t in &times {
            starts[bucket(t) + 1] += 1;
        }
        for b in 1..=BUCKETS {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![0 as DocId; rows];
        for (doc, t) in times.iter().enumerate() {
            let at = &mut next[bucket(t)];
            order[*at as usize] = doc as DocId;
            *at += 1;
        }
        TimeBuckets {
            min,
            width,
            starts: starts.into(),
            rows: order.into(),
        }
    }

    fn bucket(&self, t: DateTime) -> usize {
        bucket_of(t, self.min, self.width)
    }

    /// The rows whose time is in `[lo, hi]` (within the segment's span), of `max_doc`: the
    /// buckets' ascending runs joined in a bit set, cheaper than sorting them together.
    fn matching(
        &self,
        values: &dyn ColumnValues<DateTime>,
        (lo, hi): (DateTime, DateTime),
        max_doc: DocId,
    ) -> BitSet {
        let (first, last) = (self.bucket(lo), self.bucket(hi));
        let of = |from: usize, to: usize| {
            &self.rows[self.starts[from] as usize..self.starts[to] as usize]
        };
        let mut docs = BitSet::with_max_value(max_doc);
        let mut cut = |b: usize| {
            for doc in of(b, b + 1) {
                let t = values.get_val(*doc);
                if lo <= t && t <= hi {
                    docs.insert(*doc);
                }
            }
        };
        cut(first);
        if last > first {
            cut(last);
            for doc in of(first + 1, last) {
                docs.insert(*doc);
            }
        }
        docs
    }
}

impl TimeBuckets {
    /// How many rows have their time in `[lo, hi]` (within the segment's span): the sizes of
    /// the buckets inside it, and the rows of the two it cuts compared.
    fn count(&self, values: &dyn ColumnValues<DateTime>, (lo, hi): (DateTime, DateTime)) -> u32 {
        let (first, last) = (self.bucket(lo), self.bucket(hi));
        let cut = |b: usize| {
            let rows = &self.rows[self.starts[b] as usize..self.starts[b + 1] as usize];
            rows.iter()
                .filter(|doc| {
                    let t = values.get_val(**doc);
                    lo <= t && t <= hi
                })
                .count() as u32
        };
        if last == first {
            return cut(first);
        }
        cut(first) + cut(last) + (self.starts[last] - self.starts[first + 1])
    }
}

/// The bucket of time `t` in a span from `min`, `width` nanoseconds each: never decreasing
/// with `t` (what taking the buckets between two bounds whole relies on), and saturating at
/// either end (times ten thousand years apart overflow a difference in nanoseconds).
fn bucket_of(t: DateTime, min: i64, width: i64) -> usize {
    let off = t.into_timestamp_nanos().saturating_sub(min).max(0);
    ((off / width) as usize).min(BUCKETS - 1)
}

/// The documents of a segment whose time (column `name`, one value per row, `values`) is in
/// `[lo, hi]`, read by its buckets; `None` where the range is wide enough for tantivy's scan.
/// The range overlaps the segment's span and does not cover it.
pub(crate) fn matching(
    (segment, max_doc): (SegmentId, DocId),
    name: &str,
    values: &Arc<dyn ColumnValues<DateTime>>,
    lo: DateTime,
    hi: DateTime,
) -> Option<BitSetDocSet> {
    let rows = values.num_vals() as u64;
    // A segment whose buckets would fill more than a quarter of the memo is scanned: one that
    // could not be kept would be bucketed again on every search, dearer than the scan.
    if rows * 4 > KEPT_BYTES as u64 / 4 {
        return None;
    }
    let (min, max) = (values.min_value(), values.max_value());
    // Before the buckets are built: an estimate from the span, so that a wide range does not
    // pay for them.
    let span = |a: DateTime, b: DateTime| {
        (b.into_timestamp_nanos() as i128 - a.into_timestamp_nanos() as i128).max(0) + 1
    };
    let share = span(lo.max(min), hi.min(max)) * SHARE as i128;
    if share > span(min, max) {
        return None;
    }
    let buckets = KEPT.get_or((segment, name.to_string()), || {
        Arc::new(TimeBuckets::build(values.as_ref()))
    });
    let (first, last) = (buckets.bucket(lo), buckets.bucket(hi));
    let within = u64::from(buckets.starts[last + 1] - buckets.starts[first]);
    if within * SHARE > rows {
        return None;
    }
    #[cfg(test)]
    BUCKETED.with(|n| n.set(n.get() + 1));
    let docs = buckets.matching(values.as_ref(), (lo.max(min), hi.min(max)), max_doc);
    Some(BitSetDocSet::from(docs))
}

/// How many rows of a segment have their time (column `name`, one value per row, `values`) in
/// `[lo, hi]`, from its buckets — built and kept if they are not yet: a count joins no rows, so
/// a range of any width is answered from them, and a dashboard counting the same range on
/// every refresh reads two buckets' rows rather than the column. `None` for a segment too
/// heavy to keep. The range overlaps the segment's span.
pub(crate) fn count(
    segment: SegmentId,
    name: &str,
    values: &Arc<dyn ColumnValues<DateTime>>,
    lo: DateTime,
    hi: DateTime,
) -> Option<u32> {
    if values.num_vals() as u64 * 4 > KEPT_BYTES as u64 / 4 {
        return None;
    }
    let (min, max) = (values.min_value(), values.max_value());
    let buckets = KEPT.get_or((segment, name.to_string()), || {
        Arc::new(TimeBuckets::build(values.as_ref()))
    });
    #[cfg(test)]
    BUCKETED.with(|n| n.set(n.get() + 1));
    Some(buckets.count(values.as_ref(), (lo.max(min), hi.min(max))))
}

#[cfg(test)]
mod tests {
    use tantivy::DocSet;
    use tantivy::columnar::column_values::VecColumn;

    use super::*;

    /// The rows `buckets` match for `[lo, hi]`, read back from the bit set.
    fn read(
        buckets: &TimeBuckets,
        column: &dyn ColumnValues<DateTime>,
        lo: i64,
        hi: i64,
    ) -> Vec<DocId> {
        let range = (
            DateTime::from_timestamp_nanos(lo),
            DateTime::from_timestamp_nanos(hi),
        );
        let mut docs = BitSetDocSet::from(buckets.matching(column, range, column.num_vals()));
        let mut out = Vec::new();
        while docs.doc() != tantivy::TERMINATED {
            out.push(docs.doc());
            docs.advance();
        }
        out
    }

    #[test]
    fn buckets_match_what_a_scan_does_even_over_times_millennia_apart() {
        const S: i64 = 1_000_000_000;
        let n = 20_000i64;
        let mut nanos: Vec<i64> = (0..n)
            .map(|i| 1_700_000_000 * S + (i * 7919 % n) * S)
            .collect();
        let plain = nanos.clone();
        // The same rows with one time near each end of what a date can hold: the span's width
        // saturates, and every ordinary time falls in one bucket or two.
        nanos[17] = i64::MIN + 5;
        nanos[18_000] = i64::MAX - 5;
        for nanos in [plain, nanos] {
            let times: Vec<DateTime> = nanos
                .iter()
                .map(|t| DateTime::from_timestamp_nanos(*t))
                .collect();
            let column = VecColumn::from(times);
            let buckets = TimeBuckets::build(&column);
            let at = |i: i64| 1_700_000_000 * S + i * S;
            for (lo, hi) in [
                (at(19_100), i64::MAX),
                (at(100), at(130)),
                (at(100) + 1, at(130) - 1),
                (at(5), at(5)),
                (i64::MIN, at(50)),
                (i64::MIN, i64::MIN + 5),
                (i64::MAX - 5, i64::MAX),
                (at(-10), at(-1)),
            ] {
                let want: Vec<DocId> = (0..n as DocId)
                    .filter(|d| (lo..=hi).contains(&nanos[*d as usize]))
                    .collect();
                assert_eq!(read(&buckets, &column, lo, hi), want, "{lo}..={hi}");
            }
        }
    }

    #[test]
    fn a_segment_too_heavy_to_keep_is_left_to_the_scan() {
        let rows = KEPT_BYTES / 16 + 1;
        let times: Vec<DateTime> = (0..rows as i64)
            .map(|i| DateTime::from_timestamp_nanos(i * 1_000_000))
            .collect();
        let column: Arc<dyn ColumnValues<DateTime>> = Arc::new(VecColumn::from(times));
        let narrow = (
            DateTime::from_timestamp_nanos(1_000_000),
            DateTime::from_timestamp_nanos(2_000_000),
        );
        let segment = (SegmentId::generate_random(), rows as DocId);
        assert!(matching(segment, "t", &column, narrow.0, narrow.1).is_none());
        // One row fewer than the cap (the quarter of the memo) is read by buckets.
        let fewer: Vec<DateTime> = (0..rows as i64 - 1)
            .map(|i| DateTime::from_timestamp_nanos(i * 1_000_000))
            .collect();
        let column: Arc<dyn ColumnValues<DateTime>> = Arc::new(VecColumn::from(fewer));
        let segment = (SegmentId::generate_random(), rows as DocId - 1);
        assert!(matching(segment, "t", &column, narrow.0, narrow.1).is_some());
    }
}
