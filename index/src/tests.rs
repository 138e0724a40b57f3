//! Tests of the indexer against real tantivy indices in temporary directories.

use std::sync::Arc;

use hydrant_config::{Rotation, StreamConfig};

use crate::{AddOutcome, Catalog, ResolveOptions, SourceDoc, StreamIndexer};

fn settings(rotation: Rotation) -> hydrant_config::IndexSettings {
    let mut s = StreamConfig::builtin().index;
    s.rotation = rotation;
    s.writer_threads = 1;
    s.writer_memory = 20 * 1024 * 1024;
    s
}

fn count(catalog: &Catalog, expr: &str) -> u64 {
    catalog
        .resolve(expr, ResolveOptions::default())
        .unwrap()
        .iter()
        .flat_map(|h| h.shards().iter().map(|s| s.searcher().num_docs()))
        .sum()
}

const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_764_115_200_000; // 2025-11-26T00:00:00Z

#[test]
fn records_rotate_by_their_own_timestamp_including_late_ones() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::OneDay));
    let times = [T0 + 10, T0 + DAY_MS + 10, T0 + 20, T0 - 1];
    for (i, ts) in times.iter().enumerate() {
        let id = format!("r{i}");
        let doc = SourceDoc {
            id: &id,
            timestamp_ms: *ts,
            source: b"{\"a\":1}",
        };
        assert_eq!(
            ix.add(i as u64 + 1, &doc, false).unwrap(),
            AddOutcome::Added
        );
    }
    ix.commit(4).unwrap();
    assert_eq!(count(&catalog, "web-2025-11-26"), 2);
    assert_eq!(count(&catalog, "web-2025-11-27"), 1);
    assert_eq!(count(&catalog, "web-2025-11-25"), 1);
    assert_eq!(count(&catalog, "web"), 4);
}

#[test]
fn replay_after_reopen_adds_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let docs: Vec<String> = (0..10).map(|i| format!("{{\"n\":{i}}}")).collect();
    {
        let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
        let mut ix = StreamIndexer::new(catalog, "web", settings(Rotation::NoRotation));
        for (i, d) in docs.iter().enumerate().take(6) {
            let id = format!("r{i}");
            let doc = SourceDoc {
                id: &id,
                timestamp_ms: T0,
                source: d.as_bytes(),
            };
            ix.add(i as u64 + 1, &doc, false).unwrap();
        }
        ix.commit(6).unwrap();
        // Records 7..10 are added but never committed: a crash loses them from the index.
        for (i, d) in docs.iter().enumerate().skip(6) {
            let id = format!("r{i}");
            let doc = SourceDoc {
                id: &id,
                timestamp_ms: T0,
                source: d.as_bytes(),
            };
            ix.add(i as u64 + 1, &doc, false).unwrap();
        }
        // Dropping a writer without committing discards its uncommitted documents.
        drop(ix);
    }
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::NoRotation));
    let mut outcomes = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let id = format!("r{i}");
        let doc = SourceDoc {
            id: &id,
            timestamp_ms: T0,
            source: d.as_bytes(),
        };
        outcomes.push(ix.add(i as u64 + 1, &doc, false).unwrap());
    }
    ix.commit(10).unwrap();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == AddOutcome::AlreadyCommitted)
            .count(),
        6
    );
    assert_eq!(count(&catalog, "web"), 10);
}

#[test]
fn rewriting_a_client_id_replaces_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::NoRotation));
    for pos in 1..=3 {
        let doc = SourceDoc {
            id: "same",
            timestamp_ms: T0,
            source: b"{\"v\":1}",
        };
        ix.add(pos, &doc, true).unwrap();
    }
    ix.commit(3).unwrap();
    assert_eq!(count(&catalog, "web"), 1);
}

