//! The Elasticsearch `_bulk` receiver's parsing: action/source line pairs into records, each
//! item with its own outcome. A bad item costs only itself.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::auth::check_access;
use crate::error::IngestError;
use crate::ndjson::{LineErrorKind, json_object_time};
use crate::record::{Record, new_id};
use crate::routes::IngestState;

/// Longest `_id` Elasticsearch accepts, in bytes.
const MAX_ID_BYTES: usize = 512;

/// An item's error, shaped as in an ES bulk response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// HTTP status of the item.
    pub status: u16,
    /// ES error type.
    pub kind: &'static str,
    /// Why.
    pub reason: String,
}

impl ItemError {
    fn new(status: u16, kind: &'static str, reason: impl Into<String>) -> ItemError {
        ItemError {
            status,
            kind,
            reason: reason.into(),
        }
    }
}

/// One action of a bulk request.
#[derive(Debug, Clone)]
pub struct BulkItem {
    /// `index`, `create`, `update` or `delete` (as named in the request).
    pub action: String,
    /// The target (`_index`, or the path's index).
    pub index: Option<String>,
    /// The `_id` given, if any.
    pub id: Option<String>,
    /// The record to write, or why this item fails.
    pub outcome: Result<Record, ItemError>,
}

/// A parsed line with its number (from 1).
struct Line<'a> {
    number: usize,
    bytes: &'a [u8],
    start: usize,
}

fn lines(body: &Bytes) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut number = 0;
    while start < body.len() {
        let end = body[start..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(body.len(), |i| start + i);
        number += 1;
        let mut line_end = end;
        if line_end > start && body[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let bytes = &body[start..line_end];
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            out.push(Line {
                number,
                bytes,
                start,
            });
        }
        start = end + 1;
    }
    out
}

const ACTIONS: [&str; 4] = ["index", "create", "update", "delete"];

/// The usual action line, read without building a JSON tree (the hot path of `_bulk`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionLine<'a> {
    #[serde(borrow, default)]
    index: Option<FastMeta<'a>>,
    #[serde(borrow, default)]
    create: Option<FastMeta<'a>>,
}

#[derive(serde::Deserialize)]
struct FastMeta<'a> {
    #[serde(rename = "_index", borrow, default)]
    index: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "_id", borrow, default)]
    id: Option<&'a serde_json::value::RawValue>,
}

/// `index`/`create` lines with a string or number `_id`, read fast; anything else is `None`
/// and goes through [`parse_action`].
fn parse_action_fast(line: &[u8]) -> Option<(String, Option<String>, Option<String>)> {
    let a: ActionLine<'_> = serde_json::from_slice(line).ok()?;
    let (action, meta) = match (a.index, a.create) {
        (Some(m), None) => ("index", m),
        (None, Some(m)) => ("create", m),
        _ => return None,
    };
    let id = match meta.id {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw.get()).ok()? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => return None,
        },
    };
    Some((action.to_string(), meta.index.map(|c| c.into_owned()), id))
}

/// The action name and its metadata, when `line` is a well-formed action line.
fn parse_action(line: &[u8]) -> Result<(String, Map<String, Value>), ItemError> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        ItemError::new(
            400,
            "x_content_parse_exception",
            format!("malformed action/metadata line: {e}"),
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(ItemError::new(
            400,
            "illegal_argument_exception",
            "Malformed action/metadata line, expected START_OBJECT",
        ));
    };
    let mut iter = obj.into_iter();
    let (action, meta) = iter.next().ok_or_else(|| {
        ItemError::new(
            400,
            "illegal_argument_exception",
            "Malformed action/metadata line, expected a field",
        )
    })?;
    if !ACTIONS.contains(&action.as_str()) {
        return Err(ItemError::new(
            400,
            "illegal_argument_exception",
            format!(
                "Malformed action/metadata line, expected field [create], [delete], [index] or [update] but found [{action}]"
            ),
        ));
    }
    if iter.next().is_some() {
        return Err(ItemError::new(
            400,
            "illegal_argument_exception",
            format!("Malformed action/metadata line, expected END_OBJECT after [{action}]"),
        ));
    }
    match meta {
        Value::Object(m) => Ok((action, m)),
        _ => Err(ItemError::new(
            400,
            "illegal_argument_exception",
            format!("Malformed action/metadata line, [{action}] must be an object"),
        )),
    }
}

