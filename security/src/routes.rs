//! Elasticsearch's security endpoints that clients and tools call: who am I
//! (`GET /_security/_authenticate`) and API keys (`POST|PUT|GET|DELETE /_security/api_key`).
//! A user creates keys with at most their own roles, and sees and invalidates their own keys;
//! an admin sees and invalidates everyone's.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hydrant_config::Role;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{Principal, Security, SecurityError};

/// The `_security` routes.
pub fn router(security: Arc<Security>) -> Router {
    Router::new()
        .route("/_security/_authenticate", get(authenticate))
        .route(
            "/_security/api_key",
            get(list_keys)
                .post(create_key)
                .put(create_key)
                .delete(invalidate_keys),
        )
        .with_state(security)
}

async fn authenticate(Extension(p): Extension<Principal>) -> Response {
    let realm = json!({"name": p.realm, "type": p.realm});
    let mut body = json!({
        "username": p.username,
        "roles": p.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
        "full_name": null,
        "email": null,
        "metadata": {},
        "enabled": true,
        "authentication_realm": realm,
        "lookup_realm": realm,
        "authentication_type": if p.api_key.is_some() { "api_key" } else { "realm" },
    });
    if let Some((id, name)) = &p.api_key {
        body["api_key"] = json!({"id": id, "name": name});
    }
    Json(body).into_response()
}

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    #[serde(default)]
    expiration: Option<String>,
    #[serde(default)]
    role_descriptors: Option<serde_json::Map<String, Value>>,
    #[serde(default, rename = "metadata")]
    _metadata: Option<Value>,
}

/// The roles an Elasticsearch role descriptor grants, read from its privilege names.
fn descriptor_roles(descriptor: &Value) -> Vec<Role> {
    let mut roles = Vec::new();
    let names = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    for c in names(descriptor.get("cluster")) {
        if matches!(
            c.as_str(),
            "all" | "manage" | "manage_security" | "manage_api_key"
        ) {
            roles.push(Role::Admin);
        }
        if matches!(c.as_str(), "all" | "monitor") {
            roles.push(Role::Reader);
        }
    }
    for index in descriptor
        .get("indices")
        .or_else(|| descriptor.get("index"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for p in names(index.get("privileges")) {
            match p.as_str() {
                "all" => roles.extend(Role::ALL),
                "write" | "index" | "create" | "create_doc" | "create_index" | "auto_configure" => {
                    roles.push(Role::Writer)
                }
                "read" | "view_index_metadata" | "monitor" => roles.push(Role::Reader),
                "manage" | "delete_index" | "delete" => roles.push(Role::Admin),
                _ => {}
            }
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

async fn create_key(
    State(security): State<Arc<Security>>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let parsed: CreateBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return SecurityError::Parse(format!("failed to parse api key request: {e}"))
                .into_response();
        }
    };
    if parsed.name.trim().is_empty() || parsed.name.len() > 1024 {
        return SecurityError::BadRequest("api key name must be 1 to 1024 characters".into())
            .into_response();
    }
    let expiration = match parsed
        .expiration
        .as_deref()
        .map(hydrant_config::parse_duration_str)
    {
        None => None,
        Some(Some(d)) => Some(d),
        Some(None) => {
            return SecurityError::BadRequest(format!(
                "failed to parse [expiration] with value [{}]: use a time value such as 1d or 12h",
                parsed.expiration.unwrap_or_default()
            ))
            .into_response();
        }
    };
    // A key never holds more than its creator: ES's snapshot of the owner's privileges, narrowed
    // by the descriptors when given.
    let roles: Vec<Role> = match &parsed.role_descriptors {
        Some(d) if !d.is_empty() => {
            let granted: Vec<Role> = d.values().flat_map(descriptor_roles).collect();
            p.roles
                .iter()
                .copied()
                .filter(|r| granted.contains(r))
                .collect()
        }
        _ => p.roles.clone(),
    };
    if roles.is_empty() {
        return SecurityError::BadRequest(
            "the role descriptors grant nothing the creating user holds (reader, writer or admin)"
                .into(),
        )
        .into_response();
    }
    let owner = p.username.clone();
    let name = parsed.name.clone();
    let made = tokio::task::spawn_blocking(move || {
        security
            .api_keys()
            .create(&name, &owner, roles, expiration, chrono::Utc::now())
    })
    .await;
    match made {
        Ok(Ok(key)) => Json(key).into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => SecurityError::Hash(e.to_string()).into_response(),
    }
}

#[derive(Deserialize, Default)]
struct ListParams {
    id: Option<String>,
    name: Option<String>,
    username: Option<String>,
    owner: Option<String>,
}

/// The owner filter a principal may use: its own name unless it is an admin.
fn owner_filter(p: &Principal, asked: Option<String>, own: bool) -> Option<String> {
    if !p.has(Role::Admin) || own {
        return Some(p.username.clone());
    }
    asked
}

async fn list_keys(
    State(security): State<Arc<Security>>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ListParams>,
) -> Response {
    let own = q.owner.as_deref() == Some("true");
    let owner = owner_filter(&p, q.username.clone(), own);
    let keys = security
        .api_keys()
        .list(q.id.as_deref(), q.name.as_deref(), owner.as_deref());
    let api_keys: Vec<Value> = keys
        .iter()
        .map(|k| {
            json!({
                "id": k.id,
                "name": k.name,
                "creation": k.created_ms,
                "expiration": k.expiration_ms,
                "invalidated": k.invalidated,
                "username": k.owner,
                "realm": "basic",
                "metadata": {},
                "role_descriptors": {"hydrant": {"roles": k.roles.iter().map(|r| r.name()).collect::<Vec<_>>()}},
            })
        })
        .collect();
    Json(json!({ "api_keys": api_keys })).into_response()
}

#[derive(Deserialize, Default)]
struct InvalidateBody {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    owner: bool,
}

async fn invalidate_keys(
    State(security): State<Arc<Security>>,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let parsed: InvalidateBody = if body.iter().all(u8::is_ascii_whitespace) {
        InvalidateBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return SecurityError::Parse(format!("failed to parse invalidate request: {e}"))
                    .into_response();
            }
        }
    };
    let mut ids = parsed.ids;
    ids.extend(parsed.id);
    if ids.is_empty() && parsed.name.is_none() && parsed.username.is_none() && !parsed.owner {
        return SecurityError::BadRequest(
            "One of [ids], [name], [username] or [owner] must be specified".into(),
        )
        .into_response();
    }
    let owner = owner_filter(&p, parsed.username, parsed.owner);
    let done = tokio::task::spawn_blocking(move || {
        security
            .api_keys()
            .invalidate(&ids, parsed.name.as_deref(), owner.as_deref())
    })
    .await;
    match done {
        Ok(Ok((now, before))) => Json(json!({
            "invalidated_api_keys": now,
            "previously_invalidated_api_keys": before,
            "error_count": 0,
        }))
        .into_response(),
        Ok(Err(e)) => e.into_response(),
        Err(e) => SecurityError::Hash(e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_descriptors_are_read_from_privilege_names() {
        let d = json!({"indices": [{"names": ["logs-*"], "privileges": ["create_doc"]}]});
        assert_eq!(descriptor_roles(&d), [Role::Writer]);
        let d =
            json!({"cluster": ["monitor"], "indices": [{"names": ["*"], "privileges": ["read"]}]});
        assert_eq!(descriptor_roles(&d), [Role::Reader]);
        let d = json!({"cluster": ["all"]});
        assert_eq!(descriptor_roles(&d), [Role::Reader, Role::Admin]);
    }
}
