//! `_search` (JSON or Arrow), `_msearch`, `_count`, scrolls and points in time.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::{AppState, EsBody, EsQuery, respond, typed, with_status};
use crate::arrow::{ARROW_STREAM, hits_to_ipc};
use crate::error::QueryError;
use crate::msearch::msearch;
use crate::request::{SearchParams, parse_body};

fn wants_arrow(params: &SearchParams, headers: &HeaderMap) -> bool {
    params.format.as_deref() == Some("arrow")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains(ARROW_STREAM))
}

/// A search that reads about this many documents or fewer ([`crate::engine::Planned::reads`]) runs on the
/// thread that received it: the hop to the blocking pool and back — a thread woken on each
/// side — costs more than such a search (the last 15 minutes of a day of logs read ~0.25 ms
/// here and ~0.33 ms through the pool; BENCHMARKS.md). It is also short enough (well under a
/// millisecond at the 5–10 ns a document of aggregations) to hold the runtime's thread for.
const READS_HERE: u64 = 1 << 15;

/// A body larger than this is parsed on the blocking pool, as is a scrolling search.
const PLAN_HERE_BODY: usize = 64 << 10;

#[cfg(test)]
thread_local! {
    /// How many searches this thread ran where they arrived.
    pub(super) static RAN_HERE: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

async fn run_search(
    state: AppState,
    target: Option<String>,
    params: SearchParams,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let arrow = wants_arrow(&params, &headers);
    let answer = move |(req, resp)| {
        if arrow {
            Ok(Err(hits_to_ipc(&resp, &req)?))
        } else {
            Ok(Ok(resp))
        }
    };
    let result = if params.scroll.is_none() && body.len() <= PLAN_HERE_BODY {
        match state.engine.plan(target.as_deref(), &params, &body) {
            Ok(planned) if planned.reads() <= READS_HERE => {
                #[cfg(test)]
                RAN_HERE.with(|n| n.set(n.get() + 1));
                state.gate.run_here(|| answer(planned.run()?)).await
            }
            Ok(planned) => state.gate.run(move || answer(planned.run()?)).await,
            Err(e) => Err(e),
        }
    } else {
        state
            .gate
            .run(move || answer(state.engine.search(target.as_deref(), &params, &body)?))
            .await
    };
    match result {
        Ok(Ok(resp)) => axum::Json(resp).into_response(),
        Ok(Err(ipc)) => typed(ARROW_STREAM, ipc),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn search_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<SearchParams>,
    headers: HeaderMap,
    EsBody(body): EsBody,
) -> Response {
    run_search(state, None, params, headers, body).await
}

pub(super) async fn search_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
    headers: HeaderMap,
    EsBody(body): EsBody,
) -> Response {
    run_search(state, Some(target), params, headers, body).await
}

async fn run_msearch(
    state: AppState,
    target: Option<String>,
    params: SearchParams,
    body: axum::body::Bytes,
) -> Response {
    respond(
        state
            .gate
            .run(move || msearch(&state.engine, target.as_deref(), &params, &body))
            .await,
    )
}

pub(super) async fn msearch_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<SearchParams>,
    EsBody(body): EsBody,
) -> Response {
    run_msearch(state, None, params, body).await
}

pub(super) async fn msearch_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
    EsBody(body): EsBody,
) -> Response {
    run_msearch(state, Some(target), params, body).await
}

pub(super) async fn count_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<SearchParams>,
    EsBody(body): EsBody,
) -> Response {
    respond(
        state
            .gate
            .run(move || state.engine.count(None, &params, &body))
            .await,
    )
}

pub(super) async fn count_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
    EsBody(body): EsBody,
) -> Response {
    respond(
        state
            .gate
            .run(move || state.engine.count(Some(&target), &params, &body))
            .await,
    )
}

/// URL parameters of the scroll endpoints.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ScrollParams {
    scroll: Option<String>,
    scroll_id: Option<String>,
    rest_total_hits_as_int: Option<String>,
}

/// The scroll id and keep-alive from the body, the URL or the path.
fn scroll_args(
    params: &ScrollParams,
    path_id: Option<String>,
    body: &[u8],
) -> Result<(Vec<String>, Option<String>), QueryError> {
    let parsed = parse_body(body)?;
    let mut ids: Vec<String> = match parsed.get("scroll_id") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    ids.extend(
        params
            .scroll_id
            .iter()
            .flat_map(|s| s.split(',').map(str::to_string)),
    );
    ids.extend(
        path_id
            .into_iter()
            .flat_map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>()),
    );
    let keep_alive = parsed
        .get("scroll")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| params.scroll.clone());
    Ok((ids, keep_alive))
}

async fn run_scroll(
    state: AppState,
    params: ScrollParams,
    path_id: Option<String>,
    body: axum::body::Bytes,
) -> Response {
    respond(
        state
            .gate
            .run(move || {
                let (ids, keep_alive) = scroll_args(&params, path_id, &body)?;
                let id = ids.first().ok_or_else(|| {
                    QueryError::IllegalArgument("scrollId is missing".to_string())
                })?;
                let search_params = SearchParams {
                    rest_total_hits_as_int: params
                        .rest_total_hits_as_int
                        .as_deref()
                        .map(|v| v != "false"),
                    ..SearchParams::default()
                };
                state
                    .engine
                    .scroll(id, keep_alive.as_deref(), &search_params)
            })
            .await,
    )
}

pub(super) async fn scroll(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<ScrollParams>,
    EsBody(body): EsBody,
) -> Response {
    run_scroll(state, params, None, body).await
}

pub(super) async fn scroll_path(
    State(state): State<AppState>,
    Path(id): Path<String>,
    EsQuery(params): EsQuery<ScrollParams>,
    EsBody(body): EsBody,
) -> Response {
    run_scroll(state, params, Some(id), body).await
}

async fn run_clear(
    state: AppState,
    params: ScrollParams,
    path_id: Option<String>,
    body: axum::body::Bytes,
) -> Response {
    match scroll_args(&params, path_id, &body) {
        Ok((ids, _)) => {
            let answer = state.engine.clear_scroll(&ids);
            let freed = answer["num_freed"].as_u64().unwrap_or(0);
            let status = if freed == 0 && !ids.is_empty() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            with_status(status, answer)
        }
        Err(e) => e.into_response(),
    }
}

pub(super) async fn clear_scroll(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<ScrollParams>,
    EsBody(body): EsBody,
) -> Response {
    run_clear(state, params, None, body).await
}

pub(super) async fn clear_scroll_path(
    State(state): State<AppState>,
    Path(id): Path<String>,
    EsQuery(params): EsQuery<ScrollParams>,
    EsBody(body): EsBody,
) -> Response {
    run_clear(state, params, Some(id), body).await
}

pub(super) async fn open_pit(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    respond(
        state
            .gate
            .run(move || state.engine.open_pit(&target, &params))
            .await,
    )
}

pub(super) async fn close_pit(State(state): State<AppState>, EsBody(body): EsBody) -> Response {
    match state.engine.close_pit(&body) {
        Ok((true, answer)) => with_status(StatusCode::OK, answer),
        Ok((false, answer)) => with_status(StatusCode::NOT_FOUND, answer),
        Err(e) => e.into_response(),
    }
}
