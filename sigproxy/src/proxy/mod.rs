//! The signing proxy: unsigned requests in on loopback, SigV4-signed requests out to one
//! Amazon Elasticsearch/OpenSearch domain or OpenSearch Serverless collection.
//!
//! Stages of a request, one module each: [`forward`] reads the body (up to the limit), rewrites
//! the target to its canonical form, signs and sends it, and streams the answer back with
//! [`headers`] deciding what crosses in each direction; [`access_log`] writes one line per
//! request when its answer has been sent. `GET /_sigproxy/health` is answered locally.

mod access_log;
mod forward;
mod headers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use hydrant_config::{SecretText, SigningService, SigproxyConfig};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{CredentialsCache, Endpoint, Signer, SigproxyError};

/// Validated proxy settings: the `[sigproxy]` table with command-line overrides applied.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// Where requests go.
    pub endpoint: Endpoint,
    /// The signing region.
    pub region: String,
    /// The signing service.
    pub service: SigningService,
    /// The host signed and sent (the endpoint's unless overridden).
    pub sign_host: String,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// `user:password` required from clients.
    pub basic_auth: Option<SecretText>,
    /// Largest request body forwarded.
    pub max_body_size: u64,
    /// Connect timeout to the endpoint.
    pub connect_timeout: Duration,
    /// Time the endpoint has to start answering, and for each later part of the answer.
    pub request_timeout: Duration,
    /// The profile for the credential chain.
    pub profile: Option<String>,
}

impl ProxySettings {
    /// Validates `config`: a usable endpoint, a region (given or inferred), and a loopback
    /// listen address unless remote access is allowed and protected by basic auth.
    pub fn from_config(config: &SigproxyConfig) -> Result<ProxySettings, SigproxyError> {
        let endpoint = Endpoint::parse(&config.endpoint)?;
        let inferred = endpoint.infer();
        let region = if config.region.is_empty() {
            inferred
                .region
                .ok_or_else(|| SigproxyError::CannotInferRegion {
                    host: endpoint.host.clone(),
                })?
        } else {
            config.region.clone()
        };
        let service = config
            .service
            .or(inferred.service)
            .unwrap_or(SigningService::Es);
        let listen = config.listen;
        let protected = config.allow_remote && config.basic_auth.is_some();
        if !(listen.ip().is_loopback() || protected) {
            return Err(SigproxyError::RemoteBindRefused { addr: listen });
        }
        let sign_host = if config.sign_host.is_empty() {
            endpoint.authority()
        } else {
            config.sign_host.to_ascii_lowercase()
        };
        Ok(ProxySettings {
            endpoint,
            region,
            service,
            sign_host,
            listen,
            basic_auth: config.basic_auth.clone(),
            max_body_size: config.max_body_size,
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            profile: (!config.profile.is_empty()).then(|| config.profile.clone()),
        })
    }
}

/// What every request handler shares.
#[derive(Clone)]
pub struct ProxyState {
    pub(crate) settings: Arc<ProxySettings>,
    pub(crate) signer: Signer,
    pub(crate) client: reqwest::Client,
    basic_auth_digest: Option<[u8; 32]>,
}

impl ProxyState {
    /// State for `settings`, signing with `credentials`.
    pub fn new(
        settings: ProxySettings,
        credentials: Arc<CredentialsCache>,
    ) -> Result<ProxyState, SigproxyError> {
        let signer = Signer::new(
            credentials,
            &settings.endpoint.scheme,
            &settings.sign_host,
            &settings.region,
            settings.service.as_str(),
        );
        let client = reqwest::Client::builder()
            // A redirect goes back to the browser (rewritten), never followed here.
            .redirect(reqwest::redirect::Policy::none())
            // Compressed answers pass through as they are.
            .no_gzip()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.request_timeout)
            .pool_idle_timeout(Duration::from_secs(50))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| SigproxyError::Upstream {
                endpoint: settings.endpoint.base_url(),
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        let basic_auth_digest = settings
            .basic_auth
            .as_ref()
            .map(|s| Sha256::digest(s.expose().as_bytes()).into());
        Ok(ProxyState {
            settings: Arc::new(settings),
            signer,
            client,
            basic_auth_digest,
        })
    }

    /// Uses `signer` (one with a test clock, say) instead of the one built from the settings.
    pub fn with_signer(mut self, signer: Signer) -> ProxyState {
        self.signer = signer;
        self
    }
}

/// The proxy's routes: `GET /_sigproxy/health` locally, everything else forwarded.
pub fn router(state: ProxyState) -> Router {
    Router::new()
        .route("/_sigproxy/health", get(health))
        .fallback(forward::forward)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            basic_auth,
        ))
        .with_state(state)
}

/// Serves `router(state)` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ProxyState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health(State(state): State<ProxyState>) -> Response {
    // Load (or refresh) on demand, so the answer says whether a request would be signed now.
    let error = state
        .signer
        .credentials()
        .credentials()
        .await
        .err()
        .map(|e| e.to_string());
    let creds = state.signer.credentials().status();
    let status = if creds.loaded {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let s = &state.settings;
    let body = serde_json::json!({
        "status": if creds.loaded { "ok" } else { "no_credentials" },
        "endpoint": s.endpoint.base_url(),
        "sign_host": s.sign_host,
        "region": s.region,
        "service": s.service.as_str(),
        "credentials": creds,
        "error": error,
    });
    (status, axum::Json(body)).into_response()
}

async fn basic_auth(State(state): State<ProxyState>, request: Request, next: Next) -> Response {
    let Some(expected) = &state.basic_auth_digest else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .map(|raw| <[u8; 32]>::from(Sha256::digest(&raw)));
    // Digests have one length whatever was sent, so the comparison leaks nothing.
    let ok = given.is_some_and(|g| bool::from(g.ct_eq(expected)));
    if ok {
        return next.run(request).await;
    }
    let mut response = es_error(&SigproxyError::Unauthorized);
    response.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Basic realm=\"hydrant sigproxy\", charset=\"UTF-8\""),
    );
    access_log::log_local(request.method(), request.uri().path(), &response);
    response
}

/// An Elasticsearch-shaped error, so that Kibana and clients show the reason.
pub(crate) fn es_error(e: &SigproxyError) -> Response {
    hydrant_http::es_error(e.status(), e.es_error_type(), &e.to_string())
}

/// Reads a whole body, refusing past `limit` bytes (see [`crate::body`]).
pub(crate) async fn read_body(
    body: Body,
    headers: &HeaderMap,
    limit: u64,
) -> Result<Bytes, SigproxyError> {
    use hydrant_http::body::{ReadError, declared_length, read_limited};
    read_limited(body, declared_length(headers), limit)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge => SigproxyError::BodyTooLarge { limit },
            ReadError::Read(reason) => SigproxyError::BodyRead { reason },
        })
}

#[cfg(test)]
mod tests;
