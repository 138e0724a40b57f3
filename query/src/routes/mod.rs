//! The search HTTP routes. Each handler extracts, calls one typed function of the
//! [`Engine`](crate::engine::Engine) (or of [`meta`](crate::meta)) on the blocking pool — tantivy
//! searches block — and returns an ES-shaped body. Bad query strings and bodies get ES error
//! bodies too, through the extractors here.

mod cluster;
mod documents;
mod meta;
mod nodes;
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
use crate::search::RequestCache;

/// What the search routes need.
#[derive(Clone)]
pub struct QueryState {
    /// The indices.
    pub catalog: Arc<Catalog>,
    /// Name reported by `GET /`.
    pub node_name: String,
    /// Largest request body (`http.max_body_size`).
    pub max_body: u64,
    /// How many searches run and wait at once, and how long one runs (`[query]`).
    pub limits: hydrant_config::QueryConfig,
    /// The request cache (built from `limits` with [`RequestCache::from_config`]).
    pub request_cache: Arc<RequestCache>,
}

/// The state handlers share: the engine (with its open points in time and scrolls).
#[derive(Clone)]
pub(crate) struct AppState {
    pub engine: Arc<Engine>,
    pub node_name: String,
    pub gate: Arc<SearchGate>,
    pub max_body: usize,
}

/// Admission of searches: at most `max_concurrent_searches` run at once — on the blocking pool,
/// or a small one on the thread that received it (a search holds its place until it finishes,
/// even if its client went away), up to
/// `max_queued_searches` wait for one, and more are refused with 429, as Elasticsearch's search
/// thread pool and its queue do. So slow or many searches cannot take every thread, and what
/// is refused is said at once rather than piling up.
pub(crate) struct SearchGate {
    places: Arc<tokio::sync::Semaphore>,
    max_concurrent: u64,
    waiting: std::sync::atomic::AtomicU64,
    max_queued: u64,
}

impl SearchGate {
    fn new(limits: &hydrant_config::QueryConfig) -> SearchGate {
        SearchGate {
            places: Arc::new(tokio::sync::Semaphore::new(
                limits.max_concurrent_searches as usize,
            )),
            max_concurrent: limits.max_concurrent_searches,
            waiting: std::sync::atomic::AtomicU64::new(0),
            max_queued: limits.max_queued_searches,
        }
    }

    /// A place to run a search, once one is free (or the refusal when too many wait).
    async fn place(&self) -> Result<tokio::sync::OwnedSemaphorePermit, QueryError> {
        use std::sync::atomic::Ordering;
        match self.places.clone().try_acquire_owned() {
            Ok(place) => Ok(place),
            Err(_) => {
                let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
                if queued >= self.max_queued {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(QueryError::Rejected {
                        running: self.max_concurrent,
                        queued,
                    });
                }
                let place = self.places.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                place.map_err(|_| QueryError::Search("the search gate is closed".into()))
            }
        }
    }

    /// Runs `f` on the blocking pool once a place is free.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, QueryError> + Send + 'static,
    ) -> Result<T, QueryError> {
        let place = self.place().await?;
        tokio::task::spawn_blocking(move || {
            let _place = place;
            f()
        })
        .await
        .map_err(|e| QueryError::Search(format!("search task failed: {e}")))?
    }

    /// Runs `f` on the calling thread once a place is free: for a search too small to be
    /// worth the hop to the blocking pool and back (see `search::run_search`).
    pub(crate) async fn run_here<T>(
        &self,
        f: impl FnOnce() -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let _place = self.place().await?;
        f()
    }
}

/// The version Hydrant reports, so that clients enable their 8.x protocol.
pub const ES_VERSION: &str = "8.17.0";

/// The search routes.
pub fn router(state: QueryState) -> Router {
    let max_body = usize::try_from(state.max_body).unwrap_or(usize::MAX);
    let app = AppState {
        engine: Arc::new(
            Engine::new(state.catalog, state.limits.default_search_timeout)
                .with_request_cache(state.request_cache),
        ),
        node_name: state.node_name,
        gate: Arc::new(SearchGate::new(&state.limits)),
        max_body,
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
        .route("/_mapping/field/{fields}", get(meta::field_mapping_all))
        .route(
            "/{target}/_mapping/field/{fields}",
            get(meta::field_mapping_target),
        )
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
        .route("/_cat/health", get(meta::cat_health))
        .route("/_cat/count", get(meta::cat_count_all))
        .route("/_cat/count/{target}", get(meta::cat_count_target))
        .route("/_cat/aliases", get(meta::cat_aliases))
        .route("/_cat/nodes", get(meta::cat_nodes))
        .route("/_nodes", get(nodes::nodes_all))
        .route("/_nodes/{part}", get(nodes::nodes_one))
        .route("/_nodes/{filter}/{metrics}", get(nodes::nodes_two))
        .route(
            "/_cluster/settings",
            get(cluster::cluster_settings).put(cluster::put_cluster_settings),
        )
        .route("/_cluster/state", get(cluster::state_all))
        .route("/_cluster/state/{metrics}", get(cluster::state_metrics))
        .route(
            "/_cluster/state/{metrics}/{target}",
            get(cluster::state_target),
        )
        .route("/_nodes/stats", get(cluster::nodes_stats))
        .route("/_cache/clear", post(cluster::clear_cache))
        .route("/{target}/_cache/clear", post(cluster::clear_cache_target))
        .route("/_settings", get(meta::settings_all))
        .route("/{target}/_settings", get(meta::settings_target))
        .route("/_mget", get(documents::mget_all).post(documents::mget_all))
        .route(
            "/{target}/_mget",
            get(documents::mget_target).post(documents::mget_target),
        )
        .route("/_license", get(cluster::license))
        .route("/_xpack", get(cluster::xpack))
        .route("/_cat/templates", get(meta::cat_templates_all))
        .route("/_cat/templates/{name}", get(meta::cat_templates))
        .route(
            "/{target}/_doc/{id}",
            get(documents::get_doc).head(documents::head_doc),
        )
        .route(
            "/{target}/_source/{id}",
            get(documents::get_source).head(documents::head_doc),
        )
        .layer(DefaultBodyLimit::max(max_body))
        // Bodies that are not JSON get Elasticsearch's 406 (and a browser page cannot post
        // a search or a point in time as a form: see `hydrant_http::es_media_type`).
        .layer(axum::middleware::from_fn(hydrant_http::es_media_type))
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

impl FromRequest<AppState> for EsBody {
    type Rejection = QueryError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, QueryError> {
        Bytes::from_request(req, state)
            .await
            .map(EsBody)
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => QueryError::ContentTooLong(format!(
                    "the limit is {} bytes (http.max_body_size)",
                    state.max_body
                )),
                _ => QueryError::XContentParse(e.body_text()),
            })
    }
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

#[cfg(test)]
mod tests;
