//! The Elasticsearch/OpenSearch destination: the scale-out path, delivering a stream into an
//! existing cluster with `_bulk`, as Firehose does — without its duplicates.
//!
//! [`ElasticsearchSink`] is one [`Sink`]: an attempt takes the records still to deliver,
//! names each one's index ([`request::Naming`]: Firehose's rotation suffixes by arrival time
//! or `@timestamp`), cuts them into `_bulk` requests by bytes and document count
//! ([`request::plan`]), sends up to `max_concurrent_requests` of them at once
//! ([`transport::Transport`]: endpoints, TLS, gzip, basic or SigV4 auth), and answers per
//! record what [`retry`] makes of the cluster's answer. The shared delivery loop then retries
//! only the records that may still succeed, with the shared backoff, and sends the rest to the
//! error output under `{error_prefix}elasticsearch-failed/`.
//!
//! Every document carries its record id as `_id` (unless `document_id = "none"`), so a
//! retry after a lost answer, or a replay of the write-ahead log after a crash, overwrites
//! rather than duplicates. Delivery is ordered: a batch is done (delivered or in the error
//! output) before the next starts, and when several versions of one `_id` are in a delivery
//! only the last is sent (with `action = "create"`, the first: the cluster would keep it),
//! the others counting as delivered — the cluster ends as if each had been written in turn.
//! Memory stays bounded when the cluster is down: records wait in the stream, counted against
//! `max_buffered_size`, and past it ingest answers 429.

mod failures;
mod request;
mod retry;
mod transport;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;
use hydrant_config::{BulkAction, DocumentIdMode, ElasticsearchConfig};

use super::{ELASTICSEARCH, Failure, ItemResult, SendFailure, Sink};
use crate::error::ElasticsearchError;
use crate::record::Record;
use failures::{Example, FailureLog};
use hydrant_sigproxy::credentials::AwsCredentials;
use request::{Chunk, Doc, Naming, encode, plan};
use retry::{Exchange, Verdict, judge};
use transport::Transport;

/// After a 413, requests are never cut smaller than this.
const MIN_BULK_BYTES: u64 = 16 * 1024;

/// Delivers a stream's records to an Elasticsearch or OpenSearch cluster.
pub(crate) struct ElasticsearchSink {
    stream: String,
    naming: Naming,
    document_id: DocumentIdMode,
    action: BulkAction,
    max_documents: usize,
    /// `max_bulk_size`, lowered when the cluster answers 413.
    max_bytes: AtomicU64,
    concurrency: usize,
    coalesce: u64,
    transport: Arc<Transport>,
    failures: FailureLog,
}

impl ElasticsearchSink {
    /// The destination of `stream` as `config` describes it; nothing is sent yet.
    pub(crate) fn new(
        stream: &str,
        config: &ElasticsearchConfig,
        credentials: &AwsCredentials,
    ) -> Result<ElasticsearchSink, ElasticsearchError> {
        Ok(ElasticsearchSink {
            stream: stream.to_string(),
            naming: Naming {
                base: config.index_name(stream).to_string(),
                rotation: config.rotation,
                time: config.rotation_time,
            },
            document_id: config.document_id,
            action: config.action,
            max_documents: config.max_bulk_documents as usize,
            max_bytes: AtomicU64::new(config.max_bulk_size),
            concurrency: config.max_concurrent_requests as usize,
            coalesce: config.max_bulk_size * config.max_concurrent_requests,
            transport: Arc::new(Transport::new(config, credentials)?),
            failures: FailureLog::default(),
        })
    }

    /// Results known before sending (records that cannot be indexed, superseded versions)
    /// and the documents to send.
    fn select(&self, records: &[&(u64, Record)]) -> (Vec<ItemResult>, Vec<Doc>) {
        let mut results = vec![ItemResult::Delivered; records.len()];
        let mut sent = vec![true; records.len()];
        for (slot, (_, record)) in records.iter().enumerate() {
            if record.delete {
                // Deletions are the embedded index's (its own `DELETE _doc` and `_update`);
                // the cluster only ever receives documents.
                sent[slot] = false;
                continue;
            }
            if !record.is_object {
                sent[slot] = false;
                results[slot] = ItemResult::Fail(Failure {
                    code: "InvalidRecord".to_string(),
                    message: "the record is not a JSON object and cannot be indexed; a stream with record_format = \"text\" sends lines as {\"message\": …}".to_string(),
                });
            }
        }
        if self.document_id == DocumentIdMode::Record {
            // One version per `_id`: the one the cluster would keep.
            let mut chosen: HashMap<&str, usize> = HashMap::new();
            for (slot, (_, record)) in records.iter().enumerate() {
                if !sent[slot] {
                    continue;
                }
                match chosen.insert(&*record.id, slot) {
                    Some(earlier) if self.action == BulkAction::Create => {
                        chosen.insert(&*record.id, earlier);
                        sent[slot] = false;
                    }
                    Some(earlier) => sent[earlier] = false,
                    None => {}
                }
            }
        }
        let mut naming = self.naming.cached();
        let docs = records
            .iter()
            .enumerate()
            .filter(|(slot, _)| sent[*slot])
            .map(|(slot, (_, record))| Doc {
                slot,
                index: naming.index_for(record),
                id: (self.document_id == DocumentIdMode::Record).then(|| record.id.clone()),
                source: record.data.clone(),
            })
            .collect();
        (results, docs)
    }

