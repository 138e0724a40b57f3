//! Dashboards against the real binary: request bodies shaped exactly as Grafana's Elasticsearch
//! data source and Kibana Discover send them, over three and a half days of logs that cross
//! daily index rotations and a daylight-saving change, with every expected count computed here
//! from the records this file ingests.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use common::Server;
use serde_json::{Value, json};

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-03-27T20:00:00Z: records run to 2026-03-31, across four UTC days (four daily indices)
/// and the night Europe/Berlin moves its clocks forward.
const START: i64 = 1_774_641_600_000;
const RECORDS: usize = 3_000;

const LEVELS: [&str; 5] = ["info", "info", "info", "warn", "error"];
const SERVICES: [&str; 6] = ["api", "api", "web", "web", "auth", "billing"];
const HOSTS: usize = 5;

/// A small deterministic generator (same records on every run, no dependency).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }
}

/// One log record, kept typed so that the expected answers are computed from it directly.
struct Rec {
    seq: u64,
    ts: i64,
    level: &'static str,
    service: &'static str,
    host: String,
    latency_ms: f64,
    ok: bool,
    msg: &'static str,
}

impl Rec {
    fn json(&self) -> Value {
        json!({
            "@timestamp": iso(self.ts),
            "seq": self.seq,
            "level": self.level,
            "service": self.service,
            "host": self.host,
            "latency_ms": self.latency_ms,
            "ok": self.ok,
            "msg": self.msg,
        })
    }
}

fn records() -> Vec<Rec> {
    let mut r = Lcg(7);
    let mut ts = START;
    let mut out = Vec::with_capacity(RECORDS);
    for seq in 0..RECORDS as u64 {
        // Every seventh record shares its predecessor's millisecond: sorting on the time field
        // alone cannot order a page boundary, the tiebreaker has to.
        if seq % 7 != 0 {
            ts += 40 * SECOND + (r.next() % (80 * SECOND as u64)) as i64;
        }
        let level = r.pick(&LEVELS);
        let msg = match level {
            "error" if r.next().is_multiple_of(2) => "upstream timeout talking to the database",
            "error" => "disk full on the data volume",
            "warn" => "slow response from upstream",
            _ => "request served",
        };
        out.push(Rec {
            seq,
            ts,
            level,
            service: r.pick(&SERVICES),
            host: format!("host-{}", r.next() % HOSTS as u64),
            latency_ms: (r.next() % 5_000) as f64 / 10.0,
            ok: level != "error",
            msg,
        });
    }
    out
}

/// RFC 3339 in UTC with milliseconds, as Kibana's `strict_date_optional_time` prints dates.
fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("in range")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn day_name(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .expect("in range")
        .format("%Y-%m-%d")
        .to_string()
}

/// A server whose daily indices have several shards each (ties on the time field then span
/// shards), holding `recs` in stream `logs`.
fn server_with(recs: &[Rec]) -> Server {
    let server = Server::start_with(
        &[
            ("HYDRANT_DEFAULTS__INDEX__SIZING__DAILY_VOLUME", "100GiB"),
            ("HYDRANT_DEFAULTS__INDEX__WRITER_MEMORY", "32MiB"),
            ("HYDRANT_DEFAULTS__INDEX__WRITER_THREADS", "1"),
            // Segments this small are cached too.
            ("HYDRANT_QUERY__REQUEST_CACHE_MIN_DOCS", "0"),
        ],
        None,
    );
    let body: String = recs.iter().map(|r| format!("{}\n", r.json())).collect();
    let (status, resp) = server.post(
        "/v1/streams/logs/records?refresh=wait_for",
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], json!(recs.len()), "{resp}");
    assert_eq!(
        server.wait_count("logs", recs.len() as u64),
        recs.len() as u64
    );
    let days: BTreeSet<String> = recs.iter().map(|r| day_name(r.ts)).collect();
    let (status, shards) = server.get("/_cat/shards/logs-*?format=json");
    assert_eq!(status, 200, "{shards}");
    let indices: BTreeSet<String> = shards
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| s["index"].as_str().expect("index").to_string())
        .collect();
    let want: BTreeSet<String> = days.iter().map(|d| format!("logs-{d}")).collect();
    assert_eq!(indices, want, "one index per UTC day of the records");
    assert!(
        shards.as_array().map_or(0, Vec::len) > indices.len(),
        "several shards per index: {shards}"
    );
    server
}

