//! The Elasticsearch `_bulk` receiver: framing action/source line pairs into items, accepting
//! each item's source through its stream's [`Acceptor`](crate::accept::Acceptor), and the answer with one outcome per
//! item. A bad item costs only itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use hydrant_http::ndjson::{Line, lines};
use serde_json::{Map, Value, json};

use crate::accept::{ItemError, RecordError, check_id, off_runtime};
use crate::auth::check_access;
use crate::error::IngestError;
use crate::processing::Chain;
use crate::record::Record;
use crate::routes::IngestState;
use crate::stream::Stream;

/// One action of a bulk request, framed: what it targets, and its source line or why it has
/// none worth accepting.
#[derive(Debug, Clone)]
pub struct BulkItem {
    /// `index`, `create`, `update` or `delete` (as named in the request).
    pub action: String,
    /// The target (`_index`, or the path's index).
    pub index: Option<String>,
    /// The `_id` given, if any.
    pub id: Option<String>,
    /// The ingest pipeline the action line names, if any.
    pub pipeline: Option<String>,
    /// The source line's range in the body, or why this item fails before its content is read.
    pub source: Result<std::ops::Range<usize>, RecordError>,
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
    #[serde(borrow, default)]
    pipeline: Option<std::borrow::Cow<'a, str>>,
}

/// An action line's action, `_index`, `_id` and `pipeline`.
type Action = (String, Option<String>, Option<String>, Option<String>);

/// `index`/`create` lines with a string or number `_id`, read fast; anything else is `None`
/// and goes through [`parse_action`].
fn parse_action_fast(line: &[u8]) -> Option<Action> {
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
    Some((
        action.to_string(),
        meta.index.map(|c| c.into_owned()),
        id,
        meta.pipeline.map(|c| c.into_owned()),
    ))
}

/// The action name and its metadata, when `line` is a well-formed action line. Keys after the
/// action (`{"index":{…},"attempts":0}`, as winston-elasticsearch sends) are ignored with a
/// warning, as Elasticsearch 8 does; `warnings` gets the warning once per request.
fn parse_action(
    line: &Line<'_>,
    warnings: &mut Vec<String>,
) -> Result<(String, Map<String, Value>), RecordError> {
    let malformed = |kind: &'static str, reason: String| RecordError::MalformedAction {
        line: line.number,
        kind,
        reason,
    };
    let members: Members = serde_json::from_slice(line.bytes).map_err(|e| {
        malformed(
            "x_content_parse_exception",
            format!("malformed action/metadata line: {e}"),
        )
    })?;
    let illegal = |reason: String| malformed("illegal_argument_exception", reason);
    let Members::Object(members) = members else {
        return Err(illegal(
            "Malformed action/metadata line, expected START_OBJECT".into(),
        ));
    };
    let mut iter = members.into_iter();
    let (action, meta) = iter
        .next()
        .ok_or_else(|| illegal("Malformed action/metadata line, expected a field".into()))?;
    if !ACTIONS.contains(&action.as_str()) {
        return Err(illegal(format!(
            "Malformed action/metadata line, expected field [create], [delete], [index] or [update] but found [{action}]"
        )));
    }
    if let Some((extra, _)) = iter.next() {
        let warning = format!(
            "Malformed action/metadata line [{}], expected END_OBJECT but found [{extra}]: ignored, as a future version will refuse it",
            line.number
        );
        if warnings.is_empty() {
            warnings.push(warning);
        }
    }
    match meta {
        Value::Object(m) => Ok((action, m)),
        _ => Err(illegal(format!(
            "Malformed action/metadata line, [{action}] must be an object"
        ))),
    }
}

/// A JSON value read with an object's members in the order they were written (serde_json's
/// map sorts its keys, and in an action line the first key is the action).
enum Members {
    Object(Vec<(String, Value)>),
    Other,
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Members, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Members::Object(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Members, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Members::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Members, E> {
                Ok(Members::Other)
            }
            fn visit_unit<E>(self) -> Result<Members, E> {
                Ok(Members::Other)
            }
        }
        d.deserialize_any(V)
    }
}

