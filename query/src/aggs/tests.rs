//! Every aggregation against answers computed here, independently, from the same documents —
//! on a corpus spread over several daily indices of several shards each, so that every answer
//! is also a merge across shards and indices.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde_json::{Value, json};

use crate::testing::{Corpus, T0, corpus};

const N: usize = 600;
const MINUTE: i64 = 60_000;

/// A small deterministic generator (no dependency, same numbers everywhere).
pub(super) struct Lcg(pub(super) u64);

impl Lcg {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

pub(super) fn docs() -> &'static Vec<Value> {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let mut r = Lcg(42);
        (0..N)
            .map(|i| {
                let ts = T0 + i as i64 * 7 * MINUTE + (r.next() % 60_000) as i64;
                let status = [200, 200, 200, 304, 404, 500][(r.next() % 6) as usize];
                let method = ["GET", "POST", "PUT"][(r.next() % 3) as usize];
                let mut d = json!({
                    "@timestamp": DateTime::<Utc>::from_timestamp_millis(ts).unwrap().to_rfc3339(),
                    "status": status,
                    "method": method,
                    "host": format!("web-{}", r.next() % 7),
                    "msg": if status >= 500 { "disk full error" } else { "request served ok" },
                    "ok": status < 400,
                });
                // Integers and floats in one field, and documents without it.
                if i % 11 != 0 {
                    d["bytes"] = if i % 7 == 0 {
                        json!((r.next() % 50_000) as f64 + 0.5)
                    } else {
                        json!(r.next() % 50_000)
                    };
                }
                if i % 3 == 0 {
                    d["user"] = json!({"name": format!("user{}", i % 5)});
                }
                d
            })
            .collect()
    })
}

pub(super) fn shared() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| corpus("web", docs(), 2, None))
}

