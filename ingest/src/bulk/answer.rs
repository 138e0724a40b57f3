//! The bulk answer: one outcome per item, serialized from typed items (a bulk answer has an
//! entry per document, so no JSON tree is built for it).

use std::sync::Arc;

use serde_json::{Value, json};

use crate::accept::ItemError;
use crate::error::IngestError;

/// The answer to one item, before it is shaped as JSON.
pub(super) enum Answer {
    Created {
        index: Arc<str>,
        id: Box<str>,
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

/// The bulk answer, `{"took":…,"errors":…,"items":[…]}`, with an item per action in
/// request order. Written by hand for the usual item, `created`: serde writes each of its ten
/// keys through the escaping writer, which was 2.4 % of `serve`'s CPU on a `_bulk` ingest.
pub(super) fn write_response(
    took: u64,
    errors: bool,
    actions: &[&'static str],
    answers: &[Option<Answer>],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + answers.len() * 200);
    out.extend_from_slice(b"{\"took\":");
    out.extend_from_slice(itoa::Buffer::new().format(took).as_bytes());
    out.extend_from_slice(if errors {
        b",\"errors\":true,\"items\":["
    } else {
        b",\"errors\":false,\"items\":["
    });
    for (k, (action, answer)) in actions.iter().zip(answers).enumerate() {
        if k > 0 {
            out.push(b',');
        }
        match answer {
            Some(Answer::Created { index, id, seq_no }) => {
                write_created(&mut out, action, index, id, *seq_no)
            }
            answer => {
                // Writing into a Vec cannot fail, and every value here serializes.
                let _ = serde_json::to_writer(&mut out, &Item { action, answer });
            }
        }
    }
    out.extend_from_slice(b"]}");
    out
}

/// `{"<action>":{"_index":…,"_id":…,…,"status":201}}`, as Elasticsearch answers a created
/// document (the action is one of the four bulk action names, which need no escaping).
fn write_created(out: &mut Vec<u8>, action: &str, index: &str, id: &str, seq_no: u64) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(action.as_bytes());
    out.extend_from_slice(b"\":{\"_index\":");
    write_str(out, index);
    out.extend_from_slice(b",\"_id\":");
    write_str(out, id);
    out.extend_from_slice(
        b",\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},\"_seq_no\":",
    );
    out.extend_from_slice(itoa::Buffer::new().format(seq_no).as_bytes());
    out.extend_from_slice(b",\"_primary_term\":1,\"status\":201}}");
}

/// A JSON string: copied as it is when nothing in it needs escaping (index names and ids
/// almost never do), else written by serde_json.
fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// `{"<action>": {...}}`, one per bulk item.
struct Item<'a> {
    action: &'a str,
    answer: &'a Option<Answer>,
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
