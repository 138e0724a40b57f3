//! Requests a hostile or careless client sends, against the real binary: every recursive parser
//! and evaluator meets 100,000 levels of nesting, date math and intervals meet numbers that
//! overflow, and each answer is Elasticsearch's 400 — after which the same process still
//! answers. A stack overflow aborts the whole process (every connection and every in-flight
//! acknowledgement with it), so each of these would have killed the server outright.

mod common;

use common::Server;
use serde_json::{Value, json};

const LEVELS: usize = 100_000;
const DOCS: u64 = 20;

fn server_with_records() -> Server {
    let server = Server::start();
    let lines: String = (0..DOCS)
        .map(|i| {
            format!(
                "{}\n",
                json!({"@timestamp": format!("2026-11-26T10:00:{:02}Z", i), "message": format!("a b doc{i}"), "n": i})
            )
        })
        .collect();
    let (status, body) = server.post(
        "/v1/streams/web/records?refresh=wait_for",
        "application/x-ndjson",
        lines,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.count("web", None), DOCS);
    server
}

/// The request was refused with `status` and ES error `kind`, and the server still serves.
#[track_caller]
fn refused(server: &Server, (status, body): (u16, Value), want_status: u16, kind: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert_eq!(body["status"], want_status, "{body}");
    assert_eq!(
        server.count("web", None),
        DOCS,
        "the server answers after the refusal"
    );
}

fn search(server: &Server, body: &Value) -> (u16, Value) {
    server.post_json("/web/_search", body)
}

fn query_string(q: &str) -> Value {
    json!({"query": {"query_string": {"query": q}}})
}

#[test]
fn nested_query_strings_are_refused_and_the_server_lives() {
    let server = server_with_records();
    let parens = format!("{}a{}", "(".repeat(LEVELS), ")".repeat(LEVELS));
    refused(
        &server,
        search(&server, &query_string(&parens)),
        400,
        "too_many_nested_clauses",
    );
    // Two clauses per group: real nesting, not groups the parser can fold away.
    let groups = format!("{}a{}", "(b ".repeat(LEVELS), ")".repeat(LEVELS));
    refused(
        &server,
        search(&server, &query_string(&groups)),
        400,
        "too_many_nested_clauses",
    );
    let nots = format!("{}a", "NOT ".repeat(LEVELS));
    refused(
        &server,
        search(&server, &query_string(&nots)),
        400,
        "too_many_nested_clauses",
    );
    // The deepest nesting allowed runs through parsing, compilation and search on the
    // server's own threads (a debug build's frames are the largest).
    let limit = hydrant_query_depth_limit();
    let at_limit = format!("{}a{}", "(b ".repeat(limit), ")".repeat(limit));
    let (status, body) = search(&server, &query_string(&at_limit));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"]["total"]["value"], DOCS, "{body}");
}

/// `MAX_QUERY_STRING_DEPTH` of hydrant-query (the binary's tests do not link the crate).
fn hydrant_query_depth_limit() -> usize {
    100
}

#[test]
fn nested_url_query_is_refused() {
    let server = server_with_records();
    // A URL holds at most 64 KiB, so `q=` carries 10,000 levels rather than 100,000.
    let q = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    let resp = server
        .http
        .get(format!("{}/web/_search", server.url))
        .query(&[("q", q.as_str())])
        .send()
        .expect("request");
    let status = resp.status().as_u16();
    let body: Value = resp.json().expect("json");
    refused(&server, (status, body), 400, "too_many_nested_clauses");
}

#[test]
fn nested_simple_query_strings_are_refused() {
    let server = server_with_records();
    let q = format!("{}a{}", "(b | ".repeat(LEVELS), ")".repeat(LEVELS));
    let body = json!({"query": {"simple_query_string": {"query": q}}});
    refused(
        &server,
        search(&server, &body),
        400,
        "too_many_nested_clauses",
    );
}

/// `{"bool":{"must":[ … ]}}` nested `levels` deep around a `match_all`, as raw JSON (serde_json
/// itself could not build or print a value that deep).
fn nested_bool(levels: usize) -> String {
    format!(
        "{}{{\"match_all\":{{}}}}{}",
        "{\"bool\":{\"must\":[".repeat(levels),
        "]}}".repeat(levels)
    )
}

