//! The ingest room's errors, and how each maps to HTTP statuses and client error shapes.
//!
//! - [`IngestError`]: a request as a whole failed. Its status, Elasticsearch error type and
//!   Firehose error come from [`IngestError::status`], [`IngestError::es_type`] and
//!   [`IngestError::firehose`], the one place each mapping lives.
//! - [`crate::accept::RecordError`]: one record was refused; the request goes on.
//! - [`StartError`]: the pipeline or a stream could not start (configuration, storage, the log).
//! - [`WalError`], [`ElasticsearchError`] and [`crate::objects::StorageError`] say what failed
//!   inside those.

use std::path::PathBuf;

use axum::http::StatusCode;

/// Errors of the write-ahead log.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// A WAL file could not be read or written.
    #[error("write-ahead log `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A WAL segment is damaged somewhere other than a torn tail.
    #[error("write-ahead log `{path}` is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Offset of the first bad entry.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry's payload is not a record this version can read.
    #[error("write-ahead log record is unreadable: {0}")]
    BadRecord(String),
    /// An entry read back at start-up holds no readable record.
    #[error("write-ahead log `{dir}` has an unreadable record at position {position}: {reason}")]
    BadEntry {
        /// The stream's log directory.
        dir: PathBuf,
        /// The entry's position (its sequence number, not a byte offset).
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// The disk holding the log is full: nothing of the append was kept; retry once space
    /// is freed (the log goes on taking appends).
    // The path is for the log line, not for clients.
    #[error("write-ahead log is out of space ({reason}); retry once space is freed")]
    Full {
        /// The segment being written.
        path: PathBuf,
        /// The operating system's message.
        reason: String,
    },
    /// An earlier write or fsync failed; no more appends are accepted.
    #[error("write-ahead log stopped after a failed write: {0}")]
    Poisoned(String),
    /// The log has been closed.
    #[error("write-ahead log is closed")]
    Closed,
}

