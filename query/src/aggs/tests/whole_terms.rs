//! `terms` counted from the columns of segments the query matches whole, against tantivy's
//! collector on the same segments and against counts made here.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use hydrant_config::{FieldType, MappingConfig, MappingMode};
use serde_json::{Value, json};

use crate::aggs::fused::{ENABLED, USED};
use crate::testing::{Corpus, T0, corpus};

const HOUR: i64 = 3_600_000;

fn docs() -> &'static Vec<Value> {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        (0..1200i64)
            .map(|i| {
                // Over 40 hours: two daily indices, three commits each.
                let ts = T0 + (i * 40 / 1200) * HOUR + i;
                let mut d = json!({
                    "@timestamp": DateTime::<Utc>::from_timestamp_millis(ts).unwrap().to_rfc3339(),
                    "kw": format!("k{}", i % 4),
                });
                if i % 7 != 0 {
                    d["svc"] = json!(["api", "web", "db", "queue", "auth"][(i % 5) as usize]);
                }
                // Enough distinct values for the sketch to leave its exact modes; and a
                // field of several values per document.
                d["uid"] = json!(format!("u{}", (i * 7919) % 977));
                if i % 3 == 0 {
                    d["tags"] = json!([format!("t{}", i % 11), format!("t{}", i % 13 + 20)]);
                }
                // Numbers for `percentiles`: integers of a narrow range, integers too wide to
                // count per value, floats of both signs and zero, several values per document,
                // and floats whose magnitudes span more bins than the sketch keeps.
                d["lat"] = json!((i * 37) % 500);
                d["wide"] = json!((i - 600) * 1_000_003);
                d["ratio"] = json!((i % 101) as f64 / 7.3 - 5.0);
                if i % 4 == 0 {
                    d["lats"] = json!([i % 50, i % 70 + 100]);
                }
                // Tenths of both signs (counted per value), and tenths until a value with more
                // decimals, which is added as it is.
                d["tenths"] = json!(((i * 37) % 900) as f64 / 10.0 - 20.0);
                d["mostly"] = json!(if i % 97 == 50 {
                    i as f64 / 7.3
                } else {
                    (i % 300) as f64 / 10.0
                });
                // Both zeros as the least value, `0.0` met first in some segments and `-0.0`
                // in others (the sketch keeps the first of equal minima).
                d["zeros"] = json!(match i % 6 {
                    0 if i % 400 < 200 => 0.0,
                    0 => -0.0,
                    3 => -0.0,
                    k => k as f64 / 10.0,
                });
                d["span"] = json!(if i % 2 == 0 { 1.5e-12 } else { 1.5e27 });
                if i == 600 {
                    // Longer than an exact value is kept: in neither the column nor the index.
                    d["svc"] = json!("x".repeat(300));
                }
                d
            })
            .collect()
    })
}

fn whole_corpus() -> &'static Corpus {
    static C: OnceLock<Corpus> = OnceLock::new();
    C.get_or_init(|| {
        let all = docs();
        let mapping = MappingConfig {
            mode: MappingMode::Dynamic,
            fields: vec![("kw".to_string(), FieldType::Keyword)],
        };
        let c = corpus("dt", &all[..400], 2, Some(mapping));
        c.append(&all[400..800]);
        c.append(&all[800..]);
        // One segment has a deleted document: it is collected as usual.
        let index = c.targets("dt")[0].index.name().to_string();
        c.delete(&index, "doc00003");
        c
    })
}

fn run(body: &Value, whole: bool) -> Value {
    ENABLED.with(|e| e.set(whole));
    let mut out = whole_corpus().search("dt", body.clone());
    ENABLED.with(|e| e.set(true));
    out.as_object_mut().unwrap().remove("took");
    out
}

/// Segments whose `terms` named `name` was counted from the column (each test names its
/// own, since tests run side by side).
fn used(name: &str) -> u64 {
    USED.lock()
        .get(&format!("whole:{name}"))
        .copied()
        .unwrap_or(0)
}

