//! A stream with destinations this test drives by hand: admission against the buffer limits,
//! flushing on the size and interval hints (on a paused clock), the delivery watermark, and
//! truncation of the write-ahead log only past what every destination has.

use std::time::Duration;

use bytes::Bytes;
use hydrant_config::StreamConfig;

use super::*;
use crate::metrics::Metrics;
use crate::wal::WalOptions;

/// A stream and the ports of its destinations.
struct Harness {
    stream: Arc<Stream>,
    ports: Vec<DestinationPort>,
    dir: tempfile::TempDir,
}

fn record(i: usize, size: usize) -> Record {
    Record {
        id: format!("r{i}").into(),
        client_id: false,
        arrival_ms: 1_000,
        timestamp_ms: 1_000,
        is_object: true,
        data: Bytes::from(format!("{{\"pad\":\"{}\"}}", "x".repeat(size))),
        source: None,
        delete: false,
    }
}

fn harness(kinds: &[DestinationKind], configure: impl FnOnce(&mut StreamConfig)) -> Harness {
    let mut config = StreamConfig::builtin();
    configure(&mut config);
    let dir = tempfile::tempdir().unwrap();
    let options = WalOptions {
        fsync: config.fsync,
        fsync_interval: config.fsync_interval,
        // Small segments, so that truncation is visible after a few records.
        segment_size: 4 * 1024,
    };
    let (wal, _) = Wal::open(dir.path(), options, 1).unwrap();
    let metrics = Metrics::new();
    let watermarks: Vec<(DestinationKind, Watermark)> =
        kinds.iter().map(|k| (*k, Watermark::new(0))).collect();
    let shared = StreamShared::new(StreamSetup {
        name: "web".to_string(),
        config,
        metrics: metrics.stream("web"),
        global_pending: Arc::new(AtomicU64::new(0)),
        global_limit: u64::MAX,
        start: 0,
        wal: Arc::new(wal),
        destinations: watermarks.clone(),
    });
    let mut links = Vec::new();
    let mut ports = Vec::new();
    for (kind, watermark) in watermarks {
        let m = metrics.destination("web", kind.name());
        let (link, port) = destination_channel(kind, &shared, watermark, m);
        links.push(link);
        ports.push(port);
    }
    let stream = Stream::start(StreamParts {
        shared,
        mapper: Arc::new(hydrant_index::DocMapper::new()),
        links,
        runners: Runners::default(),
        cancel: CancellationToken::new(),
        index_control: None,
        error_output: Arc::new(crate::error_output::ErrorOutput::new(
            Arc::new(object_store::memory::InMemory::new()),
            "web",
            "errors/",
            hydrant_config::Compression::Gzip,
        )),
    });
    Harness { stream, ports, dir }
}

fn segments(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log"))
        })
        .count()
}

#[tokio::test(start_paused = true)]
async fn the_buffer_flushes_on_its_interval_hint() {
    // The buffer's age starts on the log's writer thread, off the runtime, where the clock is
    // the real one: it leads the paused clock by the real time the set-up took.
    let real = std::time::Instant::now();
    let mut h = harness(&[DestinationKind::Backup], |c| {
        c.buffer_interval = Duration::from_secs(60);
        c.buffer_size = 1024 * 1024;
    });
    // Measured on the paused clock rather than by sleeping 59 s and peeking: the clock
    // advances by itself while the log is written on a blocking thread, so a peek at "59 s"
    // could come after the flush.
    let start = tokio::time::Instant::now();
    let receipt = h.stream.append(vec![record(0, 10)]).await.unwrap();
    assert_eq!((receipt.first, receipt.last), (1, 1));
    let batch = h.ports[0].rx.recv().await.unwrap();
    let waited = start.elapsed();
    let slack = Duration::from_secs(1) + real.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(60) + slack,
        "flushed after {waited:?}, not on the 60 s interval"
    );
    assert_eq!((batch.entries.len(), batch.last), (1, 1));
}

// On a real clock: a paused one would jump to the interval while the test waits for the log's
// writer thread, and flush on the interval instead.
#[tokio::test]
async fn the_buffer_flushes_at_once_on_its_size_hint() {
    let mut h = harness(&[DestinationKind::Backup], |c| {
        c.buffer_interval = Duration::from_secs(900);
        c.buffer_size = 1024;
    });
    h.stream.append(vec![record(0, 100)]).await.unwrap();
    tokio::task::yield_now().await;
    assert!(h.ports[0].rx.try_recv().is_err(), "under the size hint");
    h.stream.append(vec![record(1, 2000)]).await.unwrap();
    let batch = tokio::time::timeout(Duration::from_secs(10), h.ports[0].rx.recv())
        .await
        .expect("a full buffer is flushed without waiting for the interval")
        .unwrap();
    assert_eq!(batch.entries.len(), 2);
    assert_eq!(batch.last, 2);
}