impl WalError {
    /// The same error again, for each append of a group that failed together (an I/O error
    /// cannot be cloned; its message is kept).
    pub(crate) fn duplicate(&self) -> WalError {
        match self {
            WalError::Full { path, reason } => WalError::Full {
                path: path.clone(),
                reason: reason.clone(),
            },
            WalError::Poisoned(reason) => WalError::Poisoned(reason.clone()),
            WalError::Closed => WalError::Closed,
            other => WalError::Poisoned(other.to_string()),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WalError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Errors setting up a stream's Elasticsearch destination (checked when the pipeline opens).
#[derive(Debug, thiserror::Error)]
pub enum ElasticsearchError {
    /// An endpoint is not a usable URL.
    #[error("elasticsearch endpoint `{endpoint}` is not usable: {reason}")]
    Endpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// SigV4 needs a region that the endpoint host does not name.
    #[error(
        "`elasticsearch.region` must be set for auth = \"sigv4\": the endpoint host `{host}` does not name a region"
    )]
    NoRegion {
        /// The endpoint host.
        host: String,
    },
    /// The CA file cannot be read.
    #[error("elasticsearch `ca_file` `{path}` cannot be read: {source}")]
    CaFileRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("elasticsearch `ca_file` `{path}` holds no usable PEM certificate: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The HTTP client cannot be built (TLS setup).
    #[error("elasticsearch HTTP client cannot be built: {reason}")]
    Client {
        /// Why.
        reason: String,
    },
}

/// Errors starting the pipeline or one of its streams.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The ingest pipelines (stored, or declared in the configuration) cannot be used.
    #[error("ingest pipelines: {0}")]
    Pipelines(hydrant_pipeline::PipelineError),
    /// Object storage could not be set up.
    #[error(transparent)]
    Storage(crate::objects::StorageError),
    /// A stream's Elasticsearch destination could not be set up.
    #[error("stream [{stream}]: {source}")]
    Elasticsearch {
        /// The stream (`*` for `[defaults]`).
        stream: String,
        /// Why.
        source: ElasticsearchError,
    },
    /// A stream's write-ahead log could not be opened or replayed.
    #[error("stream [{stream}]: {source}")]
    Wal {
        /// The stream.
        stream: String,
        /// Why.
        source: WalError,
    },
    /// The directory of the logs could not be read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A thread could not be started.
    #[error("cannot start the {what} thread: {source}")]
    Spawn {
        /// Which thread.
        what: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// A start-up task on the blocking pool failed (it panicked, or the runtime is stopping).
    #[error("{what} did not finish: {reason}")]
    Interrupted {
        /// What was running.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// How a request-level error looks to a Firehose client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirehoseFault {
    /// HTTP status.
    pub status: StatusCode,
    /// The `__type` clients switch on (`ResourceNotFoundException`, …).
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// Errors of an ingest request as a whole (per-record problems are reported per record).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The stream does not exist and streams are not created on first write.
    #[error("no such stream [{0}]")]
    StreamNotFound(String),
    /// The stream name is not allowed.
    #[error("invalid stream name [{name}]: {reason}")]
    InvalidStreamName {
        /// The name received.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// The request body is larger than `http.max_body_size`.
    #[error("request body is larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The gzip body inflates past `http.max_decompressed_size`.
    #[error("request body inflates past the limit of {limit} bytes")]
    DecompressedTooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body claims gzip but is not.
    #[error("request body is not valid gzip: {0}")]
    BadGzip(String),
    /// A `Content-Encoding` other than gzip or identity.
    #[error("content encoding [{0}] is not supported, use gzip or none")]
    UnsupportedEncoding(String),
    /// A `Content-Type` the endpoint does not read.
    #[error("content type [{content_type}] is not supported here, use {allowed}")]
    UnsupportedContentType {
        /// What was sent.
        content_type: String,
        /// What is accepted.
        allowed: &'static str,
    },
    /// The body could not be read from the connection.
    #[error("request body could not be read: {0}")]
    BodyRead(String),
    /// The request has no records at all.
    #[error("request body is empty")]
    EmptyBody,
    /// The request is well-formed but a parameter's value is not acceptable.
    #[error("{0}")]
    InvalidArgument(String),
    /// The request body is not the JSON shape the API expects.
    #[error("{0}")]
    Malformed(String),
    /// The API has no such operation (Firehose's `X-Amz-Target`).
    #[error("{0}")]
    UnknownOperation(String),
    /// Too much is buffered: the client should slow down and retry.
    #[error(
        "stream [{stream}] has {buffered} bytes waiting for delivery, the limit is {limit}: slow down"
    )]
    Throttled {
        /// The stream.
        stream: String,
        /// Bytes waiting.
        buffered: u64,
        /// The limit reached.
        limit: u64,
    },
    /// The write-ahead log cannot take records.
    #[error("stream [{stream}] cannot accept records: {source}")]
    Wal {
        /// The stream.
        stream: String,
        /// Why.
        source: WalError,
    },
    /// A stream written to for the first time could not be started.
    #[error("stream [{stream}] cannot be started: {source}")]
    StreamStart {
        /// The stream.
        stream: String,
        /// Why.
        source: Box<StartError>,
    },
    /// The process is shutting down.
    #[error("hydrant is shutting down")]
    ShuttingDown,
    /// Something the request needs (the error output) cannot take it now; retry.
    #[error("{0}")]
    Unavailable(String),
    /// The writer did not present a valid access key for the stream.
    #[error("{}", .denied.message(.stream))]
    AccessDenied {
        /// The stream.
        stream: String,
        /// Missing or wrong.
        denied: crate::auth::AccessDenied,
    },
    /// The index room failed.
    #[error(transparent)]
    Index(#[from] hydrant_index::IndexError),
    /// The search room refused or failed a query (`_delete_by_query`).
    #[error("{reason}")]
    Query {
        /// Its HTTP status.
        status: u16,
        /// Its Elasticsearch error type.
        es_type: &'static str,
        /// Its reason.
        reason: String,
    },
    /// Deleting indices failed.
    #[error("deleting indices of stream [{stream}] failed: {reason}")]
    Delete {
        /// The stream.
        stream: String,
        /// Why.
        reason: String,
    },
    /// A delete request names every index, which is refused unless configured.
    #[error(
        "Wildcard expressions or all indices are not allowed: [{0}]; set ingest.destructive_requires_name = false to allow it"
    )]
    DestructiveRequiresName(String),
    /// A delete request names a stream alias instead of indices.
    #[error(
        "The provided expression [{0}] matches an alias, specify the corresponding concrete indices instead."
    )]
    DeleteAlias(String),
}

