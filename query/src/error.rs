//! The query room's errors, shaped as Elasticsearch shapes them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every way a search request can fail. The ES `type` and HTTP status come from
/// [`QueryError::es_type`] and [`QueryError::status`].
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The body is not JSON (`json_parse_exception`), or ends early (`json_e_o_f_exception`).
    #[error("{reason}")]
    Json {
        /// The body ended inside a value.
        eof: bool,
        /// What the parser said.
        reason: String,
    },
    /// A number option spelled as something else (`"size": "ten"`).
    #[error("For input string: \"{0}\"")]
    NumberFormat(String),
    /// A value is not acceptable for an option.
    #[error("{0}")]
    IllegalArgument(String),
    /// A request Elasticsearch refuses before running it (`action_request_validation_exception`).
    #[error("Validation Failed: 1: {0};")]
    Validation(String),
    /// Lucene query syntax that cannot be parsed.
    #[error("Failed to parse query [{query}]: {reason}")]
    QueryString {
        /// The query string.
        query: String,
        /// Why it cannot be parsed.
        reason: String,
    },
    /// A query nests deeper than Hydrant parses (each level is a level of recursion, and a
    /// stack overflow would take the whole process down).
    #[error(
        "Query contains too many nested clauses: [{what}] nests {depth} levels deep, the limit is {limit}"
    )]
    TooManyNestedClauses {
        /// The query type or syntax (`query_string`, `simple_query_string`).
        what: &'static str,
        /// How deep the request nests (a lower bound when parsing stopped at the limit).
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A date or date-math expression that cannot be read, or whose arithmetic overflows.
    #[error("{0}")]
    DateParse(String),
    /// A request that cannot run against the shards' fields (sorting on an unmapped field).
    #[error("{0}")]
    QueryShard(String),
    /// A feature Hydrant does not implement (said, never answered wrongly).
    #[error("{what} is not supported")]
    Unsupported {
        /// What is not supported, as ES would name it.
        what: String,
    },
    /// An aggregation would create more buckets than allowed.
    #[error(
        "Trying to create too many buckets. Must be less than or equal to: [{limit}] but was [{current}]. This limit can be set by changing the [search.max_buckets] cluster level setting."
    )]
    TooManyBuckets {
        /// The bucket limit.
        limit: u64,
        /// Buckets the request needed.
        current: u64,
    },
    /// A request would use more memory than its budget.
    #[error(
        "[request] Data too large, data for [{what}] would be [{current}b], which is larger than the limit of [{limit}b]"
    )]
    MemoryExceeded {
        /// What needed the memory.
        what: String,
        /// The budget, in bytes.
        limit: u64,
        /// Bytes the request needed.
        current: u64,
    },
    /// A point in time or scroll that expired or never existed.
    #[error("No search context found for id [{0}]")]
    SearchContextMissing(String),
    /// The request body is larger than accepted.
    #[error("request body is too large: {0}")]
    ContentTooLong(String),
    /// Every search place is taken and the queue is full: the client should retry later.
    #[error(
        "rejected execution of search: {running} searches running and {queued} waiting, the queue of [query.max_queued_searches] is full"
    )]
    Rejected {
        /// Searches running.
        running: u64,
        /// Searches waiting.
        queued: u64,
    },
    /// The search ran past its `timeout`.
    #[error("search timed out after {0} ms")]
    Timeout(u64),
    /// The index failed while searching.
    #[error("search failed: {0}")]
    Search(String),
    /// Every index the target names is damaged (see [`hydrant_index::DamagedIndex`]).
    #[error("all shards failed")]
    AllShardsFailed(Vec<hydrant_index::DamagedIndex>),
}

impl QueryError {
    /// Elasticsearch's refusal to aggregate, sort or read doc values on a text field, which has
    /// no column.
    pub fn fielddata_disabled(field: &str) -> QueryError {
        QueryError::IllegalArgument(format!(
            "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
        ))
    }