#[test]
fn nested_query_dsl_is_refused() {
    let server = server_with_records();
    let deep = format!("{{\"query\":{}}}", nested_bool(LEVELS));
    refused(
        &server,
        server.post("/web/_search", "application/json", deep),
        400,
        "x_content_parse_exception",
    );
    // Past Elasticsearch's `indices.query.bool.max_nested_depth` (30) but within JSON's limit.
    let over = format!("{{\"query\":{}}}", nested_bool(31));
    let (status, body) = server.post("/web/_search", "application/json", over);
    refused(
        &server,
        (status, body.clone()),
        400,
        "illegal_argument_exception",
    );
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("max_nested_depth"),
        "{body}"
    );
    let within = format!("{{\"query\":{}}}", nested_bool(29));
    let (status, body) = server.post("/web/_search", "application/json", within);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"]["total"]["value"], DOCS);
    // The same in `_count` and as one search of an `_msearch`, which must not fail the other.
    refused(
        &server,
        server.post(
            "/web/_count",
            "application/json",
            format!("{{\"query\":{}}}", nested_bool(LEVELS)),
        ),
        400,
        "x_content_parse_exception",
    );
    let msearch = format!(
        "{{}}\n{{\"query\":{}}}\n{{}}\n{{\"query\":{{\"match_all\":{{}}}}}}\n",
        nested_bool(LEVELS)
    );
    let (status, body) = server.post("/web/_msearch", "application/x-ndjson", msearch);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["responses"][0]["status"], 400, "{body}");
    assert_eq!(
        body["responses"][1]["hits"]["total"]["value"], DOCS,
        "{body}"
    );
}

#[test]
fn nested_aggregations_are_refused() {
    let server = server_with_records();
    let aggs = format!(
        "{{\"size\":0,\"aggs\":{}{{}}{}}}",
        "{\"a\":{\"terms\":{\"field\":\"n\"},\"aggs\":".repeat(LEVELS),
        "}}".repeat(LEVELS)
    );
    refused(
        &server,
        server.post("/web/_search", "application/json", aggs),
        400,
        "x_content_parse_exception",
    );
}

#[test]
fn nested_and_huge_patterns_are_refused() {
    let server = server_with_records();
    let regexp = format!("{}a{}", "(".repeat(LEVELS), ")".repeat(LEVELS));
    for field in ["message", "message.keyword"] {
        let body = json!({"query": {"regexp": {field: regexp}}});
        refused(
            &server,
            search(&server, &body),
            400,
            "query_shard_exception",
        );
    }
    // Lucene regex syntax inside a query string.
    let body = query_string(&format!("message:/{regexp}/"));
    let (status, _) = search(&server, &body);
    assert_eq!(status, 400);
    assert_eq!(server.count("web", None), DOCS);
    // Counted repetitions that would blow up into a huge automaton.
    let body = json!({"query": {"regexp": {"message": "(((a{1000}){1000}){1000})"}}});
    refused(
        &server,
        search(&server, &body),
        400,
        "query_shard_exception",
    );
    // A wildcard of 100,000 stars is one long but flat pattern: it answers.
    let stars = "*".repeat(LEVELS);
    let body = json!({"query": {"wildcard": {"message.keyword": {"value": stars}}}});
    let (status, body) = search(&server, &body);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"]["total"]["value"], DOCS, "{body}");
}

#[test]
fn overflowing_date_math_is_a_parse_exception_not_a_wrapped_date() {
    let server = server_with_records();
    for bound in [
        "now-99999999999y/d",
        "now+99999999999y",
        "now-9223372036854775807M",
        "now-99999999999999999d",
        "2026-11-26||+300000y",
        "99999999999999999999",
    ] {
        let body = json!({"query": {"range": {"@timestamp": {"gte": bound}}}});
        refused(&server, search(&server, &body), 400, "parse_exception");
    }
    // A long chain of date math is iterative and answers.
    let chain = format!("now{}/d", "+1d-1d".repeat(LEVELS));
    let body = json!({"query": {"range": {"@timestamp": {"lte": chain}}}});
    let (status, body) = search(&server, &body);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"]["total"]["value"], DOCS);
    // A thousand years back is representable and covers every record.
    let body = json!({"query": {"range": {"@timestamp": {"gte": "now-1000y/d"}}}});
    let (status, body) = search(&server, &body);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hits"]["total"]["value"], DOCS);
}

