//! Process lifecycle: clean shutdown flushes buffers; SIGKILL after an acknowledgement loses
//! nothing; `config check` reports problems; a path no API serves gets an Elasticsearch error.

mod common;

use std::process::Command;

use common::{BIN, Server};
use serde_json::json;

fn ship(server: &Server, stream: &str, n: usize, tag: &str) {
    let body: String = (0..n)
        .map(|i| format!("{{\"tag\":\"{tag}\",\"i\":{i}}}\n"))
        .collect();
    let (status, resp) = server.post(
        &format!("/v1/streams/{stream}/records"),
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], json!(n));
}

#[test]
fn sigterm_flushes_buffers_and_data_survives_restart() {
    // A long buffer interval: nothing is delivered before the shutdown flush.
    let mut server = Server::start_with(&[("HYDRANT_DEFAULTS__BUFFER_INTERVAL", "600s")], None);
    ship(&server, "logs", 500, "a");
    let status = server.stop();
    assert!(status.success(), "exit status {status}");
    assert!(
        server.log_text().contains("shutdown complete"),
        "{}",
        server.log_text()
    );
    server.restart();
    assert_eq!(server.count("logs", None), 500);
    assert_eq!(server.count("logs", Some("tag:a")), 500);
}

#[test]
fn acknowledged_records_survive_sigkill_exactly_once() {
    let mut server = Server::start_with(&[("HYDRANT_DEFAULTS__BUFFER_INTERVAL", "600s")], None);
    ship(&server, "crash", 300, "before");
    // Make the first batch searchable, then leave a second one only in the WAL.
    server.post(
        "/v1/streams/crash/records?refresh=wait_for",
        "application/x-ndjson",
        "{\"tag\":\"sync\"}\n",
    );
    ship(&server, "crash", 200, "after");
    server.kill9();
    server.restart();
    assert_eq!(server.wait_count("crash", 501), 501);
    assert_eq!(server.count("crash", Some("tag:before")), 300);
    assert_eq!(server.count("crash", Some("tag:after")), 200);
    // A second crash and restart replays nothing twice.
    server.kill9();
    server.restart();
    server.wait_delivered("crash");
    assert_eq!(server.count("crash", None), 501);
}

#[test]
fn config_check_prints_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "listen = \"nowhere\"\nsurprise = 1\n[defaults]\nbuffer_size = \"512KiB\"\nfsync = \"maybe\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("4 problems"), "{err}");
    assert!(err.contains("unknown key `surprise`"), "{err}");
    assert!(
        err.contains("`defaults.buffer_size` must be between 1 MiB and 128 MiB, got `512KiB`"),
        "{err}"
    );
    assert!(
        err.contains("`defaults.fsync` must be one of \"always\", \"interval\""),
        "{err}"
    );
    assert!(err.contains("`listen` must be an address"), "{err}");
}

#[test]
fn config_check_prints_the_effective_config_for_a_good_file() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/hydrant.example.toml");
    let out = Command::new(BIN)
        .args(["config", "check", example])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("listen = \"127.0.0.1:9200\""), "{text}");
    assert!(text.contains("[streams.web]"), "{text}");
    assert!(text.contains("buffer_size = \"1 MiB\""), "{text}");
}

#[test]
fn help_shows_examples() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Examples:") && text.contains("hydrant serve"),
        "{text}"
    );
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--data-dir") && text.contains("HYDRANT_LOG"),
        "{text}"
    );
}

#[test]
fn unknown_paths_and_methods_get_elasticsearch_errors() {
    let server = Server::start();
    let (status, body) = server.get("/web/_doc/1/_nothing/here");
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "no handler found for uri [/web/_doc/1/_nothing/here] and method [GET]"
    );
    assert_eq!(body["status"], 400);
    let resp = server
        .http
        .delete(format!("{}/_search", server.url))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(resp.headers()["x-elastic-product"], "Elasticsearch");
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["error"]["type"], "method_not_allowed_exception");
    assert_eq!(
        body["error"]["root_cause"][0]["reason"],
        body["error"]["reason"]
    );
}
