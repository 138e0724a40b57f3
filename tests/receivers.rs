//! The three ways in — NDJSON, Elasticsearch `_bulk`, Firehose `PutRecordBatch` — each plain
//! and gzipped, into the same pipeline; and each receiver's table of bad input, every case
//! with its own specific error.

mod common;

use std::io::Write;

use base64::Engine;
use common::Server;
use reqwest::blocking::RequestBuilder;
use serde_json::{Value, json};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn send(req: RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = req.send().expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body, headers)
}

fn docs(n: usize, path: &str) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"path": path, "n": i, "level": if i % 10 == 0 { "error" } else { "info" }}))
        .collect()
}

fn ndjson(docs: &[Value]) -> Vec<u8> {
    docs.iter()
        .map(|d| format!("{d}\n"))
        .collect::<String>()
        .into_bytes()
}

fn bulk_body(docs: &[Value]) -> Vec<u8> {
    docs.iter()
        .map(|d| format!("{{\"index\":{{}}}}\n{d}\n"))
        .collect::<String>()
        .into_bytes()
}

fn firehose_body(stream: &str, docs: &[Value]) -> Vec<u8> {
    let records: Vec<Value> = docs
        .iter()
        .map(|d| json!({"Data": b64(format!("{d}\n").as_bytes())}))
        .collect();
    json!({"DeliveryStreamName": stream, "Records": records})
        .to_string()
        .into_bytes()
}

fn firehose(server: &Server, target: &str, body: Vec<u8>, gzipped: bool) -> RequestBuilder {
    let req = server
        .http
        .post(format!("{}/", server.url))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Firehose_20150804.{target}"));
    if gzipped {
        req.header("content-encoding", "gzip").body(gzip(&body))
    } else {
        req.body(body)
    }
}

#[test]
fn one_scenario_through_every_receiver_plain_and_gzipped() {
    let server = Server::start();
    for gzipped in [false, true] {
        let suffix = if gzipped { "gz" } else { "plain" };
        // NDJSON
        let stream = format!("nd-{suffix}");
        let d = docs(120, &stream);
        let mut req = server
            .http
            .post(format!("{}/v1/streams/{stream}/records", server.url))
            .header("content-type", "application/x-ndjson");
        req = if gzipped {
            req.header("content-encoding", "gzip")
                .body(gzip(&ndjson(&d)))
        } else {
            req.body(ndjson(&d))
        };
        let (status, body, _) = send(req);
        assert_eq!(
            (status, body["accepted"].clone()),
            (200, json!(120)),
            "{body}"
        );
        // _bulk
        let stream = format!("bulk-{suffix}");
        let d = docs(120, &stream);
        let mut req = server
            .http
            .post(format!("{}/{stream}/_bulk", server.url))
            .header(
                "content-type",
                "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
            );
        req = if gzipped {
            req.header("content-encoding", "gzip")
                .body(gzip(&bulk_body(&d)))
        } else {
            req.body(bulk_body(&d))
        };
        let (status, body, _) = send(req);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["errors"], json!(false), "{body}");
        assert_eq!(body["items"].as_array().unwrap().len(), 120);
        // Firehose
        let stream = format!("fh-{suffix}");
        let d = docs(120, &stream);
        let (status, body, headers) = send(firehose(
            &server,
            "PutRecordBatch",
            firehose_body(&stream, &d),
            gzipped,
        ));
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
        assert_eq!(body["FailedPutCount"], json!(0));
        assert_eq!(body["RequestResponses"].as_array().unwrap().len(), 120);
    }
    for stream in [
        "nd-plain",
        "nd-gz",
        "bulk-plain",
        "bulk-gz",
        "fh-plain",
        "fh-gz",
    ] {
        assert_eq!(server.wait_count(stream, 120), 120, "{stream}");
        assert_eq!(server.count(stream, Some("level:error")), 12, "{stream}");
        assert_eq!(
            server.count(stream, Some(&format!("path:\"{stream}\""))),
            120,
            "{stream}"
        );
    }
    assert_eq!(
        server.metric("hydrant_incoming_records_total{stream=\"fh-gz\"}"),
        120.0
    );
    assert_eq!(
        server.metric("hydrant_incoming_put_requests_total{stream=\"bulk-gz\",api=\"bulk\"}"),
        1.0
    );
}

fn strict_server() -> Server {
    Server::start_with(
        &[
            ("HYDRANT_INGEST__AUTO_CREATE_STREAMS", "false"),
            ("HYDRANT_HTTP__MAX_DECOMPRESSED_SIZE", "1MiB"),
            ("HYDRANT_HTTP__MAX_BODY_SIZE", "6MiB"),
        ],
        Some("[streams.known]\n"),
    )
}