impl IngestError {
    /// HTTP status of this error (Elasticsearch's and NDJSON's; see [`Self::firehose`]).
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::Index(e) if e.client_error().is_some() => e
                .client_error()
                .and_then(|(status, _)| StatusCode::from_u16(status).ok())
                .unwrap_or(StatusCode::BAD_REQUEST),
            IngestError::StreamNotFound(_) => StatusCode::NOT_FOUND,
            IngestError::Query { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            IngestError::InvalidStreamName { .. }
            | IngestError::BadGzip(_)
            | IngestError::EmptyBody
            | IngestError::BodyRead(_)
            | IngestError::InvalidArgument(_)
            | IngestError::Malformed(_)
            | IngestError::UnknownOperation(_)
            | IngestError::DestructiveRequiresName(_)
            | IngestError::DeleteAlias(_) => StatusCode::BAD_REQUEST,
            IngestError::BodyTooLarge { .. } | IngestError::DecompressedTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedContentType { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            IngestError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::AccessDenied { denied, .. } => match denied {
                crate::auth::AccessDenied::Missing => StatusCode::UNAUTHORIZED,
                crate::auth::AccessDenied::Wrong => StatusCode::FORBIDDEN,
            },
            IngestError::Wal { .. }
            | IngestError::StreamStart { .. }
            | IngestError::ShuttingDown
            | IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Index(_) | IngestError::Delete { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Elasticsearch's error `type` for this error.
    pub fn es_type(&self) -> &'static str {
        match self {
            IngestError::Index(e) if e.client_error().is_some() => {
                e.client_error().map_or("exception", |(_, kind)| kind)
            }
            IngestError::StreamNotFound(_) => "index_not_found_exception",
            IngestError::Query { es_type, .. } => es_type,
            IngestError::InvalidStreamName { .. } => "invalid_index_name_exception",
            IngestError::BodyTooLarge { .. } | IngestError::DecompressedTooLarge { .. } => {
                "content_too_long_exception"
            }
            IngestError::BadGzip(_)
            | IngestError::BodyRead(_)
            | IngestError::EmptyBody
            | IngestError::Malformed(_) => "parse_exception",
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedContentType { .. } => {
                "media_type_header_exception"
            }
            IngestError::InvalidArgument(_)
            | IngestError::UnknownOperation(_)
            | IngestError::DestructiveRequiresName(_)
            | IngestError::DeleteAlias(_) => "illegal_argument_exception",
            IngestError::Throttled { .. } => "es_rejected_execution_exception",
            IngestError::AccessDenied { .. } => "security_exception",
            IngestError::Wal { .. }
            | IngestError::StreamStart { .. }
            | IngestError::ShuttingDown
            | IngestError::Unavailable(_) => "unavailable_exception",
            IngestError::Index(_) | IngestError::Delete { .. } => "exception",
        }
    }

    /// The error as Firehose answers it: its status, `__type` and message.
    pub fn firehose(&self) -> FirehoseFault {
        let fault = |status, code| FirehoseFault {
            status,
            code,
            message: self.to_string(),
        };
        match self {
            IngestError::StreamNotFound(name) => FirehoseFault {
                status: StatusCode::BAD_REQUEST,
                code: "ResourceNotFoundException",
                message: format!(
                    "Firehose {name} under account {} not found.",
                    crate::firehose::ACCOUNT
                ),
            },
            IngestError::Throttled { .. } => FirehoseFault {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "ServiceUnavailableException",
                message: "Slow down.".to_string(),
            },
            IngestError::InvalidStreamName { .. }
            | IngestError::InvalidArgument(_)
            | IngestError::EmptyBody => fault(StatusCode::BAD_REQUEST, "InvalidArgumentException"),
            IngestError::BodyTooLarge { .. } | IngestError::DecompressedTooLarge { .. } => {
                fault(StatusCode::PAYLOAD_TOO_LARGE, "InvalidArgumentException")
            }
            IngestError::BadGzip(_) | IngestError::BodyRead(_) | IngestError::Malformed(_) => {
                fault(StatusCode::BAD_REQUEST, "SerializationException")
            }
            IngestError::UnknownOperation(_) => {
                fault(StatusCode::BAD_REQUEST, "UnknownOperationException")
            }
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedContentType { .. } => {
                fault(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "UnsupportedMediaTypeException",
                )
            }
            IngestError::AccessDenied { .. } => fault(self.status(), "AccessDeniedException"),
            IngestError::Wal { .. }
            | IngestError::StreamStart { .. }
            | IngestError::ShuttingDown
            | IngestError::Unavailable(_) => fault(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
            ),
            IngestError::Index(_)
            | IngestError::Query { .. }
            | IngestError::Delete { .. }
            | IngestError::DestructiveRequiresName(_)
            | IngestError::DeleteAlias(_) => fault(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalFailureException",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_429_for_elasticsearch_and_503_slow_down_for_firehose() {
        let e = IngestError::Throttled {
            stream: "web".into(),
            buffered: 10,
            limit: 5,
        };
        assert_eq!(e.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.es_type(), "es_rejected_execution_exception");
        let f = e.firehose();
        assert_eq!(
            (f.status, f.code, f.message.as_str()),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                "Slow down."
            )
        );
    }

    #[test]
    fn an_unknown_stream_is_404_for_elasticsearch_and_firehoses_resource_not_found() {
        let e = IngestError::StreamNotFound("web".into());
        assert_eq!(
            (e.status(), e.es_type()),
            (StatusCode::NOT_FOUND, "index_not_found_exception")
        );
        let f = e.firehose();
        assert_eq!(
            (f.status, f.code),
            (StatusCode::BAD_REQUEST, "ResourceNotFoundException")
        );
        assert!(
            f.message.contains("Firehose web under account"),
            "{}",
            f.message
        );
    }

    #[test]
    fn a_failing_log_or_stream_start_is_unavailable_never_internal() {
        let wal = IngestError::Wal {
            stream: "web".into(),
            source: WalError::Closed,
        };
        let start = IngestError::StreamStart {
            stream: "web".into(),
            source: Box::new(StartError::Spawn {
                what: "index",
                source: std::io::Error::other("no threads"),
            }),
        };
        for e in [wal, start, IngestError::ShuttingDown] {
            assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE, "{e}");
            assert_eq!(e.es_type(), "unavailable_exception");
            assert_eq!(e.firehose().code, "ServiceUnavailableException");
        }
    }
}
