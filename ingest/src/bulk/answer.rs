//! The bulk answer: one outcome per item, serialized from typed items (a bulk answer has an
//! entry per document, so no JSON tree is built for it).

use serde_json::{Value, json};

use crate::accept::ItemError;
use crate::error::IngestError;

/// The answer to one item, before it is shaped as JSON.
pub(super) enum Answer {
    Created {
        index: String,
        id: String,
        seq_no: u64,
    },
    Failed {
        index: String,
        id: Option<String>,
        error: ItemError,
    },
    /// An ingest pipeline dropped the document: answered `noop`, as Elasticsearch does.
    Dropped { index: String, id: Option<String> },
    /// An `update` or `delete` item, answered by [`crate::documents`]: its status and body.
    Document { status: u16, body: Value },
}

pub(super) fn whole_request_failed(e: &IngestError) -> Vec<u8> {
    json!({"took": 0, "errors": true, "items": [], "error": e.to_string()})
        .to_string()
        .into_bytes()
}

#[derive(serde::Serialize)]
pub(super) struct BulkResponse<'a> {
    pub(super) took: u64,
    pub(super) errors: bool,
    pub(super) items: Vec<Item<'a>>,
}

/// `{"<action>": {...}}`, one per bulk item.
pub(super) struct Item<'a> {
    pub(super) action: &'a str,
    pub(super) answer: &'a Option<Answer>,
}

#[derive(serde::Serialize)]
struct Shards {
    total: u8,
    successful: u8,
    failed: u8,
}

#[derive(serde::Serialize)]
struct Created<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
    #[serde(rename = "_version")]
    version: u8,
    result: &'static str,
    #[serde(rename = "_shards")]
    shards: Shards,
    #[serde(rename = "_seq_no")]
    seq_no: u64,
    #[serde(rename = "_primary_term")]
    primary_term: u8,
    status: u16,
}

#[derive(serde::Serialize)]
struct Refused<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: Option<&'a str>,
    status: u16,
    error: ErrorBody<'a>,
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    reason: &'a str,
}

impl serde::Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        match self.answer {
            Some(Answer::Created { index, id, seq_no }) => map.serialize_entry(
                self.action,
                &Created {
                    index,
                    id,
                    version: 1,
                    result: "created",
                    shards: Shards {
                        total: 1,
                        successful: 1,
                        failed: 0,
                    },
                    seq_no: *seq_no,
                    primary_term: 1,
                    status: 201,
                },
            )?,
            Some(Answer::Failed { index, id, error }) => map.serialize_entry(
                self.action,
                &Refused {
                    index,
                    id: id.as_deref(),
                    status: error.status,
                    error: ErrorBody {
                        kind: error.kind,
                        reason: &error.reason,
                    },
                },
            )?,
            Some(Answer::Dropped { index, id }) => map.serialize_entry(
                self.action,
                &json!({
                    // OpenSearch's words for a dropped document that had no `_id`.
                    "_index": index, "_id": id.as_deref().unwrap_or("auto-generated"), "_version": -3, "result": "noop",
                    "_shards": {"total": 0, "successful": 0, "failed": 0}, "status": 200,
                }),
            )?,
            Some(Answer::Document { status, body }) => {
                let mut body = body.clone();
                body["status"] = json!(status);
                map.serialize_entry(self.action, &body)?
            }
            None => map.serialize_entry(
                self.action,
                &json!({"status": 500, "error": {"type": "exception", "reason": "item was not processed"}}),
            )?,
        }
        map.end()
    }
}
