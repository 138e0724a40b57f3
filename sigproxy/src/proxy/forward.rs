//! Forwarding one request: read, rewrite, sign, send, stream the answer back.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, header};

use super::access_log::{self, Counted, Entry};
use super::headers::{request_headers, response_headers, rewrite_location};
use super::{ProxyState, es_error, read_body};
use crate::SigproxyError;
use crate::canonical::ForwardTarget;
use crate::signer;
use hydrant_http::hash_body;

/// Query parameters of a presigned URL: the proxy signs in headers, so these would conflict.
fn is_presign_param(raw_pair: &str) -> bool {
    let name = raw_pair.split('=').next().unwrap_or("");
    name.get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"))
}

pub(crate) async fn forward(State(state): State<ProxyState>, request: Request) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let proxy_authority = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| state.settings.listen.to_string());
    match exchange(&state, request).await {
        Ok((response, upstream)) => {
            let (mut parts, body) = response.into_parts();
            if let Some(location) = parts.headers.get(header::LOCATION)
                && let Ok(text) = location.to_str()
            {
                let s = &state.settings;
                let hosts = [s.endpoint.authority(), s.sign_host.clone()];
                let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
                if let Some(rewritten) = rewrite_location(text, &hosts, &proxy_authority)
                    && let Ok(value) = HeaderValue::from_str(&rewritten)
                {
                    parts.headers.insert(header::LOCATION, value);
                }
            }
            let entry = Entry {
                method,
                path,
                status: parts.status.as_u16(),
                started,
                upstream: Some(upstream),
            };
            Response::from_parts(parts, Body::new(Counted::new(body, entry)))
        }
        Err(e) => {
            if matches!(e, SigproxyError::Credentials { .. }) {
                tracing::warn!("{e}");
            }
            let response = es_error(&e);
            access_log::log_local(&method, &path, &response);
            response
        }
    }
}

/// Sends the signed request; returns the endpoint's answer (body not yet read) and the time
/// it took to arrive.
async fn exchange(
    state: &ProxyState,
    request: Request,
) -> Result<(http::Response<reqwest::Body>, Duration), SigproxyError> {
    let settings = &state.settings;
    let upstream = signed_request(state, request).await?;
    let sent = Instant::now();
    let result = tokio::time::timeout(settings.request_timeout, state.client.execute(upstream))
        .await
        .map_err(|_| SigproxyError::UpstreamTimeout {
            endpoint: settings.endpoint.base_url(),
            stage: "answer",
            after: settings.request_timeout,
        })?;
    let response = result.map_err(|e| upstream_error(state, &e))?;
    let upstream_latency = sent.elapsed();
    if response.status() == http::StatusCode::FORBIDDEN && says_token_expired(response.headers()) {
        tracing::warn!("the endpoint says the security token has expired; loading new credentials");
        state.signer.credentials().invalidate();
    }
    let mut response: http::Response<reqwest::Body> = response.into();
    *response.headers_mut() = response_headers(response.headers());
    Ok((response, upstream_latency))
}

/// The client's request, read whole, rewritten to its canonical target and signed.
async fn signed_request(
    state: &ProxyState,
    request: Request,
) -> Result<reqwest::Request, SigproxyError> {
    let settings = &state.settings;
    let (parts, body) = request.into_parts();
    let query: Option<String> = parts.uri.query().map(|q| {
        q.split('&')
            .filter(|pair| !is_presign_param(pair))
            .collect::<Vec<_>>()
            .join("&")
    });
    let target = ForwardTarget::new(parts.uri.path(), query.as_deref());
    let body = read_body(body, &parts.headers, settings.max_body_size).await?;
    let payload_sha256 = hash_body(body.clone()).await;
    let mut headers = request_headers(&parts.headers);
    let path_and_query = target.path_and_query();
    let signature = state
        .signer
        .sign(&signer::Request {
            method: parts.method.as_str(),
            path_and_query: &path_and_query,
            headers: &headers,
            payload_sha256: &payload_sha256,
        })
        .await?;
    headers.extend(signature.headers);
    if let Ok(host) = HeaderValue::from_str(&settings.sign_host) {
        headers.insert(header::HOST, host);
    }
    let url = format!("{}{}", settings.endpoint.base_url(), path_and_query);
    let url = reqwest::Url::parse(&url).map_err(|e| SigproxyError::Upstream {
        endpoint: settings.endpoint.base_url(),
        reason: format!("cannot form the URL `{url}`: {e}"),
    })?;
    let mut upstream = reqwest::Request::new(parts.method.clone(), url);
    *upstream.headers_mut() = headers;
    if !body.is_empty() || method_has_body(&parts.method) {
        *upstream.body_mut() = Some(reqwest::Body::from(body));
    }
    Ok(upstream)
}

fn method_has_body(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::POST | http::Method::PUT | http::Method::PATCH
    )
}

fn says_token_expired(headers: &HeaderMap) -> bool {
    headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("ExpiredToken"))
}

fn upstream_error(state: &ProxyState, e: &reqwest::Error) -> SigproxyError {
    let endpoint = state.settings.endpoint.base_url();
    let reason = crate::credentials::error_chain(e);
    if e.is_connect() {
        if e.is_timeout() {
            return SigproxyError::UpstreamTimeout {
                endpoint,
                stage: "accept a connection",
                after: state.settings.connect_timeout,
            };
        }
        return SigproxyError::UpstreamConnect { endpoint, reason };
    }
    if e.is_timeout() {
        return SigproxyError::UpstreamTimeout {
            endpoint,
            stage: "answer",
            after: state.settings.request_timeout,
        };
    }
    SigproxyError::Upstream { endpoint, reason }
}
