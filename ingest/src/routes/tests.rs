//! The ingest router in-process (`oneshot`, no socket) and once over a real socket: each
//! receiver's answer shape, per-record refusals, and request-level errors in the shape the
//! client expects (Elasticsearch's, or Firehose's).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use http_body_util::BodyExt;
use hydrant_sigproxy::credentials::AwsCredentials;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::body::BodyLimits;

struct Fixture {
    router: Router,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let env = BTreeMap::from([(
        "HYDRANT_DATA_DIR".to_string(),
        dir.path().to_string_lossy().into_owned(),
    )]);
    let config = Arc::new(hydrant_config::Config::parse("", &env).unwrap());
    let catalog = Arc::new(hydrant_index::Catalog::open(&config.indices_dir()).unwrap());
    let pipeline = Pipeline::open_with_store(
        config.clone(),
        catalog,
        Arc::new(object_store::memory::InMemory::new()),
        Arc::new(AwsCredentials::default()),
    )
    .await
    .unwrap();
    let router = router(IngestState {
        pipeline,
        limits: BodyLimits {
            max_body: 1 << 20,
            max_decompressed: 4 << 20,
        },
        max_record_size: 1024,
        destructive_requires_name: true,
        matcher: None,
        tasks: Default::default(),
        more_metrics: None,
    });
    Fixture { router, _dir: dir }
}

async fn call(f: &Fixture, request: Request<Body>) -> (u16, HeaderMap, Value) {
    let response = f.router.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

fn post(uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap()
}

fn firehose(op: &str, body: Value) -> Request<Body> {
    Request::post("/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Firehose_20150804.{op}"))
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn ndjson_takes_good_lines_and_lists_bad_ones() {
    let f = fixture().await;
    let body = "{\"a\":1}\n[1]\n{bad\n\n{\"b\":2}\n";
    let (status, _, answer) = call(
        &f,
        post("/v1/streams/web/records", "application/x-ndjson", body),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["rejected"], 2);
    assert_eq!(
        answer["errors"][0],
        json!({"line": 2, "type": "not_an_object", "reason": "failed to parse: expected a JSON object, got an array"})
    );
    assert_eq!(answer["errors"][1]["type"], "invalid_json");
    // Nothing good at all: 400, still listing why.
    let (status, _, answer) = call(
        &f,
        post("/v1/streams/web/records", "application/x-ndjson", "[1]\n"),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["rejected"], 1);
}

#[tokio::test]
async fn bulk_answers_each_item_in_order() {
    let f = fixture().await;
    let big = format!("{{\"x\":\"{}\"}}", "y".repeat(2000));
    let body = format!(
        "{{\"index\":{{\"_index\":\"web\",\"_id\":\"a\"}}}}\n{{\"ok\":1}}\n\
         {{\"index\":{{\"_index\":\"web\"}}}}\n[1]\n\
         {{\"delete\":{{\"_index\":\"web\",\"_id\":\"a\"}}}}\n\
         {{\"create\":{{\"_index\":\"web\"}}}}\n{big}\n"
    );
    let (status, _, answer) = call(&f, post("/_bulk", "application/x-ndjson", body)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"], true);
    let items = answer["items"].as_array().unwrap();
    let shapes: Vec<(String, u64, String)> = items
        .iter()
        .map(|i| {
            let (action, body) = i.as_object().unwrap().iter().next().unwrap();
            let kind = body["error"]["type"].as_str().unwrap_or("").to_string();
            (action.clone(), body["status"].as_u64().unwrap(), kind)
        })
        .collect();
    assert_eq!(
        shapes,
        [
            ("index".into(), 201, "".into()),
            ("index".into(), 400, "mapper_parsing_exception".into()),
            ("delete".into(), 200, "".into()),
            ("create".into(), 413, "document_too_large_exception".into()),
        ]
    );
    assert_eq!(items[0]["index"]["_id"], "a");
    assert_eq!(items[2]["delete"]["_id"], "a");
    assert_eq!(items[2]["delete"]["result"], "deleted");
}

#[tokio::test]
async fn firehose_answers_per_record_and_in_its_own_error_shape() {
    let f = fixture().await;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let req = firehose(
        "PutRecordBatch",
        json!({"DeliveryStreamName": "fh", "Records": [
            {"Data": b64(b"{\"ok\":1}")}, {"Data": "%%%"}, {"Data": b64(b"plain text")}
        ]}),
    );
    let (status, headers, answer) = call(&f, req).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(headers["content-type"], firehose::CONTENT_TYPE);
    assert_eq!(answer["FailedPutCount"], 1);
    let r = &answer["RequestResponses"];
    assert!(r[0]["RecordId"].is_string());
    assert_eq!(r[1]["ErrorCode"], "InvalidArgumentException");
    // Opaque data is taken (and reaches the error output at delivery).
    assert!(r[2]["RecordId"].is_string());
    let (status, headers, answer) = call(&f, firehose("DeleteDeliveryStream", json!({}))).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    assert_eq!(headers["x-amzn-errortype"], "UnknownOperationException");
    let (status, _, answer) = call(&f, firehose("PutRecordBatch", json!({"Records": []}))).await;
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("InvalidArgumentException"))
    );
}

#[tokio::test]
async fn request_level_refusals_have_elasticsearchs_shape() {
    let f = fixture().await;
    let (status, _, answer) = call(&f, post("/v1/streams/web/records", "text/csv", "a,b")).await;
    assert_eq!(status, 415);
    assert_eq!(answer["error"]["type"], "media_type_header_exception");
    assert_eq!(answer["status"], 415);
    let (status, _, answer) = call(
        &f,
        post("/v1/streams/Bad*Name/records", "application/x-ndjson", "{}"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["type"], "invalid_index_name_exception");
    let too_big = vec![b' '; 2 << 20];
    let (status, _, answer) = call(&f, post("/_bulk", "application/x-ndjson", too_big)).await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"]["type"], "content_too_long_exception");
    let request = Request::delete("/_all").body(Body::empty()).unwrap();
    let (status, _, answer) = call(&f, request).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("destructive_requires_name")
    );
}

#[tokio::test]
async fn the_router_serves_a_real_socket_too() {
    let f = fixture().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, f.router.clone()).into_future());
    let answer: Value = reqwest::Client::new()
        .post(format!(
            "http://{addr}/v1/streams/web/records?refresh=wait_for"
        ))
        .header("content-type", "text/plain")
        .body("line one\nline two\n")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["accepted"], 2, "{answer}");
    server.abort();
}
