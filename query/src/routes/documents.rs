//! Reading one document: `GET|HEAD /{index}/_doc/{id}` and `GET|HEAD /{index}/_source/{id}`,
//! answered in Elasticsearch's shapes (`found`, `_version`, `_seq_no`, `_source`; a 404 with
//! `"found": false`). Each is an `ids` search of the target, so aliases, patterns and rotated
//! indices work as for `_search`; `_source`, `_source_includes` and `_source_excludes` apply.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AppState, EsBody, EsQuery, with_status};
use crate::error::QueryError;
use crate::request::SearchParams;
use crate::search::Hit;

/// The hit with `_id` `id` in `target`, if there is one.
async fn find(
    state: &AppState,
    target: &str,
    id: &str,
    params: SearchParams,
) -> Result<Option<Hit>, QueryError> {
    let body = json!({
        "query": { "ids": { "values": [id] } },
        "size": 1,
        "version": true,
        "seq_no_primary_term": true,
    })
    .to_string();
    let engine = state.engine.clone();
    let target = target.to_string();
    let (_, resp) = state
        .gate
        .run(move || engine.search(Some(&target), &params, body.as_bytes()))
        .await?;
    Ok(resp.hits.hits.into_iter().next())
}

fn doc_body(hit: Hit) -> Value {
    let mut v = json!({
        "_index": hit.index,
        "_id": hit.id,
        "_version": hit.version.unwrap_or(1),
        "_seq_no": hit.seq_no.unwrap_or(0),
        "_primary_term": hit.primary_term.unwrap_or(1),
        "found": true,
    });
    if let Some(source) = hit.source {
        v["_source"] = serde_json::from_str(source.get()).unwrap_or(Value::Null);
    }
    v
}

pub(super) async fn get_doc(
    State(state): State<AppState>,
    Path((target, id)): Path<(String, String)>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    match find(&state, &target, &id, params).await {
        Ok(Some(hit)) => with_status(StatusCode::OK, doc_body(hit)),
        Ok(None) => with_status(
            StatusCode::NOT_FOUND,
            json!({ "_index": target, "_id": id, "found": false }),
        ),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn head_doc(
    State(state): State<AppState>,
    Path((target, id)): Path<(String, String)>,
    EsQuery(params): EsQuery<SearchParams>,
) -> StatusCode {
    match find(&state, &target, &id, params).await {
        Ok(Some(_)) => StatusCode::OK,
        Ok(None) => StatusCode::NOT_FOUND,
        Err(e) => e.status(),
    }
}

pub(super) async fn get_source(
    State(state): State<AppState>,
    Path((target, id)): Path<(String, String)>,
    EsQuery(params): EsQuery<SearchParams>,
) -> Response {
    match find(&state, &target, &id, params).await {
        Ok(Some(hit)) => {
            let source = hit
                .source
                .and_then(|s| serde_json::from_str::<Value>(s.get()).ok())
                .unwrap_or(Value::Null);
            with_status(StatusCode::OK, source)
        }
        Ok(None) => hydrant_http::es_error(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            &format!("Document not found [{target}]/[{id}]"),
        ),
        Err(e) => e.into_response(),
    }
}

/// One document of `_mget`, in its shape: found, not found, or the error of its index.
async fn mget_one(
    state: &AppState,
    index: Option<&str>,
    id: Option<&str>,
    params: &SearchParams,
) -> Value {
    let (Some(index), Some(id)) = (index, id) else {
        let missing = if index.is_none() {
            "index is missing"
        } else {
            "id is missing"
        };
        return json!({"_index": index, "_id": id, "error": hydrant_http::es_error_body(
            StatusCode::BAD_REQUEST, "action_request_validation_exception",
            &format!("Validation Failed: 1: {missing} for doc 0;"), None)["error"]});
    };
    match find(state, index, id, params.clone()).await {
        Ok(Some(hit)) => doc_body(hit),
        Ok(None) => json!({"_index": index, "_id": id, "found": false}),
        Err(e) => {
            let body = hydrant_http::es_error_body(e.status(), e.es_type(), &e.to_string(), None);
            json!({"_index": index, "_id": id, "error": body["error"]})
        }
    }
}

async fn mget(
    state: AppState,
    target: Option<String>,
    params: SearchParams,
    body: &[u8],
) -> Response {
    let body: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return hydrant_http::es_error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                &format!("request body is not valid JSON: {e}"),
            );
        }
    };
    let mut wanted: Vec<(Option<String>, Option<String>)> = Vec::new();
    if let Some(docs) = body.get("docs").and_then(Value::as_array) {
        for d in docs {
            let index = d
                .get("_index")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| target.clone());
            let id = match d.get("_id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            wanted.push((index, id));
        }
    } else if let Some(ids) = body.get("ids").and_then(Value::as_array) {
        for id in ids {
            let id = id
                .as_str()
                .map(str::to_string)
                .or_else(|| id.as_number().map(ToString::to_string));
            wanted.push((target.clone(), id));
        }
    } else {
        return hydrant_http::es_error(
            StatusCode::BAD_REQUEST,
            "action_request_validation_exception",
            "Validation Failed: 1: no documents to get;",
        );
    }
    let mut docs = Vec::with_capacity(wanted.len());
    for (index, id) in &wanted {
        docs.push(mget_one(&state, index.as_deref(), id.as_deref(), &params).await);
    }
    with_status(StatusCode::OK, json!({ "docs": docs }))
}

pub(super) async fn mget_all(
    State(state): State<AppState>,
    EsQuery(params): EsQuery<SearchParams>,
    EsBody(body): EsBody,
) -> Response {
    mget(state, None, params, &body).await
}

pub(super) async fn mget_target(
    State(state): State<AppState>,
    Path(target): Path<String>,
    EsQuery(params): EsQuery<SearchParams>,
    EsBody(body): EsBody,
) -> Response {
    mget(state, Some(target), params, &body).await
}
