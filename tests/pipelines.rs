//! Ingest pipelines end to end over HTTP: the `_ingest/pipeline` API (stored durably across a
//! `kill -9`, declared in the configuration), `_simulate`, and records going through
//! pipelines on `_bulk` (`?pipeline=`, the action line's `pipeline`, `_none`) and NDJSON, a
//! stream's default and final pipelines, failures that cost only their record, dropped
//! documents, and the counters of `_nodes/stats/ingest`.

mod common;

use common::Server;
use serde_json::{Value, json};

fn put(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    let resp = server
        .http
        .put(format!("{}{path}", server.url))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn delete(server: &Server, path: &str) -> (u16, Value) {
    let resp = server
        .http
        .delete(format!("{}{path}", server.url))
        .send()
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn bulk(server: &Server, path: &str, lines: &[Value]) -> Value {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let (status, answer) = server.post(path, "application/x-ndjson", body);
    assert_eq!(status, 200, "{answer}");
    answer
}

fn search(server: &Server, target: &str, body: Value) -> Value {
    let (status, answer) = server.post_json(&format!("/{target}/_search"), &body);
    assert_eq!(status, 200, "{answer}");
    answer
}

/// Splits `key=value` pairs of a line into fields, and numbers into numbers.
fn kv_pipeline() -> Value {
    json!({
        "description": "key=value lines",
        "processors": [
            {"split": {"field": "message", "separator": " ", "target_field": "parts"}},
            {"set": {"field": "first", "value": "{{parts.0}}"}},
            {"rename": {"field": "parts", "target_field": "words"}},
            {"lowercase": {"field": "first", "tag": "low"}}
        ]
    })
}

#[test]
fn the_pipeline_api_stores_lists_simulates_and_deletes_and_survives_kill_9() {
    let config = r#"
[pipelines.from-config]
description = "declared in the file"
processors = [ { set = { field = "origin", value = "config" } } ]
"#;
    let mut server = Server::start_with(&[], Some(config));
    let (status, answer) = put(&server, "/_ingest/pipeline/words", &kv_pipeline());
    assert_eq!((status, &answer), (200, &json!({"acknowledged": true})));
    let (status, all) = server.get("/_ingest/pipeline");
    assert_eq!(status, 200);
    assert_eq!(all["words"], kv_pipeline());
    assert_eq!(all["from-config"]["description"], "declared in the file");
    let (status, one) = server.get("/_ingest/pipeline/wor*");
    assert_eq!((status, one.as_object().unwrap().len()), (200, 1));
    let (status, none) = server.get("/_ingest/pipeline/nope");
    assert_eq!((status, none), (404, json!({})));

    // A bad definition: Elasticsearch's parse_exception naming the processor, tag and property.
    let (status, e) = put(
        &server,
        "/_ingest/pipeline/bad",
        &json!({"processors": [{"set": {"tag": "t1", "value": 1}}]}),
    );
    assert_eq!(status, 400);
    assert_eq!(e["error"]["type"], "parse_exception");
    assert_eq!(e["error"]["reason"], "[field] required property is missing");
    assert_eq!(e["error"]["processor_type"], "set");
    assert_eq!(e["error"]["processor_tag"], "t1");
    assert_eq!(e["error"]["property_name"], "field");
    let (status, e) = put(
        &server,
        "/_ingest/pipeline/bad",
        &json!({"processors": [{"nope": {}}]}),
    );
    assert_eq!(
        (status, e["error"]["reason"].as_str()),
        (400, Some("No processor type exists with name [nope]"))
    );
    // The configuration's pipeline cannot be changed here.
    let (status, e) = put(&server, "/_ingest/pipeline/from-config", &kv_pipeline());
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("configuration file"),
        "{e}"
    );

    // _simulate, stored and inline, plain and verbose.
    let docs =
        json!({"docs": [{"_source": {"message": "Hello big world"}}, {"_source": {"message": 5}}]});
    let (status, sim) = server.post_json("/_ingest/pipeline/words/_simulate", &docs);
    assert_eq!(status, 200, "{sim}");
    assert_eq!(
        sim["docs"][0]["doc"]["_source"],
        json!({"message": "Hello big world", "words": ["Hello", "big", "world"], "first": "hello"})
    );
    assert_eq!(
        sim["docs"][1]["error"]["type"],
        "illegal_argument_exception"
    );
    let inline = json!({"pipeline": kv_pipeline(), "docs": [{"_source": {"message": "A b"}}]});
    let (status, sim) = server.post_json("/_ingest/pipeline/_simulate?verbose=true", &inline);
    assert_eq!(status, 200, "{sim}");
    let steps = sim["docs"][0]["processor_results"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[3]["tag"], "low");
    assert_eq!(steps[3]["doc"]["_source"]["first"], "a");

    // Durable: the pipeline is there after kill -9, the deleted one is not.
    put(&server, "/_ingest/pipeline/gone", &kv_pipeline());
    assert_eq!(
        delete(&server, "/_ingest/pipeline/gone"),
        (200, json!({"acknowledged": true}))
    );
    let (status, e) = delete(&server, "/_ingest/pipeline/gone");
    assert_eq!(
        (status, e["error"]["type"].as_str()),
        (404, Some("resource_not_found_exception"))
    );
    server.kill9();
    server.restart();
    let (status, all) = server.get("/_ingest/pipeline");
    assert_eq!(status, 200);
    assert_eq!(all["words"], kv_pipeline());
    assert!(all.get("gone").is_none(), "{all}");
}

#[test]
fn bulk_records_go_through_the_pipeline_named_and_a_failure_costs_only_its_record() {
    let server = Server::start();
    put(&server, "/_ingest/pipeline/words", &kv_pipeline());
    put(
        &server,
        "/_ingest/pipeline/tag",
        &json!({"processors": [{"set": {"field": "tagged", "value": true}}]}),
    );
    put(
        &server,
        "/_ingest/pipeline/drop",
        &json!({"processors": [{"drop": {}}]}),
    );
    put(
        &server,
        "/_ingest/pipeline/fail",
        &json!({"processors": [{"fail": {"message": "refused {{n}}"}}]}),
    );
    let answer = bulk(
        &server,
        "/web/_bulk?pipeline=words&refresh=wait_for",
        &[
            json!({"index": {"_id": "1"}}),
            json!({"message": "One two"}),
            json!({"index": {"_id": "2", "pipeline": "tag"}}),
            json!({"message": "Not split"}),
            json!({"index": {"_id": "3"}}),
            json!({"message": 7}),
            json!({"index": {"_id": "4", "pipeline": "_none"}}),
            json!({"message": "As sent"}),
            json!({"index": {"_id": "5", "pipeline": "drop"}}),
            json!({"message": "dropped"}),
            json!({"index": {"pipeline": "drop"}}),
            json!({"message": "dropped too"}),
            json!({"index": {"_id": "7", "pipeline": "fail"}}),
            json!({"n": 7}),
            json!({"index": {"_id": "8", "pipeline": "missing"}}),
            json!({"n": 8}),
            json!({"create": {"_id": "9"}}),
            json!({"message": "Three four five"}),
        ],
    );
    assert_eq!(answer["errors"], true);
    let items = answer["items"].as_array().unwrap();
    let item = |i: usize| {
        items[i]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .clone()
    };
    for i in [0, 1, 3, 8] {
        assert_eq!(item(i)["status"], 201, "{}", item(i));
    }
    assert_eq!(item(2)["status"], 400);
    assert_eq!(
        item(2)["error"]["reason"],
        "field [message] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
    );
    assert_eq!(item(2)["_id"], "3");
    assert_eq!(
        (
            item(4)["result"].as_str(),
            item(4)["status"].as_u64(),
            item(4)["_id"].as_str()
        ),
        (Some("noop"), Some(200), Some("5"))
    );
    assert_eq!(item(5)["_id"], "auto-generated");
    assert_eq!(
        (
            item(6)["status"].as_u64(),
            item(6)["error"]["type"].as_str(),
            item(6)["error"]["reason"].as_str()
        ),
        (
            Some(500),
            Some("fail_processor_exception"),
            Some("refused 7")
        )
    );
    assert_eq!(
        (
            item(7)["status"].as_u64(),
            item(7)["error"]["reason"].as_str()
        ),
        (Some(400), Some("pipeline with id [missing] does not exist"))
    );

    let hits = search(
        &server,
        "web",
        json!({"size": 10, "sort": [{"_id": "asc"}]}),
    );
    let by_id = |id: &str| {
        hits["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["_id"] == id)
            .map(|h| h["_source"].clone())
    };
    assert_eq!(hits["hits"]["total"]["value"], 4, "{hits}");
    assert_eq!(
        by_id("1").unwrap(),
        json!({"message": "One two", "words": ["One", "two"], "first": "one"})
    );
    assert_eq!(
        by_id("2").unwrap(),
        json!({"message": "Not split", "tagged": true})
    );
    assert_eq!(by_id("4").unwrap(), json!({"message": "As sent"}));
    assert_eq!(by_id("9").unwrap()["first"], "three");
    // The parsed field is searchable like any other.
    assert_eq!(server.count("web", Some("first:three")), 1);

    // Counters in _nodes/stats/ingest.
    let (status, stats) = server.get("/_nodes/stats/ingest");
    assert_eq!(status, 200);
    let ingest = &stats["nodes"]["hydrant"]["ingest"];
    assert_eq!(ingest["pipelines"]["words"]["count"], 3, "{ingest}");
    assert_eq!(ingest["pipelines"]["words"]["failed"], 1, "{ingest}");
    assert_eq!(ingest["pipelines"]["fail"]["failed"], 1, "{ingest}");
    assert_eq!(
        ingest["pipelines"]["words"]["processors"][3]["lowercase:low"]["stats"]["count"], 2,
        "{ingest}"
    );
    // And in the Prometheus metrics.
    assert_eq!(
        server.metric("hydrant_ingest_pipeline_documents_total{pipeline=\"words\"}"),
        3.0
    );
    assert_eq!(
        server.metric("hydrant_ingest_pipeline_failed_total{pipeline=\"fail\"}"),
        1.0
    );
}

#[test]
fn streams_have_default_and_final_pipelines_and_ndjson_text_lines_are_parsed() {
    let config = r#"
[pipelines.words]
processors = [
  { split = { field = "message", separator = " ", target_field = "words" } },
  { set = { field = "first", value = "{{words.0}}" } },
]

[pipelines.stamp]
processors = [ { set = { field = "stamped", value = "{{_ingest.pipeline}}" } } ]

[streams.raw]
record_format = "text"
pipeline = "words"
final_pipeline = "stamp"
"#;
    let server = Server::start_with(&[], Some(config));
    let (status, answer) = server.post(
        "/v1/streams/raw/records?refresh=wait_for",
        "text/plain",
        "alpha beta\ngamma delta epsilon\n",
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    // `_none` skips the default pipeline, not the final one.
    let (status, answer) = server.post(
        "/v1/streams/raw/records?refresh=wait_for&pipeline=_none",
        "text/plain",
        "zeta eta\n",
    );
    assert_eq!(status, 200, "{answer}");
    let hits = search(
        &server,
        "raw",
        json!({"size": 10, "query": {"match_all": {}}}),
    );
    let mut sources: Vec<Value> = hits["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"].clone())
        .collect();
    sources.sort_by_key(|s| s["message"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        sources,
        vec![
            json!({"message": "alpha beta", "words": ["alpha", "beta"], "first": "alpha", "stamped": "stamp"}),
            json!({"message": "gamma delta epsilon", "words": ["gamma", "delta", "epsilon"], "first": "gamma", "stamped": "stamp"}),
            json!({"message": "zeta eta", "stamped": "stamp"}),
        ]
    );
    // A line a pipeline refuses is reported with its number; the others are kept.
    // (Every line refused: the request as a whole is a 400, as for any NDJSON body.)
    let (status, answer) = server.post(
        "/v1/streams/other/records?pipeline=nope",
        "application/x-ndjson",
        "{\"a\":1}\n",
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(answer["errors"][0]["type"], "pipeline_missing");
    let (status, _) = put(
        &server,
        "/_ingest/pipeline/strict",
        &json!({"processors": [{"convert": {"field": "n", "type": "integer"}}]}),
    );
    assert_eq!(status, 200);
    let (status, answer) = server.post(
        "/v1/streams/other/records?pipeline=strict",
        "application/x-ndjson",
        "{\"n\":\"1\"}\n{\"n\":\"x\"}\n{\"n\":\"3\"}\n",
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        answer["errors"][0],
        json!({"line": 2, "type": "processing_failed", "reason": "unable to convert [x] to integer"})
    );
}

#[test]
fn geoip_reads_the_database_the_configuration_names_and_user_agents_are_parsed() {
    let db = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pipeline/tests/geoip/Hydrant-Test-City.mmdb"
    );
    let config = format!("[ingest.geoip_databases]\n\"Hydrant-Test-City.mmdb\" = \"{db}\"\n");
    let server = Server::start_with(&[], Some(&config));
    let (status, answer) = put(
        &server,
        "/_ingest/pipeline/enrich",
        &json!({"processors": [
            {"geoip": {"field": "ip", "database_file": "Hydrant-Test-City.mmdb"}},
            {"user_agent": {"field": "agent"}},
        ]}),
    );
    assert_eq!(status, 200, "{answer}");
    let agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
    let answer = bulk(
        &server,
        "/visits/_bulk?pipeline=enrich&refresh=wait_for",
        &[
            json!({"index": {"_id": "a"}}),
            json!({"ip": "81.2.69.160", "agent": agent}),
            json!({"index": {"_id": "b"}}),
            json!({"ip": "10.0.0.1", "agent": agent}),
        ],
    );
    assert_eq!(answer["errors"], false, "{answer}");
    let hits = search(&server, "visits", json!({"sort": [{"_id": "asc"}]}));
    let a = &hits["hits"]["hits"][0]["_source"];
    assert_eq!(a["geoip"]["city_name"], "London", "{a}");
    assert_eq!(a["geoip"]["country_iso_code"], "GB", "{a}");
    assert_eq!(a["user_agent"]["name"], "Firefox", "{a}");
    assert_eq!(a["user_agent"]["version"], "120.0", "{a}");
    assert_eq!(a["user_agent"]["os"]["name"], "Linux", "{a}");
    // A private address is in no database: no fields, no error.
    let b = &hits["hits"]["hits"][1]["_source"];
    assert!(b.get("geoip").is_none(), "{b}");
    // The location is a geo point Discover and Maps can use: a terms on the city works.
    let aggs = search(
        &server,
        "visits",
        json!({"size": 0, "aggs": {"c": {"terms": {"field": "geoip.city_name"}}}}),
    );
    assert_eq!(
        aggs["aggregations"]["c"]["buckets"][0]["key"], "London",
        "{aggs}"
    );
}

/// Files under `dir`, recursively, with their gunzipped text.
fn object_texts(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(object_texts(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            )
            .unwrap();
            out.push((path.display().to_string(), text));
        }
    }
    out
}

#[test]
fn the_backup_of_a_stream_with_a_pipeline_holds_the_records_as_they_came() {
    let config = r#"
[pipelines.words]
processors = [ { split = { field = "message", separator = " ", target_field = "words" } } ]

[streams.raw]
record_format = "text"
pipeline = "words"

[streams.raw.backup]
mode = "AllDocuments"
"#;
    let server = Server::start_with(&[], Some(config));
    let lines = ["alpha beta", "gamma delta epsilon", "zeta"];
    let (status, answer) = server.post(
        "/v1/streams/raw/records?refresh=wait_for",
        "text/plain",
        lines.join("\n") + "\n",
    );
    assert_eq!(status, 200, "{answer}");
    server.wait_delivered("raw");
    // The index has the processed documents …
    let hits = search(
        &server,
        "raw",
        json!({"query": {"match": {"words": "delta"}}}),
    );
    assert_eq!(hits["hits"]["total"]["value"], 1, "{hits}");
    // … and the backup the records as they came (Firehose's source-record backup).
    let objects = server.data_dir.join("objects");
    let backed: Vec<String> =
        common::eventually(std::time::Duration::from_secs(30), "the backup", || {
            let texts = object_texts(&objects);
            let lines: Vec<String> = texts
                .iter()
                .filter(|(path, _)| !path.contains("errors"))
                .flat_map(|(_, t)| t.lines().map(str::to_string).collect::<Vec<_>>())
                .collect();
            (lines.len() == 3).then_some(lines)
        });
    let mut sorted = backed.clone();
    sorted.sort();
    assert_eq!(sorted, ["alpha beta", "gamma delta epsilon", "zeta"]);
}

/// A log line whose `kv` keys would nest the document hundreds of thousands of levels deep:
/// its record is refused with a clear error, `_simulate` answers, and the server keeps
/// serving — it used to overflow the stack and take the process down.
#[test]
fn a_line_that_would_nest_too_deep_costs_its_record_not_the_server() {
    let server = Server::start();
    let kv = json!({"processors": [
        {"kv": {"field": "message", "field_split": " ", "value_split": "="}}
    ]});
    assert_eq!(put(&server, "/_ingest/pipeline/kv", &kv).0, 200);
    let deep = format!("{}=1 b=2", vec!["a"; 200_000].join("."));
    let answer = bulk(
        &server,
        "/web/_bulk?pipeline=kv&refresh=wait_for",
        &[
            json!({"index": {"_id": "deep"}}),
            json!({ "message": deep }),
            json!({"index": {"_id": "fine"}}),
            json!({"message": "status=200 path=/a"}),
        ],
    );
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items[0]["index"]["status"], 400, "{}", items[0]);
    let reason = items[0]["index"]["error"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("field path [a.a.a") && reason.ends_with("has more than [127] levels"),
        "{reason}"
    );
    assert_eq!(items[1]["index"]["status"], 201, "{}", items[1]);

    let (status, simulated) = server.post_json(
        "/_ingest/pipeline/kv/_simulate",
        &json!({"docs": [{"_source": {"message": deep}}]}),
    );
    assert_eq!(status, 200, "{simulated}");
    assert_eq!(
        simulated["docs"][0]["error"]["type"], "illegal_argument_exception",
        "{simulated}"
    );
    assert_eq!(server.count("web", Some("status:200")), 1);
}
