//! Aliases, as Elasticsearch has them: `POST /_aliases` (`add` and `remove` actions, applied
//! together), `PUT|POST|DELETE /{index}/_alias/{name}`, `GET /_alias[/{name}]`,
//! `GET /{index}/_alias[/{name}]` and `HEAD` of both. An alias points at indices or at whole
//! streams; searches through it cover them, writes go to its write stream. A stream is itself
//! an alias of its rotated indices, and is listed as one.
//!
//! Alias `filter`s and `routing` are refused: Hydrant does not apply them, and a filtered
//! alias that returned unfiltered documents would be a wrong success.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hydrant_index::definitions::AliasAction;
use hydrant_index::{IndexError, ResolveOptions, wildcard_match};
use serde_json::{Map, Value, json};

use super::indices::{blocking, json_body};
use crate::error::IngestError;
use crate::routes::IngestState;

/// The alias routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/_aliases", post(update_aliases).get(get_all))
        .route("/_alias", get(get_all))
        .route("/_alias/{name}", get(get_named).head(head_named))
        .route("/{target}/_alias", get(get_target))
        .route("/{target}/_aliases", get(get_target))
        .route(
            "/{target}/_alias/{name}",
            get(get_target_named)
                .head(head_target_named)
                .put(put_one)
                .post(put_one)
                .delete(delete_one),
        )
        .route(
            "/{target}/_aliases/{name}",
            axum::routing::put(put_one).post(put_one).delete(delete_one),
        )
}

fn illegal(reason: String) -> IngestError {
    IngestError::InvalidArgument(reason)
}

/// The concrete targets (indices, or streams named as such) of an action's `index`/`indices`.
fn expand(state: &IngestState, pattern: &str) -> Result<Vec<String>, IndexError> {
    let catalog = state.pipeline.catalog();
    let mut out = Vec::new();
    for part in pattern.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if catalog.has_stream(part) || state.pipeline.get(part).is_some() {
            out.push(part.to_string());
            continue;
        }
        let lenient = ResolveOptions {
            ignore_unavailable: true,
            allow_no_indices: true,
        };
        let found = catalog.resolve(part, lenient)?;
        if found.is_empty() {
            return Err(IndexError::IndexNotFound(part.to_string()));
        }
        out.extend(found.iter().map(|h| h.name().to_string()));
    }
    Ok(out)
}

/// A string or a list of strings under `one` or `many`.
fn names(action: &Map<String, Value>, one: &str, many: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in [one, many] {
        match action.get(key) {
            Some(Value::String(s)) => out.push(s.clone()),
            Some(Value::Array(a)) => {
                out.extend(a.iter().filter_map(Value::as_str).map(str::to_string))
            }
            _ => {}
        }
    }
    out
}

