//! `hydrant loadgen` as a user runs it: against a live server, over every protocol, with the
//! JSON report's contract and `--verify` counting loss and duplicates.

mod common;

use std::process::Command;

use std::time::Duration;

use common::s3::S3Server;
use common::{BIN, Server, env_refs, testdata};
use serde_json::Value;

fn loadgen(server: &Server, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = Command::new(BIN)
        .arg("loadgen")
        .args(["--target", &server.url, "--quiet", "--report-json"])
        .arg(&report)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("latency  p50"), "{text}");
    serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
}

#[test]
fn every_protocol_and_format_is_acknowledged_and_verified() {
    let server = Server::start_with(&[], Some("[streams.alb-text]\nrecord_format = \"text\"\n"));
    for (stream, protocol, format, extra) in [
        ("lg-nd", "ndjson", "json", vec![]),
        ("lg-bulk", "bulk", "apache", vec!["--parsed"]),
        ("lg-fh", "firehose", "alb", vec!["--gzip"]),
        ("lg-text", "ndjson", "nginx", vec![]),
    ] {
        let mut args = vec![
            "--stream",
            stream,
            "--protocol",
            protocol,
            "--format",
            format,
            "--count",
            "3000",
            "--batch",
            "250",
            "--verify",
        ];
        args.extend(extra);
        let r = loadgen(&server, &args);
        assert_eq!(r["records_acked"], 3000, "{stream}: {r}");
        assert_eq!(r["lost"], 0, "{stream}");
        assert_eq!(r["duplicated"], 0, "{stream}");
        assert!(r["records_per_sec"].as_f64().unwrap() > 0.0);
        assert!(r["mb_per_sec"].as_f64().unwrap() > 0.0);
        for p in ["p50", "p90", "p99", "max"] {
            assert!(r["latency_ms"][p].as_f64().unwrap() > 0.0, "{stream} {p}");
        }
        assert!(r["latency_ms"]["p50"].as_f64() <= r["latency_ms"]["max"].as_f64());
        assert_eq!(server.count(stream, None), 3000);
    }
}

#[test]
fn replaying_a_real_log_file_sends_every_line() {
    let server = Server::start();
    let path = testdata("logs/elastic-examples/apache_logs");
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    let r = loadgen(
        &server,
        &[
            "--stream",
            "replay",
            "--replay",
            path.to_str().unwrap(),
            "--verify",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(r["records_acked"], lines as u64);
    assert_eq!(r["lost"], 0);
    assert_eq!(server.count("replay", Some("message:Googlebot")), 543);
}

#[test]
fn refused_records_are_reported_by_kind_not_as_acknowledged() {
    let server = Server::start_with(&[("HYDRANT_INGEST__AUTO_CREATE_STREAMS", "false")], None);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let out = Command::new(BIN)
        .args([
            "loadgen",
            "--target",
            &server.url,
            "--stream",
            "missing",
            "--count",
            "100",
            "--quiet",
            "--report-json",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["records_acked"], 0);
    assert_eq!(r["errors"]["http_404_index_not_found_exception"], 100);
}

#[test]
fn the_same_seed_emits_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let emit = |name: &str, seed: &str| {
        let path = dir.path().join(name);
        let out = Command::new(BIN)
            .args([
                "loadgen",
                "--format",
                "json",
                "--count",
                "500",
                "--seed",
                seed,
                "--backfill",
                "2d",
                "--emit",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        std::fs::read_to_string(path).unwrap()
    };
    let a = emit("a", "7");
    let b = emit("b", "7");
    let c = emit("c", "8");
    // Backfill times are relative to now; compare records without them.
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("@timestamp");
                v.to_string()
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_ne!(strip(&a), strip(&c));
    assert_eq!(a.lines().count(), 500);
}

#[test]
fn sigv4_signed_traffic_reaches_a_hydrant_that_verifies_it() {
    const KEY: &str = "AKIDLOADGENTEST";
    const SECRET: &str = "loadgen/test+secret";
    let config =
        format!("[auth.sigv4]\nregion = \"eu-west-1\"\n[auth.sigv4.keys]\n{KEY} = \"{SECRET}\"\n");
    let server = Server::start_with(&[], Some(&config));
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!("[bench]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"),
    )
    .unwrap();
    let run = |profile: Option<&str>, protocol: &str, stream: &str| -> Value {
        let report = dir.path().join(format!("{stream}.json"));
        let mut cmd = Command::new(BIN);
        cmd.args([
            "loadgen",
            "--target",
            &server.url,
            "--quiet",
            "--count",
            "1000",
        ])
        .args(["--protocol", protocol, "--stream", stream, "--report-json"])
        .arg(&report)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE");
        if let Some(p) = profile {
            cmd.args([
                "--sigv4",
                "--region",
                "eu-west-1",
                "--profile",
                p,
                "--verify",
            ]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap()
    };
    // Firehose calls signed for `firehose` (as AWS SDKs do), _bulk for `es`.
    for (protocol, stream) in [("firehose", "signed-fh"), ("bulk", "signed-bulk")] {
        let r = run(Some("bench"), protocol, stream);
        assert_eq!(r["records_acked"], 1000, "{protocol}: {r}");
        assert_eq!(r["lost"], 0, "{protocol}");
        assert_eq!(r["duplicated"], 0, "{protocol}");
    }
    // Unsigned, every record is refused, and the report says so.
    let r = run(None, "ndjson", "unsigned");
    assert_eq!(r["records_acked"], 0);
    let refused: u64 = r["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(refused, 1000, "{r}");
    assert!(
        r["errors"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| k.starts_with("http_403")),
        "{r}"
    );
}

#[test]
fn records_refused_for_now_are_sent_again_until_the_server_takes_them() {
    // The backup store is down, so the stream's buffer fills and the receivers answer 429;
    // once the store is back, loadgen's retries get every record in, once.
    let s3 = S3Server::start();
    *s3.faults.always_fail.lock().unwrap() = Some("/backup/".to_string());
    let mut env = s3.env();
    for (k, v) in [
        ("HYDRANT_DEFAULTS__BACKUP__MODE", "AllDocuments"),
        ("HYDRANT_DEFAULTS__BACKUP__PREFIX", "backup/"),
        ("HYDRANT_DEFAULTS__RETRY_DURATION", "1h"),
        ("HYDRANT_DEFAULTS__BUFFER_SIZE", "1MiB"),
        ("HYDRANT_DEFAULTS__MAX_BUFFERED_SIZE", "1MiB"),
    ] {
        env.push((k.to_string(), v.to_string()));
    }
    let server = Server::start_with(&env_refs(&env), None);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let mut child = Command::new(BIN)
        .args(["loadgen", "--target", &server.url, "--stream", "pushback"])
        .args(["--count", "20000", "--batch", "500", "--protocol", "bulk"])
        .args(["--verify", "--quiet", "--report-json"])
        .arg(&report)
        .spawn()
        .unwrap();
    // Keep the destination down until the client has been pushed back more than once (two
    // batches' worth of 429s), so that its retries are part of the run.
    common::eventually(Duration::from_secs(60), "429s from the full buffer", || {
        (server.metric("hydrant_throttled_records_total{stream=\"pushback\"}") >= 1000.0)
            .then_some(())
    });
    *s3.faults.always_fail.lock().unwrap() = None;
    assert!(child.wait().unwrap().success());
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["records_acked"], 20000, "{r}");
    assert!(r["retries"].as_u64().unwrap() > 0, "{r}");
    assert!(r["errors"].as_object().unwrap().is_empty(), "{r}");
    assert_eq!(r["lost"], 0);
    assert_eq!(r["duplicated"], 0);
}
