//! `top_metrics` and `boxplot` against answers computed here from the same documents.
//! OpenSearch has neither (both are Elasticsearch x-pack analytics), so these are the checks.

use serde_json::{Value, json};

use super::{bytes, close, docs, ts};
use crate::dates::{Zone, format_date};

fn aggs(a: Value) -> Value {
    super::aggs(json!({"size": 0, "aggs": a}))
}

fn search(body: Value) -> Value {
    super::shared().search("web", body)
}

/// The newest two documents of each method, their metrics read from columns only.
#[test]
fn top_metrics_reads_the_metrics_of_the_top_documents_of_each_bucket() {
    let a = aggs(json!({"m": {
        "terms": {"field": "method"},
        "aggs": {"tm": {"top_metrics": {
            "metrics": [{"field": "status"}, {"field": "host"}, {"field": "bytes"}, {"field": "nope"}],
            "sort": {"@timestamp": "desc"},
            "size": 2
        }}}
    }}));
    let buckets = a["m"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 3, "{a}");
    for b in buckets {
        let method = b["key"].as_str().unwrap();
        let mut mine: Vec<&Value> = docs().iter().filter(|d| d["method"] == method).collect();
        mine.sort_by_key(|d| std::cmp::Reverse(ts(d)));
        let top = b["tm"]["top"].as_array().unwrap();
        assert_eq!(top.len(), 2, "{b}");
        for (got, want) in top.iter().zip(&mine) {
            assert_eq!(
                got["sort"],
                json!([format_date(ts(want), None, Zone::Utc)]),
                "{got}"
            );
            let m = &got["metrics"];
            assert_eq!(m["status"], want["status"], "{got}");
            assert_eq!(m["host"], want["host"], "{got}");
            match bytes(want) {
                Some(x) => assert!(close(m["bytes"].as_f64().unwrap(), x), "{got}"),
                None => assert!(m["bytes"].is_null(), "{got}"),
            }
            assert!(m["nope"].is_null(), "{got}");
        }
    }
}

/// Ascending on a number: the smallest value's document; documents without it never win.
#[test]
fn top_metrics_ascending_skips_documents_without_the_sort_field() {
    let a = aggs(json!({
        "low": {"top_metrics": {"metrics": {"field": "status"}, "sort": [{"bytes": {"order": "asc"}}]}},
        "unmapped": {"top_metrics": {"metrics": {"field": "status"}, "sort": "nope"}}
    }));
    let smallest = docs()
        .iter()
        .filter(|d| bytes(d).is_some())
        .min_by(|a, b| bytes(a).unwrap().total_cmp(&bytes(b).unwrap()))
        .unwrap();
    let top = &a["low"]["top"];
    assert_eq!(top.as_array().unwrap().len(), 1, "{a}");
    assert!(close(
        top[0]["sort"][0].as_f64().unwrap(),
        bytes(smallest).unwrap()
    ));
    assert_eq!(top[0]["metrics"]["status"], smallest["status"], "{a}");
    // No document has the sort field: no top document, as ES answers it.
    assert_eq!(a["unmapped"], json!({"top": []}), "{a}");
}

/// Grafana and Kibana order `terms` by a metric of a `top_metrics` (`tm[field]`, `tm.field`).
#[test]
fn terms_order_by_a_top_metrics_metric() {
    let a = aggs(json!({"h": {
        "terms": {"field": "host", "order": {"tm[status]": "desc"}, "size": 10},
        "aggs": {"tm": {"top_metrics": {"metrics": {"field": "status"}, "sort": {"@timestamp": "desc"}}}}
    }}));
    let statuses: Vec<i64> = a["h"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["tm"]["top"][0]["metrics"]["status"].as_i64().unwrap())
        .collect();
    assert!(statuses.len() > 3, "{a}");
    assert!(statuses.windows(2).all(|w| w[0] >= w[1]), "{statuses:?}");
}

#[test]
fn top_metrics_refuses_what_elasticsearch_refuses() {
    for (agg, wanted) in [
        (
            json!({"metrics": {"field": "status"}, "sort": {"status": "desc"}, "size": 11}),
            "must not be more than [10]",
        ),
        (json!({"metrics": {"field": "status"}}), "Required [sort]"),
        (json!({"sort": {"status": "desc"}}), "Required [metrics]"),
        (
            json!({"metrics": {"field": "status"}, "sort": {"host": "desc"}}),
            "of type [keyword]",
        ),
        (
            json!({"metrics": {"field": "status"}, "sort": "_score"}),
            "_score",
        ),
    ] {
        let resp = search(json!({"size": 0, "aggs": {"tm": {"top_metrics": agg}}}));
        let error = resp["error"].to_string();
        assert!(error.contains(wanted), "{agg}: {resp}");
        assert_eq!(resp["status"], json!(400), "{resp}");
    }
}

