//! Backup and error output in a real S3-compatible server (`s3s-fs`, in this process, over
//! loopback): every record in the backup, gzip NDJSON and Parquet read back; a backup that fails
//! K times then works delivers everything once; one that always fails sends the records to the
//! error prefix in Firehose's failure shape after `retry_duration`, without stalling the index.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine;
use common::s3::S3Server;
use common::{Server, env_refs, eventually};
use serde_json::{Value, json};

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

fn records(n: usize, tag: &str) -> Vec<String> {
    (0..n)
        .map(|i| json!({"seq": i, "tag": tag, "msg": format!("event number {i}")}).to_string())
        .collect()
}

fn ship_ndjson(server: &Server, stream: &str, lines: &[String]) {
    let body = lines.join("\n") + "\n";
    let (status, resp) = server.post(
        &format!("/v1/streams/{stream}/records"),
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
}

/// Backup lines under `prefix`, keyed by object.
fn backup_lines(s3: &S3Server, prefix: &str) -> BTreeMap<String, Vec<String>> {
    s3.objects()
        .into_iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, bytes)| {
            let text = if k.ends_with(".gz") {
                gunzip(&bytes)
            } else {
                String::from_utf8(bytes).unwrap()
            };
            (k, text.lines().map(str::to_string).collect())
        })
        .collect()
}

fn backup_env(s3: &S3Server, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = s3.env();
    env.push((
        "HYDRANT_DEFAULTS__BACKUP__MODE".into(),
        "AllDocuments".into(),
    ));
    env.push(("HYDRANT_DEFAULTS__BACKUP__PREFIX".into(), "backup/".into()));
    for (k, v) in extra {
        env.push((k.to_string(), v.to_string()));
    }
    env
}

#[test]
fn every_record_is_in_the_gzip_ndjson_backup_under_firehose_keys() {
    let s3 = S3Server::start();
    let env = backup_env(&s3, &[]);
    let server = Server::start_with(&env_refs(&env), None);
    let sent = records(300, "gz");
    ship_ndjson(&server, "web", &sent[..150]);
    ship_ndjson(&server, "web", &sent[150..]);
    let found = eventually(Duration::from_secs(30), "all records in the backup", || {
        let lines: Vec<String> = backup_lines(&s3, "backup/")
            .into_values()
            .flatten()
            .collect();
        (lines.len() >= sent.len()).then_some(lines)
    });
    let mut found_sorted = found.clone();
    found_sorted.sort();
    let mut sent_sorted = sent.clone();
    sent_sorted.sort();
    assert_eq!(
        found_sorted, sent_sorted,
        "each record exactly once, byte for byte"
    );
    let key_shape = regex_lite_key();
    for key in backup_lines(&s3, "backup/").keys() {
        assert!(
            key_shape(key),
            "key {key} does not follow Firehose's layout"
        );
    }
}

/// `backup/YYYY/MM/DD/HH/web-1-YYYY-MM-DD-HH-MM-SS-<uuid>.gz`
fn regex_lite_key() -> impl Fn(&str) -> bool {
    |key: &str| {
        let parts: Vec<&str> = key.split('/').collect();
        if parts.len() != 6 || parts[0] != "backup" {
            return false;
        }
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        let name = parts[5];
        digits(parts[1], 4)
            && digits(parts[2], 2)
            && digits(parts[3], 2)
            && digits(parts[4], 2)
            && name.starts_with(&format!(
                "web-1-{}-{}-{}-{}-",
                parts[1], parts[2], parts[3], parts[4]
            ))
            && name.ends_with(".gz")
            && name.len() == "web-1-2026-11-26-13-05-09-".len() + 36 + 3
    }
}