#[test]
fn a_bad_record_is_rejected_alone() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::NoRotation));
    let good = SourceDoc {
        id: "a",
        timestamp_ms: T0,
        source: b"{\"v\":1}",
    };
    let bad = SourceDoc {
        id: "b",
        timestamp_ms: T0,
        source: b"not json",
    };
    assert_eq!(ix.add(1, &good, false).unwrap(), AddOutcome::Added);
    assert!(matches!(
        ix.add(2, &bad, false).unwrap(),
        AddOutcome::Rejected(_)
    ));
    ix.commit(2).unwrap();
    assert_eq!(count(&catalog, "web"), 1);
}

fn add_n(ix: &mut StreamIndexer, from: u64, n: u64, ts: i64) {
    for pos in from..from + n {
        let id = format!("id-{pos}");
        let doc = SourceDoc {
            id: &id,
            timestamp_ms: ts,
            source: b"{\"a\":1}",
        };
        assert_eq!(ix.add(pos, &doc, false).unwrap(), AddOutcome::Added);
    }
}

#[test]
fn shard_count_comes_from_the_sizing_plan_and_records_spread_evenly() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut s = settings(Rotation::OneDay);
    // 100 GiB a day in 30 GiB shards: ⌈100 × 1.1 / 30⌉ = 4 shards per daily index.
    s.sizing.daily_volume = 100 * 1024 * 1024 * 1024;
    let mut ix = StreamIndexer::new(catalog.clone(), "big", s);
    add_n(&mut ix, 1, 4000, T0);
    ix.commit(4000).unwrap();
    let h = catalog.get("big-2025-11-26").unwrap();
    assert_eq!(h.shards().len(), 4);
    assert_eq!(h.meta().shards, 4);
    let counts: Vec<u64> = h.shards().iter().map(|s| s.searcher().num_docs()).collect();
    assert_eq!(counts.iter().sum::<u64>(), 4000);
    // Hash routing: each shard within 10% of an even share.
    for c in &counts {
        assert!((900..=1100).contains(c), "uneven shards: {counts:?}");
    }
}

#[test]
fn retention_deletes_whole_indices_past_it_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut s = settings(Rotation::OneDay);
    s.retention = std::time::Duration::from_secs(2 * 86_400);
    let mut ix = StreamIndexer::new(catalog.clone(), "web", s);
    for day in 0..5 {
        add_n(&mut ix, 1 + day as u64 * 10, 10, T0 + day * DAY_MS + 1000);
    }
    ix.commit(50).unwrap();
    assert_eq!(catalog.stream_indices("web").len(), 5);
    // "Now" is the start of day 5: days 0, 1 and 2 ended two days ago or more.
    let now = T0 + 5 * DAY_MS;
    let done = ix.maintain(now, 50).unwrap();
    let mut deleted = done.deleted.clone();
    deleted.sort();
    assert_eq!(
        deleted,
        ["web-2025-11-26", "web-2025-11-27", "web-2025-11-28"]
    );
    let left: Vec<String> = catalog
        .stream_indices("web")
        .iter()
        .map(|h| h.name().to_string())
        .collect();
    assert_eq!(left, ["web-2025-11-29", "web-2025-11-30"]);
    assert!(!dir.path().join("web-2025-11-26").exists());
    assert_eq!(count(&catalog, "web"), 20);
    // Deleted indices stay deleted after a restart.
    drop(ix);
    let reopened = Catalog::open(dir.path()).unwrap();
    assert_eq!(reopened.stream_indices("web").len(), 2);
}