fn ndjson(lines: &[Value]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn msearch(server: &Server, lines: &[Value]) -> Vec<Value> {
    let (status, body) = server.post("/_msearch", "application/x-ndjson", ndjson(lines));
    assert_eq!(status, 200, "{body}");
    body["responses"].as_array().expect("responses").clone()
}

/// `(key, doc_count)` of each bucket.
fn buckets(agg: &Value) -> Vec<(Value, u64)> {
    agg["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("no buckets in {agg}"))
        .iter()
        .map(|b| {
            (
                b["key"].clone(),
                b["doc_count"].as_u64().expect("doc_count"),
            )
        })
        .collect()
}

/// Grafana's query body: a time-range filter in epoch millis, the panel's Lucene query with
/// `analyze_wildcard`, and the panel's aggregations (its data source's `query_builder`).
fn grafana_body(gte: i64, lte: i64, lucene: &str, aggs: Value) -> Value {
    json!({
        "size": 0,
        "query": {"bool": {"filter": [
            {"range": {"@timestamp": {"gte": gte, "lte": lte, "format": "epoch_millis"}}},
            {"query_string": {"analyze_wildcard": true, "query": lucene}}
        ]}},
        "aggs": aggs
    })
}

/// Grafana's time-series bucket: `fixed_interval`, empty buckets kept over the whole panel
/// range, keys as epoch millis.
fn grafana_histogram(gte: i64, lte: i64, interval: &str, sub: Option<Value>) -> Value {
    let mut h = json!({"date_histogram": {
        "field": "@timestamp",
        "min_doc_count": 0,
        "extended_bounds": {"min": gte, "max": lte},
        "format": "epoch_millis",
        "fixed_interval": interval
    }});
    if let Some(sub) = sub {
        h["aggs"] = sub;
    }
    h
}

fn grafana_header(index: &str) -> Value {
    json!({"search_type": "query_then_fetch", "ignore_unavailable": true, "index": index})
}

/// Expected `(key, count, sum of latency)` of each fixed bucket from `gte`'s to `lte`'s.
fn fixed_buckets<'a>(
    recs: impl Iterator<Item = &'a Rec> + Clone,
    gte: i64,
    lte: i64,
    iv: i64,
) -> Vec<(i64, u64, f64)> {
    let mut out = Vec::new();
    let mut key = gte.div_euclid(iv) * iv;
    while key <= lte.div_euclid(iv) * iv {
        let inside = recs.clone().filter(|r| r.ts >= key && r.ts < key + iv);
        let count = inside.clone().count() as u64;
        out.push((key, count, inside.map(|r| r.latency_ms).sum()));
        key += iv;
    }
    out
}

#[test]
fn grafana_panels_over_daily_indices_match_the_records() {
    let recs = records();
    let server = server_with(&recs);
    let last = recs.last().expect("records").ts;
    // A dashboard range that starts a day before the data (its daily index does not exist)
    // and ends before the last records, at odd milliseconds as a browser's clock gives them.
    let gte = START - 30 * HOUR + 12_345;
    let lte = START + 50 * HOUR + 999;
    assert!(lte < last);
    let in_range = |r: &&Rec| r.ts >= gte && r.ts <= lte;
    // Grafana's index pattern `[logs-]YYYY-MM-DD` with a daily interval: one name per day of
    // the range, existing or not.
    let mut days = Vec::new();
    let mut d = gte;
    while d.div_euclid(DAY) <= lte.div_euclid(DAY) {
        days.push(format!("logs-{}", day_name(d)));
        d += DAY;
    }
    let daily = days.join(",");
    assert!(daily.starts_with("logs-2026-03-26,"), "{daily}");

    let lines = [
        // A: event count over time.
        grafana_header(&daily),
        grafana_body(
            gte,
            lte,
            "*",
            json!({"2": grafana_histogram(gte, lte, "30m", None)}),
        ),
        // B: average latency of errors over time.
        grafana_header(&daily),
        grafana_body(
            gte,
            lte,
            "level:error",
            json!({"2": grafana_histogram(gte, lte, "1h",
                    Some(json!({"1": {"avg": {"field": "latency_ms"}}})))}),
        ),
        // C: top services (a bar gauge grouped by terms, by count), over the pattern.
        grafana_header("logs-*"),
        grafana_body(
            gte,
            lte,
            "ok:true",
            json!({"3": {
                "terms": {
                    "field": "service.keyword",
                    "size": 3,
                    "order": {"_count": "desc"},
                    "min_doc_count": 1
                },
                "aggs": {"2": grafana_histogram(gte, lte, "6h", None)}
            }}),
        ),
        // D: a panel whose query does not parse fails alone.
        grafana_header(&daily),
        grafana_body(gte, lte, "level:(error", json!({})),
    ];
    let responses = msearch(&server, &lines);
    assert_eq!(responses.len(), 4);

    // A: every 30-minute bucket of the range, empty ones included, keys as epoch millis.
    let a = &responses[0];
    assert_eq!(a["status"], json!(200), "{a}");
    let iv = 30 * MINUTE;
    let want = fixed_buckets(recs.iter().filter(in_range), gte, lte, iv);
    let got = buckets(&a["aggregations"]["2"]);
    assert_eq!(
        got,
        want.iter()
            .map(|(k, c, _)| (json!(k), *c))
            .collect::<Vec<_>>()
    );
    assert!(
        want.iter().take(40).all(|b| b.1 == 0),
        "leading empty buckets"
    );
    for b in a["aggregations"]["2"]["buckets"]
        .as_array()
        .expect("buckets")
    {
        assert_eq!(b["key_as_string"], json!(b["key"].to_string()), "{b}");
    }
    assert_eq!(
        a["hits"]["total"]["value"],
        json!(recs.iter().filter(in_range).count())
    );

    // B: hourly error counts and their mean latency (null where no error happened).
    let b = &responses[1];
    assert_eq!(b["status"], json!(200), "{b}");
    let errors = recs.iter().filter(in_range).filter(|r| r.level == "error");
    let want = fixed_buckets(errors, gte, lte, HOUR);
    let got = b["aggregations"]["2"]["buckets"]
        .as_array()
        .expect("buckets");
    assert_eq!(got.len(), want.len());
    for (g, (key, count, sum)) in got.iter().zip(&want) {
        assert_eq!((&g["key"], &g["doc_count"]), (&json!(key), &json!(count)));
        let avg = &g["1"]["value"];
        if *count == 0 {
            assert!(avg.is_null(), "{g}");
        } else {
            let mean = sum / *count as f64;
            let v = avg.as_f64().unwrap_or(f64::NAN);
            assert!(
                (v - mean).abs() < 1e-6,
                "bucket {key}: avg {v}, expected {mean}"
            );
        }
    }

    // C: the three services with most successful requests, most first, the rest counted.
    let c = &responses[2];
    assert_eq!(c["status"], json!(200), "{c}");
    let mut per_service: BTreeMap<&str, Vec<&Rec>> = BTreeMap::new();
    for r in recs.iter().filter(in_range).filter(|r| r.ok) {
        per_service.entry(r.service).or_default().push(r);
    }
    let mut ranked: Vec<(&str, usize)> = per_service.iter().map(|(k, v)| (*k, v.len())).collect();
    ranked.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(y.0)));
    let terms = &c["aggregations"]["3"];
    assert_eq!(
        buckets(terms),
        ranked
            .iter()
            .take(3)
            .map(|(k, n)| (json!(k), *n as u64))
            .collect::<Vec<_>>()
    );
    let rest: usize = ranked.iter().skip(3).map(|(_, n)| n).sum();
    assert_eq!(terms["sum_other_doc_count"], json!(rest));
    for bucket in terms["buckets"].as_array().expect("buckets") {
        let service = bucket["key"].as_str().expect("key");
        let want = fixed_buckets(per_service[service].iter().copied(), gte, lte, 6 * HOUR);
        assert_eq!(
            buckets(&bucket["2"]),
            want.iter()
                .map(|(k, c, _)| (json!(k), *c))
                .collect::<Vec<_>>(),
            "{service}"
        );
    }

    // D: an ES error for that panel only.
    let d = &responses[3];
    assert_eq!(d["status"], json!(400), "{d}");
    assert!(d["error"]["type"].is_string(), "{d}");

    // The dashboard refreshes: the same answers, the segments it read before answered from
    // the request cache, and the segments past the range skipped by their time.
    let without_took = |mut v: Value| {
        v.as_object_mut().map(|o| o.remove("took"));
        v
    };
    let again = msearch(&server, &lines);
    for (before, after) in responses.iter().zip(again) {
        assert_eq!(without_took(before.clone()), without_took(after));
    }
    let (_, stats) = server.get("/_nodes/stats");
    let cache = &stats["nodes"]["hydrant"]["indices"]["request_cache"];
    assert!(cache["hit_count"].as_u64() > Some(0), "{cache}");
    assert!(
        cache["hydrant_segments_skipped_by_time"].as_u64() > Some(0),
        "{cache}"
    );
    assert!(server.metric("hydrant_request_cache_hits_total") > 0.0);
}

