//! `GET /_nodes[/{node_id}][/{metric}]` and `GET /_cluster/settings`: what Kibana, Logstash and
//! the official clients ask of a cluster at start-up (Kibana's version check reads
//! `nodes.*.version` and `nodes.*.http.publish_address`), answered for Hydrant's one node.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{AppState, ES_VERSION, with_status};

/// The metric sections of the nodes info API.
const METRICS: &[&str] = &[
    "settings",
    "os",
    "process",
    "jvm",
    "thread_pool",
    "transport",
    "http",
    "plugins",
    "ingest",
    "aggregations",
    "indices",
];

/// The node's id: its name (one node, so the name is unique).
const NODE_ID: &str = "hydrant";

fn is_metrics(part: &str) -> bool {
    part.split(',')
        .all(|m| m == "_all" || METRICS.contains(&m.trim()))
}

fn node_matches(filter: &str, name: &str) -> bool {
    filter.split(',').map(str::trim).any(|f| {
        matches!(f, "_all" | "_local" | "_master" | "_cluster_manager" | "*")
            || f == name
            || f == NODE_ID
            || f.strip_suffix('*').is_some_and(|p| name.starts_with(p))
    })
}

fn info(state: &AppState, headers: &HeaderMap, metrics: Option<&str>) -> Value {
    let address = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:9200")
        .to_string();
    let host = address
        .rsplit_once(':')
        .map_or(address.as_str(), |(h, _)| h)
        .to_string();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sections: Vec<(&str, Value)> = vec![
        (
            "settings",
            json!({"cluster": {"name": "hydrant"}, "node": {"name": state.node_name}}),
        ),
        (
            "os",
            json!({"name": std::env::consts::OS, "arch": std::env::consts::ARCH,
            "available_processors": cores, "allocated_processors": cores}),
        ),
        (
            "process",
            json!({"id": std::process::id(), "mlockall": false}),
        ),
        (
            "http",
            json!({"bound_address": [address], "publish_address": address,
            "max_content_length_in_bytes": state.max_body}),
        ),
        ("plugins", json!([])),
        ("thread_pool", json!({})),
        (
            "transport",
            json!({"bound_address": [], "publish_address": ""}),
        ),
    ];
    let wanted = |name: &str| {
        metrics.is_none_or(|m| m.split(',').any(|x| x.trim() == "_all" || x.trim() == name))
    };
    let mut node = Map::new();
    node.insert("name".into(), json!(state.node_name));
    node.insert("transport_address".into(), json!(address));
    node.insert("host".into(), json!(host));
    node.insert("ip".into(), json!(host));
    node.insert("version".into(), json!(ES_VERSION));
    node.insert("build_flavor".into(), json!("default"));
    node.insert("build_type".into(), json!("hydrant"));
    node.insert("build_hash".into(), json!(env!("CARGO_PKG_VERSION")));
    node.insert("roles".into(), json!(["data", "ingest", "master"]));
    node.insert("attributes".into(), json!({}));
    for (name, value) in sections {
        if wanted(name) {
            node.insert(name.into(), value);
        }
    }
    Value::Object(node)
}

fn answer(
    state: &AppState,
    headers: &HeaderMap,
    filter: Option<&str>,
    metrics: Option<&str>,
) -> Response {
    let included = filter.is_none_or(|f| node_matches(f, &state.node_name));
    let mut nodes = Map::new();
    if included {
        nodes.insert(NODE_ID.into(), info(state, headers, metrics));
    }
    let n = nodes.len();
    with_status(
        StatusCode::OK,
        json!({
            "_nodes": {"total": n, "successful": n, "failed": 0},
            "cluster_name": "hydrant",
            "nodes": nodes,
        }),
    )
}

pub(super) async fn nodes_all(State(state): State<AppState>, headers: HeaderMap) -> Response {
    answer(&state, &headers, None, None)
}

/// `/_nodes/{x}`: a metric list (`http`, `os,process`) or a node filter (`_local`, a name).
pub(super) async fn nodes_one(
    State(state): State<AppState>,
    Path(part): Path<String>,
    headers: HeaderMap,
) -> Response {
    if is_metrics(&part) {
        answer(&state, &headers, None, Some(&part))
    } else {
        answer(&state, &headers, Some(&part), None)
    }
}

pub(super) async fn nodes_two(
    State(state): State<AppState>,
    Path((filter, metrics)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    answer(&state, &headers, Some(&filter), Some(&metrics))
}
