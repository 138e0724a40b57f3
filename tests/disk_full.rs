//! A full disk, for real: part of the data directory on a small tmpfs that the test fills up.
//! Under the write-ahead log, records are refused with 503 and `Retry-After` (nothing is
//! acknowledged that is not on disk) and ingest resumes by itself when space returns. Under the
//! index, records are still accepted into the log and become searchable once commits succeed
//! again — also across a `kill -9` while the disk is full.

mod common;

use std::time::Duration;

use common::{Server, Tmpfs, eventually};
use serde_json::{Value, json};

/// `n` records of about 1 KiB each, numbered from `from`, as a `_bulk` body.
fn bulk(from: u64, n: u64) -> String {
    let pad = "x".repeat(1000);
    (from..from + n)
        .map(|i| format!("{{\"index\":{{}}}}\n{}\n", json!({"seq": i, "pad": pad})))
        .collect()
}

fn post_bulk(server: &Server, stream: &str, body: String) -> (u16, Option<String>, Value) {
    let resp = server
        .http
        .post(format!("{}/{stream}/_bulk", server.url))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .expect("bulk request");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry_after, resp.json().unwrap_or(Value::Null))
}

fn assert_all_ok(status: u16, body: &Value) {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"], false, "{body}");
}

#[test]
fn a_full_log_disk_refuses_with_retry_after_keeps_what_it_has_and_resumes_by_itself() {
    let mut tmpfs = None;
    let mut server = Server::start_in(&[], None, |data| {
        tmpfs = Tmpfs::mount(&data.join("wal"), "8m");
    });
    let Some(tmpfs) = tmpfs else { return };

    let (status, _, body) = post_bulk(&server, "full", bulk(0, 200));
    assert_all_ok(status, &body);
    let filler = tmpfs.fill("filler");

    // `_bulk` answers per item, as Elasticsearch does at its flood-stage watermark: every item
    // refused for now, with `Retry-After` on the answer; NDJSON and Firehose refuse the request.
    for _ in 0..2 {
        let (status, retry_after, body) = post_bulk(&server, "full", bulk(1000, 2000));
        assert_eq!(status, 200, "{body}");
        assert!(retry_after.is_some(), "bulk refusal without Retry-After");
        assert_eq!(body["errors"], true);
        let items = body["items"].as_array().expect("items");
        assert_eq!(items.len(), 2000);
        for item in items {
            assert_eq!(item["index"]["status"], 503, "{item}");
            assert_eq!(
                item["index"]["error"]["type"], "unavailable_exception",
                "{item}"
            );
            let reason = item["index"]["error"]["reason"]
                .as_str()
                .unwrap_or_default();
            assert!(reason.contains("out of space"), "{reason}");
        }
    }
    let pad = "z".repeat(1000);
    let ndjson: String = (0..2000)
        .map(|i| format!("{}\n", json!({"nd": i, "pad": pad})))
        .collect();
    let resp = server
        .http
        .post(format!("{}/v1/streams/full/records", server.url))
        .header("content-type", "application/x-ndjson")
        .body(ndjson)
        .send()
        .expect("ndjson request");
    assert_eq!(resp.status().as_u16(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    let body: Value = resp.json().expect("ndjson json");
    assert_eq!(body["error"]["type"], "unavailable_exception", "{body}");
    let records: Vec<Value> = (0..200)
        .map(|i| json!({"Data": base64(&format!("{{\"fh\":{i},\"pad\":\"{}\"}}\n", "y".repeat(4000)))}))
        .collect();
    let resp = server
        .http
        .post(format!("{}/", server.url))
        .header("x-amz-target", "Firehose_20150804.PutRecordBatch")
        .header("content-type", "application/x-amz-json-1.1")
        .body(json!({"DeliveryStreamName": "full", "Records": records}).to_string())
        .send()
        .expect("firehose request");
    // Firehose answers per record, with the code its clients retry on.
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().expect("firehose json");
    assert_eq!(body["FailedPutCount"], 200, "{body}");
    for r in body["RequestResponses"].as_array().expect("responses") {
        assert_eq!(r["ErrorCode"], "ServiceUnavailableException", "{r}");
        let message = r["ErrorMessage"].as_str().unwrap_or_default();
        // The server's paths are for its log, not for clients.
        assert!(!message.contains("/wal/"), "{message}");
    }

    // Searches still answer, with exactly what was acknowledged.
    assert_eq!(server.wait_count("full", 200), 200);
    assert_eq!(server.count("full", None), 200);

    // Space returns: the next request is taken without a restart.
    std::fs::remove_file(&filler).expect("remove filler");
    let (status, _, body) = post_bulk(&server, "full", bulk(5000, 2000));
    assert_all_ok(status, &body);
    assert_eq!(server.wait_count("full", 2200), 2200);

    // One log line for the outage and one for the recovery, not one per request.
    let logs = server.log_text();
    assert_eq!(
        logs.matches("is out of space; refusing records").count(),
        1,
        "{logs}"
    );
    assert!(logs.contains("has space again"), "{logs}");

    // Nothing durable was damaged by the failed writes: a crash and a replay give the same.
    server.kill9();
    server.restart();
    server.wait_delivered("full");
    assert_eq!(server.count("full", None), 2200);
    drop(server);
    drop(tmpfs);
}

#[test]
fn a_full_index_disk_keeps_records_in_the_log_until_commits_succeed_again() {
    let mut tmpfs = None;
    let mut server = Server::start_in(&[], None, |data| {
        tmpfs = Tmpfs::mount(&data.join("indices"), "24m");
    });
    let Some(tmpfs) = tmpfs else { return };

    let (status, _, body) = post_bulk(&server, "idx", bulk(0, 200));
    assert_all_ok(status, &body);
    assert_eq!(server.wait_count("idx", 200), 200);

    let filler = tmpfs.fill("filler");
    // The log is elsewhere, so records are still accepted …
    let (status, _, body) = post_bulk(&server, "idx", bulk(1000, 3000));
    assert_all_ok(status, &body);
    // … but the index cannot commit them: delivery retries, searches see the older records.
    eventually(Duration::from_secs(60), "a failed index commit", || {
        let logs = server.log_text();
        (logs.contains("index commit failed") || logs.contains("indexing failed")).then_some(())
    });
    assert_eq!(server.count("idx", None), 200);

    // A crash while the disk is full: the log was not truncated past the failed commit.
    server.kill9();
    server.restart();
    assert_eq!(server.count("idx", None), 200);
    std::fs::remove_file(&filler).expect("remove filler");
    assert_eq!(server.wait_count("idx", 3200), 3200);
    server.wait_delivered("idx");
    assert_eq!(server.count("idx", None), 3200);

    // And it keeps going.
    let (status, _, body) = post_bulk(&server, "idx", bulk(9000, 100));
    assert_all_ok(status, &body);
    assert_eq!(server.wait_count("idx", 3300), 3300);
    drop(server);
    drop(tmpfs);
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}
