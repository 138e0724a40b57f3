//! The security room's errors, each with its HTTP status and Elasticsearch error type.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a request was refused, or why the key store failed.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// No credentials on a request that needs them.
    #[error("missing authentication credentials for REST request [{path}]")]
    Missing {
        /// The request path.
        path: String,
    },
    /// Credentials that do not match a user or a valid API key.
    #[error("unable to authenticate {who} for REST request [{path}]")]
    Failed {
        /// `user [alice]` or `API key id [abc]`, never a secret.
        who: String,
        /// The request path.
        path: String,
    },
    /// An `Authorization` header this server does not read.
    #[error("unsupported authorization scheme [{0}]: use Basic or ApiKey")]
    Scheme(String),
    /// The principal lacks the role the request needs.
    #[error(
        "action [{action}] is unauthorized for {who} with roles [{roles}], this action needs role [{needs}]"
    )]
    Forbidden {
        /// What the request does (`write`, `read`, `admin`).
        action: &'static str,
        /// `user [alice]`.
        who: String,
        /// The roles held.
        roles: String,
        /// The role needed.
        needs: &'static str,
    },
    /// Too many failed sign-ins from this client lately.
    #[error(
        "too many failed authentication attempts from this client; retry after {retry_after} s"
    )]
    Throttled {
        /// Seconds before the client may try again.
        retry_after: u64,
    },
    /// A request to the API key endpoints that is not acceptable.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is not the JSON expected.
    #[error("{0}")]
    Parse(String),
    /// The key store could not be read or written.
    #[error("API key store `{path}`: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The key store file is damaged.
    #[error("API key store `{path}` is damaged: {reason}")]
    Damaged {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
    /// A password could not be hashed.
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

impl SecurityError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            SecurityError::Missing { .. }
            | SecurityError::Failed { .. }
            | SecurityError::Scheme(_) => StatusCode::UNAUTHORIZED,
            SecurityError::Forbidden { .. } => StatusCode::FORBIDDEN,
            SecurityError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            SecurityError::BadRequest(_) | SecurityError::Parse(_) => StatusCode::BAD_REQUEST,
            SecurityError::Io { .. } | SecurityError::Damaged { .. } | SecurityError::Hash(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// Elasticsearch's error type.
    pub fn es_type(&self) -> &'static str {
        match self {
            SecurityError::Missing { .. }
            | SecurityError::Failed { .. }
            | SecurityError::Scheme(_)
            | SecurityError::Forbidden { .. }
            | SecurityError::Throttled { .. } => "security_exception",
            SecurityError::BadRequest(_) => "illegal_argument_exception",
            SecurityError::Parse(_) => "parse_exception",
            SecurityError::Io { .. } | SecurityError::Damaged { .. } | SecurityError::Hash(_) => {
                "exception"
            }
        }
    }
}

impl IntoResponse for SecurityError {
    fn into_response(self) -> Response {
        let mut response = hydrant_http::es_error(self.status(), self.es_type(), &self.to_string());
        let h = response.headers_mut();
        match &self {
            SecurityError::Missing { .. }
            | SecurityError::Failed { .. }
            | SecurityError::Scheme(_) => {
                // One challenge per header, as Elasticsearch sends them: Chromium drops a
                // `Basic` challenge that shares its header with another scheme and never asks
                // for the password.
                h.append(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static(
                        "Basic realm=\"hydrant\", charset=\"UTF-8\"",
                    ),
                );
                h.append(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("ApiKey"),
                );
            }
            SecurityError::Throttled { retry_after } => {
                if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.to_string()) {
                    h.insert(axum::http::header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}
