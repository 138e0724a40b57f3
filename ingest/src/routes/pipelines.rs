//! The ingest pipeline API, as Elasticsearch has it: `PUT|GET|DELETE /_ingest/pipeline/{id}`,
//! `GET /_ingest/pipeline`, `_simulate` (with `verbose`), `GET /_ingest/processor/grok` and
//! `GET /_nodes/stats/ingest`. Thin handlers over [`hydrant_pipeline::Registry`].

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hydrant_pipeline::PipelineError;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::routes::IngestState;

/// The pipeline routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/_ingest/pipeline", get(list_all))
        .route(
            "/_ingest/pipeline/_simulate",
            get(simulate_inline).post(simulate_inline),
        )
        .route(
            "/_ingest/pipeline/{id}",
            get(list_some).put(put_pipeline).delete(delete_pipeline),
        )
        .route(
            "/_ingest/pipeline/{id}/_simulate",
            get(simulate_stored).post(simulate_stored),
        )
        .route("/_ingest/processor/grok", get(grok_patterns))
        .route("/_nodes/stats/ingest", get(node_stats))
}

fn error(e: &PipelineError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(json!({ "error": e.es_error(), "status": e.status() })),
    )
        .into_response()
}

/// The request body as JSON; an empty one is refused, as every pipeline API needs one.
async fn json_body(
    state: &IngestState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, Response> {
    match super::indices::json_body(state, headers, body).await? {
        Value::Null => Err(error(&PipelineError::BadRequest(
            "request body is required".into(),
        ))),
        v => Ok(v),
    }
}

async fn put_pipeline(
    State(state): State<IngestState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let def = match json_body(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let registry = state.pipeline.pipelines().clone();
    // Stored durably (fsync) before the answer: off the runtime threads.
    let stored = tokio::task::spawn_blocking(move || registry.put(&id, &def)).await;
    match stored {
        Ok(Ok(())) => axum::Json(json!({ "acknowledged": true })).into_response(),
        Ok(Err(e)) => error(&e),
        Err(e) => error(&PipelineError::BadRequest(format!(
            "storing the pipeline failed: {e}"
        ))),
    }
}

async fn delete_pipeline(State(state): State<IngestState>, Path(id): Path<String>) -> Response {
    let registry = state.pipeline.pipelines().clone();
    match tokio::task::spawn_blocking(move || registry.delete(&id)).await {
        Ok(Ok(_)) => axum::Json(json!({ "acknowledged": true })).into_response(),
        Ok(Err(e)) => error(&e),
        Err(e) => error(&PipelineError::BadRequest(format!(
            "deleting the pipeline failed: {e}"
        ))),
    }
}

fn listing(state: &IngestState, expr: Option<&str>) -> Response {
    let found = state.pipeline.pipelines().list(expr);
    let status = if found.is_empty() && expr.is_some() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let body: Map<String, Value> = found
        .into_iter()
        .map(|(id, p, _)| (id, p.definition().clone()))
        .collect();
    (status, axum::Json(Value::Object(body))).into_response()
}

async fn list_all(State(state): State<IngestState>) -> Response {
    listing(&state, None)
}

async fn list_some(State(state): State<IngestState>, Path(id): Path<String>) -> Response {
    listing(&state, Some(&id))
}

#[derive(Debug, Default, Deserialize)]
struct SimulateParams {
    #[serde(default)]
    verbose: Option<String>,
}

async fn simulate(
    state: IngestState,
    id: Option<String>,
    params: SimulateParams,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let verbose = matches!(params.verbose.as_deref(), Some("" | "true"));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let registry = state.pipeline.pipelines().clone();
    let ran = tokio::task::spawn_blocking(move || {
        hydrant_pipeline::simulate(&registry, id.as_deref(), &body, verbose, &now)
    })
    .await;
    match ran {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(e)) => error(&e),
        Err(e) => error(&PipelineError::BadRequest(format!(
            "simulation failed: {e}"
        ))),
    }
}

async fn simulate_inline(
    State(state): State<IngestState>,
    Query(params): Query<SimulateParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    simulate(state, None, params, headers, body).await
}

async fn simulate_stored(
    State(state): State<IngestState>,
    Path(id): Path<String>,
    Query(params): Query<SimulateParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    simulate(state, Some(id), params, headers, body).await
}

#[derive(Debug, Default, Deserialize)]
struct GrokParams {
    #[serde(default)]
    ecs_compatibility: Option<String>,
}

async fn grok_patterns(Query(params): Query<GrokParams>) -> Response {
    let ecs = match params.ecs_compatibility.as_deref() {
        None | Some("disabled") => false,
        Some("v1") => true,
        Some(other) => {
            return error(&PipelineError::BadRequest(format!(
                "unsupported ecs_compatibility value [{other}]; valid values are [disabled, v1]"
            )));
        }
    };
    let patterns: Map<String, Value> = hydrant_pipeline::grok_patterns(ecs)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    axum::Json(json!({ "patterns": patterns })).into_response()
}

async fn node_stats(State(state): State<IngestState>) -> Response {
    axum::Json(json!({
        "_nodes": { "total": 1, "successful": 1, "failed": 0 },
        "cluster_name": "hydrant",
        "nodes": { "hydrant": { "name": "hydrant", "ingest": state.pipeline.pipelines().stats_json() } },
    }))
    .into_response()
}
