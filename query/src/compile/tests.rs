//! Term-level and query-string queries on every kind of value a record can hold — booleans,
//! integers, floats, big unsigned numbers, IP and date strings, nulls — under the dynamic
//! mapping and under explicit types, with counts computed here from the same documents.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use hydrant_config::{FieldType, MappingConfig, MappingMode};
use serde_json::{Value, json};

use crate::testing::{Corpus, T0, corpus};

const N: usize = 60;
const MINUTE: i64 = 60_000;

fn docs() -> &'static Vec<Value> {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        (0..N)
            .map(|i| {
                // 70 minutes apart: three daily indices.
                let ts = T0 + i as i64 * 70 * MINUTE;
                let mut d = json!({
                    "@timestamp": DateTime::<Utc>::from_timestamp_millis(ts).unwrap().to_rfc3339(),
                    "n": i,
                    "price": i as f64 * 1.25,
                    "even": i % 2 == 0,
                    "ip": format!("10.0.{}.{}", i % 3, i),
                    "when": format!("2026-01-0{}T00:00:00Z", 1 + i % 3),
                    "status": {"ok": i % 3 == 0},
                    "word": if i % 3 == 0 { "true" } else { "maybe" },
                    "nullable": if i % 5 == 0 { Value::Null } else { json!(format!("v{}", i % 2)) },
                });
                // One field holding booleans in some documents and strings in others.
                match i % 4 {
                    0 => d["mixed"] = json!(true),
                    1 => d["mixed"] = json!("true"),
                    2 => d["mixed"] = json!(false),
                    _ => {}
                }
                if i == 7 {
                    d["big"] = json!(u64::MAX);
                }
                d
            })
            .collect()
    })
}

fn dynamic() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| corpus("dyn", docs(), 2, None))
}

fn explicit() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let mapping = MappingConfig {
            mode: MappingMode::Dynamic,
            fields: vec![
                ("n".to_string(), FieldType::Long),
                ("price".to_string(), FieldType::Double),
                ("even".to_string(), FieldType::Boolean),
                ("ip".to_string(), FieldType::Ip),
                ("when".to_string(), FieldType::Date),
                ("word".to_string(), FieldType::Keyword),
            ],
        };
        corpus("exp", docs(), 2, Some(mapping))
    })
}

fn n(d: &Value) -> i64 {
    d["n"].as_i64().unwrap()
}

/// Documents `query` matches in `corpus`, or the ES error body.
fn count(corpus: &Corpus, target: &str, query: Value) -> Result<u64, Value> {
    let resp = corpus.search(
        target,
        json!({"size": 0, "track_total_hits": true, "query": query}),
    );
    match resp["hits"]["total"]["value"].as_u64() {
        Some(c) => Ok(c),
        None => Err(resp),
    }
}

fn want(pred: impl Fn(&Value) -> bool) -> u64 {
    docs().iter().filter(|d| pred(d)).count() as u64
}

fn qs(q: &str) -> Value {
    json!({"query_string": {"query": q}})
}

