//! The single-document write APIs: `PUT|POST /{index}/_doc/{id}`, `POST /{index}/_doc` and
//! `PUT|POST /{index}/_create/{id}`, with `?pipeline=` and `?refresh=`. Each is a bulk request
//! of one item on the same path as `_bulk` (same accept path, same durability), answered in
//! Elasticsearch's single-document shape.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::body::read_body;
use crate::bulk::ingest_bulk;
use crate::routes::{IngestState, RecordParams, WAIT_FOR_LIMIT, wants_wait};

/// The document routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/{target}/_doc", post(index_auto_id))
        .route("/{target}/_doc/{id}", put(index_doc).post(index_doc))
        .route("/{target}/_create/{id}", put(create_doc).post(create_doc))
}

async fn index_auto_id(
    State(state): State<IngestState>,
    Path(target): Path<String>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    write(&state, "index", &target, None, &params, &headers, body).await
}

async fn index_doc(
    State(state): State<IngestState>,
    Path((target, id)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    write(&state, "index", &target, Some(&id), &params, &headers, body).await
}

async fn create_doc(
    State(state): State<IngestState>,
    Path((target, id)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    write(
        &state,
        "create",
        &target,
        Some(&id),
        &params,
        &headers,
        body,
    )
    .await
}

fn error(status: StatusCode, kind: &str, reason: &str) -> Response {
    (
        status,
        axum::Json(hydrant_http::es_error_body(status, kind, reason, None)),
    )
        .into_response()
}

async fn write(
    state: &IngestState,
    action: &str,
    target: &str,
    id: Option<&str>,
    params: &RecordParams,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let external = matches!(
        params.version_type.as_deref(),
        Some("external" | "external_gt" | "external_gte")
    );
    if params.version.is_some() && !external {
        return error(
            StatusCode::BAD_REQUEST,
            "action_request_validation_exception",
            "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;",
        );
    }
    let body = match read_body(headers, body, state.limits).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            "request body is required",
        );
    }
    // A document written over several lines (pretty JSON) becomes one bulk source line.
    let source: Bytes = if body.contains(&b'\n') || body.contains(&b'\r') {
        match serde_json::from_slice::<Value>(&body) {
            Ok(v) => Bytes::from(v.to_string()),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "mapper_parsing_exception",
                    &format!("failed to parse: {e}"),
                );
            }
        }
    } else {
        body
    };
    // A conditional write (`if_seq_no`) and `_create` of a chosen id read the document first,
    // under the stream's read-modify-write lock, held until the write is in the log.
    let checks = super::updates::conditions(params).any() || (action == "create" && id.is_some());
    let guard = match (checks, id) {
        (true, Some(id)) => match crate::documents::read_current(state, target, id).await {
            Ok((_, guard, current)) => {
                let conditions = super::updates::conditions(params);
                if conditions.fail(current.as_ref()) {
                    let e = crate::documents::conflict(id, params.if_seq_no, current.as_ref());
                    return super::updates::respond(Err(e));
                }
                if action == "create" && current.is_some() {
                    let e = crate::documents::conflict(id, None, current.as_ref());
                    return super::updates::respond(Err(e));
                }
                Some(guard)
            }
            Err(e) => return e.into_response(),
        },
        _ => None,
    };
    let answer = write_one(state, action, target, id, source, params, headers).await;
    drop(guard);
    answer
}

/// Writes `source` as a bulk request of one `action` item and answers in the single-document
/// shape.
pub(super) async fn write_one(
    state: &IngestState,
    action: &str,
    target: &str,
    id: Option<&str>,
    source: Bytes,
    params: &RecordParams,
    headers: &HeaderMap,
) -> Response {
    let mut meta = serde_json::Map::new();
    meta.insert("_index".into(), Value::String(target.to_string()));
    if let Some(id) = id {
        meta.insert("_id".into(), Value::String(id.to_string()));
    }
    let mut one = json!({ action: meta }).to_string().into_bytes();
    one.push(b'\n');
    one.extend_from_slice(&source);
    one.push(b'\n');
    let wait = wants_wait(params.refresh.as_deref()).then_some(WAIT_FOR_LIMIT);
    let (answer, _, _) = ingest_bulk(
        state,
        Bytes::from(one),
        None,
        params.pipeline.as_deref(),
        headers,
        wait,
    )
    .await;
    let item = serde_json::from_slice::<Value>(&answer)
        .ok()
        .and_then(|v| v["items"][0][action].as_object().cloned());
    let Some(mut item) = item else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "exception",
            "the write was not answered",
        );
    };
    let status = item
        .remove("status")
        .and_then(|s| s.as_u64())
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(e) = item.remove("error") {
        let kind = e["type"].as_str().unwrap_or("exception");
        let reason = e["reason"].as_str().unwrap_or_default();
        return error(status, kind, reason);
    }
    if matches!(params.refresh.as_deref(), Some("true" | "")) {
        item.insert("forced_refresh".into(), Value::Bool(true));
    }
    (status, axum::Json(Value::Object(item))).into_response()
}
