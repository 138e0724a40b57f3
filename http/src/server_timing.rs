//! `Server-Timing` on every answer: how long the server took with the request, to the
//! microsecond (ES's `took` counts whole milliseconds and leaves out parsing and writing the
//! answer). Browsers show it in their network panel; the query bench reads it to separate
//! Hydrant's own time from the client's and the connection's.

use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The layer: `axum::middleware::from_fn(hydrant_http::server_timing)`.
pub async fn server_timing(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(req).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("total;dur={ms:.3}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn every_answer_says_how_long_the_server_took() {
        let app = Router::new()
            .route("/", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(super::server_timing));
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let value = response.headers()["server-timing"].to_str().unwrap();
        let ms: f64 = value.strip_prefix("total;dur=").unwrap().parse().unwrap();
        assert!((0.0..1000.0).contains(&ms), "{value}");
    }
}
