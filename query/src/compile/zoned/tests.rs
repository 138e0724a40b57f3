use hydrant_index::timestamp::tantivy_date;
use serde_json::{Value, json};

use tantivy::query::AllQuery;

use super::*;
use crate::testing::{T0, corpus};

/// Documents a second apart, each up to 20 s off its place: rows in rough time order, as
/// logs arrive, so that zones overlap their neighbours.
fn docs(n: usize) -> Vec<Value> {
    let mut x = 42u64;
    (0..n)
        .map(|i| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ts = T0 + i as i64 * 1000 + (x >> 33) as i64 % 40_000 - 20_000;
            json!({"@timestamp": ts, "n": i})
        })
        .collect()
}

fn matches(w: &dyn Weight, seg: &SegmentReader) -> Vec<DocId> {
    let mut s = w.scorer(seg, 1.0).unwrap();
    let mut out = Vec::new();
    while s.doc() != TERMINATED {
        out.push(s.doc());
        s.advance();
    }
    out
}

/// The documents `seek` lands on for targets `step` apart (a conjunction's way of reading).
fn seeks(w: &dyn Weight, seg: &SegmentReader, step: u32) -> Vec<DocId> {
    let mut s = w.scorer(seg, 1.0).unwrap();
    let mut out = Vec::new();
    let mut target = 0;
    while s.doc() != TERMINATED {
        let doc = if s.doc() < target {
            s.seek(target)
        } else {
            s.doc()
        };
        out.push(doc);
        target = doc.saturating_add(step);
    }
    out
}

#[test]
fn a_zoned_range_matches_and_seeks_the_documents_tantivys_range_does() {
    let all = docs(60_000);
    let c = corpus("zr", &all[..36_000], 1, None);
    c.append(&all[36_000..]);
    // Bounds on the times of documents: an excluded bound excludes one.
    let times: Vec<i64> = all
        .iter()
        .map(|d| d["@timestamp"].as_i64().unwrap())
        .collect();
    let at = |i: i64| times.get(i as usize).copied().unwrap_or(T0 + i * 1000);
    use Bound::{Excluded, Included, Unbounded};
    let cases = [
        (Included(at(5000)), Unbounded),
        (Excluded(at(5000)), Unbounded),
        (Unbounded, Included(at(9000))),
        (Unbounded, Excluded(at(9000))),
        (Included(at(7000)), Excluded(at(7100))),
        (Excluded(at(12_000)), Included(at(26_000))),
        (Included(at(30_000)), Excluded(at(50_000))),
        (Included(at(33_000)), Included(at(33_001))),
        (Included(at(100)), Included(at(100))),
        (Excluded(at(100)), Excluded(at(100))),
        (Unbounded, Unbounded),
        (Included(at(-100)), Included(at(-50))),
        (Included(at(70_000)), Unbounded),
        (Included(at(-100)), Included(at(70_000))),
    ];
    let mut partial = 0;
    let zoned_before = ZONED.with(|n| n.get());
    for t in c.targets("zr") {
        let field = t.mapper.fields().timestamp;
        let scoring = EnableScoring::disabled_from_searcher(&t.searcher);
        for (lo, hi) in cases {
            // Every value the documents hold is whole milliseconds; the bounds hit them.
            let (lo, hi) = (lo.map(tantivy_date), hi.map(tantivy_date));
            let term = |d: &DateTime| Term::from_field_date(field, *d);
            let theirs: Box<dyn Weight> = match (lo, hi) {
                (Unbounded, Unbounded) => AllQuery.weight(scoring).unwrap(),
                _ => RangeQuery::new(lo.as_ref().map(term), hi.as_ref().map(term))
                    .weight(scoring)
                    .unwrap(),
            };
            let ours = ZonedRange::new(field, lo, hi).weight(scoring).unwrap();
            for seg in t.searcher.segment_readers() {
                let want = matches(theirs.as_ref(), seg);
                assert_eq!(matches(ours.as_ref(), seg), want, "{lo:?}..{hi:?}");
                if !want.is_empty() && want.len() < seg.max_doc() as usize {
                    partial += 1;
                }
                for step in [1, 700, 5000] {
                    assert_eq!(
                        seeks(ours.as_ref(), seg, step),
                        seeks(theirs.as_ref(), seg, step),
                        "{lo:?}..{hi:?} seeking by {step}"
                    );
                }
            }
        }
    }
    assert!(partial >= 8, "ranges that cut segments: {partial}");
    // Each pair of a range and a segment is read four times (once, then seeking by three
    // steps).
    let zoned = ZONED.with(|n| n.get()) - zoned_before;
    assert!(zoned >= 32, "segments read by zones: {zoned}");
}

