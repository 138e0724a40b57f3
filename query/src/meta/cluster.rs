//! `_cluster/health` and `_resolve/index`: one node, every shard a started primary.

use std::collections::BTreeMap;
use std::sync::Arc;

use hydrant_index::{Catalog, IndexHandle, wildcard_match};
use serde_json::{Value, json};

use crate::error::QueryError;

/// `GET /_cluster/health[/{target}]`: green, or red with a damaged index (whose shard counts
/// as an unassigned primary, as a shard whose files are corrupt does in Elasticsearch).
pub fn health(indices: &[Arc<IndexHandle>], damaged: usize) -> Value {
    let shards: usize = indices.iter().map(|i| i.shards().len()).sum();
    json!({
        "cluster_name": "hydrant",
        "status": if damaged > 0 { "red" } else { "green" },
        "timed_out": false,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": shards,
        "active_shards": shards,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": damaged,
        "unassigned_primary_shards": damaged,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": active_percent(shards, damaged),
    })
}

/// Active shards as a percentage of all (100 when there are none).
pub(crate) fn active_percent(active: usize, unassigned: usize) -> f64 {
    if active + unassigned == 0 {
        100.0
    } else {
        active as f64 * 100.0 / (active + unassigned) as f64
    }
}

/// `GET /_resolve/index/{expr}`: the indices and aliases (streams) an expression names.
pub fn resolve(
    catalog: &Catalog,
    expr: &str,
    ignore_unavailable: bool,
) -> Result<Value, QueryError> {
    let all = catalog.list();
    let mut indices: BTreeMap<String, Arc<IndexHandle>> = BTreeMap::new();
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let streams: BTreeMap<String, Vec<String>> = all.iter().fold(BTreeMap::new(), |mut m, i| {
        m.entry(i.stream().to_string())
            .or_insert_with(Vec::new)
            .push(i.name().to_string());
        m
    });
    for part in expr.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let pattern = if part == "_all" { "*" } else { part };
        let mut found = false;
        for i in &all {
            if wildcard_match(pattern, i.name()) {
                indices.insert(i.name().to_string(), i.clone());
                found = true;
            }
        }
        for (stream, members) in &streams {
            if wildcard_match(pattern, stream) && !members.iter().any(|m| m == stream) {
                aliases.insert(stream.clone(), members.clone());
                found = true;
            }
        }
        if !found && !pattern.contains('*') && !ignore_unavailable {
            return Err(QueryError::IndexNotFound(part.to_string()));
        }
    }
    let indices: Vec<Value> = indices
        .values()
        .map(|i| {
            // `aliases` only when there are some, as Elasticsearch answers.
            if i.stream() != i.name() {
                json!({"name": i.name(), "aliases": [i.stream()], "attributes": ["open"]})
            } else {
                json!({"name": i.name(), "attributes": ["open"]})
            }
        })
        .collect();
    let aliases: Vec<Value> = aliases
        .into_iter()
        .map(|(name, members)| json!({"name": name, "indices": members}))
        .collect();
    Ok(json!({"indices": indices, "aliases": aliases, "data_streams": []}))
}
