//! The query room's errors, shaped as Elasticsearch shapes them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every way a search request can fail. The ES `type` and HTTP status come from
/// [`QueryError::es_type`] and [`QueryError::status`].
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A target names no index or alias.
    #[error("no such index [{0}]")]
    IndexNotFound(String),
    /// The request body is not JSON, or not the JSON shape expected.
    #[error("{0}")]
    XContentParse(String),
    /// A query, aggregation or option is malformed.
    #[error("{0}")]
    Parsing(String),
    /// A value is not acceptable for an option.
    #[error("{0}")]
    IllegalArgument(String),
    /// Lucene query syntax that cannot be parsed.
    #[error("Failed to parse query [{query}]: {reason}")]
    QueryString {
        /// The query string.
        query: String,
        /// Why it cannot be parsed.
        reason: String,
    },
    /// A feature Hydrant does not implement (said, never answered wrongly).
    #[error("{what} is not supported")]
    Unsupported {
        /// What is not supported, as ES would name it.
        what: String,
    },
    /// The search ran past its `timeout`.
    #[error("search timed out after {0} ms")]
    Timeout(u64),
    /// The index failed while searching.
    #[error("search failed: {0}")]
    Search(String),
}

impl QueryError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            QueryError::IndexNotFound(_) => StatusCode::NOT_FOUND,
            QueryError::XContentParse(_)
            | QueryError::Parsing(_)
            | QueryError::IllegalArgument(_)
            | QueryError::QueryString { .. }
            | QueryError::Unsupported { .. } => StatusCode::BAD_REQUEST,
            QueryError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            QueryError::Search(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Elasticsearch's error `type`.
    pub fn es_type(&self) -> &'static str {
        match self {
            QueryError::IndexNotFound(_) => "index_not_found_exception",
            QueryError::XContentParse(_) => "x_content_parse_exception",
            QueryError::Parsing(_) => "parsing_exception",
            QueryError::IllegalArgument(_) | QueryError::Unsupported { .. } => {
                "illegal_argument_exception"
            }
            QueryError::QueryString { .. } => "query_shard_exception",
            QueryError::Timeout(_) => "search_timeout_exception",
            QueryError::Search(_) => "search_phase_execution_exception",
        }
    }

    /// The ES error body: `{"error":{"root_cause":[…],"type":…,"reason":…},"status":N}`.
    pub fn to_json(&self) -> serde_json::Value {
        let kind = self.es_type();
        let reason = self.to_string();
        let mut cause = json!({"type": kind, "reason": reason});
        if let QueryError::IndexNotFound(index) = self {
            cause["index"] = json!(index);
            cause["resource.type"] = json!("index_or_alias");
            cause["resource.id"] = json!(index);
        }
        let mut error = cause.clone();
        error["root_cause"] = json!([cause]);
        json!({"error": error, "status": self.status().as_u16()})
    }
}

impl From<hydrant_index::IndexError> for QueryError {
    fn from(e: hydrant_index::IndexError) -> Self {
        match e {
            hydrant_index::IndexError::IndexNotFound(name) => QueryError::IndexNotFound(name),
            hydrant_index::IndexError::InvalidIndexName { name, reason } => {
                QueryError::IllegalArgument(format!("invalid index name [{name}], {reason}"))
            }
            other => QueryError::Search(other.to_string()),
        }
    }
}

impl From<tantivy::TantivyError> for QueryError {
    fn from(e: tantivy::TantivyError) -> Self {
        QueryError::Search(e.to_string())
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(self.to_json())).into_response()
    }
}
