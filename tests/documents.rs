//! The single-document APIs over HTTP, in Elasticsearch's shapes: `PUT|POST /{index}/_doc/{id}`,
//! `POST /{index}/_doc`, `PUT /{index}/_create/{id}` (with `?pipeline=` and `?refresh=`), and
//! `GET|HEAD /{index}/_doc/{id}` and `/_source/{id}`; answers checked against what OpenSearch
//! 2.19 answers for the same calls.

mod common;

use common::Server;
use serde_json::json;

#[test]
fn documents_are_written_and_read_one_at_a_time_with_pipelines() {
    let server = Server::start();
    let grok = json!({"processors": [{"convert": {"field": "n", "type": "integer"}}]});
    assert_eq!(
        server
            .send("PUT", "/_ingest/pipeline/num", Some(&grok.to_string()))
            .0,
        200
    );
    let fail = json!({"processors": [{"fail": {"message": "refused {{a}}"}}]});
    assert_eq!(
        server
            .send("PUT", "/_ingest/pipeline/fail", Some(&fail.to_string()))
            .0,
        200
    );
    let drop = json!({"processors": [{"drop": {}}]});
    assert_eq!(
        server
            .send("PUT", "/_ingest/pipeline/drop", Some(&drop.to_string()))
            .0,
        200
    );

    // Written: 201 and the shape of a created document; pretty JSON over several lines is one document.
    let (status, body) = server.send(
        "PUT",
        "/docs/_doc/1?pipeline=num&refresh=true",
        Some("{\n  \"n\": \"12\",\n  \"w\": \"ab\"\n}"),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["_id"], "1");
    assert_eq!(body["result"], "created");
    assert_eq!(body["_version"], 1);
    assert_eq!(body["_shards"]["successful"], 1);
    assert_eq!(body["forced_refresh"], true);
    assert!(
        body["_index"].as_str().unwrap().starts_with("docs"),
        "{body}"
    );
    let (status, body) = server.send("POST", "/docs/_doc?refresh=wait_for", Some("{\"a\":2}"));
    assert_eq!(status, 201, "{body}");
    let auto_id = body["_id"].as_str().unwrap().to_string();
    assert!(!auto_id.is_empty());
    assert!(
        body.get("forced_refresh").is_none(),
        "only refresh=true forces: {body}"
    );
    assert_eq!(
        server
            .send("PUT", "/docs/_create/3?refresh=true", Some("{\"c\":3}"))
            .0,
        201
    );

    // A processor's refusal is the request's error, as OpenSearch answers it; a drop is a noop.
    let (status, body) = server.send("PUT", "/docs/_doc/2?pipeline=fail", Some("{\"a\":1}"));
    assert_eq!(status, 500);
    assert_eq!(body["error"]["type"], "fail_processor_exception");
    assert_eq!(body["error"]["reason"], "refused 1");
    assert_eq!(body["status"], 500);
    let (status, body) = server.send("PUT", "/docs/_doc/4?pipeline=drop", Some("{\"a\":1}"));
    assert_eq!(
        (status, body["result"].as_str(), body["_version"].as_i64()),
        (200, Some("noop"), Some(-3))
    );
    let (status, body) = server.send("PUT", "/docs/_doc/5", Some("{bad"));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("mapper_parsing_exception"))
    );
    let (status, body) = server.send("PUT", "/docs/_doc/6?pipeline=missing", Some("{}"));
    assert_eq!(
        (status, body["error"]["reason"].as_str()),
        (400, Some("pipeline with id [missing] does not exist"))
    );

    // Read back.
    let (status, body) = server.send("GET", "/docs/_doc/1", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["found"], true);
    assert_eq!(body["_source"], json!({"n": 12, "w": "ab"}));
    assert_eq!(
        (body["_version"].as_u64(), body["_primary_term"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(body["_seq_no"].is_u64(), "{body}");
    let (status, body) = server.send("GET", &format!("/docs/_doc/{auto_id}"), None);
    assert_eq!((status, &body["_source"]), (200, &json!({"a": 2})));
    let (status, body) = server.send("GET", "/docs/_doc/1?_source_includes=w", None);
    assert_eq!((status, &body["_source"]), (200, &json!({"w": "ab"})));
    let (status, body) = server.send("GET", "/docs/_doc/9", None);
    assert_eq!(
        (status, body),
        (404, json!({"_index": "docs", "_id": "9", "found": false}))
    );
    for (path, want) in [
        ("/docs/_doc/3", 200),
        ("/docs/_doc/4", 404),
        ("/docs/_doc/2", 404),
    ] {
        assert_eq!(server.send("HEAD", path, None).0, want, "{path}");
    }
    let (status, body) = server.send("GET", "/docs/_source/3", None);
    assert_eq!((status, body), (200, json!({"c": 3})));
    let (status, body) = server.send("GET", "/docs/_source/9", None);
    assert_eq!(
        (status, body["error"]["reason"].as_str()),
        (404, Some("Document not found [docs]/[9]"))
    );
    let (status, body) = server.send("GET", "/nope-idx/_doc/1", None);
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );
}