fn meta_string(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a bulk body into items, in request order.
pub fn parse_bulk(
    body: &Bytes,
    default_index: Option<&str>,
    max_record_size: u64,
    arrival_ms: i64,
) -> Vec<BulkItem> {
    let lines = lines(body);
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let action_line = &lines[i];
        i += 1;
        if let Some((action, index, id)) = parse_action_fast(action_line.bytes) {
            let index = index.or_else(|| default_index.map(str::to_string));
            let source = lines.get(i);
            if source.is_some() {
                i += 1;
            }
            let outcome = item_record(
                index.as_deref(),
                id.as_deref(),
                source,
                body,
                max_record_size,
                arrival_ms,
            );
            items.push(BulkItem {
                action,
                index,
                id,
                outcome,
            });
            continue;
        }
        let (action, meta) = match parse_action(action_line.bytes) {
            Ok(a) => a,
            Err(e) => {
                // Without a readable action we cannot know whether a source line follows;
                // a next line that is not itself an action is taken as this one's source.
                if i < lines.len() && parse_action(lines[i].bytes).is_err() {
                    i += 1;
                }
                items.push(BulkItem {
                    action: "index".to_string(),
                    index: default_index.map(str::to_string),
                    id: None,
                    outcome: Err(ItemError {
                        reason: format!("{} (line {})", e.reason, action_line.number),
                        ..e
                    }),
                });
                continue;
            }
        };
        let index = meta_string(&meta, "_index").or_else(|| default_index.map(str::to_string));
        let id = meta_string(&meta, "_id");
        let has_source = action != "delete";
        let source = if has_source {
            let s = lines.get(i);
            if s.is_some() {
                i += 1;
            }
            s
        } else {
            None
        };
        let outcome = match action.as_str() {
            "update" | "delete" => Err(ItemError::new(
                400,
                "illegal_argument_exception",
                format!(
                    "[{action}] is not supported: Hydrant streams are append-only; send the new version with [index] and the same _id"
                ),
            )),
            _ => item_record(
                index.as_deref(),
                id.as_deref(),
                source,
                body,
                max_record_size,
                arrival_ms,
            ),
        };
        items.push(BulkItem {
            action,
            index,
            id,
            outcome,
        });
    }
    items
}

fn item_record(
    index: Option<&str>,
    id: Option<&str>,
    source: Option<&Line<'_>>,
    body: &Bytes,
    max_record_size: u64,
    arrival_ms: i64,
) -> Result<Record, ItemError> {
    if index.is_none() {
        return Err(ItemError::new(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: index is missing;",
        ));
    }
    if let Some(id) = id {
        if id.is_empty() {
            return Err(ItemError::new(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: if _id is specified it must not be empty;",
            ));
        }
        if id.len() > MAX_ID_BYTES {
            return Err(ItemError::new(
                400,
                "action_request_validation_exception",
                format!(
                    "Validation Failed: 1: id [{}...] is too long, must be no longer than 512 bytes but was: {};",
                    &id.chars().take(32).collect::<String>(),
                    id.len()
                ),
            ));
        }
    }
    let Some(source) = source else {
        return Err(ItemError::new(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: source is missing;",
        ));
    };
    if source.bytes.len() as u64 > max_record_size {
        return Err(ItemError::new(
            413,
            "document_too_large_exception",
            format!(
                "document is {} bytes, the limit is {max_record_size}",
                source.bytes.len()
            ),
        ));
    }
    if std::str::from_utf8(source.bytes).is_err() {
        return Err(ItemError::new(
            400,
            "mapper_parsing_exception",
            "failed to parse: source is not valid UTF-8",
        ));
    }
    let timestamp = json_object_time(source.bytes).map_err(|(kind, reason)| {
        let reason = match kind {
            LineErrorKind::NotAnObject => format!("failed to parse: {reason}"),
            _ => format!("failed to parse: {reason}"),
        };
        ItemError::new(400, "mapper_parsing_exception", reason)
    })?;
    let (record_id, client_id) = match id {
        Some(id) => (id.into(), true),
        None => (new_id(arrival_ms), false),
    };
    Ok(Record {
        id: record_id,
        client_id,
        arrival_ms,
        timestamp_ms: timestamp.unwrap_or(arrival_ms),
        is_object: true,
        data: body.slice(source.start..source.start + source.bytes.len()),
    })
}

