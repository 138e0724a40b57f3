//! What clients and tools probe besides `_nodes`: `GET /_license` and `GET /_xpack` (a basic
//! license; every X-Pack feature reported unavailable, which is what Hydrant has),
//! `GET /_cluster/state[/{metrics}[/{target}]]`, `GET /_nodes/stats[/{metrics}]`, and
//! `GET|PUT /_cluster/settings` (kept and answered back; Hydrant's settings are its
//! configuration file, so they change nothing).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hydrant_index::TemplateKind;
use hydrant_index::definitions::{flatten, nest_settings, template_view};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use axum::response::IntoResponse;

use super::{AppState, EsBody, with_status};
use crate::meta;

/// Fixed dates of the basic license (it never expires).
const ISSUED_MS: i64 = 1_764_115_200_000;

pub(super) async fn license() -> Response {
    with_status(
        StatusCode::OK,
        json!({"license": {
            "status": "active", "uid": "hydrant-basic", "type": "basic",
            "issue_date": "2025-11-26T00:00:00.000Z", "issue_date_in_millis": ISSUED_MS,
            "max_nodes": 1000, "max_resource_units": null, "issued_to": "hydrant",
            "issuer": "elasticsearch", "start_date_in_millis": -1
        }}),
    )
}

/// The X-Pack features clients look up; none is available in Hydrant.
const FEATURES: &[&str] = &[
    "aggregate_metric",
    "analytics",
    "ccr",
    "data_streams",
    "data_tiers",
    "enrich",
    "eql",
    "frozen_indices",
    "graph",
    "ilm",
    "logstash",
    "ml",
    "monitoring",
    "rollup",
    "searchable_snapshots",
    "security",
    "slm",
    "spatial",
    "sql",
    "transform",
    "voting_only",
    "watcher",
];

pub(super) async fn xpack() -> Response {
    let features: Map<String, Value> = FEATURES
        .iter()
        .map(|f| {
            (
                (*f).to_string(),
                json!({"available": false, "enabled": false}),
            )
        })
        .collect();
    with_status(
        StatusCode::OK,
        json!({
            "build": {"hash": env!("CARGO_PKG_VERSION"), "date": "2026-11-26T00:00:00.000Z"},
            "license": {"uid": "hydrant-basic", "type": "basic", "mode": "basic", "status": "active"},
            "features": features,
            "tagline": "You know, for X",
        }),
    )
}

/// `?flat_settings=true`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FlatParams {
    flat_settings: Option<bool>,
}

fn settings_body(flat: Map<String, Value>, as_flat: bool) -> Value {
    if as_flat {
        Value::Object(flat)
    } else {
        nest_settings(&flat)
    }
}

pub(super) async fn cluster_settings(
    State(state): State<AppState>,
    Query(params): Query<FlatParams>,
) -> Response {
    let (persistent, transient) = state.engine.catalog().definitions().cluster_settings();
    let flat = params.flat_settings == Some(true);
    with_status(
        StatusCode::OK,
        json!({"persistent": settings_body(persistent, flat), "transient": settings_body(transient, flat)}),
    )
}

pub(super) async fn put_cluster_settings(
    State(state): State<AppState>,
    Query(params): Query<FlatParams>,
    EsBody(body): EsBody,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(m)) => Value::Object(m),
        _ => {
            return hydrant_http::es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: no settings to update;",
            );
        }
    };
    let part = |key: &str| {
        let mut out = Map::new();
        if let Some(v) = body.get(key) {
            flatten("", v, &mut out);
        }
        out
    };
    let (persistent, transient) = (part("persistent"), part("transient"));
    if persistent.is_empty() && transient.is_empty() {
        return hydrant_http::es_error(
            StatusCode::BAD_REQUEST,
            "action_request_validation_exception",
            "Validation Failed: 1: no settings to update;",
        );
    }
    let flat = params.flat_settings == Some(true);
    let echo = (
        settings_body(persistent.clone(), flat),
        settings_body(transient.clone(), flat),
    );
    let catalog = state.engine.catalog().clone();
    match tokio::task::spawn_blocking(move || {
        catalog
            .definitions()
            .put_cluster_settings(persistent, transient)
    })
    .await
    {
        Ok(Ok(())) => with_status(
            StatusCode::OK,
            json!({"acknowledged": true, "persistent": echo.0, "transient": echo.1}),
        ),
        Ok(Err(e)) => crate::error::QueryError::from(e).into_response(),
        Err(e) => hydrant_http::es_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            &e.to_string(),
        ),
    }
}