/// The exact quantile `q` (0..=1) of sorted `v`, nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

#[test]
fn boxplot_has_exact_extremes_and_quartiles_within_the_sketch_error() {
    let a = aggs(json!({
        "b": {"boxplot": {"field": "bytes"}},
        "none": {"boxplot": {"field": "nope"}},
        "h": {"terms": {"field": "host", "order": {"b.q3": "desc"}},
              "aggs": {"b": {"boxplot": {"field": "bytes"}}}}
    }));
    let mut v: Vec<f64> = docs().iter().filter_map(bytes).collect();
    v.sort_by(f64::total_cmp);
    let b = &a["b"];
    assert_eq!(b["min"].as_f64(), Some(v[0]), "{b}");
    assert_eq!(b["max"].as_f64(), Some(v[v.len() - 1]), "{b}");
    // A quartile is within 1 % of the value, or one slice (0.5 %) of the ranks, of the exact one.
    for (key, q) in [("q1", 0.25), ("q2", 0.5), ("q3", 0.75)] {
        let got = b[key].as_f64().unwrap();
        let (lo, hi) = (quantile(&v, q - 0.005), quantile(&v, q + 0.005));
        assert!(
            got >= lo * 0.99 && got <= hi * 1.01,
            "{key}: {got} not within [{lo}, {hi}]"
        );
    }
    // Uniform-ish bytes: no outliers, so the whiskers are the extremes.
    assert_eq!(b["lower"], b["min"], "{b}");
    assert_eq!(b["upper"], b["max"], "{b}");
    assert_eq!(
        a["none"],
        json!({"min": null, "max": null, "q1": null, "q2": null, "q3": null, "lower": null, "upper": null})
    );
    let q3: Vec<f64> = a["h"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["b"]["q3"].as_f64().unwrap())
        .collect();
    assert!(q3.windows(2).all(|w| w[0] >= w[1]), "{q3:?}");
}

/// A field holding integers in one index and floats in another: tantivy's sorts compare the
/// columns' raw bits, so sorting on it is refused rather than answered wrongly.
#[test]
fn sorting_top_metrics_on_integers_and_floats_is_refused() {
    let docs = [
        json!({"@timestamp": "2015-05-17T10:00:00Z", "v": 3}),
        json!({"@timestamp": "2015-05-18T10:00:00Z", "v": 2.5}),
    ];
    let c = crate::testing::corpus("mixed", &docs, 1, None);
    let resp = c.search(
        "mixed",
        json!({"size": 0, "aggs": {"tm": {"top_metrics": {"metrics": {"field": "v"}, "sort": {"v": "desc"}}}}}),
    );
    assert!(
        resp["error"]
            .to_string()
            .contains("both integers and floats"),
        "{resp}"
    );
}

/// A `top_hits` sorted by a field no segment has: the hits, unsorted, never a crash (tantivy's
/// own `docvalue_fields` panic on a column a segment lacks, so Hydrant asks it for `_id` only).
#[test]
fn top_hits_sorted_by_a_field_no_document_has() {
    let resp = search(json!({"size": 0, "aggs": {
        "th": {"top_hits": {"sort": [{"nope": {"order": "asc"}}], "size": 2, "_source": ["method"]}}
    }}));
    let hits = resp["aggregations"]["th"]["hits"]["hits"]
        .as_array()
        .unwrap();
    assert_eq!(hits.len(), 2, "{resp}");
    assert_eq!(hits[0]["sort"], json!([null]), "{resp}");
}

/// Documents without the sort field come after the others (`_last`, ES's default) or before
/// them (`_first`), whatever the order.
#[test]
fn top_hits_put_documents_without_the_sort_field_where_missing_says() {
    let a = aggs(json!({
        "last": {"top_hits": {"sort": [{"bytes": {"order": "asc"}}], "size": 2, "_source": ["bytes"]}},
        "first": {"top_hits": {"sort": [{"bytes": {"order": "desc", "missing": "_first"}}, {"status": "asc"}], "size": 2, "_source": ["bytes"]}},
        "paged": {"top_hits": {"sort": [{"bytes": {"order": "desc"}}], "from": 1, "size": 1, "_source": ["bytes"]}}
    }));
    let mut v: Vec<f64> = docs().iter().filter_map(bytes).collect();
    v.sort_by(f64::total_cmp);
    let sorts = |name: &str| -> Vec<Value> {
        a[name]["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["sort"].clone())
            .collect()
    };
    let last = sorts("last");
    assert!(close(last[0][0].as_f64().unwrap(), v[0]), "{a}");
    assert!(close(last[1][0].as_f64().unwrap(), v[1]), "{a}");
    let first = sorts("first");
    assert!(first.iter().all(|s| s[0].is_null()), "{a}");
    let paged = sorts("paged");
    assert!(close(paged[0][0].as_f64().unwrap(), v[v.len() - 2]), "{a}");
}