/// The answer to one item, before it is shaped as JSON.
enum Answer {
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
}

/// Writes a parsed bulk request: records are grouped by stream and appended (durably) per
/// stream; every item gets its own answer, in request order. Returns the JSON answer.
pub async fn ingest_bulk(
    state: &IngestState,
    items: Vec<BulkItem>,
    headers: &HeaderMap,
    wait_for: Option<Duration>,
) -> Vec<u8> {
    let started = std::time::Instant::now();
    let mut answers: Vec<Option<Answer>> = (0..items.len()).map(|_| None).collect();
    let mut groups: BTreeMap<String, Vec<(usize, Record)>> = BTreeMap::new();
    let actions: Vec<String> = items.iter().map(|i| i.action.clone()).collect();
    for (n, item) in items.into_iter().enumerate() {
        match item.outcome {
            Ok(record) => {
                let stream = item.index.unwrap_or_default();
                groups.entry(stream).or_default().push((n, record));
            }
            Err(error) => {
                answers[n] = Some(Answer::Failed {
                    index: item.index.unwrap_or_default(),
                    id: item.id,
                    error,
                });
            }
        }
    }
    let mut waits = Vec::new();
    for (name, records) in groups {
        append_group(state, &name, records, headers, &mut answers, &mut waits).await;
    }
    if let Some(limit) = wait_for {
        for (stream, last) in waits {
            stream.wait_searchable(last, limit).await;
        }
    }
    let errors = answers
        .iter()
        .any(|a| !matches!(a, Some(Answer::Created { .. })));
    let items: Vec<Item<'_>> = answers
        .iter()
        .zip(&actions)
        .map(|(answer, action)| Item { action, answer })
        .collect();
    // Serialized here, from typed items: a bulk answer has an entry per document.
    serde_json::to_vec(&BulkResponse {
        took: started.elapsed().as_millis() as u64,
        errors,
        items,
    })
    .unwrap_or_else(|e| {
        json!({"took": 0, "errors": true, "items": [], "error": e.to_string()})
            .to_string()
            .into_bytes()
    })
}

#[derive(serde::Serialize)]
struct BulkResponse<'a> {
    took: u64,
    errors: bool,
    items: Vec<Item<'a>>,
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
            None => map.serialize_entry(
                self.action,
                &json!({"status": 500, "error": {"type": "exception", "reason": "item was not processed"}}),
            )?,
        }
        map.end()
    }
}

async fn append_group(
    state: &IngestState,
    name: &str,
    records: Vec<(usize, Record)>,
    headers: &HeaderMap,
    answers: &mut [Option<Answer>],
    waits: &mut Vec<(std::sync::Arc<crate::Stream>, u64)>,
) {
    // Item number, concrete index and id of each record, kept for the answers.
    let mut meta: Vec<(usize, String, String)> = Vec::with_capacity(records.len());
    let mut batch: Vec<Record> = Vec::with_capacity(records.len());
    let stream = match state.pipeline.stream(name).await {
        Ok(s) => s,
        Err(e) => {
            let ids = records.iter().map(|(n, r)| (*n, r.id.to_string()));
            return fail_all(answers, name, ids, &e);
        }
    };
    if let Err(denied) = check_access(stream.config(), headers) {
        let e = IngestError::AccessDenied {
            stream: name.to_string(),
            denied,
        };
        let ids = records.iter().map(|(n, r)| (*n, r.id.to_string()));
        return fail_all(answers, name, ids, &e);
    }
    state.pipeline.metrics().request(name, "bulk");
    let rotation = stream.config().index.rotation;
    for (n, r) in records {
        if let Some(m) = stream.mapper()
            && let Err(e) = m.check(&r.data)
        {
            answers[n] = Some(Answer::Failed {
                index: name.to_string(),
                id: Some(r.id.to_string()),
                error: ItemError::new(400, e.es_type(), e.to_string()),
            });
            continue;
        }
        let index = hydrant_index::rotation::index_for(name, rotation, r.timestamp_ms).0;
        meta.push((n, index, r.id.to_string()));
        batch.push(r);
    }
    match stream.append(batch).await {
        Ok(receipt) => {
            for (k, (n, index, id)) in meta.into_iter().enumerate() {
                answers[n] = Some(Answer::Created {
                    index,
                    id,
                    seq_no: receipt.first + k as u64,
                });
            }
            waits.push((stream, receipt.last));
        }
        Err(e) => {
            let ids = meta.into_iter().map(|(n, _, id)| (n, id));
            fail_all(answers, name, ids, &e);
        }
    }
}

