//! The one accept path: raw bytes, framed by a receiver, become an accepted [`Record`] — or a
//! [`RecordError`] that costs only that record.
//!
//! Receivers only frame their input (NDJSON lines, `_bulk` action/source pairs, Firehose
//! `Records[].Data`) and shape their answers; every check of a record's content happens here,
//! in one pass over its bytes ([`DocMapper::scan`]): size, UTF-8, one JSON object nested within
//! the parser's limit, the event time, and the stream's mapping. Nothing is built: the indexer
//! parses the record once more when it indexes it, which is the only other pass.
//!
//! **Firehose's data is opaque.** Firehose accepts any bytes in `Data` and only finds out at
//! delivery whether the destination takes them. Hydrant does the same for its Firehose API
//! ([`Acceptor::opaque`]): a record that is not a JSON object, or does not fit the mapping, is
//! still acknowledged, and at delivery lands in the error output with the reason — unlike
//! NDJSON and `_bulk`, whose clients expect such a record to be refused in the answer, as
//! Elasticsearch refuses it. Size is the one thing Firehose checks up front.

use std::sync::Arc;

use bytes::Bytes;
use hydrant_index::{DocMapper, MappingError};

use crate::processing::Chain;
use crate::record::{Record, new_id};

/// The dynamic mapping: what any record must be before a pipeline reads it (one JSON object,
/// within the parser's limits).
static DYNAMIC: std::sync::LazyLock<DocMapper> = std::sync::LazyLock::new(DocMapper::new);

/// An `_id` Elasticsearch accepts: not empty, at most [`MAX_ID_BYTES`].
pub fn check_id(id: &str) -> Result<(), RecordError> {
    match id {
        "" => Err(RecordError::EmptyId),
        id if id.len() > MAX_ID_BYTES => Err(RecordError::IdTooLong {
            head: id.chars().take(32).collect(),
            len: id.len(),
        }),
        _ => Ok(()),
    }
}

/// Longest `_id` Elasticsearch accepts, in bytes.
pub const MAX_ID_BYTES: usize = 512;

/// Bodies from this size on are framed and accepted on the blocking pool: a 100 MiB body
/// takes a core for a good fraction of a second, which would stall every connection served by
/// that runtime thread. Smaller ones are quicker done inline than handed over.
pub const BLOCKING_BODY_BYTES: usize = 256 * 1024;

/// Runs `work` on the blocking pool when it handles `bytes` of input or more, inline
/// otherwise.
pub async fn off_runtime<T: Send + 'static>(
    bytes: usize,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::IngestError> {
    if bytes < BLOCKING_BODY_BYTES {
        return Ok(work());
    }
    match tokio::task::spawn_blocking(work).await {
        Ok(v) => Ok(v),
        // A panic is a bug: let it reach the handler's panic layer as it would inline.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Cancelled: only when the runtime shuts down.
        Err(_) => Err(crate::IngestError::ShuttingDown),
    }
}

/// Why one record was refused. Each receiver shapes it with one function:
/// [`line_error`](Self::line_error) for NDJSON, [`bulk_item`](Self::bulk_item) for `_bulk`,
/// [`firehose`](Self::firehose) for the Firehose API.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    /// The record is larger than `ingest.max_record_size` (or Firehose's record limit).
    #[error("record is {size} bytes, the limit is {limit}")]
    TooLarge {
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The content does not make a document: not UTF-8, not JSON, not an object, or not what
    /// the mapping takes.
    #[error("{0}")]
    Content(MappingError),
    /// A `_bulk` action names no index and the URL gives none.
    #[error("Validation Failed: 1: index is missing;")]
    MissingIndex,
    /// A `_bulk` action has no source line after it.
    #[error("Validation Failed: 1: source is missing;")]
    MissingSource,
    /// A `_bulk` `_id` that is empty.
    #[error("Validation Failed: 1: if _id is specified it must not be empty;")]
    EmptyId,
    /// A `_bulk` `_id` longer than [`MAX_ID_BYTES`].
    #[error(
        "Validation Failed: 1: id [{head}...] is too long, must be no longer than 512 bytes but was: {len};"
    )]
    IdTooLong {
        /// Its first characters.
        head: String,
        /// Its length in bytes.
        len: usize,
    },
    /// A `_bulk` action line that cannot be read.
    #[error("{reason} (line {line})")]
    MalformedAction {
        /// The line number in the body.
        line: usize,
        /// Elasticsearch's error type for it.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// An `update` or `delete` item without an `_id`.
    #[error("Validation Failed: 1: id is missing;")]
    MissingId,
    /// A Firehose `Data` that is not base64.
    #[error("Data is not valid base64: {0}")]
    BadBase64(String),
    /// An ingest pipeline refused the record (a processor failed, with no `on_failure`).
    #[error("{0}")]
    Processing(Box<hydrant_pipeline::ProcessError>),
    /// The pipeline the request (or the stream) names does not exist.
    #[error("pipeline with id [{0}] does not exist")]
    PipelineMissing(String),
}

