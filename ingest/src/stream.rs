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

use crate::error::{IngestError, WalError};
use crate::metrics::{DestinationMetrics, StreamMetrics};
use crate::record::{Record, encode_record};
use crate::wal::{Wal, WalBatch};

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
    fn new(at: u64) -> Watermark {
        Watermark(Arc::new(AtomicU64::new(at)))
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

/// One destination as the stream sees it: where batches go and how far it has got.
///
/// The queue is unbounded on purpose: a slow or failing destination must not stall the others,
/// and the records it holds are in memory anyway until every destination has them. Memory is
/// bounded by admission instead (`max_buffered_size`), which answers 429 past it.
pub(crate) struct DestinationLink {
    pub(crate) name: String,
    pub(crate) tx: mpsc::UnboundedSender<Arc<Batch>>,
    pub(crate) delivered: Watermark,
    /// Arrival time of the oldest record the destination is working on (0: none).
    pub(crate) oldest: Arc<AtomicI64>,
    pub(crate) metrics: DestinationMetrics,
}

/// What a destination task gets to receive batches and report progress.
pub(crate) struct DestinationPort {
    pub(crate) rx: mpsc::UnboundedReceiver<Arc<Batch>>,
    pub(crate) delivered: Watermark,
    pub(crate) oldest: Arc<AtomicI64>,
    pub(crate) stream: Arc<StreamShared>,
}

impl DestinationPort {
    /// Reports every record up to `position` durably delivered.
    pub(crate) fn delivered(&self, position: u64) {
        self.delivered.0.fetch_max(position, Ordering::AcqRel);
        self.stream.progress();
    }

    /// Notes the arrival time of the oldest record being delivered (for data freshness).
    pub(crate) fn set_oldest(&self, arrival_ms: Option<i64>) {
        self.oldest
            .store(arrival_ms.unwrap_or(0), Ordering::Relaxed);
    }
}

pub(crate) fn destination_channel(
    name: &str,
    stream: &Arc<StreamShared>,
    start: u64,
    metrics: DestinationMetrics,
) -> (DestinationLink, DestinationPort) {
    let (tx, rx) = mpsc::unbounded_channel();
    let delivered = Watermark::new(start);
    let oldest = Arc::new(AtomicI64::new(0));
    (
        DestinationLink {
            name: name.to_string(),
            tx,
            delivered: delivered.clone(),
            oldest: oldest.clone(),
            metrics,
        },
        DestinationPort {
            rx,
            delivered,
            oldest,
            stream: stream.clone(),
        },
    )
}

#[derive(Default)]
struct Buffer {
    entries: Vec<(u64, Record)>,
    bytes: u64,
    oldest: Option<Instant>,
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
    links: Mutex<Vec<(String, Watermark)>>,
    /// Position of the last record handed to destinations.
    dispatched: AtomicU64,
    /// Highest position delivered to every destination.
    delivered: watch::Sender<u64>,
    /// Highest position searchable in the embedded index.
    pub(crate) searchable: watch::Sender<u64>,
    wal: Mutex<Option<Arc<Wal>>>,
    closing: AtomicBool,
    /// Flush whatever is buffered now, whatever the hints say.
    force_flush: AtomicBool,
}

impl StreamShared {
    pub(crate) fn new(
        name: &str,
        config: StreamConfig,
        metrics: StreamMetrics,
        global_pending: Arc<AtomicU64>,
        global_limit: u64,
        start: u64,
    ) -> Arc<StreamShared> {
        Arc::new(StreamShared {
            name: name.to_string(),
            config,
            metrics,
            buffer: Mutex::new(Buffer::default()),
            wake_flusher: Notify::new(),
            in_flight: Mutex::new(VecDeque::new()),
            pending: AtomicU64::new(0),
            global_pending,
            global_limit,
            links: Mutex::new(Vec::new()),
            dispatched: AtomicU64::new(start),
            delivered: watch::channel(start).0,
            searchable: watch::channel(start).0,
            wal: Mutex::new(None),
            closing: AtomicBool::new(false),
            force_flush: AtomicBool::new(false),
        })
    }

    /// Puts records that are in the log into the buffer, in position order.
    pub(crate) fn buffer_records(&self, first: u64, records: Vec<Record>) {
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
        let (min, has_index) = {
            let links = self.links.lock();
            let min = links.iter().map(|(_, w)| w.get()).min();
            (
                min,
                links.iter().any(|(n, _)| n == crate::destination::INDEX),
            )
        };
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
            if !has_index {
                self.searchable.send_if_modified(|s| {
                    let advance = min > *s;
                    if advance {
                        *s = min;
                    }
                    advance
                });
            }
            if let Some(wal) = self.wal.lock().as_ref() {
                wal.truncate(min);
            }
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
    pub(crate) shared: Arc<StreamShared>,
    /// The stream's mapping, when it can refuse records (explicit fields or strict mode).
    mapper: Option<Arc<hydrant_index::DocMapper>>,
    wal: Arc<Wal>,
    links: Mutex<Vec<DestinationLink>>,
    /// What shutdown needs after the links are gone: each destination's freshness and metrics.
    observed: Vec<(Arc<AtomicI64>, DestinationMetrics)>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    pub(crate) workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) cancel: CancellationToken,
    /// Requests for the index thread (deleting indices).
    pub(crate) index_control:
        Mutex<Option<mpsc::UnboundedSender<crate::destination::index::IndexControl>>>,
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
    pub(crate) fn start(
        shared: Arc<StreamShared>,
        wal: Arc<Wal>,
        links: Vec<DestinationLink>,
        cancel: CancellationToken,
    ) -> Arc<Stream> {
        *shared.wal.lock() = Some(wal.clone());
        *shared.links.lock() = links
            .iter()
            .map(|l| (l.name.clone(), l.delivered.clone()))
            .collect();
        let observed = links
            .iter()
            .map(|l| (l.oldest.clone(), l.metrics.clone()))
            .collect();
        let mapper = Some(Arc::new(hydrant_index::DocMapper::with_mapping(
            &shared.config.index.mapping,
        )))
        .filter(|m| m.checks_records());
        let stream = Arc::new(Stream {
            shared,
            mapper,
            wal,
            links: Mutex::new(links),
            observed,
            flusher: Mutex::new(None),
            workers: Mutex::new(Vec::new()),
            tasks: Mutex::new(Vec::new()),
            cancel,
            index_control: Mutex::new(None),
        });
        let handle = tokio::spawn(flusher(stream.clone()));
        *stream.flusher.lock() = Some(handle);
        stream.shared.progress();
        stream
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The stream's settings.
    pub fn config(&self) -> &StreamConfig {
        &self.shared.config
    }

    /// The stream's mapping, when records must be checked against it before they are taken.
    pub fn mapper(&self) -> Option<&hydrant_index::DocMapper> {
        self.mapper.as_deref()
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
        let mut batch = WalBatch::new();
        for r in &records {
            batch.push(|buf| encode_record(r, buf));
        }
        let shared = self.shared.clone();
        let on_written = Box::new(move |result: Result<(u64, u64), &WalError>| match result {
            Ok((first, _)) => shared.buffer_records(first, records),
            Err(_) => shared.release(bytes),
        });
        let (first, last) =
            self.wal
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
        m.wal_bytes.set(self.wal.size_bytes() as i64);
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
        let tasks: Vec<_> = self.tasks.lock().drain(..).collect();
        for t in tasks {
            let _ = t.await;
        }
        let workers: Vec<_> = self.workers.lock().drain(..).collect();
        for w in workers {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        self.wal.close().await;
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
            tracing::error!(stream = %shared.name, destination = %link.name, "a destination stopped; its records stay in the write-ahead log");
        }
    }
    shared.progress();
}
