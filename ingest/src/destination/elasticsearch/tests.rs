//! One attempt of the sink against a scripted `_bulk` server on loopback: what is sent (index,
//! `_id`, gzip, auth, request sizes, concurrency) and what each answer means per record.

use std::collections::VecDeque;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes as Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hydrant_config::{EsAuth, Rotation, SigningService};
use parking_lot::Mutex;
use serde_json::{Value, json};

use super::*;
use hydrant_sigproxy::credentials::AwsCredentials;

/// What the server does with the next request.
#[derive(Clone)]
enum Behaviour {
    /// Answers each item with these statuses in turn (201 past the list).
    Items(Vec<u16>),
    /// Answers the whole request with this status.
    Whole(u16),
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    /// (action, `_index`, `_id`, source) per document.
    docs: Vec<(String, String, Option<String>, Value)>,
}

#[derive(Default)]
struct Script {
    next: Mutex<VecDeque<Behaviour>>,
    received: Mutex<Vec<Received>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    delay: Mutex<Duration>,
}

async fn bulk(
    axum::extract::State(script): axum::extract::State<Arc<Script>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let now = script.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    script.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let delay = *script.delay.lock();
    tokio::time::sleep(delay).await;
    script.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut text = String::new();
    if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = String::from_utf8(body.to_vec()).unwrap();
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let docs: Vec<_> = lines
        .chunks(2)
        .map(|pair| {
            let (action, meta) = pair[0].as_object().unwrap().iter().next().unwrap();
            (
                action.clone(),
                meta["_index"].as_str().unwrap().to_string(),
                meta.get("_id").and_then(Value::as_str).map(str::to_string),
                pair[1].clone(),
            )
        })
        .collect();
    let n = docs.len();
    script.received.lock().push(Received { headers, docs });
    let behaviour = script.next.lock().pop_front();
    match behaviour {
        Some(Behaviour::Whole(status)) => (
            StatusCode::from_u16(status).unwrap(),
            json!({"error": {"type": "unavailable", "reason": "scripted"}, "status": status})
                .to_string(),
        )
            .into_response(),
        other => {
            let statuses = match other {
                Some(Behaviour::Items(s)) => s,
                _ => Vec::new(),
            };
            let items: Vec<Value> = (0..n)
                .map(|i| {
                    let status = statuses.get(i).copied().unwrap_or(201);
                    let mut item = json!({"status": status});
                    if status >= 300 {
                        item["error"] =
                            json!({"type": format!("error_{status}"), "reason": "scripted"});
                    }
                    json!({"index": item})
                })
                .collect();
            axum::Json(json!({"took": 1, "errors": true, "items": items})).into_response()
        }
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn server() -> (Arc<Script>, SocketAddr) {
    let script = Arc::new(Script::default());
    let router = Router::new()
        .route("/_bulk", axum::routing::post(bulk))
        .with_state(script.clone());
    (script.clone(), serve(router).await)
}

fn config(addrs: &[SocketAddr]) -> ElasticsearchConfig {
    let mut c = ElasticsearchConfig::builtin();
    c.enabled = true;
    c.endpoints = addrs.iter().map(|a| format!("http://{a}")).collect();
    c.rotation = Rotation::NoRotation;
    c.index = "logs".into();
    c.request_timeout = Duration::from_secs(5);
    c
}

fn sink(c: &ElasticsearchConfig) -> ElasticsearchSink {
    ElasticsearchSink::new("web", c, &AwsCredentials::default()).unwrap()
}

fn records(n: usize) -> Vec<(u64, Record)> {
    (0..n)
        .map(|i| {
            (
                i as u64 + 1,
                Record {
                    id: format!("r{i}").into(),
                    client_id: false,
                    arrival_ms: 1_795_698_309_000,
                    timestamp_ms: 1_795_698_309_000,
                    is_object: true,
                    data: Bytes::from(format!("{{\"i\":{i}}}")),
                    source: None,
                    delete: false,
                },
            )
        })
        .collect()
}

fn refs(records: &[(u64, Record)]) -> Vec<&(u64, Record)> {
    records.iter().collect()
}

fn kinds(results: &[ItemResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            ItemResult::Delivered => "ok".to_string(),
            ItemResult::Retry(f) => format!("retry {}", f.code),
            ItemResult::Fail(f) => format!("fail {}", f.code),
        })
        .collect()
}

#[tokio::test]
async fn documents_carry_index_and_record_id_gzip_compressed() {
    let (script, addr) = server().await;
    let mut c = config(&[addr]);
    c.rotation = Rotation::OneDay;
    let recs = records(3);
    let results = sink(&c).send(&refs(&recs)).await.unwrap();
    assert_eq!(kinds(&results), ["ok", "ok", "ok"]);
    let received = script.received.lock().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["content-encoding"], "gzip");
    assert_eq!(received[0].headers["content-type"], "application/x-ndjson");
    let docs: Vec<_> = received[0]
        .docs
        .iter()
        .map(|(a, i, id, s)| (a.as_str(), i.as_str(), id.clone().unwrap(), s["i"].clone()))
        .collect();
    assert_eq!(
        docs,
        [
            ("index", "logs-2026-11-26", "r0".to_string(), json!(0)),
            ("index", "logs-2026-11-26", "r1".to_string(), json!(1)),
            ("index", "logs-2026-11-26", "r2".to_string(), json!(2)),
        ]
    );
}

