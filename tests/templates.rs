//! Index templates and index definitions over HTTP, in Elasticsearch's shapes:
//! `/_index_template`, `/_template`, `PUT /{index}`, `PUT /{index}/_mapping` and
//! `PUT /{index}/_settings` — applied to the indices streams create on first write and by
//! rotation, kept across a restart.

mod common;

use common::Server;
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;

fn bulk(server: &Server, index: &str, docs: &[Value]) -> Value {
    let mut body = String::new();
    for d in docs {
        body.push_str(&json!({"index": {"_index": index}}).to_string());
        body.push('\n');
        body.push_str(&d.to_string());
        body.push('\n');
    }
    let (status, answer) = server.post("/_bulk?refresh=wait_for", "application/x-ndjson", body);
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The one index of `stream` whose name ends with `suffix`.
fn mapping_of(server: &Server, target: &str) -> Value {
    let (status, body) = server.get(&format!("/{target}/_mapping"));
    assert_eq!(status, 200, "{body}");
    body
}

fn iso_day(ms: i64) -> String {
    let d = chrono::DateTime::from_timestamp_millis(ms).unwrap();
    d.format("%Y-%m-%dT12:00:00Z").to_string()
}

#[test]
fn a_composable_template_shapes_new_indices_with_mappings_settings_and_a_pipeline() {
    let server = Server::start();
    assert_eq!(server.send("HEAD", "/_index_template/web", None).0, 404);
    let (status, body) = server.send("GET", "/_index_template/web", None);
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("resource_not_found_exception"))
    );
    let pipeline = json!({"processors": [{"set": {"field": "tagged", "value": "yes"}}]});
    assert_eq!(
        server
            .send("PUT", "/_ingest/pipeline/tag", Some(&pipeline.to_string()))
            .0,
        200
    );
    let template = json!({
        "index_patterns": ["tweb*"],
        "priority": 10,
        "template": {
            "settings": {"number_of_shards": 2, "index": {"default_pipeline": "tag"}},
            "mappings": {"properties": {
                "status": {"type": "keyword"},
                "bytes": {"type": "long"},
                "msg": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
                "geo": {"properties": {"location": {"type": "geo_point"}}}
            }}
        }
    });
    let (status, body) = server.send("PUT", "/_index_template/web", Some(&template.to_string()));
    assert_eq!((status, &body), (200, &json!({"acknowledged": true})));
    assert_eq!(server.send("HEAD", "/_index_template/web", None).0, 200);
    let (status, body) = server.send(
        "PUT",
        "/_index_template/web?create=true",
        Some(&template.to_string()),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("illegal_argument_exception"))
    );
    let (_, got) = server.send("GET", "/_index_template/w*", None);
    let t = &got["index_templates"][0];
    assert_eq!(t["name"], "web");
    assert_eq!(t["index_template"]["priority"], 10);
    assert_eq!(
        t["index_template"]["template"]["settings"]["index"]["number_of_shards"],
        "2"
    );
    assert_eq!(
        t["index_template"]["template"]["settings"]["index"]["default_pipeline"],
        "tag"
    );

    // The stream created on first write gets the template: a value that does not fit an
    // explicit field costs only its own record, the pipeline ran, the index has two shards.
    let answer = bulk(
        &server,
        "tweb",
        &[
            json!({"status": 200, "bytes": 10, "msg": "GET /a"}),
            json!({"status": "404", "bytes": "many"}),
        ],
    );
    assert_eq!(answer["errors"], true);
    assert_eq!(answer["items"][0]["index"]["status"], 201);
    assert_eq!(
        answer["items"][1]["index"]["error"]["type"],
        "mapper_parsing_exception"
    );
    let (_, hits) = server.get("/tweb/_search?q=status:200");
    assert_eq!(hits["hits"]["total"]["value"], 1, "{hits}");
    assert_eq!(hits["hits"]["hits"][0]["_source"]["tagged"], "yes");
    let m = mapping_of(&server, "tweb");
    let (name, index) = m.as_object().unwrap().iter().next().unwrap();
    let props = &index["mappings"]["properties"];
    assert_eq!(props["status"]["type"], "keyword", "{m}");
    assert_eq!(props["msg"]["fields"]["keyword"]["type"], "keyword");
    assert_eq!(props["geo"]["properties"]["location"]["type"], "geo_point");
    let (_, settings) = server.get(&format!("/{name}"));
    assert_eq!(
        settings[name]["settings"]["index"]["number_of_shards"], "2",
        "{settings}"
    );

    let (status, _) = server.send("DELETE", "/_index_template/web", None);
    assert_eq!(status, 200);
    let (status, body) = server.send("DELETE", "/_index_template/web", None);
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("index_template_missing_exception"))
    );
}

