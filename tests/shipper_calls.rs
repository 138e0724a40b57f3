//! The calls shippers and tools make besides writing records, as winston-elasticsearch,
//! pino-elasticsearch, elasticdump and rsyslog make them: `_refresh` (the records become
//! searchable before the answer), lenient `_bulk` action lines, `_cat/health`, and template
//! probes answered as Elasticsearch answers them.

mod common;

use common::Server;
use serde_json::{Value, json};

/// A server whose buffers never flush on their own: only `_refresh` makes records searchable.
fn slow_server() -> Server {
    Server::start_with(&[("HYDRANT_DEFAULTS__BUFFER_INTERVAL", "600s")], None)
}

fn ship(server: &Server, stream: &str, n: usize) {
    let body: String = (0..n).map(|i| format!("{{\"n\":{i}}}\n")).collect();
    let (status, answer) = server.post(
        &format!("/v1/streams/{stream}/records"),
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{answer}");
}

fn count(server: &Server, target: &str) -> u64 {
    server.get(&format!("/{target}/_count")).1["count"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn refresh_makes_what_was_accepted_searchable_before_it_answers() {
    let server = slow_server();
    ship(&server, "pino-logs", 25);
    ship(&server, "other", 5);
    assert_eq!(count(&server, "pino-logs"), 0, "nothing is searchable yet");
    // pino-elasticsearch's call.
    let (status, body) = server.get("/pino-logs/_refresh");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["_shards"]["failed"], 0);
    assert!(body["_shards"]["total"].as_u64().unwrap() >= 1, "{body}");
    assert_eq!(count(&server, "pino-logs"), 25);
    assert_eq!(count(&server, "other"), 0, "only the target was refreshed");
    // elasticdump's call, and the flush alias.
    let (status, _) = server.post_json("/_refresh", &json!({}));
    assert_eq!(status, 200);
    assert_eq!(count(&server, "other"), 5);
    ship(&server, "other", 5);
    assert_eq!(server.post_json("/other/_flush", &json!({})).0, 200);
    assert_eq!(count(&server, "other"), 10);
    let (status, body) = server.post_json("/nothing-here/_refresh", &json!({}));
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "index_not_found_exception");
}

#[test]
fn bulk_action_lines_with_extra_keys_are_taken_with_a_warning() {
    let server = Server::start();
    // winston-elasticsearch 0.19's action lines.
    let body: String = (0..20)
        .map(|i| {
            format!(
                "{{\"index\":{{\"_index\":\"winston-logs\",\"pipeline\":null}},\"attempts\":0}}\n{{\"message\":\"m{i}\",\"severity\":\"info\"}}\n"
            )
        })
        .collect();
    let resp = server
        .http
        .post(format!("{}/_bulk?refresh=wait_for", server.url))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    let warning = resp
        .headers()
        .get("warning")
        .map(|v| v.to_str().unwrap().to_string());
    let answer: Value = resp.json().unwrap();
    assert_eq!(answer["errors"], false, "{answer}");
    let warning = warning.expect("a Warning header");
    assert!(warning.starts_with("299 Elasticsearch-"), "{warning}");
    assert!(warning.contains("attempts"), "{warning}");
    assert_eq!(count(&server, "winston-logs"), 20);
}

#[test]
fn cat_health_count_and_template_probes_answer_as_elasticsearch_does() {
    let server = Server::start();
    ship(&server, "web", 3);
    let (status, _) = server.get("/web/_refresh");
    assert_eq!(status, 200);
    // rsyslog's call after a connection failure.
    let (status, text) = server.get("/_cat/health");
    assert_eq!(status, 200);
    let text = text.as_str().unwrap_or_default().to_string();
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields[2..4], ["hydrant", "green"], "{text}");
    let (_, json) = server.get("/_cat/health?format=json");
    assert_eq!(json[0]["status"], "green");
    assert_eq!(json[0]["node.total"], "1");
    let (_, json) = server.get("/_cat/count/web?format=json");
    assert_eq!(json[0]["count"], "3");
    // winston-elasticsearch asks whether its template exists before creating it.
    let resp = server
        .http
        .head(format!(
            "{}/_index_template/template_winston-logs",
            server.url
        ))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 404);
    let (status, body) = server.get("/_index_template/template_winston-logs");
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "resource_not_found_exception");
}

