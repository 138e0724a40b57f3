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

#[test]
fn updates_deletes_and_sequence_numbers_follow_elasticsearch() {
    let mut server = Server::start();
    let (status, body) = server.send(
        "PUT",
        "/rmw/_doc/1?refresh=true",
        Some(r#"{"a": 1, "o": {"x": 1}}"#),
    );
    assert_eq!(status, 201, "{body}");
    let (_, got) = server.get("/rmw/_doc/1");
    let first = got["_seq_no"].as_u64().unwrap();
    assert!(first > 0, "{got}");
    assert_eq!(first, body["_seq_no"].as_u64().unwrap());

    // Kibana's saved objects: an update conditioned on the sequence number read.
    let path = format!("/rmw/_update/1?if_seq_no={first}&if_primary_term=1&refresh=true");
    let (status, body) = server.send("POST", &path, Some(r#"{"doc": {"b": 2, "o": {"y": 2}}}"#));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "updated");
    let second = body["_seq_no"].as_u64().unwrap();
    assert!(second > first);
    let (_, got) = server.get("/rmw/_doc/1");
    assert_eq!(
        got["_source"],
        json!({"a": 1, "b": 2, "o": {"x": 1, "y": 2}})
    );
    assert_eq!(got["_seq_no"].as_u64(), Some(second));
    let (status, body) = server.send("POST", &path, Some(r#"{"doc": {"b": 3}}"#));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["type"], "version_conflict_engine_exception");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("current document has seqNo [{second}]"))
    );
    let (status, body) = server.send("POST", "/rmw/_update/1", Some(r#"{"doc": {"b": 2}}"#));
    assert_eq!(
        (status, body["result"].as_str()),
        (200, Some("noop")),
        "{body}"
    );

    // Missing documents: refused, or created by an upsert.
    let (status, body) = server.send("POST", "/rmw/_update/2", Some(r#"{"doc": {"c": 1}}"#));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("document_missing_exception"))
    );
    let (status, body) = server.send(
        "POST",
        "/rmw/_update/2?refresh=true",
        Some(r#"{"doc": {"c": 1}, "doc_as_upsert": true}"#),
    );
    assert_eq!(
        (status, body["result"].as_str()),
        (201, Some("created")),
        "{body}"
    );
    let (status, _) = server.send(
        "POST",
        "/rmw/_update/3?refresh=true",
        Some(r#"{"doc": {"c": 1}, "upsert": {"c": 0}}"#),
    );
    assert_eq!(status, 201);
    assert_eq!(server.get("/rmw/_source/3").1, json!({"c": 0}));
    let (status, body) = server.send(
        "POST",
        "/rmw/_update/3",
        Some(r#"{"script": "ctx._source.c++"}"#),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.send("PUT", "/rmw/_create/2", Some(r#"{"c": 9}"#));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (409, Some("version_conflict_engine_exception"))
    );
    let (status, _) = server.send(
        "PUT",
        &format!("/rmw/_doc/2?if_seq_no={first}&if_primary_term=1"),
        Some(r#"{"c": 9}"#),
    );
    assert_eq!(status, 409);

    // A deletion, conditional or not, and what reads see after it.
    let (status, body) = server.send("DELETE", "/rmw/_doc/2?if_seq_no=1&if_primary_term=1", None);
    assert_eq!(status, 409, "{body}");
    let (status, body) = server.send("DELETE", "/rmw/_doc/2?refresh=true", None);
    assert_eq!(
        (status, body["result"].as_str()),
        (200, Some("deleted")),
        "{body}"
    );
    assert_eq!(server.get("/rmw/_doc/2").0, 404);
    let (status, body) = server.send("DELETE", "/rmw/_doc/2", None);
    assert_eq!((status, body["result"].as_str()), (404, Some("not_found")));
    assert_eq!(server.send("DELETE", "/nowhere/_doc/2", None).0, 404);

    // _mget: both request forms, found, not found and a missing index.
    let (status, body) = server.send("POST", "/_mget", Some(r#"{"docs": [{"_index": "rmw", "_id": "1"}, {"_index": "rmw", "_id": "2"}, {"_index": "nowhere", "_id": "1"}]}"#));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["docs"][0]["found"], true);
    assert_eq!(body["docs"][0]["_source"]["b"], 2);
    assert_eq!(body["docs"][1]["found"], false);
    assert_eq!(
        body["docs"][2]["error"]["type"],
        "index_not_found_exception"
    );
    let (_, body) = server.send("GET", "/rmw/_mget", Some(r#"{"ids": ["3", "1"]}"#));
    assert_eq!(body["docs"][0]["_source"], json!({"c": 0}), "{body}");

    // The deletion is in the write-ahead log: it holds after a crash.
    assert_eq!(server.count("rmw", None), 2);
    server.kill9();
    server.restart();
    assert_eq!(server.count("rmw", None), 2);
    assert_eq!(server.get("/rmw/_doc/2").0, 404);
}

#[test]
fn an_update_that_moves_a_document_to_another_day_leaves_one_copy() {
    let server = Server::start();
    let (status, _) = server.send(
        "PUT",
        "/moves/_doc/m?refresh=true",
        Some(r#"{"@timestamp": "2026-01-01T10:00:00Z", "v": 1}"#),
    );
    assert_eq!(status, 201);
    let (status, body) = server.send(
        "POST",
        "/moves/_update/m?refresh=true",
        Some(r#"{"doc": {"@timestamp": "2026-01-05T10:00:00Z"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.count("moves", None), 1);
    let (_, got) = server.get("/moves/_doc/m");
    assert!(
        got["_index"].as_str().unwrap().contains("2026-01-05"),
        "{got}"
    );
}

#[test]
fn delete_by_query_removes_what_matches_and_runs_as_a_task_when_asked() {
    let server = Server::start();
    let mut body = String::new();
    for i in 0..50 {
        let level = if i % 5 == 0 { "error" } else { "info" };
        body.push_str(&format!("{{\"index\":{{\"_index\":\"dbq\",\"_id\":\"{i}\"}}}}\n{{\"level\":\"{level}\",\"n\":{i}}}\n"));
    }
    let (status, _) = server.post("/_bulk?refresh=wait_for", "application/x-ndjson", body);
    assert_eq!(status, 200);
    let (status, body) = server.send(
        "POST",
        "/dbq/_delete_by_query?refresh=true",
        Some(r#"{"query": {"term": {"level": "error"}}}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["deleted"].as_u64(), body["total"].as_u64()),
        (Some(10), Some(10)),
        "{body}"
    );
    assert_eq!(body["failures"], json!([]));
    assert_eq!(server.count("dbq", None), 40);
    assert_eq!(server.count("dbq", Some("level:error")), 0);
    // `max_docs` bounds it.
    let (_, body) = server.send(
        "POST",
        "/dbq/_delete_by_query?refresh=true",
        Some(r#"{"query": {"range": {"n": {"lt": 20}}}, "max_docs": 3}"#),
    );
    assert_eq!(body["deleted"], 3, "{body}");
    assert_eq!(server.count("dbq", None), 37);
    // In the background: a task whose result is read back.
    let (status, body) = server.send(
        "POST",
        "/dbq/_delete_by_query?wait_for_completion=false",
        Some(r#"{"query": {"range": {"n": {"gte": 40}}}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let task = body["task"].as_str().unwrap().to_string();
    let done = common::eventually(
        std::time::Duration::from_secs(30),
        "the task completes",
        || {
            let (_, t) = server.get(&format!("/_tasks/{task}"));
            (t["completed"] == true).then_some(t)
        },
    );
    assert_eq!(done["response"]["deleted"], 8, "{done}");
    assert_eq!(server.send("POST", "/_refresh", None).0, 200);
    assert_eq!(server.count("dbq", None), 29);
    // Refusals in Elasticsearch's words.
    let (status, body) = server.send(
        "POST",
        "/dbq/_delete_by_query",
        Some(r#"{"query": {"nonsense": {}}}"#),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.send("POST", "/dbq/_delete_by_query", Some("{}"));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("action_request_validation_exception"))
    );
    let (status, _) = server.send(
        "POST",
        "/nowhere/_delete_by_query",
        Some(r#"{"query": {"match_all": {}}}"#),
    );
    assert_eq!(status, 404);
    assert_eq!(server.get("/_tasks/hydrant:999").0, 404);
}

#[test]
fn bulk_update_and_delete_items_apply_in_order_with_the_writes_around_them() {
    let server = Server::start();
    let body = concat!(
        "{\"index\":{\"_index\":\"bk\",\"_id\":\"1\"}}\n{\"a\":1}\n",
        "{\"update\":{\"_index\":\"bk\",\"_id\":\"1\"}}\n{\"doc\":{\"b\":2}}\n",
        "{\"index\":{\"_index\":\"bk\",\"_id\":\"2\"}}\n{\"a\":2}\n",
        "{\"delete\":{\"_index\":\"bk\",\"_id\":\"2\"}}\n",
        "{\"delete\":{\"_index\":\"bk\",\"_id\":\"nope\"}}\n",
        "{\"update\":{\"_index\":\"bk\",\"_id\":\"3\"}}\n{\"doc\":{\"c\":3},\"doc_as_upsert\":true}\n",
        "{\"update\":{\"_index\":\"bk\",\"_id\":\"4\"}}\n{\"doc\":{\"c\":4}}\n",
        "{\"delete\":{\"_index\":\"bk\"}}\n",
    );
    let (status, answer) = server.post("/_bulk?refresh=wait_for", "application/x-ndjson", body);
    assert_eq!(status, 200, "{answer}");
    let items = answer["items"].as_array().unwrap();
    let result = |i: usize, action: &str| {
        (
            items[i][action]["status"].as_u64().unwrap_or(0),
            items[i][action]["result"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    assert_eq!(result(0, "index"), (201, "created".into()), "{answer}");
    assert_eq!(result(1, "update"), (200, "updated".into()), "{answer}");
    assert_eq!(result(3, "delete"), (200, "deleted".into()), "{answer}");
    assert_eq!(result(4, "delete"), (404, "not_found".into()), "{answer}");
    assert_eq!(result(5, "update"), (201, "created".into()), "{answer}");
    assert_eq!(
        items[6]["update"]["error"]["type"], "document_missing_exception",
        "{answer}"
    );
    assert_eq!(
        items[7]["delete"]["error"]["type"], "action_request_validation_exception",
        "{answer}"
    );
    assert_eq!(answer["errors"], true);
    assert_eq!(server.get("/bk/_source/1").1, json!({"a": 1, "b": 2}));
    assert_eq!(server.get("/bk/_doc/2").0, 404);
    assert_eq!(server.get("/bk/_source/3").1, json!({"c": 3}));
    assert_eq!(server.count("bk", None), 2);
}
