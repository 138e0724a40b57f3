//! SigV4 verification for Hydrant's own API (`[auth.sigv4]`): the check an IAM-protected
//! Amazon Elasticsearch/OpenSearch domain makes, so that clients and `hydrant sigproxy` run
//! against Hydrant as they would against AWS.
//!
//! A request passes when its `Authorization` header is a SigV4 one made with a configured key,
//! for the configured region and service, within `max_clock_skew` of this machine's clock, and
//! its signature matches the canonical request rebuilt from what arrived (path and query as
//! sent, the headers it lists, the body's SHA-256). Anything else gets 403 with AWS's error
//! shape: `x-amzn-ErrorType` and a JSON body with `__type` and `message`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::sign::v4;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;
use hydrant_config::Sigv4AuthConfig;
use subtle::ConstantTimeEq;

use crate::SigproxyError;
use crate::canonical::{ALGORITHM, CanonicalOptions, CanonicalRequest, amz_date, parse_amz_date};
use crate::credentials::{Clock, system_clock};

/// What a request must satisfy.
#[derive(Clone)]
pub struct Policy {
    /// Access key id → secret access key.
    pub keys: BTreeMap<String, String>,
    /// The region a scope must name.
    pub region: String,
    /// The service a scope must name.
    pub service: String,
    /// Largest allowed difference between `X-Amz-Date` and the clock.
    pub max_clock_skew: Duration,
}

impl Policy {
    /// The policy `[auth.sigv4]` describes.
    pub fn from_config(config: &Sigv4AuthConfig) -> Policy {
        Policy {
            keys: config
                .keys
                .iter()
                .map(|(id, secret)| (id.clone(), secret.expose().to_string()))
                .collect(),
            region: config.region.clone(),
            service: config.service.as_str().to_string(),
            max_clock_skew: config.max_clock_skew,
        }
    }
}