fn meta_string(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `_index` and `_id` a refused action line was sent with, when it is a JSON object whose
/// member holds them, so that its item names them as Elasticsearch's would.
fn salvage_target(line: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(Value::Object(outer)) = serde_json::from_slice::<Value>(line) else {
        return (None, None);
    };
    let Some(meta) = outer.values().find_map(Value::as_object) else {
        return (None, None);
    };
    (meta_string(meta, "_index"), meta_string(meta, "_id"))
}

/// Frames a bulk body into items, in request order, with the warnings of lenient reading. Only
/// the action lines are parsed here; sources are accepted later, by their stream.
pub fn frame_bulk(body: &[u8], default_index: Option<&str>) -> (Vec<BulkItem>, Vec<String>) {
    let mut warnings = Vec::new();
    let items = frame_items(body, default_index, &mut warnings);
    (items, warnings)
}

fn frame_items(
    body: &[u8],
    default_index: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<BulkItem> {
    let lines: Vec<Line<'_>> = lines(body).filter(|l| !l.is_blank()).collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let action_line = &lines[i];
        i += 1;
        let parsed = match parse_action_fast(action_line.bytes) {
            Some(a) => Ok(a),
            None => parse_action(action_line, warnings).map(|(action, meta)| {
                let index = meta_string(&meta, "_index");
                let id = meta_string(&meta, "_id");
                let pipeline = meta_string(&meta, "pipeline");
                (action, index, id, pipeline)
            }),
        };
        let (action, index, id, pipeline) = match parsed {
            Ok(a) => a,
            Err(e) => {
                // Without a readable action we cannot know whether a source line follows;
                // a next line that is not itself an action is taken as this one's source.
                if i < lines.len() && parse_action(&lines[i], &mut Vec::new()).is_err() {
                    i += 1;
                }
                let (index, id) = salvage_target(action_line.bytes);
                items.push(BulkItem {
                    action: "index".to_string(),
                    index: index.or_else(|| default_index.map(str::to_string)),
                    id,
                    pipeline: None,
                    source: Err(e),
                });
                continue;
            }
        };
        let index = index.or_else(|| default_index.map(str::to_string));
        let source_line = if action == "delete" {
            None
        } else {
            let s = lines.get(i);
            if s.is_some() {
                i += 1;
            }
            s
        };
        let source = match action.as_str() {
            "update" | "delete" => Err(RecordError::UnsupportedAction(action.clone())),
            _ => check_item(index.as_deref(), id.as_deref(), source_line),
        };
        items.push(BulkItem {
            action,
            index,
            id,
            pipeline,
            source,
        });
    }
    items
}

/// What `_bulk` itself requires of an item: an index, an acceptable `_id`, a source line.
fn check_item(
    index: Option<&str>,
    id: Option<&str>,
    source: Option<&Line<'_>>,
) -> Result<std::ops::Range<usize>, RecordError> {
    if index.is_none() {
        return Err(RecordError::MissingIndex);
    }
    if let Some(id) = id {
        check_id(id)?;
    }
    source.map(Line::range).ok_or(RecordError::MissingSource)
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
    /// An ingest pipeline dropped the document: answered `noop`, as Elasticsearch does.
    Dropped { index: String, id: Option<String> },
}

/// An item waiting for its stream.
struct Pending {
    /// Its number in the request.
    n: usize,
    /// Its source line.
    range: std::ops::Range<usize>,
    /// Its `_id`, if the client gave one.
    id: Option<String>,
    /// The pipeline its action line names, if any.
    pipeline: Option<String>,
}

/// Writes a bulk request: items are framed, grouped by stream, accepted by their stream and
/// appended (durably) per stream; every item gets its own answer, in request order. Framing and
/// accepting a large body run on the blocking pool. Returns the JSON answer and the warnings
/// for `Warning` headers.
pub async fn ingest_bulk(
    state: &IngestState,
    body: Bytes,
    target: Option<&str>,
    pipeline: Option<&str>,
    headers: &HeaderMap,
    wait_for: Option<Duration>,
) -> (Vec<u8>, Vec<String>) {
    let started = std::time::Instant::now();
    let arrival_ms = chrono::Utc::now().timestamp_millis();
    let framed = {
        let body = body.clone();
        let target = target.map(str::to_string);
        off_runtime(body.len(), move || frame_bulk(&body, target.as_deref())).await
    };
    let (items, warnings) = match framed {
        Ok(framed) => framed,
        Err(e) => return (whole_request_failed(&e), Vec::new()),
    };
    let mut answers: Vec<Option<Answer>> = (0..items.len()).map(|_| None).collect();
    let mut groups: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
    let actions: Vec<String> = items.iter().map(|i| i.action.clone()).collect();
    for (n, item) in items.into_iter().enumerate() {
        match (item.source, item.index) {
            (Ok(range), Some(index)) => groups.entry(index).or_default().push(Pending {
                n,
                range,
                id: item.id,
                pipeline: item.pipeline,
            }),
            (Err(e), index) => {
                answers[n] = Some(Answer::Failed {
                    index: index.unwrap_or_default(),
                    id: item.id,
                    error: e.bulk_item(),
                });
            }
            (Ok(_), None) => {
                answers[n] = Some(Answer::Failed {
                    index: String::new(),
                    id: item.id,
                    error: RecordError::MissingIndex.bulk_item(),
                });
            }
        }
    }
    let mut waits = Vec::new();
    for (name, pending) in groups {
        let group = Group {
            state,
            name: &name,
            body: &body,
            arrival_ms,
            headers,
            pipeline,
        };
        group.append(pending, &mut answers, &mut waits).await;
    }
    if let Some(limit) = wait_for {
        for (stream, last) in waits {
            stream.wait_searchable(last, limit).await;
        }
    }
    let errors = answers
        .iter()
        .any(|a| !matches!(a, Some(Answer::Created { .. } | Answer::Dropped { .. })));
    let items: Vec<Item<'_>> = answers
        .iter()
        .zip(&actions)
        .map(|(answer, action)| Item { action, answer })
        .collect();
    // Serialized here, from typed items: a bulk answer has an entry per document.
    let answer = serde_json::to_vec(&BulkResponse {
        took: started.elapsed().as_millis() as u64,
        errors,
        items,
    })
    .unwrap_or_else(|e| {
        json!({"took": 0, "errors": true, "items": [], "error": e.to_string()})
            .to_string()
            .into_bytes()
    });
    (answer, warnings)
}

fn whole_request_failed(e: &IngestError) -> Vec<u8> {
    json!({"took": 0, "errors": true, "items": [], "error": e.to_string()})
        .to_string()
        .into_bytes()
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
            Some(Answer::Dropped { index, id }) => map.serialize_entry(
                self.action,
                &json!({
                    // OpenSearch's words for a dropped document that had no `_id`.
                    "_index": index, "_id": id.as_deref().unwrap_or("auto-generated"), "_version": -3, "result": "noop",
                    "_shards": {"total": 0, "successful": 0, "failed": 0}, "status": 200,
                }),
            )?,
            None => map.serialize_entry(
                self.action,
                &json!({"status": 500, "error": {"type": "exception", "reason": "item was not processed"}}),
            )?,
        }
        map.end()
    }
}

