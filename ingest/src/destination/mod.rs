//! Destinations: where flushed batches are delivered.
//!
//! Each destination runs on its own and receives every batch of its stream, in order. A
//! destination is a [`Sink`] — one attempt at sending some records, with a result per record —
//! driven by [`run_sink`], the shared delivery loop: records that fail with a retriable error
//! are retried alone with the shared [`Backoff`](crate::retry::Backoff) until the stream's
//! `retry_duration`; records that fail for good, or run out of time, go to the error output.
//! Only then is the batch reported delivered, so the write-ahead log keeps every record until
//! it is in its destination or in the error output.
//!
//! The embedded index is the exception: it runs its own thread ([`index`]) because tantivy
//! blocks and commits on its own schedule.

pub(crate) mod backup;
pub(crate) mod elasticsearch;
pub(crate) mod index;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error_output::{ErrorOutput, Failed};
use crate::metrics::DestinationMetrics;
use crate::record::Record;
use crate::retry::Backoff;
use crate::stream::{Batch, DestinationPort};

/// Name of the embedded index destination.
pub(crate) const INDEX: &str = "index";
/// Name of the backup destination.
pub(crate) const BACKUP: &str = "backup";
/// Name of the Elasticsearch/OpenSearch destination.
pub(crate) const ELASTICSEARCH: &str = "elasticsearch";

/// Why a record (or a whole attempt) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A code: HTTP status, ES error type, S3 error.
    pub code: String,
    /// What happened.
    pub message: String,
}

/// The outcome of one record in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// In the destination.
    Delivered,
    /// Failed, worth retrying (throttling, a server error).
    Retry(Failure),
    /// Failed for good (the destination refuses the record itself).
    Fail(Failure),
}

/// A failed attempt as a whole (no per-record answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// What happened.
    pub failure: Failure,
    /// Whether retrying may help.
    pub retriable: bool,
}

/// One kind of destination.
pub trait Sink: Send + Sync + 'static {
    /// Name in metrics, logs and error-output keys.
    fn name(&self) -> &str;

    /// One attempt at delivering `records`, answering one result per record, in order.
    fn send(
        &self,
        records: &[&(u64, Record)],
    ) -> impl Future<Output = Result<Vec<ItemResult>, SendFailure>> + Send;

    /// The index a record is meant for, shown in its failure record.
    fn index_name(&self, record: &Record) -> String;

    /// Batches waiting behind the one received are merged into it up to this many bytes, so
    /// that a destination that fell behind catches up in fewer, larger deliveries (0: never).
    fn coalesce_bytes(&self) -> u64 {
        0
    }
}

/// What the delivery loop needs besides the sink.
pub(crate) struct DeliveryContext {
    pub(crate) retry_duration: Duration,
    pub(crate) error_output: Arc<ErrorOutput>,
    pub(crate) metrics: DestinationMetrics,
    pub(crate) cancel: CancellationToken,
}

/// Delivers every batch that arrives on `port` through `sink`.
pub(crate) async fn run_sink<S: Sink>(mut port: DestinationPort, sink: S, ctx: DeliveryContext) {
    while let Some(batch) = port.rx.recv().await {
        let batch = gather(&mut port, batch, sink.coalesce_bytes());
        port.set_oldest(batch.entries.first().map(|(_, r)| r.arrival_ms));
        if !deliver_batch(&sink, &batch, &ctx).await {
            // Shutting down mid-retry: the batch stays in the write-ahead log for next time.
            return;
        }
        port.set_oldest(None);
        port.delivered(batch.last);
    }
}

/// `first` and the batches queued behind it, merged until `limit` bytes (in order, so the
/// merged batch's last position is the last of them all).
fn gather(port: &mut DestinationPort, first: Arc<Batch>, limit: u64) -> Arc<Batch> {
    if first.bytes >= limit || port.rx.is_empty() {
        return first;
    }
    let mut merged = Batch {
        entries: first.entries.clone(),
        last: first.last,
        bytes: first.bytes,
    };
    while merged.bytes < limit {
        let Ok(next) = port.rx.try_recv() else { break };
        merged.entries.extend(next.entries.iter().cloned());
        merged.last = next.last;
        merged.bytes += next.bytes;
    }
    Arc::new(merged)
}

/// Delivers one batch; false when cancelled before every record was placed.
async fn deliver_batch<S: Sink>(sink: &S, batch: &Batch, ctx: &DeliveryContext) -> bool {
    let mut backoff = Backoff::start(ctx.retry_duration);
    let mut pending: Vec<usize> = (0..batch.entries.len()).collect();
    let mut gave_up: Vec<(usize, u32, Failure)> = Vec::new();
    loop {
        let records: Vec<&(u64, Record)> = pending.iter().map(|i| &batch.entries[*i]).collect();
        backoff.attempted();
        let attempt = backoff.attempts();
        let mut retry: Vec<(usize, Failure)> = Vec::new();
        match sink.send(&records).await {
            Ok(results) => {
                if results.contains(&ItemResult::Delivered) {
                    backoff.progressed();
                }
                for (i, result) in pending.iter().zip(results) {
                    match result {
                        ItemResult::Delivered => {
                            ctx.metrics.records.inc();
                            ctx.metrics
                                .bytes
                                .inc_by(batch.entries[*i].1.data.len() as u64);
                        }
                        ItemResult::Retry(f) => retry.push((*i, f)),
                        ItemResult::Fail(f) => gave_up.push((*i, attempt, f)),
                    }
                }
            }
            Err(e) if !e.retriable => {
                gave_up.extend(pending.iter().map(|i| (*i, attempt, e.failure.clone())));
            }
            Err(e) => retry.extend(pending.iter().map(|i| (*i, e.failure.clone()))),
        }
        if retry.is_empty() {
            break;
        }
        match backoff.next_delay() {
            Some(delay) => {
                ctx.metrics.retries.inc();
                tracing::warn!(destination = sink.name(), records = retry.len(), code = %retry[0].1.code, error = %retry[0].1.message, retry_in = ?delay, "delivery failed; retrying");
                pending = retry.into_iter().map(|(i, _)| i).collect();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = ctx.cancel.cancelled() => return false,
                }
            }
            None => {
                gave_up.extend(retry.into_iter().map(|(i, f)| (i, attempt, f)));
                break;
            }
        }
    }
    if gave_up.is_empty() {
        ctx.metrics.success.inc();
        return true;
    }
    ctx.metrics.failed.inc();
    gave_up.sort_by_key(|(i, _, _)| *i);
    let failed: Vec<Failed<'_>> = gave_up
        .iter()
        .map(|(i, attempts, f)| {
            let record = &batch.entries[*i].1;
            Failed {
                record,
                attempts: *attempts,
                code: f.code.clone(),
                message: f.message.clone(),
                index: sink.index_name(record),
            }
        })
        .collect();
    let written = ctx
        .error_output
        .write(sink.name(), &failed, &ctx.cancel)
        .await;
    if written {
        ctx.metrics.error_output_records.inc_by(failed.len() as u64);
    }
    written
}

#[cfg(test)]
mod tests;