#[test]
fn a_template_put_today_maps_tomorrows_rotated_index() {
    let server = Server::start();
    let now = chrono::Utc::now().timestamp_millis();
    bulk(
        &server,
        "rot",
        &[json!({"@timestamp": iso_day(now), "code": "A1"})],
    );
    let template = json!({"index_patterns": ["rot-*"], "template": {"mappings": {"properties": {"code": {"type": "keyword"}}}}});
    assert_eq!(
        server
            .send("PUT", "/_index_template/rot", Some(&template.to_string()))
            .0,
        200
    );
    bulk(
        &server,
        "rot",
        &[json!({"@timestamp": iso_day(now + DAY_MS), "code": "B2"})],
    );
    let m = mapping_of(&server, "rot");
    let indices = m.as_object().unwrap();
    assert_eq!(indices.len(), 2, "{m}");
    let mut types: Vec<(String, String)> = indices
        .iter()
        .map(|(n, i)| {
            (
                n.clone(),
                i["mappings"]["properties"]["code"]["type"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    types.sort();
    // Today's index existed before the template: its dynamic string stays `text`.
    assert_eq!(types[0].1, "text", "{m}");
    assert_eq!(types[1].1, "keyword", "{m}");
}

#[test]
fn put_index_and_mapping_define_a_stream_before_its_first_record_and_survive_a_restart() {
    let mut server = Server::start();
    let create = json!({
        "settings": {"index": {"number_of_shards": "1", "number_of_replicas": "1"}},
        "mappings": {"properties": {"status": {"type": "keyword"}}}
    });
    let (status, body) = server.send("PUT", "/copy", Some(&create.to_string()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"acknowledged": true, "shards_acknowledged": true, "index": "copy"})
    );
    let (status, body) = server.send("PUT", "/copy", Some("{}"));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("resource_already_exists_exception"))
    );
    assert_eq!(server.send("HEAD", "/copy", None).0, 200);
    let (status, body) = server.send(
        "PUT",
        "/copy/_mapping",
        Some(r#"{"properties": {"bytes": {"type": "long"}}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.send(
        "PUT",
        "/copy/_mapping",
        Some(r#"{"properties": {"status": {"type": "long"}}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["reason"],
        "mapper [status] cannot be changed from type [keyword] to [long]"
    );
    let (status, body) = server.send(
        "PUT",
        "/copy/_mapping",
        Some(r#"{"properties": {"x": {"type": "strnig"}}}"#),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("mapper_parsing_exception"))
    );
    let m = mapping_of(&server, "copy");
    assert_eq!(
        m["copy"]["mappings"]["properties"]["bytes"]["type"], "long",
        "{m}"
    );
    assert_eq!(server.send("POST", "/copy/_refresh", None).0, 200);
    let (status, body) = server.send("PUT", "/missing/_mapping", Some(r#"{"properties": {}}"#));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );

    server.stop();
    server.restart();
    let m = mapping_of(&server, "copy");
    assert_eq!(
        m["copy"]["mappings"]["properties"]["status"]["type"], "keyword",
        "{m}"
    );
    let answer = bulk(
        &server,
        "copy",
        &[json!({"status": 200, "bytes": 5}), json!({"bytes": "x"})],
    );
    assert_eq!(
        answer["items"][1]["index"]["error"]["type"], "mapper_parsing_exception",
        "{answer}"
    );
    let m = mapping_of(&server, "copy");
    let (_, index) = m.as_object().unwrap().iter().next().unwrap();
    assert_eq!(
        index["mappings"]["properties"]["bytes"]["type"], "long",
        "{m}"
    );
    assert_eq!(server.count("copy", Some("status:200")), 1);
}

#[test]
fn legacy_templates_compose_by_order_and_answer_in_their_own_shape() {
    let server = Server::start();
    let (status, body) = server.send("GET", "/_template/nope", None);
    assert_eq!((status, &body), (404, &json!({})));
    let low = json!({"index_patterns": ["leg*"], "order": 0, "mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "keyword"}}}});
    let high = json!({"index_patterns": "leg*", "order": 1, "settings": {"refresh_interval": "1s"}, "mappings": {"_doc": {"properties": {"b": {"type": "long"}}}}});
    assert_eq!(
        server
            .send("PUT", "/_template/low", Some(&low.to_string()))
            .0,
        200
    );
    assert_eq!(
        server
            .send("PUT", "/_template/high", Some(&high.to_string()))
            .0,
        200
    );
    let (_, got) = server.get("/_template/high");
    assert_eq!(got["high"]["order"], 1);
    assert_eq!(got["high"]["index_patterns"], json!(["leg*"]));
    assert_eq!(got["high"]["settings"]["index"]["refresh_interval"], "1s");
    bulk(&server, "legacy", &[json!({"a": "x", "b": 3})]);
    let m = mapping_of(&server, "legacy");
    let (_, index) = m.as_object().unwrap().iter().next().unwrap();
    assert_eq!(
        index["mappings"]["properties"]["a"]["type"], "keyword",
        "{m}"
    );
    assert_eq!(index["mappings"]["properties"]["b"]["type"], "long", "{m}");
    let (status, body) = server.send("PUT", "/_template/bad", Some(r#"{"order": 1}"#));
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("action_request_validation_exception"))
    );
}

#[test]
fn aliases_search_across_their_targets_write_to_their_write_stream_and_are_listed() {
    let mut server = Server::start();
    bulk(&server, "app-a", &[json!({"n": 1}), json!({"n": 2})]);
    bulk(&server, "app-b", &[json!({"n": 3})]);
    let actions = json!({"actions": [
        {"add": {"index": "app-a", "alias": "apps", "is_write_index": true}},
        {"add": {"indices": ["app-b"], "alias": "apps"}},
        {"add": {"index": "app-b", "aliases": ["only-b"]}}
    ]});
    let (status, body) = server.send("POST", "/_aliases", Some(&actions.to_string()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acknowledged"], true);
    assert_eq!(server.count("apps", None), 3);
    assert_eq!(server.count("only-b", None), 1);
    assert_eq!(server.count("app*", None), 3);
    // Writes through the alias go to its write stream.
    bulk(&server, "apps", &[json!({"n": 4})]);
    assert_eq!(server.count("app-a", None), 3);
    let (_, body) = server.get("/_alias/apps");
    let listed: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(listed.len(), 2, "{body}");
    let a_index = listed
        .iter()
        .find(|n| n.starts_with("app-a"))
        .unwrap()
        .to_string();
    assert_eq!(
        body[&a_index]["aliases"]["apps"]["is_write_index"], true,
        "{body}"
    );
    assert_eq!(server.send("HEAD", "/_alias/apps", None).0, 200);
    assert_eq!(server.send("HEAD", "/_alias/nope", None).0, 404);
    let (status, body) = server.get("/_alias/nope");
    assert_eq!((status, body["status"].as_u64()), (404, Some(404)));
    let (_, cat) = server.get("/_cat/aliases?format=json");
    assert!(
        cat.as_array()
            .unwrap()
            .iter()
            .any(|r| r["alias"] == "apps" && r["is_write_index"] == "true"),
        "{cat}"
    );

    // Refusals: a name taken by a stream, a filter, removing what is not there.
    let (status, body) = server.send("PUT", "/app-b/_alias/app-a", None);
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("invalid_alias_name_exception"))
    );
    let filtered = json!({"actions": [{"add": {"index": "app-a", "alias": "f", "filter": {"term": {"n": 1}}}}]});
    let (status, body) = server.send("POST", "/_aliases", Some(&filtered.to_string()));
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["reason"].as_str().unwrap().contains("filter"),
        "{body}"
    );
    let (status, body) = server.send("DELETE", "/app-a/_alias/only-b", None);
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("aliases_not_found_exception"))
    );
    // Two write candidates and none marked: writes are refused, not guessed.
    assert_eq!(server.send("DELETE", "/app-a/_alias/apps", None).0, 200);
    assert_eq!(server.send("PUT", "/app-a/_alias/apps", Some("{}")).0, 200);
    let (_, answer) = server.post(
        "/_bulk",
        "application/x-ndjson",
        "{\"index\":{\"_index\":\"apps\"}}\n{\"n\":5}\n",
    );
    assert_eq!(answer["items"][0]["index"]["status"], 400, "{answer}");

    server.stop();
    server.restart();
    assert_eq!(server.count("only-b", None), 1);
}

#[test]
fn template_aliases_point_at_each_new_index() {
    let server = Server::start();
    let template = json!({"index_patterns": ["ta-*"], "template": {"aliases": {"all-ta": {}}}});
    assert_eq!(
        server
            .send("PUT", "/_index_template/ta", Some(&template.to_string()))
            .0,
        200
    );
    bulk(&server, "ta-one", &[json!({"n": 1})]);
    bulk(&server, "ta-two", &[json!({"n": 2})]);
    assert_eq!(server.count("all-ta", None), 2);
    let create = json!({"aliases": {"created": {}}});
    assert_eq!(
        server.send("PUT", "/made", Some(&create.to_string())).0,
        200
    );
    bulk(&server, "created", &[json!({"n": 3})]);
    assert_eq!(server.count("made", None), 1);
}

#[test]
fn settings_are_read_and_updated_and_close_is_refused_clearly() {
    let server = Server::start();
    let create = json!({"settings": {"number_of_shards": 3, "refresh_interval": "2s"}});
    assert_eq!(
        server.send("PUT", "/sett", Some(&create.to_string())).0,
        200
    );
    let (status, body) = server.get("/sett/_settings");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["sett"]["settings"]["index"]["number_of_shards"], "3",
        "{body}"
    );
    assert_eq!(body["sett"]["settings"]["index"]["refresh_interval"], "2s");
    let (status, body) = server.send(
        "PUT",
        "/sett/_settings",
        Some(r#"{"index": {"refresh_interval": "5s"}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.send(
        "PUT",
        "/sett/_settings",
        Some(r#"{"refresh_interval": "soon"}"#),
    );
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (400, Some("illegal_argument_exception"))
    );
    bulk(&server, "sett", &[json!({"n": 1})]);
    let (_, body) = server.get("/sett/_settings?flat_settings=true");
    let (name, index) = body.as_object().unwrap().iter().next().unwrap();
    assert!(name.starts_with("sett-"), "{body}");
    assert_eq!(index["settings"]["index.refresh_interval"], "5s", "{body}");
    assert_eq!(index["settings"]["index.number_of_shards"], "3", "{body}");
    let (status, _) = server.get("/nope/_settings");
    assert_eq!(status, 404);
    let (status, body) = server.send("POST", "/sett/_close", None);
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("closing indices is not supported")
    );
    assert_eq!(server.send("POST", "/sett/_open", None).0, 200);
    assert_eq!(server.send("POST", "/nope/_open", None).0, 404);
}

#[test]
fn dynamic_templates_make_strings_keywords_for_queries_and_mappings() {
    let server = Server::start();
    let template = json!({"index_patterns": ["dyn*"], "template": {"mappings": {
        "dynamic_templates": [
            {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"strings_as_keyword": {"match_mapping_type": "string", "unmatch": "message", "mapping": {"type": "keyword", "ignore_above": 1024}}}
        ]
    }}});
    assert_eq!(
        server
            .send("PUT", "/_index_template/dyn", Some(&template.to_string()))
            .0,
        200
    );
    bulk(
        &server,
        "dyn",
        &[
            json!({"service": "web api", "labels": {"env": "prod eu"}, "message": "hello world", "n": 5}),
        ],
    );
    let m = mapping_of(&server, "dyn");
    let (_, index) = m.as_object().unwrap().iter().next().unwrap();
    let props = &index["mappings"]["properties"];
    assert_eq!(props["service"], json!({"type": "keyword"}), "{m}");
    assert_eq!(
        props["labels"]["properties"]["env"],
        json!({"type": "keyword"}),
        "{m}"
    );
    assert_eq!(props["message"]["type"], "text", "{m}");
    assert_eq!(props["n"]["type"], "long", "{m}");
    assert_eq!(
        index["mappings"]["dynamic_templates"][0]["labels"]["path_match"],
        "labels.*"
    );
    let hits = |q: Value| {
        let (_, r) = server.post_json("/dyn/_search", &json!({"query": q}));
        r["hits"]["total"]["value"].as_u64().unwrap_or(99)
    };
    // A keyword matches as one exact value; the full-text field by its words.
    assert_eq!(hits(json!({"match": {"service": "web"}})), 0);
    assert_eq!(hits(json!({"match": {"service": "web api"}})), 1);
    assert_eq!(hits(json!({"term": {"labels.env": "prod eu"}})), 1);
    assert_eq!(hits(json!({"match": {"message": "hello"}})), 1);
    let (_, caps) = server.get("/dyn/_field_caps?fields=service");
    assert_eq!(
        caps["fields"]["service"]["keyword"]["aggregatable"], true,
        "{caps}"
    );
}

#[test]
fn date_detection_makes_date_strings_dates_unless_the_mapping_turns_it_off() {
    let server = Server::start();
    let template =
        json!({"index_patterns": ["nodd*"], "template": {"mappings": {"date_detection": false}}});
    assert_eq!(
        server
            .send("PUT", "/_index_template/nodd", Some(&template.to_string()))
            .0,
        200
    );
    let docs = [
        json!({"seen": "2026-03-28T10:00:00.250Z", "year": "2026", "day": "2026-03-29"}),
        json!({"seen": "2026-03-29T23:30:00+02:00", "year": "2027", "day": "2026-03-30"}),
    ];
    bulk(&server, "dd", &docs);
    bulk(&server, "nodd", &docs);
    let props = |target: &str| {
        let m = mapping_of(&server, target);
        m.as_object().unwrap().values().next().unwrap()["mappings"]["properties"].clone()
    };
    let dd = props("dd");
    assert_eq!(dd["seen"], json!({"type": "date"}), "{dd}");
    assert_eq!(dd["day"], json!({"type": "date"}), "{dd}");
    // A number in a string is no date, as in Elasticsearch.
    assert_eq!(dd["year"]["type"], "text", "{dd}");
    assert_eq!(props("nodd")["seen"]["type"], "text");
    let search = |target: &str, body: Value| server.post_json(&format!("/{target}/_search"), &body);
    let (status, r) = search(
        "dd",
        json!({"size": 0, "aggs": {"d": {"date_histogram": {"field": "seen", "calendar_interval": "1d"}}}}),
    );
    assert_eq!(status, 200, "{r}");
    let keys: Vec<&str> = r["aggregations"]["d"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key_as_string"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["2026-03-28T00:00:00.000Z", "2026-03-29T00:00:00.000Z"]
    );
    let hits = |target: &str, q: Value| {
        let (_, r) = search(target, json!({"query": q}));
        r["hits"]["total"]["value"].as_u64().unwrap_or(99)
    };
    // Ranges compare instants (21:30Z is before 22:00Z), to the millisecond.
    assert_eq!(
        hits(
            "dd",
            json!({"range": {"seen": {"gte": "2026-03-29T22:00:00Z"}}})
        ),
        0
    );
    assert_eq!(
        hits(
            "dd",
            json!({"range": {"seen": {"gt": "2026-03-28T10:00:00.249Z"}}})
        ),
        2
    );
    assert_eq!(
        hits(
            "dd",
            json!({"range": {"seen": {"gt": "2026-03-28T10:00:00.250Z"}}})
        ),
        1
    );
    // A term on a date names the span of its precision: the whole day.
    assert_eq!(hits("dd", json!({"term": {"seen": "2026-03-28"}})), 1);
    assert_eq!(hits("dd", json!({"term": {"year": "2026"}})), 1);
    // Turned off, the strings stay strings.
    let (status, r) = search(
        "nodd",
        json!({"size": 0, "aggs": {"d": {"date_histogram": {"field": "seen", "calendar_interval": "1d"}}}}),
    );
    assert_eq!(status, 400, "{r}");
    assert_eq!(hits("nodd", json!({"term": {"day": "2026-03-29"}})), 1);
}