/// One stream's share of a bulk request.
struct Group<'a> {
    state: &'a IngestState,
    name: &'a str,
    body: &'a Bytes,
    arrival_ms: i64,
    headers: &'a HeaderMap,
    /// The request's `?pipeline=`.
    pipeline: Option<&'a str>,
}

impl Group<'_> {
    async fn append(
        &self,
        pending: Vec<Pending>,
        answers: &mut [Option<Answer>],
        waits: &mut Vec<(Arc<Stream>, u64)>,
    ) {
        let name = self.name;
        let ids = |pending: &[Pending]| -> Vec<(usize, Option<String>)> {
            pending.iter().map(|p| (p.n, p.id.clone())).collect()
        };
        let stream = match self.state.pipeline.stream(name).await {
            Ok(s) => s,
            Err(e) => return fail_all(answers, name, ids(&pending), &e),
        };
        if let Err(denied) = check_access(stream.config(), self.headers) {
            let e = IngestError::AccessDenied {
                stream: name.to_string(),
                denied,
            };
            return fail_all(answers, name, ids(&pending), &e);
        }
        self.state.pipeline.metrics().request(name, "bulk");
        let accept = stream.acceptor(self.state.max_record_size, self.arrival_ms);
        let processing = self.state.pipeline.processing(&stream, self.arrival_ms);
        let request_pipeline = self.pipeline.map(str::to_string);
        let bytes: usize = pending.iter().map(|p| p.range.len()).sum();
        let sent = ids(&pending);
        let body = self.body.clone();
        let accepted = off_runtime(bytes, move || {
            // One chain per pipeline named: items usually all name the same one.
            let mut chains: Vec<(Option<String>, Result<Chain, RecordError>)> = Vec::new();
            pending
                .into_iter()
                .map(|p| {
                    let named = p.pipeline.or_else(|| request_pipeline.clone());
                    let k = match chains.iter().position(|(n, _)| *n == named) {
                        Some(k) => k,
                        None => {
                            let chain = processing.chain(named.as_deref());
                            chains.push((named, chain));
                            chains.len() - 1
                        }
                    };
                    let outcome = match &chains[k].1 {
                        Ok(chain) => accept.json_with(body.slice(p.range), p.id.as_deref(), chain),
                        Err(e) => Err(e.clone()),
                    };
                    (p.n, p.id, outcome)
                })
                .collect::<Vec<_>>()
        })
        .await;
        let accepted = match accepted {
            Ok(a) => a,
            Err(e) => return fail_all(answers, name, sent, &e),
        };
        let rotation = stream.config().index.rotation;
        // Item number, concrete index and id of each record, kept for the answers.
        let mut meta: Vec<(usize, String, String)> = Vec::with_capacity(accepted.len());
        let mut batch: Vec<Record> = Vec::with_capacity(accepted.len());
        let mut refused = 0;
        for (n, id, outcome) in accepted {
            match outcome {
                Ok(None) => {
                    answers[n] = Some(Answer::Dropped {
                        index: name.to_string(),
                        id,
                    });
                }
                Ok(Some(r)) => {
                    // The stream's name: `name` may be an alias that writes to it.
                    let index =
                        hydrant_index::rotation::index_for(stream.name(), rotation, r.timestamp_ms)
                            .0;
                    meta.push((n, index, r.id.to_string()));
                    batch.push(r);
                }
                Err(e) => {
                    refused += 1;
                    answers[n] = Some(Answer::Failed {
                        index: name.to_string(),
                        id,
                        error: e.bulk_item(),
                    });
                }
            }
        }
        stream.count_rejected(refused);
        if batch.is_empty() {
            return;
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
                let ids = meta.into_iter().map(|(n, _, id)| (n, Some(id))).collect();
                fail_all(answers, name, ids, &e);
            }
        }
    }
}

