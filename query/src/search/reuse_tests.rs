//! The work a repeated or time-bounded search is spared: segments answered from the request
//! cache (same answer, only new segments searched again, nothing kept that must not be) and
//! segments skipped by their time range (same answer as a search that reads them).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::cache::{CacheStats, RequestCache};
use super::{SearchOptions, count, search};
use crate::request::{SearchParams, SearchRequest};
use crate::testing::{Corpus, T0, corpus};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// `n` documents from `start`, one a minute, `team` one of three, `ms` a latency.
fn batch(start: i64, first: i64, n: i64) -> Vec<Value> {
    (first..first + n)
        .map(|i| {
            let team = ["red", "green", "blue"][(i % 3) as usize];
            json!({
                "@timestamp": start + (i - first) * 60_000,
                "team": team,
                "ms": i % 17,
                "msg": format!("request {i} served"),
            })
        })
        .collect()
}

/// Three segments in one daily index (one shard): hours 0–1, 2–3 and 4–5 of day 0.
fn three_segments() -> Corpus {
    let c = corpus("web", &batch(T0, 0, 120), 1, None);
    c.append(&batch(T0 + 2 * HOUR, 120, 120));
    c.append(&batch(T0 + 4 * HOUR, 240, 120));
    c
}

fn run(c: &Corpus, opts: &SearchOptions, body: &Value) -> Value {
    let req = SearchRequest::parse(body.to_string().as_bytes(), &SearchParams::default())
        .expect("request");
    let resp = search(&c.targets("web"), &req, opts).expect("search");
    let mut v = serde_json::to_value(resp).expect("json");
    v.as_object_mut().unwrap().remove("took");
    v
}

fn cached(cache: &Arc<RequestCache>) -> SearchOptions {
    SearchOptions {
        now_ms: T0 + DAY,
        cache: Some(cache.clone()),
        ..SearchOptions::default()
    }
}

fn dashboard_panel() -> Value {
    json!({
        "size": 0,
        "query": {"bool": {"filter": [
            {"range": {"@timestamp": {"gte": T0, "lte": T0 + DAY, "format": "epoch_millis"}}},
            {"match": {"msg": "served"}},
        ]}},
        "aggs": {
            "per_10m": {"date_histogram": {"field": "@timestamp", "fixed_interval": "10m"},
                        "aggs": {"avg_ms": {"avg": {"field": "ms"}}}},
            "teams": {"terms": {"field": "team.keyword"}},
            "p": {"percentiles": {"field": "ms", "percents": [50, 99]}},
        },
    })
}

#[test]
fn a_repeated_dashboard_search_is_answered_from_the_cache_and_only_new_segments_are_searched() {
    let c = three_segments();
    let cache = Arc::new(RequestCache::new(1 << 20, 0));
    let fresh = run(&c, &SearchOptions::default(), &dashboard_panel());
    let first = run(&c, &cached(&cache), &dashboard_panel());
    assert_eq!(first, fresh);
    let s = cache.stats();
    assert_eq!((s.hit_count, s.miss_count), (0, 3), "{s:?}");
    assert!(s.memory_size_in_bytes > 0);

    let second = run(&c, &cached(&cache), &dashboard_panel());
    assert_eq!(second, fresh, "the cached answer is the same answer");
    assert_eq!(cache.stats().hit_count, 3);

    // New data: a fourth segment; the three sealed ones still come from the cache.
    c.append(&batch(T0 + 6 * HOUR, 360, 60));
    let third = run(&c, &cached(&cache), &dashboard_panel());
    let s = cache.stats();
    assert_eq!((s.hit_count, s.miss_count), (6, 4), "{s:?}");
    assert_eq!(third["hits"]["total"]["value"], 420);
    assert_eq!(
        third,
        run(&c, &SearchOptions::default(), &dashboard_panel())
    );

    // A deleted document changes its segment's key: that segment is searched again.
    c.delete(c.targets("web")[0].index.name(), "doc00005");
    let fourth = run(&c, &cached(&cache), &dashboard_panel());
    assert_eq!(fourth["hits"]["total"]["value"], 419);
    assert_eq!(cache.stats().miss_count, 5);
    assert_eq!(
        fourth,
        run(&c, &SearchOptions::default(), &dashboard_panel())
    );
}