#[tokio::test]
async fn item_statuses_decide_each_record_alone() {
    let (script, addr) = server().await;
    script
        .next
        .lock()
        .push_back(Behaviour::Items(vec![201, 429, 503, 400, 200]));
    let recs = records(5);
    let results = sink(&config(&[addr])).send(&refs(&recs)).await.unwrap();
    assert_eq!(
        kinds(&results),
        ["ok", "retry 429", "retry 503", "fail 400", "ok"]
    );
    let ItemResult::Fail(f) = &results[3] else {
        panic!()
    };
    assert_eq!(f.message, "error_400: scripted");
}

#[tokio::test]
async fn records_that_are_not_json_objects_fail_without_being_sent() {
    let (script, addr) = server().await;
    let mut recs = records(3);
    recs[1].1.is_object = false;
    recs[1].1.data = Bytes::from_static(b"plain text, not json");
    let results = sink(&config(&[addr])).send(&refs(&recs)).await.unwrap();
    assert_eq!(kinds(&results), ["ok", "fail InvalidRecord", "ok"]);
    let sent: Vec<_> = script.received.lock()[0]
        .docs
        .iter()
        .map(|d| d.2.clone().unwrap())
        .collect();
    assert_eq!(sent, ["r0", "r2"]);
}

#[tokio::test]
async fn only_the_version_the_cluster_would_keep_is_sent_for_a_repeated_id() {
    let (script, addr) = server().await;
    let mut recs = records(3);
    recs[2].1.id = "r0".into();
    let results = sink(&config(&[addr])).send(&refs(&recs)).await.unwrap();
    assert_eq!(kinds(&results), ["ok", "ok", "ok"]);
    let sent: Vec<Value> = script.received.lock()[0]
        .docs
        .iter()
        .map(|d| d.3["i"].clone())
        .collect();
    assert_eq!(
        sent,
        [json!(1), json!(2)],
        "the later r0 replaces the earlier"
    );

    let mut c = config(&[addr]);
    c.action = BulkAction::Create;
    sink(&c).send(&refs(&recs)).await.unwrap();
    let sent: Vec<Value> = script.received.lock()[1]
        .docs
        .iter()
        .map(|d| d.3["i"].clone())
        .collect();
    assert_eq!(sent, [json!(0), json!(1)], "create keeps the first r0");

    c.document_id = DocumentIdMode::None;
    sink(&c).send(&refs(&recs)).await.unwrap();
    let received = script.received.lock()[2].clone();
    assert_eq!(received.docs.len(), 3, "without ids every record is sent");
    assert!(received.docs.iter().all(|d| d.2.is_none()));
}

