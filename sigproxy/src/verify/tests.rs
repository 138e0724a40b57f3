use std::time::Duration;

use aws_credential_types::Credentials;
use axum::routing::any;
use http::StatusCode;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::CredentialsCache;
use crate::canonical::{ForwardTarget, sha256_hex};
use crate::signer::{self, Signer};

const KEY: &str = "AKIDHYDRANTTEST";
const SECRET: &str = "hydrant/test+secret";

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000)
}

fn app() -> Router {
    let policy = Policy {
        keys: [(KEY.to_string(), SECRET.to_string())].into(),
        region: "eu-west-1".to_string(),
        service: "es".to_string(),
        max_clock_skew: Duration::from_secs(300),
    };
    let router = Router::new().fallback(any(
        |body: Bytes| async move { format!("ok {}", body.len()) },
    ));
    Verifier::new(policy, 1024 * 1024)
        .with_clock(Arc::new(now))
        .protect(router)
}

async fn signed(
    key: &str,
    secret: &str,
    region: &str,
    at: SystemTime,
    method: &str,
    raw_target: &str,
    body: &'static [u8],
) -> http::Request<Body> {
    let (path, query) = raw_target
        .split_once('?')
        .map_or((raw_target, None), |(p, q)| (p, Some(q)));
    let target = ForwardTarget::new(path, query).path_and_query();
    let creds = Credentials::new(key, secret, None, None, "test");
    let signer = Signer::new(
        Arc::new(CredentialsCache::new(creds)),
        "http",
        "hydrant.local",
        region,
        "es",
    )
    .with_clock(Arc::new(move || at));
    let mut headers = HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    let sig = signer
        .sign(&signer::Request {
            method,
            path_and_query: &target,
            headers: &headers,
            payload_sha256: &sha256_hex(body),
        })
        .await
        .unwrap();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(&target)
        .header("host", "hydrant.local");
    for (n, v) in headers.iter().chain(sig.headers.iter()) {
        builder = builder.header(n, v);
    }
    builder.body(Body::from(body)).unwrap()
}

async fn send(request: http::Request<Body>) -> (StatusCode, HeaderMap, String) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_correctly_signed_request_reaches_the_api_with_its_body() {
    let req = signed(
        KEY,
        SECRET,
        "eu-west-1",
        now(),
        "POST",
        "/logs-*/_search?q=a+b:c",
        b"{\"size\":1}",
    )
    .await;
    let (status, _, body) = send(req).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok 10"));
}

#[tokio::test]
async fn a_wrong_secret_gets_403_invalid_signature_in_aws_shape() {
    let req = signed(KEY, "not-the-secret", "eu-west-1", now(), "GET", "/", b"").await;
    let (status, headers, body) = send(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-amzn-errortype"], "InvalidSignatureException");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["__type"], "InvalidSignatureException");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .starts_with("The request signature we calculated does not match")
    );
}

#[tokio::test]
async fn an_unknown_access_key_gets_403_unrecognized_client() {
    let req = signed(
        "AKIDSOMEONEELSE",
        SECRET,
        "eu-west-1",
        now(),
        "GET",
        "/",
        b"",
    )
    .await;
    let (status, headers, body) = send(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-amzn-errortype"], "UnrecognizedClientException");
    assert!(
        body.contains("The security token included in the request is invalid."),
        "{body}"
    );
}

#[tokio::test]
async fn a_signature_more_than_five_minutes_off_gets_403() {
    for off in [Duration::from_secs(301), Duration::from_secs(3600)] {
        let late = signed(KEY, SECRET, "eu-west-1", now() - off, "GET", "/", b"").await;
        let (status, _, body) = send(late).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("Signature expired"), "{body}");
        let early = signed(KEY, SECRET, "eu-west-1", now() + off, "GET", "/", b"").await;
        assert_eq!(send(early).await.0, StatusCode::FORBIDDEN);
    }
    let within = signed(
        KEY,
        SECRET,
        "eu-west-1",
        now() - Duration::from_secs(299),
        "GET",
        "/",
        b"",
    )
    .await;
    assert_eq!(send(within).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_request_without_a_signature_gets_403_missing_token() {
    let req = http::Request::get("/_search").body(Body::empty()).unwrap();
    let (status, headers, _) = send(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        headers["x-amzn-errortype"],
        "MissingAuthenticationTokenException"
    );
}

#[tokio::test]
async fn a_body_changed_after_signing_gets_403() {
    let req = signed(KEY, SECRET, "eu-west-1", now(), "POST", "/x", b"{\"a\":1}").await;
    let (parts, _) = req.into_parts();
    let tampered = http::Request::from_parts(parts, Body::from("{\"a\":2}"));
    let (status, _, body) = send(tampered).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("x-amz-content-sha256"), "{body}");
}

#[tokio::test]
async fn a_query_changed_after_signing_gets_403() {
    let req = signed(
        KEY,
        SECRET,
        "eu-west-1",
        now(),
        "GET",
        "/x/_search?q=a",
        b"",
    )
    .await;
    let (mut parts, body) = req.into_parts();
    parts.uri = "/x/_search?q=b".parse().unwrap();
    let (status, _, _) = send(http::Request::from_parts(parts, body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_signature_for_another_region_gets_403_naming_it() {
    let req = signed(KEY, SECRET, "us-west-2", now(), "GET", "/", b"").await;
    let (status, _, body) = send(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("not 'us-west-2'"), "{body}");
}

#[test]
fn authorization_header_parts_are_read_and_malformed_ones_named() {
    let a = parse_authorization(
        "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/es/aws4_request, SignedHeaders=Host;x-amz-date, Signature=abc",
    )
    .unwrap();
    assert_eq!(a.access_key_id, "AKID");
    assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
    let e = parse_authorization("AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Authorization header requires 'Credential' parameter."
    );
    assert!(parse_authorization("Basic dXNlcjpwYXNz").is_err());
}

/// A request signed for `service`, with an `X-Amz-Target` header when `target` is given.
async fn signed_for(service: &str, target: Option<&str>) -> http::Request<Body> {
    let creds = Credentials::new(KEY, SECRET, None, None, "test");
    let signer = Signer::new(
        Arc::new(CredentialsCache::new(creds)),
        "http",
        "hydrant.local",
        "eu-west-1",
        service,
    )
    .with_clock(Arc::new(now));
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    if let Some(t) = target {
        headers.insert("x-amz-target", t.parse().unwrap());
    }
    let body: &'static [u8] = b"{}";
    let sig = signer
        .sign(&signer::Request {
            method: "POST",
            path_and_query: "/",
            headers: &headers,
            payload_sha256: &sha256_hex(body),
        })
        .await
        .unwrap();
    let mut builder = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("host", "hydrant.local");
    for (n, v) in headers.iter().chain(sig.headers.iter()) {
        builder = builder.header(n, v);
    }
    builder.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn firehose_calls_may_be_signed_for_firehose_as_aws_sdks_do() {
    let target = Some("Firehose_20150804.PutRecordBatch");
    let (status, _, body) = send(signed_for("firehose", target).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Only Firehose calls: the search API still needs the configured service.
    let (status, _, body) = send(signed_for("firehose", None).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("'es'"), "{body}");
    let (status, _, body) = send(signed_for("s3", target).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("'es' or 'firehose'"), "{body}");
}