/// How NDJSON answers name a refused line's reason (stable codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineErrorKind {
    /// Not valid JSON.
    InvalidJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not valid UTF-8.
    NotUtf8,
    /// Longer than `ingest.max_record_size`.
    TooLarge,
    /// A value does not fit the stream's mapping.
    MapperParsingException,
    /// A field the stream's strict mapping does not list.
    StrictDynamicMappingException,
    /// An ingest pipeline refused the record.
    ProcessingFailed,
    /// The ingest pipeline named does not exist.
    PipelineMissing,
}

/// A refused item of a `_bulk` request, as Elasticsearch shapes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemError {
    /// HTTP status of the item.
    pub status: u16,
    /// ES error type.
    pub kind: &'static str,
    /// Why.
    pub reason: String,
}

impl RecordError {
    /// The NDJSON answer's code and reason for a refused line.
    pub fn line_error(&self) -> (LineErrorKind, String) {
        let kind = match self {
            RecordError::TooLarge { .. } => LineErrorKind::TooLarge,
            RecordError::Content(MappingError::NotUtf8 { .. }) => LineErrorKind::NotUtf8,
            RecordError::Content(MappingError::NotJson { .. }) => LineErrorKind::InvalidJson,
            RecordError::Content(MappingError::NotAnObject { .. }) => LineErrorKind::NotAnObject,
            RecordError::Content(MappingError::Strict { .. }) => {
                LineErrorKind::StrictDynamicMappingException
            }
            RecordError::Processing(_) => LineErrorKind::ProcessingFailed,
            RecordError::PipelineMissing(_) => LineErrorKind::PipelineMissing,
            _ => LineErrorKind::MapperParsingException,
        };
        (kind, self.to_string())
    }

    /// The `_bulk` item's status, ES error type and reason.
    pub fn bulk_item(&self) -> ItemError {
        let (status, kind) = match self {
            RecordError::TooLarge { .. } => (413, "document_too_large_exception"),
            RecordError::Content(e) => (400, e.es_type()),
            RecordError::MissingIndex
            | RecordError::MissingSource
            | RecordError::EmptyId
            | RecordError::IdTooLong { .. } => (400, "action_request_validation_exception"),
            RecordError::MalformedAction { kind, .. } => (400, *kind),
            RecordError::MissingId => (400, "action_request_validation_exception"),
            RecordError::BadBase64(_) => (400, "parse_exception"),
            // As OpenSearch answers: a processor's argument errors are 400, anything else it
            // throws (a `fail` processor's error) 500.
            RecordError::Processing(e) => match e.kind {
                "illegal_argument_exception" | "parse_exception" => (400, e.kind),
                other => (500, other),
            },
            RecordError::PipelineMissing(_) => (400, "illegal_argument_exception"),
        };
        ItemError {
            status,
            kind,
            reason: self.to_string(),
        }
    }

    /// Firehose's per-record `ErrorCode` and `ErrorMessage`.
    pub fn firehose(&self) -> (&'static str, String) {
        ("InvalidArgumentException", self.to_string())
    }
}

/// Turns framed bytes into records for one stream and one request.
#[derive(Clone)]
pub struct Acceptor {
    mapper: Arc<DocMapper>,
    max_record_size: u64,
    arrival_ms: i64,
    /// Records a pipeline changed keep the bytes they came as, for the backup.
    keep_source: bool,
}

impl Acceptor {
    /// An acceptor for records arriving now into a stream with `mapper`.
    pub fn new(mapper: Arc<DocMapper>, max_record_size: u64, arrival_ms: i64) -> Acceptor {
        Acceptor {
            mapper,
            max_record_size,
            arrival_ms,
            keep_source: false,
        }
    }

    /// The same acceptor, keeping the bytes a record came as when a pipeline changes it (for
    /// a stream that backs up every document: Firehose's source-record backup).
    pub fn keep_source(mut self, keep: bool) -> Acceptor {
        self.keep_source = keep;
        self
    }

    /// When the records arrived, epoch milliseconds.
    pub fn arrival_ms(&self) -> i64 {
        self.arrival_ms
    }

    fn size_ok(&self, len: usize, limit: u64) -> Result<(), RecordError> {
        if len as u64 > limit {
            return Err(RecordError::TooLarge {
                size: len as u64,
                limit,
            });
        }
        Ok(())
    }

    /// A JSON object record (NDJSON, `_bulk`), with the client's `_id` when it gave one.
    pub fn json(&self, data: Bytes, client_id: Option<&str>) -> Result<Record, RecordError> {
        self.size_ok(data.len(), self.max_record_size)?;
        let time = self.mapper.scan(&data).map_err(RecordError::Content)?;
        Ok(self.record(data, client_id, time, true))
    }

