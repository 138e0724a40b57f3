//! Index templates and index definitions, as Elasticsearch has them: composable
//! `/_index_template/{name}` and legacy `/_template/{name}` (`PUT|POST|GET|HEAD|DELETE`),
//! `PUT /{index}` (mappings, settings, aliases), `PUT /{index}/_mapping` and
//! `PUT /{index}/_settings`. Thin handlers over [`hydrant_index::Definitions`]: what they store
//! shapes every index created afterwards (see its module documentation).

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use hydrant_index::{IndexError, ResolveOptions, TemplateKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::body::read_body;
use crate::error::IngestError;
use crate::routes::IngestState;

/// The template and index-definition routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/_index_template", get(list_composable))
        .route(
            "/_index_template/{name}",
            get(get_composable)
                .head(head_composable)
                .put(put_composable)
                .post(put_composable)
                .delete(delete_composable),
        )
        .route("/_template", get(list_legacy))
        .route(
            "/_template/{name}",
            get(get_legacy)
                .head(head_legacy)
                .put(put_legacy)
                .post(put_legacy)
                .delete(delete_legacy),
        )
        .route("/{target}", put(create_index))
        .route("/{target}/_mapping", put(put_mapping).post(put_mapping))
        .route("/{target}/_settings", put(put_settings))
        .route("/{target}/_close", axum::routing::post(close_index))
        .route("/{target}/_open", axum::routing::post(open_index))
}

/// `?create=true` on template PUTs.
#[derive(Debug, Default, Deserialize)]
struct PutParams {
    create: Option<bool>,
}

fn index_error(e: IndexError) -> Response {
    IngestError::Index(e).into_response()
}

/// The request body as JSON; an empty body is `null`.
pub(super) async fn json_body(
    state: &IngestState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, Response> {
    let bytes = read_body(headers, body, state.limits)
        .await
        .map_err(IntoResponse::into_response)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        hydrant_http::es_error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            &format!("request body is not valid JSON: {e}"),
        )
    })
}

/// Runs a store update (it fsyncs) off the runtime threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IndexError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(index_error),
        Err(e) => Err(
            IngestError::Unavailable(format!("storing the definition failed: {e}")).into_response(),
        ),
    }
}

fn acknowledged() -> Response {
    axum::Json(json!({"acknowledged": true})).into_response()
}

async fn put_template(
    state: IngestState,
    kind: TemplateKind,
    name: String,
    params: PutParams,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(Value::Null) => {
            return hydrant_http::es_error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                "request body is required",
            );
        }
        Ok(v) => v,
        Err(r) => return r,
    };
    let catalog = state.pipeline.catalog().clone();
    let create = params.create.unwrap_or(false);
    match blocking(move || {
        catalog
            .definitions()
            .put_template(kind, &name, &body, create)
    })
    .await
    {
        Ok(()) => acknowledged(),
        Err(r) => r,
    }
}

fn list(state: &IngestState, kind: TemplateKind, names: Option<&str>) -> Response {
    let found = match state
        .pipeline
        .catalog()
        .definitions()
        .get_templates(kind, names)
    {
        Ok(found) => found,
        // The legacy API answers a missing name with an empty object.
        Err(IndexError::TemplateNotFound { .. }) if kind == TemplateKind::Legacy => {
            return (StatusCode::NOT_FOUND, axum::Json(json!({}))).into_response();
        }
        Err(e) => return index_error(e),
    };
    let body = match kind {
        TemplateKind::Composable => json!({"index_templates": found
            .iter()
            .map(|(name, t)| json!({"name": name, "index_template": hydrant_index::definitions::template_view(kind, t)}))
            .collect::<Vec<_>>()}),
        TemplateKind::Legacy => Value::Object(
            found
                .iter()
                .map(|(name, t)| {
                    (
                        name.clone(),
                        hydrant_index::definitions::template_view(kind, t),
                    )
                })
                .collect::<Map<String, Value>>(),
        ),
    };
    axum::Json(body).into_response()
}

