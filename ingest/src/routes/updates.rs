//! The read-modify-write document APIs: `DELETE /{index}/_doc/{id}` and
//! `POST /{index}/_update/{id}` (`doc`, `doc_as_upsert`, `upsert`, `detect_noop`), and the
//! `if_seq_no` / `if_primary_term` conditions of every single-document write.
//!
//! Each reads the document as it is now — the stream is refreshed first, so that everything
//! accepted before is seen, as Elasticsearch's realtime reads see it — under the stream's
//! read-modify-write lock, which is held until its own write is in the write-ahead log. A
//! deletion is a record of its own in the log (durable and replayed like every write) that the
//! embedded index applies; the backup and the Elasticsearch destination receive documents only.
//! Sequence numbers are write-ahead-log positions; the primary term is always 1.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use hydrant_index::{FoundDoc, IndexError};
use serde_json::{Map, Value, json};
use tokio::sync::OwnedMutexGuard;

use super::indices::json_body;
use crate::error::IngestError;
use crate::record::Record;
use crate::routes::{IngestState, RecordParams, WAIT_FOR_LIMIT, wants_wait};

/// Longest a read-modify-write waits for the stream to make its records searchable.
const READ_LIMIT: Duration = Duration::from_secs(60);

/// The update and delete routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/{target}/_update/{id}", post(update))
        .route("/{target}/_doc/{id}", axum::routing::delete(delete))
}

/// The document `id` of the stream `target` writes to, read after a refresh, with the lock
/// that keeps it current until the caller's write is in the log. A target that is no stream,
/// index or alias is `index_not_found_exception`.
pub(super) async fn read_current(
    state: &IngestState,
    target: &str,
    id: &str,
) -> Result<(OwnedMutexGuard<()>, Option<FoundDoc>), IngestError> {
    let catalog = state.pipeline.catalog();
    let known = catalog.is_index_or_stream(target)
        || state.pipeline.get(target).is_some()
        || catalog.definitions().alias_targets(target).is_some()
        || state.pipeline.config().streams.contains_key(target);
    if !known {
        return Err(IngestError::Index(IndexError::IndexNotFound(
            target.to_string(),
        )));
    }
    let (stream, guard) = lock_fresh(state, target).await?;
    let indices = catalog.stream_indices(stream.name());
    let id = id.to_string();
    let found = tokio::task::spawn_blocking(move || hydrant_index::find_doc(&indices, &id))
        .await
        .map_err(|e| IngestError::Unavailable(format!("reading the document failed: {e}")))??;
    Ok((guard, found))
}

/// The stream `target` writes to, locked for a read-modify-write and refreshed: everything it
/// accepted before is searchable.
pub(super) async fn lock_fresh(
    state: &IngestState,
    target: &str,
) -> Result<(std::sync::Arc<crate::stream::Stream>, OwnedMutexGuard<()>), IngestError> {
    let stream = state.pipeline.stream(target).await?;
    let guard = stream.lock_documents().await;
    if !stream.refresh(READ_LIMIT).await {
        return Err(IngestError::Unavailable(format!(
            "the records of [{}] did not become searchable within {READ_LIMIT:?}",
            stream.name()
        )));
    }
    Ok((stream, guard))
}

/// Elasticsearch's 409 for a condition that does not hold (`required`: the `if_seq_no` asked
/// for; `None`: `_create` of an id that exists).
pub(super) fn conflict(id: &str, required: Option<u64>, current: Option<&FoundDoc>) -> Response {
    let reason = match (required, current) {
        (Some(seq), Some(c)) => format!(
            "[{id}]: version conflict, required seqNo [{seq}], primary term [1]. current document has seqNo [{}] and primary term [1]",
            c.seq_no
        ),
        (Some(seq), None) => format!(
            "[{id}]: version conflict, required seqNo [{seq}], primary term [1]. but no document was found"
        ),
        (None, _) => {
            format!("[{id}]: version conflict, document already exists (current version [1])")
        }
    };
    let mut body = hydrant_http::es_error_body(
        StatusCode::CONFLICT,
        "version_conflict_engine_exception",
        &reason,
        None,
    );
    if let Some(c) = current {
        body["error"]["index"] = json!(c.index);
    }
    (StatusCode::CONFLICT, axum::Json(body)).into_response()
}

/// Whether `params`' `if_seq_no` / `if_primary_term` fail against `current`.
pub(super) fn condition_fails(params: &RecordParams, current: Option<&FoundDoc>) -> bool {
    let seq_fails = params
        .if_seq_no
        .is_some_and(|required| current.map(|c| c.seq_no) != Some(required));
    seq_fails || params.if_primary_term.is_some_and(|t| t != 1)
}

fn shards() -> Value {
    json!({"total": 1, "successful": 1, "failed": 0})
}

