//! Doc mapping end to end: explicit types, strict mode and Elasticsearch-like dynamic mapping,
//! seen through the receivers (records refused one by one) and through searches.

mod common;

use common::Server;
use serde_json::{Value, json};

const CONFIG: &str = r#"
[streams.typed.index.mapping.fields]
"http.status" = "long"
"client.ip" = "ip"
"bytes" = "double"
"ok" = "boolean"
"when" = "date"
"host" = "keyword"
"msg" = "text"

[streams.locked.index.mapping]
mode = "strict"
[streams.locked.index.mapping.fields]
"level" = "keyword"
"#;

fn ndjson(server: &Server, stream: &str, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (status, resp) = server.post(
        &format!("/v1/streams/{stream}/records?refresh=wait_for"),
        "application/x-ndjson",
        body,
    );
    assert!(status == 200 || status == 400, "{resp}");
    resp
}

#[test]
fn explicit_types_are_enforced_per_record_and_searchable_as_their_type() {
    let server = Server::start_with(&[], Some(CONFIG));
    let resp = ndjson(
        &server,
        "typed",
        &[
            json!({"http": {"status": 404}, "client.ip": "10.0.0.1", "bytes": 10.5, "ok": false, "when": "2026-11-26T10:00:00Z", "host": "web-1", "msg": "disk almost full"}),
            json!({"http": {"status": "503"}, "client": {"ip": "10.0.0.2"}, "bytes": 300, "ok": "true", "when": 1_795_600_000_000i64, "host": "web-2", "msg": "disk full"}),
            json!({"http": {"status": "teapot"}}),
            json!({"client.ip": "999.1.1.1"}),
            json!({"http": {"status": 200}, "host": "web-10", "msg": "all good"}),
        ],
    );
    assert_eq!(resp["accepted"], json!(3), "{resp}");
    let errors: Vec<(u64, &str)> = resp["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (3, "mapper_parsing_exception"),
            (4, "mapper_parsing_exception")
        ]
    );
    assert!(
        resp["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("[http.status] of type [long]")
    );

    assert_eq!(server.count("typed", Some("http.status:[400 TO 599]")), 2);
    assert_eq!(server.count("typed", Some("http.status:404")), 1);
    assert_eq!(server.count("typed", Some("client.ip:\"10.0.0.2\"")), 1);
    assert_eq!(server.count("typed", Some("bytes:>100")), 1);
    assert_eq!(server.count("typed", Some("ok:true")), 1);
    assert_eq!(
        server.count("typed", Some("host:web-1")),
        1,
        "keyword is exact"
    );
    assert_eq!(server.count("typed", Some("host:web*")), 3);
    assert_eq!(
        server.count("typed", Some("msg:disk")),
        2,
        "text is tokenized"
    );
    assert_eq!(
        server.count("typed", Some("msg.keyword:disk")),
        0,
        "no keyword sub-field"
    );
    assert_eq!(server.count("typed", Some("_exists_:when")), 2);
    let (status, resp) = server.post_json(
        "/typed/_count",
        &json!({"query": {"range": {"when": {"gte": "2026-11-26", "lt": "2026-11-27"}}}}),
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["count"], json!(1));
}

#[test]
fn strict_streams_refuse_unmapped_fields_through_every_receiver() {
    let server = Server::start_with(&[], Some(CONFIG));
    let resp = ndjson(
        &server,
        "locked",
        &[
            json!({"level": "info"}),
            json!({"level": "warn", "extra": 1}),
        ],
    );
    assert_eq!(resp["accepted"], json!(1));
    assert_eq!(
        resp["errors"][0]["type"],
        json!("strict_dynamic_mapping_exception")
    );
    let body = "{\"index\":{\"_index\":\"locked\"}}\n{\"level\":\"error\"}\n{\"index\":{\"_index\":\"locked\"}}\n{\"surprise\":true}\n";
    let (status, resp) = server.post("/_bulk?refresh=wait_for", "application/x-ndjson", body);
    assert_eq!(status, 200);
    assert_eq!(resp["items"][0]["index"]["status"], json!(201));
    assert_eq!(resp["items"][1]["index"]["status"], json!(400));
    assert_eq!(
        resp["items"][1]["index"]["error"]["type"],
        json!("strict_dynamic_mapping_exception")
    );
    assert_eq!(server.count("locked", None), 2);
}

#[test]
fn dynamic_mapping_behaves_like_elasticsearch_defaults() {
    let server = Server::start();
    ndjson(
        &server,
        "dyn",
        &[
            json!({"level": "ERROR", "user": {"name": "Alice Smith"}, "latency_ms": 250, "tags": ["a", "b"]}),
            json!({"level": "error", "user.name": "bob", "latency_ms": 12.5, "tags": ["b"]}),
            json!({"level": "info", "user": {"name": "carol"}, "latency_ms": 40}),
        ],
    );
    // Text search is case-insensitive; `.keyword` is the exact value.
    assert_eq!(server.count("dyn", Some("level:error")), 2);
    assert_eq!(server.count("dyn", Some("level.keyword:ERROR")), 1);
    // Nested objects and dotted keys are the same path.
    assert_eq!(server.count("dyn", Some("user.name:alice")), 1);
    assert_eq!(server.count("dyn", Some("user.name:bob")), 1);
    // Numbers are ranges, integers and floats alike.
    assert_eq!(server.count("dyn", Some("latency_ms:[40 TO *]")), 2);
    assert_eq!(server.count("dyn", Some("latency_ms:<20")), 1);
    // Arrays hold several values.
    assert_eq!(server.count("dyn", Some("tags:b")), 2);
    let (status, resp) = server.post_json(
        "/dyn/_count",
        &json!({"query": {"term": {"user.name.keyword": "Alice Smith"}}}),
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["count"], json!(1));
}