    /// Sends one request; one result per document, by slot.
    async fn send_chunk(&self, chunk: Chunk) -> Vec<(usize, ItemResult)> {
        let Chunk { docs, bytes } = chunk;
        let transport = self.transport.clone();
        let action = self.action;
        // Encoding, gzip and hashing of up to `max_bulk_size` are CPU work.
        let prepared = tokio::task::spawn_blocking(move || {
            let prepared = transport.prepare(encode(&docs, action));
            (docs, prepared)
        })
        .await;
        let (docs, prepared) = match prepared {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(stream = %self.stream, error = %e, "encoding a _bulk request failed");
                return Vec::new();
            }
        };
        let answer = self.transport.post_bulk(&prepared).await;
        let exchange = match &answer {
            Ok((status, body)) => Exchange::Answered {
                status: *status,
                body,
            },
            Err(lost) => Exchange::Lost(lost),
        };
        match judge(exchange, docs.len(), action) {
            Verdict::Items(results) => docs.iter().map(|d| d.slot).zip(results).collect(),
            Verdict::Whole(result) => docs.iter().map(|d| (d.slot, result.clone())).collect(),
            Verdict::TooLarge => {
                let smaller = (bytes / 2).max(MIN_BULK_BYTES);
                let was = self.max_bytes.fetch_min(smaller, Ordering::AcqRel);
                if smaller < was {
                    tracing::warn!(stream = %self.stream, destination = ELASTICSEARCH, bytes = smaller, "the cluster refused a _bulk request as too large (413); sending smaller ones");
                }
                let retry = ItemResult::Retry(Failure {
                    code: "413".to_string(),
                    message: format!(
                        "a _bulk request of about {bytes} bytes was too large for the cluster"
                    ),
                });
                docs.iter().map(|d| (d.slot, retry.clone())).collect()
            }
        }
    }

    fn log_failures(&self, records: &[&(u64, Record)], results: &[ItemResult]) {
        for ((_, record), result) in records.iter().zip(results) {
            let (outcome, failure) = match result {
                ItemResult::Delivered => continue,
                ItemResult::Retry(f) => ("retrying", f),
                ItemResult::Fail(f) => ("refused", f),
            };
            self.failures.note(
                &self.stream,
                &Example {
                    outcome,
                    failure,
                    document_id: &record.id,
                    index: &self.naming.index_for(record),
                },
            );
        }
    }
}

impl Sink for ElasticsearchSink {
    fn name(&self) -> &str {
        ELASTICSEARCH
    }

    async fn send(&self, records: &[&(u64, Record)]) -> Result<Vec<ItemResult>, SendFailure> {
        let (mut results, docs) = self.select(records);
        let chunks = plan(
            docs,
            self.max_bytes.load(Ordering::Acquire),
            self.max_documents,
        );
        let pending: Vec<usize> = chunks
            .iter()
            .flat_map(|c| c.docs.iter().map(|d| d.slot))
            .collect();
        // A document whose request could not even be encoded stays pending: retried.
        for slot in pending {
            results[slot] = ItemResult::Retry(Failure {
                code: "EncodingFailed".to_string(),
                message: "the _bulk request could not be encoded".to_string(),
            });
        }
        let answers: Vec<Vec<(usize, ItemResult)>> = futures::stream::iter(chunks)
            .map(|chunk| self.send_chunk(chunk))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        for (slot, result) in answers.into_iter().flatten() {
            results[slot] = result;
        }
        self.log_failures(records, &results);
        Ok(results)
    }

    fn index_name(&self, record: &Record) -> String {
        self.naming.index_for(record)
    }

    fn coalesce_bytes(&self) -> u64 {
        self.coalesce
    }
}

#[cfg(test)]
mod tests;
