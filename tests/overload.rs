//! Ingest faster than delivery: past `max_buffered_size` the receivers answer 429 with
//! `Retry-After`, and the process's memory stays flat instead of growing with the backlog.

mod common;

use std::sync::atomic::Ordering;

use common::s3::S3Server;
use common::{Server, env_refs};

/// Peak resident memory of a process, in bytes (`VmHWM`).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .expect("VmHWM")
}

#[test]
fn overload_answers_429_and_memory_stays_bounded() {
    // The backup never succeeds and retries for long: nothing is ever fully delivered.
    let s3 = S3Server::start();
    *s3.faults.always_fail.lock().unwrap() = Some("/backup/".to_string());
    let mut env = s3.env();
    for (k, v) in [
        ("HYDRANT_DEFAULTS__BACKUP__MODE", "AllDocuments"),
        ("HYDRANT_DEFAULTS__BACKUP__PREFIX", "backup/"),
        ("HYDRANT_DEFAULTS__RETRY_DURATION", "2h"),
        ("HYDRANT_DEFAULTS__MAX_BUFFERED_SIZE", "8MiB"),
        ("HYDRANT_DEFAULTS__INDEX__WRITER_MEMORY", "32MiB"),
        ("HYDRANT_DEFAULTS__INDEX__WRITER_THREADS", "1"),
    ] {
        env.push((k.to_string(), v.to_string()));
    }
    let server = Server::start_with(&env_refs(&env), None);
    let line = format!("{{\"msg\":\"{}\"}}\n", "x".repeat(1000));
    let body = line.repeat(256); // ~256 KiB per request
    let mut ok = 0;
    let mut throttled = 0;
    let mut retry_after = true;
    for _ in 0..400 {
        // ~100 MiB offered in all, more than ten times the limit.
        let resp = server
            .http
            .post(format!("{}/v1/streams/flood/records", server.url))
            .header("content-type", "application/x-ndjson")
            .body(body.clone())
            .send()
            .expect("request");
        match resp.status().as_u16() {
            200 => ok += 1,
            429 => {
                throttled += 1;
                retry_after &= resp.headers().get("retry-after").is_some();
                let v: serde_json::Value = resp.json().unwrap();
                assert_eq!(v["error"]["type"], "es_rejected_execution_exception");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        throttled > 300,
        "expected most requests throttled, got {throttled} of 400"
    );
    assert!(ok >= 30, "the first 8 MiB are accepted, got {ok}");
    assert!(retry_after, "every 429 carries Retry-After");
    assert!(s3.faults.refused.load(Ordering::SeqCst) > 0);
    assert!(
        server.metric("hydrant_throttled_records_total{stream=\"flood\"}")
            >= (throttled * 256) as f64
    );
    let buffered = server.metric("hydrant_buffered_bytes{stream=\"flood\"}");
    assert!(
        buffered <= 8.0 * 1024.0 * 1024.0 + 300_000.0,
        "buffered {buffered}"
    );
    let peak = peak_rss(server.pid());
    eprintln!(
        "peak RSS {} MiB after offering ~100 MiB",
        peak / (1024 * 1024)
    );
    assert!(peak < 300 * 1024 * 1024, "peak RSS {peak} bytes");
}
