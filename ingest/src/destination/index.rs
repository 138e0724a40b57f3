//! The embedded index destination: a dedicated thread that feeds a stream's records to its
//! [`StreamIndexer`] and commits at most once per `refresh_interval`, with the WAL position of
//! the last record as the commit's checkpoint. Records the index refuses (not JSON objects)
//! go to the error output.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hydrant_index::{AddOutcome, IndexError, SourceDoc, StreamIndexer};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::error_output::{ErrorOutput, Failed};
use crate::metrics::DestinationMetrics;
use crate::retry::Backoff;
use crate::stream::{Batch, DestinationPort};

use super::INDEX;

/// A request handled by the index thread, which owns the stream's writers.
pub(crate) enum IndexControl {
    /// Delete these indices of the stream.
    Delete {
        names: Vec<String>,
        reply: tokio::sync::oneshot::Sender<Result<(), String>>,
    },
    /// A `_refresh` is waiting: commit as soon as what it asked for is indexed.
    Commit,
}

/// How often retention and sealing are checked when nothing else happens.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(60);

/// Under a backlog, commits wait up to this many refresh intervals.
const DEFERRAL_FACTOR: u32 = 10;

/// What the index thread needs.
pub(crate) struct IndexDestination {
    pub(crate) indexer: StreamIndexer,
    /// Requests from the HTTP API that need this thread's writers (index deletion).
    pub(crate) control: tokio::sync::mpsc::UnboundedReceiver<IndexControl>,
    /// Counts indices deleted (retention and requests).
    pub(crate) deleted: prometheus_client::metrics::counter::Counter,
    pub(crate) refresh: Duration,
    pub(crate) error_output: Arc<ErrorOutput>,
    pub(crate) metrics: DestinationMetrics,
    pub(crate) cancel: CancellationToken,
    pub(crate) runtime: Handle,
}

pub(crate) fn spawn(
    port: DestinationPort,
    dest: IndexDestination,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let name = format!("hy-index-{}", port.stream.name);
    std::thread::Builder::new()
        .name(name.chars().take(15).collect())
        .spawn(move || run(port, dest))
}

fn run(mut port: DestinationPort, mut d: IndexDestination) {
    let stream = port.stream.name.clone();
    let refresh = d.refresh;
    let mut last_commit = Instant::now()
        .checked_sub(refresh)
        .unwrap_or_else(Instant::now);
    // Last position given to the indexer and not yet committed.
    let mut uncommitted: Option<u64> = None;
    let mut backoff = Backoff::forever();
    let mut committed = 0;
    let mut last_maintenance = Instant::now();
    // Batches added since the last commit: after a writer failure, they are added again from
    // a clean state (the last commit), so that nothing half-added is ever committed.
    let mut since_commit: Vec<Arc<Batch>> = Vec::new();
    loop {
        let wait = match uncommitted {
            Some(_) => refresh.saturating_sub(last_commit.elapsed()),
            None => MAINTENANCE_EVERY.saturating_sub(last_maintenance.elapsed()),
        };
        if last_maintenance.elapsed() >= MAINTENANCE_EVERY {
            maintain(&mut d, &stream, committed);
            last_maintenance = Instant::now();
        }
        let rt = d.runtime.clone();
        let received = rt.block_on(async {
            tokio::select! {
                b = port.rx.recv() => Ok(b),
                c = d.control.recv() => Err(c),
                _ = tokio::time::sleep(wait) => Err(None),
            }
        });
        let received = match received {
            Err(Some(IndexControl::Delete { names, reply })) => {
                let result = d.indexer.delete(&names).map_err(|e| e.to_string());
                if result.is_ok() {
                    d.deleted.inc_by(names.len() as u64);
                }
                let _ = reply.send(result);
                continue;
            }
            Err(Some(IndexControl::Commit)) | Err(None) => Err(()),
            Ok(b) => Ok(b),
        };
        match received {
            Ok(Some(batch)) => {
                if uncommitted.is_none() {
                    port.set_oldest(batch.entries.first().map(|(_, r)| r.arrival_ms));
                }
                since_commit.push(batch.clone());
                match index_batch(&mut d, &batch, &stream) {
                    Ok(true) => {}
                    Ok(false) => {
                        // Shutting down before refused records reached the error output:
                        // commit nothing more, so that replay brings this batch back whole.
                        d.indexer.abandon();
                        return;
                    }
                    Err(e) => {
                        if !recover(&mut d, &since_commit, &stream, e) {
                            return;
                        }
                    }
                }
                uncommitted = Some(batch.last);
            }
            Ok(None) => {
                // The stream is shutting down: commit what we have and stop.
                match d.indexer.close(uncommitted.unwrap_or(0)) {
                    Ok(()) => {
                        if let Some(p) = uncommitted {
                            publish(&port, p);
                        }
                    }
                    Err(e) => {
                        tracing::error!(%stream, error = %e, "final commit failed; records will be replayed from the write-ahead log")
                    }
                }
                return;
            }
            Err(()) => {}
        }
        // A commit is a barrier (tantivy stops taking documents while it writes segments), and
        // each one leaves segments to merge. So under a backlog, commits are spaced out to at
        // most one per `DEFERRAL_FACTOR` refresh intervals; when the index keeps up, every
        // refresh interval, for freshness.
        let since = last_commit.elapsed();
        let keeping_up = port.rx.is_empty();
        let wanted = port.stream.commit_wanted.load(Ordering::Acquire) > committed;
        if let Some(position) = uncommitted
            && (wanted || (since >= refresh && (keeping_up || since >= refresh * DEFERRAL_FACTOR)))
        {
            match d.indexer.commit(position) {
                Ok(()) => {
                    d.metrics.success.inc();
                    port.set_oldest(None);
                    publish(&port, position);
                    uncommitted = None;
                    since_commit.clear();
                    committed = position;
                    last_commit = Instant::now();
                    backoff.reset();
                    maintain(&mut d, &stream, committed);
                    last_maintenance = Instant::now();
                }
                Err(e) => {
                    d.metrics.retries.inc();
                    let delay = backoff.next_delay().unwrap_or(crate::retry::CAP);
                    tracing::error!(%stream, error = %e, retry_in = ?delay, "index commit failed; records stay in the write-ahead log");
                    if !pause(&d, delay) || !recover(&mut d, &since_commit, &stream, e) {
                        return;
                    }
                }
            }
        }
    }
}