/// Answers every item of a stream with the same error (the stream refused them all).
fn fail_all(
    answers: &mut [Option<Answer>],
    stream: &str,
    ids: impl Iterator<Item = (usize, String)>,
    e: &IngestError,
) {
    let error = ItemError {
        status: e.status().as_u16(),
        kind: e.es_type(),
        reason: e.to_string(),
    };
    for (n, id) in ids {
        answers[n] = Some(Answer::Failed {
            index: stream.to_string(),
            id: Some(id),
            error: error.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Vec<BulkItem> {
        parse_bulk(
            &Bytes::copy_from_slice(body.as_bytes()),
            Some("web"),
            1000,
            5,
        )
    }

    #[test]
    fn index_and_create_keep_index_and_id() {
        let items = parse(
            "{\"index\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n{\"x\":1}\n{\"create\":{}}\n{\"y\":2}\n",
        );
        assert_eq!(items.len(), 2);
        let r0 = items[0].outcome.as_ref().unwrap();
        assert_eq!(items[0].index.as_deref(), Some("logs"));
        assert_eq!(&*r0.id, "a1");
        assert!(r0.client_id);
        assert_eq!(&r0.data[..], b"{\"x\":1}");
        assert_eq!(items[1].index.as_deref(), Some("web"));
        assert!(!items[1].outcome.as_ref().unwrap().client_id);
    }

    #[test]
    fn update_and_delete_are_refused_per_item_and_their_lines_consumed() {
        let items = parse(
            "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{\"delete\":{\"_id\":\"2\"}}\n{\"index\":{}}\n{\"ok\":true}\n",
        );
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].outcome.as_ref().unwrap_err().status, 400);
        assert!(
            items[0]
                .outcome
                .as_ref()
                .unwrap_err()
                .reason
                .contains("not supported")
        );
        assert_eq!(items[1].action, "delete");
        assert!(items[1].outcome.is_err());
        assert!(items[2].outcome.is_ok());
    }

    #[test]
    fn a_malformed_action_costs_only_itself() {
        let items = parse("{\"index\":\n{\"lost\":1}\n{\"index\":{}}\n{\"ok\":1}\n");
        assert_eq!(items.len(), 2);
        let e = items[0].outcome.as_ref().unwrap_err();
        assert_eq!(e.kind, "x_content_parse_exception");
        assert!(e.reason.ends_with("(line 1)"), "{}", e.reason);
        assert!(items[1].outcome.is_ok());
        // An unknown action keeps the next action line.
        let items = parse("{\"upsert\":{}}\n{\"index\":{}}\n{\"ok\":1}\n");
        assert_eq!(items.len(), 2);
        assert!(items[1].outcome.is_ok());
    }

    #[test]
    fn bad_sources_are_mapper_parsing_exceptions() {
        let items =
            parse("{\"index\":{}}\n[1,2]\n{\"index\":{}}\nnot json\n{\"index\":{}}\n{\"ok\":1}\n");
        assert_eq!(
            items[0].outcome.as_ref().unwrap_err().kind,
            "mapper_parsing_exception"
        );
        assert_eq!(
            items[1].outcome.as_ref().unwrap_err().kind,
            "mapper_parsing_exception"
        );
        assert!(items[2].outcome.is_ok());
    }

    #[test]
    fn missing_index_and_oversize_documents() {
        let items = parse_bulk(
            &Bytes::from_static(b"{\"index\":{}}\n{\"a\":1}\n"),
            None,
            1000,
            0,
        );
        assert_eq!(
            items[0].outcome.as_ref().unwrap_err().kind,
            "action_request_validation_exception"
        );
        let big = format!("{{\"index\":{{}}}}\n{{\"a\":\"{}\"}}\n", "x".repeat(2000));
        let items = parse(&big);
        assert_eq!(items[0].outcome.as_ref().unwrap_err().status, 413);
    }
}
