//! `GET /`, index existence and settings, `_mapping`, `_field_caps`, `_cluster/health`,
//! `_resolve/index` and the cat tables.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, ES_VERSION, EsBody, EsQuery, respond, typed};
use crate::dsl::parse_query;
use crate::error::QueryError;
use crate::meta::{self, CatOutput, CatParams};
use crate::request::{SearchParams, parse_body};
use crate::search::{ShardTarget, count};

pub(super) async fn info(State(state): State<AppState>) -> Response {
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

pub(super) async fn info_head() -> StatusCode {
    StatusCode::OK
}

/// Targets of metadata requests resolve strictly unless told otherwise, as in ES.
fn strict(mut p: SearchParams) -> SearchParams {
    p.allow_no_indices.get_or_insert(false);
    p
}

pub(super) async fn index_head(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> StatusCode {
    match state.engine.resolve_defined(&target, &strict(params)) {
        Ok((i, pending)) if !i.is_empty() || !pending.is_empty() => StatusCode::OK,
        _ => StatusCode::NOT_FOUND,
    }
}

pub(super) async fn index_get(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    respond(
        state
            .gate
            .run(move || {
                let (indices, pending) = state.engine.resolve_defined(&target, &strict(params))?;
                let mappings = meta::mapping(&indices);
                let mut out = serde_json::Map::new();
                for (stream, declared) in pending {
                    let settings = state.engine.index_settings(None, &stream);
                    out.insert(
                        stream,
                        json!({"aliases": {}, "mappings": declared, "settings": settings}),
                    );
                }
                for index in &indices {
                    let aliases = if index.stream() != index.name() {
                        json!({ index.stream(): {} })
                    } else {
                        json!({})
                    };
                    out.insert(
                        index.name().to_string(),
                        json!({
                            "aliases": aliases,
                            "mappings": mappings[index.name()]["mappings"],
                            "settings": state.engine.index_settings(Some(index), index.stream()),
                        }),
                    );
                }
                Ok(Value::Object(out))
            })
            .await,
    )
}

/// `?flat_settings=true` and the resolution parameters.
#[derive(Debug, Default, Deserialize)]
pub(super) struct SettingsParams {
    flat_settings: Option<bool>,
    ignore_unavailable: Option<bool>,
    allow_no_indices: Option<bool>,
}

async fn run_settings(state: AppState, target: String, params: SettingsParams) -> Response {
    let search = SearchParams {
        ignore_unavailable: params.ignore_unavailable,
        allow_no_indices: Some(params.allow_no_indices.unwrap_or(target == "_all")),
        ..SearchParams::default()
    };
    let flat = params.flat_settings == Some(true);
    respond(
        state
            .gate
            .run(move || {
                let (indices, pending) = state.engine.resolve_defined(&target, &search)?;
                let mut out = serde_json::Map::new();
                let mut put = |name: String, nested: Value| {
                    let settings = if flat {
                        let mut f = serde_json::Map::new();
                        hydrant_index::definitions::flatten("", &nested, &mut f);
                        Value::Object(f)
                    } else {
                        nested
                    };
                    out.insert(name, json!({ "settings": settings }));
                };
                for (stream, _) in pending {
                    let nested = state.engine.index_settings(None, &stream);
                    put(stream, nested);
                }
                for index in &indices {
                    let nested = state.engine.index_settings(Some(index), index.stream());
                    put(index.name().to_string(), nested);
                }
                Ok(Value::Object(out))
            })
            .await,
    )
}

pub(super) async fn settings_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<SettingsParams>,
) -> Response {
    run_settings(state, "_all".into(), params).await
}

pub(super) async fn settings_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SettingsParams>,
) -> Response {
    run_settings(state, target, params).await
}

/// `_mapping`, or with `fields` (a comma list of names or patterns) `_mapping/field/{fields}`.
async fn run_mapping(
    state: AppState,
    target: String,
    params: SearchParams,
    fields: Option<String>,
) -> Response {
    respond(
        state
            .gate
            .run(move || {
                let (indices, pending) = state.engine.resolve_defined(&target, &params)?;
                let mut out = meta::mapping(&indices);
                for (stream, declared) in pending {
                    out[stream] = json!({ "mappings": declared });
                }
                Ok(match fields {
                    Some(f) => meta::field_mapping(&out, &f.split(',').collect::<Vec<_>>()),
                    None => out,
                })
            })
            .await,
    )
}

pub(super) async fn field_mapping_all(
    State(state): State<AppState>,
    Path(fields): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    run_mapping(state, "_all".into(), params, Some(fields)).await
}

pub(super) async fn field_mapping_target(
    State(state): State<AppState>,
    Path((target, fields)): Path<(String, String)>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    run_mapping(state, target, strict(params), Some(fields)).await
}

pub(super) async fn mapping_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    run_mapping(state, "_all".into(), params, None).await
}

pub(super) async fn mapping_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    run_mapping(state, target, strict(params), None).await
}

/// URL parameters of `_field_caps`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CapsParams {
    fields: Option<String>,
    include_unmapped: Option<bool>,
    ignore_unavailable: Option<bool>,
    allow_no_indices: Option<bool>,
}

