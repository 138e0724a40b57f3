//! The first path end to end: NDJSON and text lines in through
//! `POST /v1/streams/{stream}/records`, searchable through `_search` and `_count`.

mod common;

use common::{Server, testdata};
use serde_json::{Value, json};

fn apache_lines() -> Vec<String> {
    std::fs::read_to_string(testdata("logs/elastic-examples/apache_logs"))
        .expect("apache_logs sample")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn apache_log_shipped_as_text_is_counted_and_searchable() {
    let server = Server::start();
    let lines = apache_lines();
    let body = std::fs::read(testdata("logs/elastic-examples/apache_logs")).unwrap();
    let (status, resp) = server.post("/v1/streams/web/records", "text/plain", body);
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], json!(lines.len()));
    assert_eq!(resp["rejected"], json!(0));

    // Searchable shortly after the acknowledgement, without asking for a refresh.
    assert_eq!(
        server.wait_count("web", lines.len() as u64),
        lines.len() as u64
    );

    // Counted independently of Hydrant, from the file itself.
    let googlebot = lines
        .iter()
        .filter(|l| l.to_lowercase().contains("googlebot"))
        .count();
    let png = lines
        .iter()
        .filter(|l| l.contains("kibana-search.png"))
        .count();
    let googlebot_not_robots = lines
        .iter()
        .filter(|l| l.to_lowercase().contains("googlebot") && !l.contains("robots.txt"))
        .count();
    assert!(
        googlebot > 100 && png > 5,
        "sample changed? {googlebot} {png}"
    );
    assert_eq!(
        server.count("web", Some("message:Googlebot")),
        googlebot as u64
    );
    assert_eq!(
        server.count("web", Some("Googlebot")),
        googlebot as u64,
        "bare term searches every field"
    );
    assert_eq!(
        server.count("web", Some("message:\"kibana-search.png\"")),
        png as u64
    );
    assert_eq!(
        server.count("web", Some("Googlebot AND NOT message:\"robots.txt\"")),
        googlebot_not_robots as u64
    );
    assert_eq!(
        server.count(
            "web",
            Some("message:\"kibana-search.png\" OR message:googlebot")
        ),
        lines
            .iter()
            .filter(|l| l.contains("kibana-search.png") || l.to_lowercase().contains("googlebot"))
            .count() as u64
    );
}