/// Kibana Discover's request (8.x): newest first with `_doc` (or `_shard_doc`) as tiebreaker,
/// every field through `fields`, no `_source`, highlighting, and the histogram over the bar.
fn discover_body(pit: &str, gte: i64, lte: i64, tiebreaker: &str, query: Option<Value>) -> Value {
    let mut filter = vec![json!({"range": {"@timestamp": {
        "format": "strict_date_optional_time",
        "gte": iso(gte),
        "lte": iso(lte)
    }}})];
    filter.extend(query);
    json!({
        "pit": {"id": pit, "keep_alive": "1m"},
        "sort": [
            {"@timestamp": {"order": "desc", "format": "strict_date_optional_time", "unmapped_type": "boolean"}},
            {tiebreaker: {"order": "desc", "unmapped_type": "boolean"}}
        ],
        "fields": [
            {"field": "*", "include_unmapped": "true"},
            {"field": "@timestamp", "format": "strict_date_optional_time"}
        ],
        "size": 500,
        "version": true,
        "script_fields": {},
        "stored_fields": ["*"],
        "runtime_mappings": {},
        "_source": false,
        "track_total_hits": true,
        "query": {"bool": {"must": [], "filter": filter, "should": [], "must_not": []}},
        "highlight": {
            "pre_tags": ["@kibana-highlighted-field@"],
            "post_tags": ["@/kibana-highlighted-field@"],
            "fields": {"*": {}},
            "fragment_size": 2147483647
        },
        "aggs": {"2": {"date_histogram": {
            "field": "@timestamp",
            "calendar_interval": "1d",
            "time_zone": "Europe/Berlin",
            "min_doc_count": 1
        }}}
    })
}

