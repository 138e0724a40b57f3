//! `weighted_avg`, `percentile_ranks`, `median_absolute_deviation`, `auto_date_histogram`,
//! `rare_terms`, `significant_terms`, `adjacency_matrix`, date percentiles and the fields of
//! `top_hits` against answers computed here from the same documents (integers and floats
//! mixed in `bytes`, some without it).

use serde_json::json;

use serde_json::Value;

use super::{bytes, close, docs, ts};

/// The aggregations of a `size: 0` search with these.
fn aggs(a: Value) -> Value {
    super::aggs(json!({"size": 0, "aggs": a}))
}

fn status(d: &serde_json::Value) -> f64 {
    d["status"].as_f64().unwrap()
}

#[test]
fn weighted_avg_sums_products_over_documents_with_both() {
    let got = aggs(json!({
        "w": {"weighted_avg": {"value": {"field": "bytes"}, "weight": {"field": "status"}}},
        "m": {"weighted_avg": {"value": {"field": "bytes", "missing": 10}, "weight": {"field": "status"}}}
    }));
    let (mut num, mut den) = (0.0, 0.0);
    let (mut num_m, mut den_m) = (0.0, 0.0);
    for d in docs() {
        let w = status(d);
        if let Some(b) = bytes(d) {
            num += b * w;
            den += w;
        }
        num_m += bytes(d).unwrap_or(10.0) * w;
        den_m += w;
    }
    let w = got["w"]["value"].as_f64().unwrap();
    assert!(close(w, num / den), "{w} vs {}", num / den);
    let m = got["m"]["value"].as_f64().unwrap();
    assert!(close(m, num_m / den_m), "{m} vs {}", num_m / den_m);
    // No weight anywhere: no value, as ES shows its NaN.
    let none = aggs(
        json!({"w": {"weighted_avg": {"value": {"field": "bytes"}, "weight": {"field": "nope"}}}}),
    );
    assert!(none["w"]["value"].is_null(), "{none}");
}

#[test]
fn percentile_ranks_count_values_at_or_below() {
    // 25_000.25 sits between integers; 200 and 304 are values many documents share.
    let got = aggs(
        json!({"r": {"percentile_ranks": {"field": "bytes", "values": [25000.25, 0, 60000]}},
                          "s": {"percentile_ranks": {"field": "status", "values": [200, 304]}}}),
    );
    let values: Vec<f64> = docs().iter().filter_map(bytes).collect();
    let rank = |x: f64, vs: &[f64]| {
        vs.iter().filter(|v| **v <= x).count() as f64 * 100.0 / vs.len() as f64
    };
    for (key, x) in [("25000.25", 25000.25), ("0.0", 0.0), ("60000.0", 60000.0)] {
        let r = got["r"]["values"][key].as_f64().unwrap();
        assert!(
            close(r, rank(x, &values)),
            "{key}: {r} vs {}",
            rank(x, &values)
        );
    }
    let statuses: Vec<f64> = docs().iter().map(status).collect();
    for (key, x) in [("200.0", 200.0), ("304.0", 304.0)] {
        let r = got["s"]["values"][key].as_f64().unwrap();
        assert!(close(r, rank(x, &statuses)), "{key}: {r}");
    }
}

#[test]
fn median_absolute_deviation_is_within_the_sketch_error() {
    let got = aggs(json!({"m": {"median_absolute_deviation": {"field": "bytes"}}}));
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n.is_multiple_of(2) {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        } else {
            v[n / 2]
        }
    };
    let values: Vec<f64> = docs().iter().filter_map(bytes).collect();
    let m = median(values.clone());
    let expected = median(values.iter().map(|v| (v - m).abs()).collect());
    let mad = got["m"]["value"].as_f64().unwrap();
    assert!(
        (mad - expected).abs() <= 0.03 * expected,
        "{mad} vs {expected}"
    );
}

