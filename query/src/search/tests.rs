//! Searches over a corpus indexed through the index room, across several shards and daily
//! indices: hits in sort order with their sort values, paging, totals and their relation,
//! `search_after`, and `_source` filtering — each expected value worked out from the documents.

use serde_json::{Value, json};

use crate::testing::{T0, corpus};

const DAY: i64 = 86_400_000;

/// 30 documents over three days, `n` 0..30, `even` alternating, `team` one of three.
fn docs() -> Vec<Value> {
    (0..30)
        .map(|i| {
            let team = ["red", "green", "blue"][(i % 3) as usize];
            json!({
                "@timestamp": T0 + (i % 3) * DAY + i * 1000,
                "n": i,
                "even": i % 2 == 0,
                "team": team,
                "msg": format!("event number {i}"),
            })
        })
        .collect()
}

fn ns(answer: &Value) -> Vec<i64> {
    answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"]["n"].as_i64().unwrap())
        .collect()
}

#[test]
fn hits_come_in_sort_order_across_shards_and_indices_with_their_sort_values() {
    let c = corpus("web", &docs(), 3, None);
    let a = c.search("web", json!({"sort": [{"n": "desc"}], "size": 5}));
    assert_eq!(ns(&a), [29, 28, 27, 26, 25], "{a}");
    assert_eq!(a["hits"]["hits"][0]["sort"], json!([29]));
    assert_eq!(a["hits"]["total"], json!({"value": 30, "relation": "eq"}));
    let a = c.search(
        "web",
        json!({"sort": [{"team.keyword": "asc"}, {"n": "asc"}], "size": 3}),
    );
    assert_eq!(ns(&a), [2, 5, 8], "blue first: {a}");
}

#[test]
fn from_and_size_page_through_the_same_order_and_search_after_continues_it() {
    let c = corpus("web", &docs(), 2, None);
    let page = |from: usize| ns(&c.search("web", json!({"sort": ["n"], "from": from, "size": 7})));
    let all: Vec<i64> = (0..5).flat_map(|p| page(p * 7)).collect();
    assert_eq!(all, (0..30).collect::<Vec<_>>());
    let first = c.search("web", json!({"sort": ["n"], "size": 10}));
    let after = first["hits"]["hits"][9]["sort"].clone();
    let next = c.search(
        "web",
        json!({"sort": ["n"], "size": 10, "search_after": after}),
    );
    assert_eq!(ns(&next), (10..20).collect::<Vec<_>>());
}

#[test]
fn totals_are_exact_bounded_or_off_as_asked() {
    let c = corpus("web", &docs(), 2, None);
    let q = |t: Value| {
        c.search(
            "web",
            json!({"query": {"term": {"even": true}}, "track_total_hits": t, "size": 0}),
        )
    };
    assert_eq!(
        q(json!(true))["hits"]["total"],
        json!({"value": 15, "relation": "eq"})
    );
    assert_eq!(
        q(json!(10))["hits"]["total"],
        json!({"value": 10, "relation": "gte"})
    );
    assert!(q(json!(false))["hits"].get("total").is_none());
}

#[test]
fn source_filtering_keeps_what_is_asked() {
    let c = corpus("web", &docs(), 1, None);
    let a = c.search(
        "web",
        json!({"query": {"term": {"n": 4}}, "_source": {"includes": ["n", "te*"]}}),
    );
    assert_eq!(
        a["hits"]["hits"][0]["_source"],
        json!({"n": 4, "team": "green"})
    );
    let a = c.search(
        "web",
        json!({"query": {"term": {"n": 4}}, "_source": false}),
    );
    assert!(a["hits"]["hits"][0].get("_source").is_none(), "{a}");
}

#[test]
fn a_time_range_reaches_only_the_days_it_covers() {
    let c = corpus("web", &docs(), 1, None);
    let a = c.search(
        "web",
        json!({"query": {"range": {"@timestamp": {"gte": T0 + DAY, "lt": T0 + 2 * DAY}}}, "size": 0}),
    );
    assert_eq!(a["hits"]["total"]["value"], 10, "{a}");
}