#[test]
fn hits_scores_now_and_small_segments_are_never_cached() {
    let c = three_segments();
    let cache = Arc::new(RequestCache::new(1 << 20, 0));
    let untouched = |c: &Corpus, body: Value| {
        let before = cache.stats();
        run(c, &cached(&cache), &body);
        run(c, &cached(&cache), &body);
        assert_eq!(cache.stats(), before, "{body}");
    };
    untouched(&c, json!({"query": {"match": {"msg": "served"}}}));
    untouched(
        &c,
        json!({"size": 0, "min_score": 0.5, "query": {"match": {"msg": "7"}}}),
    );
    untouched(
        &c,
        json!({"size": 0, "query": {"bool": {
            "must": {"match": {"msg": "7"}},
            "filter": {"range": {"@timestamp": {"gte": "now-30d"}}},
        }}}),
    );
    untouched(
        &c,
        json!({"size": 0, "aggs": {"t": {"terms": {"field": "team.keyword"}, "aggs": {"h": {"top_hits": {"size": 1}}}}}}),
    );
    untouched(&c, json!({"size": 0, "terminate_after": 5}));
    // Segments under the minimum are searched every time.
    let big_only = Arc::new(RequestCache::new(1 << 20, 1_000));
    for _ in 0..2 {
        run(&c, &cached(&big_only), &dashboard_panel());
    }
    assert_eq!(big_only.stats(), CacheStats::default());
}

/// A dashboard panel over `[from, to]` as the UI sends it: absolute bounds, recomputed from
/// "the last n days" on every load.
fn panel_between(from: i64, to: i64) -> Value {
    json!({
        "size": 0,
        "track_total_hits": true,
        "query": {"bool": {
            "must": [{"match_all": {}}],
            "filter": [{"range": {"@timestamp": {"gte": from, "lte": to, "format": "epoch_millis"}}}],
        }},
        "aggs": {
            "teams": {"terms": {"field": "team.keyword"}, "aggs": {"ms": {"sum": {"field": "ms"}}}},
            "slow": {"filter": {"range": {"ms": {"gte": 10}}}},
            // Its empty buckets span the request's bounds; a segment's buckets do not.
            "per_hour": {"date_histogram": {
                "field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0,
                "extended_bounds": {"min": from, "max": to},
            }},
        },
    })
}