fn head(state: &IngestState, kind: TemplateKind, name: &str) -> StatusCode {
    match state
        .pipeline
        .catalog()
        .definitions()
        .get_templates(kind, Some(name))
    {
        Ok(found) if !found.is_empty() => StatusCode::OK,
        _ => StatusCode::NOT_FOUND,
    }
}

async fn delete_template(state: IngestState, kind: TemplateKind, name: String) -> Response {
    let catalog = state.pipeline.catalog().clone();
    let shown = name.clone();
    match blocking(move || catalog.definitions().delete_templates(kind, &name)).await {
        Ok(()) => acknowledged(),
        Err(r) if r.status() == StatusCode::NOT_FOUND => hydrant_http::es_error(
            StatusCode::NOT_FOUND,
            "index_template_missing_exception",
            &format!("index_template [{shown}] missing"),
        ),
        Err(r) => r,
    }
}

async fn list_composable(State(state): State<IngestState>) -> Response {
    list(&state, TemplateKind::Composable, None)
}

async fn get_composable(State(state): State<IngestState>, Path(name): Path<String>) -> Response {
    list(&state, TemplateKind::Composable, Some(&name))
}

async fn head_composable(State(state): State<IngestState>, Path(name): Path<String>) -> StatusCode {
    head(&state, TemplateKind::Composable, &name)
}

async fn put_composable(
    State(state): State<IngestState>,
    Path(name): Path<String>,
    Query(params): Query<PutParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    put_template(state, TemplateKind::Composable, name, params, headers, body).await
}

async fn delete_composable(State(state): State<IngestState>, Path(name): Path<String>) -> Response {
    delete_template(state, TemplateKind::Composable, name).await
}

async fn list_legacy(State(state): State<IngestState>) -> Response {
    list(&state, TemplateKind::Legacy, None)
}

async fn get_legacy(State(state): State<IngestState>, Path(name): Path<String>) -> Response {
    list(&state, TemplateKind::Legacy, Some(&name))
}

async fn head_legacy(State(state): State<IngestState>, Path(name): Path<String>) -> StatusCode {
    head(&state, TemplateKind::Legacy, &name)
}

async fn put_legacy(
    State(state): State<IngestState>,
    Path(name): Path<String>,
    Query(params): Query<PutParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    put_template(state, TemplateKind::Legacy, name, params, headers, body).await
}

async fn delete_legacy(State(state): State<IngestState>, Path(name): Path<String>) -> Response {
    delete_template(state, TemplateKind::Legacy, name).await
}

