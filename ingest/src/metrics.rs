//! Ingest metrics in Prometheus text format, named after Firehose's CloudWatch metrics
//! (`IncomingRecords` → `hydrant_incoming_records_total`, `DeliveryToElasticsearch.Records` →
//! `hydrant_delivery_records_total{destination="…"}`, …).
//!
//! Handles are resolved once per stream and destination, so the hot path only bumps atomics.

use std::sync::atomic::AtomicU64;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabel {
    stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiLabel {
    stream: String,
    api: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DestLabel {
    stream: String,
    destination: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IndexLabel {
    index: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// Every ingest metric of the process.
pub struct Metrics {
    registry: Mutex<Registry>,
    incoming_records: Family<StreamLabel, Counter>,
    incoming_bytes: Family<StreamLabel, Counter>,
    incoming_requests: Family<ApiLabel, Counter>,
    rejected_records: Family<StreamLabel, Counter>,
    throttled_records: Family<StreamLabel, Counter>,
    delivery_records: Family<DestLabel, Counter>,
    delivery_bytes: Family<DestLabel, Counter>,
    delivery_success: Family<DestLabel, Counter>,
    delivery_failed: Family<DestLabel, Counter>,
    delivery_retries: Family<DestLabel, Counter>,
    delivery_freshness: Family<DestLabel, FloatGauge>,
    error_output_records: Family<DestLabel, Counter>,
    wal_bytes: Family<StreamLabel, Gauge>,
    buffered_bytes: Family<StreamLabel, Gauge>,
    indices_deleted: Family<StreamLabel, Counter>,
    damaged_indices: Family<IndexLabel, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A stream's handles.
#[derive(Clone, Debug)]
pub struct StreamMetrics {
    /// Records accepted (Firehose `IncomingRecords`).
    pub incoming_records: Counter,
    /// Bytes accepted (`IncomingBytes`).
    pub incoming_bytes: Counter,
    /// Records refused as bad input.
    pub rejected_records: Counter,
    /// Records refused with 429 (`ThrottledRecords`).
    pub throttled_records: Counter,
    /// Write-ahead log size on disk.
    pub wal_bytes: Gauge,
    /// Bytes accepted and not yet delivered everywhere.
    pub buffered_bytes: Gauge,
    /// Indices deleted (retention or request).
    pub indices_deleted: Counter,
}

/// A destination's handles.
#[derive(Clone, Debug)]
pub struct DestinationMetrics {
    /// Records delivered (`DeliveryTo….Records`).
    pub records: Counter,
    /// Bytes delivered (`DeliveryTo….Bytes`).
    pub bytes: Counter,
    /// Batches delivered in full (`DeliveryTo….Success`).
    pub success: Counter,
    /// Batches with records that went to the error output.
    pub failed: Counter,
    /// Retried attempts.
    pub retries: Counter,
    /// Age in seconds of the oldest record not yet delivered (`DeliveryTo….DataFreshness`).
    pub freshness: FloatGauge,
    /// Records written to the error output.
    pub error_output_records: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("hydrant");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            incoming_records: Family::default(),
            incoming_bytes: Family::default(),
            incoming_requests: Family::default(),
            rejected_records: Family::default(),
            throttled_records: Family::default(),
            delivery_records: Family::default(),
            delivery_bytes: Family::default(),
            delivery_success: Family::default(),
            delivery_failed: Family::default(),
            delivery_retries: Family::default(),
            delivery_freshness: Family::default(),
            error_output_records: Family::default(),
            wal_bytes: Family::default(),
            buffered_bytes: Family::default(),
            indices_deleted: Family::default(),
            damaged_indices: Family::default(),
        };
        r.register(
            "incoming_records",
            "Records accepted (Firehose IncomingRecords)",
            m.incoming_records.clone(),
        );
        r.register(
            "incoming_bytes",
            "Bytes accepted (Firehose IncomingBytes)",
            m.incoming_bytes.clone(),
        );
        r.register(
            "incoming_put_requests",
            "Write requests by API (Firehose IncomingPutRequests)",
            m.incoming_requests.clone(),
        );
        r.register(
            "rejected_records",
            "Records refused as bad input",
            m.rejected_records.clone(),
        );
        r.register(
            "throttled_records",
            "Records refused with 429 (Firehose ThrottledRecords)",
            m.throttled_records.clone(),
        );
        r.register(
            "delivery_records",
            "Records delivered (Firehose DeliveryTo*.Records)",
            m.delivery_records.clone(),
        );
        r.register(
            "delivery_bytes",
            "Bytes delivered (Firehose DeliveryTo*.Bytes)",
            m.delivery_bytes.clone(),
        );
        r.register(
            "delivery_success",
            "Batches delivered in full (Firehose DeliveryTo*.Success)",
            m.delivery_success.clone(),
        );
        r.register(
            "delivery_failed",
            "Batches with records sent to the error output",
            m.delivery_failed.clone(),
        );
        r.register(
            "delivery_retries",
            "Delivery attempts retried",
            m.delivery_retries.clone(),
        );
        r.register(
            "delivery_data_freshness_seconds",
            "Age of the oldest record not yet delivered (Firehose DeliveryTo*.DataFreshness)",
            m.delivery_freshness.clone(),
        );
        r.register(
            "error_output_records",
            "Records written to the error output in object storage",
            m.error_output_records.clone(),
        );
        r.register(
            "wal_bytes",
            "Write-ahead log size on disk",
            m.wal_bytes.clone(),
        );
        r.register(
            "buffered_bytes",
            "Bytes accepted and not yet delivered everywhere",
            m.buffered_bytes.clone(),
        );
        r.register(
            "indices_deleted",
            "Indices deleted whole, by retention or on request",
            m.indices_deleted.clone(),
        );
        r.register(
            "damaged_indices",
            "Indices that could not be opened (1 per damaged index; delete it to recover)",
            m.damaged_indices.clone(),
        );
        *m.registry.lock() = r;
        m
    }

    /// Sets the damaged-indices gauge to exactly `names`.
    pub fn observe_damaged(&self, names: impl Iterator<Item = String>) {
        self.damaged_indices.clear();
        for index in names {
            self.damaged_indices
                .get_or_create(&IndexLabel { index })
                .set(1);
        }
    }

    /// Handles for `stream`.
    pub fn stream(&self, stream: &str) -> StreamMetrics {
        let l = StreamLabel {
            stream: stream.to_string(),
        };
        StreamMetrics {
            incoming_records: self.incoming_records.get_or_create(&l).clone(),
            incoming_bytes: self.incoming_bytes.get_or_create(&l).clone(),
            rejected_records: self.rejected_records.get_or_create(&l).clone(),
            throttled_records: self.throttled_records.get_or_create(&l).clone(),
            wal_bytes: self.wal_bytes.get_or_create(&l).clone(),
            buffered_bytes: self.buffered_bytes.get_or_create(&l).clone(),
            indices_deleted: self.indices_deleted.get_or_create(&l).clone(),
        }
    }

    /// Handles for `destination` of `stream`.
    pub fn destination(&self, stream: &str, destination: &str) -> DestinationMetrics {
        let l = DestLabel {
            stream: stream.to_string(),
            destination: destination.to_string(),
        };
        DestinationMetrics {
            records: self.delivery_records.get_or_create(&l).clone(),
            bytes: self.delivery_bytes.get_or_create(&l).clone(),
            success: self.delivery_success.get_or_create(&l).clone(),
            failed: self.delivery_failed.get_or_create(&l).clone(),
            retries: self.delivery_retries.get_or_create(&l).clone(),
            freshness: self.delivery_freshness.get_or_create(&l).clone(),
            error_output_records: self.error_output_records.get_or_create(&l).clone(),
        }
    }

    /// Counts one write request of `api` (`ndjson`, `bulk`, `firehose`) to `stream`.
    pub fn request(&self, stream: &str, api: &str) {
        self.incoming_requests
            .get_or_create(&ApiLabel {
                stream: stream.to_string(),
                api: api.to_string(),
            })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock();
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