#[test]
fn segments_inside_a_moved_time_range_are_answered_from_the_cache() {
    let c = three_segments();
    let cache = Arc::new(RequestCache::new(1 << 20, 0));
    let first = panel_between(T0 - HOUR, T0 + DAY);
    assert_eq!(
        run(&c, &cached(&cache), &first),
        run(&c, &SearchOptions::default(), &first)
    );
    assert_eq!((cache.stats().hit_count, cache.stats().miss_count), (0, 3));

    // Reloaded a minute later: new bounds, every segment still inside them.
    let later = panel_between(T0 - HOUR + 60_000, T0 + DAY + 60_000);
    let answer = run(&c, &cached(&cache), &later);
    assert_eq!(answer, run(&c, &SearchOptions::default(), &later));
    assert_eq!(answer["hits"]["total"]["value"], 360);
    let buckets = answer["aggregations"]["per_hour"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(
        buckets.len(),
        26,
        "empty buckets over the new bounds: {buckets:?}"
    );
    let s = cache.stats();
    assert_eq!((s.hit_count, s.miss_count), (3, 3), "{s:?}");

    // A range that cuts the first segment (hours 0–1) in two: that one is searched with this
    // range, the two inside it still come from the cache.
    let cut = panel_between(T0 + 30 * 60_000, T0 + DAY);
    let answer = run(&c, &cached(&cache), &cut);
    assert_eq!(answer, run(&c, &SearchOptions::default(), &cut));
    assert_eq!(answer["hits"]["total"]["value"], 330);
    let s = cache.stats();
    assert_eq!((s.hit_count, s.miss_count), (5, 4), "{s:?}");

    // The count API: the same for segments the range holds whole.
    let count_in = |from: i64| {
        let q = crate::dsl::parse_query(&json!({"range": {"@timestamp": {"gte": from}}}))
            .expect("query");
        count(&c.targets("web"), &q, &cached(&cache), None)
            .expect("count")
            .count
    };
    assert_eq!(count_in(T0 - HOUR), 360);
    let hits = cache.stats().hit_count;
    assert_eq!(count_in(T0 - 2 * HOUR), 360);
    assert_eq!(cache.stats().hit_count, hits + 3);
}

#[test]
fn the_cache_stays_within_its_bound_by_evicting_the_least_recently_used() {
    let c = three_segments();
    let body =
        |i: i64| json!({"size": 0, "aggs": {"t": {"terms": {"field": "team.keyword", "size": i}}}});
    let one = Arc::new(RequestCache::new(1 << 20, 0));
    run(&c, &cached(&one), &body(1));
    let per_request = one.stats().memory_size_in_bytes;
    // Room for about two requests' entries.
    let cache = Arc::new(RequestCache::new(per_request * 2 + per_request / 2, 0));
    for i in 1..=5 {
        run(&c, &cached(&cache), &body(i));
        assert!(cache.stats().memory_size_in_bytes <= per_request * 2 + per_request / 2);
    }
    let s = cache.stats();
    assert!(s.evictions >= 6, "{s:?}");
    // The newest are still there, the oldest not.
    run(&c, &cached(&cache), &body(5));
    assert_eq!(cache.stats().hit_count, 3);
    run(&c, &cached(&cache), &body(1));
    assert_eq!(cache.stats().hit_count, 3);
    cache.clear();
    assert_eq!(cache.stats().memory_size_in_bytes, 0);
}

#[test]
fn counts_are_cached_and_keep_their_answer() {
    let c = three_segments();
    let cache = Arc::new(RequestCache::new(1 << 20, 0));
    let q = crate::dsl::parse_query(&json!({"match": {"msg": "served"}})).unwrap();
    let first = count(&c.targets("web"), &q, &cached(&cache), None)
        .unwrap()
        .count;
    let second = count(&c.targets("web"), &q, &cached(&cache), None)
        .unwrap()
        .count;
    assert_eq!((first, second), (360, 360));
    assert_eq!(cache.stats().hit_count, 3);
}

#[test]
fn skipped_segments_keep_their_own_terms_when_zero_counts_are_asked_for() {
    // Three segments of one shard, each with its own teams: hours 0–1 red, green and blue,
    // hours 2–3 amber, hours 4–5 violet.
    let c = corpus("web", &batch(T0, 0, 120), 1, None);
    let team = |docs: Vec<Value>, name: &str| -> Vec<Value> {
        docs.into_iter()
            .map(|mut d| {
                d["team"] = json!(name);
                d
            })
            .collect()
    };
    c.append(&team(batch(T0 + 2 * HOUR, 120, 120), "amber"));
    c.append(&team(batch(T0 + 4 * HOUR, 240, 120), "violet"));
    let opts = SearchOptions {
        now_ms: T0 + DAY,
        ..SearchOptions::default()
    };
    let aggs = json!({"teams": {"terms": {"field": "team.keyword", "min_doc_count": 0}}});
    let range = json!({"range": {"@timestamp": {"gte": T0 + 4 * HOUR}}});
    let skipping = json!({"size": 0, "query": {"bool": {"filter": [range]}}, "aggs": aggs});
    let reading = json!({"size": 0, "query": {"bool": {"should": [range], "minimum_should_match": 1}}, "aggs": aggs});
    let a = run(&c, &opts, &skipping);
    assert_eq!(opts.skipped_segments.load(Ordering::Relaxed), 2);
    let b = run(&c, &opts, &reading);
    let teams: Vec<(String, u64)> =
        crate::testing::bucket_counts(&a["aggregations"]["teams"]["buckets"], "key")
            .into_iter()
            .collect();
    let want = [
        ("amber", 0),
        ("blue", 0),
        ("green", 0),
        ("red", 0),
        ("violet", 120),
    ]
    .map(|(k, n)| (k.to_string(), n));
    assert_eq!(teams, want, "{a}");
    assert_eq!(a["aggregations"], b["aggregations"]);
}

#[test]
fn segments_outside_the_time_range_are_skipped_with_the_same_answer() {
    // Two days, two indices; each day's data in three segments of two hours each.
    let c = three_segments();
    c.append(&batch(T0 + DAY, 1000, 120));
    c.append(&batch(T0 + DAY + 2 * HOUR, 1120, 120));
    let opts = SearchOptions {
        now_ms: T0 + 2 * DAY,
        ..SearchOptions::default()
    };
    let aggs = json!({
        "h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0,
                                 "extended_bounds": {"min": T0, "max": T0 + 5 * HOUR}}},
        "teams": {"terms": {"field": "team.keyword"}},
        "stats": {"stats": {"field": "ms"}},
    });
    // Hours 2–3 of day 0: one segment of five holds them.
    let range = json!({"range": {"@timestamp": {"gte": T0 + 2 * HOUR, "lt": T0 + 4 * HOUR}}});
    let skipping = json!({"size": 0, "query": {"bool": {"filter": [range]}}, "aggs": aggs});
    // The same question in a shape the time range is not read from (a lone `should`).
    let reading = json!({"size": 0, "query": {"bool": {"should": [range], "minimum_should_match": 1}}, "aggs": aggs});
    let a = run(&c, &opts, &skipping);
    assert_eq!(opts.skipped_segments.load(Ordering::Relaxed), 4);
    assert_eq!(a["hits"]["total"]["value"], 120);
    let b = run(&c, &opts, &reading);
    assert_eq!(opts.skipped_segments.load(Ordering::Relaxed), 4);
    assert_eq!(a["aggregations"], b["aggregations"]);
    assert_eq!(
        a["aggregations"]["h"]["buckets"].as_array().unwrap().len(),
        6
    );

    // A time range no segment has: every segment skipped, the aggregations still in shape.
    let none =
        json!({"size": 0, "query": {"range": {"@timestamp": {"gte": T0 + 9 * DAY}}}, "aggs": aggs});
    let e = run(&c, &opts, &none);
    assert_eq!(opts.skipped_segments.load(Ordering::Relaxed), 9);
    assert_eq!(e["hits"]["total"]["value"], 0);
    assert_eq!(e["aggregations"]["stats"]["count"], 0, "{e}");
    assert_eq!(
        e["aggregations"]["h"]["buckets"].as_array().unwrap().len(),
        6
    );
    assert_eq!(e["aggregations"]["teams"]["buckets"], json!([]));

    // Hits too: the newest 5 of day 1's first two hours.
    let hits = json!({"size": 5, "sort": [{"@timestamp": "desc"}],
        "query": {"range": {"@timestamp": {"gte": T0 + DAY, "lt": T0 + DAY + 2 * HOUR}}}});
    let h = run(&c, &opts, &hits);
    let first = &h["hits"]["hits"][0]["_source"]["msg"];
    assert_eq!(first, "request 1119 served", "{h}");
}