#[test]
fn auto_date_histogram_buckets_cover_every_document_once() {
    let got = aggs(
        json!({"a": {"auto_date_histogram": {"field": "@timestamp", "buckets": 7},
                                "aggs": {"b": {"sum": {"field": "bytes"}}}}}),
    );
    let buckets = got["a"]["buckets"].as_array().unwrap();
    assert!(!buckets.is_empty() && buckets.len() <= 7, "{got}");
    let keys: Vec<i64> = buckets.iter().map(|b| b["key"].as_i64().unwrap()).collect();
    let interval = got["a"]["interval"].as_str().unwrap();
    let width = keys.get(1).map_or(i64::MAX, |k| k - keys[0]);
    for (i, b) in buckets.iter().enumerate() {
        let end = keys.get(i + 1).copied().unwrap_or(keys[i] + width);
        let inside: Vec<_> = docs()
            .iter()
            .filter(|d| (keys[i]..end).contains(&ts(d)))
            .collect();
        assert_eq!(
            b["doc_count"].as_u64().unwrap() as usize,
            inside.len(),
            "{interval} {b}"
        );
        let sum: f64 = inside.iter().filter_map(|d| bytes(d)).sum();
        assert!(close(b["b"]["value"].as_f64().unwrap(), sum), "{b}");
    }
    let total: u64 = buckets
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, docs().len());
}

