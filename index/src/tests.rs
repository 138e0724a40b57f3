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