/// The one node of a `_nodes` answer.
fn only_node(body: &Value) -> Value {
    let nodes = body["nodes"].as_object().expect("nodes");
    nodes.values().next().cloned().expect("a node")
}

#[test]
fn nodes_info_and_cluster_settings_answer_as_a_one_node_cluster() {
    let server = Server::start();
    // Kibana's version check: `GET /_nodes?filter_path=nodes.*.version,nodes.*.http.publish_address,nodes.*.ip`.
    let (status, body) = server.get("/_nodes");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["_nodes"],
        json!({"total": 1, "successful": 1, "failed": 0})
    );
    let node = only_node(&body);
    assert!(
        node["version"].as_str().unwrap().starts_with("8."),
        "{node}"
    );
    let address = server.url.trim_start_matches("http://");
    assert_eq!(node["http"]["publish_address"], address);
    assert_eq!(node["ip"], "127.0.0.1");
    // A metric list keeps only those sections; a node filter selects (or not) the node.
    let (_, body) = server.get("/_nodes/http");
    let node = only_node(&body);
    assert!(
        node.get("http").is_some() && node.get("os").is_none(),
        "{node}"
    );
    let (_, body) = server.get("/_nodes/_local/os,process");
    let node = only_node(&body);
    assert!(
        node["os"]["available_processors"].as_u64().unwrap() >= 1,
        "{node}"
    );
    assert!(node.get("http").is_none(), "{node}");
    let (_, body) = server.get("/_nodes/some-other-node");
    assert_eq!(body["_nodes"]["total"], 0);
    assert_eq!(body["nodes"], json!({}));
    // The ingest stats of the pipeline room still answer on their own path.
    let (status, body) = server.get("/_nodes/stats/ingest");
    assert_eq!(status, 200, "{body}");
    assert!(
        body["nodes"]["hydrant"]["ingest"]["pipelines"].is_object(),
        "{body}"
    );
    let (status, body) = server.get("/_cluster/settings");
    assert_eq!(
        (status, body),
        (200, json!({"persistent": {}, "transient": {}}))
    );
}

#[test]
fn license_xpack_cluster_state_node_stats_and_cluster_settings_answer_in_es_shapes() {
    let server = Server::start();
    ship(&server, "web", 4);
    assert_eq!(server.get("/web/_refresh").0, 200);
    let (status, body) = server.get("/_license");
    assert_eq!((status, &body["license"]["type"]), (200, &json!("basic")));
    assert_eq!(body["license"]["status"], "active");
    // Every X-Pack feature is reported as what Hydrant has: not available.
    let (_, body) = server.get("/_xpack");
    assert_eq!(body["features"]["security"]["available"], false, "{body}");
    assert_eq!(body["license"]["mode"], "basic");

    let (status, body) = server.get("/_cluster/state/metadata,routing_table/web");
    assert_eq!(status, 200, "{body}");
    let indices = body["metadata"]["indices"].as_object().expect("indices");
    assert_eq!(indices.len(), 1, "{body}");
    let (name, index) = indices.iter().next().unwrap();
    assert!(name.starts_with("web-"), "{name}");
    assert_eq!(index["state"], "open");
    assert_eq!(index["aliases"], json!(["web"]));
    assert!(
        body["routing_table"]["indices"][name]["shards"]["0"][0]["primary"]
            .as_bool()
            .unwrap()
    );
    assert!(
        body.get("nodes").is_none(),
        "only the metrics asked for: {body}"
    );
    let (status, body) = server.get("/_cluster/state/nonsense");
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("illegal_argument_exception"))
    );

    let (status, body) = server.get("/_nodes/stats");
    assert_eq!(status, 200, "{body}");
    let node = only_node(&body);
    assert_eq!(node["indices"]["docs"]["count"], 4, "{node}");
    assert!(node["indices"]["store"]["size_in_bytes"].as_u64().unwrap() > 0);

    // Cluster settings are kept (persistent ones across a restart) and answered back.
    let put = json!({"persistent": {"cluster": {"routing": {"allocation": {"enable": "all"}}}}, "transient": {"logger.org.x": "debug"}});
    let (status, body) = server.send("PUT", "/_cluster/settings", Some(&put.to_string()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acknowledged"], true);
    assert_eq!(
        body["persistent"]["cluster"]["routing"]["allocation"]["enable"],
        "all"
    );
    let (_, body) = server.get("/_cluster/settings?flat_settings=true");
    assert_eq!(
        body["persistent"]["cluster.routing.allocation.enable"], "all",
        "{body}"
    );
    assert_eq!(body["transient"]["logger.org.x"], "debug");
    let (status, body) = server.send("PUT", "/_cluster/settings", Some("{}"));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("action_request_validation_exception"))
    );
}

