//! The fused `date_histogram` + metrics pass against tantivy's generic collector on the same
//! segments (the answers must be identical, to the last bit of every average), and against
//! answers computed here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Lcg;
use crate::aggs::fused::{ENABLED, USED};
use crate::testing::{Corpus, T0, corpus};

const MINUTE: i64 = 60_000;

fn docs() -> &'static Vec<Value> {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut r = Lcg(7);
        (0..3000)
            .map(|i| {
                // Over 36 hours: two daily indices.
                let ts = T0 + (r.next() % (36 * 60)) as i64 * MINUTE + (r.next() % 60_000) as i64;
                let mut d = json!({
                    "@timestamp": DateTime::<Utc>::from_timestamp_millis(ts).unwrap().to_rfc3339(),
                    "lat": (r.next() % 100_000) as f64 / 1000.0 + 0.1,
                    "tag": format!("t{}", r.next() % 5),
                });
                d["status"] = json!([200, 204, 301, 404, 500, 503][(r.next() % 6) as usize]);
                // Many terms per segment, most of them tied: 97 clients (about five documents
                // each in a segment) and 701 hosts (about one).
                d["client"] = json!(format!("c{}", (i * 7919) % 97));
                d["host"] = json!(format!("h{}", (i * 104_729) % 701));
                // Strings and booleans under one name: two columns of one field.
                d["flag"] = if i % 4 == 0 {
                    json!(i % 8 == 0)
                } else {
                    json!(format!("f{}", i % 3))
                };
                if i % 10 != 0 {
                    d["n"] = json!(r.next() % 1000);
                }
                if i % 3 == 0 {
                    d["late"] = json!((r.next() % 5000) as f64 * 0.37);
                }
                if i % 50 == 0 {
                    d["arr"] = json!([r.next() % 10, 100 + r.next() % 10]);
                }
                d["mixed"] = if i % 2 == 0 {
                    json!(i)
                } else {
                    json!(i as f64 + 0.5)
                };
                d
            })
            .collect()
    })
}

/// The documents in three commits (several segments per shard), minus two deleted ones.
fn fused_corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let all = docs();
        let c = corpus("fz", &all[..1000], 2, None);
        c.append(&all[1000..2000]);
        c.append(&all[2000..]);
        for id in deleted() {
            for index in indices(&c) {
                c.delete(&index, id);
            }
        }
        c
    })
}

fn deleted() -> [&'static str; 2] {
    ["doc00005", "doc01500"]
}

fn indices(c: &Corpus) -> Vec<String> {
    let mut names: Vec<String> = c
        .targets("fz")
        .iter()
        .map(|t| t.index.name().to_string())
        .collect();
    names.dedup();
    names
}

pub(super) fn live_docs() -> impl Iterator<Item = &'static Value> {
    docs()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 5 && *i != 1500)
        .map(|(_, d)| d)
}

pub(super) fn run(body: &Value, fused: bool) -> Value {
    ENABLED.with(|e| e.set(fused));
    let mut out = fused_corpus().search("fz", body.clone());
    ENABLED.with(|e| e.set(true));
    out.as_object_mut().unwrap().remove("took");
    out
}

/// Equal, numbers with fractions to within rounding: tantivy's compensated sums run in lanes
/// whose split depends on how it batches a bucket's documents, so even its own answers differ
/// in the last bits from one batching to another.
pub(super) fn same(a: &Value, b: &Value, at: String) -> Result<(), String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            ((x - y).abs() <= 1e-12 * x.abs().max(y.abs()))
                .then_some(())
                .ok_or(at)
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .try_for_each(|(i, (x, y))| same(x, y, format!("{at}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().try_for_each(|(k, v)| match y.get(k) {
                Some(w) => same(v, w, format!("{at}.{k}")),
                None => Err(format!("{at}.{k}")),
            })
        }
        _ => (a == b).then_some(()).ok_or(at),
    }
}

pub(super) fn used(name: &str) -> u64 {
    USED.lock().get(name).copied().unwrap_or(0)
}