async fn run_field_caps(
    state: AppState,
    target: String,
    params: CapsParams,
    body: axum::body::Bytes,
) -> Response {
    respond(
        state
            .gate
            .run(move || {
                let parsed = parse_body(&body)?;
                let mut patterns: Vec<String> = match parsed.get("fields") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
                    _ => Vec::new(),
                };
                patterns.extend(
                    params
                        .fields
                        .iter()
                        .flat_map(|f| f.split(',').map(|s| s.trim().to_string())),
                );
                if patterns.is_empty() {
                    return Err(QueryError::IllegalArgument(
                        "specified fields can't be null or empty".to_string(),
                    ));
                }
                let search = SearchParams {
                    ignore_unavailable: params.ignore_unavailable,
                    allow_no_indices: params.allow_no_indices,
                    ..SearchParams::default()
                };
                let mut indices = state.engine.resolve(&target, &search)?;
                if let Some(filter) = parsed.get("index_filter") {
                    // Kibana narrows the field list to indices that have documents in its time range.
                    let query = parse_query(filter)?;
                    let opts = crate::search::SearchOptions {
                        now_ms: chrono::Utc::now().timestamp_millis(),
                        ..Default::default()
                    };
                    let mut kept = Vec::new();
                    for index in indices {
                        let targets = ShardTarget::open(std::slice::from_ref(&index));
                        if count(&targets, &query, &opts, None)?.count > 0 {
                            kept.push(index);
                        }
                    }
                    indices = kept;
                }
                Ok(meta::field_caps(
                    &indices,
                    &patterns,
                    params.include_unmapped == Some(true),
                ))
            })
            .await,
    )
}

pub(super) async fn field_caps_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CapsParams>,
    EsBody(body): EsBody,
) -> Response {
    run_field_caps(state, "_all".into(), params, body).await
}

pub(super) async fn field_caps_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<CapsParams>,
    EsBody(body): EsBody,
) -> Response {
    run_field_caps(state, target, params, body).await
}

pub(super) async fn health_all(State(state): State<AppState>) -> Response {
    respond(
        state
            .gate
            .run(move || {
                let indices = state.engine.resolve("_all", &SearchParams::default())?;
                let damaged = state.engine.catalog.damaged_in("_all").len();
                Ok(meta::health(&indices, damaged))
            })
            .await,
    )
}

pub(super) async fn health_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    respond(
        state
            .gate
            .run(move || {
                let indices = state.engine.resolve(&target, &strict(params))?;
                let damaged = state.engine.catalog.damaged_in(&target).len();
                Ok(meta::health(&indices, damaged))
            })
            .await,
    )
}

pub(super) async fn resolve_index(
    State(state): State<AppState>,
    Path(expr): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    respond(meta::resolve(
        &state.engine.catalog,
        &expr,
        params.ignore_unavailable == Some(true),
    ))
}

fn cat_answer(result: Result<CatOutput, QueryError>) -> Response {
    match result {
        Ok(CatOutput::Json(v)) => axum::Json(v).into_response(),
        Ok(CatOutput::Text(t)) => typed("text/plain; charset=UTF-8", t),
        Err(e) => e.into_response(),
    }
}

/// Which `_cat` table.
#[derive(Clone)]
enum Cat {
    Indices,
    Shards,
    Health,
    Count,
    Aliases,
    Nodes,
    Templates(Option<String>),
}

async fn run_cat(state: AppState, target: String, params: CatParams, cat: Cat) -> Response {
    cat_answer(
        state
            .gate
            .run(move || {
                let indices = state.engine.resolve(&target, &SearchParams::default())?;
                match cat {
                    Cat::Indices => meta::cat_indices(&indices, &params),
                    Cat::Shards => meta::cat_shards(&indices, &params),
                    Cat::Health => {
                        let damaged = state.engine.catalog.damaged_in(&target).len();
                        meta::cat_health(&indices, damaged, &params)
                    }
                    Cat::Count => meta::cat_count(&indices, &params),
                    Cat::Aliases => {
                        meta::cat_aliases(&indices, state.engine.catalog().definitions(), &params)
                    }
                    Cat::Nodes => meta::cat_nodes(&params),
                    Cat::Templates(name) => meta::cat_templates(
                        state.engine.catalog().definitions(),
                        name.as_deref(),
                        &params,
                    ),
                }
            })
            .await,
    )
}

pub(super) async fn cat_templates_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Templates(None)).await
}

pub(super) async fn cat_templates(
    State(state): State<AppState>,
    Path(name): Path<String>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Templates(Some(name))).await
}

pub(super) async fn cat_health(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Health).await
}

pub(super) async fn cat_count_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Count).await
}

pub(super) async fn cat_count_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, target, params, Cat::Count).await
}

pub(super) async fn cat_aliases(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Aliases).await
}

pub(super) async fn cat_nodes(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Nodes).await
}

pub(super) async fn cat_indices_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Indices).await
}

pub(super) async fn cat_indices_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, target, params, Cat::Indices).await
}

pub(super) async fn cat_shards_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, "_all".into(), params, Cat::Shards).await
}

pub(super) async fn cat_shards_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<CatParams>,
) -> Response {
    run_cat(state, target, params, Cat::Shards).await
}
