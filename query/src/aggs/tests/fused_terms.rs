//! The fused `terms` pass (a `terms` with metrics and filters under it) against tantivy's
//! generic collector on the same segments, and against answers computed here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Lcg;
use super::fused::{check_cases, live_docs, run, same, used};
use crate::aggs::fused::ENABLED;
use crate::testing::{Corpus, T0, corpus};

/// A `terms` with metrics and filters under it (a dashboard's table of top clients): through
/// the fused pass, the answers equal tantivy's, ties at the final cut included. (These
/// segments hold fewer than 2,000 terms, which Hydrant keeps whole; the cut of larger ones is
/// the next test's.)
#[test]
fn fused_terms_with_metrics_and_filters_answer_exactly_as_tantivy_does() {
    let table = json!({"n": {"sum": {"field": "n"}},
        "errors": {"filter": {"query_string": {"query": "status:>=400"}}}});
    let cases: Vec<(&str, Value, Option<bool>)> = vec![
        // 97 clients, about five documents each per segment.
        (
            "ft_table",
            json!({"terms": {"field": "client.keyword", "size": 3}, "aggs": table}),
            Some(true),
        ),
        // 701 hosts of one or two documents.
        (
            "ft_hosts",
            json!({"terms": {"field": "host.keyword", "size": 5}, "aggs": {
                "a": {"avg": {"field": "lat"}}, "c": {"value_count": {"field": "n"}},
                "st": {"stats": {"field": "late"}}, "lo": {"min": {"field": "n"}}}}),
            Some(true),
        ),
        (
            "ft_by_metric",
            json!({"terms": {"field": "host.keyword", "size": 4, "order": {"m": "desc"}},
                "aggs": {"m": {"max": {"field": "lat"}}}}),
            Some(true),
        ),
        (
            "ft_by_stats",
            json!({"terms": {"field": "host.keyword", "size": 4, "order": {"st.avg": "asc"}},
                "aggs": {"st": {"stats": {"field": "n"}}}}),
            Some(true),
        ),
        (
            "ft_key",
            json!({"terms": {"field": "host.keyword", "size": 3, "order": {"_key": "desc"}},
                "aggs": {"s": {"sum": {"field": "n"}}}}),
            Some(true),
        ),
        (
            "ft_count_asc",
            json!({"terms": {"field": "client.keyword", "size": 3, "order": {"_count": "asc"}},
                "aggs": table}),
            Some(true),
        ),
        (
            "ft_filters_only",
            json!({"terms": {"field": "tag.keyword"}, "aggs": {
                "bad": {"filter": {"range": {"status": {"gte": 500}}}},
                "t1": {"filter": {"term": {"host": "h3"}}}}}),
            Some(true),
        ),
        // Two columns under one field, a filter with something under it, a sub-aggregation
        // the pass does not take, `missing`: tantivy's.
        (
            "ft_two_types",
            json!({"terms": {"field": "flag", "size": 3}, "aggs": {"s": {"sum": {"field": "n"}}}}),
            Some(false),
        ),
        (
            "ft_deep_filter",
            json!({"terms": {"field": "client.keyword", "size": 3}, "aggs": {"e": {
                "filter": {"term": {"status": 500}}, "aggs": {"s": {"sum": {"field": "n"}}}}}}),
            Some(false),
        ),
        (
            "ft_percentiles",
            json!({"terms": {"field": "client.keyword", "size": 3}, "aggs": {
                "p": {"percentiles": {"field": "lat", "percents": [50]}}}}),
            Some(false),
        ),
        (
            "ft_missing",
            json!({"terms": {"field": "client.keyword", "size": 3, "missing": "none"},
                "aggs": {"s": {"sum": {"field": "n"}}}}),
            Some(false),
        ),
    ];
    check_cases(cases);

    // And against sums made here: every client kept (100 of 97), with its documents, its
    // sum of `n` and its documents with a status of 400 or more.
    let body = json!({"size": 0, "aggs": {"t": {"terms": {"field": "client.keyword", "size": 100},
        "aggs": table}}});
    let a = run(&body, true);
    let mut want: BTreeMap<String, (u64, f64, u64)> = BTreeMap::new();
    for d in live_docs() {
        let e = want
            .entry(d["client"].as_str().unwrap().to_string())
            .or_default();
        e.0 += 1;
        e.1 += d.get("n").and_then(Value::as_f64).unwrap_or(0.0);
        e.2 += u64::from(d["status"].as_i64().unwrap() >= 400);
    }
    let buckets = a["aggregations"]["t"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), want.len(), "{a}");
    for b in buckets {
        let (docs, n, errors) = want[b["key"].as_str().unwrap()];
        assert_eq!(b["doc_count"], json!(docs), "{b}");
        assert_eq!(b["n"]["value"].as_f64(), Some(n), "{b}");
        assert_eq!(b["errors"]["doc_count"], json!(errors), "{b}");
    }
}