fn read_actions(state: &IngestState, body: &Value) -> Result<Vec<AliasAction>, IngestError> {
    let Some(actions) = body.get("actions").and_then(Value::as_array) else {
        return Err(illegal("Validation Failed: 1: no actions;".into()));
    };
    let catalog = state.pipeline.catalog();
    let mut out = Vec::new();
    for entry in actions {
        let Some((kind, action)) = entry.as_object().and_then(|o| o.iter().next()) else {
            return Err(illegal(format!(
                "[aliases] action must be an object, got [{entry}]"
            )));
        };
        let Some(action) = action.as_object() else {
            return Err(illegal(format!("[{kind}] must be an object")));
        };
        if kind == "remove_index" {
            return Err(illegal(
                "[remove_index] is not supported: delete the index with DELETE /{index}".into(),
            ));
        }
        if kind != "add" && kind != "remove" {
            return Err(illegal(format!("Unknown action [{kind}]")));
        }
        for refused in ["filter", "routing", "index_routing", "search_routing"] {
            if action.get(refused).is_some_and(|v| !v.is_null()) {
                return Err(illegal(format!(
                    "alias [{refused}] is not supported by Hydrant"
                )));
            }
        }
        let targets = names(action, "index", "indices");
        let aliases = names(action, "alias", "aliases");
        if targets.is_empty() || aliases.is_empty() {
            return Err(illegal(format!(
                "Validation Failed: 1: [{kind}] needs [index] and [alias];"
            )));
        }
        let mut props = Map::new();
        for key in ["is_write_index", "is_hidden"] {
            if let Some(v) = action.get(key) {
                props.insert(key.into(), v.clone());
            }
        }
        for pattern in &targets {
            let concrete = expand(state, pattern)?;
            for target in concrete {
                for alias in &aliases {
                    if kind == "add" {
                        if catalog.is_index_or_stream(alias) {
                            return Err(IngestError::Index(IndexError::InvalidDefinition {
                                es_type: "invalid_alias_name_exception",
                                reason: format!(
                                    "Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias"
                                ),
                            }));
                        }
                        out.push(AliasAction::Add {
                            target: target.clone(),
                            alias: alias.clone(),
                            props: Value::Object(props.clone()),
                        });
                    } else {
                        out.push(AliasAction::Remove {
                            target: target.clone(),
                            alias: alias.clone(),
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

async fn apply(state: &IngestState, actions: Vec<AliasAction>) -> Response {
    let catalog = state.pipeline.catalog().clone();
    match blocking(move || catalog.definitions().update_aliases(&actions)).await {
        Ok(()) => axum::Json(json!({"acknowledged": true, "errors": false})).into_response(),
        Err(r) => r,
    }
}

async fn update_aliases(
    State(state): State<IngestState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match read_actions(&state, &body) {
        Ok(actions) => apply(&state, actions).await,
        Err(e) => e.into_response(),
    }
}

async fn put_one(
    State(state): State<IngestState>,
    Path((target, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut action = match json_body(&state, &headers, body).await {
        Ok(Value::Object(m)) => m,
        Ok(_) => Map::new(),
        Err(r) => return r,
    };
    action.insert("index".into(), json!(target));
    action.insert("alias".into(), json!(name));
    match read_actions(&state, &json!({"actions": [{"add": action}]})) {
        Ok(actions) => apply(&state, actions).await,
        Err(e) => e.into_response(),
    }
}

async fn delete_one(
    State(state): State<IngestState>,
    Path((target, name)): Path<(String, String)>,
) -> Response {
    let action = json!({"remove": {"index": target, "alias": name}});
    match read_actions(&state, &json!({"actions": [action]})) {
        Ok(actions) => apply(&state, actions).await,
        Err(e) => e.into_response(),
    }
}

/// Index name → alias → properties, for the indices `target` names, keeping the aliases that
/// match `name` (comma list, wildcards). Streams are aliases of their rotated indices.
fn listing(
    state: &IngestState,
    target: &str,
    name: Option<&str>,
) -> Result<BTreeMap<String, Map<String, Value>>, IndexError> {
    let catalog = state.pipeline.catalog();
    let strict = ResolveOptions {
        ignore_unavailable: false,
        allow_no_indices: true,
    };
    let indices = catalog.resolve(target, strict)?;
    let wanted = |alias: &str| {
        name.is_none_or(|n| {
            n.split(',')
                .any(|p| p == "_all" || wildcard_match(p.trim(), alias))
        })
    };
    let aliases = catalog.definitions().aliases();
    let mut out: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    // Streams `PUT /{index}` created that have no index yet are listed under their own name.
    for stream in catalog.definitions().defined_streams() {
        let named = target == "_all"
            || target
                .split(',')
                .any(|p| wildcard_match(p.trim(), &stream) || p.trim() == stream);
        if !named || !catalog.stream_indices(&stream).is_empty() {
            continue;
        }
        let entry = out.entry(stream.clone()).or_default();
        for (alias, targets) in &aliases {
            if let Some(props) = targets.get(&stream)
                && wanted(alias)
            {
                entry.insert(alias.clone(), props.clone());
            }
        }
    }
    for index in &indices {
        let entry = out.entry(index.name().to_string()).or_default();
        if index.stream() != index.name() && wanted(index.stream()) {
            entry.insert(index.stream().to_string(), json!({}));
        }
        for (alias, targets) in &aliases {
            let props = targets
                .get(index.name())
                .or_else(|| targets.get(index.stream()));
            if let Some(props) = props
                && wanted(alias)
            {
                entry.insert(alias.clone(), props.clone());
            }
        }
    }
    Ok(out)
}

fn answer(state: &IngestState, target: &str, name: Option<&str>) -> Response {
    let found = match listing(state, target, name) {
        Ok(f) => f,
        Err(e) => return IngestError::Index(e).into_response(),
    };
    let keep_empty = name.is_none();
    let body: Map<String, Value> = found
        .into_iter()
        .filter(|(_, a)| keep_empty || !a.is_empty())
        .map(|(index, aliases)| (index, json!({ "aliases": aliases })))
        .collect();
    if let Some(name) = name
        && body.is_empty()
        && !name.contains('*')
    {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": format!("alias [{name}] missing"), "status": 404})),
        )
            .into_response();
    }
    axum::Json(Value::Object(body)).into_response()
}

async fn get_all(State(state): State<IngestState>) -> Response {
    answer(&state, "_all", None)
}

async fn get_named(State(state): State<IngestState>, Path(name): Path<String>) -> Response {
    answer(&state, "_all", Some(&name))
}

async fn get_target(State(state): State<IngestState>, Path(target): Path<String>) -> Response {
    answer(&state, &target, None)
}

async fn get_target_named(
    State(state): State<IngestState>,
    Path((target, name)): Path<(String, String)>,
) -> Response {
    answer(&state, &target, Some(&name))
}

fn exists(state: &IngestState, target: &str, name: &str) -> StatusCode {
    match listing(state, target, Some(name)) {
        Ok(found) if found.values().any(|a| !a.is_empty()) => StatusCode::OK,
        _ => StatusCode::NOT_FOUND,
    }
}

async fn head_named(State(state): State<IngestState>, Path(name): Path<String>) -> StatusCode {
    exists(&state, "_all", &name)
}

async fn head_target_named(
    State(state): State<IngestState>,
    Path((target, name)): Path<(String, String)>,
) -> StatusCode {
    exists(&state, &target, &name)
}
