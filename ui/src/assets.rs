//! The page's files, embedded in release builds (debug builds read `ui/assets/` from disk, so
//! the page can be changed and reloaded without rebuilding), served with a strict
//! Content-Security-Policy and ETags.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::UiError;

/// Everything under `ui/assets/`.
#[derive(RustEmbed)]
#[folder = "assets/"]
struct Assets;

/// The policy on every UI response: the page loads only its own files, talks only to its own
/// origin, and cannot be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /_ui/`: the page.
pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /_ui/{path}`: a file of the page; a path without an extension is a view of the page
/// (a reload or a shared link), answered with the page itself.
pub async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if Assets::get(&path).is_some() {
        return serve(&path, &headers);
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        return UiError::NotFound {
            what: "file",
            id: path,
        }
        .into_response();
    }
    serve("index.html", &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return UiError::NotFound {
            what: "file",
            id: path.to_string(),
        }
        .into_response();
    };
    let etag = format!("\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype().to_string();
        ([(header::CONTENT_TYPE, mime)], file.data.into_owned()).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Revalidated on every load (cheap: a 304), so a new binary's page is never mixed with an
    // old cached script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Names of every file of the page.
pub(crate) fn names() -> impl Iterator<Item = String> {
    Assets::iter().map(|n| n.into_owned())
}

/// A file of the page.
pub(crate) fn read(path: &str) -> Option<Vec<u8>> {
    Assets::get(path).map(|f| f.data.into_owned())
}
