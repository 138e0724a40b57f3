//! `POST /{target}/_delete_by_query`, and `GET /_tasks/{id}` for the ones started with
//! `wait_for_completion=false`.
//!
//! For each stream behind the target, under its read-modify-write lock and after a refresh, the
//! documents the query matches are found by the search room (the [`Matcher`] the binary gives)
//! and a deletion record per document goes to the stream's write-ahead log in one batch — the
//! same durable path as `DELETE /{index}/_doc/{id}`. No version conflicts can arise (the lock
//! keeps writes of other read-modify-writes out), so `version_conflicts` is always 0.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use hydrant_index::{IndexHandle, ResolveOptions};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};

use super::indices::json_body;
use crate::error::IngestError;
use crate::record::Record;
use crate::routes::{IngestState, WAIT_FOR_LIMIT, wants_wait};

/// Why the search room could not run a query: its HTTP status, Elasticsearch type and reason.
#[derive(Debug, Clone)]
pub struct MatchError {
    /// HTTP status.
    pub status: u16,
    /// Elasticsearch's error type.
    pub es_type: &'static str,
    /// The reason.
    pub reason: String,
}

/// Finds the documents (index, id) a query matches in indices, at most a number of them.
pub type Matcher = Arc<
    dyn Fn(&[Arc<IndexHandle>], &Value, usize) -> Result<Vec<(String, String)>, MatchError>
        + Send
        + Sync,
>;

/// Delete-by-query requests started with `wait_for_completion=false`, by task number.
#[derive(Default)]
pub struct Tasks {
    next: AtomicU64,
    done: Mutex<HashMap<u64, Option<Value>>>,
}

/// The routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/{target}/_delete_by_query", post(delete_by_query))
        .route("/_tasks/{id}", get(task))
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    refresh: Option<String>,
    wait_for_completion: Option<bool>,
    max_docs: Option<usize>,
    conflicts: Option<String>,
}

async fn delete_by_query(
    State(state): State<IngestState>,
    Path(target): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(query) = body.get("query").cloned() else {
        return hydrant_http::es_error(
            StatusCode::BAD_REQUEST,
            "action_request_validation_exception",
            "Validation Failed: 1: query is missing;",
        );
    };
    if let Some(c) = params
        .conflicts
        .as_deref()
        .filter(|c| *c != "abort" && *c != "proceed")
    {
        return IngestError::InvalidArgument(format!(
            "conflicts may only be \"proceed\" or \"abort\" but was [{c}]"
        ))
        .into_response();
    }
    let max = body
        .get("max_docs")
        .and_then(Value::as_u64)
        .map(|n| n as usize)
        .or(params.max_docs)
        .unwrap_or(usize::MAX);
    if params.wait_for_completion == Some(false) {
        let tasks = state.tasks.clone();
        let n = tasks.next.fetch_add(1, Ordering::Relaxed) + 1;
        tasks.done.lock().insert(n, None);
        let refresh = params.refresh.clone();
        tokio::spawn(async move {
            let result = run(&state, &target, &query, max, refresh.as_deref()).await;
            let value = match result {
                Ok(v) => json!({ "response": v }),
                Err(e) => json!({ "error": {"type": e.es_type(), "reason": e.to_string()} }),
            };
            state.tasks.done.lock().insert(n, Some(value));
        });
        return axum::Json(json!({ "task": format!("hydrant:{n}") })).into_response();
    }
    match run(&state, &target, &query, max, params.refresh.as_deref()).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(
    state: &IngestState,
    target: &str,
    query: &Value,
    max: usize,
    refresh: Option<&str>,
) -> Result<Value, IngestError> {
    let started = std::time::Instant::now();
    let Some(matcher) = state.matcher.clone() else {
        return Err(IngestError::InvalidArgument(
            "_delete_by_query needs the search API, which this server does not run".into(),
        ));
    };
    let catalog = state.pipeline.catalog().clone();
    let strict = ResolveOptions {
        ignore_unavailable: false,
        allow_no_indices: true,
    };
    let mut by_stream: BTreeMap<String, Vec<Arc<IndexHandle>>> = BTreeMap::new();
    for index in catalog.resolve(target, strict)? {
        by_stream
            .entry(index.stream().to_string())
            .or_default()
            .push(index);
    }
    let mut deleted = 0usize;
    // One batch per stream with documents to delete (Elasticsearch counts its scroll pages:
    // none when nothing matched).
    let mut batches = 0usize;
    for (name, indices) in by_stream {
        if deleted >= max {
            break;
        }
        let (stream, guard) = crate::documents::lock_fresh(state, &name).await?;
        // The indices again, after the refresh: it may have created one.
        let named: Vec<String> = indices.iter().map(|i| i.name().to_string()).collect();
        let fresh: Vec<Arc<IndexHandle>> = catalog
            .stream_indices(&name)
            .into_iter()
            .filter(|i| named.contains(&i.name().to_string()) || named.contains(&name))
            .collect();
        let (query, remaining, matcher) = (query.clone(), max - deleted, matcher.clone());
        let found = tokio::task::spawn_blocking(move || matcher(&fresh, &query, remaining))
            .await
            .map_err(|e| IngestError::Unavailable(format!("the query failed: {e}")))?
            .map_err(|e| IngestError::Query {
                status: e.status,
                es_type: e.es_type,
                reason: e.reason,
            })?;
        if found.is_empty() {
            continue;
        }
        batches += 1;
        let now = chrono::Utc::now().timestamp_millis();
        let records: Vec<Record> = found
            .iter()
            .map(|(index, id)| Record {
                id: id.as_str().into(),
                client_id: true,
                arrival_ms: now,
                timestamp_ms: now,
                is_object: false,
                data: Bytes::from(index.clone().into_bytes()),
                source: None,
                delete: true,
            })
            .collect();
        let receipt = stream.append(records).await?;
        drop(guard);
        deleted += found.len();
        if wants_wait(refresh) {
            stream.wait_searchable(receipt.last, WAIT_FOR_LIMIT).await;
        }
    }
    Ok(json!({
        "took": started.elapsed().as_millis() as u64, "timed_out": false,
        "total": deleted, "deleted": deleted, "batches": batches, "version_conflicts": 0, "noops": 0,
        "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
        "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": [],
    }))
}

async fn task(State(state): State<IngestState>, Path(id): Path<String>) -> Response {
    let n = id
        .strip_prefix("hydrant:")
        .and_then(|n| n.parse::<u64>().ok());
    let entry = n.and_then(|n| state.tasks.done.lock().get(&n).cloned());
    let Some(entry) = entry else {
        return hydrant_http::es_error(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            &format!("task [{id}] isn't running and hasn't stored its results"),
        );
    };
    let mut out = json!({
        "completed": entry.is_some(),
        "task": {"node": "hydrant", "id": n, "type": "transport",
                 "action": "indices:data/write/delete/byquery", "cancellable": false},
    });
    if let Some(Value::Object(result)) = entry {
        for (k, v) in result {
            out[k] = v;
        }
    }
    axum::Json(out).into_response()
}