/// Runs each case on the corpus and reports every mismatch at once.
fn check(corpus: &Corpus, target: &str, cases: Vec<(Value, u64)>) {
    let mut failures = Vec::new();
    for (query, expected) in cases {
        match count(corpus, target, query.clone()) {
            Ok(got) if got == expected => {}
            Ok(got) => failures.push(format!("{query}: {got} hits, expected {expected}")),
            Err(body) => failures.push(format!("{query}: failed: {body}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn is_true(v: &Value) -> bool {
    v == &json!(true) || v == &json!("true")
}

#[test]
fn booleans_of_dynamic_fields_match_as_booleans_and_as_words() {
    let even = want(|d| n(d) % 2 == 0);
    let odd = want(|d| n(d) % 2 == 1);
    check(
        dynamic(),
        "dyn",
        vec![
            (json!({"term": {"even": true}}), even),
            (json!({"term": {"even": "true"}}), even),
            (json!({"term": {"even": {"value": false}}}), odd),
            (json!({"terms": {"even": [true, false]}}), N as u64),
            (json!({"match": {"even": "false"}}), odd),
            (qs("even:true"), even),
            (
                qs("even:false AND n:[10 TO 19]"),
                want(|d| n(d) % 2 == 1 && (10..=19).contains(&n(d))),
            ),
            (qs("status.ok:true"), want(|d| n(d) % 3 == 0)),
            (
                json!({"term": {"mixed": true}}),
                want(|d| is_true(&d["mixed"])),
            ),
            (qs("mixed:false"), want(|d| d["mixed"] == json!(false))),
            // A word that spells a boolean, in a string field.
            (
                json!({"term": {"word": "true"}}),
                want(|d| d["word"] == json!("true")),
            ),
            (json!({"exists": {"field": "even"}}), N as u64),
            (json!({"range": {"even": {"gte": true}}}), even),
            (json!({"range": {"even": {"lt": "true"}}}), odd),
            (
                json!({"range": {"even": {"gte": false, "lte": true}}}),
                N as u64,
            ),
            (qs("*:*"), N as u64),
            (qs("*:* AND NOT even:true"), odd),
            // No field named: every field holding true, or the word.
            (
                qs("true"),
                want(|d| {
                    is_true(&d["even"])
                        || is_true(&d["status"]["ok"])
                        || is_true(&d["mixed"])
                        || is_true(&d["word"])
                }),
            ),
        ],
    );
}

#[test]
fn numbers_of_dynamic_fields_match_in_any_spelling() {
    check(
        dynamic(),
        "dyn",
        vec![
            (json!({"term": {"n": 5}}), 1),
            (json!({"term": {"n": "5"}}), 1),
            (json!({"term": {"n": 5.0}}), 1),
            (json!({"term": {"price": 6.25}}), 1),
            (qs("price:6.25"), 1),
            // An integer on a path of floats only (its integer reading is left out there), and
            // on one of integers only (its float reading is).
            (json!({"term": {"price": 5}}), 1),
            (qs("price:5"), 1),
            (qs("n:5"), 1),
            (qs("n:5 AND price:6.25"), 1),
            (json!({"terms": {"n": [1, 2, "3", 100]}}), 3),
            (json!({"range": {"n": {"gte": 10, "lt": 20}}}), 10),
            (
                json!({"range": {"price": {"gt": 10}}}),
                want(|d| d["price"].as_f64().unwrap() > 10.0),
            ),
            (qs("n:>=50"), want(|d| n(d) >= 50)),
            (qs("n:[10 TO 20}"), 10),
            // Fractional bounds on a path of integers (one integer range) and of floats (one
            // float range).
            (json!({"range": {"n": {"gt": 9.5, "lt": 12.5}}}), 3),
            (json!({"range": {"price": {"gte": 6.2, "lte": 6.3}}}), 1),
            (
                qs("price:>6.25"),
                want(|d| d["price"].as_f64().unwrap() > 6.25),
            ),
            (json!({"term": {"big": u64::MAX}}), 1),
            (json!({"term": {"big": u64::MAX.to_string()}}), 1),
            (json!({"range": {"n": {"gte": null, "lt": 3}}}), 3),
        ],
    );
}

#[test]
fn ip_and_date_strings_of_dynamic_fields_match_exactly() {
    check(
        dynamic(),
        "dyn",
        vec![
            (json!({"term": {"ip": "10.0.1.4"}}), 1),
            (json!({"term": {"ip.keyword": "10.0.1.4"}}), 1),
            (qs("ip:\"10.0.1.4\""), 1),
            (
                json!({"prefix": {"ip.keyword": "10.0.2."}}),
                want(|d| n(d) % 3 == 2),
            ),
            (
                json!({"term": {"when": "2026-01-02T00:00:00Z"}}),
                want(|d| n(d) % 3 == 1),
            ),
            (
                json!({"range": {"when": {"gte": "2026-01-02", "lt": "2026-01-03"}}}),
                want(|d| n(d) % 3 == 1),
            ),
            (
                json!({"exists": {"field": "nullable"}}),
                want(|d| !d["nullable"].is_null()),
            ),
            (qs("nullable:v1"), want(|d| d["nullable"] == json!("v1"))),
            (qs("_exists_:big"), 1),
        ],
    );
}

#[test]
fn explicitly_typed_fields_match_typed_values() {
    let even = want(|d| n(d) % 2 == 0);
    check(
        explicit(),
        "exp",
        vec![
            (json!({"term": {"even": true}}), even),
            (json!({"term": {"even": "false"}}), N as u64 - even),
            (qs("even:true"), even),
            (json!({"term": {"n": 5}}), 1),
            (json!({"term": {"n": "5"}}), 1),
            (qs("n:5"), 1),
            (json!({"range": {"n": {"gte": 10, "lt": 20}}}), 10),
            (json!({"term": {"price": 6.25}}), 1),
            (json!({"term": {"ip": "10.0.1.4"}}), 1),
            (qs("ip:\"10.0.1.4\""), 1),
            (
                json!({"term": {"ip": "10.0.0.0/24"}}),
                want(|d| n(d) % 3 == 0),
            ),
            (
                json!({"range": {"ip": {"gte": "10.0.1.0", "lte": "10.0.1.255"}}}),
                want(|d| n(d) % 3 == 1),
            ),
            (
                json!({"term": {"when": "2026-01-02T00:00:00Z"}}),
                want(|d| n(d) % 3 == 1),
            ),
            (
                json!({"range": {"when": {"gte": "2026-01-02", "lt": "2026-01-03"}}}),
                want(|d| n(d) % 3 == 1),
            ),
            (qs("word:true"), want(|d| d["word"] == json!("true"))),
            (
                qs("true"),
                want(|d| {
                    is_true(&d["even"])
                        || is_true(&d["status"]["ok"])
                        || is_true(&d["mixed"])
                        || is_true(&d["word"])
                }),
            ),
        ],
    );
}

#[test]
fn lenient_queries_skip_fields_a_value_cannot_be() {
    let word_true = want(|d| d["word"] == json!("true"));
    check(
        explicit(),
        "exp",
        vec![
            (
                json!({"multi_match": {"query": "true", "fields": ["n", "ip", "word"], "lenient": true}}),
                word_true,
            ),
            (
                json!({"match": {"n": {"query": "five", "lenient": true}}}),
                0,
            ),
            (
                json!({"query_string": {"query": "n:five OR word:true", "lenient": true}}),
                word_true,
            ),
        ],
    );
}

#[test]
fn values_of_the_wrong_type_get_es_errors() {
    let cases = [
        (dynamic(), "dyn", json!({"term": {"even": null}})),
        (dynamic(), "dyn", json!({"term": {"even": {"value": null}}})),
        (dynamic(), "dyn", json!({"term": {"even": [true]}})),
        (dynamic(), "dyn", json!({"match": {"even": {"x": 1}}})),
        (
            dynamic(),
            "dyn",
            json!({"range": {"price": {"gte": "abc"}}}),
        ),
        (dynamic(), "dyn", qs("n:[a TO 5]")),
        (dynamic(), "dyn", json!({"regexp": {"word": "(unclosed"}})),
        (dynamic(), "dyn", qs("word:/(unclosed/")),
        (explicit(), "exp", json!({"term": {"n": "five"}})),
        (
            explicit(),
            "exp",
            json!({"multi_match": {"query": "five", "fields": ["n", "word"]}}),
        ),
        (explicit(), "exp", qs("n:five")),
        (explicit(), "exp", json!({"term": {"even": "yes"}})),
        (explicit(), "exp", json!({"term": {"ip": "not-an-ip"}})),
        (explicit(), "exp", json!({"range": {"n": {"gte": "ten"}}})),
        (
            explicit(),
            "exp",
            json!({"range": {"when": {"gte": "yesterday-ish"}}}),
        ),
    ];
    let mut failures = Vec::new();
    for (corpus, target, query) in cases {
        let body = match count(corpus, target, query.clone()) {
            Ok(hits) => {
                failures.push(format!("{query}: {hits} hits instead of an error"));
                continue;
            }
            Err(body) => body,
        };
        let status = body["status"].as_u64().unwrap_or(0);
        let kind = body["error"]["type"].as_str().unwrap_or("");
        let reason = body["error"]["reason"].as_str().unwrap_or("");
        let es_kind = matches!(
            kind,
            "parsing_exception"
                | "parse_exception"
                | "x_content_parse_exception"
                | "query_shard_exception"
                | "illegal_argument_exception"
        );
        // Internals (tantivy's term encoding, the `_val` tree) stay out of messages.
        let internal = ["value_bytes", "\\x{", "_val", "_text"]
            .iter()
            .any(|s| reason.contains(s));
        if status != 400 || !es_kind || internal {
            failures.push(format!("{query}: {status} {kind} {reason}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// 80 documents, each with its own word `alpha000` … `alpha079` in `msg`, one shard (one
/// segment): more words with one prefix than tantivy's default expansion limit (50).
fn words_corpus(explicit: bool) -> Corpus {
    let docs: Vec<Value> = (0..80)
        .map(|i| {
            json!({
                "@timestamp": DateTime::<Utc>::from_timestamp_millis(T0 + i * MINUTE).unwrap().to_rfc3339(),
                "msg": format!("Alpha{i:03} beta"),
            })
        })
        .collect();
    let mapping = explicit.then(|| MappingConfig {
        mode: MappingMode::Dynamic,
        fields: vec![("msg".to_string(), FieldType::Text)],
    });
    corpus("words", &docs, 1, mapping)
}

#[test]
fn prefix_and_wildcard_on_text_take_every_word_and_the_case_as_written() {
    for explicit in [false, true] {
        let c = words_corpus(explicit);
        let mut cases = vec![
            // Every word with the prefix, however many.
            (json!({"prefix": {"msg": "alpha"}}), 80),
            (json!({"prefix": {"msg": "alpha07"}}), 10),
            // The words are lower case and the `prefix` and `wildcard` queries do not change
            // the case of what they are given; the query-string forms do.
            (json!({"wildcard": {"msg": "ALPHA*"}}), 0),
            (
                json!({"wildcard": {"msg": {"value": "ALPHA*", "case_insensitive": true}}}),
                80,
            ),
            (
                json!({"prefix": {"msg": {"value": "ALPHA", "case_insensitive": true}}}),
                80,
            ),
            (qs("msg:ALPHA*"), 80),
            (qs("msg:ALPH?00*"), 10),
            (
                json!({"simple_query_string": {"query": "Alpha01*", "fields": ["msg"]}}),
                10,
            ),
        ];
        if explicit {
            cases.push((json!({"prefix": {"msg": "Alpha"}}), 0));
        } else {
            // A dynamic string is also its exact value, which starts with `Alpha`.
            cases.push((json!({"prefix": {"msg": "Alpha"}}), 80));
        }
        check(&c, "words", cases);
    }
}

/// Fields named by a pattern, fields taken as one (`cross_fields`), and `exists` on an object
/// whose fields are mapped.
#[test]
fn multi_match_over_patterns_and_across_fields_and_exists_on_objects() {
    let docs: Vec<Value> = (0..12)
        .map(|i| {
            json!({
                "@timestamp": DateTime::<Utc>::from_timestamp_millis(T0 + i * MINUTE).unwrap().to_rfc3339(),
                "user": {"first": if i % 2 == 0 { "Grace" } else { "Ada" }, "last": if i % 3 == 0 { "Hopper" } else { "Lovelace" }},
                "service": if i % 4 == 0 { "search" } else { "billing" },
                "level": if i % 2 == 0 { "error" } else { "info" },
                "error": if i % 3 == 0 { json!({"code": "E1", "retryable": true}) } else { Value::Null },
            })
        })
        .collect();
    let mapping = MappingConfig {
        mode: MappingMode::Dynamic,
        fields: vec![
            ("error.code".to_string(), FieldType::Keyword),
            ("error.retryable".to_string(), FieldType::Boolean),
        ],
    };
    let c = corpus("people", &docs, 1, Some(mapping));
    let mm = |query: &str, kind: &str, fields: Value, op: &str| json!({"multi_match": {"query": query, "type": kind, "fields": fields, "operator": op}});
    check(
        &c,
        "people",
        vec![
            (mm("hopper", "best_fields", json!(["user.*"]), "or"), 4),
            (
                mm("grace hopper", "best_fields", json!(["user.*"]), "and"),
                0,
            ),
            // Each word in one of the fields.
            (
                mm(
                    "grace hopper",
                    "cross_fields",
                    json!(["user.first", "user.last"]),
                    "and",
                ),
                2,
            ),
            (
                mm("grace hopper", "cross_fields", json!(["user.*"]), "or"),
                8,
            ),
            (
                mm(
                    "search error",
                    "cross_fields",
                    json!(["service", "level"]),
                    "and",
                ),
                3,
            ),
            (json!({"exists": {"field": "error"}}), 4),
            (json!({"exists": {"field": "user"}}), 12),
        ],
    );
}

/// A number on a path whose segments hold integers in one and floats in another (two columns
/// of the path across the shard, one per segment): found in both, an integer past 2⁵³ exactly,
/// and scored 1 as on Elasticsearch's numeric fields — not once per reading of the value.
#[test]
fn numbers_on_a_path_of_integers_and_floats_match_exactly_and_score_one() {
    let big = (1i64 << 60) + 1;
    let c = corpus("nums", &[json!({"v": 5}), json!({"v": big})], 1, None);
    c.append(&[json!({"v": 5.0}), json!({"v": 7.5})]);
    let hits = |q: Value| {
        let a = c.search("nums", json!({"query": q}));
        let mut out: Vec<(String, f64)> = a["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h["_source"]["v"].to_string(), h["_score"].as_f64().unwrap()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    assert_eq!(
        hits(json!({"term": {"v": 5}})),
        [("5".to_string(), 1.0), ("5.0".to_string(), 1.0)]
    );
    assert_eq!(hits(json!({"term": {"v": big}})), [(big.to_string(), 1.0)]);
    assert_eq!(hits(json!({"term": {"v": big - 1}})), []);
    assert_eq!(
        hits(json!({"query_string": {"query": "v:7.5"}})),
        [("7.5".to_string(), 1.0)]
    );
}

/// A negative bound on a path holding a number above `i64::MAX` in one segment (an unsigned
/// column) and floats in another: the unsigned segment holds nothing below zero. (tantivy 0.27
/// reads a float upper bound below an integer column's minimum as no bound at all.)
#[test]
fn negative_bounds_find_nothing_in_an_unsigned_column() {
    let c = corpus(
        "unsigned",
        &[json!({"v": u64::MAX}), json!({"v": 3})],
        1,
        None,
    );
    c.append(&[json!({"v": 7.5}), json!({"v": -10.5})]);
    let count =
        |q: Value| c.search("unsigned", json!({"query": q}))["hits"]["total"]["value"].clone();
    assert_eq!(count(json!({"range": {"v": {"lt": -5}}})), 1);
    assert_eq!(count(json!({"range": {"v": {"lte": -0.5}}})), 1);
    assert_eq!(count(json!({"term": {"v": -10.5}})), 1);
    assert_eq!(count(json!({"query_string": {"query": "v:<0"}})), 1);
    assert_eq!(count(json!({"range": {"v": {"gte": 0}}})), 3);
}
