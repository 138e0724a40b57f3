//! Entry points for the fuzzers (`fuzz/`, run with `cargo fuzz`) and for the replay of their
//! corpora in `cargo test` (`fuzzing/`). Each takes arbitrary bytes, runs one parser of the
//! accept path the way a request would, and checks what must hold whatever the input: no
//! panic, and where there is an oracle, that it agrees (a record read back from its log
//! encoding is the record written). Compiled only with the `fuzz` feature.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hydrant_config::{FsyncPolicy, MappingConfig, MappingMode, RecordFormat};
use hydrant_index::DocMapper;

use crate::accept::Acceptor;
use crate::ndjson::{LineFormat, parse_lines_with};
use crate::processing::Chain;
use crate::record::{Record, decode_record, encode_record};
use crate::wal::{Wal, WalBatch, WalOptions};

const MAX_RECORD: u64 = 1 << 20;

fn acceptor() -> Acceptor {
    let mapper = DocMapper::with_mapping(&MappingConfig {
        mode: MappingMode::Dynamic,
        fields: Vec::new(),
    });
    Acceptor::new(Arc::new(mapper), MAX_RECORD, 1_764_115_200_000)
}

/// A record survives its write-ahead-log encoding unchanged.
fn round_trip(record: &Record) {
    let mut buf = Vec::new();
    encode_record(record, &mut buf);
    let back = decode_record(Bytes::from(buf)).expect("an encoded record decodes");
    assert_eq!(back.id, record.id);
    assert_eq!(back.data, record.data);
    assert_eq!(back.timestamp_ms, record.timestamp_ms);
    assert_eq!(back.is_object, record.is_object);
}

/// `POST /v1/streams/{stream}/records`: an NDJSON (and a text) body, line by line.
pub fn ndjson(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    let accept = acceptor();
    for format in [LineFormat::Json, LineFormat::Text] {
        let parsed = parse_lines_with(&body, format, &accept, &Ok(Chain::default()));
        parsed.records.iter().for_each(round_trip);
    }
}

/// `POST /_bulk`: framing into items, then each `index`/`create` source through the accept
/// path.
pub fn bulk(data: &[u8]) {
    let body = Bytes::copy_from_slice(data);
    let accept = acceptor();
    let (items, _warnings) = crate::bulk::frame_bulk(data, Some("fuzz"));
    for item in items {
        let Ok(range) = item.source else { continue };
        assert!(
            range.start <= range.end && range.end <= body.len(),
            "{range:?}"
        );
        if matches!(item.action, "index" | "create")
            && let Ok(record) = accept.json(body.slice(range), item.id.as_deref())
        {
            round_trip(&record);
        }
    }
}

/// The Firehose API's `PutRecordBatch` body: the JSON request, its checks, and each record's
/// base64 `Data` read as JSON and as text.
pub fn firehose(data: &[u8]) {
    let Ok(mut request) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok((_, records)) = crate::firehose::batch_request(&mut request) else {
        return;
    };
    let accept = acceptor();
    for format in [RecordFormat::Json, RecordFormat::Text] {
        if let Ok((outcomes, _)) = crate::firehose::accept_batch(&records, &accept, format, None) {
            for outcome in outcomes.into_iter().flatten() {
                if let crate::processing::Transformed::Keep(records) = outcome {
                    records.iter().for_each(round_trip);
                }
            }
        }
    }
}

/// A gzip request body, inflated within a limit.
pub fn gzip_body(data: &[u8]) {
    if let Ok(out) = crate::body::inflate(data, 1 << 20) {
        assert!(out.len() <= 1 << 20);
    }
}

/// Start-up over a damaged log: arbitrary bytes as the only segment. Whatever opens must read
/// back whole and in order, take an append, and open again with the same entries plus it.
pub fn wal_replay(data: &[u8]) {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!(
        "hydrant-fuzz-wal-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("fuzz dir");
    std::fs::write(dir.join(format!("{:020}.log", 1)), data).expect("segment");
    let options = || WalOptions {
        fsync: FsyncPolicy::Interval,
        fsync_interval: Duration::from_secs(3600),
        segment_size: 1 << 20,
    };
    if let Ok((wal, replay)) = Wal::open(&dir, options(), 0) {
        for (i, (position, payload)) in replay.entries.iter().enumerate() {
            assert_eq!(*position, replay.first_position + i as u64);
            let _ = decode_record(payload.clone());
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let mut batch = WalBatch::default();
        batch.push(|buf| buf.extend_from_slice(b"appended"));
        let appended = runtime
            .block_on(wal.append(batch, Box::new(|_| {})))
            .expect("an opened log takes an append");
        runtime.block_on(wal.close());
        let (wal, again) = Wal::open(&dir, options(), 0).expect("a repaired log opens again");
        // Closed, so its writer thread is joined (a detached one is a leak to LeakSanitizer).
        runtime.block_on(wal.close());
        assert_eq!(again.entries.len(), replay.entries.len() + 1);
        assert_eq!(again.entries[..replay.entries.len()], replay.entries[..]);
        assert_eq!(again.entries.last().map(|(p, _)| *p), Some(appended.0));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