/// The parts of an `AWS4-HMAC-SHA256` authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id.
    pub access_key_id: String,
    /// `yyyymmdd` of the scope.
    pub date: String,
    /// The scope's region.
    pub region: String,
    /// The scope's service.
    pub service: String,
    /// Signed header names, lowercase, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature.
    pub signature: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=…/…/…/…/aws4_request, SignedHeaders=…, Signature=…`.
pub fn parse_authorization(value: &str) -> Result<Authorization, SigproxyError> {
    let malformed = |reason: &str| SigproxyError::MalformedAuthorization {
        reason: reason.to_string(),
    };
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| malformed("Authorization header must use AWS4-HMAC-SHA256"))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(malformed("Authorization header has an unknown part")),
        }
    }
    let credential = credential
        .ok_or_else(|| malformed("Authorization header requires 'Credential' parameter."))?;
    let signed = signed
        .ok_or_else(|| malformed("Authorization header requires 'SignedHeaders' parameter."))?;
    let signature = signature
        .ok_or_else(|| malformed("Authorization header requires 'Signature' parameter."))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(malformed(
            "Credential must have the form <key>/<date>/<region>/<service>/aws4_request.",
        ));
    };
    Ok(Authorization {
        access_key_id: id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed.split(';').map(|s| s.to_ascii_lowercase()).collect(),
        signature: signature.to_string(),
    })
}

/// Verifies the signature of a request whose body hashes to `body_sha256`, at `now`.
/// Returns the access key id that signed it.
pub fn verify(
    parts: &Parts,
    body_sha256: &str,
    policy: &Policy,
    now: SystemTime,
) -> Result<String, SigproxyError> {
    let header = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or(SigproxyError::MissingAuthentication)?;
    let auth = parse_authorization(&String::from_utf8_lossy(header.as_bytes()))?;
    let secret =
        policy
            .keys
            .get(&auth.access_key_id)
            .ok_or_else(|| SigproxyError::UnknownAccessKey {
                access_key_id: auth.access_key_id.clone(),
            })?;
    let date_text = header_text(&parts.headers, "x-amz-date").ok_or_else(|| {
        SigproxyError::MalformedAuthorization {
            reason: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".to_string(),
        }
    })?;
    let time = parse_amz_date(&date_text).ok_or_else(|| SigproxyError::MalformedAuthorization {
        reason: format!("X-Amz-Date `{date_text}` is not of the form yyyyMMddTHHmmssZ"),
    })?;
    check_skew(time, now, policy.max_clock_skew, &date_text)?;
    // AWS SDKs sign Firehose API calls for the service `firehose`, whatever Hydrant's own
    // search API is configured to expect.
    // Only a signed `X-Amz-Target` on `POST /` (where the Firehose API answers) counts.
    let firehose_call = parts.method == http::Method::POST
        && parts.uri.path() == "/"
        && auth.signed_headers.iter().any(|h| h == "x-amz-target")
        && header_text(&parts.headers, "x-amz-target")
            .is_some_and(|t| t.starts_with(FIREHOSE_TARGET_PREFIX));
    check_scope(&auth, &date_text, policy, firehose_call)?;
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(SigproxyError::MalformedAuthorization {
            reason: "'Host' must be a signed header.".to_string(),
        });
    }
    let payload_hash = match header_text(&parts.headers, "x-amz-content-sha256") {
        Some(claimed) if claimed == "UNSIGNED-PAYLOAD" => claimed,
        Some(claimed) if claimed != body_sha256 => return Err(SigproxyError::PayloadHashMismatch),
        _ => body_sha256.to_string(),
    };
    let headers: Vec<(&str, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let creq = CanonicalRequest::new(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        headers.iter().map(|(n, v)| (*n, v.as_str())),
        &auth.signed_headers,
        &payload_hash,
        CanonicalOptions::default(),
    );
    let string_to_sign = creq.string_to_sign(time, &auth.region, &auth.service);
    let key = v4::generate_signing_key(secret, time, &auth.region, &auth.service);
    let expected = v4::calculate_signature(key, string_to_sign.as_bytes());
    if expected.as_bytes().ct_eq(auth.signature.as_bytes()).into() {
        Ok(auth.access_key_id)
    } else {
        Err(SigproxyError::SignatureMismatch)
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
}

fn check_skew(
    time: SystemTime,
    now: SystemTime,
    skew: Duration,
    date_text: &str,
) -> Result<(), SigproxyError> {
    let off = match now.duration_since(time) {
        Ok(d) => d,
        Err(e) => e.duration(),
    };
    if off > skew {
        return Err(SigproxyError::ClockSkew {
            date: date_text.to_string(),
            now: amz_date(now).1,
            skew,
        });
    }
    Ok(())
}

/// The `X-Amz-Target` prefix of the Firehose API's operations.
const FIREHOSE_TARGET_PREFIX: &str = "Firehose_20150804.";

fn check_scope(
    auth: &Authorization,
    date_text: &str,
    policy: &Policy,
    firehose_call: bool,
) -> Result<(), SigproxyError> {
    if auth.region != policy.region {
        return Err(SigproxyError::WrongScope {
            expected: format!("a valid region, '{}'", policy.region),
            got: auth.region.clone(),
        });
    }
    if auth.service != policy.service && !(firehose_call && auth.service == "firehose") {
        return Err(SigproxyError::WrongScope {
            expected: if firehose_call {
                format!("the service '{}' or 'firehose'", policy.service)
            } else {
                format!("the service '{}'", policy.service)
            },
            got: auth.service.clone(),
        });
    }
    if !date_text.starts_with(&auth.date) {
        return Err(SigproxyError::WrongScope {
            expected: format!(
                "the date of X-Amz-Date, '{}'",
                date_text.get(..8).unwrap_or(date_text)
            ),
            got: auth.date.clone(),
        });
    }
    Ok(())
}

/// The state of the verification layer.
#[derive(Clone)]
pub struct Verifier {
    policy: Arc<Policy>,
    max_body: u64,
    clock: Clock,
}

impl Verifier {
    /// A verifier for `policy` that reads bodies up to `max_body` bytes (413 past it).
    pub fn new(policy: Policy, max_body: u64) -> Verifier {
        Verifier {
            policy: Arc::new(policy),
            max_body,
            clock: system_clock(),
        }
    }

    /// Uses `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: Clock) -> Verifier {
        self.clock = clock;
        self
    }

    /// Wraps every route of `router` in the check.
    pub fn protect<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        router.layer(axum::middleware::from_fn_with_state(self, check))
    }
}

async fn check(State(verifier): State<Verifier>, request: Request, next: Next) -> Response {
    if request
        .extensions()
        .get::<hydrant_http::Authenticated>()
        .is_some()
    {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let body = match crate::proxy::read_body(body, &parts.headers, verifier.max_body).await {
        Ok(b) => b,
        Err(e) => return aws_error(&e),
    };
    let hash = hydrant_http::hash_body(body.clone()).await;
    match verify(&parts, &hash, &verifier.policy, (verifier.clock)()) {
        Ok(key) => {
            tracing::debug!(access_key_id = %key, "sigv4 signature verified");
            next.run(Request::from_parts(parts, Body::from(body))).await
        }
        Err(e) => {
            tracing::info!(method = %parts.method, path = %parts.uri.path(), error_type = e.aws_error_type(), "sigv4 verification failed: {e}");
            aws_error(&e)
        }
    }
}

/// An AWS-shaped error response: `x-amzn-ErrorType` and `{"__type", "message"}`.
pub fn aws_error(e: &SigproxyError) -> Response {
    let body = serde_json::json!({ "__type": e.aws_error_type(), "message": e.to_string() });
    (
        e.status(),
        [
            ("x-amzn-errortype", e.aws_error_type()),
            ("content-type", "application/json"),
        ],
        Bytes::from(body.to_string()),
    )
        .into_response()
}

#[cfg(test)]
mod tests;