fn gzip_bomb() -> Vec<u8> {
    gzip(&vec![b'{'; 20 * 1024 * 1024])
}

#[test]
fn firehose_bad_input_table() {
    let server = strict_server();
    let fh = |body: Vec<u8>| send(firehose(&server, "PutRecordBatch", body, false));
    let good = b64(b"{\"ok\":1}\n");

    // Not JSON at all.
    let (status, body, headers) = fh(b"{not json".to_vec());
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException")),
        "{body}"
    );
    assert_eq!(headers["x-amzn-errortype"], "SerializationException");

    // Bad base64 and an over-size record: refused one by one, the good record kept.
    let big = b64(&vec![b'x'; 1_024_001]);
    let (status, body, _) = fh(json!({"DeliveryStreamName": "known", "Records": [
        {"Data": good}, {"Data": "%%% not base64"}, {"Data": big}
    ]})
    .to_string()
    .into_bytes());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["FailedPutCount"], json!(2));
    let r = &body["RequestResponses"];
    assert!(r[0]["RecordId"].is_string());
    assert_eq!(r[1]["ErrorCode"], "InvalidArgumentException");
    assert!(r[1]["ErrorMessage"].as_str().unwrap().contains("base64"));
    assert_eq!(r[2]["ErrorCode"], "InvalidArgumentException");
    assert!(r[2]["ErrorMessage"].as_str().unwrap().contains("1024000"));

    // Over-size batch: 5 records of 900,000 bytes is more than 4 MiB.
    let chunk = b64(&vec![b'y'; 900_000]);
    let records: Vec<Value> = (0..5).map(|_| json!({"Data": chunk})).collect();
    let (status, body, _) = fh(json!({"DeliveryStreamName": "known", "Records": records})
        .to_string()
        .into_bytes());
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidArgumentException")),
        "{body}"
    );

    // 501 records.
    let records: Vec<Value> = (0..501).map(|_| json!({"Data": good})).collect();
    let (status, body, _) = fh(json!({"DeliveryStreamName": "known", "Records": records})
        .to_string()
        .into_bytes());
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidArgumentException")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("501"));

    // Unknown stream.
    let (status, body, _) = fh(
        json!({"DeliveryStreamName": "nope", "Records": [{"Data": good}]})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceNotFoundException")),
        "{body}"
    );

    // Gzip bomb.
    let req = server
        .http
        .post(format!("{}/", server.url))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "Firehose_20150804.PutRecordBatch")
        .header("content-encoding", "gzip")
        .body(gzip_bomb());
    let (status, body, _) = send(req);
    assert_eq!(status, 413, "{body}");

    // Wrong content type with a Firehose target.
    let req = server
        .http
        .post(format!("{}/", server.url))
        .header("content-type", "text/plain")
        .header("x-amz-target", "Firehose_20150804.PutRecordBatch")
        .body("{}");
    let (status, body, _) = send(req);
    assert_eq!(
        (status, body["__type"].as_str()),
        (415, Some("UnsupportedMediaTypeException")),
        "{body}"
    );

    // Missing required member, wrong member type.
    let (status, body, _) = fh(b"{\"Records\": []}".to_vec());
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidArgumentException")),
        "{body}"
    );
    let (status, body, _) = fh(b"{\"DeliveryStreamName\": \"known\", \"Records\": 3}".to_vec());
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException")),
        "{body}"
    );

    // Only the one good record made it.
    assert_eq!(server.wait_count("known", 1), 1);
}

