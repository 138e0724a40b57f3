//! One delivery stream: admission, the write-ahead log, the buffer with its size and interval
//! hints, fan-out of flushed batches to destinations, and the delivery watermark that lets the
//! log be truncated.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use hydrant_config::StreamConfig;
use parking_lot::Mutex;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::destination::index::IndexControl;
use crate::error::{IngestError, WalError};
use crate::metrics::{DestinationMetrics, StreamMetrics};
use crate::record::{Record, encode_record};
use crate::wal::{Wal, WalBatch};

mod destinations;
pub(crate) use destinations::{
    DestinationKind, DestinationLink, DestinationPort, destination_channel,
};

/// Records flushed together from a stream's buffer, shared by every destination.
#[derive(Debug)]
pub struct Batch {
    /// The records with their WAL positions, in position order.
    pub entries: Vec<(u64, Record)>,
    /// Position of the last entry.
    pub last: u64,
    /// Bytes the batch counts for.
    pub bytes: u64,
}

/// Where a destination reports how far it has durably delivered.
#[derive(Debug, Clone)]
pub struct Watermark(Arc<AtomicU64>);

impl Watermark {
    /// A watermark at position `at`.
    pub(crate) fn new(at: u64) -> Watermark {
        Watermark(Arc::new(AtomicU64::new(at)))
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

#[derive(Default)]
struct Buffer {
    entries: Vec<(u64, Record)>,
    bytes: u64,
    oldest: Option<Instant>,
}

/// What a stream is built from: everything [`StreamShared`] holds from its first moment.
pub(crate) struct StreamSetup {
    pub(crate) name: String,
    pub(crate) config: StreamConfig,
    pub(crate) metrics: StreamMetrics,
    /// Bytes accepted and not yet delivered by every stream of the process.
    pub(crate) global_pending: Arc<AtomicU64>,
    /// `ingest.max_buffered_size`.
    pub(crate) global_limit: u64,
    /// The position every destination has delivered (the log's first position, less one).
    pub(crate) start: u64,
    pub(crate) wal: Arc<Wal>,
    /// Each destination with the watermark it will report its progress on.
    pub(crate) destinations: Vec<(DestinationKind, Watermark)>,
}

/// State shared by a stream's request handlers, flusher and destinations.
pub(crate) struct StreamShared {
    pub(crate) name: String,
    pub(crate) config: StreamConfig,
    pub(crate) metrics: StreamMetrics,
    buffer: Mutex<Buffer>,
    wake_flusher: Notify,
    /// Batches flushed but not yet delivered everywhere: (last position, bytes).
    in_flight: Mutex<VecDeque<(u64, u64)>>,
    /// Bytes accepted and not yet delivered everywhere.
    pending: AtomicU64,
    global_pending: Arc<AtomicU64>,
    global_limit: u64,
    /// How far each destination has delivered.
    watermarks: Vec<Watermark>,
    /// Whether one destination is the embedded index (which then says what is searchable).
    has_index: bool,
    /// Position of the last record handed to destinations.
    dispatched: AtomicU64,
    /// Position of the last record written to the log (and buffered).
    appended: AtomicU64,
    /// Highest position delivered to every destination.
    delivered: watch::Sender<u64>,
    /// Highest position searchable in the embedded index.
    pub(crate) searchable: watch::Sender<u64>,
    wal: Arc<Wal>,
    closing: AtomicBool,
    /// Flush whatever is buffered now, whatever the hints say.
    force_flush: AtomicBool,
    /// Highest position a `_refresh` asked to be searchable: the index commits as soon as it
    /// has it, without waiting for its refresh interval.
    pub(crate) commit_wanted: AtomicU64,
}

impl StreamShared {
    pub(crate) fn new(setup: StreamSetup) -> Arc<StreamShared> {
        let start = setup.start;
        Arc::new(StreamShared {
            name: setup.name,
            config: setup.config,
            metrics: setup.metrics,
            buffer: Mutex::new(Buffer::default()),
            wake_flusher: Notify::new(),
            in_flight: Mutex::new(VecDeque::new()),
            pending: AtomicU64::new(0),
            global_pending: setup.global_pending,
            global_limit: setup.global_limit,
            has_index: setup
                .destinations
                .iter()
                .any(|(k, _)| *k == DestinationKind::Index),
            watermarks: setup.destinations.into_iter().map(|(_, w)| w).collect(),
            dispatched: AtomicU64::new(start),
            appended: AtomicU64::new(start),
            delivered: watch::channel(start).0,
            searchable: watch::channel(start).0,
            wal: setup.wal,
            closing: AtomicBool::new(false),
            force_flush: AtomicBool::new(false),
            commit_wanted: AtomicU64::new(0),
        })
    }

    /// Puts records that are in the log into the buffer, in position order.
    pub(crate) fn buffer_records(&self, first: u64, records: Vec<Record>) {
        if let Some(last) = (first + records.len() as u64).checked_sub(1) {
            self.appended.fetch_max(last, Ordering::AcqRel);
        }
        let mut buf = self.buffer.lock();
        let was_empty = buf.entries.is_empty();
        for (i, r) in records.into_iter().enumerate() {
            buf.bytes += r.size();
            buf.entries.push((first + i as u64, r));
        }
        if buf.oldest.is_none() {
            buf.oldest = Some(Instant::now());
        }
        let full = buf.bytes >= self.config.buffer_size;
        drop(buf);
        if was_empty || full {
            self.wake_flusher.notify_one();
        }
    }

    /// Asks the flusher to deliver what is buffered now (replay, `refresh=wait_for`).
    pub(crate) fn flush_soon(&self) {
        self.force_flush.store(true, Ordering::Release);
        self.wake_flusher.notify_one();
    }

    /// Counts `bytes` as pending (for replayed records that skip admission).
    pub(crate) fn add_pending(&self, bytes: u64) {
        self.pending.fetch_add(bytes, Ordering::AcqRel);
        self.global_pending.fetch_add(bytes, Ordering::AcqRel);
    }

    fn release(&self, bytes: u64) {
        self.pending.fetch_sub(bytes, Ordering::AcqRel);
        self.global_pending.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Reserves room for `bytes` more, or says to slow down.
    fn admit(&self, bytes: u64) -> Result<(), IngestError> {
        let limit = self.config.max_buffered_size;
        let now = self.pending.fetch_add(bytes, Ordering::AcqRel) + bytes;
        let global = self.global_pending.fetch_add(bytes, Ordering::AcqRel) + bytes;
        // A single request larger than the whole limit is still let in on an idle stream, or it
        // could never be accepted at all.
        let over_stream = now > limit && now != bytes;
        let over_global = global > self.global_limit && global != bytes;
        if over_stream || over_global {
            self.release(bytes);
            let (buffered, limit) = if over_stream {
                (now - bytes, limit)
            } else {
                (global - bytes, self.global_limit)
            };
            return Err(IngestError::Throttled {
                stream: self.name.clone(),
                buffered,
                limit,
            });
        }
        Ok(())
    }

    /// Recomputes the position delivered everywhere; releases buffered bytes and lets the log
    /// drop what every destination has.
    pub(crate) fn progress(&self) {
        let min = self.watermarks.iter().map(Watermark::get).min();
        // With no destination at all, what was dispatched is done.
        let min = min.unwrap_or_else(|| self.dispatched.load(Ordering::Acquire));
        let mut released = 0;
        {
            let mut in_flight = self.in_flight.lock();
            while let Some((last, bytes)) = in_flight.front().copied() {
                if last > min {
                    break;
                }
                released += bytes;
                in_flight.pop_front();
            }
        }
        if released > 0 {
            self.release(released);
        }
        let changed = self.delivered.send_if_modified(|d| {
            if min > *d {
                *d = min;
                true
            } else {
                false
            }
        });
        if changed {
            if !self.has_index {
                self.searchable.send_if_modified(|s| {
                    let advance = min > *s;
                    if advance {
                        *s = min;
                    }
                    advance
                });
            }
            self.wal.truncate(min);
        }
    }

    fn take_due(&self, force: bool) -> Option<Batch> {
        let mut buf = self.buffer.lock();
        let oldest = buf.oldest?;
        let due = force
            || buf.bytes >= self.config.buffer_size
            || oldest.elapsed() >= self.config.buffer_interval;
        if !due || buf.entries.is_empty() {
            return None;
        }
        let entries = std::mem::take(&mut buf.entries);
        let bytes = std::mem::take(&mut buf.bytes);
        buf.oldest = None;
        let last = entries.last().map(|(p, _)| *p).unwrap_or(0);
        Some(Batch {
            entries,
            last,
            bytes,
        })
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.buffer
            .lock()
            .oldest
            .map(|t| t + self.config.buffer_interval)
    }

    /// Bytes accepted and not yet delivered everywhere.
    pub(crate) fn buffered_bytes(&self) -> u64 {
        self.pending.load(Ordering::Acquire)
    }

    /// Arrival time of the oldest record still in the buffer.
    fn buffer_oldest_arrival(&self) -> Option<i64> {
        self.buffer
            .lock()
            .entries
            .first()
            .map(|(_, r)| r.arrival_ms)
    }
}

/// A running stream.
pub struct Stream {
    shared: Arc<StreamShared>,
    /// The stream's mapping, which every record is accepted against.
    mapper: Arc<hydrant_index::DocMapper>,
    /// Where batches go; emptied at shutdown, which tells each destination to finish.
    links: Mutex<Vec<DestinationLink>>,
    /// What shutdown needs after the links are gone: each destination's freshness and metrics.
    observed: Vec<(Arc<AtomicI64>, DestinationMetrics)>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    /// Destination threads and tasks, joined at shutdown.
    runners: Mutex<Runners>,
    cancel: CancellationToken,
    /// Requests for the index thread (deleting indices), when the stream has one.
    index_control: Option<mpsc::UnboundedSender<IndexControl>>,
    /// Where records that cannot be delivered (or processed) go.
    error_output: Arc<crate::error_output::ErrorOutput>,
    /// Held by a read-modify-write (`_update`, a conditional write or delete) from reading
    /// the document until its write is in the log, so that the next one reads the result.
    read_modify_write: Arc<tokio::sync::Mutex<()>>,
}

/// The running destinations of a stream.
#[derive(Default)]
pub(crate) struct Runners {
    /// Threads (the embedded index).
    pub(crate) threads: Vec<std::thread::JoinHandle<()>>,
    /// Async tasks (backup, Elasticsearch).
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

/// Everything a running stream is made of, assembled by the pipeline.
pub(crate) struct StreamParts {
    pub(crate) shared: Arc<StreamShared>,
    pub(crate) mapper: Arc<hydrant_index::DocMapper>,
    pub(crate) links: Vec<DestinationLink>,
    pub(crate) runners: Runners,
    pub(crate) cancel: CancellationToken,
    pub(crate) index_control: Option<mpsc::UnboundedSender<IndexControl>>,
    pub(crate) error_output: Arc<crate::error_output::ErrorOutput>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("name", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// Positions given to an accepted request's records.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    /// Position of the first record.
    pub first: u64,
    /// Position of the last record.
    pub last: u64,
}

impl Stream {
    /// Starts the stream's flusher; the stream takes records from now on.
    pub(crate) fn start(parts: StreamParts) -> Arc<Stream> {
        let observed = parts
            .links
            .iter()
            .map(|l| (l.oldest.clone(), l.metrics.clone()))
            .collect();
        let stream = Arc::new(Stream {
            shared: parts.shared,
            mapper: parts.mapper,
            links: Mutex::new(parts.links),
            observed,
            flusher: Mutex::new(None),
            runners: Mutex::new(parts.runners),
            cancel: parts.cancel,
            index_control: parts.index_control,
            error_output: parts.error_output,
            read_modify_write: Arc::new(tokio::sync::Mutex::new(())),
        });
        let handle = tokio::spawn(flusher(stream.clone()));
        *stream.flusher.lock() = Some(handle);
        stream.shared.progress();
        stream
    }

    /// Serializes read-modify-write operations on this stream's documents.
    pub async fn lock_documents(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.read_modify_write.clone().lock_owned().await
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The stream's settings.
    pub fn config(&self) -> &StreamConfig {
        &self.shared.config
    }

    /// The stream's error output.
    pub(crate) fn error_output(&self) -> &crate::error_output::ErrorOutput {
        &self.error_output
    }

    /// Fires when the stream shuts down.
    pub(crate) fn cancelled(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The accept path for records arriving now at this stream.
    pub fn acceptor(&self, max_record_size: u64, arrival_ms: i64) -> crate::accept::Acceptor {
        crate::accept::Acceptor::new(self.mapper.clone(), max_record_size, arrival_ms)
            .keep_source(self.shared.config.backup.mode == hydrant_config::BackupMode::AllDocuments)
    }

    /// Accepts records: admission, then the write-ahead log. Resolves once they are durable;
    /// from then on they reach every destination (or the error output), even if the caller
    /// goes away.
    pub async fn append(&self, records: Vec<Record>) -> Result<Receipt, IngestError> {
        if records.is_empty() {
            return Err(IngestError::EmptyBody);
        }
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(IngestError::ShuttingDown);
        }
        let bytes: u64 = records.iter().map(Record::size).sum();
        if let Err(e) = self.shared.admit(bytes) {
            self.shared
                .metrics
                .throttled_records
                .inc_by(records.len() as u64);
            return Err(e);
        }
        let count = records.len() as u64;
        // `Record::size` is its encoded size.
        let mut batch = WalBatch::with_capacity(records.len(), bytes as usize);
        for r in &records {
            batch.push(|buf| encode_record(r, buf));
        }
        let shared = self.shared.clone();
        let on_written = Box::new(move |result: Result<(u64, u64), &WalError>| match result {
            Ok((first, _)) => shared.buffer_records(first, records),
            Err(_) => shared.release(bytes),
        });
        let (first, last) = self
            .shared
            .wal
            .append(batch, on_written)
            .await
            .map_err(|source| IngestError::Wal {
                stream: self.shared.name.clone(),
                source,
            })?;
        self.shared.metrics.incoming_records.inc_by(count);
        self.shared.metrics.incoming_bytes.inc_by(bytes);
        Ok(Receipt { first, last })
    }

    /// Counts records refused as bad input.
    pub fn count_rejected(&self, n: usize) {
        self.shared.metrics.rejected_records.inc_by(n as u64);
    }

    /// Counts records refused because the stream is throttled.
    pub fn count_throttled(&self, n: usize) {
        self.shared.metrics.throttled_records.inc_by(n as u64);
    }

    /// Refreshes the gauges (buffered bytes, log size, data freshness) before a scrape.
    pub fn observe(&self, now_ms: i64) {
        let m = &self.shared.metrics;
        m.buffered_bytes.set(self.shared.buffered_bytes() as i64);
        m.wal_bytes.set(self.shared.wal.size_bytes() as i64);
        let buffered = self.shared.buffer_oldest_arrival();
        for (oldest, dm) in &self.observed {
            let working = match oldest.load(Ordering::Relaxed) {
                0 => None,
                t => Some(t),
            };
            let age = match (working, buffered) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
            .map_or(0.0, |t| ((now_ms - t).max(0) as f64) / 1000.0);
            dm.freshness.set(age);
        }
    }

    /// Waits until every record up to `position` is searchable in the embedded index (or
    /// delivered, for a stream without one), or `timeout` passes. Returns whether it is.
    pub async fn wait_searchable(&self, position: u64, timeout: Duration) -> bool {
        if *self.shared.searchable.borrow() < position {
            self.shared.flush_soon();
        }
        let mut rx = self.shared.searchable.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Bytes accepted and not yet delivered everywhere.
    pub fn buffered_bytes(&self) -> u64 {
        self.shared.buffered_bytes()
    }

    /// Makes every record accepted so far searchable (Elasticsearch's `_refresh`): the buffer
    /// is flushed now and the index commits; true once it has, false after `timeout`.
    pub async fn refresh(&self, timeout: Duration) -> bool {
        let last = self.shared.appended.load(Ordering::Acquire);
        self.shared.commit_wanted.fetch_max(last, Ordering::AcqRel);
        if let Some(control) = &self.index_control {
            // Wakes the index thread if it waits for its refresh interval with all it needs.
            let _ = control.send(IndexControl::Commit);
        }
        self.wait_searchable(last, timeout).await
    }

    /// Highest position delivered to every destination.
    pub fn delivered(&self) -> u64 {
        *self.shared.delivered.borrow()
    }

    /// Stops accepting, flushes the buffer, waits for destinations to finish, closes the log.
    pub async fn shutdown(&self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.wake_flusher.notify_one();
        let flusher = self.flusher.lock().take();
        if let Some(f) = flusher {
            let _ = f.await;
        }
        // Dropping the senders tells each destination to finish what it has; one that is
        // retrying stops now, and its records stay in the write-ahead log for the next start.
        self.links.lock().clear();
        self.cancel.cancel();
        let runners = std::mem::take(&mut *self.runners.lock());
        for t in runners.tasks {
            let _ = t.await;
        }
        for w in runners.threads {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        self.shared.wal.close().await;
    }

    /// Whether the stream's index thread owns its indices (they are deleted through it).
    pub fn has_index(&self) -> bool {
        self.index_control.is_some()
    }

    /// Deletes indices of this stream through the thread that owns their writers.
    pub async fn delete_indices(&self, names: Vec<String>) -> Result<(), IngestError> {
        let stopped = || IngestError::Delete {
            stream: self.shared.name.clone(),
            reason: "the index thread stopped".to_string(),
        };
        let control = self.index_control.as_ref().ok_or_else(stopped)?;
        let (reply, rx) = tokio::sync::oneshot::channel();
        control
            .send(IndexControl::Delete { names, reply })
            .map_err(|_| stopped())?;
        rx.await
            .map_err(|_| stopped())?
            .map_err(|reason| IngestError::Delete {
                stream: self.shared.name.clone(),
                reason,
            })
    }
}

async fn flusher(stream: Arc<Stream>) {
    let shared = stream.shared.clone();
    loop {
        let closing = shared.closing.load(Ordering::Acquire);
        let forced = shared.force_flush.swap(false, Ordering::AcqRel);
        if let Some(batch) = shared.take_due(closing || forced) {
            dispatch(&stream, batch);
            continue;
        }
        if closing {
            return;
        }
        match shared.next_deadline() {
            Some(deadline) => {
                tokio::select! {
                    _ = shared.wake_flusher.notified() => {}
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
            None => shared.wake_flusher.notified().await,
        }
    }
}

fn dispatch(stream: &Stream, batch: Batch) {
    let shared = &stream.shared;
    shared.in_flight.lock().push_back((batch.last, batch.bytes));
    shared.dispatched.fetch_max(batch.last, Ordering::AcqRel);
    let batch = Arc::new(batch);
    for link in stream.links.lock().iter() {
        if link.tx.send(batch.clone()).is_err() {
            tracing::error!(stream = %shared.name, destination = link.kind.name(), "a destination stopped; its records stay in the write-ahead log");
        }
    }
    shared.progress();
}

#[cfg(test)]
mod tests;