const STATE_METRICS: &[&str] = &[
    "version",
    "master_node",
    "blocks",
    "nodes",
    "metadata",
    "routing_table",
    "routing_nodes",
    "customs",
];

fn cluster_state(state: &AppState, metrics: Option<&str>, target: Option<&str>) -> Response {
    let wanted: Vec<&str> = match metrics {
        None | Some("_all") => STATE_METRICS.to_vec(),
        Some(m) => m.split(',').map(str::trim).collect(),
    };
    if let Some(bad) = wanted.iter().find(|m| !STATE_METRICS.contains(m)) {
        return hydrant_http::es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &format!("request [/_cluster/state] contains unrecognized metric: [{bad}]"),
        );
    }
    let catalog = state.engine.catalog();
    let lenient = hydrant_index::ResolveOptions {
        ignore_unavailable: true,
        allow_no_indices: true,
    };
    let indices = match catalog.resolve(target.unwrap_or("_all"), lenient) {
        Ok(i) => i,
        Err(e) => return crate::error::QueryError::from(e).into_response(),
    };
    let mut out = Map::new();
    out.insert("cluster_name".into(), json!("hydrant"));
    out.insert("cluster_uuid".into(), json!("hydrant"));
    let node = || json!({"hydrant": {"name": state.node_name, "ephemeral_id": "hydrant", "transport_address": "127.0.0.1:9300", "attributes": {}, "roles": ["data", "ingest", "master"]}});
    for m in wanted {
        match m {
            "version" => {
                out.insert("version".into(), json!(1));
                out.insert("state_uuid".into(), json!("hydrant"));
            }
            "master_node" => {
                out.insert("master_node".into(), json!("hydrant"));
            }
            "blocks" => {
                out.insert("blocks".into(), json!({}));
            }
            "nodes" => {
                out.insert("nodes".into(), node());
            }
            "metadata" => {
                let mappings = meta::mapping(&indices);
                let mut by_name = Map::new();
                for index in &indices {
                    let aliases: Vec<&str> = if index.stream() != index.name() {
                        vec![index.stream()]
                    } else {
                        vec![]
                    };
                    by_name.insert(
                        index.name().to_string(),
                        json!({
                            "state": "open",
                            "settings": state.engine.index_settings(Some(index), index.stream()),
                            "mappings": {"_doc": mappings[index.name()]["mappings"]},
                            "aliases": aliases,
                        }),
                    );
                }
                let templates: Map<String, Value> = catalog
                    .definitions()
                    .get_templates(TemplateKind::Legacy, None)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(n, t)| (n, template_view(TemplateKind::Legacy, &t)))
                    .collect();
                out.insert("metadata".into(), json!({"cluster_uuid": "hydrant", "cluster_uuid_committed": true, "templates": templates, "indices": by_name}));
            }
            "routing_table" => {
                let mut table = Map::new();
                for index in &indices {
                    let shards: Map<String, Value> = (0..index.shards().len())
                        .map(|n| (n.to_string(), json!([{"state": "STARTED", "primary": true, "node": "hydrant", "shard": n, "index": index.name()}])))
                        .collect();
                    table.insert(index.name().to_string(), json!({"shards": shards}));
                }
                out.insert("routing_table".into(), json!({"indices": table}));
            }
            _ => {}
        }
    }
    with_status(StatusCode::OK, Value::Object(out))
}

pub(super) async fn state_all(State(state): State<AppState>) -> Response {
    cluster_state(&state, None, None)
}