#[test]
fn firehose_records_that_are_not_json_objects_are_accepted_then_go_to_the_error_output() {
    let server = Server::start();
    let body = json!({"DeliveryStreamName": "opaque", "Records": [
        {"Data": b64(b"{\"good\":true}\n")},
        {"Data": b64(b"plain text, not json\n")},
    ]});
    let (status, resp, _) = send(firehose(
        &server,
        "PutRecordBatch",
        body.to_string().into_bytes(),
        false,
    ));
    assert_eq!(status, 200);
    assert_eq!(
        resp["FailedPutCount"],
        json!(0),
        "Firehose accepts opaque data"
    );
    assert_eq!(server.wait_count("opaque", 1), 1);
    let errors = common::eventually(std::time::Duration::from_secs(30), "error output", || {
        let dir = server.data_dir.join("objects/errors/index-failed");
        dir.exists().then_some(dir)
    });
    let mut found = Vec::new();
    for entry in walk(&errors) {
        let bytes = std::fs::read(&entry).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        found.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()),
        );
    }
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["errorCode"], "mapper_parsing_exception");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(found[0]["rawData"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, b"plain text, not json\n");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn firehose_text_streams_wrap_each_record_as_a_message() {
    let server = Server::start_with(&[], Some("[streams.lines]\nrecord_format = \"text\"\n"));
    let body = json!({"DeliveryStreamName": "lines", "Records": [
        {"Data": b64(b"GET /index.html 200\n")},
        {"Data": b64(b"GET /missing 404\n")},
    ]});
    let (status, resp, _) = send(firehose(
        &server,
        "PutRecordBatch",
        body.to_string().into_bytes(),
        false,
    ));
    assert_eq!((status, resp["FailedPutCount"].clone()), (200, json!(0)));
    assert_eq!(server.wait_count("lines", 2), 2);
    assert_eq!(server.count("lines", Some("message:missing")), 1);
}

#[test]
fn firehose_put_record_list_and_describe() {
    let server = strict_server();
    let (status, body, _) = send(firehose(
        &server,
        "PutRecord",
        json!({"DeliveryStreamName": "known", "Record": {"Data": b64(b"{\"one\":1}")}})
            .to_string()
            .into_bytes(),
        false,
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["RecordId"].as_str().unwrap().len(), 20);
    let (_, body, _) = send(firehose(
        &server,
        "ListDeliveryStreams",
        b"{}".to_vec(),
        false,
    ));
    assert_eq!(body["DeliveryStreamNames"], json!(["known"]));
    let (_, body, _) = send(firehose(
        &server,
        "DescribeDeliveryStream",
        b"{\"DeliveryStreamName\":\"known\"}".to_vec(),
        false,
    ));
    assert_eq!(
        body["DeliveryStreamDescription"]["DeliveryStreamStatus"],
        "ACTIVE"
    );
    let (status, body, _) = send(firehose(
        &server,
        "DescribeDeliveryStream",
        b"{\"DeliveryStreamName\":\"nope\"}".to_vec(),
        false,
    ));
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    let (status, body, _) = send(firehose(
        &server,
        "DeleteDeliveryStream",
        b"{}".to_vec(),
        false,
    ));
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
}

#[test]
fn bulk_bad_input_table() {
    let server = strict_server();
    let body = concat!(
        "{\"index\":{\"_index\":\"known\",\"_id\":\"good-1\"}}\n{\"ok\":1}\n",
        "{\"index\": broken\n{\"orphan\":1}\n",
        "{\"index\":{\"_index\":\"known\"}}\n[1,2]\n",
        "{\"update\":{\"_index\":\"known\",\"_id\":\"good-1\"}}\n{\"doc\":{\"ok\":2}}\n",
        "{\"delete\":{\"_index\":\"known\",\"_id\":\"good-1\"}}\n",
        "{\"index\":{\"_index\":\"unknown\"}}\n{\"ok\":1}\n",
        "{\"create\":{\"_index\":\"known\",\"_id\":\"good-2\"}}\n{\"ok\":2}\n",
    );
    let (status, resp, _) = send(
        server
            .http
            .post(format!("{}/_bulk?refresh=wait_for", server.url))
            .header("content-type", "application/x-ndjson")
            .body(body),
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["errors"], json!(true));
    let items = resp["items"].as_array().unwrap();
    let summary: Vec<(String, u64, String)> = items
        .iter()
        .map(|i| {
            let (action, v) = i.as_object().unwrap().iter().next().unwrap();
            (
                action.clone(),
                v["status"].as_u64().unwrap(),
                v["error"]["type"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("index".into(), 201, "".into()),
            ("index".into(), 400, "x_content_parse_exception".into()),
            ("index".into(), 400, "mapper_parsing_exception".into()),
            ("update".into(), 200, "".into()),
            ("delete".into(), 200, "".into()),
            ("index".into(), 404, "index_not_found_exception".into()),
            ("create".into(), 201, "".into()),
        ]
    );
    assert_eq!(items[0]["index"]["_id"], "good-1");
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[3]["update"]["result"], "updated");
    assert_eq!(items[4]["delete"]["result"], "deleted");
    assert_eq!(server.count("known", None), 1);
    let (_, resp) = server.get("/known/_search?q=ok:2");
    assert_eq!(resp["hits"]["hits"][0]["_id"], "good-2");

    // Media type and body limits.
    let (status, resp, _) = send(
        server
            .http
            .post(format!("{}/_bulk", server.url))
            .header("content-type", "text/plain")
            .body("{}"),
    );
    assert_eq!(status, 406, "{resp}");
    assert_eq!(
        resp["error"],
        "Content-Type header [text/plain] is not supported"
    );
    // Nor can a page post a deletion or a search as a form or text (no CORS preflight for
    // those types): refused before it runs.
    for (path, content_type) in [
        ("/known/_delete_by_query", "text/plain"),
        (
            "/known/_delete_by_query",
            "application/x-www-form-urlencoded",
        ),
        ("/known/_search", "text/plain"),
    ] {
        let (status, resp, _) = send(
            server
                .http
                .post(format!("{}{path}", server.url))
                .header("content-type", content_type)
                .body(r#"{"query":{"match_all":{}}}"#),
        );
        assert_eq!(status, 406, "{path} {content_type}: {resp}");
    }
    assert_eq!(server.count("known", None), 1);
    let (status, _, _) = send(
        server
            .http
            .post(format!("{}/known/_bulk", server.url))
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(gzip_bomb()),
    );
    assert_eq!(status, 413);
    let (status, resp, _) = send(
        server
            .http
            .post(format!("{}/known/_bulk", server.url))
            .header("content-type", "application/json")
            .body("\n"),
    );
    assert_eq!(
        (status, resp["error"]["type"].as_str()),
        (400, Some("parse_exception"))
    );
}

#[test]
fn bulk_with_the_same_id_twice_keeps_the_last_version() {
    let server = Server::start();
    let body = "{\"index\":{\"_index\":\"ids\",\"_id\":\"x\"}}\n{\"v\":1}\n{\"index\":{\"_index\":\"ids\",\"_id\":\"x\"}}\n{\"v\":2}\n";
    let (status, _, _) = send(
        server
            .http
            .post(format!("{}/_bulk?refresh=true", server.url))
            .header("content-type", "application/x-ndjson")
            .body(body),
    );
    assert_eq!(status, 200);
    assert_eq!(server.count("ids", None), 1);
    assert_eq!(server.count("ids", Some("v:2")), 1);
}

#[test]
fn ndjson_bad_input_beyond_lines() {
    let server = strict_server();
    let post = |path: &str, ct: &str, gz: bool, body: Vec<u8>| {
        let mut r = server
            .http
            .post(format!("{}{path}", server.url))
            .header("content-type", ct);
        if gz {
            r = r.header("content-encoding", "gzip");
        }
        send(r.body(body))
    };
    let (status, body, _) = post(
        "/v1/streams/known/records",
        "application/x-ndjson",
        true,
        gzip_bomb(),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (413, Some("content_too_long_exception")),
        "{body}"
    );
    let (status, body, _) = post(
        "/v1/streams/known/records",
        "application/xml",
        false,
        b"<a/>".to_vec(),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (415, Some("media_type_header_exception")),
        "{body}"
    );
    let (status, body, _) = post(
        "/v1/streams/nope/records",
        "application/x-ndjson",
        false,
        b"{}\n".to_vec(),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("index_not_found_exception")),
        "{body}"
    );
    let (status, body, _) = post(
        "/v1/streams/known/records",
        "application/x-ndjson",
        false,
        vec![b' '; 7 * 1024 * 1024],
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (413, Some("content_too_long_exception")),
        "{body}"
    );
    let (status, _, _) = post(
        "/v1/streams/known/records",
        "application/x-ndjson",
        true,
        b"not gzip".to_vec(),
    );
    assert_eq!(status, 400);
}

#[test]
fn access_keys_guard_every_receiver() {
    let server = Server::start_with(
        &[],
        Some("[streams.private]\naccess_keys = [\"sekrit-123\"]\n"),
    );
    let nd = |key: Option<&str>| {
        let mut r = server
            .http
            .post(format!("{}/v1/streams/private/records", server.url))
            .header("content-type", "application/x-ndjson");
        if let Some(k) = key {
            r = r.header("x-amz-firehose-access-key", k);
        }
        send(r.body("{\"a\":1}\n")).0
    };
    assert_eq!(nd(None), 401);
    assert_eq!(nd(Some("wrong")), 403);
    assert_eq!(nd(Some("sekrit-123")), 200);
    let (status, body, _) = send(
        server
            .http
            .post(format!("{}/private/_bulk", server.url))
            .header("content-type", "application/x-ndjson")
            .header("authorization", "Bearer wrong")
            .body("{\"index\":{}}\n{\"a\":1}\n"),
    );
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["index"]["status"], 403);
    assert_eq!(
        body["items"][0]["index"]["error"]["type"],
        "security_exception"
    );
    let (status, body, _) = send(firehose(
        &server,
        "PutRecordBatch",
        json!({"DeliveryStreamName": "private", "Records": [{"Data": b64(b"{}")}]})
            .to_string()
            .into_bytes(),
        false,
    ));
    assert_eq!(
        (status, body["__type"].as_str()),
        (401, Some("AccessDeniedException"))
    );
    let (status, _, _) = send(
        firehose(
            &server,
            "PutRecordBatch",
            json!({"DeliveryStreamName": "private", "Records": [{"Data": b64(b"{}")}]})
                .to_string()
                .into_bytes(),
            false,
        )
        .header("authorization", "Bearer sekrit-123"),
    );
    assert_eq!(status, 200);
    assert!(
        !server.log_text().contains("sekrit-123"),
        "keys never appear in logs"
    );
}
