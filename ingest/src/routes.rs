//! The ingest HTTP routes. Handlers extract, call one typed function and shape the answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use crate::accept::off_runtime;
use crate::auth::check_access;
use crate::body::{BodyLimits, read_body};
use crate::bulk::ingest_bulk;
use crate::error::IngestError;
use crate::firehose;
use crate::ndjson::{LineError, LineFormat, Parsed, parse_lines_with};
use crate::pipeline::Pipeline;
pub use by_query::{MatchError, Matcher, Tasks};

/// Longest `?refresh=wait_for` wait before answering anyway.
pub(crate) const WAIT_FOR_LIMIT: Duration = Duration::from_secs(60);

/// What the ingest routes need.
#[derive(Clone)]
pub struct IngestState {
    /// The streams.
    pub pipeline: Arc<Pipeline>,
    /// Body size limits.
    pub limits: BodyLimits,
    /// Largest single record.
    pub max_record_size: u64,
    /// `DELETE /{index}` refuses wildcards and `_all`.
    pub destructive_requires_name: bool,
    /// The search room's query matching, for `_delete_by_query` (`None`: refused).
    pub matcher: Option<Matcher>,
    /// `_delete_by_query` requests running in the background.
    pub tasks: Arc<Tasks>,
    /// Other rooms' metrics in Prometheus text, added to `GET /_hydrant/metrics` (the search
    /// room's request cache).
    pub more_metrics: Option<MoreMetrics>,
}