/// `PUT /{index}`: the stream is created (empty) with the body's mappings, settings and
/// aliases, which every index of it is then created with.
async fn create_index(
    State(state): State<IngestState>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(reason) = hydrant_config::validate_stream_name(&target) {
        return IngestError::InvalidStreamName {
            name: target,
            reason,
        }
        .into_response();
    }
    let pipeline = &state.pipeline;
    let catalog = pipeline.catalog().clone();
    if catalog.get(&target).is_some()
        || catalog.has_stream(&target)
        || pipeline.get(&target).is_some()
        || pipeline.config().streams.contains_key(&target)
    {
        return index_error(IndexError::ResourceAlreadyExists(target));
    }
    let body = match json_body(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let name = target.clone();
    let defined = catalog.clone();
    match blocking(move || defined.definitions().define_index(&name, &body)).await {
        Ok(()) => {
            catalog.register_stream(&target);
            axum::Json(json!({"acknowledged": true, "shards_acknowledged": true, "index": target}))
                .into_response()
        }
        Err(r) => r,
    }
}

/// The streams `target` names: its indices' streams, and streams named directly.
fn target_streams(state: &IngestState, target: &str) -> Result<Vec<String>, IndexError> {
    let catalog = state.pipeline.catalog();
    let mut out = Vec::new();
    for part in target.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let lenient = ResolveOptions {
            ignore_unavailable: true,
            allow_no_indices: true,
        };
        let indices = catalog.resolve(part, lenient)?;
        out.extend(indices.iter().map(|i| i.stream().to_string()));
        if catalog.has_stream(part) || state.pipeline.get(part).is_some() {
            out.push(part.to_string());
        } else if indices.is_empty() && !part.contains('*') {
            return Err(IndexError::IndexNotFound(part.to_string()));
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(IndexError::IndexNotFound(target.to_string()));
    }
    Ok(out)
}

/// What the indices of `stream` have declared or explicitly mapped now, as a `mappings` body:
/// what a new mapping must not contradict.
fn current_mapping(state: &IngestState, stream: &str) -> Value {
    let mut current = json!({});
    for index in state.pipeline.catalog().stream_indices(stream) {
        let meta = index.meta();
        if let Some(declared) = &meta.declared {
            let _ = hydrant_index::definitions::es_mapping::merge(&mut current, declared, false);
        }
        for (path, kind) in &meta.mapping.fields {
            // `a.b` → {"properties": {"a": {"properties": {"b": {"type": …}}}}}
            let mut add = json!({"type": hydrant_index::mapping::type_name(*kind)});
            for part in path.rsplit('.') {
                add = json!({"properties": {part: add}});
            }
            let _ = hydrant_index::definitions::es_mapping::merge(&mut current, &add, false);
        }
    }
    current
}

/// `PUT /{target}/_mapping`: new fields for the streams behind `target`, applied to every index
/// they create from now on; a field whose type would change is refused.
async fn put_mapping(
    State(state): State<IngestState>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(Value::Null) => {
            return hydrant_http::es_error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                "request body is required",
            );
        }
        Ok(v) => v,
        Err(r) => return r,
    };
    let streams = match target_streams(&state, &target) {
        Ok(s) => s,
        Err(e) => return index_error(e),
    };
    let work: Vec<(String, Value)> = streams
        .into_iter()
        .map(|s| {
            let current = current_mapping(&state, &s);
            (s, current)
        })
        .collect();
    let catalog = state.pipeline.catalog().clone();
    match blocking(move || {
        work.iter()
            .try_for_each(|(s, current)| catalog.definitions().put_mapping(s, current, &body))
    })
    .await
    {
        Ok(()) => acknowledged(),
        Err(r) => r,
    }
}

/// `PUT /{target}/_settings`: settings for the indices the streams behind `target` create from
/// now on.
async fn put_settings(
    State(state): State<IngestState>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(Value::Null) => {
            return hydrant_http::es_error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                "request body is required",
            );
        }
        Ok(v) => v,
        Err(r) => return r,
    };
    let streams = match target_streams(&state, &target) {
        Ok(s) => s,
        Err(e) => return index_error(e),
    };
    // `{"index": {...}}`, `{"settings": {...}}` and the bare settings all mean the same.
    let settings = body.get("settings").cloned().unwrap_or(body);
    let catalog = state.pipeline.catalog().clone();
    match blocking(move || {
        streams
            .iter()
            .try_for_each(|s| catalog.definitions().put_settings(s, &settings))
    })
    .await
    {
        Ok(()) => acknowledged(),
        Err(r) => r,
    }
}

/// `POST /{target}/_close`: refused — a closed index would still take its disk and answer
/// nothing; Hydrant deletes indices (by request or retention) instead.
async fn close_index(State(state): State<IngestState>, Path(target): Path<String>) -> Response {
    if let Err(e) = target_streams(&state, &target) {
        return index_error(e);
    }
    IngestError::InvalidArgument(format!(
        "closing indices is not supported by Hydrant: [{target}] stays open; delete it with DELETE /{{index}} or let [index.retention] remove it"
    ))
    .into_response()
}

/// `POST /{target}/_open`: every index is open, so opening one that exists succeeds.
async fn open_index(State(state): State<IngestState>, Path(target): Path<String>) -> Response {
    match target_streams(&state, &target) {
        Ok(_) => {
            axum::Json(json!({"acknowledged": true, "shards_acknowledged": true})).into_response()
        }
        Err(e) => index_error(e),
    }
}
