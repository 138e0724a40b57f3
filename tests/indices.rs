//! Indices as units: the sizing calculator's CLI, deleting indices (with ES's safety for
//! wildcards), and retention deleting whole indices.

mod common;

use std::process::Command;

use common::{BIN, Server};
use serde_json::{Value, json};

#[test]
fn size_cli_reproduces_the_aws_worked_examples_as_json() {
    let run = |args: &[&str]| -> Value {
        let out = Command::new(BIN)
            .arg("size")
            .args(args)
            .arg("--json")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = run(&[
        "--daily",
        "66GiB",
        "--retention-days",
        "1",
        "--replicas",
        "1",
        "--rotation",
        "NoRotation",
    ]);
    let gib = 1024.0 * 1024.0 * 1024.0;
    assert_eq!(
        (v["min_storage_bytes"].as_f64().unwrap() / gib).round(),
        191.0
    );
    assert_eq!(v["primary_shards_per_index"], json!(3));
    assert_eq!(v["total_shards"], json!(6));
    let v = run(&[
        "--daily",
        "66GiB",
        "--retention-days",
        "1",
        "--rotation",
        "NoRotation",
        "--growth",
        "198GiB",
    ]);
    assert_eq!(v["primary_shards_per_index"], json!(10));
    assert!(
        v["figures"]["min_storage"]["formula"]
            .as_str()
            .unwrap()
            .contains("(1 − 0.20)")
    );
    let table = Command::new(BIN)
        .args([
            "size",
            "--daily",
            "4.7GiB",
            "--retention-days",
            "14",
            "--replicas",
            "1",
            "--rotation",
            "NoRotation",
            "--target-shard-size",
            "30GiB",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("primary shards per index") && text.contains("Amazon OpenSearch Service"),
        "{text}"
    );
    let bad = Command::new(BIN)
        .args(["size", "--daily", "1GiB", "--rotation", "Daily"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--rotation must be NoRotation"));
}

fn ship_days(server: &Server, stream: &str, days: &[&str]) {
    let body: String = days
        .iter()
        .map(|d| {
            format!(
                "{}\n",
                json!({"@timestamp": format!("{d}T12:00:00Z"), "day": d})
            )
        })
        .collect();
    let (status, resp) = server.post(
        &format!("/v1/streams/{stream}/records?refresh=wait_for"),
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
}

fn delete(server: &Server, target: &str) -> (u16, Value) {
    let resp = server
        .http
        .delete(format!("{}/{target}", server.url))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn delete_index_removes_it_whole_and_refuses_wildcards_and_aliases() {
    let server = Server::start();
    ship_days(&server, "old", &["2026-01-01", "2026-01-02", "2026-01-02"]);
    assert_eq!(server.count("old", None), 3);
    let (status, body) = delete(&server, "old-2026-01-02");
    assert_eq!(
        (status, body.clone()),
        (200, json!({"acknowledged": true})),
        "{body}"
    );
    assert_eq!(server.count("old", None), 1);
    let (status, body) = delete(&server, "old-*");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("illegal_argument_exception"))
    );
    let (status, body) = delete(&server, "old");
    assert_eq!(status, 400);
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("matches an alias")
    );
    let (status, body) = delete(&server, "nope-2026");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );
    // The stream goes on writing, recreating the index for new records of that day.
    ship_days(&server, "old", &["2026-01-02"]);
    assert_eq!(server.count("old", None), 2);
    assert!(server.metric("hydrant_indices_deleted_total{stream=\"old\"}") >= 1.0);
}

#[test]
fn wildcard_delete_works_when_allowed() {
    let server = Server::start_with(
        &[("HYDRANT_INGEST__DESTRUCTIVE_REQUIRES_NAME", "false")],
        None,
    );
    ship_days(&server, "tmp", &["2026-01-01", "2026-01-02"]);
    let (status, _) = delete(&server, "tmp-*");
    assert_eq!(status, 200);
    assert_eq!(server.count("tmp", None), 0);
}

#[test]
fn retention_deletes_indices_whose_period_is_past_it() {
    let server = Server::start_with(&[("HYDRANT_DEFAULTS__INDEX__RETENTION", "2d")], None);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    ship_days(&server, "keep", &["2020-03-01", "2020-03-02", &today]);
    // Maintenance runs after each commit: the 2020 indices go, today's stays. The count drops
    // as each index is deleted, the metric once maintenance is done: wait for both.
    let deleted = common::eventually(std::time::Duration::from_secs(30), "retention", || {
        let deleted = server.metric("hydrant_indices_deleted_total{stream=\"keep\"}");
        (server.count("keep", None) == 1 && deleted >= 2.0).then_some(deleted)
    });
    assert_eq!(deleted, 2.0);
    let (status, _) = server.get("/keep-2020-03-01/_count");
    assert_eq!(status, 404);
}
