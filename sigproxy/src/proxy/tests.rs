//! The proxy over real loopback HTTP, in front of an upstream that verifies SigV4 like a
//! managed domain (the crate's own verifier) and echoes what it received.

use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use axum::routing::{any, get};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::*;
use crate::verify::{Policy, Verifier};

const KEY: &str = "AKIDPROXYTEST";
const SECRET: &str = "proxy/test+secret";

async fn spawn(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn echo(request: Request) -> axum::Json<Value> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    axum::Json(json!({
        "method": parts.method.as_str(),
        "target": parts.uri.to_string(),
        "headers": headers,
        "body_sha256": crate::canonical::sha256_hex(&body),
    }))
}

/// An upstream that checks signatures; `gate` releases the second half of `/stream`.
async fn upstream(gate: Option<oneshot::Receiver<()>>) -> SocketAddr {
    let gate = std::sync::Arc::new(parking_lot::Mutex::new(gate));
    let policy = Policy {
        keys: [(KEY.to_string(), SECRET.to_string())].into(),
        region: "eu-west-1".to_string(),
        service: "es".to_string(),
        max_clock_skew: Duration::from_secs(300),
    };
    let stream = move || {
        let gate = gate.lock().take();
        async move {
            let first =
                futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from("first,")) });
            let second = futures::stream::once(async move {
                if let Some(g) = gate {
                    let _ = g.await;
                }
                Ok(Bytes::from("second"))
            });
            Body::from_stream(first.chain(second))
        }
    };
    let router = Router::new()
        .route(
            "/redirect",
            get(|| async { (StatusCode::FOUND, [("location", "REPLACED")], "") }),
        )
        .route("/slow", get(std::future::pending::<&'static str>))
        .route("/stream", get(stream))
        .fallback(any(echo));
    let protected = Verifier::new(policy, 200 * 1024 * 1024).protect(router);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The redirect points at the upstream's own address, as a domain's would.
    let app = protected.layer(axum::middleware::map_response(
        move |mut r: Response| async move {
            if r.headers().get("location").is_some_and(|l| l == "REPLACED") {
                let to = format!("http://{addr}/_plugin/kibana/app/kibana");
                r.headers_mut().insert("location", to.parse().unwrap());
            }
            r
        },
    ));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn settings(upstream: SocketAddr) -> ProxySettings {
    let endpoint = Endpoint::parse(&format!("http://{upstream}")).unwrap();
    ProxySettings {
        sign_host: endpoint.authority(),
        endpoint,
        region: "eu-west-1".to_string(),
        service: SigningService::Es,
        listen: "127.0.0.1:0".parse().unwrap(),
        basic_auth: None,
        max_body_size: 1024 * 1024,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        profile: None,
    }
}

async fn proxy_with(settings: ProxySettings, secret: &str) -> String {
    let creds = Credentials::new(KEY, secret, Some("session-token-xyz".into()), None, "test");
    let state = ProxyState::new(settings, Arc::new(CredentialsCache::new(creds))).unwrap();
    format!("http://{}", spawn(router(state)).await)
}

async fn proxy(upstream: SocketAddr) -> String {
    proxy_with(settings(upstream), SECRET).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn awkward_paths_and_queries_are_signed_as_sent_and_verify_upstream() {
    let up = upstream(None).await;
    let base = proxy(up).await;
    let cases = [
        (
            "/logs-*/_search?q=status:404+AND+verb:GET",
            "/logs-%2A/_search?q=status%3A404%20AND%20verb%3AGET",
        ),
        (
            "/idx/_doc/a%2Fb?routing=x%2By",
            "/idx/_doc/a%2Fb?routing=x%2By",
        ),
        (
            "/idx/_doc/caf%C3%A9%20cr%C3%A8me",
            "/idx/_doc/caf%C3%A9%20cr%C3%A8me",
        ),
        ("//idx//_search?size=1&from=0", "/idx/_search?from=0&size=1"),
        ("/a/./b/../_count?pretty", "/a/_count?pretty="),
        // A presigned URL's parameters would clash with the proxy's own signature.
        (
            "/idx/_search?X-Amz-Signature=abc&q=1&x-amz-security-token=t",
            "/idx/_search?q=1",
        ),
    ];
    for (sent, arrived) in cases {
        let r = client().get(format!("{base}{sent}")).send().await.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{sent}: {body}");
        assert_eq!(body["target"], arrived, "{sent}");
    }
}

#[tokio::test]
async fn client_credentials_are_dropped_and_dashboard_headers_pass_through() {
    let up = upstream(None).await;
    let base = proxy(up).await;
    let r = client()
        .post(format!("{base}/_plugin/kibana/api/saved_objects/_find"))
        .header("authorization", "Bearer client-token")
        .header("x-amz-security-token", "client-session")
        .header("kbn-xsrf", "true")
        .header("osd-xsrf", "true")
        .header("kbn-version", "7.10.2")
        .header("cookie", "sid=abc")
        .header("content-type", "application/json")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let h = &body["headers"];
    assert_eq!(h["x-amz-security-token"], "session-token-xyz");
    assert!(
        h["authorization"]
            .as_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDPROXYTEST/")
    );
    assert_eq!(h["x-amz-content-sha256"], body["body_sha256"]);
    for kept in [
        "kbn-xsrf",
        "osd-xsrf",
        "kbn-version",
        "cookie",
        "content-type",
    ] {
        assert!(h.get(kept).is_some(), "{kept} missing: {h}");
    }
    assert!(h.get("x-hop").is_none(), "{h}");
}

#[tokio::test]
async fn a_redirect_is_returned_with_its_location_pointing_at_the_proxy() {
    let up = upstream(None).await;
    let base = proxy(up).await;
    let r = client()
        .get(format!("{base}/redirect"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        format!("{base}/_plugin/kibana/app/kibana").as_str()
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_saying_so() {
    let up = upstream(None).await;
    let base = proxy(up).await;
    let r = client()
        .put(format!("{base}/idx/_doc/1"))
        .body(vec![b'x'; 1024 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["reason"],
        "request body is larger than the 1048576-byte limit (`sigproxy.max_body_size`)"
    );
    // A chunked body has no length to refuse up front; it is cut off at the limit all the same.
    let chunks =
        futures::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 64 * 1024])));
    let r = client()
        .post(format!("{base}/_bulk"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn a_chunked_body_is_signed_and_forwarded_whole() {
    let up = upstream(None).await;
    let base = proxy(up).await;
    let parts: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 10_000]).collect();
    let whole: Vec<u8> = parts.concat();
    let chunks = futures::stream::iter(parts.into_iter().map(Ok::<_, std::io::Error>));
    let r = client()
        .post(format!("{base}/_bulk"))
        .header("content-type", "application/x-ndjson")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["body_sha256"], crate::canonical::sha256_hex(&whole));
}

#[tokio::test]
async fn responses_stream_before_the_upstream_has_finished() {
    let (release, gate) = oneshot::channel();
    let up = upstream(Some(gate)).await;
    let base = proxy(up).await;
    let r = client().get(format!("{base}/stream")).send().await.unwrap();
    let mut body = r.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next()).await;
    let first = first.expect("first chunk arrives while the upstream still holds the second");
    assert_eq!(first.unwrap().unwrap(), "first,");
    release.send(()).unwrap();
    let rest = body.next().await.unwrap().unwrap();
    assert_eq!(rest, "second");
}

#[tokio::test]
async fn wrong_credentials_get_the_upstream_403_unchanged() {
    let up = upstream(None).await;
    let base = proxy_with(settings(up), "wrong-secret").await;
    let r = client()
        .get(format!("{base}/_search"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-amzn-errortype"], "InvalidSignatureException");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["__type"], "InvalidSignatureException");
}

#[tokio::test]
async fn an_unreachable_endpoint_gets_502_naming_it() {
    let closed = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let base = proxy(closed).await;
    let r = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    let reason = body["error"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("cannot connect to http://{closed}")),
        "{reason}"
    );
}

#[tokio::test]
async fn an_endpoint_that_does_not_answer_gets_504_after_the_request_timeout() {
    let up = upstream(None).await;
    let mut s = settings(up);
    s.request_timeout = Duration::from_millis(300);
    let base = proxy_with(s, SECRET).await;
    let r = client().get(format!("{base}/slow")).send().await.unwrap();
    assert_eq!(r.status(), 504);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"]["reason"],
        format!("http://{up} did not answer within 300ms")
    );
}

#[tokio::test]
async fn basic_auth_is_required_when_configured() {
    let up = upstream(None).await;
    let mut s = settings(up);
    s.basic_auth = Some(SecretText::new("kibana:s3cret:with:colons"));
    let base = proxy_with(s, SECRET).await;
    let r = client()
        .get(format!("{base}/_search"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let wrong = client()
        .get(format!("{base}/_search"))
        .basic_auth("kibana", Some("nope"))
        .send();
    assert_eq!(wrong.await.unwrap().status(), 401);
    let right = client()
        .get(format!("{base}/_search"))
        .basic_auth("kibana", Some("s3cret:with:colons"))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    let body: Value = right.json().await.unwrap();
    assert!(
        body["headers"]["authorization"]
            .as_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256"),
        "the proxy's basic auth must not reach the endpoint"
    );
}

#[tokio::test]
async fn health_answers_locally_with_credential_expiry() {
    let up = upstream(None).await;
    let expiry = SystemTime::now() + Duration::from_secs(3000);
    let creds = Credentials::new(KEY, SECRET, Some("t".into()), Some(expiry), "test");
    let state = ProxyState::new(settings(up), Arc::new(CredentialsCache::new(creds))).unwrap();
    let base = format!("http://{}", spawn(router(state)).await);
    let r = client()
        .get(format!("{base}/_sigproxy/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["region"], "eu-west-1");
    assert_eq!(body["credentials"]["loaded"], true);
    assert_eq!(body["credentials"]["access_key_id"], "AKID…TEST");
    let left = body["credentials"]["expires_in_seconds"].as_i64().unwrap();
    assert!((2990..=3000).contains(&left), "{body}");
    assert!(!body.to_string().contains(SECRET));
}

fn config(endpoint: &str) -> SigproxyConfig {
    let text = format!("[sigproxy]\nendpoint = \"{endpoint}\"\n");
    hydrant_config::Config::parse(&text, &BTreeMap::new())
        .unwrap()
        .sigproxy
}

#[test]
fn settings_infer_region_and_service_from_the_endpoint() {
    let s = ProxySettings::from_config(&config("https://abc.us-gov-west-1.aoss.amazonaws.com"))
        .unwrap();
    assert_eq!(
        (s.region.as_str(), s.service),
        ("us-gov-west-1", SigningService::Aoss)
    );
    assert_eq!(s.sign_host, "abc.us-gov-west-1.aoss.amazonaws.com");
    let mut c = config("search-x.eu-west-1.es.amazonaws.com");
    c.region = "eu-central-1".into();
    c.sign_host = "Custom.Example.com".into();
    let s = ProxySettings::from_config(&c).unwrap();
    assert_eq!(s.region, "eu-central-1");
    assert_eq!(s.sign_host, "custom.example.com");
}

#[test]
fn settings_without_a_region_for_a_custom_host_name_the_flag() {
    let e = ProxySettings::from_config(&config("https://search.example.com")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot infer the region from endpoint host `search.example.com`: pass --region or set `sigproxy.region`"
    );
}

#[test]
fn a_remote_bind_needs_allow_remote_and_basic_auth() {
    let mut c = config("search-x.eu-west-1.es.amazonaws.com");
    c.listen = "0.0.0.0:9201".parse().unwrap();
    assert!(matches!(
        ProxySettings::from_config(&c),
        Err(SigproxyError::RemoteBindRefused { .. })
    ));
    c.allow_remote = true;
    assert!(
        ProxySettings::from_config(&c).is_err(),
        "allow_remote alone is not enough"
    );
    c.basic_auth = Some(SecretText::new("u:p"));
    assert!(ProxySettings::from_config(&c).is_ok());
    c.allow_remote = false;
    assert!(
        ProxySettings::from_config(&c).is_err(),
        "basic auth alone is not enough"
    );
}