/// `check(range, ours, tantivy's, segment)` for each of [`scrambled_day`]'s ranges over
/// each of its segments: our range's weight beside tantivy's `RangeQuery`'s.
fn over_a_scrambled_day(mut check: impl FnMut(&str, &dyn Weight, &dyn Weight, &SegmentReader)) {
    let (c, cases) = scrambled_day();
    for t in c.targets("tb") {
        let field = t.mapper.fields().timestamp;
        let scoring = EnableScoring::disabled_from_searcher(&t.searcher);
        for (lo, hi) in cases {
            let (lo, hi) = (lo.map(tantivy_date), hi.map(tantivy_date));
            let term = |d: &DateTime| Term::from_field_date(field, *d);
            let theirs = RangeQuery::new(lo.as_ref().map(term), hi.as_ref().map(term))
                .weight(scoring)
                .unwrap();
            let ours = ZonedRange::new(field, lo, hi).weight(scoring).unwrap();
            let range = format!("{lo:?}..{hi:?}");
            for seg in t.searcher.segment_readers() {
                check(&range, ours.as_ref(), theirs.as_ref(), seg);
            }
        }
    }
}

/// A range of epoch milliseconds.
type Span = (Bound<i64>, Bound<i64>);

/// Documents of a day in no time order (a scrambled permutation of 40,000 instants 2.16 s
/// apart), and ranges over them: seven narrow (the last 15 minutes and less), two wide and
/// one covering the day.
fn scrambled_day() -> (crate::testing::Corpus, [Span; 10]) {
    let n: i64 = 40_000;
    let all: Vec<Value> = (0..n)
        .map(|i| json!({"@timestamp": T0 + (i * 7919 % n) * 2_160, "n": i}))
        .collect();
    let at = |i: i64| T0 + i * 2_160;
    use Bound::{Excluded, Included, Unbounded};
    let cases = [
        (Included(at(n - 417)), Unbounded),
        (Excluded(at(n - 417)), Unbounded),
        (Included(at(100)), Excluded(at(130))),
        (Included(at(1000)), Included(at(1000))),
        (Excluded(at(1000)), Excluded(at(1001))),
        (Unbounded, Included(at(50))),
        (Included(at(20_000)), Included(at(24_000))),
        (Included(at(5000)), Unbounded),
        (Unbounded, Excluded(at(30_000))),
        (Included(at(-5)), Included(at(n + 5))),
    ];
    (corpus("tb", &all, 1, None), cases)
}

#[test]
fn a_narrow_range_over_rows_out_of_time_order_reads_them_by_time() {
    // The seven narrow ranges by buckets; the wide ones by tantivy's scan.
    let bucketed_before = time_buckets::BUCKETED.with(|b| b.get());
    over_a_scrambled_day(|range, ours, theirs, seg| {
        assert_eq!(matches(ours, seg), matches(theirs, seg), "{range}");
        for step in [1, 700, 5000] {
            assert_eq!(
                seeks(ours, seg, step),
                seeks(theirs, seg, step),
                "{range} seeking by {step}"
            );
        }
    });
    // The seven narrow ranges, each read four times, one segment.
    let bucketed = time_buckets::BUCKETED.with(|b| b.get()) - bucketed_before;
    assert_eq!(bucketed, 28, "ranges read by buckets");
}

#[test]
fn a_search_for_its_total_alone_counts_from_the_buckets_and_answers_as_a_walk() {
    let (c, _) = scrambled_day();
    let at = |i: i64| T0 + i * 2_160;
    // The last 19 hours: too wide for the bit-set path, counted from buckets.
    let range = json!({"range": {"@timestamp": {"gte": at(8_000)}}});
    // The path is seen on this thread: the segments are searched here, not on the pool.
    crate::search::pool::SEGMENTS_HERE.with(|h| h.set(true));
    let before = time_buckets::BUCKETED.with(|b| b.get());
    let count = c.search(
        "tb",
        json!({"size": 0, "track_total_hits": true, "timeout": "1m", "query": range}),
    );
    assert!(time_buckets::BUCKETED.with(|b| b.get()) > before, "{count}");
    // The same documents walked: a search that also asks for a hit.
    let walked = c.search(
        "tb",
        json!({"size": 1, "track_total_hits": true, "query": range}),
    );
    assert_eq!(
        count["hits"]["total"],
        json!({"value": 32_000, "relation": "eq"})
    );
    assert_eq!(count["hits"]["total"], walked["hits"]["total"]);
    assert_eq!(count["timed_out"], json!(false));
    // A bounded total is the count, bounded.
    let bounded = c.search("tb", json!({"size": 0, "query": range}));
    assert_eq!(
        bounded["hits"]["total"],
        json!({"value": 10_000, "relation": "gte"})
    );
}

#[test]
fn a_count_over_rows_out_of_time_order_comes_from_their_buckets_at_any_width() {
    let bucketed_before = time_buckets::BUCKETED.with(|b| b.get());
    let mut cutting = 0;
    over_a_scrambled_day(|range, ours, theirs, seg| {
        let want = theirs.count(seg).unwrap();
        assert_eq!(ours.count(seg).unwrap(), want, "{range}");
        assert_eq!(want as usize, matches(theirs, seg).len());
        if want > 0 && want < seg.max_doc() {
            cutting += 1;
        }
    });
    // Every range that cuts a segment (the day spans two daily indices), the wide ones
    // too, was counted from buckets (and one between two rows, which counts none there).
    let bucketed = time_buckets::BUCKETED.with(|b| b.get()) - bucketed_before;
    assert!(cutting >= 9, "ranges cutting a segment: {cutting}");
    assert_eq!(bucketed, cutting + 1, "counts from buckets");
}