#[test]
fn the_reads_expected_of_a_search_follow_its_time_range() {
    // One segment a day; day 0 holds documents 0, 3, …, 27 at T0 + n seconds.
    let c = corpus("web", &docs(), 1, None);
    let targets = c.targets("web");
    let reads = |query: Value| {
        let body = json!({ "query": query }).to_string();
        let req =
            crate::request::SearchRequest::parse(body.as_bytes(), &Default::default()).unwrap();
        super::estimated_reads(&targets, &req.query, T0 + DAY)
    };
    assert_eq!(reads(json!({"match_all": {}})), 30);
    assert_eq!(reads(json!({"term": {"even": true}})), 30, "every document");
    let day1 = json!({"range": {"@timestamp": {"gte": T0 + DAY, "lt": T0 + 2 * DAY}}});
    assert_eq!(reads(day1), 10, "one day's segment, the others missed");
    // The first 13 of day 0's 27 seconds: 10 × 13,001 / 27,001 documents, rounded up.
    let early = json!({"range": {"@timestamp": {"gte": T0, "lte": T0 + 13_000}}});
    assert_eq!(reads(early), 5);
    let never = json!({"range": {"@timestamp": {"lt": T0 - DAY}}});
    assert_eq!(reads(never), 0);
}

#[test]
fn documents_without_the_sort_field_show_elasticsearchs_stand_in_and_page_once() {
    // `size` on every third document only.
    let docs: Vec<Value> = (0..30)
        .map(|i| {
            let mut d = json!({"@timestamp": T0 + i * 1000, "n": i});
            if i % 3 == 0 {
                d["size"] = json!(i * 10);
            }
            d
        })
        .collect();
    let c = corpus("web", &docs, 2, None);
    for (order, missing, stand_in) in [
        ("asc", "_last", i64::MAX),
        ("desc", "_last", i64::MIN),
        ("desc", "_first", i64::MAX),
        ("asc", "_first", i64::MIN),
    ] {
        let sort = json!([{"size": {"order": order, "missing": missing}}, "n"]);
        let mut seen = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let mut body = json!({"sort": sort, "size": 4});
            if let Some(a) = &after {
                body["search_after"] = a.clone();
            }
            let page = c.search("web", body);
            let hits = page["hits"]["hits"].as_array().unwrap().clone();
            if hits.is_empty() {
                break;
            }
            for h in &hits {
                let n = h["_source"]["n"].as_i64().unwrap();
                if n % 3 != 0 {
                    assert_eq!(h["sort"][0], json!(stand_in), "{order} {missing}: {h}");
                }
                seen.push(n);
            }
            after = Some(hits.last().unwrap()["sort"].clone());
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..30).collect::<Vec<_>>(),
            "{order} {missing}: each once, {seen:?}"
        );
    }
}

#[test]
fn runtime_fields_that_read_a_field_work_in_queries_aggregations_sorts_and_fields() {
    let c = corpus("web", &docs(), 2, None);
    let runtime = json!({
        "squad": {"type": "keyword", "script": {"source": "emit(doc['team.keyword'].value)"}},
        "number": {"type": "long", "script": "if (doc['n'].size() != 0) { emit(doc['n'].value); }"},
        "n": {"type": "long"},
    });
    let a = c.search(
        "web",
        json!({
            "runtime_mappings": runtime,
            "query": {"bool": {"filter": [
                {"term": {"squad": "red"}},
                {"range": {"number": {"gte": 10}}},
            ]}},
            "sort": [{"number": "desc"}],
            "fields": ["squad", "number"],
            "_source": false,
            "size": 3,
            "aggs": {"by": {"terms": {"field": "squad"}}, "top": {"max": {"field": "number"}}},
        }),
    );
    // red: n = 0, 3, 6, …, 27; of those >= 10: 12, 15, 18, 21, 24, 27.
    assert_eq!(a["hits"]["total"]["value"], 6, "{a}");
    let hits = a["hits"]["hits"].as_array().unwrap();
    assert_eq!(hits[0]["sort"], json!([27]));
    assert_eq!(hits[0]["fields"], json!({"squad": ["red"], "number": [27]}));
    assert_eq!(hits[2]["fields"]["number"], json!([21]));
    assert_eq!(
        a["aggregations"]["by"]["buckets"],
        json!([{"key": "red", "doc_count": 6}])
    );
    assert_eq!(a["aggregations"]["top"]["value"], json!(27.0));
    // Asked by name with "*" too; the document's own fields are there beside it.
    let b = c.search(
        "web",
        json!({"runtime_mappings": runtime, "query": {"term": {"n": 4}}, "fields": ["*"], "_source": false}),
    );
    let f = &b["hits"]["hits"][0]["fields"];
    assert_eq!(
        (&f["squad"], &f["team"], &f["n"]),
        (&json!(["green"]), &json!(["green"]), &json!([4])),
        "{b}"
    );
}