#[tokio::test]
async fn requests_are_cut_by_document_count_and_sent_with_bounded_concurrency() {
    let (script, addr) = server().await;
    *script.delay.lock() = Duration::from_millis(50);
    let mut c = config(&[addr]);
    c.max_bulk_documents = 10;
    c.max_concurrent_requests = 3;
    let recs = records(95);
    let results = sink(&c).send(&refs(&recs)).await.unwrap();
    assert!(results.iter().all(|r| *r == ItemResult::Delivered));
    let received = script.received.lock().clone();
    assert_eq!(received.len(), 10);
    assert!(received.iter().all(|r| r.docs.len() <= 10));
    let mut ids: Vec<String> = received
        .iter()
        .flat_map(|r| r.docs.iter().map(|d| d.2.clone().unwrap()))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 95);
    let most = script.most_in_flight.load(Ordering::SeqCst);
    assert!((2..=3).contains(&most), "{most} requests in flight at once");
}

#[tokio::test]
async fn a_whole_request_failure_retries_only_that_requests_records() {
    let (script, addr) = server().await;
    script.next.lock().push_back(Behaviour::Whole(503));
    let mut c = config(&[addr]);
    c.max_bulk_documents = 2;
    c.max_concurrent_requests = 1;
    let recs = records(4);
    let results = sink(&c).send(&refs(&recs)).await.unwrap();
    assert_eq!(kinds(&results), ["retry 503", "retry 503", "ok", "ok"]);
}

#[tokio::test]
async fn a_413_makes_later_requests_smaller() {
    let (script, addr) = server().await;
    script.next.lock().push_back(Behaviour::Whole(413));
    let mut c = config(&[addr]);
    c.max_bulk_size = 1024 * 1024;
    let s = sink(&c);
    let recs: Vec<(u64, Record)> = records(400)
        .into_iter()
        .map(|(p, mut r)| {
            r.data = Bytes::from(format!("{{\"pad\":\"{}\"}}", "x".repeat(1000)));
            (p, r)
        })
        .collect();
    let first = s.send(&refs(&recs)).await.unwrap();
    assert!(
        first
            .iter()
            .all(|r| kinds(std::slice::from_ref(r))[0] == "retry 413")
    );
    let second = s.send(&refs(&recs)).await.unwrap();
    assert!(second.iter().all(|r| *r == ItemResult::Delivered));
    let sizes: Vec<usize> = script
        .received
        .lock()
        .iter()
        .map(|r| r.docs.len())
        .collect();
    assert_eq!(sizes[0], 400);
    assert!(
        sizes.len() >= 3 && sizes[1..].iter().all(|n| *n < 400),
        "{sizes:?}"
    );
}

#[tokio::test]
async fn a_dead_endpoint_is_retried_and_failover_moves_to_the_next() {
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (script, alive) = server().await;
    let mut c = config(&[dead, alive]);
    c.endpoint_selection = hydrant_config::EndpointSelection::Failover;
    let s = sink(&c);
    let recs = records(2);
    let first = s.send(&refs(&recs)).await.unwrap();
    assert_eq!(
        kinds(&first),
        ["retry ConnectionError", "retry ConnectionError"]
    );
    let second = s.send(&refs(&recs)).await.unwrap();
    assert_eq!(kinds(&second), ["ok", "ok"]);
    assert_eq!(script.received.lock().len(), 1);
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let recs = records(1);
    let results = sink(&config(&[addr])).send(&refs(&recs)).await.unwrap();
    assert!(
        kinds(&results)[0].starts_with("retry "),
        "{:?}",
        kinds(&results)
    );
}