/// Each case — a name, an aggregation and whether the fused pass must take it (`None`: in some
/// segments, or not at all) — under three queries, with and without hits: the answer through
/// the fused pass equals tantivy's, and the pass was taken (or not) as expected.
pub(super) fn check_cases(cases: Vec<(&str, Value, Option<bool>)>) {
    for (name, agg, expect_fused) in cases {
        for query in [
            json!({"match_all": {}}),
            json!({"range": {"@timestamp": {"gte": T0 + 2 * 3_600_000, "lt": T0 + 30 * 3_600_000}}}),
            json!({"term": {"tag": "t3"}}),
        ] {
            for size in [0, 3] {
                let body = json!({"size": size, "query": query, "aggs": {name: agg},
                    "sort": [{"@timestamp": "desc"}]});
                let before = used(name);
                let fused = run(&body, true);
                let taken = used(name) - before;
                let generic = run(&body, false);
                assert!(fused.get("error").is_none(), "{name}: {fused}");
                if let Err(at) = same(&fused, &generic, String::new()) {
                    panic!(
                        "{name} {query} size {size}: differs at {at}\nfused: {fused}\ngeneric: {generic}"
                    );
                }
                // Some bucket answered (a `filter` is one bucket, without a list).
                assert!(
                    fused["aggregations"][name]
                        .to_string()
                        .contains("\"doc_count\":"),
                    "{name}: {fused}"
                );
                match expect_fused {
                    Some(true) => assert!(taken > 0, "{name}: the fused pass was not taken"),
                    Some(false) => assert_eq!(taken, 0, "{name}: the fused pass was taken"),
                    None => {}
                }
            }
        }
    }
}

/// Each request's answer through the fused pass equals tantivy's, and the pass was taken
/// (or not) as expected.
#[test]
fn fused_histograms_answer_exactly_as_tantivy_does() {
    let metrics = json!({
        "a": {"avg": {"field": "n"}}, "s": {"sum": {"field": "n"}},
        "lo": {"min": {"field": "n"}}, "hi": {"max": {"field": "n"}},
        "c": {"value_count": {"field": "n"}}, "st": {"stats": {"field": "lat"}}
    });
    let cases: Vec<(&str, Value, Option<bool>)> = vec![
        (
            "fz_1m",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 1},
            "aggs": {"l": {"avg": {"field": "lat"}}}}),
            Some(true),
        ),
        (
            "fz_all",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
            "aggs": metrics}),
            Some(true),
        ),
        (
            "fz_offset",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "offset": "+7m",
            "min_doc_count": 0, "extended_bounds": {"min": T0 - 5 * 3_600_000, "max": T0 + 40 * 3_600_000}},
            "aggs": {"l": {"avg": {"field": "late"}}}}),
            Some(true),
        ),
        (
            "fz_hard",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "30m",
            "hard_bounds": {"min": T0 + 3_600_000, "max": T0 + 20 * 3_600_000}},
            "aggs": {"l": {"max": {"field": "lat"}}}}),
            Some(true),
        ),
        (
            "fz_cal",
            json!({"date_histogram": {"field": "@timestamp", "calendar_interval": "hour"},
            "aggs": {"l": {"min": {"field": "late"}}}}),
            Some(true),
        ),
        (
            "fz_zone",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1d", "time_zone": "+05:30"},
            "aggs": {"l": {"avg": {"field": "lat"}}}}),
            Some(true),
        ),
        (
            "fz_count",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "2h"}}),
            Some(true),
        ),
        // Multi-valued in some segments: those go through tantivy.
        (
            "fz_multi",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
            "aggs": {"l": {"avg": {"field": "arr"}}}}),
            None,
        ),
        // A keyword: tantivy counts it.
        (
            "fz_kw",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
            "aggs": {"l": {"value_count": {"field": "tag"}}}}),
            Some(false),
        ),
        // Integers and floats in one field (one f64 column per segment).
        (
            "fz_mixed",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
            "aggs": {"l": {"avg": {"field": "mixed"}}}}),
            Some(true),
        ),
        // 100 ms over 36 hours: a dense row of 1.3 M buckets would pass the memory bound.
        (
            "fz_fine",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "100ms", "min_doc_count": 1},
            "aggs": {"l": {"avg": {"field": "lat"}}}}),
            Some(false),
        ),
        (
            "fz_missing",
            json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
            "aggs": {"l": {"avg": {"field": "n", "missing": 5}}}}),
            Some(false),
        ),
    ];
    check_cases(cases);
}