pub(super) fn ts(d: &Value) -> i64 {
    DateTime::parse_from_rfc3339(d["@timestamp"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

pub(super) fn bytes(d: &Value) -> Option<f64> {
    d.get("bytes").and_then(Value::as_f64)
}

pub(super) fn aggs(body: Value) -> Value {
    let resp = shared().search("web", body);
    assert!(resp.get("error").is_none(), "{resp}");
    resp["aggregations"].clone()
}

pub(super) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
fn corpus_spans_several_indices_and_shards() {
    let targets = shared().targets("web");
    let indices: BTreeSet<&str> = targets.iter().map(|t| t.index.name()).collect();
    assert!(indices.len() >= 3, "{indices:?}");
    assert!(targets.len() > indices.len(), "several shards per index");
}

#[test]
fn terms_counts_and_order_by_count() {
    let a = aggs(json!({"size": 0, "aggs": {"m": {"terms": {"field": "method"}}}}));
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for d in docs() {
        *want
            .entry(d["method"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let buckets = a["m"]["buckets"].as_array().unwrap();
    let got: BTreeMap<String, u64> = buckets
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let counts: Vec<u64> = buckets
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert_eq!(a["m"]["sum_other_doc_count"], json!(0));
    assert_eq!(a["m"]["doc_count_error_upper_bound"], json!(0));
}

#[test]
fn terms_size_reports_the_rest_in_sum_other_doc_count() {
    // Grafana sends numbers as strings.
    let a = aggs(
        json!({"size": 0, "aggs": {"h": {"terms": {"field": "host", "size": "2", "order": {"_key": "asc"}}}}}),
    );
    let mut hosts: BTreeMap<String, u64> = BTreeMap::new();
    for d in docs() {
        *hosts
            .entry(d["host"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let first_two: Vec<(String, u64)> = hosts.clone().into_iter().take(2).collect();
    let buckets = key_counts(&a["h"]);
    assert_eq!(buckets, first_two);
    let rest: u64 = hosts.values().sum::<u64>() - first_two.iter().map(|(_, c)| c).sum::<u64>();
    assert_eq!(a["h"]["sum_other_doc_count"], json!(rest));
}

#[test]
fn terms_on_numbers_ordered_by_a_sub_metric() {
    let a = aggs(json!({"size": 0, "aggs": {"s": {
        "terms": {"field": "status", "order": {"avg_bytes": "desc"}},
        "aggs": {"avg_bytes": {"avg": {"field": "bytes"}}}
    }}}));
    let mut sums: BTreeMap<i64, (f64, u64, u64)> = BTreeMap::new();
    for d in docs() {
        let e = sums.entry(d["status"].as_i64().unwrap()).or_default();
        e.2 += 1;
        if let Some(b) = bytes(d) {
            e.0 += b;
            e.1 += 1;
        }
    }
    let buckets = a["s"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), sums.len());
    let mut last = f64::MAX;
    for b in buckets {
        let key = b["key"].as_i64().unwrap();
        let (sum, n, count) = sums[&key];
        assert_eq!(b["doc_count"].as_u64().unwrap(), count);
        let avg = b["avg_bytes"]["value"].as_f64().unwrap();
        assert!(
            close(avg, sum / n as f64),
            "{key}: {avg} vs {}",
            sum / n as f64
        );
        assert!(avg <= last);
        last = avg;
    }
}

#[test]
fn metrics_read_integers_and_floats_of_one_field() {
    let a = aggs(json!({"size": 0, "aggs": {
        "avg": {"avg": {"field": "bytes"}},
        "sum": {"sum": {"field": "bytes"}},
        "min": {"min": {"field": "bytes"}},
        "max": {"max": {"field": "bytes"}},
        "count": {"value_count": {"field": "bytes"}},
        "stats": {"stats": {"field": "bytes"}},
        "ext": {"extended_stats": {"field": "bytes"}},
        "missing": {"sum": {"field": "bytes", "missing": 1}}
    }}));
    let values: Vec<f64> = docs().iter().filter_map(bytes).collect();
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    let min = values.iter().copied().fold(f64::MAX, f64::min);
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    let var = values.iter().map(|v| (v - sum / n).powi(2)).sum::<f64>() / n;
    assert!(close(a["avg"]["value"].as_f64().unwrap(), sum / n));
    assert!(close(a["sum"]["value"].as_f64().unwrap(), sum));
    assert!(close(a["min"]["value"].as_f64().unwrap(), min));
    assert!(close(a["max"]["value"].as_f64().unwrap(), max));
    assert_eq!(a["count"]["value"], json!(values.len()));
    assert_eq!(a["stats"]["count"], json!(values.len()));
    assert!(close(a["stats"]["sum"].as_f64().unwrap(), sum));
    assert!(close(a["ext"]["variance"].as_f64().unwrap(), var));
    assert!(close(
        a["ext"]["std_deviation"].as_f64().unwrap(),
        var.sqrt()
    ));
    let missing = (N - values.len()) as f64;
    assert!(close(
        a["missing"]["value"].as_f64().unwrap(),
        sum + missing
    ));
}

#[test]
fn booleans_are_zero_and_one_in_numeric_aggregations() {
    let a = aggs(json!({"size": 0, "aggs": {
        "share": {"avg": {"field": "ok"}},
        "oks": {"sum": {"field": "ok"}},
        "h": {"histogram": {"field": "ok", "interval": 1}}
    }}));
    let oks = docs().iter().filter(|d| d["ok"] == json!(true)).count();
    assert!(close(
        a["share"]["value"].as_f64().unwrap(),
        oks as f64 / N as f64
    ));
    assert!(close(a["oks"]["value"].as_f64().unwrap(), oks as f64));
    let got: Vec<(f64, u64)> = a["h"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_f64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, vec![(0.0, (N - oks) as u64), (1.0, oks as u64)]);
}

#[test]
fn min_max_of_dates_have_value_as_string() {
    let a = aggs(json!({"size": 0, "aggs": {
        "first": {"min": {"field": "@timestamp"}},
        "last": {"max": {"field": "@timestamp", "format": "epoch_millis"}}
    }}));
    let first = docs().iter().map(ts).min().unwrap();
    let last = docs().iter().map(ts).max().unwrap();
    assert_eq!(a["first"]["value"].as_f64().unwrap() as i64, first);
    assert_eq!(
        a["first"]["value_as_string"],
        json!(
            DateTime::<Utc>::from_timestamp_millis(first)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        )
    );
    assert_eq!(a["last"]["value_as_string"], json!(last.to_string()));
}

#[test]
fn date_histogram_fixed_interval_with_epoch_millis_and_extended_bounds() {
    let lo = T0 - 3 * 3_600_000;
    let hi = docs().iter().map(ts).max().unwrap() + 2 * 3_600_000;
    let a = aggs(json!({"size": 0, "aggs": {"t": {"date_histogram": {
        "field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 0,
        "extended_bounds": {"min": lo, "max": hi}, "format": "epoch_millis"
    }}}}));
    let mut want: BTreeMap<i64, u64> = BTreeMap::new();
    let hour = 3_600_000;
    let mut k = lo.div_euclid(hour) * hour;
    while k <= hi {
        want.insert(k, 0);
        k += hour;
    }
    for d in docs() {
        *want.get_mut(&(ts(d).div_euclid(hour) * hour)).unwrap() += 1;
    }
    let got: BTreeMap<i64, u64> = a["t"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(
                b["key_as_string"],
                json!(b["key"].as_i64().unwrap().to_string())
            );
            (b["key"].as_i64().unwrap(), b["doc_count"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn date_histogram_calendar_days_in_a_time_zone() {
    let a = aggs(json!({"size": 0, "aggs": {"d": {"date_histogram": {
        "field": "@timestamp", "calendar_interval": "1d", "time_zone": "America/New_York",
        "min_doc_count": 1
    }}}}));
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for d in docs() {
        let local = Utc.timestamp_millis_opt(ts(d)).unwrap().with_timezone(&tz);
        let day = tz
            .with_ymd_and_hms(local.year(), local.month(), local.day(), 0, 0, 0)
            .unwrap();
        *want
            .entry(day.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string())
            .or_default() += 1;
    }
    let got = crate::testing::bucket_counts(&a["d"]["buckets"], "key_as_string");
    assert_eq!(got, want);
}

#[test]
fn date_histogram_calendar_month_and_week() {
    let a = aggs(json!({"size": 0, "aggs": {
        "m": {"date_histogram": {"field": "@timestamp", "calendar_interval": "month"}},
        "w": {"date_histogram": {"field": "@timestamp", "calendar_interval": "1w", "format": "yyyy-MM-dd"}}
    }}));
    assert_eq!(a["m"]["buckets"].as_array().unwrap().len(), 1);
    assert_eq!(
        a["m"]["buckets"][0]["key_as_string"],
        json!("2015-05-01T00:00:00.000Z")
    );
    assert_eq!(a["m"]["buckets"][0]["doc_count"], json!(N));
    // 2015-05-17 is a Sunday: its week starts Monday the 11th; the rest is in the next week.
    let sunday_end = Utc
        .with_ymd_and_hms(2015, 5, 18, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    let first_week = docs().iter().filter(|d| ts(d) < sunday_end).count();
    let w = a["w"]["buckets"].as_array().unwrap();
    assert_eq!(w[0]["key_as_string"], json!("2015-05-11"));
    assert_eq!(w[0]["doc_count"], json!(first_week));
    assert_eq!(w[1]["key_as_string"], json!("2015-05-18"));
    assert_eq!(w[1]["doc_count"], json!(N - first_week));
}

#[test]
fn histogram_fills_gaps_and_range_counts_overlapping_ranges() {
    let a = aggs(json!({"size": 0, "aggs": {
        "h": {"histogram": {"field": "bytes", "interval": 10000}},
        "r": {"range": {"field": "bytes", "ranges": [{"to": 10000}, {"from": 5000, "to": 20000}, {"from": 40000}]}}
    }}));
    let mut want: BTreeMap<i64, u64> = BTreeMap::new();
    for b in docs().iter().filter_map(bytes) {
        *want
            .entry((b / 10000.0).floor() as i64 * 10000)
            .or_default() += 1;
    }
    let got: BTreeMap<i64, u64> = a["h"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_f64().unwrap() as i64,
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let count = |lo: f64, hi: f64| {
        docs()
            .iter()
            .filter_map(bytes)
            .filter(|b| *b >= lo && *b < hi)
            .count()
    };
    let r = a["r"]["buckets"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(r[0]["key"], json!("*-10000.0"));
    assert_eq!(r[0]["doc_count"], json!(count(f64::MIN, 10000.0)));
    assert_eq!(r[1]["key"], json!("5000.0-20000.0"));
    assert_eq!(r[1]["doc_count"], json!(count(5000.0, 20000.0)));
    assert_eq!(r[2]["doc_count"], json!(count(40000.0, f64::MAX)));
}

#[test]
fn date_range_with_date_math_and_keys() {
    let a = aggs(json!({"size": 0, "aggs": {"r": {"date_range": {
        "field": "@timestamp", "format": "yyyy-MM-dd",
        "ranges": [{"to": "2015-05-18"}, {"key": "later", "from": "2015-05-18||+1d"}]
    }}}}));
    let day18 = Utc
        .with_ymd_and_hms(2015, 5, 18, 0, 0, 0)
        .unwrap()
        .timestamp_millis();
    let r = a["r"]["buckets"].as_array().unwrap();
    assert_eq!(r[0]["key"], json!("*-2015-05-18"));
    assert_eq!(r[0]["to_as_string"], json!("2015-05-18"));
    assert_eq!(
        r[0]["doc_count"],
        json!(docs().iter().filter(|d| ts(d) < day18).count())
    );
    assert_eq!(r[1]["key"], json!("later"));
    assert_eq!(
        r[1]["doc_count"],
        json!(
            docs()
                .iter()
                .filter(|d| ts(d) >= day18 + 86_400_000)
                .count()
        )
    );
}

#[test]
fn filter_and_filters_with_other_bucket() {
    let a = aggs(json!({"size": 0, "aggs": {
        "errors": {"filter": {"range": {"status": {"gte": 500}}}, "aggs": {"n": {"value_count": {"field": "status"}}}},
        "f": {"filters": {"other_bucket_key": "rest", "filters": {
            "get": {"term": {"method": "GET"}},
            "disk": {"match": {"msg": "disk"}}
        }}}
    }}));
    let errors = docs()
        .iter()
        .filter(|d| d["status"].as_i64().unwrap() >= 500)
        .count();
    assert_eq!(a["errors"]["doc_count"], json!(errors));
    assert_eq!(a["errors"]["n"]["value"], json!(errors));
    let get = docs().iter().filter(|d| d["method"] == "GET").count();
    let disk = docs()
        .iter()
        .filter(|d| d["msg"].as_str().unwrap().contains("disk"))
        .count();
    let rest = docs()
        .iter()
        .filter(|d| d["method"] != "GET" && !d["msg"].as_str().unwrap().contains("disk"))
        .count();
    assert_eq!(a["f"]["buckets"]["get"]["doc_count"], json!(get));
    assert_eq!(a["f"]["buckets"]["disk"]["doc_count"], json!(disk));
    assert_eq!(a["f"]["buckets"]["rest"]["doc_count"], json!(rest));
}

#[test]
fn cardinality_and_percentiles() {
    let a = aggs(json!({"size": 0, "aggs": {
        "hosts": {"cardinality": {"field": "host"}},
        "users": {"cardinality": {"field": "user.name"}},
        "p": {"percentiles": {"field": "bytes", "percents": [50, 99]}}
    }}));
    let hosts: BTreeSet<&str> = docs().iter().map(|d| d["host"].as_str().unwrap()).collect();
    assert_eq!(a["hosts"]["value"], json!(hosts.len()));
    let users: BTreeSet<&str> = docs()
        .iter()
        .filter_map(|d| d["user"]["name"].as_str())
        .collect();
    assert_eq!(a["users"]["value"], json!(users.len()));
    let mut values: Vec<f64> = docs().iter().filter_map(bytes).collect();
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    let got = a["p"]["values"]["50.0"].as_f64().unwrap();
    assert!((got - median).abs() / median < 0.03, "{got} vs {median}");
    assert!(a["p"]["values"]["99.0"].as_f64().is_some());
}

#[test]
fn top_hits_bring_the_newest_source_of_each_bucket() {
    let a = aggs(json!({"size": 0, "aggs": {"m": {
        "terms": {"field": "method"},
        "aggs": {"last": {"top_hits": {"size": 1, "sort": [{"@timestamp": {"order": "desc"}}], "_source": ["status", "@timestamp"]}}}
    }}}));
    for b in a["m"]["buckets"].as_array().unwrap() {
        let method = b["key"].as_str().unwrap();
        let newest = docs()
            .iter()
            .filter(|d| d["method"] == method)
            .max_by_key(|d| ts(d))
            .unwrap();
        let hit = &b["last"]["hits"]["hits"][0];
        assert_eq!(
            hit["_source"],
            json!({"status": newest["status"], "@timestamp": newest["@timestamp"]})
        );
        assert_eq!(hit["sort"], json!([ts(newest)]));
        assert_eq!(b["last"]["hits"]["total"]["value"], b["doc_count"]);
        assert!(hit["_index"].as_str().unwrap().starts_with("web-"));
    }
}

#[test]
fn sub_aggregations_nest_three_deep() {
    let a = aggs(json!({"size": 0, "aggs": {"m": {
        "terms": {"field": "method"},
        "aggs": {"d": {
            "date_histogram": {"field": "@timestamp", "calendar_interval": "day"},
            "aggs": {"s": {"terms": {"field": "status"}, "aggs": {"b": {"sum": {"field": "bytes"}}}}}
        }}
    }}}));
    let mut want: BTreeMap<(String, i64, i64), (u64, f64)> = BTreeMap::new();
    for d in docs() {
        let day = ts(d).div_euclid(86_400_000) * 86_400_000;
        let e = want
            .entry((
                d["method"].as_str().unwrap().into(),
                day,
                d["status"].as_i64().unwrap(),
            ))
            .or_default();
        e.0 += 1;
        e.1 += bytes(d).unwrap_or(0.0);
    }
    let mut got: BTreeMap<(String, i64, i64), (u64, f64)> = BTreeMap::new();
    for m in a["m"]["buckets"].as_array().unwrap() {
        for d in m["d"]["buckets"].as_array().unwrap() {
            for s in d["s"]["buckets"].as_array().unwrap() {
                got.insert(
                    (
                        m["key"].as_str().unwrap().into(),
                        d["key"].as_i64().unwrap(),
                        s["key"].as_i64().unwrap(),
                    ),
                    (
                        s["doc_count"].as_u64().unwrap(),
                        s["b"]["value"].as_f64().unwrap(),
                    ),
                );
            }
        }
    }
    assert_eq!(got.len(), want.len());
    for (k, (n, sum)) in &want {
        let (gn, gsum) = got[k];
        assert_eq!(gn, *n, "{k:?}");
        assert!(close(gsum, *sum), "{k:?}");
    }
}

#[test]
fn aggregations_see_the_query_and_meta_is_echoed() {
    let a = aggs(json!({"size": 0, "query": {"term": {"method": "PUT"}},
        "aggs": {"c": {"value_count": {"field": "method"}, "meta": {"panel": 3}}}}));
    let puts = docs().iter().filter(|d| d["method"] == "PUT").count();
    assert_eq!(a["c"]["value"], json!(puts));
    assert_eq!(a["c"]["meta"], json!({"panel": 3}));
}

#[test]
fn unsupported_aggregations_say_which() {
    let resp = shared().search(
        "web",
        json!({"aggs": {"g": {"geo_line": {"point": {"field": "x"}}}}}),
    );
    assert_eq!(resp["status"], json!(400));
    assert_eq!(
        resp["error"]["reason"],
        json!("aggregation type [geo_line] is not supported")
    );
    let resp = shared().search("web", json!({"aggs": {"g": {"avg": {"field": "bytes"}, "aggs": {"x": {"sum": {"field": "bytes"}}}}}}));
    assert_eq!(resp["error"]["type"], json!("parsing_exception"));
    let resp = shared().search("web", json!({"aggs": {"g": {"avg": {"field": "method"}}}}));
    assert_eq!(
        resp["error"]["type"],
        json!("illegal_argument_exception"),
        "{resp}"
    );
}

#[test]
fn too_many_buckets_is_a_typed_error() {
    let resp = shared().search(
        "web",
        json!({"size": 0, "aggs": {"t": {"date_histogram": {
            "field": "@timestamp", "fixed_interval": "1ms", "min_doc_count": 0,
            "extended_bounds": {"min": T0, "max": T0 + 86_400_000}
        }}}}),
    );
    assert_eq!(
        resp["error"]["type"],
        json!("too_many_buckets_exception"),
        "{resp}"
    );
    assert_eq!(resp["status"], json!(400));
    // Without bounds the gaps of the data alone are too many: the memory budget stops it.
    let resp = shared().search(
        "web",
        json!({"size": 0, "aggs": {"t": {"date_histogram": {
            "field": "@timestamp", "fixed_interval": "1ms", "min_doc_count": 0
        }}}}),
    );
    assert_eq!(
        resp["error"]["type"],
        json!("circuit_breaking_exception"),
        "{resp}"
    );
    assert_eq!(resp["status"], json!(429));
    let resp = shared().search(
        "web",
        json!({"size": 0, "aggs": {"t": {"date_histogram": {
            "field": "@timestamp", "calendar_interval": "1m", "time_zone": "Europe/Paris",
            "min_doc_count": 0, "extended_bounds": {"min": 0, "max": T0}
        }}}}),
    );
    assert_eq!(
        resp["error"]["type"],
        json!("too_many_buckets_exception"),
        "{resp}"
    );
    assert_eq!(resp["status"], json!(400));
}

mod fused;
mod fused_terms;
mod geo;
mod more;
mod top;
mod whole_terms;

/// `(key, doc_count)` of each bucket of a rendered bucket aggregation with string keys.
pub(super) fn key_counts(agg: &Value) -> Vec<(String, u64)> {
    agg["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets: {agg}"))
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}
