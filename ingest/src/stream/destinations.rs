//! A stream's destinations as the stream sees them: each one's queue of flushed batches and
//! the watermark it reports its deliveries on.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::mpsc;

use super::{Batch, StreamShared, Watermark};
use crate::metrics::DestinationMetrics;

/// The kinds of destination a stream delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DestinationKind {
    /// The embedded tantivy index.
    Index,
    /// The object-storage backup of every record.
    Backup,
    /// An Elasticsearch/OpenSearch cluster.
    Elasticsearch,
}

impl DestinationKind {
    /// Name in metrics, logs and error-output keys.
    pub(crate) fn name(self) -> &'static str {
        match self {
            DestinationKind::Index => crate::destination::INDEX,
            DestinationKind::Backup => crate::destination::BACKUP,
            DestinationKind::Elasticsearch => crate::destination::ELASTICSEARCH,
        }
    }
}

/// One destination as the stream sees it: where batches go and how far it has got.
///
/// The queue is unbounded on purpose: a slow or failing destination must not stall the others,
/// and the records it holds are in memory anyway until every destination has them. Memory is
/// bounded by admission instead (`max_buffered_size`), which answers 429 past it.
pub(crate) struct DestinationLink {
    pub(crate) kind: DestinationKind,
    pub(crate) tx: mpsc::UnboundedSender<Arc<Batch>>,
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

/// The two ends of one destination's queue: the stream's link and the destination's port.
/// `delivered` is the watermark the stream was built with for this destination.
pub(crate) fn destination_channel(
    kind: DestinationKind,
    stream: &Arc<StreamShared>,
    delivered: Watermark,
    metrics: DestinationMetrics,
) -> (DestinationLink, DestinationPort) {
    let (tx, rx) = mpsc::unbounded_channel();
    let oldest = Arc::new(AtomicI64::new(0));
    (
        DestinationLink {
            kind,
            tx,
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
