//! A damaged file in one index costs only that index: the server starts, names the index in
//! errors, a metric and its log, searches of other indices go on (a search over both reports
//! the damaged one as a failed shard), ingest goes on, and deleting the damaged index recovers.

mod common;

use common::Server;
use serde_json::{Value, json};

/// `n` documents numbered from `from` into `stream`, searchable on return when `refresh`.
fn bulk(server: &Server, stream: &str, from: u64, n: u64, refresh: bool) {
    let body: String = (from..from + n)
        .map(|i| format!("{{\"index\":{{}}}}\n{}\n", json!({"n": i, "msg": "hello"})))
        .collect();
    let query = if refresh { "?refresh=true" } else { "" };
    let (status, resp): (u16, Value) = server.post(
        &format!("/{stream}/_bulk{query}"),
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["errors"], false, "{resp}");
}

/// Flips bits all over every tantivy file of the index's shards (its metadata stays readable).
fn damage(index_dir: &std::path::Path) {
    for shard in std::fs::read_dir(index_dir).unwrap().flatten() {
        if !shard.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.ends_with(".json") || name.starts_with('.') {
                continue;
            }
            let mut bytes = std::fs::read(file.path()).unwrap();
            for b in bytes.iter_mut().step_by(7) {
                *b ^= 0xff;
            }
            std::fs::write(file.path(), bytes).unwrap();
        }
    }
}

#[test]
fn a_damaged_index_is_reported_and_everything_else_keeps_working() {
    let mut server = Server::start();
    bulk(&server, "good", 0, 50, true);
    bulk(&server, "bad", 0, 40, true);
    let (_, cat) = server.get("/_cat/indices/bad?format=json");
    let bad = cat[0]["index"]
        .as_str()
        .expect("bad index name")
        .to_string();
    server.stop();
    damage(&server.data_dir.join("indices").join(&bad));
    server.restart();

    // The rest is served.
    assert_eq!(server.count("good", None), 50);
    // The damaged index alone: every shard failed, named.
    let (status, body) = server.get("/bad/_search");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "search_phase_execution_exception");
    assert_eq!(
        body["error"]["failed_shards"][0]["index"],
        bad.as_str(),
        "{body}"
    );
    let reason = body["error"]["failed_shards"][0]["reason"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(reason.contains("damaged"), "{reason}");
    // Both: the good one's hits, the damaged one as a failed shard.
    let (status, body) = server.get("/good,bad/_search?size=0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"]["total"]["value"], 50);
    assert_eq!(body["_shards"]["failed"], 1, "{body}");
    assert_eq!(body["_shards"]["failures"][0]["index"], bad.as_str());
    let (status, body) = server.get("/_count");
    assert_eq!((status, &body["count"]), (200, &json!(50)), "{body}");
    assert_eq!(body["_shards"]["failed"], 1);
    // A metric and a log line name it.
    assert_eq!(
        server.metric(&format!("hydrant_damaged_indices{{index=\"{bad}\"}}")),
        1.0
    );
    assert!(server.log_text().contains("index is damaged"));
    // Monitoring sees a red cluster, as a corrupt shard makes Elasticsearch's.
    let (_, health) = server.get("/_cluster/health");
    assert_eq!(health["status"], "red", "{health}");
    assert_eq!(health["unassigned_primary_shards"], 1);
    let (_, health) = server.get("/_cluster/health/good");
    assert_eq!(health["status"], "green", "{health}");

    // Ingest goes on: into the healthy stream at once, into the damaged one's log.
    bulk(&server, "good", 100, 10, false);
    assert_eq!(server.wait_count("good", 60), 60);
    bulk(&server, "bad", 1000, 5, false);

    // Deleting the damaged index recovers its stream: what its log still holds is indexed
    // into a new index.
    let (status, body) = server.send("DELETE", &format!("/{bad}"), None);
    assert_eq!(status, 200, "{body}");
    server.wait_delivered("bad");
    assert_eq!(server.count("bad", Some("n:>=1000")), 5);
    let (status, body) = server.get("/bad/_search?size=0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_shards"]["failed"], 0, "{body}");
    assert_eq!(
        server.metric(&format!("hydrant_damaged_indices{{index=\"{bad}\"}}")),
        0.0
    );
    let (_, health) = server.get("/_cluster/health");
    assert_eq!(health["status"], "green", "{health}");
}
