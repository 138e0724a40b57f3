//! Read-modify-write on single documents — `_update`, deletions by id, and the `if_seq_no` /
//! `if_primary_term` conditions — shared by the single-document APIs and `_bulk`'s `update` and
//! `delete` items.
//!
//! Each reads the document as it is now — the stream is refreshed first (a commit at once), so
//! that everything accepted before is seen, as Elasticsearch's realtime reads see it — under the
//! stream's read-modify-write lock, held until its own write is in the write-ahead log. A
//! deletion is a record of its own in the log (durable and replayed like every write) that the
//! embedded index applies; the backup and the Elasticsearch destination receive documents only.
//! Sequence numbers are write-ahead-log positions; the primary term is always 1.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use bytes::Bytes;
use hydrant_index::{FoundDoc, IndexError};
use serde_json::{Map, Value, json};
use tokio::sync::OwnedMutexGuard;

use crate::error::IngestError;
use crate::record::Record;
use crate::routes::{IngestState, WAIT_FOR_LIMIT, wants_wait};
use crate::stream::Stream;

/// Longest a read-modify-write waits for the stream to make its records searchable.
const READ_LIMIT: Duration = Duration::from_secs(60);

/// `if_seq_no` and `if_primary_term`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Conditions {
    pub if_seq_no: Option<u64>,
    pub if_primary_term: Option<u64>,
}

impl Conditions {
    /// Whether there is a condition to check.
    pub(crate) fn any(&self) -> bool {
        self.if_seq_no.is_some() || self.if_primary_term.is_some()
    }

    /// Whether they fail against `current`.
    pub(crate) fn fail(&self, current: Option<&FoundDoc>) -> bool {
        let seq_fails = self
            .if_seq_no
            .is_some_and(|required| current.map(|c| c.seq_no) != Some(required));
        seq_fails || self.if_primary_term.is_some_and(|t| t != 1)
    }
}

/// A document operation's answer: status and body in Elasticsearch's single-document shape
/// (which a bulk item takes too), and what it wrote.
pub(crate) struct Outcome {
    pub status: StatusCode,
    pub body: Value,
    /// The stream written and the last position written, when something was.
    pub written: Option<(Arc<Stream>, u64)>,
}

/// A refusal: status, Elasticsearch type and reason, and the index it concerns.
#[derive(Debug)]
pub(crate) struct DocError {
    pub status: StatusCode,
    pub es_type: &'static str,
    pub reason: String,
    pub index: Option<String>,
}

impl From<IngestError> for DocError {
    fn from(e: IngestError) -> DocError {
        DocError {
            status: e.status(),
            es_type: e.es_type(),
            reason: e.to_string(),
            index: None,
        }
    }
}

impl DocError {
    /// The body of a single-document answer.
    pub(crate) fn body(&self) -> Value {
        let mut body = hydrant_http::es_error_body(self.status, self.es_type, &self.reason, None);
        if let Some(index) = &self.index {
            body["error"]["index"] = json!(index);
        }
        body
    }

    fn illegal(reason: &str) -> DocError {
        IngestError::InvalidArgument(reason.to_string()).into()
    }
}