async fn delete(
    State(state): State<IngestState>,
    Path((target, id)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
) -> Response {
    let (guard, current) = match read_current(&state, &target, &id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if condition_fails(&params, current.as_ref()) {
        return conflict(&id, params.if_seq_no, current.as_ref());
    }
    let Some(current) = current else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"_index": target, "_id": id, "_version": 1, "result": "not_found",
                "_shards": shards(), "_seq_no": 0, "_primary_term": 1}),
            ),
        )
            .into_response();
    };
    let seq_no = match delete_record(&state, &target, &id, &current, &params).await {
        Ok(seq_no) => seq_no,
        Err(e) => return e.into_response(),
    };
    drop(guard);
    axum::Json(
        json!({"_index": current.index, "_id": id, "_version": 1, "result": "deleted",
        "_shards": shards(), "_seq_no": seq_no, "_primary_term": 1}),
    )
    .into_response()
}

/// Appends the deletion of `current` to the log of the stream behind `target`; waits until it
/// is searchable when `refresh` asks. Returns its sequence number.
async fn delete_record(
    state: &IngestState,
    target: &str,
    id: &str,
    current: &FoundDoc,
    params: &RecordParams,
) -> Result<u64, IngestError> {
    let stream = state.pipeline.stream(target).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let record = Record {
        id: id.into(),
        client_id: true,
        arrival_ms: now,
        timestamp_ms: current.timestamp_ms,
        is_object: false,
        data: Bytes::from(current.index.clone().into_bytes()),
        source: None,
        delete: true,
    };
    let receipt = stream.append(vec![record]).await?;
    if wants_wait(params.refresh.as_deref()) {
        stream.wait_searchable(receipt.last, WAIT_FOR_LIMIT).await;
    }
    Ok(receipt.first)
}

/// `doc` merged into `base`: objects member by member, everything else replaced.
fn merge(base: &mut Value, doc: &Value) {
    match (base, doc) {
        (Value::Object(b), Value::Object(d)) => {
            for (k, v) in d {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (base, doc) => *base = doc.clone(),
    }
}

async fn update(
    State(state): State<IngestState>,
    Path((target, id)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return IngestError::InvalidArgument(
                "Validation Failed: 1: script or doc is missing;".into(),
            )
            .into_response();
        }
        Err(r) => return r,
    };
    if body.contains_key("script") {
        return IngestError::InvalidArgument(
            "[script] updates are not supported by Hydrant: send the changed fields as [doc]"
                .into(),
        )
        .into_response();
    }
    let Some(doc) = body.get("doc").filter(|d| d.is_object()) else {
        return IngestError::InvalidArgument(
            "Validation Failed: 1: script or doc is missing;".into(),
        )
        .into_response();
    };
    let as_upsert = body.get("doc_as_upsert").and_then(Value::as_bool) == Some(true);
    let detect_noop = body.get("detect_noop").and_then(Value::as_bool) != Some(false);
    let (guard, current) = match read_current(&state, &target, &id).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if condition_fails(&params, current.as_ref()) {
        return conflict(&id, params.if_seq_no, current.as_ref());
    }
    let (new, result) = match &current {
        Some(c) => {
            let mut merged: Value =
                serde_json::from_slice(&c.source).unwrap_or(Value::Object(Map::new()));
            let before = merged.clone();
            merge(&mut merged, doc);
            if detect_noop && merged == before {
                return axum::Json(json!({"_index": c.index, "_id": id, "_version": 1, "result": "noop",
                    "_shards": {"total": 0, "successful": 0, "failed": 0}, "_seq_no": c.seq_no, "_primary_term": 1}))
                .into_response();
            }
            (merged, "updated")
        }
        None if as_upsert => (doc.clone(), "created"),
        None => match body.get("upsert").filter(|u| u.is_object()) {
            Some(upsert) => (upsert.clone(), "created"),
            None => {
                let mut e = hydrant_http::es_error_body(
                    StatusCode::NOT_FOUND,
                    "document_missing_exception",
                    &format!("[{id}]: document missing"),
                    None,
                );
                e["error"]["index"] = json!(target);
                return (StatusCode::NOT_FOUND, axum::Json(e)).into_response();
            }
        },
    };
    // Written as an `index` of the whole new version; ingest pipelines do not run on updates.
    let write_params = RecordParams {
        refresh: params.refresh.clone(),
        pipeline: Some("_none".into()),
        if_seq_no: None,
        if_primary_term: None,
    };
    let source = Bytes::from(new.to_string());
    let answer = super::documents::write_one(
        &state,
        "index",
        &target,
        Some(&id),
        source,
        &write_params,
        &headers,
    )
    .await;
    if !answer.status().is_success() {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return IngestError::Unavailable("the update was not answered".into()).into_response();
    };
    let mut item: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // A new event time may put the new version in another index: the old one goes.
    if let Some(c) = &current
        && item["_index"].as_str().is_some_and(|i| i != c.index)
        && let Err(e) = delete_record(&state, &target, &id, c, &write_params).await
    {
        return e.into_response();
    }
    drop(guard);
    item["result"] = json!(result);
    let status = if result == "created" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let _ = parts;
    (status, axum::Json(item)).into_response()
}