fn open_pit(server: &Server) -> String {
    let (status, body) = server.post("/logs/_pit?keep_alive=1m", "application/json", "");
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().expect("pit id").to_string()
}

/// Europe/Berlin's UTC offset in 2026 before October: +1 h until 2026-03-29T01:00Z, then +2 h.
fn berlin_offset(ms: i64) -> i64 {
    const SUMMER_TIME: i64 = 1_774_746_000_000;
    if ms < SUMMER_TIME { HOUR } else { 2 * HOUR }
}

/// The epoch millis of the Berlin midnight that starts the local day of `ms`.
fn berlin_midnight(ms: i64) -> i64 {
    let local_day = (ms + berlin_offset(ms)).div_euclid(DAY) * DAY;
    // The offset in force at that midnight (the change happens at 02:00 local, after it).
    local_day - berlin_offset(local_day - HOUR)
}

fn berlin_key_as_string(ms: i64) -> String {
    let local = DateTime::<Utc>::from_timestamp_millis(ms + berlin_offset(ms)).expect("in range");
    let hours = berlin_offset(ms) / HOUR;
    format!("{}+0{hours}:00", local.format("%Y-%m-%dT%H:%M:%S%.3f"))
}

/// Pages through Discover's search with `search_after` until a page comes back empty; the
/// `seq` of every hit in order.
fn page_through(server: &Server, pit: &str, gte: i64, lte: i64, tiebreaker: &str, recs: &[Rec]) {
    let by_seq: BTreeMap<u64, &Rec> = recs.iter().map(|r| (r.seq, r)).collect();
    let inside: Vec<&Rec> = recs.iter().filter(|r| r.ts >= gte && r.ts <= lte).collect();
    let mut seen: Vec<u64> = Vec::new();
    let mut ids = BTreeSet::new();
    let mut after: Option<Value> = None;
    let mut pages = 0;
    loop {
        let mut body = discover_body(pit, gte, lte, tiebreaker, None);
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let (status, resp) = server.post_json("/_search", &body);
        assert_eq!(status, 200, "{resp}");
        assert_eq!(
            resp["hits"]["total"],
            json!({"value": inside.len(), "relation": "eq"})
        );
        if pages == 0 {
            // The bar chart: one bar per Berlin day, the 23-hour day of the clock change too.
            let mut want: BTreeMap<i64, u64> = BTreeMap::new();
            for r in &inside {
                *want.entry(berlin_midnight(r.ts)).or_default() += 1;
            }
            let got = resp["aggregations"]["2"]["buckets"]
                .as_array()
                .expect("buckets");
            assert_eq!(
                got.iter()
                    .map(|b| (
                        b["key"].as_i64().expect("key"),
                        b["doc_count"].as_u64().expect("n")
                    ))
                    .collect::<Vec<_>>(),
                want.into_iter().collect::<Vec<_>>()
            );
            for b in got {
                let key = b["key"].as_i64().expect("key");
                assert_eq!(b["key_as_string"], json!(berlin_key_as_string(key)), "{b}");
            }
        }
        let hits = resp["hits"]["hits"].as_array().expect("hits").clone();
        if hits.is_empty() {
            break;
        }
        pages += 1;
        assert!(pages <= inside.len() / 500 + 2, "paging does not end");
        for h in &hits {
            assert!(h.get("_source").is_none(), "_source: false: {h}");
            assert!(
                ids.insert(h["_id"].as_str().expect("_id").to_string()),
                "{h}"
            );
            let seq = h["fields"]["seq"][0]
                .as_u64()
                .unwrap_or_else(|| panic!("seq in {h}"));
            let rec = by_seq[&seq];
            assert_eq!(h["fields"]["@timestamp"], json!([iso(rec.ts)]), "{h}");
            assert_eq!(h["fields"]["level"], json!([rec.level]), "{h}");
            assert_eq!(h["fields"]["ok"], json!([rec.ok]), "{h}");
            seen.push(seq);
        }
        after = Some(hits.last().expect("hit")["sort"].clone());
    }
    assert!(pages >= 3, "several pages");
    let times: Vec<i64> = seen.iter().map(|s| by_seq[s].ts).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no record twice");
    let want: BTreeSet<u64> = inside.iter().map(|r| r.seq).collect();
    assert_eq!(unique, want, "every record of the range, none outside");
}