/// The stream `target` writes to, locked for a read-modify-write and refreshed: everything it
/// accepted before is searchable.
pub(crate) async fn lock_fresh(
    state: &IngestState,
    target: &str,
) -> Result<(Arc<Stream>, OwnedMutexGuard<()>), IngestError> {
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

/// The document `id` of the stream `target` writes to, read after a refresh, with the stream
/// and the lock that keeps it current until the caller's write is in the log. A target that is
/// no stream, index or alias is `index_not_found_exception`.
pub(crate) async fn read_current(
    state: &IngestState,
    target: &str,
    id: &str,
) -> Result<(Arc<Stream>, OwnedMutexGuard<()>, Option<FoundDoc>), IngestError> {
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
    Ok((stream, guard, found))
}

/// Elasticsearch's 409 for a condition that does not hold (`required`: the `if_seq_no` asked
/// for; `None`: `create` of an id that exists).
pub(crate) fn conflict(id: &str, required: Option<u64>, current: Option<&FoundDoc>) -> DocError {
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
    DocError {
        status: StatusCode::CONFLICT,
        es_type: "version_conflict_engine_exception",
        reason,
        index: current.map(|c| c.index.clone()),
    }
}

fn shards() -> Value {
    json!({"total": 1, "successful": 1, "failed": 0})
}

fn deletion(id: &str, current: &FoundDoc) -> Record {
    Record {
        id: id.into(),
        client_id: true,
        arrival_ms: chrono::Utc::now().timestamp_millis(),
        timestamp_ms: current.timestamp_ms,
        is_object: false,
        data: Bytes::from(current.index.clone().into_bytes()),
        source: None,
        delete: true,
    }
}

/// Appends `records` and waits until they are searchable when `refresh` asks; returns the
/// receipt's first and last positions.
async fn write(
    stream: &Stream,
    records: Vec<Record>,
    refresh: Option<&str>,
) -> Result<(u64, u64), IngestError> {
    let receipt = stream.append(records).await?;
    if wants_wait(refresh) {
        stream.wait_searchable(receipt.last, WAIT_FOR_LIMIT).await;
    }
    Ok((receipt.first, receipt.last))
}

/// Deletes document `id` of `target`.
pub(crate) async fn delete_doc(
    state: &IngestState,
    target: &str,
    id: &str,
    conditions: Conditions,
    refresh: Option<&str>,
) -> Result<Outcome, DocError> {
    let (stream, guard, current) = read_current(state, target, id).await?;
    if conditions.fail(current.as_ref()) {
        return Err(conflict(id, conditions.if_seq_no, current.as_ref()));
    }
    let Some(current) = current else {
        return Ok(Outcome {
            status: StatusCode::NOT_FOUND,
            body: json!({"_index": target, "_id": id, "_version": 1, "result": "not_found",
                "_shards": shards(), "_seq_no": 0, "_primary_term": 1}),
            written: None,
        });
    };
    let (seq_no, last) = write(&stream, vec![deletion(id, &current)], refresh).await?;
    drop(guard);
    Ok(Outcome {
        status: StatusCode::OK,
        body: json!({"_index": current.index, "_id": id, "_version": 1, "result": "deleted",
            "_shards": shards(), "_seq_no": seq_no, "_primary_term": 1}),
        written: Some((stream, last)),
    })
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

/// Applies an `_update` body (`doc`, `doc_as_upsert`, `upsert`, `detect_noop`) to document
/// `id` of `target`. The new version is written whole, without ingest pipelines (as
/// Elasticsearch's updates); when its event time puts it in another index, the old one goes.
pub(crate) async fn update_doc(
    state: &IngestState,
    target: &str,
    id: &str,
    body: &Value,
    conditions: Conditions,
    refresh: Option<&str>,
) -> Result<Outcome, DocError> {
    if body.get("script").is_some() {
        return Err(DocError::illegal(
            "[script] updates are not supported by Hydrant: send the changed fields as [doc]",
        ));
    }
    let Some(doc) = body.get("doc").filter(|d| d.is_object()) else {
        return Err(DocError::illegal(
            "Validation Failed: 1: script or doc is missing;",
        ));
    };
    let as_upsert = body.get("doc_as_upsert").and_then(Value::as_bool) == Some(true);
    let detect_noop = body.get("detect_noop").and_then(Value::as_bool) != Some(false);
    let (stream, guard, current) = read_current(state, target, id).await?;
    if conditions.fail(current.as_ref()) {
        return Err(conflict(id, conditions.if_seq_no, current.as_ref()));
    }
    let (new, result) = match &current {
        Some(c) => {
            let mut merged: Value =
                serde_json::from_slice(&c.source).unwrap_or(Value::Object(Map::new()));
            let before = merged.clone();
            merge(&mut merged, doc);
            if detect_noop && merged == before {
                return Ok(Outcome {
                    status: StatusCode::OK,
                    body: json!({"_index": c.index, "_id": id, "_version": 1, "result": "noop",
                        "_shards": {"total": 0, "successful": 0, "failed": 0},
                        "_seq_no": c.seq_no, "_primary_term": 1}),
                    written: None,
                });
            }
            (merged, "updated")
        }
        None if as_upsert => (doc.clone(), "created"),
        None => match body.get("upsert").filter(|u| u.is_object()) {
            Some(upsert) => (upsert.clone(), "created"),
            None => {
                return Err(DocError {
                    status: StatusCode::NOT_FOUND,
                    es_type: "document_missing_exception",
                    reason: format!("[{id}]: document missing"),
                    index: Some(target.to_string()),
                });
            }
        },
    };
    let arrival = chrono::Utc::now().timestamp_millis();
    let record = stream
        .acceptor(state.max_record_size, arrival)
        .json(Bytes::from(new.to_string()), Some(id))
        .map_err(|e| {
            let item = e.bulk_item();
            DocError {
                status: StatusCode::from_u16(item.status).unwrap_or(StatusCode::BAD_REQUEST),
                es_type: item.kind,
                reason: item.reason,
                index: Some(target.to_string()),
            }
        })?;
    let rotation = stream.config().index.rotation;
    let index = hydrant_index::rotation::index_for(stream.name(), rotation, record.timestamp_ms).0;
    let mut records = vec![record];
    if let Some(c) = current.as_ref().filter(|c| c.index != index) {
        records.push(deletion(id, c));
    }
    let (seq_no, last) = write(&stream, records, refresh).await?;
    drop(guard);
    Ok(Outcome {
        status: if result == "created" {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        body: json!({"_index": index, "_id": id, "_version": 1, "result": result,
            "_shards": shards(), "_seq_no": seq_no, "_primary_term": 1}),
        written: Some((stream, last)),
    })
}
