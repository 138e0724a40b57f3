//! Hydrant's browser UI: Discover, dashboards and the stream monitor, served by `hydrant serve`
//! at `/_ui/` on the API's own port.
//!
//! The page is a plain client of the public API (`_search`, `_msearch`, `_cat`, the metrics):
//! every aggregation runs on the server. This crate owns two things only:
//! - [`assets`]: the page's files, embedded in release builds (read from `ui/assets/` in debug
//!   builds), served with a strict Content-Security-Policy;
//! - [`dashboards`]: saved dashboards, stored as JSON files under the data directory, plus the
//!   built-in ones shipped with the page.
//!
//! [`router`] wires both; [`redirect_browsers`] sends a browser that opens `/` to the UI while
//! API clients asking for `/` keep getting Elasticsearch's answer.
#![deny(missing_docs)]

pub mod assets;
pub mod dashboards;
mod error;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

pub use dashboards::DashboardStore;
pub use error::UiError;

/// Where the UI lives.
pub const UI_PATH: &str = "/_ui/";

/// The UI's routes: the page under `/_ui/` and the dashboards API under
/// `/_hydrant/ui/dashboards`.
pub fn router(store: Arc<DashboardStore>) -> Router {
    Router::new()
        .route("/_ui", get(|| async { Redirect::permanent(UI_PATH) }))
        .route("/_ui/", get(assets::index))
        .route("/_ui/{*path}", get(assets::file))
        .merge(dashboards::router(store))
}

/// A middleware for the whole app: `GET /` from a browser (it accepts `text/html`) is
/// redirected to the UI; everything else passes through untouched.
pub async fn redirect_browsers(request: Request, next: Next) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if request.uri().path() == "/" && request.method() == axum::http::Method::GET && wants_html {
        return Redirect::temporary(UI_PATH).into_response();
    }
    next.run(request).await
}
