//! The ingest room's errors, and how each maps to HTTP statuses and client error shapes.

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
    /// An earlier write or fsync failed; no more appends are accepted.
    #[error("write-ahead log stopped after a failed write: {0}")]
    Poisoned(String),
    /// The log has been closed.
    #[error("write-ahead log is closed")]
    Closed,
}

impl WalError {
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
    /// The process is shutting down.
    #[error("hydrant is shutting down")]
    ShuttingDown,
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
}

impl IngestError {
    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            IngestError::StreamNotFound(_) => StatusCode::NOT_FOUND,
            IngestError::InvalidStreamName { .. }
            | IngestError::BadGzip(_)
            | IngestError::EmptyBody
            | IngestError::BodyRead(_) => StatusCode::BAD_REQUEST,
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
            IngestError::Wal { .. } | IngestError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Index(hydrant_index::IndexError::IndexNotFound(_)) => {
                StatusCode::NOT_FOUND
            }
            IngestError::DestructiveRequiresName(_) | IngestError::DeleteAlias(_) => {
                StatusCode::BAD_REQUEST
            }
            IngestError::Index(_)
            | IngestError::Storage(_)
            | IngestError::Delete { .. }
            | IngestError::Elasticsearch { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Elasticsearch's error `type` for this error.
    pub fn es_type(&self) -> &'static str {
        match self {
            IngestError::StreamNotFound(_) => "index_not_found_exception",
            IngestError::InvalidStreamName { .. } => "invalid_index_name_exception",
            IngestError::BodyTooLarge { .. } | IngestError::DecompressedTooLarge { .. } => {
                "content_too_long_exception"
            }
            IngestError::BadGzip(_) | IngestError::BodyRead(_) | IngestError::EmptyBody => {
                "parse_exception"
            }
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedContentType { .. } => {
                "media_type_header_exception"
            }
            IngestError::Throttled { .. } => "es_rejected_execution_exception",
            IngestError::AccessDenied { .. } => "security_exception",
            IngestError::Wal { .. } | IngestError::ShuttingDown => "unavailable_exception",
            IngestError::Index(hydrant_index::IndexError::IndexNotFound(_)) => {
                "index_not_found_exception"
            }
            IngestError::DestructiveRequiresName(_) | IngestError::DeleteAlias(_) => {
                "illegal_argument_exception"
            }
            IngestError::Index(_)
            | IngestError::Storage(_)
            | IngestError::Delete { .. }
            | IngestError::Elasticsearch { .. } => "exception",
        }
    }
}