/// Renders more metrics for the exposition.
pub type MoreMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// The ingest routes: NDJSON (`POST /v1/streams/{stream}/records`), Elasticsearch `_bulk`,
/// the Firehose API (`POST /`) and the metrics (`GET /_hydrant/metrics`).
pub fn router(state: IngestState) -> Router {
    // The Elasticsearch API beside `_bulk` (which answers its own 406): bodies that are not
    // JSON get Elasticsearch's 406, so a browser page cannot post a `_delete_by_query` or a
    // document as a form or `text/plain` (see `hydrant_http::es_media_type`). The record
    // endpoint takes `text/plain` lines on purpose, and the Firehose API answers its own 415.
    let es_api = Router::new()
        .route("/{target}", axum::routing::delete(delete_indices))
        .route("/_refresh", get(refresh_all).post(refresh_all))
        .route(
            "/{target}/_refresh",
            get(refresh_target).post(refresh_target),
        )
        .route("/_flush", get(refresh_all).post(refresh_all))
        .route("/{target}/_flush", get(refresh_target).post(refresh_target))
        .merge(pipelines::routes())
        .merge(documents::routes())
        .merge(indices::routes())
        .merge(aliases::routes())
        .merge(updates::routes())
        .merge(by_query::routes())
        .layer(axum::middleware::from_fn(hydrant_http::es_media_type));
    Router::new()
        .route("/v1/streams/{stream}/records", post(post_records))
        .route("/_bulk", post(bulk_all).put(bulk_all))
        .route("/{target}/_bulk", post(bulk_target).put(bulk_target))
        .route("/", post(firehose_api))
        .route("/_hydrant/metrics", get(metrics))
        .merge(es_api)
        // Limits are enforced by `read_body`, on the wire and after gzip.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// Query parameters of the record routes.
#[derive(Debug, Default, Deserialize)]
pub struct RecordParams {
    /// `wait_for`/`true`: answer once the records are searchable.
    #[serde(default)]
    pub refresh: Option<String>,
    /// The ingest pipeline the records go through (`_none`: not even the stream's default).
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Write only if the document's sequence number is this (single-document APIs).
    #[serde(default)]
    pub if_seq_no: Option<u64>,
    /// With `if_seq_no`: the primary term (always 1 here).
    #[serde(default)]
    pub if_primary_term: Option<u64>,
    /// `version` (with `version_type=external`: accepted, as no document here has a version
    /// above 1; internal versioning is refused, as Elasticsearch 7+ refuses it).
    #[serde(default)]
    pub version: Option<i64>,
    /// `internal`, `external` or `external_gte`.
    #[serde(default)]
    pub version_type: Option<String>,
}

/// Answer of `POST /v1/streams/{stream}/records`.
#[derive(Debug, Serialize)]
pub struct RecordsResponse {
    /// The stream written to.
    pub stream: String,
    /// Records taken (durable before this answer).
    pub accepted: usize,
    /// Lines refused.
    pub rejected: usize,
    /// Lines an ingest pipeline dropped (a `drop` processor): answered, not kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub dropped: usize,
    /// Each refused line, with its number and why.
    pub errors: Vec<LineError>,
}

async fn post_records(
    State(state): State<IngestState>,
    Path(stream): Path<String>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match ingest_lines(&state, &stream, &params, &headers, body).await {
        Ok(answer) => {
            let status = if answer.accepted == 0 {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, axum::Json(answer)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Reads an NDJSON (or text) body into `stream`: good lines are made durable, bad ones listed.
pub async fn ingest_lines(
    state: &IngestState,
    stream: &str,
    params: &RecordParams,
    headers: &HeaderMap,
    body: Body,
) -> Result<RecordsResponse, IngestError> {
    let text_body = match content_type(headers) {
        None => false,
        Some(ct) => match ct.as_str() {
            "text/plain" => true,
            "application/x-ndjson"
            | "application/json"
            | "application/jsonlines"
            | "application/x-jsonlines"
            | "application/jsonl" => false,
            _ => {
                return Err(IngestError::UnsupportedContentType {
                    content_type: ct,
                    allowed: "application/x-ndjson, application/json or text/plain",
                });
            }
        },
    };
    let stream = state.pipeline.stream(stream).await?;
    check_access(stream.config(), headers).map_err(|denied| IngestError::AccessDenied {
        stream: stream.name().to_string(),
        denied,
    })?;
    state.pipeline.metrics().request(stream.name(), "ndjson");
    let format = if text_body || stream.config().record_format == hydrant_config::RecordFormat::Text
    {
        LineFormat::Text
    } else {
        LineFormat::Json
    };
    let body = read_body(headers, body, state.limits).await?;
    let arrival_ms = chrono::Utc::now().timestamp_millis();
    let accept = stream.acceptor(state.max_record_size, arrival_ms);
    let chain = state
        .pipeline
        .processing(&stream, arrival_ms)
        .chain(params.pipeline.as_deref());
    let Parsed {
        records,
        errors,
        dropped,
    } = off_runtime(body.len(), move || {
        parse_lines_with(&body, format, &accept, &chain)
    })
    .await?;
    if records.is_empty() && errors.is_empty() && dropped == 0 {
        return Err(IngestError::EmptyBody);
    }
    let accepted = records.len();
    stream.count_rejected(errors.len());
    if accepted > 0 {
        let receipt = stream.append(records).await?;
        if wants_wait(params.refresh.as_deref()) {
            stream.wait_searchable(receipt.last, WAIT_FOR_LIMIT).await;
        }
    }
    Ok(RecordsResponse {
        stream: stream.name().to_string(),
        accepted,
        rejected: errors.len(),
        dropped,
        errors,
    })
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub(crate) fn wants_wait(refresh: Option<&str>) -> bool {
    matches!(refresh, Some("wait_for") | Some("true") | Some(""))
}

/// Media types of `_bulk`, as the official clients send them.
fn bulk_media_type_ok(headers: &HeaderMap) -> Result<(), IngestError> {
    match content_type(headers).as_deref() {
        None
        | Some("application/x-ndjson")
        | Some("application/json")
        | Some("application/vnd.elasticsearch+x-ndjson")
        | Some("application/vnd.elasticsearch+json") => Ok(()),
        Some(other) => Err(IngestError::UnsupportedContentType {
            content_type: other.to_string(),
            allowed: "application/x-ndjson, application/json or application/vnd.elasticsearch+x-ndjson",
        }),
    }
}

async fn bulk(
    state: &IngestState,
    target: Option<&str>,
    params: &RecordParams,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    if let Err(IngestError::UnsupportedContentType { content_type, .. }) =
        bulk_media_type_ok(headers)
    {
        // Elasticsearch's own answer to an unsupported media type.
        let body = serde_json::json!({
            "error": format!("Content-Type header [{content_type}] is not supported"),
            "status": 406,
        });
        return (StatusCode::NOT_ACCEPTABLE, axum::Json(body)).into_response();
    }
    let body = match read_body(headers, body, state.limits).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return IngestError::EmptyBody.into_response();
    }
    let wait = wants_wait(params.refresh.as_deref()).then_some(WAIT_FOR_LIMIT);
    let (answer, warnings, retry_later) = ingest_bulk(
        state,
        body,
        target,
        params.pipeline.as_deref(),
        headers,
        wait,
    )
    .await;
    let mut r = answer.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if retry_later {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    for w in warnings {
        // RFC 7234 warn-code 299, as Elasticsearch sends deprecation warnings.
        let text = format!("299 Elasticsearch-8.17.0 \"{}\"", w.replace('"', "'"));
        if let Ok(v) = HeaderValue::from_str(&text) {
            r.headers_mut().append(header::WARNING, v);
        }
    }
    r
}

async fn bulk_all(
    State(state): State<IngestState>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    bulk(&state, None, &params, &headers, body).await
}

async fn bulk_target(
    State(state): State<IngestState>,
    Path(target): Path<String>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    bulk(&state, Some(&target), &params, &headers, body).await
}

async fn firehose_api(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let is_amz_json =
        content_type(&headers).is_some_and(|c| c.starts_with("application/x-amz-json"));
    if !is_amz_json && !headers.contains_key("x-amz-target") {
        // Not a Firehose call: answer as Elasticsearch does for `POST /`.
        let body = serde_json::json!({
            "error": "Incorrect HTTP method for uri [/] and method [POST], allowed: [HEAD, GET]",
            "status": 405,
        });
        return (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response();
    }
    if !is_amz_json {
        return firehose::error_response(&IngestError::UnsupportedContentType {
            content_type: content_type(&headers).unwrap_or_default(),
            allowed: firehose::CONTENT_TYPE,
        });
    }
    let body = match read_body(&headers, body, state.limits).await {
        Ok(b) => b,
        Err(e) => return firehose::error_response(&e),
    };
    match firehose::handle(&state, &headers, body).await {
        Ok(answer) => {
            let mut r = (StatusCode::OK, answer.to_string()).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(firehose::CONTENT_TYPE),
            );
            r
        }
        Err(e) => firehose::error_response(&e),
    }
}

/// Longest a `_refresh` waits for the records it covers to become searchable.
const REFRESH_LIMIT: Duration = Duration::from_secs(60);

async fn refresh_all(State(state): State<IngestState>) -> Response {
    refresh_answer(refresh(&state, "_all").await)
}

async fn refresh_target(State(state): State<IngestState>, Path(target): Path<String>) -> Response {
    refresh_answer(refresh(&state, &target).await)
}

fn refresh_answer(result: Result<(usize, usize), IngestError>) -> Response {
    match result {
        Ok((total, successful)) => axum::Json(serde_json::json!({
            "_shards": {"total": total, "successful": successful, "failed": total - successful}
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `_refresh` and `_flush` (the same here: what is searchable is committed): every record the
/// streams behind `target` accepted so far becomes searchable before the answer. Returns the
/// shards covered and how many are refreshed.
pub async fn refresh(state: &IngestState, target: &str) -> Result<(usize, usize), IngestError> {
    let pipeline = &state.pipeline;
    let all = target == "_all" || target == "*";
    let mut streams: Vec<String> = Vec::new();
    let mut missing = None;
    for part in target.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let options = hydrant_index::ResolveOptions {
            ignore_unavailable: true,
            allow_no_indices: true,
        };
        let indices = pipeline.catalog().resolve(part, options)?;
        streams.extend(indices.iter().map(|i| i.stream().to_string()));
        let wildcard = part.contains('*') || part == "_all";
        if pipeline.get(part).is_some() || pipeline.catalog().has_stream(part) {
            streams.push(part.to_string());
        } else if indices.is_empty() && !wildcard && missing.is_none() {
            missing = Some(part.to_string());
        }
    }
    if all {
        streams.extend(pipeline.stream_names());
    }
    if let Some(name) = missing {
        return Err(IngestError::Index(
            hydrant_index::IndexError::IndexNotFound(name),
        ));
    }
    streams.sort();
    streams.dedup();
    let mut refreshed_streams = Vec::new();
    for name in &streams {
        if let Some(stream) = pipeline.get(name)
            && stream.refresh(REFRESH_LIMIT).await
        {
            refreshed_streams.push(name.clone());
        }
    }
    // Shards counted after the refresh: it may have made the indices the records went to.
    let (mut total, mut successful) = (0, 0);
    for name in &streams {
        let shards: usize = pipeline
            .catalog()
            .stream_indices(name)
            .iter()
            .map(|i| i.shards().len())
            .sum();
        total += shards;
        if refreshed_streams.contains(name) || pipeline.get(name).is_none() {
            successful += shards;
        }
    }
    Ok((total, successful))
}

async fn delete_indices(State(state): State<IngestState>, Path(target): Path<String>) -> Response {
    match delete_target(&state, &target).await {
        Ok(()) => axum::Json(serde_json::json!({"acknowledged": true})).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Deletes the indices `target` names (comma list; wildcards and `_all` only when allowed).
pub async fn delete_target(state: &IngestState, target: &str) -> Result<(), IngestError> {
    let catalog = state.pipeline.catalog().clone();
    let mut names = Vec::new();
    for part in target.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let wide = part == "_all" || part.contains('*');
        if wide && state.destructive_requires_name {
            return Err(IngestError::DestructiveRequiresName(part.to_string()));
        }
        // Deleting a damaged index is how to recover from it: it is named like any other.
        let damaged = catalog.damaged_in(part);
        if wide {
            let options = hydrant_index::ResolveOptions::default();
            names.extend(
                catalog
                    .resolve(part, options)?
                    .iter()
                    .map(|h| h.name().to_string()),
            );
            names.extend(damaged.into_iter().map(|d| d.name));
        } else if catalog.get(part).is_some() || damaged.iter().any(|d| d.name == part) {
            names.push(part.to_string());
        } else if !catalog.stream_indices(part).is_empty() {
            return Err(IngestError::DeleteAlias(part.to_string()));
        } else {
            return Err(IngestError::Index(
                hydrant_index::IndexError::IndexNotFound(part.to_string()),
            ));
        }
    }
    names.sort();
    names.dedup();
    state.pipeline.delete_indices(&names).await
}

async fn metrics(State(state): State<IngestState>) -> Response {
    let mut text = state.pipeline.metrics_text();
    if let Some(more) = &state.more_metrics {
        // Before OpenMetrics' end marker.
        let at = text.rfind("# EOF").unwrap_or(text.len());
        text.insert_str(at, &more());
    }
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

/// The media type of a request, lower-cased and without parameters.
pub fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty())
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        let reason = self.to_string();
        let kind = self.es_type();
        let mut response = hydrant_http::es_error(status, kind, &reason);
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

mod aliases;
mod by_query;
mod documents;
mod indices;
mod pipelines;
mod updates;

#[cfg(test)]
mod tests;