#[test]
fn search_answers_in_elasticsearch_shape_with_source_as_sent() {
    let server = Server::start();
    let docs = [
        json!({"@timestamp": "2026-11-26T10:00:00Z", "level": "info", "msg": "started"}),
        json!({"@timestamp": "2026-11-26T10:00:02Z", "level": "error", "msg": "disk full", "code": 28}),
        json!({"timestamp": 1_795_687_201_000i64, "level": "warn", "msg": "disk almost full"}),
    ];
    // Keys in an unusual order and spacing: `_source` must come back byte for byte.
    let raw_first = r#"{"msg":"started",   "level":"info","@timestamp":"2026-11-26T10:00:00Z"}"#;
    let body = format!("{raw_first}\n{}\n{}\n", docs[1], docs[2]);
    let (status, resp) = server.post(
        "/v1/streams/app/records?refresh=wait_for",
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], json!(3));

    let (status, resp) = server.post_json(
        "/app/_search",
        &json!({"query": {"query_string": {"query": "msg:disk"}}, "sort": [{"@timestamp": "desc"}], "size": 10}),
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["timed_out"], json!(false));
    assert!(resp["took"].is_u64());
    assert_eq!(resp["_shards"]["failed"], json!(0));
    assert_eq!(resp["hits"]["total"], json!({"value": 2, "relation": "eq"}));
    let hits = resp["hits"]["hits"].as_array().unwrap();
    // Newest first: 10:00:02 then 1795687201000 (2026-11-26T10:00:01Z).
    assert_eq!(hits[0]["_source"]["code"], json!(28));
    assert_eq!(hits[1]["_source"]["level"], json!("warn"));
    assert_eq!(hits[0]["sort"], json!([1_795_687_202_000i64]));
    assert_eq!(hits[0]["_score"], Value::Null);
    assert_eq!(hits[0]["_index"], json!("app-2026-11-26"));
    assert_eq!(hits[0]["_id"].as_str().unwrap().len(), 20);

    // The first record's source, exactly as sent.
    let resp = server
        .http
        .get(format!("{}/app/_search?q=msg:started", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(resp.contains(raw_first), "{resp}");

    // from/size paging and ascending sort.
    let (_, resp) = server.get("/app/_search?sort=@timestamp:asc&from=1&size=1");
    assert_eq!(resp["hits"]["hits"][0]["_source"]["level"], json!("warn"));
    assert_eq!(resp["hits"]["hits"].as_array().unwrap().len(), 1);
}

#[test]
fn bad_lines_are_reported_one_by_one_and_cost_no_good_line() {
    let server = Server::start_with(&[("HYDRANT_INGEST__MAX_RECORD_SIZE", "200")], None);
    let mut body: Vec<u8> = Vec::new();
    body.extend_from_slice(b"{\"ok\":1}\n");
    body.extend_from_slice(b"{\"broken\": \n");
    body.extend_from_slice(b"[1,2,3]\n");
    body.extend_from_slice(b"{\"bad\":\"\xff\xfe\"}\n");
    body.extend_from_slice(format!("{{\"big\":\"{}\"}}\n", "x".repeat(300)).as_bytes());
    body.extend_from_slice(b"\n");
    body.extend_from_slice(b"{\"ok\":2}\n");
    let (status, resp) = server.post(
        "/v1/streams/mixed/records?refresh=wait_for",
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], json!(2));
    assert_eq!(resp["rejected"], json!(4));
    let errors: Vec<(u64, String)> = resp["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            (2, "invalid_json".to_string()),
            (3, "not_an_object".to_string()),
            (4, "not_utf8".to_string()),
            (5, "too_large".to_string()),
        ]
    );
    assert!(
        resp["errors"][3]["reason"]
            .as_str()
            .unwrap()
            .contains("the limit is 200")
    );
    assert_eq!(server.count("mixed", None), 2);
}

#[test]
fn a_body_with_only_bad_lines_is_a_400_that_lists_them() {
    let server = Server::start();
    let (status, resp) = server.post("/v1/streams/bad/records", "application/x-ndjson", "nope\n");
    assert_eq!(status, 400);
    assert_eq!(resp["accepted"], json!(0));
    assert_eq!(resp["errors"][0]["type"], json!("invalid_json"));
}

#[test]
fn empty_body_is_a_clear_error() {
    let server = Server::start();
    let (status, resp) = server.post("/v1/streams/empty/records", "application/x-ndjson", "\n \n");
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["type"], json!("parse_exception"));
    assert_eq!(resp["error"]["reason"], json!("request body is empty"));
}

#[test]
fn unknown_index_is_index_not_found_exception() {
    let server = Server::start();
    for path in ["/nope/_search", "/nope/_count"] {
        let (status, resp) = server.get(path);
        assert_eq!(status, 404, "{path}");
        assert_eq!(resp["status"], json!(404));
        assert_eq!(resp["error"]["type"], json!("index_not_found_exception"));
        assert_eq!(
            resp["error"]["root_cause"][0]["type"],
            json!("index_not_found_exception")
        );
        assert_eq!(resp["error"]["index"], json!("nope"));
    }
}

#[test]
fn invalid_stream_name_is_rejected() {
    let server = Server::start();
    let (status, resp) = server.post("/v1/streams/Web/records", "application/x-ndjson", "{}\n");
    assert_eq!(status, 400);
    assert_eq!(resp["error"]["type"], json!("invalid_index_name_exception"));
}

#[test]
fn responses_identify_as_elasticsearch() {
    let server = Server::start();
    let resp = server.http.get(format!("{}/", server.url)).send().unwrap();
    assert_eq!(resp.headers()["x-elastic-product"], "Elasticsearch");
    let body: Value = resp.json().unwrap();
    assert!(
        body["version"]["number"]
            .as_str()
            .unwrap()
            .starts_with("8.")
    );
}