    /// [`json`](Self::json) through the ingest pipelines of `chain`: `None` when a pipeline
    /// dropped the record. The record as sent must be one JSON object within the parser's
    /// limits, and the processed one must fit the stream's mapping.
    pub fn json_with(
        &self,
        data: Bytes,
        client_id: Option<&str>,
        chain: &Chain,
    ) -> Result<Option<Record>, RecordError> {
        if chain.is_empty() {
            return self.json(data, client_id).map(Some);
        }
        self.size_ok(data.len(), self.max_record_size)?;
        DYNAMIC.scan(&data).map_err(RecordError::Content)?;
        let source: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&data)
            .map_err(|e| {
                RecordError::Content(MappingError::NotJson {
                    reason: e.to_string(),
                })
            })?;
        let raw = self.keep_source.then(|| data.clone());
        self.processed(source, client_id, chain, raw)
    }

    /// [`text`](Self::text) through the ingest pipelines of `chain`: the line is the
    /// document's `message`, as pipelines for raw logs expect.
    pub fn text_with(&self, line: &[u8], chain: &Chain) -> Result<Option<Record>, RecordError> {
        if chain.is_empty() {
            return self.text(line).map(Some);
        }
        self.size_ok(line.len(), self.max_record_size)?;
        let text = std::str::from_utf8(line).map_err(|e| {
            RecordError::Content(MappingError::NotUtf8 {
                at: e.valid_up_to(),
            })
        })?;
        let mut source = serde_json::Map::new();
        source.insert(
            "message".into(),
            serde_json::Value::String(text.to_string()),
        );
        let raw = self.keep_source.then(|| Bytes::copy_from_slice(line));
        self.processed(source, None, chain, raw)
    }

    /// A processed record; `raw` is what it came as, kept for the backup (see
    /// [`keep_source`](Self::keep_source); `Some(empty)`: another record carries it).
    pub(crate) fn processed(
        &self,
        source: serde_json::Map<String, serde_json::Value>,
        client_id: Option<&str>,
        chain: &Chain,
        raw: Option<Bytes>,
    ) -> Result<Option<Record>, RecordError> {
        let Some((source, id)) = chain.run(source, client_id)? else {
            return Ok(None);
        };
        if let Some(id) = &id {
            check_id(id)?;
        }
        // Checked in memory, then written once: the bytes are not parsed again here.
        let time = self
            .mapper
            .scan_value(&source)
            .map_err(RecordError::Content)?;
        // Sized for a typical log document: one allocation rather than a doubling series.
        let mut data = Vec::with_capacity(1024);
        serde_json::to_writer(&mut data, &source).map_err(|e| {
            RecordError::Content(MappingError::NotJson {
                reason: e.to_string(),
            })
        })?;
        self.size_ok(data.len(), self.max_record_size)?;
        let mut record = self.record(Bytes::from(data), id.as_deref(), time, true);
        record.source = raw.filter(|_| self.keep_source);
        Ok(Some(record))
    }

    /// A line of text, indexed as `{"message": "<line>"}`.
    pub fn text(&self, line: &[u8]) -> Result<Record, RecordError> {
        self.size_ok(line.len(), self.max_record_size)?;
        let text = std::str::from_utf8(line).map_err(|e| {
            RecordError::Content(MappingError::NotUtf8 {
                at: e.valid_up_to(),
            })
        })?;
        Ok(self.text_record(text))
    }

    /// Text that is UTF-8 already (Firehose records of a `record_format = "text"` stream,
    /// decoded leniently).
    pub fn text_record(&self, text: &str) -> Record {
        let data = serde_json::to_vec(&serde_json::json!({ "message": text }))
            .unwrap_or_else(|_| b"{}".to_vec());
        self.record(Bytes::from(data), None, None, true)
    }

    /// A Firehose record: opaque bytes, refused only past `limit`. JSON objects carry their
    /// event time; anything else is kept as it is and reaches the error output at delivery
    /// (see the module's documentation).
    pub fn opaque(&self, data: Bytes, limit: u64) -> Result<Record, RecordError> {
        self.size_ok(data.len(), limit)?;
        let (is_object, time) = match self.mapper.scan(&data) {
            Ok(time) => (true, time),
            Err(
                MappingError::NotAnObject { .. }
                | MappingError::NotJson { .. }
                | MappingError::NotUtf8 { .. },
            ) => (false, None),
            // An object the mapping refuses: still an object, refused by the indexer with the
            // mapping's reason; its event time as the dynamic mapping reads it.
            Err(_) => (true, DocMapper::new().scan(&data).ok().flatten()),
        };
        Ok(self.record(data, None, time, is_object))
    }

    fn record(
        &self,
        data: Bytes,
        client_id: Option<&str>,
        time: Option<i64>,
        is_object: bool,
    ) -> Record {
        let (id, client_id) = match client_id {
            Some(id) => (id.into(), true),
            None => (new_id(self.arrival_ms), false),
        };
        Record {
            id,
            client_id,
            arrival_ms: self.arrival_ms,
            timestamp_ms: time.unwrap_or(self.arrival_ms),
            is_object,
            data,
            source: None,
            delete: false,
        }
    }

    /// Whether records keep their source (see [`keep_source`](Self::keep_source)).
    pub(crate) fn keeps_source(&self) -> bool {
        self.keep_source
    }
}

#[cfg(test)]
mod tests;
