//! `DELETE /{index}/_doc/{id}` and `POST /{index}/_update/{id}`: thin handlers over
//! [`crate::documents`], which `_bulk`'s `update` and `delete` items share.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

use super::indices::json_body;
use crate::documents::{Conditions, DocError, Outcome, delete_doc, update_doc};
use crate::error::IngestError;
use crate::routes::{IngestState, RecordParams};

/// The update and delete routes.
pub(super) fn routes() -> Router<IngestState> {
    Router::new()
        .route("/{target}/_update/{id}", post(update))
        .route("/{target}/_doc/{id}", axum::routing::delete(delete))
}

/// The conditions of a request's URL.
pub(super) fn conditions(params: &RecordParams) -> Conditions {
    Conditions {
        if_seq_no: params.if_seq_no,
        if_primary_term: params.if_primary_term,
    }
}

/// A document operation's answer as HTTP.
pub(super) fn respond(result: Result<Outcome, DocError>) -> Response {
    match result {
        Ok(o) => (o.status, axum::Json(o.body)).into_response(),
        Err(e) => (e.status, axum::Json(e.body())).into_response(),
    }
}

async fn delete(
    State(state): State<IngestState>,
    Path((target, id)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
) -> Response {
    let result = delete_doc(
        &state,
        &target,
        &id,
        conditions(&params),
        params.refresh.as_deref(),
    )
    .await;
    respond(result)
}

async fn update(
    State(state): State<IngestState>,
    Path((target, id)): Path<(String, String)>,
    Query(params): Query<RecordParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match json_body(&state, &headers, body).await {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return IngestError::InvalidArgument(
                "Validation Failed: 1: script or doc is missing;".into(),
            )
            .into_response();
        }
        Err(r) => return r,
    };
    let result = update_doc(
        &state,
        &target,
        &id,
        &body,
        conditions(&params),
        params.refresh.as_deref(),
    )
    .await;
    respond(result)
}