pub(super) async fn state_metrics(
    State(state): State<AppState>,
    Path(metrics): Path<String>,
) -> Response {
    cluster_state(&state, Some(&metrics), None)
}

pub(super) async fn state_target(
    State(state): State<AppState>,
    Path((metrics, target)): Path<(String, String)>,
) -> Response {
    cluster_state(&state, Some(&metrics), Some(&target))
}

/// A number from a `/proc` file (Linux); `None` elsewhere or when unreadable.
fn proc_kib(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|k| k * 1024)
}

/// The request cache's counters in ES's shape, and the segments skipped by time (Hydrant's
/// own counter beside them).
fn request_cache(state: &AppState) -> Value {
    let stats = state
        .engine
        .request_cache()
        .map(|c| c.stats())
        .unwrap_or_default();
    json!({
        "memory_size_in_bytes": stats.memory_size_in_bytes,
        "evictions": stats.evictions,
        "hit_count": stats.hit_count,
        "miss_count": stats.miss_count,
        "hydrant_segments_skipped_by_time": state.engine.skipped_segments(),
    })
}

/// `POST /_cache/clear`: the request cache is the node's only cache, one for every index.
pub(super) async fn clear_cache(State(state): State<AppState>) -> Response {
    let indices = state.engine.catalog().list();
    cleared(&state, &indices)
}

/// `POST /{target}/_cache/clear`: the target must exist (404 as in ES); the cache, shared by
/// every index, is cleared whole.
pub(super) async fn clear_cache_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
) -> Response {
    let params = crate::request::SearchParams {
        allow_no_indices: Some(false),
        ..Default::default()
    };
    match state.engine.resolve(&target, &params) {
        Ok(indices) => cleared(&state, &indices),
        Err(e) => e.into_response(),
    }
}

fn cleared(state: &AppState, indices: &[std::sync::Arc<hydrant_index::IndexHandle>]) -> Response {
    if let Some(cache) = state.engine.request_cache() {
        cache.clear();
    }
    let shards: usize = indices.iter().map(|i| i.shards().len()).sum();
    with_status(
        StatusCode::OK,
        json!({"_shards": {"total": shards, "successful": shards, "failed": 0}}),
    )
}

fn node_stats(state: &AppState) -> Value {
    let now = chrono::Utc::now().timestamp_millis();
    let (mut docs, mut deleted, mut size) = (0u64, 0u64, 0u64);
    for index in state.engine.catalog().list() {
        let (d, x, s) = index.doc_stats();
        docs += d;
        deleted += x;
        size += s;
    }
    let mut node = json!({
        "timestamp": now, "name": state.node_name, "transport_address": "127.0.0.1:9300",
        "host": "127.0.0.1", "ip": "127.0.0.1:9300", "roles": ["data", "ingest", "master"],
        "indices": {
            "docs": {"count": docs, "deleted": deleted},
            "store": {"size_in_bytes": size},
            "request_cache": request_cache(state),
        },
        "process": {"timestamp": now},
        "os": {"timestamp": now},
    });
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        node["process"]["open_file_descriptors"] = json!(fds.count());
    }
    if let Some(rss) = proc_kib("/proc/self/status", "VmRSS:") {
        node["process"]["mem"] = json!({"resident_in_bytes": rss});
    }
    if let (Some(total), Some(free)) = (
        proc_kib("/proc/meminfo", "MemTotal:"),
        proc_kib("/proc/meminfo", "MemAvailable:"),
    ) {
        node["os"]["mem"] = json!({"total_in_bytes": total, "free_in_bytes": free, "used_in_bytes": total.saturating_sub(free)});
    }
    node
}

pub(super) async fn nodes_stats(State(state): State<AppState>) -> Response {
    with_status(
        StatusCode::OK,
        json!({
            "_nodes": {"total": 1, "successful": 1, "failed": 0},
            "cluster_name": "hydrant",
            "nodes": {"hydrant": node_stats(&state)},
        }),
    )
}