#[test]
fn kibana_discover_pages_through_a_point_in_time() {
    let recs = records();
    let server = server_with(&recs);
    // Kibana's time picker: from two hours after the first record to the last one but three
    // hours, across both midnights, UTC and Berlin, and the clock change.
    let gte = START + 2 * HOUR;
    let lte = recs.last().expect("records").ts - 3 * HOUR;
    for tiebreaker in ["_doc", "_shard_doc"] {
        let pit = open_pit(&server);
        page_through(&server, &pit, gte, lte, tiebreaker, &recs);
        let resp = server
            .http
            .delete(format!("{}/_pit", server.url))
            .json(&json!({"id": pit}))
            .send()
            .expect("close pit");
        assert_eq!(resp.status().as_u16(), 200);
        let closed: Value = resp.json().expect("json");
        assert_eq!(closed["succeeded"], json!(true), "{closed}");
        // The point in time is gone.
        let (status, body) =
            server.post_json("/_search", &discover_body(&pit, gte, lte, tiebreaker, None));
        assert_eq!(status, 404, "{body}");
        assert_eq!(
            body["error"]["type"],
            json!("search_context_missing_exception")
        );
    }
}

#[test]
fn kibana_discover_highlights_a_free_text_query() {
    let recs = records();
    let server = server_with(&recs);
    let gte = START;
    let lte = START + 30 * HOUR;
    let pit = open_pit(&server);
    // KQL `timeout` as Kibana compiles it.
    let kql = json!({"multi_match": {"type": "best_fields", "query": "timeout", "lenient": true}});
    let (status, resp) = server.post_json(
        "/_search",
        &discover_body(&pit, gte, lte, "_shard_doc", Some(kql)),
    );
    assert_eq!(status, 200, "{resp}");
    let want: Vec<&Rec> = recs
        .iter()
        .filter(|r| r.ts >= gte && r.ts <= lte && r.msg.split(' ').any(|w| w == "timeout"))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(resp["hits"]["total"]["value"], json!(want.len()));
    let hits = resp["hits"]["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), want.len().min(500));
    for h in hits {
        assert_eq!(
            h["highlight"]["msg"],
            json!([
                "upstream @kibana-highlighted-field@timeout@/kibana-highlighted-field@ talking to the database"
            ]),
            "{h}"
        );
    }
}
