//! The media types of request bodies the Elasticsearch API takes: JSON and NDJSON (with
//! Elasticsearch's vendor forms), or no `Content-Type` at all. Any other type with a body gets
//! Elasticsearch's own refusal, 406 `Content-Type header [text/plain] is not supported`.
//!
//! Besides answering as Elasticsearch does, this is what keeps a web page from driving the API
//! behind the user's back: a browser sends a cross-site `POST` without asking first only when
//! its type is `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data`, so a
//! page's `fetch("http://127.0.0.1:9200/…/_delete_by_query", {method: "POST", mode:
//! "no-cors", body})` is refused before it runs. Hydrant's own record endpoints
//! (`/v1/streams/…`), where `text/plain` raw lines are the point, are not behind this layer.

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The layer: `axum::middleware::from_fn(hydrant_http::es_media_type)`.
pub async fn es_media_type(req: Request, next: Next) -> Response {
    if has_body(req.headers())
        && let Some(refused) = refused_type(req.headers())
    {
        let body = serde_json::json!({
            "error": format!("Content-Type header [{refused}] is not supported"),
            "status": 406,
        });
        return (StatusCode::NOT_ACCEPTABLE, axum::Json(body)).into_response();
    }
    next.run(req).await
}

fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// The request's `Content-Type` when it is not one the API reads.
fn refused_type(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::CONTENT_TYPE)?;
    let value = String::from_utf8_lossy(raw.as_bytes()).to_string();
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = matches!(
        mime.as_str(),
        "application/json"
            | "application/x-ndjson"
            | "application/vnd.elasticsearch+json"
            | "application/vnd.elasticsearch+x-ndjson"
            | "application/vnd.opensearch+json"
    );
    (!ok).then_some(mime)
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn status(content_type: Option<&str>, body: &'static str) -> (u16, String) {
        let app = Router::new()
            .route("/_search", post(|| async { "ok" }))
            .layer(axum::middleware::from_fn(super::es_media_type));
        let mut req = Request::post("/_search").header("content-length", body.len());
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let response = app
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).to_string())
    }

    #[tokio::test]
    async fn json_and_ndjson_pass_and_browser_form_types_are_refused() {
        for ok in [
            Some("application/json"),
            Some("application/json; charset=UTF-8"),
            Some("application/x-ndjson"),
            Some("application/vnd.elasticsearch+json; compatible-with=8"),
            None,
        ] {
            assert_eq!(status(ok, "{}").await.0, 200, "{ok:?}");
        }
        for refused in [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let (code, body) = status(Some(refused), "{}").await;
            assert_eq!(code, 406, "{refused}");
            let mime = refused.split(';').next().unwrap();
            assert!(
                body.contains(&format!("Content-Type header [{mime}] is not supported")),
                "{body}"
            );
        }
        // No body, no check: a GET with a form type and nothing to read.
        assert_eq!(status(Some("text/plain"), "").await.0, 200);
    }
}