#[test]
fn every_record_is_in_the_parquet_backup_with_inferred_columns() {
    use arrow_array::{Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let s3 = S3Server::start();
    let env = backup_env(&s3, &[("HYDRANT_DEFAULTS__BACKUP__FORMAT", "parquet")]);
    let server = Server::start_with(&env_refs(&env), None);
    let sent = records(200, "pq");
    ship_ndjson(&server, "web", &sent);
    let seqs = eventually(Duration::from_secs(30), "parquet backup", || {
        let mut seqs = Vec::new();
        let mut tags = Vec::new();
        for (key, bytes) in s3.objects() {
            if !key.starts_with("backup/") {
                continue;
            }
            assert!(key.ends_with(".parquet"), "{key}");
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                .expect("parquet file")
                .build()
                .expect("reader");
            for batch in reader {
                let batch = batch.expect("batch");
                let seq = batch.column_by_name("seq").expect("seq column");
                let seq = seq
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("seq is int64");
                let tag = batch.column_by_name("tag").expect("tag column");
                let tag = tag
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("tag is utf8");
                for i in 0..batch.num_rows() {
                    seqs.push(seq.value(i));
                    tags.push(tag.value(i).to_string());
                }
                assert_eq!(
                    batch.column_by_name("msg").expect("msg").len(),
                    batch.num_rows()
                );
            }
        }
        assert!(tags.iter().all(|t| t == "pq"));
        (seqs.len() >= sent.len()).then_some(seqs)
    });
    let mut seqs = seqs;
    seqs.sort();
    assert_eq!(seqs, (0..200).collect::<Vec<i64>>());
}

#[test]
fn a_backup_that_fails_k_times_then_works_delivers_everything_once() {
    let s3 = S3Server::start();
    *s3.faults.fail_prefix.lock().unwrap() = "/backup/".to_string();
    s3.faults.fail_next.store(3, Ordering::SeqCst);
    let env = backup_env(&s3, &[]);
    let server = Server::start_with(&env_refs(&env), None);
    let sent = records(100, "retry");
    ship_ndjson(&server, "web", &sent);
    // The index is not held up by the failing backup.
    assert_eq!(server.wait_count("web", 100), 100);
    let found = eventually(Duration::from_secs(60), "backup after retries", || {
        let lines: Vec<String> = backup_lines(&s3, "backup/")
            .into_values()
            .flatten()
            .collect();
        (lines.len() >= sent.len()).then_some(lines)
    });
    assert_eq!(s3.faults.refused.load(Ordering::SeqCst), 3);
    let mut found = found;
    found.sort();
    let mut sent = sent;
    sent.sort();
    assert_eq!(
        found, sent,
        "delivered once each despite three failed attempts"
    );
    assert!(
        server.metric("hydrant_delivery_retries_total{stream=\"web\",destination=\"backup\"}")
            >= 3.0
    );
}

#[test]
fn a_backup_that_always_fails_sends_records_to_the_error_prefix_after_retry_duration() {
    let s3 = S3Server::start();
    *s3.faults.always_fail.lock().unwrap() = Some("/backup/".to_string());
    let env = backup_env(&s3, &[("HYDRANT_DEFAULTS__RETRY_DURATION", "3s")]);
    let server = Server::start_with(&env_refs(&env), None);
    let sent = records(50, "doomed");
    ship_ndjson(&server, "web", &sent);
    assert_eq!(server.wait_count("web", 50), 50, "the index keeps going");
    let failures = eventually(Duration::from_secs(60), "error output", || {
        let lines: Vec<String> = backup_lines(&s3, "errors/")
            .into_values()
            .flatten()
            .collect();
        (lines.len() >= sent.len()).then_some(lines)
    });
    let keys: Vec<String> = backup_lines(&s3, "errors/").into_keys().collect();
    assert!(
        keys.iter().all(|k| k.starts_with("errors/backup-failed/")),
        "{keys:?}"
    );
    let mut raw: Vec<String> = Vec::new();
    for line in &failures {
        let f: Value = serde_json::from_str(line).unwrap();
        assert_eq!(f["errorCode"], "S3.PutObject");
        assert!(
            f["errorMessage"].as_str().unwrap().contains("backup/"),
            "{f}"
        );
        assert!(f["attemptsMade"].as_u64().unwrap() >= 2, "{f}");
        assert!(
            f["arrivalTimestamp"].as_i64().unwrap()
                <= f["attemptEndingTimestamp"].as_i64().unwrap()
        );
        assert_eq!(f["esIndexName"], "web");
        assert_eq!(f["esDocumentId"].as_str().unwrap().len(), 20);
        let data = base64::engine::general_purpose::STANDARD
            .decode(f["rawData"].as_str().unwrap())
            .unwrap();
        raw.push(String::from_utf8(data).unwrap());
    }
    raw.sort();
    let mut sent = sent;
    sent.sort();
    assert_eq!(raw, sent);
    // The counter moves once the error output's write has returned, just after its object
    // is in the bucket.
    let counted = common::wait_until(Duration::from_secs(10), || {
        server.metric("hydrant_error_output_records_total{stream=\"web\",destination=\"backup\"}")
            >= 50.0
    });
    assert!(counted, "the error output's records were not counted");
}
