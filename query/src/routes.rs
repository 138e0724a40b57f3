//! The search HTTP routes. Each handler extracts, calls one typed function on the blocking pool
//! (tantivy searches block) and returns an ES-shaped body.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hydrant_index::{Catalog, IndexHandle, ResolveOptions};
use serde_json::json;

use crate::error::QueryError;
use crate::request::{SearchParams, SearchRequest, parse_body};
use crate::search::{SearchOptions, ShardTarget, count, search};

/// What the search routes need.
#[derive(Clone)]
pub struct QueryState {
    /// The indices.
    pub catalog: Arc<Catalog>,
    /// Name reported by `GET /`.
    pub node_name: String,
}

/// The search routes.
pub fn router(state: QueryState) -> Router {
    Router::new()
        .route("/", get(info).head(info_head))
        .route("/_search", get(search_all).post(search_all))
        .route("/{target}/_search", get(search_target).post(search_target))
        .route("/_count", get(count_all).post(count_all))
        .route("/{target}/_count", get(count_target).post(count_target))
        .with_state(state)
}

/// The version Hydrant reports, so that clients enable their 8.x protocol.
pub const ES_VERSION: &str = "8.17.0";

async fn info(State(state): State<QueryState>) -> Response {
    axum::Json(json!({
        "name": state.node_name,
        "cluster_name": "hydrant",
        "cluster_uuid": "hydrant",
        "version": {
            "number": ES_VERSION,
            "build_flavor": "default",
            "build_type": "hydrant",
            "build_hash": env!("CARGO_PKG_VERSION"),
            "build_date": "2026-11-26T00:00:00.000Z",
            "build_snapshot": false,
            "lucene_version": "9.12.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }))
    .into_response()
}

async fn info_head() -> StatusCode {
    StatusCode::OK
}

fn resolve(
    catalog: &Catalog,
    target: &str,
    params: &SearchParams,
) -> Result<Vec<Arc<IndexHandle>>, QueryError> {
    let options = ResolveOptions {
        ignore_unavailable: params.ignore_unavailable.unwrap_or(false),
        allow_no_indices: params.allow_no_indices.unwrap_or(true),
    };
    Ok(catalog.resolve(target, options)?)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs a `_search` on `target`.
pub async fn run_search(
    catalog: Arc<Catalog>,
    target: String,
    params: SearchParams,
    body: Bytes,
) -> Result<crate::search::SearchResponse, QueryError> {
    tokio::task::spawn_blocking(move || {
        let req = SearchRequest::parse(&body, &params)?;
        let indices = resolve(&catalog, &target, &params)?;
        let opts = SearchOptions {
            now_ms: now_ms(),
            ..SearchOptions::default()
        };
        search(&ShardTarget::open(&indices), &req, &opts)
    })
    .await
    .map_err(|e| QueryError::Search(e.to_string()))?
}

/// Runs a `_count` on `target`.
pub async fn run_count(
    catalog: Arc<Catalog>,
    target: String,
    params: SearchParams,
    body: Bytes,
) -> Result<crate::search::CountResponse, QueryError> {
    tokio::task::spawn_blocking(move || {
        let parsed = parse_body(&body)?;
        for key in parsed.keys() {
            if key != "query" {
                return Err(QueryError::Parsing(format!(
                    "request does not support [{key}]"
                )));
            }
        }
        let mut req = SearchRequest::parse(&body, &params)?;
        if parsed.get("query").is_none() && params.q.is_none() {
            req.query = crate::ast::QueryAst::MatchAll;
        }
        let indices = resolve(&catalog, &target, &params)?;
        count(&ShardTarget::open(&indices), &req.query, now_ms())
    })
    .await
    .map_err(|e| QueryError::Search(e.to_string()))?
}

fn respond<T: serde::Serialize>(result: Result<T, QueryError>) -> Response {
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn search_all(
    State(state): State<QueryState>,
    Query(params): Query<SearchParams>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(run_search(state.catalog, "_all".to_string(), params, body).await)
}

async fn search_target(
    State(state): State<QueryState>,
    Path(target): Path<String>,
    Query(params): Query<SearchParams>,
    body: Bytes,
) -> Response {
    respond(run_search(state.catalog, target, params, body).await)
}

async fn count_all(
    State(state): State<QueryState>,
    Query(params): Query<SearchParams>,
    body: Bytes,
) -> Response {
    respond(run_count(state.catalog, "_all".to_string(), params, body).await)
}

async fn count_target(
    State(state): State<QueryState>,
    Path(target): Path<String>,
    Query(params): Query<SearchParams>,
    body: Bytes,
) -> Response {
    respond(run_count(state.catalog, target, params, body).await)
}