/// 12,000 documents of one day in two segments (one shard, two commits): 2,503 hosts drawn at
/// random, about 2.4 documents each per segment — some 2,270 terms, more than Hydrant keeps
/// whole (2,000), so each segment is cut, by tantivy's quickselect — and 9,001 guests, about
/// 4,400 per segment of one to three documents, cut by its sort.
fn cut_corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let mut r = Lcg(11);
        let docs: Vec<Value> = (0..12_000u64)
            .map(|_| {
                let ts = T0 + (r.next() % (12 * 3_600_000)) as i64;
                let (n, status) = (r.next() % 1000, [200, 404, 500][(r.next() % 3) as usize]);
                let (host, guest) = (r.next() % 2503, r.next() % 9001);
                json!({
                    "@timestamp": DateTime::<Utc>::from_timestamp_millis(ts).unwrap().to_rfc3339(),
                    "host": format!("h{host}"),
                    "guest": format!("g{guest}"),
                    "n": n,
                    "x": n as f64 / 7.0,
                    "status": status,
                })
            })
            .collect();
        let c = corpus("ftc", &docs[..6000], 1, None);
        c.append(&docs[6000..]);
        c
    })
}

/// Cut segments: each keeps the terms tantivy keeps, ties at the cut falling the same way,
/// and the answers — counts, sums, `sum_other_doc_count`, the error bound — equal tantivy's.
#[test]
fn a_fused_terms_cuts_each_segment_as_tantivy_does() {
    let sum = json!({"s": {"sum": {"field": "n"}}, "e": {"filter": {"term": {"status": 500}}}});
    let metrics = json!({"lo": {"min": {"field": "n"}}, "st": {"stats": {"field": "n"}},
        "a": {"avg": {"field": "x"}}});
    let cases = [
        (
            "ftc_hosts",
            json!({"field": "host.keyword", "size": 20, "shard_size": 20}),
            &sum,
        ),
        (
            "ftc_default",
            json!({"field": "host.keyword", "size": 5}),
            &sum,
        ),
        (
            "ftc_guests",
            json!({"field": "guest.keyword", "size": 20, "shard_size": 25}),
            &sum,
        ),
        (
            "ftc_asc",
            json!({"field": "host.keyword", "size": 20, "shard_size": 30,
            "order": {"_count": "asc"}}),
            &sum,
        ),
        (
            "ftc_key",
            json!({"field": "host.keyword", "size": 20, "shard_size": 30,
            "order": {"_key": "desc"}}),
            &sum,
        ),
        (
            "ftc_by_sum",
            json!({"field": "host.keyword", "size": 10, "order": {"s": "desc"}}),
            &sum,
        ),
        (
            "ftc_by_min",
            json!({"field": "host.keyword", "size": 10, "order": {"lo": "asc"}}),
            &metrics,
        ),
        (
            "ftc_by_avg",
            json!({"field": "guest.keyword", "size": 10, "order": {"st.avg": "desc"}}),
            &metrics,
        ),
    ];
    for (name, terms, subs) in cases {
        for query in [
            json!({"match_all": {}}),
            json!({"range": {"n": {"lt": 700}}}),
        ] {
            let body = json!({"size": 0, "query": query,
                "aggs": {name: {"terms": terms, "aggs": subs}}});
            let search = |fused: bool| {
                ENABLED.with(|e| e.set(fused));
                let mut out = cut_corpus().search("ftc", body.clone());
                ENABLED.with(|e| e.set(true));
                out.as_object_mut().unwrap().remove("took");
                out
            };
            let before = used(name);
            let fused = search(true);
            let taken = used(name) - before;
            assert_eq!(taken, 2, "{name}: not taken in both segments");
            let generic = search(false);
            assert!(fused.get("error").is_none(), "{name}: {fused}");
            if let Err(at) = same(&fused, &generic, String::new()) {
                panic!("{name} {query}: differs at {at}\nfused: {fused}\ngeneric: {generic}");
            }
            // More than `size` terms were found, and (ranked by count or key) a segment was
            // cut: the count of its first term left out bounds the error.
            let agg = &fused["aggregations"][name];
            assert!(
                agg["sum_other_doc_count"].as_u64().unwrap() > 0,
                "{name}: {agg}"
            );
            if !name.starts_with("ftc_by") {
                let bound = agg["doc_count_error_upper_bound"].as_u64().unwrap();
                assert!(bound > 0, "{name}: {agg}");
            }
        }
    }
}

/// Ranked by a sum or an average of floats, which tantivy adds in lanes (so its last bits can
/// differ from one pass's), a segment is left to tantivy.
#[test]
fn a_terms_ranked_by_a_sum_of_floats_is_left_to_tantivy() {
    for order in [json!({"a": "desc"}), json!({"st.sum": "asc"})] {
        let body = json!({"size": 0, "aggs": {"ftc_floats": {
            "terms": {"field": "host.keyword", "size": 10, "order": order},
            "aggs": {"a": {"avg": {"field": "x"}}, "st": {"stats": {"field": "x"}}}}}});
        let before = used("ftc_floats");
        let answer = cut_corpus().search("ftc", body.clone());
        assert_eq!(used("ftc_floats"), before, "{body}");
        let buckets = answer["aggregations"]["ftc_floats"]["buckets"].as_array();
        assert_eq!(buckets.map(Vec::len), Some(10), "{answer}");
    }
}