#[test]
fn terms_of_whole_segments_answer_as_the_collector_does() {
    let second = DateTime::<Utc>::from_timestamp_millis(T0 + 24 * HOUR)
        .unwrap()
        .to_rfc3339();
    let bodies = [
        json!({"size": 0, "aggs": {"wt1": {"terms": {"field": "svc"}}}}),
        json!({"size": 0, "aggs": {"wt1": {"terms": {"field": "svc.keyword", "size": 2}}}}),
        json!({"size": 0, "aggs": {"wt1": {"terms": {"field": "kw", "order": {"_key": "desc"}}}}}),
        json!({"size": 0, "track_total_hits": true, "query": {"bool": {"filter": [{"range": {"@timestamp": {"gte": second}}}]}},
               "aggs": {"wt1": {"terms": {"field": "svc"}}}}),
        json!({"size": 0, "query": {"range": {"@timestamp": {"lt": second}}}, "aggs": {"wt1": {"terms": {"field": "kw", "size": 1}}}}),
    ];
    for body in &bodies {
        let before = used("wt1");
        let fast = run(body, true);
        assert!(used("wt1") > before, "counted from the column for {body}");
        let slow = run(body, false);
        assert_eq!(fast, slow, "{body}");
    }
    // An order by a sub-aggregation it does not have is the client's error, as without it.
    let bad =
        json!({"size": 0, "aggs": {"wt1": {"terms": {"field": "svc", "order": {"nope": "desc"}}}}});
    // (On the day without deletions, where every segment is whole.)
    let targets = whole_corpus().targets("dt");
    let day2 = targets.last().unwrap().index.name().to_string();
    let err = whole_corpus().try_search(&day2, bad).unwrap_err();
    assert_eq!(err.status().as_u16(), 400, "{err:?}");
    // Not taken: a filter on another field, hits wanted, a sub-aggregation.
    for body in [
        json!({"size": 0, "query": {"term": {"kw": "k1"}}, "aggs": {"wt1": {"terms": {"field": "svc"}}}}),
        json!({"size": 1, "aggs": {"wt1": {"terms": {"field": "svc"}}}}),
        json!({"size": 0, "aggs": {"wt1": {"terms": {"field": "svc"}, "aggs": {"k": {"terms": {"field": "kw"}}}}}}),
    ] {
        let before = used("wt1");
        let fast = run(&body, true);
        assert_eq!(used("wt1"), before, "not read for {body}");
        assert_eq!(fast, run(&body, false), "{body}");
    }
}

#[test]
fn terms_of_whole_segments_count_every_live_document() {
    let before = used("wt2");
    let answer = run(
        &json!({"size": 0, "aggs": {"wt2": {"terms": {"field": "svc"}}}}),
        true,
    );
    assert!(used("wt2") > before);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (i, d) in docs().iter().enumerate() {
        if let Some(s) = d["svc"].as_str().filter(|s| s.len() <= 256 && i != 3) {
            *want.entry(s.to_string()).or_default() += 1;
        }
    }
    let got = crate::testing::bucket_counts(&answer["aggregations"]["wt2"]["buckets"], "key");
    assert_eq!(got, want, "{answer}");
    assert_eq!(answer["hits"]["total"]["value"], json!(1199));
}