/// Answers every item of a stream with the same error (the stream refused them all).
fn fail_all(
    answers: &mut [Option<Answer>],
    stream: &str,
    ids: Vec<(usize, Option<String>)>,
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
            id,
            error: error.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<BulkItem> {
        frame_bulk(body.as_bytes(), Some("web")).0
    }

    fn refusal(item: &BulkItem) -> ItemError {
        item.source.as_ref().unwrap_err().bulk_item()
    }

    #[test]
    fn index_and_create_keep_index_id_and_source() {
        let body = "{\"index\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n{\"x\":1}\n{\"create\":{}}\n{\"y\":2}\n";
        let items = frame(body);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].index.as_deref(), Some("logs"));
        assert_eq!(items[0].id.as_deref(), Some("a1"));
        let range = items[0].source.clone().unwrap();
        assert_eq!(&body.as_bytes()[range], b"{\"x\":1}");
        assert_eq!(items[1].index.as_deref(), Some("web"));
        assert_eq!(items[1].id, None);
    }

    #[test]
    fn update_and_delete_are_refused_per_item_and_their_lines_consumed() {
        let items = frame(
            "{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{\"delete\":{\"_id\":\"2\"}}\n{\"index\":{}}\n{\"ok\":true}\n",
        );
        assert_eq!(items.len(), 3);
        assert_eq!(refusal(&items[0]).status, 400);
        assert!(refusal(&items[0]).reason.contains("not supported"));
        assert_eq!(items[1].action, "delete");
        assert!(items[1].source.is_err());
        assert!(items[2].source.is_ok());
    }

    #[test]
    fn a_malformed_action_costs_only_itself() {
        let items = frame("{\"index\":\n{\"lost\":1}\n{\"index\":{}}\n{\"ok\":1}\n");
        assert_eq!(items.len(), 2);
        let e = refusal(&items[0]);
        assert_eq!(e.kind, "x_content_parse_exception");
        assert!(e.reason.ends_with("(line 1)"), "{}", e.reason);
        assert!(items[1].source.is_ok());
        // An unknown action keeps the next action line.
        let items = frame("{\"upsert\":{}}\n{\"index\":{}}\n{\"ok\":1}\n");
        assert_eq!(items.len(), 2);
        assert_eq!(refusal(&items[0]).kind, "illegal_argument_exception");
        assert!(items[1].source.is_ok());
    }

    #[test]
    fn keys_after_the_action_are_ignored_with_a_warning() {
        // winston-elasticsearch's action lines.
        let body = "{\"index\":{\"_index\":\"w\",\"pipeline\":null},\"attempts\":0}\n{\"a\":1}\n\
                    {\"index\":{\"_index\":\"w\"},\"attempts\":1}\n{\"a\":2}\n";
        let (items, warnings) = frame_bulk(body.as_bytes(), None);
        assert_eq!(items.len(), 2);
        assert!(items.iter().all(|i| i.source.is_ok()), "{items:?}");
        assert_eq!(items[0].index.as_deref(), Some("w"));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("[attempts]"), "{warnings:?}");
    }

    #[test]
    fn refused_action_lines_keep_the_index_and_id_they_were_sent_with() {
        let body = "{\"foo\":{\"_index\":\"w\",\"_id\":\"7\"}}\n{\"a\":1}\n[]\n";
        let (items, _) = frame_bulk(body.as_bytes(), Some("d"));
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].index.as_deref(), items[0].id.as_deref()),
            (Some("w"), Some("7"))
        );
        assert!(items[0].source.is_err());
        assert_eq!(
            (items[1].index.as_deref(), items[1].id.as_deref()),
            (Some("d"), None)
        );
    }

    #[test]
    fn missing_index_source_and_bad_ids() {
        let items = frame_bulk(b"{\"index\":{}}\n{\"a\":1}\n", None).0;
        assert_eq!(
            refusal(&items[0]).kind,
            "action_request_validation_exception"
        );
        let long = "x".repeat(600);
        let body = format!(
            "{{\"index\":{{\"_id\":\"\"}}}}\n{{}}\n{{\"index\":{{\"_id\":\"{long}\"}}}}\n{{}}\n{{\"index\":{{}}}}\n"
        );
        let items = frame(&body);
        assert!(refusal(&items[0]).reason.contains("must not be empty"));
        assert!(refusal(&items[1]).reason.contains("too long"));
        assert!(refusal(&items[2]).reason.contains("source is missing"));
    }
}
