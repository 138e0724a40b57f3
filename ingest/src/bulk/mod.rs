//! The Elasticsearch `_bulk` receiver: framing action/source line pairs into items, accepting
//! each item's source through its stream's [`Acceptor`](crate::accept::Acceptor), and the answer with one outcome per
//! item. A bad item costs only itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::accept::{ItemError, RecordError, off_runtime};
use crate::auth::check_access;
use crate::error::IngestError;
use crate::processing::Chain;
use crate::record::Record;
use crate::routes::IngestState;
use crate::stream::Stream;
use hydrant_index::rotation::IndexNamer;

mod answer;
mod frame;

use answer::{Answer, whole_request_failed, write_response};
pub use frame::{BulkItem, frame_bulk};

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
/// accepting a large body run on the blocking pool. Returns the JSON answer, the warnings for
/// `Warning` headers, and whether an item was refused for now (429/503: worth a `Retry-After`).
pub async fn ingest_bulk(
    state: &IngestState,
    body: Bytes,
    target: Option<&str>,
    pipeline: Option<&str>,
    headers: &HeaderMap,
    wait_for: Option<Duration>,
) -> (Vec<u8>, Vec<String>, bool) {
    let started = std::time::Instant::now();
    let arrival_ms = chrono::Utc::now().timestamp_millis();
    let framed = {
        let body = body.clone();
        let target = target.map(str::to_string);
        off_runtime(body.len(), move || frame_bulk(&body, target.as_deref())).await
    };
    let (items, warnings) = match framed {
        Ok(framed) => framed,
        Err(e) => return (whole_request_failed(&e), Vec::new(), false),
    };
    let mut answers: Vec<Option<Answer>> = (0..items.len()).map(|_| None).collect();
    let actions: Vec<&'static str> = items.iter().map(|i| i.action).collect();
    let ctx = Context {
        state,
        body: &body,
        arrival_ms,
        headers,
        pipeline,
    };
    let mut waits = Vec::new();
    // Items are taken in runs between `update` and `delete` items, which read the document as
    // the items before them left it.
    let mut run: Vec<(usize, BulkItem)> = Vec::new();
    for (n, item) in items.into_iter().enumerate() {
        if item.source.is_ok() && matches!(item.action, "update" | "delete") {
            ctx.append(std::mem::take(&mut run), &mut answers, &mut waits)
                .await;
            let (answer, written) = read_modify_write(&ctx, item).await;
            answers[n] = Some(answer);
            waits.extend(written);
        } else {
            run.push((n, item));
        }
    }
    ctx.append(run, &mut answers, &mut waits).await;
    if let Some(limit) = wait_for {
        for (stream, last) in waits {
            stream.wait_searchable(last, limit).await;
        }
    }
    let errors = answers.iter().any(|a| match a {
        Some(Answer::Created { .. } | Answer::Dropped { .. }) => false,
        // A deletion of a missing document is `not_found`, not an error (as in Elasticsearch).
        Some(Answer::Document { body, .. }) => body.get("error").is_some(),
        _ => true,
    });
    let retry_later = answers.iter().any(
        |a| matches!(a, Some(Answer::Failed { error, .. }) if matches!(error.status, 429 | 503)),
    );
    let took = started.elapsed().as_millis() as u64;
    let answer = write_response(took, errors, &actions, &answers);
    (answer, warnings, retry_later)
}

/// What one bulk request shares across its items.
struct Context<'a> {
    state: &'a IngestState,
    body: &'a Bytes,
    arrival_ms: i64,
    headers: &'a HeaderMap,
    /// The request's `?pipeline=`.
    pipeline: Option<&'a str>,
}

impl Context<'_> {
    /// Appends `index` and `create` items, stream by stream.
    async fn append(
        &self,
        items: Vec<(usize, BulkItem)>,
        answers: &mut [Option<Answer>],
        waits: &mut Vec<(Arc<Stream>, u64)>,
    ) {
        let mut groups: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        for (n, item) in items {
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
        for (name, pending) in groups {
            let group = Group {
                state: self.state,
                name: &name,
                body: self.body,
                arrival_ms: self.arrival_ms,
                headers: self.headers,
                pipeline: self.pipeline,
            };
            group.append(pending, answers, waits).await;
        }
    }
}

/// An `update` or `delete` item, through [`crate::documents`].
async fn read_modify_write(
    ctx: &Context<'_>,
    item: BulkItem,
) -> (Answer, Option<(Arc<Stream>, u64)>) {
    let index = item.index.unwrap_or_default();
    let id = item.id.unwrap_or_default();
    if let Some(stream) = ctx.state.pipeline.get(&index)
        && let Err(denied) = check_access(stream.config(), ctx.headers)
    {
        let e = IngestError::AccessDenied {
            stream: index.clone(),
            denied,
        };
        let body = json!({"_index": index, "_id": id, "error": {"type": e.es_type(), "reason": e.to_string()}});
        return (
            Answer::Document {
                status: e.status().as_u16(),
                body,
            },
            None,
        );
    }
    let conditions = crate::documents::Conditions::default();
    let result = if item.action == "delete" {
        crate::documents::delete_doc(ctx.state, &index, &id, conditions, None).await
    } else {
        let range = item.source.unwrap_or(0..0);
        match serde_json::from_slice::<Value>(&ctx.body[range]) {
            Ok(body @ Value::Object(_)) => {
                crate::documents::update_doc(ctx.state, &index, &id, &body, conditions, None).await
            }
            _ => Err(crate::documents::DocError {
                status: axum::http::StatusCode::BAD_REQUEST,
                es_type: "x_content_parse_exception",
                reason: "[UpdateRequest] the update body must be a JSON object".into(),
                index: None,
            }),
        }
    };
    match result {
        Ok(o) => (
            Answer::Document {
                status: o.status.as_u16(),
                body: o.body,
            },
            o.written,
        ),
        Err(e) => {
            let body = json!({"_index": e.index.clone().unwrap_or(index), "_id": id,
                "error": {"type": e.es_type, "reason": e.reason}});
            (
                Answer::Document {
                    status: e.status.as_u16(),
                    body,
                },
                None,
            )
        }
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
                    let named = p.pipeline.as_deref().or(request_pipeline.as_deref());
                    let k = match chains.iter().position(|(n, _)| n.as_deref() == named) {
                        Some(k) => k,
                        None => {
                            let chain = processing.chain(named);
                            chains.push((named.map(str::to_string), chain));
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
        // The stream's name: `name` may be an alias that writes to it.
        let mut namer = IndexNamer::new(stream.name(), stream.config().index.rotation);
        // Item number, concrete index and id of each record, kept for the answers.
        let mut meta: Vec<(usize, Arc<str>, Box<str>)> = Vec::with_capacity(accepted.len());
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
                    meta.push((n, namer.name(r.timestamp_ms), r.id.clone()));
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
                let ids = meta
                    .into_iter()
                    .map(|(n, _, id)| (n, Some(id.into())))
                    .collect();
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
mod tests;
