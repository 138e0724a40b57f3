//! Saved dashboards: JSON documents the page creates, edits, exports and imports, kept one file
//! per dashboard under `data_dir/ui/dashboards/` (written to a temporary file, synced, then
//! renamed, so a crash leaves the old or the new version, never half of one), plus the
//! built-in dashboards shipped in `assets/dashboards/`.
//!
//! The server keeps dashboards as the page wrote them: it checks only that each is a JSON
//! object with a `title` and within [`MAX_DASHBOARD_BYTES`]; what panels mean is the page's
//! business.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::error::UiError;

/// Largest dashboard accepted, in bytes of JSON.
pub const MAX_DASHBOARD_BYTES: usize = 1 << 20;

/// The dashboards of one data directory.
#[derive(Debug)]
pub struct DashboardStore {
    dir: PathBuf,
}

impl DashboardStore {
    /// The store under `data_dir/ui/dashboards` (created on the first save).
    pub fn new(data_dir: &Path) -> DashboardStore {
        DashboardStore {
            dir: data_dir.join("ui").join("dashboards"),
        }
    }

    /// Every dashboard's id, title and whether it is built in, built-in ones first.
    pub fn list(&self) -> Result<Vec<Value>, UiError> {
        let mut out: Vec<Value> = builtin_ids()
            .filter_map(|id| builtin(&id).map(|d| summary(&id, &d, true)))
            .collect();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => return Err(self.io(&self.dir, source)),
        };
        let mut saved = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| self.io(&self.dir, source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json")
                && valid_id(id)
                && let Ok(d) = self.read(id)
            {
                saved.push(summary(id, &d, false));
            }
        }
        saved.sort_by(|a, b| a["title"].as_str().cmp(&b["title"].as_str()));
        out.extend(saved);
        Ok(out)
    }

    /// One dashboard, with its `id` and `builtin` flag.
    pub fn get(&self, id: &str) -> Result<Value, UiError> {
        check_id(id)?;
        let (mut d, is_builtin) = match builtin(id) {
            Some(d) => (d, true),
            None => (self.read(id)?, false),
        };
        if let Value::Object(o) = &mut d {
            o.insert("id".into(), json!(id));
            o.insert("builtin".into(), json!(is_builtin));
        }
        Ok(d)
    }

    /// Saves `body` as dashboard `id`; `true` when it is new.
    pub fn put(&self, id: &str, body: &[u8]) -> Result<bool, UiError> {
        check_id(id)?;
        if builtin(id).is_some() {
            return Err(UiError::BuiltIn(id.to_string()));
        }
        if body.len() > MAX_DASHBOARD_BYTES {
            return Err(UiError::TooLarge {
                limit: MAX_DASHBOARD_BYTES,
                size: body.len(),
            });
        }
        let mut d: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|e| UiError::InvalidBody(format!("expected a JSON object: {e}")))?;
        let titled = d
            .get("title")
            .and_then(Value::as_str)
            .is_some_and(|t| !t.trim().is_empty());
        if !titled {
            return Err(UiError::InvalidBody(
                "`title` must be a non-empty string".into(),
            ));
        }
        d.remove("id");
        d.remove("builtin");
        let text =
            serde_json::to_vec_pretty(&d).map_err(|e| UiError::InvalidBody(e.to_string()))?;
        std::fs::create_dir_all(&self.dir).map_err(|source| self.io(&self.dir, source))?;
        let path = self.path(id);
        let created = !path.exists();
        write_atomically(&path, &text).map_err(|source| self.io(&path, source))?;
        Ok(created)
    }

    /// Deletes dashboard `id`.
    pub fn delete(&self, id: &str) -> Result<(), UiError> {
        check_id(id)?;
        if builtin(id).is_some() {
            return Err(UiError::BuiltIn(id.to_string()));
        }
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(not_found(id)),
            Err(source) => Err(self.io(&path, source)),
        }
    }

    fn read(&self, id: &str) -> Result<Value, UiError> {
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found(id)),
            Err(source) => return Err(self.io(&path, source)),
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            UiError::InvalidBody(format!(
                "stored dashboard `{}` is damaged: {e}",
                path.display()
            ))
        })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn io(&self, path: &Path, source: std::io::Error) -> UiError {
        UiError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn not_found(id: &str) -> UiError {
    UiError::NotFound {
        what: "dashboard",
        id: id.to_string(),
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_id(id: &str) -> Result<(), UiError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(UiError::InvalidId(id.to_string()))
    }
}

fn summary(id: &str, d: &Value, is_builtin: bool) -> Value {
    json!({
        "id": id,
        "title": d.get("title").cloned().unwrap_or(Value::Null),
        "description": d.get("description").cloned().unwrap_or(Value::Null),
        "builtin": is_builtin,
    })
}

/// Ids of the built-in dashboards (`assets/dashboards/<id>.json`).
fn builtin_ids() -> impl Iterator<Item = String> {
    crate::assets::names().filter_map(|name| {
        name.strip_prefix("dashboards/")
            .and_then(|n| n.strip_suffix(".json"))
            .map(str::to_string)
    })
}

fn builtin(id: &str) -> Option<Value> {
    let bytes = crate::assets::read(&format!("dashboards/{id}.json"))?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes `data` to `path` through a synced temporary file and a rename.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// `GET /_hydrant/ui/dashboards`, and `GET|PUT|DELETE /_hydrant/ui/dashboards/{id}`.
pub fn router(store: Arc<DashboardStore>) -> Router {
    Router::new()
        .route("/_hydrant/ui/dashboards", get(list))
        .route(
            "/_hydrant/ui/dashboards/{id}",
            get(get_one).put(put_one).delete(delete_one),
        )
        .with_state(store)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, UiError> + Send + 'static,
) -> Result<T, UiError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(UiError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e.to_string()),
        })
    })
}

async fn list(State(store): State<Arc<DashboardStore>>) -> Response {
    match blocking(move || store.list()).await {
        Ok(list) => axum::Json(json!({ "dashboards": list })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn get_one(
    State(store): State<Arc<DashboardStore>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    match blocking(move || store.get(&id)).await {
        Ok(d) => axum::Json(d).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn put_one(
    State(store): State<Arc<DashboardStore>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    let name = id.clone();
    match blocking(move || store.put(&id, &body)).await {
        Ok(created) => {
            let status = if created {
                axum::http::StatusCode::CREATED
            } else {
                axum::http::StatusCode::OK
            };
            let result = if created { "created" } else { "updated" };
            (status, axum::Json(json!({ "_id": name, "result": result }))).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn delete_one(
    State(store): State<Arc<DashboardStore>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let name = id.clone();
    match blocking(move || store.delete(&id)).await {
        Ok(()) => axum::Json(json!({ "_id": name, "result": "deleted" })).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests;