    /// A body that is not JSON, typed as Elasticsearch's JSON parser types it.
    pub fn json(e: &serde_json::Error) -> QueryError {
        // Nesting past the parser's depth limit is a refusal of the content, not bad syntax.
        if e.to_string().starts_with("recursion limit exceeded") {
            return QueryError::XContentParse(format!("request body is not valid JSON: {e}"));
        }
        match e.classify() {
            serde_json::error::Category::Eof => QueryError::Json {
                eof: true,
                reason: format!("request body is not valid JSON: {e}"),
            },
            serde_json::error::Category::Syntax => QueryError::Json {
                eof: false,
                reason: format!("request body is not valid JSON: {e}"),
            },
            _ => QueryError::XContentParse(format!("request body is not valid JSON: {e}")),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            QueryError::IndexNotFound(_) | QueryError::SearchContextMissing(_) => {
                StatusCode::NOT_FOUND
            }
            QueryError::XContentParse(_)
            | QueryError::Json { .. }
            | QueryError::NumberFormat(_)
            | QueryError::Parsing(_)
            | QueryError::IllegalArgument(_)
            | QueryError::Validation(_)
            | QueryError::QueryString { .. }
            | QueryError::QueryShard(_)
            | QueryError::TooManyNestedClauses { .. }
            | QueryError::DateParse(_)
            | QueryError::Unsupported { .. }
            | QueryError::TooManyBuckets { .. } => StatusCode::BAD_REQUEST,
            QueryError::MemoryExceeded { .. } | QueryError::Rejected { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            QueryError::ContentTooLong(_) => StatusCode::PAYLOAD_TOO_LARGE,
            QueryError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            QueryError::Search(_) => StatusCode::INTERNAL_SERVER_ERROR,
            QueryError::AllShardsFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Elasticsearch's error `type`.
    pub fn es_type(&self) -> &'static str {
        match self {
            QueryError::IndexNotFound(_) => "index_not_found_exception",
            QueryError::XContentParse(_) => "x_content_parse_exception",
            QueryError::Parsing(_) => "parsing_exception",
            QueryError::Json { eof: true, .. } => "json_e_o_f_exception",
            QueryError::Json { eof: false, .. } => "json_parse_exception",
            QueryError::NumberFormat(_) => "number_format_exception",
            QueryError::Validation(_) => "action_request_validation_exception",
            QueryError::IllegalArgument(_) | QueryError::Unsupported { .. } => {
                "illegal_argument_exception"
            }
            QueryError::QueryString { .. } | QueryError::QueryShard(_) => "query_shard_exception",
            QueryError::TooManyBuckets { .. } => "too_many_buckets_exception",
            QueryError::TooManyNestedClauses { .. } => "too_many_nested_clauses",
            QueryError::DateParse(_) => "parse_exception",
            QueryError::MemoryExceeded { .. } => "circuit_breaking_exception",
            QueryError::SearchContextMissing(_) => "search_context_missing_exception",
            QueryError::ContentTooLong(_) => "content_too_long_exception",
            QueryError::Rejected { .. } => "es_rejected_execution_exception",
            QueryError::Timeout(_) => "search_timeout_exception",
            QueryError::Search(_) | QueryError::AllShardsFailed(_) => {
                "search_phase_execution_exception"
            }
        }
    }

    /// The ES error body: `{"error":{"root_cause":[…],"type":…,"reason":…},"status":N}`.
    pub fn to_json(&self) -> serde_json::Value {
        let extra = match self {
            QueryError::IndexNotFound(index) => Some(json!({
                "index": index,
                "resource.type": "index_or_alias",
                "resource.id": index,
                "index_uuid": "_na_",
            })),
            QueryError::TooManyBuckets { limit, .. } => Some(json!({"max_buckets": limit})),
            QueryError::AllShardsFailed(damaged) => Some(json!({
                "phase": "query",
                "grouped": true,
                "failed_shards": crate::search::shard_failures(damaged),
            })),
            QueryError::MemoryExceeded { current, limit, .. } => Some(json!({
                "bytes_wanted": current,
                "bytes_limit": limit,
                "durability": "TRANSIENT",
            })),
            _ => None,
        };
        hydrant_http::es_error_body(self.status(), self.es_type(), &self.to_string(), extra)
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
        use tantivy::aggregation::AggregationError;
        match e {
            tantivy::TantivyError::AggregationError(AggregationError::BucketLimitExceeded {
                limit,
                current,
            }) => QueryError::TooManyBuckets {
                limit: u64::from(limit),
                current: u64::from(current),
            },
            tantivy::TantivyError::AggregationError(AggregationError::MemoryExceeded {
                limit,
                current,
            }) => QueryError::MemoryExceeded {
                what: "aggregations".to_string(),
                limit: limit.get_bytes(),
                current: current.get_bytes(),
            },
            tantivy::TantivyError::AggregationError(other) => {
                QueryError::IllegalArgument(other.to_string())
            }
            tantivy::TantivyError::InvalidArgument(reason) => QueryError::IllegalArgument(reason),
            other => QueryError::Search(other.to_string()),
        }
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.to_json())).into_response();
        if self.status() == StatusCode::TOO_MANY_REQUESTS {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}
