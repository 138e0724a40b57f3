//! The UI room's errors, each with its HTTP status and Elasticsearch error type.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a UI request failed.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    /// No page file or dashboard by that name.
    #[error("no {what} [{id}]")]
    NotFound {
        /// `dashboard` or `file`.
        what: &'static str,
        /// The name asked for.
        id: String,
    },
    /// A dashboard id outside `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid dashboard id [{0}]: use 1 to 64 letters, digits, `-` or `_`")]
    InvalidId(String),
    /// A built-in dashboard cannot be changed or deleted.
    #[error("dashboard [{0}] is built in and cannot be changed; save a copy under another id")]
    BuiltIn(String),
    /// The body is not a dashboard.
    #[error("invalid dashboard: {0}")]
    InvalidBody(String),
    /// The body is larger than a dashboard may be.
    #[error("a dashboard may be at most {limit} bytes, got {size}")]
    TooLarge {
        /// The limit.
        limit: usize,
        /// The size received.
        size: usize,
    },
    /// The dashboards directory could not be read or written.
    #[error("dashboard store `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl UiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            UiError::NotFound { .. } => StatusCode::NOT_FOUND,
            UiError::InvalidId(_) | UiError::BuiltIn(_) | UiError::InvalidBody(_) => {
                StatusCode::BAD_REQUEST
            }
            UiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UiError::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Elasticsearch's error type.
    pub fn es_type(&self) -> &'static str {
        match self {
            UiError::NotFound { .. } => "resource_not_found_exception",
            UiError::InvalidId(_) | UiError::BuiltIn(_) => "illegal_argument_exception",
            UiError::InvalidBody(_) => "parse_exception",
            UiError::TooLarge { .. } => "content_too_long_exception",
            UiError::Io { .. } => "exception",
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if matches!(self, UiError::Io { .. }) {
            tracing::error!(error = %self, "dashboard store failed");
        }
        hydrant_http::es_error(self.status(), self.es_type(), &self.to_string())
    }
}