#[test]
fn overflowing_intervals_offsets_and_sizes_are_refused() {
    let server = server_with_records();
    let histogram = |options: Value| {
        let mut agg = json!({"field": "@timestamp"});
        for (k, v) in options.as_object().expect("object") {
            agg[k] = v.clone();
        }
        json!({"size": 0, "aggs": {"h": {"date_histogram": agg}}})
    };
    for options in [
        json!({"fixed_interval": "99999999999999999d"}),
        json!({"fixed_interval": "9223372036854775807ms"}),
        json!({"interval": 1e300}),
        json!({"fixed_interval": "1h", "offset": "+99999999999999999d"}),
        json!({"fixed_interval": "1h", "offset": -1e300}),
        json!({"calendar_interval": "1M", "extended_bounds": {"min": -1e300, "max": 1e300}}),
        json!({"calendar_interval": "1M", "time_zone": "Europe/Berlin", "offset": "+99999999999999d"}),
    ] {
        let (status, body) = search(&server, &histogram(options.clone()));
        assert_eq!(status, 400, "{options}: {body}");
        assert_eq!(server.count("web", None), DOCS);
    }
    for body in [
        json!({"from": 9_223_372_036_854_775_807u64, "size": 9_223_372_036_854_775_807u64}),
        json!({"size": 0, "aggs": {"t": {"top_hits": {"size": 9_223_372_036_854_775_807u64}}}}),
        json!({"size": 0, "aggs": {"t": {"top_hits": {"size": 50, "from": 9_223_372_036_854_775_807u64}}}}),
    ] {
        refused(
            &server,
            search(&server, &body),
            400,
            "illegal_argument_exception",
        );
    }
    // A terms size past every bucket limit asks for all buckets; past an int it is refused.
    let terms =
        |size: u64| json!({"size": 0, "aggs": {"t": {"terms": {"field": "n", "size": size}}}});
    let (status, body) = search(&server, &terms(2_147_483_647));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["aggregations"]["t"]["buckets"]
            .as_array()
            .map(Vec::len),
        Some(DOCS as usize)
    );
    let (status, body) = search(&server, &terms(4_294_967_296));
    assert_eq!(status, 400, "{body}");
    let resp = server
        .http
        .post(format!("{}/web/_search?scroll=1m", server.url))
        .json(&json!({"size": 9_223_372_036_854_775_807u64}))
        .send()
        .expect("request");
    let status = resp.status().as_u16();
    refused(
        &server,
        (status, resp.json().expect("json")),
        400,
        "illegal_argument_exception",
    );
}

#[test]
fn deeply_nested_records_cost_only_themselves() {
    let server = server_with_records();
    let deep = format!("{}1{}", "{\"a\":".repeat(LEVELS), "}".repeat(LEVELS));
    let ndjson = format!("{deep}\n{{\"message\":\"fine\"}}\n");
    let (status, body) = server.post(
        "/v1/streams/web/records?refresh=wait_for",
        "application/x-ndjson",
        ndjson,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["accepted"], 1, "{body}");
    assert_eq!(body["rejected"], 1, "{body}");
    let bulk = format!(
        "{{\"index\":{{\"_index\":\"web\"}}}}\n{deep}\n{{\"index\":{{\"_index\":\"web\"}}}}\n{{\"message\":\"also fine\"}}\n"
    );
    let (status, body) = server.post("/_bulk?refresh=wait_for", "application/x-ndjson", bulk);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["errors"], true, "{body}");
    assert_eq!(body["items"][0]["index"]["status"], 400, "{body}");
    assert_eq!(body["items"][1]["index"]["status"], 201, "{body}");
    assert_eq!(server.count("web", None), DOCS + 2);
}