/// A histogram split into series by a `terms` under it (Kibana's split series): through the
/// fused pass, each request's answer equals tantivy's — the buckets' counts include the
/// documents without a term — and the pass was taken (or not) as expected.
#[test]
fn fused_split_series_answer_exactly_as_tantivy_does() {
    let over = |hist: Value, terms: Value| {
        let mut h = json!({ "date_histogram": hist });
        h["aggs"] = json!({"s": {"terms": terms}});
        h
    };
    let fixed = |interval: &str| json!({"field": "@timestamp", "fixed_interval": interval});
    let cases: Vec<(&str, Value, Option<bool>)> = vec![
        (
            "fss_tag",
            over(fixed("30m"), json!({"field": "tag.keyword", "size": 3})),
            Some(true),
        ),
        (
            "fss_bounds",
            over(
                json!({"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0,
                    "extended_bounds": {"min": T0 - 3_600_000, "max": T0 + 40 * 3_600_000}}),
                json!({"field": "tag.keyword", "size": 2, "order": {"_key": "asc"}}),
            ),
            Some(true),
        ),
        (
            "fss_cal",
            over(
                json!({"field": "@timestamp", "calendar_interval": "hour", "min_doc_count": 1}),
                json!({"field": "tag.keyword"}),
            ),
            Some(true),
        ),
        // Integers, a tenth of the documents without one: every value kept (size 200 keeps
        // 2,000), and the documents without one still in their time bucket's count.
        (
            "fss_int",
            over(fixed("6h"), json!({"field": "n", "size": 200})),
            Some(true),
        ),
        (
            "fss_status",
            over(fixed("1h"), json!({"field": "status", "size": 3})),
            Some(true),
        ),
        // More values than tantivy keeps in some segments: those go through tantivy.
        (
            "fss_cut",
            over(fixed("6h"), json!({"field": "n", "size": 10})),
            None,
        ),
        // A metric under the `terms`, two column types, floats: left to tantivy.
        (
            "fss_metric",
            json!({"date_histogram": fixed("6h"), "aggs": {"s": {"terms": {"field": "tag.keyword"},
                "aggs": {"a": {"avg": {"field": "lat"}}}}}}),
            Some(false),
        ),
        (
            "fss_two_types",
            over(fixed("6h"), json!({"field": "flag", "size": 10})),
            Some(false),
        ),
        (
            "fss_float",
            over(fixed("6h"), json!({"field": "lat", "size": 5})),
            Some(false),
        ),
    ];
    check_cases(cases);
}

/// Segments skipped by the query's time range add nothing to a fused histogram, and a search
/// that skips every one answers as tantivy's empty collectors do (`extended_bounds` filled).
#[test]
fn skipped_segments_leave_a_fused_histogram_as_tantivy_does() {
    let hour = |h: i64| T0 + h * 3_600_000;
    for agg in [
        json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 1},
            "aggs": {"l": {"avg": {"field": "lat"}}}}),
        json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "offset": "+7m",
            "min_doc_count": 0, "extended_bounds": {"min": hour(-5), "max": hour(40)}},
            "aggs": {"l": {"avg": {"field": "late"}}, "st": {"stats": {"field": "lat"}}}}),
        json!({"date_histogram": {"field": "@timestamp", "calendar_interval": "hour"}}),
    ] {
        for (query, hits) in [
            (json!({"range": {"@timestamp": {"gte": hour(30)}}}), true),
            (json!({"range": {"@timestamp": {"lt": hour(-48)}}}), false),
            (
                json!({"range": {"@timestamp": {"gte": hour(24 * 400)}}}),
                false,
            ),
        ] {
            let body = json!({"size": 0, "query": query, "aggs": {"fz_skip": agg}});
            let fused = run(&body, true);
            let generic = run(&body, false);
            assert!(fused.get("error").is_none(), "{fused}");
            assert_eq!(
                fused["hits"]["total"]["value"].as_u64().unwrap() > 0,
                hits,
                "{fused}"
            );
            if let Err(at) = same(&fused, &generic, String::new()) {
                panic!("{query}: differs at {at}\nfused: {fused}\ngeneric: {generic}");
            }
        }
    }
}