#[test]
fn a_runtime_script_hydrant_cannot_read_is_refused_by_name() {
    let c = corpus("web", &docs(), 1, None);
    let e = c.search(
        "web",
        json!({"runtime_mappings": {"twice": {"type": "long", "script": "emit(doc['n'].value * 2)"}}}),
    );
    assert_eq!(e["status"], 400, "{e}");
    assert!(
        e["error"]["reason"].as_str().unwrap().contains("[twice]"),
        "{e}"
    );
    let e = c.search("web", json!({"runtime_mappings": {"x": {"type": "text"}}}));
    assert_eq!(e["error"]["type"], "parsing_exception", "{e}");
}

/// Each hit lists the named queries (`_name`, at any depth of `query` and `post_filter`) it
/// matches, worked out here from `n`; a hit matching none has no `matched_queries`; and
/// `stored_fields: "_none_"` leaves out `_id` and `_source`.
#[test]
fn hits_carry_the_named_queries_they_match() {
    let c = corpus("web", &docs(), 3, None);
    let a = c.search(
        "web",
        json!({
            "query": {"bool": {
                "should": [
                    {"range": {"n": {"lt": 5, "_name": "small"}}},
                    {"term": {"even": {"value": true, "_name": "even"}}},
                    {"match": {"team": {"query": "red", "_name": "red"}}}
                ],
                "_name": "any"
            }},
            "post_filter": {"range": {"n": {"lt": 12, "_name": "page"}}},
            "sort": ["n"],
            "size": 12
        }),
    );
    let hits = a["hits"]["hits"].as_array().unwrap();
    // 0..12 but 5, 7 and 11, which match no `should`.
    assert_eq!(hits.len(), 9, "{a}");
    for h in hits {
        let n = h["_source"]["n"].as_i64().unwrap();
        let mut expected: Vec<&str> = Vec::new();
        if n < 5 {
            expected.push("small");
        }
        if n % 2 == 0 {
            expected.push("even");
        }
        if n % 3 == 0 {
            expected.push("red");
        }
        expected.extend(["any", "page"]);
        assert_eq!(h["matched_queries"], json!(expected), "n = {n}: {h}");
    }
    let plain = c.search("web", json!({"query": {"term": {"even": true}}, "size": 1}));
    assert!(plain["hits"]["hits"][0].get("matched_queries").is_none());

    let none = c.search(
        "web",
        json!({"stored_fields": "_none_", "sort": ["n"], "size": 1}),
    );
    let hit = &none["hits"]["hits"][0];
    assert!(
        hit.get("_id").is_none() && hit.get("_source").is_none(),
        "{hit}"
    );
    let star = c.search(
        "web",
        json!({"stored_fields": ["*"], "sort": ["n"], "size": 1}),
    );
    let hit = &star["hits"]["hits"][0];
    assert!(
        hit.get("_id").is_some() && hit.get("_source").is_none(),
        "{hit}"
    );
}

/// `max_expansions` counts the prefix's terms in the shard, as Elasticsearch does, however
/// the shard is cut into segments: here each segment holds one term of the prefix (`log0` …
/// `log7`), and only the first three of the shard are matched.
#[test]
fn max_expansions_takes_the_first_terms_of_the_shard_not_of_each_segment() {
    let doc = |i: i64| json!({"@timestamp": T0 + i, "msg": format!("GET log{i}"), "n": i});
    let c = corpus("web", &[doc(0)], 1, None);
    for i in 1..8 {
        c.append(&[doc(i)]);
    }
    let hits = |q: Value| {
        let mut v = ns(&c.search("web", json!({"query": q, "size": 20})));
        v.sort_unstable();
        v
    };
    let phrase = json!({"match_phrase_prefix": {"msg": {"query": "get lo", "max_expansions": 3}}});
    assert_eq!(hits(phrase), [0, 1, 2]);
    let one = json!({"match_phrase_prefix": {"msg": {"query": "lo", "max_expansions": 3}}});
    assert_eq!(hits(one), [0, 1, 2]);
    let bool_prefix = json!({"match_bool_prefix": {"msg": {"query": "get lo", "max_expansions": 2, "operator": "and"}}});
    assert_eq!(hits(bool_prefix), [0, 1]);
    // Within the limit, every term of the prefix matches.
    let all = json!({"match_phrase_prefix": {"msg": "get lo"}});
    assert_eq!(hits(all), (0..8).collect::<Vec<_>>());
}