#[test]
fn runtime_fields_are_part_of_the_key() {
    let c = three_segments();
    let cache = Arc::new(RequestCache::new(1 << 20, 0));
    let body = |reads: &str| {
        json!({"size": 0, "runtime_mappings": {"x": {"type": "keyword", "script": format!("emit(doc['{reads}'].value)")}},
               "aggs": {"t": {"terms": {"field": "x"}}}})
    };
    let teams = run(&c, &cached(&cache), &body("team.keyword"));
    let ms = run(&c, &cached(&cache), &body("ms"));
    assert_eq!(cache.stats().hit_count, 0);
    assert_eq!(
        teams["aggregations"]["t"]["buckets"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        ms["aggregations"]["t"]["buckets"].as_array().unwrap().len(),
        10
    );
    assert_eq!(run(&c, &cached(&cache), &body("team.keyword")), teams);
    assert_eq!(cache.stats().hit_count, 3);
}

/// The fused histogram pass keeps its dense result in the cache and merges cached segments as
/// arrays: the answers from the cache are the answers of a fresh search, bucket for bucket.
#[test]
fn a_fused_histogram_is_answered_from_the_cache_as_a_fresh_search_answers() {
    let c = three_segments();
    let cache = Arc::new(RequestCache::new(1 << 20, 0));
    let body = json!({"size": 0, "aggs": {"reuse_fused": {
        "date_histogram": {"field": "@timestamp", "fixed_interval": "10m"},
        "aggs": {"avg_ms": {"avg": {"field": "ms"}}, "max_ms": {"max": {"field": "ms"}}}
    }}});
    let before = crate::aggs::FUSED_USED.lock().get("reuse_fused").copied();
    let fresh = run(&c, &SearchOptions::default(), &body);
    assert!(crate::aggs::FUSED_USED.lock().get("reuse_fused").copied() > before);
    assert_eq!(run(&c, &cached(&cache), &body), fresh);
    assert_eq!(run(&c, &cached(&cache), &body), fresh);
    let s = cache.stats();
    assert_eq!((s.hit_count, s.miss_count), (3, 3), "{s:?}");
    // Six hours of one document a minute, from 10:05: 37 ten-minute buckets.
    let buckets = fresh["aggregations"]["reuse_fused"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(buckets.len(), 37);
    assert_eq!(buckets[0]["doc_count"], 5);
    // The first bucket holds documents 0–4: `ms` 0, 1, 2, 3, 4.
    assert_eq!(buckets[0]["avg_ms"]["value"], 2.0);
    assert_eq!(buckets[0]["max_ms"]["value"], 4.0);
    let total: u64 = buckets
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 360);
}

#[test]
fn hits_of_segments_the_query_matches_whole_rank_as_any_search_ranks_them() {
    let c = three_segments();
    // A fourth segment where some documents have no `ms`: that column is read a document at a
    // time, not a block at a time.
    c.append(&[
        json!({"@timestamp": T0 + 7 * HOUR, "team": "red", "msg": "request a served"}),
        json!({"@timestamp": T0 + 7 * HOUR, "team": "blue", "ms": 3, "msg": "request b served"}),
        json!({"@timestamp": T0 + 7 * HOUR + 1, "team": "green", "msg": "request c served"}),
    ]);
    // And one read in more than one block.
    c.append(&batch(T0 + 8 * HOUR, 400, 900));
    let whole = json!({"range": {"@timestamp": {"gte": T0 - HOUR, "lte": T0 + DAY}}});
    // The same documents, through a query not known to match segments whole.
    let not_whole = json!({"bool": {"filter": [whole.clone(), {"match": {"msg": "served"}}]}});
    let sorts = [
        json!([{"@timestamp": "desc"}]),
        json!([{"@timestamp": "asc"}]),
        json!([{"ms": "desc"}]),
        json!([{"ms": {"order": "asc", "missing": "_first"}}, {"@timestamp": "desc"}]),
        json!([{"team.keyword": "asc"}, {"ms": "desc"}]),
    ];
    let before = super::collector::WHOLE_HITS.load(Ordering::Relaxed);
    for sort in &sorts {
        for (from, size) in [(0, 7), (5, 20), (0, 400)] {
            let body = |query: &Value| {
                json!({
                    "from": from, "size": size, "sort": sort, "query": query,
                    "track_total_hits": true,
                    "aggs": {"t": {"terms": {"field": "team.keyword"}}},
                })
            };
            let a = run(&c, &SearchOptions::default(), &body(&whole));
            let b = run(&c, &SearchOptions::default(), &body(&not_whole));
            assert_eq!(a["hits"], b["hits"], "{sort} from {from} size {size}");
            assert_eq!(a["aggregations"], b["aggregations"]);
            assert_eq!(a["hits"]["total"]["value"], 1263);
        }
        // Paging on with search_after, without aggregations.
        let page = |query: &Value, after: Option<&Value>| {
            let mut body = json!({"size": 10, "sort": sort, "query": query});
            if let Some(after) = after {
                body["search_after"] = after.clone();
            }
            run(&c, &SearchOptions::default(), &body)
        };
        let first = page(&whole, None);
        let after = &first["hits"]["hits"][9]["sort"];
        assert_eq!(
            page(&whole, Some(after))["hits"],
            page(&not_whole, Some(after))["hits"],
            "{sort} after {after}"
        );
    }
    assert!(super::collector::WHOLE_HITS.load(Ordering::Relaxed) > before);
}
