//! The error output: records a destination could not take, written to object storage as
//! Firehose failure records under `{error_prefix}{destination}-failed/YYYY/MM/DD/HH/`.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hydrant_config::Compression;
use object_store::ObjectStore;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::encode::{gzip, ndjson_bytes};
use crate::objects::{object_key, put_object};
use crate::record::Record;
use crate::retry::Backoff;

/// One record a destination gave up on, and why.
#[derive(Debug, Clone)]
pub struct Failed<'a> {
    /// The record.
    pub record: &'a Record,
    /// Attempts made.
    pub attempts: u32,
    /// Error code (an HTTP status, an ES error type, an S3 error).
    pub code: String,
    /// Error message.
    pub message: String,
    /// The index the record was meant for.
    pub index: String,
}

/// Firehose's failure record, one JSON line per failed record.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FailureRecord<'a> {
    attempts_made: u32,
    arrival_timestamp: i64,
    error_code: &'a str,
    error_message: &'a str,
    attempt_ending_timestamp: i64,
    raw_data: String,
    subsequence_number: u32,
    es_document_id: &'a str,
    es_index_name: &'a str,
}

/// Where a stream's failed records go.
pub struct ErrorOutput {
    store: Arc<dyn ObjectStore>,
    stream: String,
    prefix: String,
    compression: Compression,
}

impl std::fmt::Debug for ErrorOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorOutput")
            .field("stream", &self.stream)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl ErrorOutput {
    /// The error output of `stream`.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        stream: &str,
        prefix: &str,
        compression: Compression,
    ) -> ErrorOutput {
        ErrorOutput {
            store,
            stream: stream.to_string(),
            prefix: prefix.to_string(),
            compression,
        }
    }

    /// Writes `failed` for `destination`, retrying until it succeeds or `cancel` fires.
    /// Returns whether the records are in the error output: until they are, the caller must
    /// not report them delivered (they stay in the write-ahead log).
    pub async fn write(
        &self,
        destination: &str,
        failed: &[Failed<'_>],
        cancel: &CancellationToken,
    ) -> bool {
        if failed.is_empty() {
            return true;
        }
        let now = Utc::now();
        let compression = self.compression;
        // Failure records carry their record base64-encoded, then gzipped: a core's work for a
        // large batch, done on the blocking pool (the records are shared, not copied).
        let owned: Vec<Failure> = failed.iter().map(Failure::from).collect();
        let encoded = tokio::task::spawn_blocking(move || {
            let lines: Vec<Vec<u8>> = owned.iter().map(|f| failure_line(f, now)).collect();
            let raw = ndjson_bytes(lines.iter().map(|l| &l[..]));
            match compression {
                Compression::Gzip => (Bytes::from(gzip(&raw)), ".gz"),
                Compression::Uncompressed => (Bytes::from(raw), ""),
            }
        })
        .await;
        let Ok((bytes, ext)) = encoded else {
            // Only when the runtime is shutting down: the records stay in the log.
            return false;
        };
        let oldest = failed
            .iter()
            .map(|f| f.record.arrival_ms)
            .min()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or(now);
        let error_type = format!("{destination}-failed");
        let key = object_key(&self.prefix, &self.stream, oldest, &error_type, ext);
        let mut backoff = Backoff::forever();
        loop {
            let err = match put_object(&self.store, &key, bytes.clone()).await {
                Ok(()) => {
                    tracing::warn!(stream = %self.stream, destination, records = failed.len(), key = %key, "records written to the error output");
                    return true;
                }
                Err(e) => e,
            };
            let delay = backoff.next_delay().unwrap_or(crate::retry::CAP);
            tracing::error!(stream = %self.stream, destination, error = %err, retry_in = ?delay, "cannot write the error output; records stay in the write-ahead log");
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => return false,
            }
        }
    }
}

/// A [`Failed`] that owns its parts, to be encoded off the async threads.
struct Failure {
    record: Record,
    attempts: u32,
    code: String,
    message: String,
    index: String,
}

impl From<&Failed<'_>> for Failure {
    fn from(f: &Failed<'_>) -> Failure {
        Failure {
            record: f.record.clone(),
            attempts: f.attempts,
            code: f.code.clone(),
            message: f.message.clone(),
            index: f.index.clone(),
        }
    }
}

fn failure_line(f: &Failure, now: DateTime<Utc>) -> Vec<u8> {
    let rec = FailureRecord {
        attempts_made: f.attempts,
        arrival_timestamp: f.record.arrival_ms,
        error_code: &f.code,
        error_message: &f.message,
        attempt_ending_timestamp: now.timestamp_millis(),
        raw_data: base64::engine::general_purpose::STANDARD.encode(&f.record.data),
        subsequence_number: 0,
        es_document_id: &f.record.id,
        es_index_name: &f.index,
    };
    serde_json::to_vec(&rec).unwrap_or_default()
}