#[test]
fn cardinality_of_whole_segments_answers_as_the_collector_does() {
    let second = DateTime::<Utc>::from_timestamp_millis(T0 + 24 * HOUR)
        .unwrap()
        .to_rfc3339();
    let card = |field: &str| json!({"wc1": {"cardinality": {"field": field}}});
    let bodies = [
        json!({"size": 0, "aggs": card("uid")}),
        json!({"size": 0, "aggs": card("uid.keyword")}),
        json!({"size": 0, "aggs": card("svc")}),
        json!({"size": 0, "aggs": card("tags")}),
        json!({"size": 0, "query": {"range": {"@timestamp": {"gte": second}}}, "aggs": card("uid")}),
    ];
    for body in &bodies {
        let before = used("wc1");
        let fast = run(body, true);
        assert!(used("wc1") > before, "read from the column for {body}");
        let slow = run(body, false);
        assert_eq!(fast, slow, "{body}");
        assert!(
            fast["aggregations"]["wc1"]["value"].as_u64().unwrap() > 0,
            "{fast}"
        );
    }
    let all = run(&json!({"size": 0, "aggs": card("uid")}), true);
    let estimate = all["aggregations"]["wc1"]["value"].as_u64().unwrap();
    assert!(
        (950..=1005).contains(&estimate),
        "977 distinct, estimated {estimate}"
    );
    // Not taken: a `missing` value, a query on another field.
    for body in [
        json!({"size": 0, "aggs": {"wc1": {"cardinality": {"field": "uid", "missing": "none"}}}}),
        json!({"size": 0, "query": {"term": {"kw": "k1"}}, "aggs": card("uid")}),
    ] {
        let before = used("wc1");
        let fast = run(&body, true);
        assert_eq!(used("wc1"), before, "not read for {body}");
        assert_eq!(fast, run(&body, false), "{body}");
    }
}

#[test]
fn percentiles_of_whole_segments_answer_as_the_collector_does() {
    let second = DateTime::<Utc>::from_timestamp_millis(T0 + 24 * HOUR)
        .unwrap()
        .to_rfc3339();
    let pct = |field: &str| json!({"wp1": {"percentiles": {"field": field, "percents": [0, 1, 25, 50, 95, 99.9, 100]}}});
    let bodies = [
        json!({"size": 0, "aggs": pct("lat")}),
        json!({"size": 0, "aggs": pct("wide")}),
        json!({"size": 0, "aggs": pct("ratio")}),
        json!({"size": 0, "aggs": pct("lats")}),
        json!({"size": 0, "aggs": pct("tenths")}),
        json!({"size": 0, "aggs": pct("mostly")}),
        json!({"size": 0, "aggs": pct("zeros")}),
        json!({"size": 0, "query": {"range": {"@timestamp": {"gte": second}}}, "aggs": pct("lat")}),
        json!({"size": 0, "aggs": {"wp1": {"percentiles": {"field": "lat", "keyed": false}}}}),
    ];
    for body in &bodies {
        let before = used("wp1");
        let fast = run(body, true);
        assert!(used("wp1") > before, "read from the column for {body}");
        let slow = run(body, false);
        // As text: `-0.0` and `0.0` are equal as JSON values.
        assert_eq!(fast.to_string(), slow.to_string(), "{body}");
    }
    // Against the values themselves: the sketch is within 1 % of the true median.
    let all = run(&json!({"size": 0, "aggs": pct("lat")}), true);
    let median = all["aggregations"]["wp1"]["values"]["50.0"]
        .as_f64()
        .unwrap();
    let mut lats: Vec<i64> = docs().iter().map(|d| d["lat"].as_i64().unwrap()).collect();
    lats.sort_unstable();
    let truth = lats[lats.len() / 2] as f64;
    assert!(
        (median - truth).abs() <= truth * 0.02 + 1.0,
        "{median} against {truth}"
    );
    // Not taken: values spanning more bins than the sketch keeps, a `missing` value, a query
    // on another field. The same answers all the same.
    for body in [
        json!({"size": 0, "aggs": pct("span")}),
        json!({"size": 0, "aggs": {"wp1": {"percentiles": {"field": "lat", "missing": 3}}}}),
        json!({"size": 0, "query": {"term": {"kw": "k1"}}, "aggs": pct("lat")}),
    ] {
        let before = used("wp1");
        let fast = run(&body, true);
        assert_eq!(used("wp1"), before, "not read for {body}");
        assert_eq!(fast, run(&body, false), "{body}");
    }
}