#[test]
fn cat_templates_lists_both_kinds() {
    let server = Server::start();
    let composable = json!({"index_patterns": ["logs-*"], "priority": 7, "version": 3});
    assert_eq!(
        server
            .send(
                "PUT",
                "/_index_template/logs",
                Some(&composable.to_string())
            )
            .0,
        200
    );
    let legacy = json!({"index_patterns": ["old-*", "older-*"], "order": 2});
    assert_eq!(
        server
            .send("PUT", "/_template/old", Some(&legacy.to_string()))
            .0,
        200
    );
    let (status, body) = server.get("/_cat/templates?format=json&s=name");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"name": "logs", "index_patterns": "[logs-*]", "order": "7", "version": "3", "composed_of": "[]"},
            {"name": "old", "index_patterns": "[old-*, older-*]", "order": "2", "version": "", "composed_of": ""}
        ])
    );
    let (_, text) = server.get("/_cat/templates/lo*?v");
    let text = text.as_str().unwrap().to_string();
    assert!(text.starts_with("name"), "{text}");
    assert!(text.contains("logs") && !text.contains("old"), "{text}");
}

#[test]
fn filter_path_pretty_human_and_error_trace_apply_to_every_json_answer() {
    let server = Server::start();
    // Logstash's and Beats' bulk calls.
    let body =
        "{\"index\":{\"_index\":\"fp\"}}\n{\"a\":1}\n{\"index\":{\"_index\":\"fp\"}}\nnot json\n";
    let (status, answer) = server.post(
        "/_bulk?filter_path=errors,items.*.error,items.*.status&refresh=wait_for",
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"], true);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items[0], json!({"index": {"status": 201}}), "{answer}");
    assert_eq!(items[1]["index"]["status"], 400);
    assert!(items[1]["index"].get("_index").is_none(), "{answer}");
    // Kibana's version check.
    let (_, body) =
        server.get("/_nodes?filter_path=nodes.*.version,nodes.*.http.publish_address,nodes.*.ip");
    let node = only_node(&body);
    let mut keys: Vec<&String> = node.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["http", "ip", "version"], "{body}");
    // Exclusions, and `pretty` indents.
    let resp = server
        .http
        .get(format!("{}/fp/_search?pretty&human&error_trace=true&filter_path=-_shards,-took,-hits.hits._source", server.url))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().unwrap();
    assert!(text.contains("\n  \"hits\""), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert!(
        body.get("_shards").is_none() && body.get("took").is_none(),
        "{body}"
    );
    assert_eq!(body["hits"]["hits"][0].get("_source"), None, "{body}");
    assert_eq!(body["hits"]["total"]["value"], 1);
    // Errors are JSON answers too.
    let (status, body) = server.get("/nope/_search?filter_path=error.type");
    assert_eq!(
        (status, body),
        (404, json!({"error": {"type": "index_not_found_exception"}}))
    );
}