#[test]
fn an_index_past_its_period_is_sealed_into_one_segment_once_its_records_stop() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::OneDay));
    for round in 0..4u64 {
        add_n(&mut ix, 1 + round * 10, 10, T0 + 1000);
        ix.commit(round * 10 + 10).unwrap();
    }
    let h = catalog.get("web-2025-11-26").unwrap();
    let segments = |h: &crate::IndexHandle| {
        h.shards()[0]
            .index()
            .searchable_segment_ids()
            .unwrap()
            .len()
    };
    assert!(segments(&h) >= 2, "each commit made a segment");
    // The period is over, but records came since the last maintenance: late records (or a
    // backfill) are still arriving, and the index stays open.
    let ended = T0 + DAY_MS + crate::SEAL_GRACE_MS + 1;
    assert!(ix.maintain(ended, 40).unwrap().sealing.is_empty());
    add_n(&mut ix, 41, 10, T0 + 2000);
    ix.commit(50).unwrap();
    let idle = ended + crate::SEAL_GRACE_MS - 1;
    assert!(ix.maintain(idle, 50).unwrap().sealing.is_empty());
    // Nothing for the grace period after the last record: sealed.
    let later = idle + crate::SEAL_GRACE_MS;
    let done = ix.maintain(later, 50).unwrap();
    assert_eq!(done.sealing, ["web-2025-11-26"]);
    // The merge runs in the background; later maintenance closes the writer once it is done.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while segments(&h) > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        ix.maintain(later, 50).unwrap();
    }
    assert_eq!(segments(&h), 1);
    h.shards()[0].reload_for_tests();
    assert_eq!(count(&catalog, "web"), 50);
}

#[test]
fn a_hot_index_merges_the_small_segments_of_its_refreshes_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::OneDay));
    // 25 refreshes, one small segment each.
    for round in 0..25u64 {
        add_n(&mut ix, 1 + round * 2, 2, T0 + 1000);
        ix.commit(round * 2 + 2).unwrap();
    }
    let h = catalog.get("web-2025-11-26").unwrap();
    let index = h.shards()[0].index().clone();
    let segments = || index.searchable_segment_ids().unwrap().len();
    // Merges run in the background and finish later; tiers of ten keep the count down.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while segments() > 10 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        segments() <= 10,
        "{} segments after 25 refreshes",
        segments()
    );
    h.shards()[0].reload_for_tests();
    assert_eq!(count(&catalog, "web"), 50);
}

#[test]
fn deleting_an_index_closes_its_writer_and_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "web", settings(Rotation::OneDay));
    add_n(&mut ix, 1, 5, T0);
    ix.commit(5).unwrap();
    ix.delete(&["web-2025-11-26".to_string()]).unwrap();
    assert!(catalog.get("web-2025-11-26").is_none());
    // The stream can write a new index of the same name afterwards.
    add_n(&mut ix, 6, 3, T0);
    ix.commit(8).unwrap();
    assert_eq!(count(&catalog, "web"), 3);
}

#[test]
fn interleaved_backfill_over_many_days_replays_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // Record i falls on day i % 12: more days than writers kept open.
    let doc_ts = |i: u64| T0 + (i % 12) as i64 * DAY_MS + 1000;
    let ids: Vec<String> = (1..=600u64).map(|i| format!("r{i}")).collect();
    let batch = |from: u64, to: u64| -> Vec<(u64, SourceDoc<'_>, bool)> {
        (from..=to)
            .map(|i| {
                (
                    i,
                    SourceDoc {
                        id: &ids[i as usize - 1],
                        timestamp_ms: doc_ts(i),
                        source: b"{\"a\":1}",
                    },
                    false,
                )
            })
            .collect()
    };
    {
        let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
        let mut ix = StreamIndexer::new(catalog, "bf", settings(Rotation::OneDay));
        for chunk in 0..3u64 {
            ix.add_batch(&batch(chunk * 100 + 1, chunk * 100 + 100))
                .unwrap();
        }
        ix.commit(300).unwrap();
        // More records, never committed (writers evicted along the way commit some of them).
        for chunk in 3..6u64 {
            ix.add_batch(&batch(chunk * 100 + 1, chunk * 100 + 100))
                .unwrap();
        }
        drop(ix);
    }
    let catalog = Arc::new(Catalog::open(dir.path()).unwrap());
    let mut ix = StreamIndexer::new(catalog.clone(), "bf", settings(Rotation::OneDay));
    for chunk in 0..6u64 {
        ix.add_batch(&batch(chunk * 100 + 1, chunk * 100 + 100))
            .unwrap();
    }
    ix.commit(600).unwrap();
    assert_eq!(catalog.stream_indices("bf").len(), 12);
    assert_eq!(
        count(&catalog, "bf"),
        600,
        "every record once, whatever was evicted and committed early"
    );
}