#[test]
fn rare_terms_keep_the_values_few_documents_hold() {
    let got = aggs(json!({"r": {"rare_terms": {"field": "user.name", "max_doc_count": 45}}}));
    let mut counts = std::collections::BTreeMap::<String, u64>::new();
    for d in docs() {
        if let Some(name) = d["user"]["name"].as_str() {
            *counts.entry(name.to_string()).or_default() += 1;
        }
    }
    let mut expected: Vec<(u64, String)> = counts
        .into_iter()
        .filter(|(_, c)| *c <= 45)
        .map(|(k, c)| (c, k))
        .collect();
    expected.sort();
    let got: Vec<(u64, String)> = got["r"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["doc_count"].as_u64().unwrap(),
                b["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(!got.is_empty());
    assert_eq!(got, expected);
}

#[test]
fn adjacency_matrix_counts_each_filter_and_each_pair() {
    let got = aggs(json!({"m": {"adjacency_matrix": {"filters": {
        "ok": {"term": {"ok": true}},
        "post": {"term": {"method": "POST"}},
        "err": {"term": {"status": 500}}
    }}}}));
    let ok = |d: &Value| d["ok"].as_bool() == Some(true);
    let post = |d: &Value| d["method"] == "POST";
    let err = |d: &Value| d["status"] == 500;
    let count = |f: &dyn Fn(&Value) -> bool| docs().iter().filter(|d| f(d)).count() as u64;
    let mut expected = vec![
        ("err".to_string(), count(&err)),
        ("err&ok".to_string(), count(&|d| err(d) && ok(d))),
        ("err&post".to_string(), count(&|d| err(d) && post(d))),
        ("ok".to_string(), count(&ok)),
        ("ok&post".to_string(), count(&|d| ok(d) && post(d))),
        ("post".to_string(), count(&post)),
    ];
    // A 500 is never ok: that cell is empty and left out.
    expected.retain(|(_, c)| *c > 0);
    let got = super::key_counts(&got["m"]);
    assert_eq!(got, expected);
    assert!(!got.iter().any(|(k, _)| k == "err&ok"));
}

#[test]
fn significant_terms_score_foreground_against_every_document() {
    let got = aggs(json!({"f": {"filter": {"term": {"status": 500}},
        "aggs": {"s": {"significant_terms": {"field": "host", "min_doc_count": 1, "size": 100}}}}}));
    let s = &got["f"]["s"];
    let fg: Vec<&Value> = docs().iter().filter(|d| d["status"] == 500).collect();
    assert_eq!(s["doc_count"].as_u64().unwrap() as usize, fg.len());
    assert_eq!(s["bg_count"].as_u64().unwrap() as usize, docs().len());
    let count =
        |set: &[&Value], host: &str| set.iter().filter(|d| d["host"] == host).count() as f64;
    let all: Vec<&Value> = docs().iter().collect();
    let buckets = s["buckets"].as_array().unwrap();
    assert!(!buckets.is_empty(), "{s}");
    let mut last = f64::INFINITY;
    for b in buckets {
        let host = b["key"].as_str().unwrap();
        let (f, g) = (count(&fg, host), count(&all, host));
        let (fp, gp) = (f / fg.len() as f64, g / all.len() as f64);
        let jlh = (fp - gp) * (fp / gp);
        let score = b["score"].as_f64().unwrap();
        assert!(close(score, jlh), "{host}: {score} vs {jlh}");
        assert!(score > 0.0 && score <= last, "best first: {s}");
        last = score;
        assert_eq!(b["bg_count"].as_f64().unwrap(), g);
    }
}

#[test]
fn histograms_put_documents_without_a_value_on_missing() {
    let got = aggs(json!({
        "h": {"histogram": {"field": "bytes", "interval": 10000, "missing": 75000, "format": "#,##0.0"}},
        "d": {"date_histogram": {"field": "user.age", "fixed_interval": "1d", "missing": "2026-01-01"}}
    }));
    let without = docs().iter().filter(|d| bytes(d).is_none()).count() as u64;
    assert!(without > 0);
    let buckets = got["h"]["buckets"].as_array().unwrap();
    let last = buckets.last().unwrap();
    assert_eq!(
        (last["key"].as_f64(), last["doc_count"].as_u64()),
        (Some(70000.0), Some(without))
    );
    assert_eq!(last["key_as_string"], "70,000.0");
    let total: u64 = buckets
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, docs().len());
    // No document has the field: every one falls on the missing date.
    let days = got["d"]["buckets"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{got}");
    assert_eq!(days[0]["key_as_string"], "2026-01-01T00:00:00.000Z");
    assert_eq!(
        days[0]["doc_count"].as_u64().unwrap() as usize,
        docs().len()
    );
}

/// Percentiles of a date: close to the exact order statistic (sketched after the span's start,
/// not as nanoseconds since 1970, where 1% is months), and written as dates too.
#[test]
fn percentiles_of_a_date_are_dates_close_to_the_exact_ones() {
    let a = aggs(json!({"p": {"percentiles": {"field": "@timestamp", "percents": [50, 90]}}}));
    let mut times: Vec<i64> = docs().iter().map(ts).collect();
    times.sort_unstable();
    let span = (times[times.len() - 1] - times[0]) as f64;
    for (pct, key) in [(0.5, "50.0"), (0.9, "90.0")] {
        let exact = times[((times.len() - 1) as f64 * pct) as usize] as f64;
        let got = a["p"]["values"][key].as_f64().unwrap();
        assert!(
            (got - exact).abs() <= 0.02 * span,
            "{key}: {got} vs {exact} (span {span})"
        );
        let text = a["p"]["values"][format!("{key}_as_string")]
            .as_str()
            .unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis();
        assert_eq!(parsed, got as i64, "{text}");
    }
}

/// `top_hits` with `docvalue_fields` and `fields` and no `_source`: each hit shows the values
/// asked for, as a search hit does.
#[test]
fn top_hits_show_docvalue_fields_and_fields() {
    let a = aggs(json!({"m": {
        "terms": {"field": "method"},
        "aggs": {"last": {"top_hits": {
            "size": 1,
            "sort": [{"@timestamp": {"order": "desc"}}],
            "_source": false,
            "docvalue_fields": ["status"],
            "fields": ["method"]
        }}}
    }}));
    for b in a["m"]["buckets"].as_array().unwrap() {
        let method = b["key"].as_str().unwrap();
        let newest = docs()
            .iter()
            .filter(|d| d["method"] == method)
            .max_by_key(|d| ts(d))
            .unwrap();
        let hit = &b["last"]["hits"]["hits"][0];
        assert!(hit.get("_source").is_none(), "{hit}");
        assert_eq!(
            hit["fields"],
            json!({"status": [newest["status"]], "method": [method]}),
            "{hit}"
        );
    }
}

/// A dynamic date field some segments lack: every segment reads it as dates (none as an
/// empty column of integers), so the keys stay epoch milliseconds whichever segment's result
/// the merge starts from.
#[test]
fn date_histogram_on_a_dynamic_date_field_some_segments_lack() {
    let without: Vec<Value> = (0..5)
        .map(|i| json!({"@timestamp": format!("2015-05-17T10:0{i}:00Z"), "n": i}))
        .collect();
    let with: Vec<Value> = (0..5)
        .map(|i| json!({"@timestamp": format!("2015-05-17T11:0{i}:00Z"), "when": format!("2026-03-29T0{i}:30:00Z")}))
        .collect();
    let c = crate::testing::corpus("segs", &without, 1, None);
    c.append(&with);
    c.append(&without);
    for interval in [
        json!({"fixed_interval": "1h"}),
        json!({"calendar_interval": "1d", "time_zone": "Europe/Berlin"}),
    ] {
        let mut dh = json!({"field": "when", "min_doc_count": 1});
        dh.as_object_mut()
            .unwrap()
            .extend(interval.as_object().unwrap().clone());
        let resp = c.search(
            "segs",
            json!({"size": 0, "aggs": {"h": {"date_histogram": dh}}}),
        );
        let buckets = resp["aggregations"]["h"]["buckets"].as_array().unwrap();
        assert!(!buckets.is_empty(), "{resp}");
        for b in buckets {
            let key = b["key"].as_i64().unwrap();
            assert!(
                (1_774_000_000_000..1_775_000_000_000).contains(&key),
                "{resp}"
            );
        }
    }
}

/// A value that is never among a segment's first `size × 10` but is the most frequent over
/// all of them: six segments, each with 40 values of its own (6 documents each) and `winner`
/// (5 documents each). Cut per segment, `winner` would vanish; counted whole, it is first.
#[test]
fn terms_are_exact_when_segments_hold_few_distinct_values() {
    let segment = |k: usize| -> Vec<Value> {
        let mut docs = Vec::new();
        for j in 0..40 {
            for _ in 0..6 {
                docs.push(json!({"@timestamp": format!("2015-05-17T1{k}:00:00Z"), "v": format!("s{k}-{j:02}"), "w": "x"}));
            }
        }
        for _ in 0..5 {
            docs.push(
                json!({"@timestamp": format!("2015-05-17T1{k}:30:00Z"), "v": "winner", "w": "x"}),
            );
        }
        docs
    };
    let c = crate::testing::corpus("cut", &segment(0), 1, None);
    for k in 1..6 {
        c.append(&segment(k));
    }
    for field in ["v", "v.keyword"] {
        let resp = c.search(
            "cut",
            json!({"size": 0, "aggs": {"t": {"terms": {"field": field, "size": 1}}}}),
        );
        let t = &resp["aggregations"]["t"];
        assert_eq!(
            t["buckets"],
            json!([{"key": "winner", "doc_count": 30}]),
            "{resp}"
        );
        assert_eq!(t["doc_count_error_upper_bound"], json!(0), "{resp}");
        assert_eq!(t["sum_other_doc_count"], json!(6 * 245 - 30), "{resp}");
    }
    // The same for pairs: each segment has at most (41 + 1) × (1 + 1) combinations.
    let resp = c.search(
        "cut",
        json!({"size": 0, "aggs": {"m": {"multi_terms": {"terms": [{"field": "v"}, {"field": "w"}], "size": 1}}}}),
    );
    let m = &resp["aggregations"]["m"];
    assert_eq!(m["buckets"][0]["key"], json!(["winner", "x"]), "{resp}");
    assert_eq!(m["buckets"][0]["doc_count"], json!(30), "{resp}");
    assert_eq!(m["doc_count_error_upper_bound"], json!(0), "{resp}");
}