#[tokio::test]
async fn basic_auth_is_sent_and_never_shown() {
    let (script, addr) = server().await;
    let mut c = config(&[addr]);
    c.auth = EsAuth::Basic;
    c.username = "hydrant".into();
    c.password = Some(hydrant_config::SecretText::new("hunter2"));
    let recs = records(1);
    sink(&c).send(&refs(&recs)).await.unwrap();
    let headers = script.received.lock()[0].headers.clone();
    assert_eq!(headers["authorization"], "Basic aHlkcmFudDpodW50ZXIy");
}

#[tokio::test]
async fn sigv4_requests_pass_hydrants_own_verifier() {
    use hydrant_sigproxy::verify::{Policy, Verifier};
    let script = Arc::new(Script::default());
    let policy = Policy {
        keys: [("AKIDHYDRANT".to_string(), "sekrit".to_string())].into(),
        region: "eu-west-1".into(),
        service: "es".into(),
        max_clock_skew: Duration::from_secs(300),
    };
    let router = Router::new()
        .route("/prefix/_bulk", axum::routing::post(bulk))
        .with_state(script.clone());
    let addr = serve(Verifier::new(policy, 64 << 20).protect(router)).await;
    let mut c = config(&[addr]);
    c.endpoints = vec![format!("http://{addr}/prefix")];
    c.auth = EsAuth::Sigv4;
    c.region = "eu-west-1".into();
    c.service = Some(SigningService::Es);
    let credentials = AwsCredentials::default();
    let creds = |secret: &str| {
        let c = aws_credential_types::Credentials::new("AKIDHYDRANT", secret, None, None, "test");
        Arc::new(hydrant_sigproxy::CredentialsCache::new(c))
    };
    credentials.preset(None, Some("eu-west-1"), creds("sekrit"));
    let s = ElasticsearchSink::new("web", &c, &credentials).unwrap();
    let recs = records(20);
    let results = s.send(&refs(&recs)).await.unwrap();
    assert!(
        results.iter().all(|r| *r == ItemResult::Delivered),
        "{:?}",
        kinds(&results)
    );
    assert_eq!(script.received.lock()[0].docs.len(), 20);

    let wrong = AwsCredentials::default();
    wrong.preset(None, Some("eu-west-1"), creds("not-the-secret"));
    let s = ElasticsearchSink::new("web", &c, &wrong).unwrap();
    let results = s.send(&refs(&recs)).await.unwrap();
    assert!(
        kinds(&results).iter().all(|k| k == "retry 403"),
        "{:?}",
        kinds(&results)
    );
}

/// An HTTPS `_bulk` endpoint with a certificate from the test CA in `testdata/`, answering
/// every document 201, one connection per request.
async fn tls_server() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::{
        self,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    };
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/destination/elasticsearch/testdata"
    );
    let certs = CertificateDer::pem_file_iter(format!("{dir}/server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}/server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 8192];
                let (head_end, length) = loop {
                    let n = tls.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while request.len() < head_end + length {
                    let n = tls.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let docs = request[head_end..].iter().filter(|b| **b == b'\n').count() / 2;
                let items: Vec<Value> = (0..docs)
                    .map(|_| json!({"index": {"status": 201}}))
                    .collect();
                let body = json!({"errors": false, "items": items}).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn https_endpoints_are_trusted_through_the_ca_file_and_refused_without_it() {
    let addr = tls_server().await;
    let mut c = config(&[addr]);
    c.endpoints = vec![format!("https://{addr}")];
    c.gzip = false;
    let recs = records(3);
    let untrusted = sink(&c).send(&refs(&recs)).await.unwrap();
    assert!(
        kinds(&untrusted)
            .iter()
            .all(|k| k == "retry ConnectionError"),
        "{:?}",
        kinds(&untrusted)
    );
    c.ca_file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/destination/elasticsearch/testdata/ca.pem"
    )
    .to_string();
    let trusted = sink(&c).send(&refs(&recs)).await.unwrap();
    assert_eq!(kinds(&trusted), ["ok", "ok", "ok"]);
}
