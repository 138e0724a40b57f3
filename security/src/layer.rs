//! The middleware in front of every route when users are configured: authenticate the
//! request's credentials, check the role its API needs, and refuse in Elasticsearch's shape —
//! 401 with `WWW-Authenticate` (so a browser asks for a password), 403 naming the role, 429
//! after too many failed sign-ins from one client. Each refusal is logged once, with who, what
//! and why, never a secret.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hydrant_config::Role;
use parking_lot::Mutex;

use crate::access::{Access, required};
use crate::{Principal, Security, SecurityError};

/// Failed sign-ins from one client within [`FAILURE_WINDOW`] before it is refused for a while.
pub const MAX_FAILURES: u32 = 10;
/// The window failed sign-ins are counted in, and how long a client is then refused.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Clients tracked at most; past it the oldest records are dropped.
const TRACKED_CLIENTS: usize = 10_000;

/// Failed sign-ins per client address.
#[derive(Default)]
pub struct FailedLogins {
    clients: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl FailedLogins {
    /// Seconds the client must wait, when it has failed too often lately.
    fn blocked(&self, ip: IpAddr) -> Option<u64> {
        let clients = self.clients.lock();
        let (count, since) = clients.get(&ip)?;
        let elapsed = since.elapsed();
        (*count >= MAX_FAILURES && elapsed < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - elapsed).as_secs().max(1))
    }

    fn failed(&self, ip: IpAddr) {
        let mut clients = self.clients.lock();
        if clients.len() >= TRACKED_CLIENTS {
            clients.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = clients.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    fn succeeded(&self, ip: IpAddr) {
        self.clients.lock().remove(&ip);
    }
}

/// What the middleware needs.
#[derive(Clone)]
pub struct Guard {
    /// Users and API keys.
    pub security: Arc<Security>,
    /// Failed sign-ins per client.
    pub failures: Arc<FailedLogins>,
}

/// The middleware: see the module documentation.
pub async fn authenticate(
    State(guard): State<Guard>,
    mut request: Request,
    next: Next,
) -> Response {
    let access = required(request.method(), request.uri().path(), request.headers());
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let path = request.uri().path().to_string();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match check(&guard, path, authorization, ip, access).await {
        Ok(principal) => {
            if principal.realm != "sigv4" {
                request.extensions_mut().insert(hydrant_http::Authenticated);
            }
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err((who, e)) => {
            tracing::warn!(
                who = %who,
                client = %ip.map(|i| i.to_string()).unwrap_or_default(),
                method = %request.method(),
                path = %request.uri().path(),
                reason = %e,
                "request refused"
            );
            e.into_response()
        }
    }
}

/// The principal of a request, or who it claimed to be and why it is refused.
async fn check(
    guard: &Guard,
    path: String,
    authorization: Option<String>,
    ip: Option<IpAddr>,
    access: Access,
) -> Result<Principal, (String, SecurityError)> {
    let Some(value) = authorization.as_deref() else {
        return Err(("anonymous".into(), SecurityError::Missing { path }));
    };
    let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
    let principal = if scheme.eq_ignore_ascii_case("AWS4-HMAC-SHA256") && guard.security.sigv4 {
        // The SigV4 verifier behind this layer checks the signature; an IAM principal that
        // signs correctly may do everything, as on a managed domain with an open access policy.
        Principal {
            username: "sigv4".into(),
            realm: "sigv4",
            api_key: None,
            roles: Role::ALL.to_vec(),
        }
    } else {
        if let Some(retry_after) = ip.and_then(|ip| guard.failures.blocked(ip)) {
            return Err(("client".into(), SecurityError::Throttled { retry_after }));
        }
        let decoded = STANDARD
            .decode(credentials.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let signed_in = if scheme.eq_ignore_ascii_case("Basic") {
            let (user, password) = decoded
                .as_deref()
                .and_then(|d| d.split_once(':'))
                .unwrap_or(("", ""));
            let who = format!("user [{user}]");
            (who, guard.security.basic(user, password).await)
        } else if scheme.eq_ignore_ascii_case("ApiKey") {
            let (id, secret) = decoded
                .as_deref()
                .and_then(|d| d.split_once(':'))
                .unwrap_or(("", ""));
            let who = format!("API key id [{id}]");
            (who, guard.security.api_key(id, secret))
        } else {
            return Err((
                "anonymous".into(),
                SecurityError::Scheme(scheme.chars().take(32).collect()),
            ));
        };
        match signed_in {
            (_, Some(p)) => {
                if let Some(ip) = ip {
                    guard.failures.succeeded(ip);
                }
                p
            }
            (who, None) => {
                if let Some(ip) = ip {
                    guard.failures.failed(ip);
                }
                return Err((who.clone(), SecurityError::Failed { who, path }));
            }
        }
    };
    if let Access::Needs(role) = access
        && !principal.has(role)
    {
        let who = format!("user [{}]", principal.username);
        let e = SecurityError::Forbidden {
            action: match role {
                Role::Reader => "read",
                Role::Writer => "write",
                Role::Admin => "admin",
            },
            who: who.clone(),
            roles: principal
                .roles
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(","),
            needs: role.name(),
        };
        return Err((who, e));
    }
    Ok(principal)
}