/// `zero_terms_query: all`: a text that analyzes to no terms matches every document; with terms
/// it is the plain `match`; `none` (the default) matches nothing for no terms.
#[test]
fn a_match_without_terms_matches_everything_under_zero_terms_query_all() {
    let c = corpus("web", &docs(), 2, None);
    let total = |q: Value| {
        let a = c.search("web", json!({"size": 0, "query": q}));
        assert!(a.get("error").is_none(), "{a}");
        a["hits"]["total"]["value"].as_u64().unwrap()
    };
    for text in ["", "  ", "!?"] {
        assert_eq!(
            total(json!({"match": {"msg": {"query": text, "zero_terms_query": "all"}}})),
            30
        );
        assert_eq!(
            total(json!({"match": {"msg": {"query": text, "zero_terms_query": "none"}}})),
            0
        );
        assert_eq!(total(json!({"match": {"msg": {"query": text}}})), 0);
        assert_eq!(
            total(
                json!({"multi_match": {"query": text, "fields": ["msg"], "zero_terms_query": "all"}})
            ),
            30
        );
    }
    assert_eq!(
        total(
            json!({"match": {"msg": {"query": "number 7", "operator": "and", "zero_terms_query": "all"}}})
        ),
        1
    );
    assert_eq!(
        total(json!({"match_phrase": {"msg": {"query": "", "zero_terms_query": "all"}}})),
        30
    );
    let bad = c.search(
        "web",
        json!({"query": {"match": {"msg": {"query": "", "zero_terms_query": "some"}}}}),
    );
    assert_eq!(bad["status"], 400, "{bad}");
}

