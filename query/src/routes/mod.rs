//! The search HTTP routes. Each handler extracts, calls one typed function of the
//! [`Engine`](crate::engine::Engine) (or of [`meta`](crate::meta)) on the blocking pool — tantivy
//! searches block — and returns an ES-shaped body. Bad query strings and bodies get ES error
//! bodies too, through the extractors here.

mod meta;
mod search;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hydrant_index::Catalog;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::Engine;
use crate::error::QueryError;

/// What the search routes need.
#[derive(Clone)]
pub struct QueryState {
    /// The indices.
    pub catalog: Arc<Catalog>,
    /// Name reported by `GET /`.
    pub node_name: String,
}

/// The state handlers share: the engine (with its open points in time and scrolls).
#[derive(Clone)]
pub(crate) struct AppState {
    pub engine: Arc<Engine>,
    pub node_name: String,
}

/// Largest search, msearch or count body accepted.
pub const MAX_BODY: usize = 100 * 1024 * 1024;

/// The version Hydrant reports, so that clients enable their 8.x protocol.
pub const ES_VERSION: &str = "8.17.0";

/// The search routes.
pub fn router(state: QueryState) -> Router {
    let app = AppState {
        engine: Arc::new(Engine::new(state.catalog)),
        node_name: state.node_name,
    };
    Router::new()
        .route("/", get(meta::info).head(meta::info_head))
        .route("/{target}", get(meta::index_get).head(meta::index_head))
        .route("/_search", get(search::search_all).post(search::search_all))
        .route(
            "/{target}/_search",
            get(search::search_target).post(search::search_target),
        )
        .route(
            "/_search/scroll",
            get(search::scroll)
                .post(search::scroll)
                .delete(search::clear_scroll),
        )
        .route(
            "/_search/scroll/{id}",
            get(search::scroll_path)
                .post(search::scroll_path)
                .delete(search::clear_scroll_path),
        )
        .route(
            "/_msearch",
            get(search::msearch_all).post(search::msearch_all),
        )
        .route(
            "/{target}/_msearch",
            get(search::msearch_target).post(search::msearch_target),
        )
        .route("/_count", get(search::count_all).post(search::count_all))
        .route(
            "/{target}/_count",
            get(search::count_target).post(search::count_target),
        )
        .route("/{target}/_pit", post(search::open_pit))
        .route("/_pit", delete(search::close_pit))
        .route("/_mapping", get(meta::mapping_all))
        .route("/{target}/_mapping", get(meta::mapping_target))
        .route(
            "/_field_caps",
            get(meta::field_caps_all).post(meta::field_caps_all),
        )
        .route(
            "/{target}/_field_caps",
            get(meta::field_caps_target).post(meta::field_caps_target),
        )
        .route("/_cluster/health", get(meta::health_all))
        .route("/_cluster/health/{target}", get(meta::health_target))
        .route("/_resolve/index/{expr}", get(meta::resolve_index))
        .route("/_cat/indices", get(meta::cat_indices_all))
        .route("/_cat/indices/{target}", get(meta::cat_indices_target))
        .route("/_cat/shards", get(meta::cat_shards_all))
        .route("/_cat/shards/{target}", get(meta::cat_shards_target))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// URL parameters, with ES's error body for values that do not parse.
pub(crate) struct EsQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for EsQuery<T> {
    type Rejection = QueryError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, QueryError> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(q)| EsQuery(q))
            .map_err(|e| QueryError::IllegalArgument(e.body_text()))
    }
}

/// The request body, with ES's error body when it is too large or unreadable.
pub(crate) struct EsBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for EsBody {
    type Rejection = QueryError;

    async fn from_request(req: Request, state: &S) -> Result<Self, QueryError> {
        Bytes::from_request(req, state)
            .await
            .map(EsBody)
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    QueryError::ContentTooLong(format!("the limit is {MAX_BODY} bytes"))
                }
                _ => QueryError::XContentParse(e.body_text()),
            })
    }
}

/// Runs `f` on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, QueryError> + Send + 'static,
) -> Result<T, QueryError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| QueryError::Search(format!("search task failed: {e}")))?
}

/// A JSON answer, or the ES error body.
pub(crate) fn respond<T: serde::Serialize>(result: Result<T, QueryError>) -> Response {
    match result {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A JSON answer with a status.
pub(crate) fn with_status(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A body of another media type.
pub(crate) fn typed(media_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    let mut r = Response::new(body.into());
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    r
}
