//! The shared delivery loop against a scripted sink, on a paused clock.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hydrant_config::Compression;
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::metrics::Metrics;

/// Scripted answers, one list per attempt; records the ids it was sent each time.
struct Scripted {
    answers: Mutex<Vec<Result<Vec<ItemResult>, SendFailure>>>,
    seen: Mutex<Vec<Vec<String>>>,
}

impl Sink for Scripted {
    fn name(&self) -> &str {
        "test"
    }

    async fn send(&self, records: &[&(u64, Record)]) -> Result<Vec<ItemResult>, SendFailure> {
        self.seen
            .lock()
            .push(records.iter().map(|(_, r)| r.id.to_string()).collect());
        let mut answers = self.answers.lock();
        if answers.is_empty() {
            return Ok(vec![ItemResult::Delivered; records.len()]);
        }
        answers.remove(0)
    }

    fn index_name(&self, _record: &Record) -> String {
        "idx".to_string()
    }
}

fn batch(n: usize) -> Batch {
    let entries: Vec<(u64, Record)> = (0..n)
        .map(|i| {
            (
                i as u64 + 1,
                Record {
                    id: format!("r{i}").into(),
                    client_id: false,
                    arrival_ms: 1_700_000_000_000 + i as i64,
                    timestamp_ms: 0,
                    is_object: true,
                    data: Bytes::from(format!("{{\"i\":{i}}}")),
                    source: None,
                    delete: false,
                },
            )
        })
        .collect();
    Batch {
        last: n as u64,
        bytes: 0,
        entries,
    }
}

fn retry(code: &str) -> ItemResult {
    ItemResult::Retry(Failure {
        code: code.to_string(),
        message: format!("{code} happened"),
    })
}

fn ctx(store: Arc<dyn ObjectStore>, retry_duration: Duration) -> DeliveryContext {
    DeliveryContext {
        retry_duration,
        error_output: Arc::new(ErrorOutput::new(store, "web", "errors/", Compression::Gzip)),
        metrics: Metrics::new().destination("web", "test"),
        cancel: CancellationToken::new(),
    }
}

async fn error_lines(store: &Arc<dyn ObjectStore>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let list: Vec<_> = store.list(None).collect().await;
    for meta in list {
        let meta = meta.unwrap();
        let bytes = store
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines() {
            out.push((
                meta.location.to_string(),
                serde_json::from_str(line).unwrap(),
            ));
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn only_the_records_that_failed_are_retried() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let sink = Scripted {
        answers: Mutex::new(vec![
            Ok(vec![
                ItemResult::Delivered,
                retry("429"),
                ItemResult::Delivered,
                retry("503"),
            ]),
            Ok(vec![ItemResult::Delivered, retry("503")]),
        ]),
        seen: Mutex::new(Vec::new()),
    };
    let c = ctx(store.clone(), Duration::from_secs(300));
    assert!(deliver_batch(&sink, &batch(4), &c).await);
    assert_eq!(
        *sink.seen.lock(),
        vec![vec!["r0", "r1", "r2", "r3"], vec!["r1", "r3"], vec!["r3"]]
    );
    assert!(error_lines(&store).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_cluster_that_throttles_part_of_every_request_is_not_run_out_of_time() {
    // 40 records, one taken per attempt and the rest throttled (429), with a retry window of
    // 20 s: without progress resetting the delays, they would grow to 30 s and the batch would
    // run out of time after a handful of records.
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let answers = (0..40)
        .map(|k| {
            let mut a = vec![retry("429"); 40 - k];
            a[0] = ItemResult::Delivered;
            Ok(a)
        })
        .collect();
    let sink = Scripted {
        answers: Mutex::new(answers),
        seen: Mutex::new(Vec::new()),
    };
    let c = ctx(store.clone(), Duration::from_secs(20));
    let started = tokio::time::Instant::now();
    assert!(deliver_batch(&sink, &batch(40), &c).await);
    assert_eq!(sink.seen.lock().len(), 40);
    assert!(
        error_lines(&store).await.is_empty(),
        "nothing ran out of time"
    );
    // Each wait stays around a second.
    assert!(
        started.elapsed() <= Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn whole_request_failures_retry_the_request_then_succeed() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let down = SendFailure {
        failure: Failure {
            code: "503".into(),
            message: "unavailable".into(),
        },
        retriable: true,
    };
    let sink = Scripted {
        answers: Mutex::new(vec![Err(down.clone()), Err(down.clone()), Err(down)]),
        seen: Mutex::new(Vec::new()),
    };
    let c = ctx(store.clone(), Duration::from_secs(300));
    assert!(deliver_batch(&sink, &batch(3), &c).await);
    assert_eq!(sink.seen.lock().len(), 4);
    assert!(error_lines(&store).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn records_still_failing_after_retry_duration_go_to_the_error_output() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let always: Vec<Result<Vec<ItemResult>, SendFailure>> =
        (0..100).map(|_| Ok(vec![retry("503")])).collect();
    let sink = Scripted {
        answers: Mutex::new(
            std::iter::once(Ok(vec![ItemResult::Delivered, retry("503")]))
                .chain(always)
                .collect(),
        ),
        seen: Mutex::new(Vec::new()),
    };
    let started = tokio::time::Instant::now();
    let c = ctx(store.clone(), Duration::from_secs(20));
    assert!(deliver_batch(&sink, &batch(2), &c).await);
    assert!(started.elapsed() <= Duration::from_secs(20));
    let lines = error_lines(&store).await;
    assert_eq!(lines.len(), 1);
    let (key, rec) = &lines[0];
    assert!(
        key.starts_with("errors/test-failed/2023/11/14/22/web-1-2023-11-14-22-13-20-"),
        "{key}"
    );
    assert_eq!(rec["errorCode"], "503");
    assert_eq!(rec["errorMessage"], "503 happened");
    assert_eq!(rec["esDocumentId"], "r1");
    assert_eq!(rec["esIndexName"], "idx");
    assert_eq!(rec["arrivalTimestamp"], 1_700_000_000_001i64);
    assert!(rec["attemptsMade"].as_u64().unwrap() >= 3);
    assert!(rec["attemptEndingTimestamp"].is_i64());
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        rec["rawData"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(raw, b"{\"i\":1}");
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_are_not_retried() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let bad = ItemResult::Fail(Failure {
        code: "mapper_parsing_exception".into(),
        message: "failed to parse".into(),
    });
    let sink = Scripted {
        answers: Mutex::new(vec![Ok(vec![ItemResult::Delivered, bad])]),
        seen: Mutex::new(Vec::new()),
    };
    let c = ctx(store.clone(), Duration::from_secs(300));
    assert!(deliver_batch(&sink, &batch(2), &c).await);
    assert_eq!(sink.seen.lock().len(), 1);
    let lines = error_lines(&store).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].1["attemptsMade"], 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_retrying_and_leaves_the_batch_undelivered() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let sink = Scripted {
        answers: Mutex::new((0..100).map(|_| Ok(vec![retry("503")])).collect()),
        seen: Mutex::new(Vec::new()),
    };
    let c = ctx(store.clone(), Duration::from_secs(300));
    let cancel = c.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        cancel.cancel();
    });
    assert!(!deliver_batch(&sink, &batch(1), &c).await);
    assert!(error_lines(&store).await.is_empty());
}