/// Counts and averages per minute, computed here from the documents.
#[test]
fn fused_minute_histogram_matches_the_documents() {
    let body = json!({"size": 0, "aggs": {"fz_check": {
        "date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 1},
        "aggs": {"l": {"avg": {"field": "late"}}, "n": {"sum": {"field": "n"}}}
    }}});
    let before = used("fz_check");
    let got = run(&body, true);
    assert!(used("fz_check") > before);
    let mut want: BTreeMap<i64, (u64, f64, u64, f64)> = BTreeMap::new();
    for d in live_docs() {
        let ts = DateTime::parse_from_rfc3339(d["@timestamp"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        let e = want.entry(ts.div_euclid(MINUTE) * MINUTE).or_default();
        e.0 += 1;
        if let Some(l) = d.get("late").and_then(Value::as_f64) {
            e.1 += l;
            e.2 += 1;
        }
        e.3 += d.get("n").and_then(Value::as_f64).unwrap_or(0.0);
    }
    let buckets = got["aggregations"]["fz_check"]["buckets"]
        .as_array()
        .unwrap();
    assert_eq!(buckets.len(), want.len());
    for (b, (key, (count, sum, with, n))) in buckets.iter().zip(&want) {
        assert_eq!(b["key"], json!(key), "{b}");
        assert_eq!(b["doc_count"], json!(count), "{b}");
        match b["l"]["value"].as_f64() {
            Some(avg) => assert!((avg - sum / *with as f64).abs() < 1e-9, "{b}"),
            None => assert_eq!(*with, 0, "{b}"),
        }
        assert_eq!(b["n"]["value"].as_f64(), Some(*n), "{b}");
    }
}

/// Beside other aggregations (Discover's histogram and its split, two histograms in one
/// request), the fused pass takes its one and tantivy the others; the answers are tantivy's.
#[test]
fn a_fused_histogram_beside_other_aggregations_answers_as_tantivy_does() {
    let hist = |interval: &str| {
        json!({"date_histogram": {"field": "@timestamp", "fixed_interval": interval, "min_doc_count": 0,
            "extended_bounds": {"min": T0, "max": T0 + 36 * 3_600_000}}})
    };
    let bodies = [
        json!({"size": 5, "sort": [{"@timestamp": "desc"}], "track_total_hits": true, "aggs": {
            "fzm_hist": hist("30m"),
            "fzm_split": {"terms": {"field": "tag.keyword", "size": 3}, "aggs": {"hist": hist("30m")}},
        }}),
        json!({"size": 0, "query": {"range": {"@timestamp": {"gte": T0 + 3_600_000}}}, "aggs": {
            "fzm_a": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
                "aggs": {"l": {"avg": {"field": "lat"}}}},
            "fzm_b": {"date_histogram": {"field": "@timestamp", "fixed_interval": "2h"},
                "aggs": {"s": {"sum": {"field": "n"}}}},
            "fzm_p": {"percentiles": {"field": "lat", "percents": [50, 99]}},
        }}),
    ];
    for (body, fused_name) in bodies.iter().zip(["fzm_hist", "fzm_a"]) {
        let before = used(fused_name);
        let fused = run(body, true);
        assert!(
            used(fused_name) > before,
            "{fused_name}: the fused pass was not taken"
        );
        let generic = run(body, false);
        assert!(fused.get("error").is_none(), "{fused}");
        if let Err(at) = same(&fused, &generic, String::new()) {
            panic!("differs at {at}\nfused: {fused}\ngeneric: {generic}");
        }
    }
    // Only one histogram per request is fused (the first by name).
    assert_eq!(used("fzm_b"), 0);
}

/// A histogram split by a `terms` (Discover's by status, Grafana's "group by"): through the
/// fused pass, each request's answer equals tantivy's, and the pass was taken (or not) as
/// expected.
#[test]
fn fused_splits_answer_exactly_as_tantivy_does() {
    let hist = |interval: &str| json!({"date_histogram": {"field": "@timestamp", "fixed_interval": interval}});
    let with = |terms: Value, sub: Value| json!({"terms": terms, "aggs": {"h": sub}});
    let cases: Vec<(&str, Value, Option<bool>)> = vec![
        (
            "fs_tag",
            with(json!({"field": "tag.keyword", "size": 3}), hist("30m")),
            Some(true),
        ),
        (
            "fs_metrics",
            json!({"terms": {"field": "tag.keyword"}, "aggs": {"h": {
                "date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0,
                    "extended_bounds": {"min": T0 - 3_600_000, "max": T0 + 40 * 3_600_000}},
                "aggs": {"a": {"avg": {"field": "lat"}}, "st": {"stats": {"field": "n"}}}}}}),
            Some(true),
        ),
        (
            "fs_key_order",
            with(
                json!({"field": "tag.keyword", "size": 2, "order": {"_key": "desc"}}),
                hist("2h"),
            ),
            Some(true),
        ),
        // Documents outside the histogram's bounds still count in their term.
        (
            "fs_hard",
            with(
                json!({"field": "tag.keyword"}),
                json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h",
                    "hard_bounds": {"min": T0 + 3_600_000, "max": T0 + 9 * 3_600_000}}}),
            ),
            Some(true),
        ),
        // Integers, some documents without one: every value kept (size 200 keeps 2,000).
        (
            "fs_int",
            with(json!({"field": "n", "size": 200}), hist("6h")),
            Some(true),
        ),
        // Sparse integers (HTTP statuses): mapped to rows through a table.
        (
            "fs_status",
            with(json!({"field": "status", "size": 3}), hist("1h")),
            Some(true),
        ),
        // Two columns under one field (strings and booleans): left to tantivy, which counts
        // both.
        (
            "fs_two_types",
            with(json!({"field": "flag", "size": 10}), hist("6h")),
            Some(false),
        ),
        // A thousand values where tantivy keeps 100 per segment: taken only in the segments
        // with at most 100 of them.
        (
            "fs_int_cut",
            with(json!({"field": "n", "size": 10}), hist("6h")),
            None,
        ),
        // Floats, and integers and floats in one field: left to tantivy.
        (
            "fs_float",
            with(json!({"field": "lat", "size": 5}), hist("6h")),
            Some(false),
        ),
        (
            "fs_missing",
            with(
                json!({"field": "tag.keyword", "missing": "none"}),
                hist("6h"),
            ),
            Some(false),
        ),
        (
            "fs_two_subs",
            json!({"terms": {"field": "tag.keyword"}, "aggs": {"h": hist("1h"),
                "m": {"max": {"field": "lat"}}}}),
            Some(false),
        ),
    ];
    check_cases(cases);
}

