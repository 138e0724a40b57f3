//! The built-in pipelines on the shipped samples, end to end: the Apache and nginx access logs
//! and the syslog sample shipped as raw text lines through `apache`, `nginx` and `syslog`, and
//! aggregations on the parsed fields compared with counts worked out here, independently, with
//! one regular expression per format over the same files.

mod common;

use std::collections::BTreeMap;

use common::{Server, testdata};
use serde_json::{Value, json};

/// Status and bytes of each access-log line, read by a pattern written here (not the
/// pipeline's grok): the three digits and the number (or `-`) after the quoted request.
fn access_counts(text: &str) -> (BTreeMap<u64, u64>, u64, usize) {
    let re = regex::Regex::new(r#"\] "(?:[^"\\]|\\.)*" (\d{3}) (\d+|-)"#).unwrap();
    let mut statuses = BTreeMap::new();
    let mut bytes = 0;
    let mut lines = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        lines += 1;
        let c = re
            .captures(line)
            .unwrap_or_else(|| panic!("not an access line: {line}"));
        *statuses.entry(c[1].parse::<u64>().unwrap()).or_insert(0) += 1;
        bytes += c[2].parse::<u64>().unwrap_or(0);
    }
    (statuses, bytes, lines)
}

fn ship(server: &Server, stream: &str, pipeline: &str, text: String) -> Value {
    let (status, answer) = server.post(
        &format!("/v1/streams/{stream}/records?pipeline={pipeline}&refresh=wait_for"),
        "text/plain",
        text,
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

fn aggs(server: &Server, target: &str, aggs: Value) -> Value {
    let (status, answer) = server.post_json(
        &format!("/{target}/_search"),
        &json!({"size": 0, "track_total_hits": true, "aggs": aggs}),
    );
    assert_eq!(status, 200, "{answer}");
    answer
}

fn check_access_log(server: &Server, stream: &str, pipeline: &str, text: String) {
    let (statuses, bytes, lines) = access_counts(&text);
    let answer = ship(server, stream, pipeline, text);
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(lines as u64), Some(0)),
        "{answer}"
    );
    let r = aggs(
        server,
        stream,
        json!({
            "status": {"terms": {"field": "http.response.status_code", "size": 100}},
            "bytes": {"sum": {"field": "http.response.body.bytes"}},
            "methods": {"value_count": {"field": "http.request.method"}},
        }),
    );
    assert_eq!(r["hits"]["total"]["value"], lines as u64);
    let got: BTreeMap<u64, u64> = r["aggregations"]["status"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["key"].as_u64().unwrap(), b["doc_count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, statuses, "status codes of {stream}");
    assert_eq!(
        r["aggregations"]["bytes"]["value"].as_f64().unwrap() as u64,
        bytes,
        "bytes of {stream}"
    );
    assert_eq!(
        r["aggregations"]["methods"]["value"], lines as u64,
        "every line has its method"
    );
}

#[test]
fn the_apache_sample_through_the_apache_pipeline_aggregates_as_counted_here() {
    let server = Server::start();
    let text = std::fs::read_to_string(testdata("logs/elastic-examples/apache_logs")).unwrap();
    check_access_log(&server, "apache", "apache", text.clone());
    // The event time is the log's time, not the arrival: the first line's, worked out here.
    let first = text.lines().next().unwrap();
    let stamp = &first[first.find('[').unwrap() + 1..first.find(']').unwrap()];
    let t = chrono::DateTime::parse_from_str(stamp, "%d/%b/%Y:%H:%M:%S %z").unwrap();
    let r = aggs(
        &server,
        "apache",
        json!({"first": {"min": {"field": "@timestamp"}}}),
    );
    let min = r["aggregations"]["first"]["value"].as_f64().unwrap() as i64;
    assert!(min <= t.timestamp_millis(), "{min} vs {t}");
    let r = aggs(
        &server,
        "apache",
        json!({"ips": {"cardinality": {"field": "source.address"}}}),
    );
    assert!(
        r["aggregations"]["ips"]["value"].as_u64().unwrap() > 1000,
        "{r}"
    );
    // A search on a parsed field.
    assert_eq!(
        server.count("apache", Some("http.response.status_code:404")),
        {
            let (s, _, _) = access_counts(&text);
            s[&404]
        }
    );
}

#[test]
fn the_nginx_samples_through_the_nginx_pipeline_aggregate_as_counted_here() {
    let server = Server::start();
    let text = std::fs::read_to_string(testdata("logs/elastic-beats/nginx/access.log")).unwrap();
    check_access_log(&server, "nginx", "nginx", text);
}

#[test]
fn the_syslog_sample_through_the_syslog_pipeline_keeps_every_line_with_its_host() {
    let server = Server::start();
    let text = std::fs::read_to_string(testdata("logs/hydrant/syslog.log")).unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let answer = ship(&server, "sys", "syslog", text.clone());
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(lines as u64), Some(0)),
        "{answer}"
    );
    let r = aggs(
        &server,
        "sys",
        json!({"hosts": {"terms": {"field": "host.hostname", "size": 100}}}),
    );
    let total: u64 = r["aggregations"]["hosts"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["doc_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, lines as u64, "every line has a host: {r}");
}