/// Two daily indices where `beta` is common on one day and rare on the other: the same text
/// scores the same on both days, with the statistics of both (as in an index of one shard),
/// and both matches are scored alike whatever the explicit mapping.
#[test]
fn scores_share_statistics_across_the_indices_searched() {
    let mut docs = Vec::new();
    for i in 0..20 {
        docs.push(json!({"@timestamp": T0 + i * 1000, "msg": "beta beta gamma"}));
    }
    docs.push(json!({"@timestamp": T0 + 30_000, "msg": "alpha beta"}));
    docs.push(json!({"@timestamp": T0 + DAY + 30_000, "msg": "alpha beta"}));
    for i in 0..3 {
        docs.push(json!({"@timestamp": T0 + DAY + i * 1000, "msg": "delta"}));
    }
    let c = corpus("days", &docs, 1, None);
    let answer = c.search(
        "days",
        json!({"query": {"match": {"msg": "alpha"}}, "size": 5, "_source": false}),
    );
    let hits = answer["hits"]["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 2, "{answer}");
    let (a, b) = (
        hits[0]["_score"].as_f64().unwrap(),
        hits[1]["_score"].as_f64().unwrap(),
    );
    assert_ne!(hits[0]["_index"], hits[1]["_index"], "{answer}");
    assert!(
        (a - b).abs() < 1e-6,
        "the same text scored {a} and {b}: {answer}"
    );
    // BM25 with every document of both days: N = 25, alpha in 2 of them.
    let idf = (1.0 + (25.0 - 2.0 + 0.5) / (2.0 + 0.5f64)).ln();
    assert!(a > 0.0 && a < 2.2 * idf, "{a} against idf {idf}");
}

#[test]
fn the_index_name_sorts_pages_and_buckets_like_a_keyword() {
    let c = corpus("web", &docs(), 2, None);
    // Day d of the three holds the documents with n % 3 == d.
    let sort = json!([{"_index": "desc"}, {"n": "asc"}]);
    let a = c.search("web", json!({"sort": sort, "size": 4}));
    assert_eq!(ns(&a), [2, 5, 8, 11], "the last day first: {a}");
    let last_day = a["hits"]["hits"][0]["_index"].clone();
    assert_eq!(a["hits"]["hits"][3]["sort"], json!([last_day, 11]));
    let after = json!([last_day, 29]);
    let next = c.search(
        "web",
        json!({"sort": sort, "size": 3, "search_after": after}),
    );
    assert_eq!(ns(&next), [1, 4, 7], "then the middle day: {next}");

    let aggs = json!({"i": {"terms": {"field": "_index", "order": {"_key": "asc"}, "size": 2},
                            "aggs": {"top": {"max": {"field": "n"}}}}});
    let a = c.search(
        "web",
        json!({"size": 0, "query": {"range": {"n": {"lt": 20}}}, "aggs": aggs}),
    );
    let i = &a["aggregations"]["i"];
    let buckets = i["buckets"].as_array().unwrap();
    let counts: Vec<(i64, f64)> = buckets
        .iter()
        .map(|b| {
            (
                b["doc_count"].as_i64().unwrap(),
                b["top"]["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [(7, 18.0), (7, 19.0)], "{a}");
    assert!(buckets[0]["key"].as_str() < buckets[1]["key"].as_str());
    assert_eq!(i["sum_other_doc_count"], json!(6), "{a}");
}

#[test]
fn a_field_few_documents_have_scores_by_the_documents_that_have_it() {
    use hydrant_config::{FieldType, MappingConfig, MappingMode};
    // 20 documents, 4 with a two-word note, one of them about the disk.
    let docs: Vec<Value> = (0..20)
        .map(|i| match i {
            0 => json!({"@timestamp": T0 + i, "note": "disk full"}),
            1..=3 => json!({"@timestamp": T0 + i, "note": "all good"}),
            _ => json!({"@timestamp": T0 + i, "n": i}),
        })
        .collect();
    let mapping = MappingConfig {
        mode: MappingMode::Dynamic,
        fields: vec![("note".to_string(), FieldType::Text)],
    };
    let c = corpus("notes", &docs, 1, Some(mapping));
    let a = c.search("notes", json!({"query": {"match": {"note": "disk"}}}));
    let score = a["hits"]["hits"][0]["_score"].as_f64().unwrap();
    // Elasticsearch's BM25 (Lucene's legacy form, with k1 + 1) with N = 4 documents having the
    // field and their average length 8 / 4 = 2: idf = ln(1 + (4 - 1 + 0.5) / (1 + 0.5)),
    // score = idf · (1.2 + 1) · 1 / (1 + 1.2 · (1 - 0.75 + 0.75 · 2 / 2)). Counting all 20
    // documents would give ln(1 + 19.5 / 1.5) and a length ratio of 2 / 0.4.
    let idf = (1.0f64 + 3.5 / 1.5).ln();
    let expected = idf * 2.2 / (1.0 + 1.2);
    assert!(
        (score - expected).abs() < 1e-4 * expected,
        "{score} vs {expected}: {a}"
    );
}

#[test]
fn a_search_by_time_reads_ahead_in_the_best_zones_and_ranks_the_hits_a_full_pass_does() {
    // 40,000 documents in rough time order, one segment of ten 4,096-row zones: each a second
    // apart, every fifth up to 12 s late (the order a shipper's batches arrive in).
    let time = |i: i64| T0 + i * 1000 - (i % 5) * 3000;
    let docs: Vec<Value> = (0..40_000)
        .map(|i| json!({"@timestamp": time(i), "n": i, "kind": if i % 3 == 0 { "a" } else { "b" }}))
        .collect();
    let c = corpus("logs", &docs, 1, None);
    let cases = [
        (
            json!({"term": {"kind.keyword": "a"}}),
            (|i: i64| i % 3 == 0) as fn(i64) -> bool,
        ),
        // Matches only in the oldest zone: the read-ahead finds fewer than `k` and leaves
        // the search as it was.
        (
            json!({"bool": {"filter": [{"term": {"kind.keyword": "a"}}, {"range": {"n": {"lt": 2000}}}]}}),
            |i: i64| i % 3 == 0 && i < 2000,
        ),
        // Rarer than one a zone.
        (
            json!({"terms": {"n": [3, 17_000, 39_990, 39_999]}}),
            |i: i64| [3, 17_000, 39_990, 39_999].contains(&i),
        ),
        // 82 a zone: the best 500 span seven zones.
        (
            json!({"terms": {"n": (0..40_000).step_by(50).collect::<Vec<i64>>()}}),
            |i: i64| i % 50 == 0,
        ),
    ];
    let before = super::top::SEEDED.load(std::sync::atomic::Ordering::Relaxed);
    for (case, (query, matches)) in cases.iter().enumerate() {
        for desc in [true, false] {
            for (from, size) in [(0, 10), (7, 30), (0, 500)] {
                let mut want: Vec<i64> = (0..40_000).filter(|i| matches(*i)).collect();
                want.sort_by_key(|i| time(*i));
                if desc {
                    want.reverse();
                }
                let want: Vec<i64> = want.into_iter().skip(from).take(size).collect();
                let a = c.search(
                    "logs",
                    json!({
                        "query": query, "from": from, "size": size, "track_total_hits": true,
                        "sort": [{"@timestamp": if desc { "desc" } else { "asc" }}],
                        "aggs": {"k": {"terms": {"field": "kind.keyword"}}},
                    }),
                );
                assert_eq!(
                    ns(&a),
                    want,
                    "case {case} desc {desc} from {from} size {size}"
                );
                let total = (0..40_000).filter(|i| matches(*i)).count();
                assert_eq!(a["hits"]["total"]["value"], total, "case {case}");
            }
        }
    }
    assert!(
        super::top::SEEDED.load(std::sync::atomic::Ordering::Relaxed) > before,
        "the read-ahead was never taken"
    );
}