/// Waits `delay` on the index thread; false when shutdown begins meanwhile.
fn pause(d: &IndexDestination, delay: Duration) -> bool {
    d.runtime.block_on(async {
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = d.cancel.cancelled() => false,
        }
    })
}

/// Starts over from the last commit after a writer failure and adds `batches` again, with
/// growing waits, until it works or shutdown begins (false).
fn recover(
    d: &mut IndexDestination,
    batches: &[Arc<Batch>],
    stream: &str,
    first: IndexError,
) -> bool {
    let mut backoff = Backoff::forever();
    let mut error = first;
    loop {
        d.metrics.retries.inc();
        let delay = backoff.next_delay().unwrap_or(crate::retry::CAP);
        tracing::error!(%stream, %error, retry_in = ?delay, "indexing failed; starting over from the last commit");
        d.indexer.abandon();
        if !pause(d, delay) {
            return false;
        }
        let mut again = Ok(true);
        for b in batches {
            again = index_batch(d, b, stream);
            if !matches!(again, Ok(true)) {
                break;
            }
        }
        match again {
            Ok(done) => return done,
            Err(e) => error = e,
        }
    }
}

/// Adds a batch; refused records go to the error output before the batch counts as done.
/// `Ok(false)` when shutdown interrupted writing the error output; `Err` when the writer failed.
fn index_batch(d: &mut IndexDestination, batch: &Batch, stream: &str) -> Result<bool, IndexError> {
    // Documents go in runs between deletions, so that a deletion applies after the writes
    // before it and before those after it.
    let mut outcomes: Vec<AddOutcome> = Vec::with_capacity(batch.entries.len());
    let mut run: Vec<(u64, SourceDoc<'_>, bool)> = Vec::with_capacity(batch.entries.len());
    for (position, record) in &batch.entries {
        if record.delete {
            if !run.is_empty() {
                outcomes.extend(d.indexer.add_batch(&run)?);
                run.clear();
            }
            let index = std::str::from_utf8(&record.data).unwrap_or_default();
            d.indexer.delete_doc(*position, index, &record.id)?;
            outcomes.push(AddOutcome::AlreadyCommitted);
            continue;
        }
        let doc = SourceDoc {
            id: &record.id,
            timestamp_ms: record.timestamp_ms,
            source: &record.data,
        };
        run.push((*position, doc, record.client_id));
    }
    if !run.is_empty() {
        outcomes.extend(d.indexer.add_batch(&run)?);
    }
    let mut refused: Vec<(usize, String, String)> = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            AddOutcome::Added => {
                d.metrics.records.inc();
                d.metrics.bytes.inc_by(batch.entries[i].1.data.len() as u64);
            }
            AddOutcome::AlreadyCommitted => {}
            AddOutcome::Rejected(e) => refused.push((i, e.es_type().to_string(), e.to_string())),
        }
    }
    if refused.is_empty() {
        return Ok(true);
    }
    d.metrics.failed.inc();
    let failed: Vec<Failed<'_>> = refused
        .iter()
        .map(|(i, code, message)| {
            let record = &batch.entries[*i].1;
            Failed {
                record,
                attempts: 1,
                code: code.clone(),
                message: message.clone(),
                index: stream.to_string(),
            }
        })
        .collect();
    let written = d
        .runtime
        .block_on(d.error_output.write(INDEX, &failed, &d.cancel));
    if written {
        d.metrics.error_output_records.inc_by(failed.len() as u64);
    }
    Ok(written)
}

/// Retention and sealing; failures are logged and retried at the next round.
fn maintain(d: &mut IndexDestination, stream: &str, committed: u64) {
    let now = chrono::Utc::now().timestamp_millis();
    match d.indexer.maintain(now, committed) {
        Ok(done) => {
            d.deleted.inc_by(done.deleted.len() as u64);
        }
        Err(e) => tracing::warn!(%stream, error = %e, "index maintenance failed; will retry"),
    }
}

fn publish(port: &DestinationPort, position: u64) {
    port.stream.searchable.send_if_modified(|s| {
        let advance = position > *s;
        if advance {
            *s = position;
        }
        advance
    });
    port.delivered(position);
}