#[tokio::test]
async fn admission_past_max_buffered_size_is_throttled_until_delivery_frees_room() {
    let mut h = harness(&[DestinationKind::Backup], |c| {
        c.buffer_interval = Duration::ZERO;
        c.max_buffered_size = 3 * 1024;
    });
    let mut accepted = 0;
    let refused = loop {
        match h.stream.append(vec![record(accepted, 1000)]).await {
            Ok(_) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 10, "never throttled");
    };
    assert!(
        matches!(refused, IngestError::Throttled { .. }),
        "{refused}"
    );
    assert!((2..=3).contains(&accepted), "{accepted}");
    assert!(h.stream.buffered_bytes() <= 3 * 1024);
    // The destination takes everything: the room comes back.
    let mut last = 0;
    while last < accepted as u64 {
        last = h.ports[0].rx.recv().await.unwrap().last;
    }
    h.ports[0].delivered(last);
    assert_eq!(h.stream.buffered_bytes(), 0);
    h.stream.append(vec![record(99, 1000)]).await.unwrap();
}

#[tokio::test]
async fn the_log_is_truncated_only_past_what_every_destination_has() {
    let h = harness(
        &[DestinationKind::Backup, DestinationKind::Elasticsearch],
        |c| {
            c.buffer_interval = Duration::ZERO;
        },
    );
    for i in 0..20 {
        h.stream.append(vec![record(i, 1000)]).await.unwrap();
    }
    let before = segments(h.dir.path());
    assert!(before >= 4, "{before} segments");
    // One destination has it all, the other nothing: everything stays.
    h.ports[0].delivered(20);
    assert_eq!(h.stream.delivered(), 0);
    h.stream
        .shared
        .wal
        .append(WalBatch::default(), Box::new(|_| {}))
        .await
        .ok();
    assert_eq!(segments(h.dir.path()), before);
    // Both past record 10: the segments that hold only records up to 10 go.
    h.ports[1].delivered(10);
    assert_eq!(h.stream.delivered(), 10);
    h.stream
        .shared
        .wal
        .append(WalBatch::default(), Box::new(|_| {}))
        .await
        .ok();
    let after = segments(h.dir.path());
    assert!(after < before, "{after} of {before} segments left");
    assert!(
        after >= 2,
        "records 11..20 are still needed: {after} segments left"
    );
}

#[tokio::test]
async fn without_an_index_what_every_destination_has_is_searchable() {
    let h = harness(&[DestinationKind::Backup], |c| {
        c.buffer_interval = Duration::ZERO
    });
    let receipt = h
        .stream
        .append(vec![record(0, 10), record(1, 10)])
        .await
        .unwrap();
    assert!(
        !h.stream
            .wait_searchable(receipt.last, Duration::from_millis(50))
            .await
    );
    h.ports[0].delivered(receipt.last);
    assert!(
        h.stream
            .wait_searchable(receipt.last, Duration::from_millis(50))
            .await
    );
}

#[tokio::test]
async fn with_an_index_only_the_index_says_what_is_searchable() {
    let h = harness(&[DestinationKind::Index, DestinationKind::Backup], |c| {
        c.buffer_interval = Duration::ZERO
    });
    let receipt = h.stream.append(vec![record(0, 10)]).await.unwrap();
    h.ports[0].delivered(receipt.last);
    h.ports[1].delivered(receipt.last);
    assert_eq!(h.stream.delivered(), receipt.last);
    assert!(
        !h.stream
            .wait_searchable(receipt.last, Duration::from_millis(50))
            .await
    );
    h.stream.shared.searchable.send_replace(receipt.last);
    assert!(
        h.stream
            .wait_searchable(receipt.last, Duration::from_millis(50))
            .await
    );
}

#[tokio::test]
async fn a_closing_stream_refuses_records_and_keeps_what_it_took() {
    let h = harness(&[DestinationKind::Backup], |c| {
        c.buffer_interval = Duration::from_secs(60)
    });
    h.stream.append(vec![record(0, 10)]).await.unwrap();
    let mut port = h.ports.into_iter().next().unwrap();
    let shutdown = tokio::spawn({
        let stream = h.stream.clone();
        async move { stream.shutdown().await }
    });
    // Shutdown flushes the buffer at once, whatever the interval says.
    let batch = tokio::time::timeout(Duration::from_secs(5), port.rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.entries.len(), 1);
    drop(port);
    shutdown.await.unwrap();
    assert!(matches!(
        h.stream.append(vec![record(1, 10)]).await,
        Err(IngestError::ShuttingDown)
    ));
}
