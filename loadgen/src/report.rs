//! What a run did: counts, throughput, acknowledgement latency (HDR histogram), errors by kind,
//! and, with `--verify`, what became searchable.

use std::collections::BTreeMap;
use std::fmt;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Worst.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// Percentiles of a histogram of microseconds.
    pub fn from_histogram(h: &Histogram<u64>) -> Latency {
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// The `--verify` check: is every acknowledged record searchable, once?
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verify {
    /// Documents in the stream before the run.
    pub before: u64,
    /// Documents found after the run.
    pub after: u64,
    /// Acknowledged records not found.
    pub lost: u64,
    /// Documents found beyond every record that may have been accepted.
    pub duplicated: u64,
    /// Seconds from the last acknowledgement until the count settled.
    pub searchable_after_sec: f64,
}

/// The final report (also written as JSON with `--report-json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Protocol used.
    pub protocol: String,
    /// Log format.
    pub format: String,
    /// Requests sent.
    pub requests: u64,
    /// Records sent.
    pub records_sent: u64,
    /// Records acknowledged (2xx, durable).
    pub records_acked: u64,
    /// Records refused with an answer.
    pub records_failed: u64,
    /// Records whose fate is unknown (the request failed in transport).
    pub records_unknown: u64,
    /// Requests sent again with the records a server refused for now (429, Firehose's
    /// `ServiceUnavailableException`): the server's backpressure.
    pub retries: u64,
    /// Records in those requests.
    pub records_retried: u64,
    /// Bytes of records sent (before framing and compression).
    pub bytes_sent: u64,
    /// Bytes of records acknowledged.
    pub bytes_acked: u64,
    /// Bytes on the wire (after framing and compression).
    pub wire_bytes: u64,
    /// Seconds from the first request to the last answer.
    pub duration_sec: f64,
    /// Acknowledged records per second.
    pub records_per_sec: f64,
    /// Acknowledged megabytes (10^6 bytes) of records per second.
    pub mb_per_sec: f64,
    /// Acknowledgement latency per batch, in milliseconds, from its first attempt to its last
    /// answer (measured from the scheduled send time when a rate is set, so a slow server
    /// cannot hide its queueing).
    pub latency_ms: Latency,
    /// Refused records by kind (error type, HTTP status, transport).
    pub errors: BTreeMap<String, u64>,
    /// The `--verify` result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// Acknowledged records not searchable (with `--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<u64>,
    /// Duplicated records found (with `--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicated: Option<u64>,
    /// Acknowledged records per second from the first request until all were searchable
    /// (with `--verify`): the HTTP → searchable throughput.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub searchable_records_per_sec: Option<f64>,
    /// The same in megabytes per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub searchable_mb_per_sec: Option<f64>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "protocol {} · format {}", self.protocol, self.format)?;
        writeln!(
            f,
            "records  sent {:>12}  acked {:>12}  refused {:>10}  unknown {:>8}",
            self.records_sent, self.records_acked, self.records_failed, self.records_unknown
        )?;
        writeln!(
            f,
            "bytes    sent {:>12}  acked {:>12}  on the wire {:>10}",
            self.bytes_sent, self.bytes_acked, self.wire_bytes
        )?;
        writeln!(
            f,
            "rate     {:.0} records/s, {:.2} MB/s over {:.2} s ({} requests)",
            self.records_per_sec, self.mb_per_sec, self.duration_sec, self.requests
        )?;
        let l = &self.latency_ms;
        writeln!(
            f,
            "latency  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  (per batch)",
            l.p50, l.p90, l.p99, l.max
        )?;
        if self.retries > 0 {
            writeln!(
                f,
                "retries  {} requests with {} records refused for now (backpressure) were sent again",
                self.retries, self.records_retried
            )?;
        }
        if !self.errors.is_empty() {
            let list: Vec<String> = self
                .errors
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(f, "errors   {}", list.join(" "))?;
        }
        if let Some(v) = &self.verify {
            writeln!(
                f,
                "verify   searchable {} (before {}): lost {}, duplicated {}, settled {:.2} s after the last ack",
                v.after, v.before, v.lost, v.duplicated, v.searchable_after_sec
            )?;
        }
        if let (Some(r), Some(m)) = (self.searchable_records_per_sec, self.searchable_mb_per_sec) {
            writeln!(f, "to searchable  {r:.0} records/s, {m:.2} MB/s")?;
        }
        Ok(())
    }
}