/// `filters` (and `filter`) holding one fused histogram each: the same answers as tantivy's
/// filter aggregation with its generic histogram, the fused pass taken where it should be.
#[test]
fn fused_filters_answer_exactly_as_tantivy_does() {
    let hist = json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}});
    let with_metrics = json!({"date_histogram": {"field": "@timestamp", "fixed_interval": "2h",
        "min_doc_count": 0, "extended_bounds": {"min": T0 - 3_600_000, "max": T0 + 40 * 3_600_000}},
        "aggs": {"a": {"avg": {"field": "lat"}}, "st": {"stats": {"field": "n"}}}});
    let classes = json!([
        {"query_string": {"query": "status:[200 TO 299]"}},
        {"query_string": {"query": "status:[300 TO 399]"}},
        {"range": {"status": {"gte": 400, "lt": 500}}},
        {"term": {"tag": "t1"}},
    ]);
    let cases: Vec<(&str, Value, bool)> = vec![
        (
            "ff_classes",
            json!({"filters": {"filters": classes}, "aggs": {"h": hist}}),
            true,
        ),
        (
            "ff_metrics",
            json!({"filters": {"filters": classes}, "aggs": {"h": with_metrics}}),
            true,
        ),
        (
            "ff_keyed_other",
            json!({"filters": {"filters": {"ok": {"term": {"status": 200}}, "bad": {"range": {"status": {"gte": 500}}}},
                "other_bucket_key": "rest"}, "aggs": {"h": hist}}),
            true,
        ),
        (
            "ff_one",
            json!({"filter": {"term": {"tag": "t2"}}, "aggs": {"h": with_metrics}}),
            true,
        ),
        // Two sub-aggregations, and a sub-aggregation the fused pass does not take: tantivy's.
        (
            "ff_two_subs",
            json!({"filters": {"filters": classes}, "aggs": {"h": hist, "m": {"max": {"field": "lat"}}}}),
            false,
        ),
        (
            "ff_terms",
            json!({"filters": {"filters": classes}, "aggs": {"t": {"terms": {"field": "tag.keyword"}}}}),
            false,
        ),
    ];
    check_cases(
        cases
            .into_iter()
            .map(|(name, agg, fused)| (name, agg, Some(fused)))
            .collect(),
    );
    // And against counts made here: the 2xx class per hour over the whole corpus.
    let body = json!({"size": 0, "aggs": {"c": {"filters": {"filters": {"ok": {"range": {"status": {"gte": 200, "lt": 300}}}}},
        "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}}}}}});
    let a = run(&body, true);
    let mut want: BTreeMap<i64, u64> = BTreeMap::new();
    for d in live_docs().filter(|d| (200..300).contains(&d["status"].as_i64().unwrap())) {
        let ts = DateTime::parse_from_rfc3339(d["@timestamp"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
        *want.entry(ts - ts.rem_euclid(3_600_000)).or_default() += 1;
    }
    let ok = &a["aggregations"]["c"]["buckets"]["ok"];
    assert_eq!(ok["doc_count"], want.values().sum::<u64>(), "{a}");
    let got: BTreeMap<i64, u64> = ok["h"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["doc_count"].as_u64().unwrap() > 0)
        .map(|b| (b["key"].as_i64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, want);
}

/// A histogram too fine for a segment's whole day (864,000 buckets of 100 ms, past the pass's
/// memory bound) goes through the fused pass when the query's own time range bounds its grid
/// (an hour: 36,000 buckets), and answers as tantivy does.
#[test]
fn the_query_time_range_bounds_a_fused_grid() {
    let agg = json!({
        "date_histogram": {"field": "@timestamp", "fixed_interval": "100ms", "min_doc_count": 1},
        "aggs": {"l": {"avg": {"field": "lat"}}}
    });
    let hour =
        json!({"range": {"@timestamp": {"gte": T0 + 5 * 3_600_000, "lt": T0 + 6 * 3_600_000}}});
    let in_filter = json!({"bool": {"filter": [hour.clone(), {"term": {"tag": "t3"}}]}});
    for (query, bounded) in [
        (hour, true),
        (in_filter, true),
        (json!({"match_all": {}}), false),
    ] {
        // Its own name: `USED` is shared by the tests running beside it, and the fused
        // histograms' test expects `fz_fine` never taken.
        let body = json!({"size": 0, "query": query, "aggs": {"fz_fine_bounded": agg}});
        let before = used("fz_fine_bounded");
        let fused = run(&body, true);
        let taken = used("fz_fine_bounded") - before;
        let generic = run(&body, false);
        if let Err(at) = same(&fused, &generic, String::new()) {
            panic!("{query}: differs at {at}\nfused: {fused}\ngeneric: {generic}");
        }
        let buckets = fused["aggregations"]["fz_fine_bounded"]["buckets"]
            .as_array()
            .unwrap();
        assert!(buckets.len() > 10, "{query}: {fused}");
        assert_eq!(taken > 0, bounded, "{query}: taken by {taken} segments");
    }
}
