//! Golden tests: the real Apache access log sample, ingested through the NDJSON receiver, and
//! Hydrant's answers to searches and aggregations compared with answers DuckDB computed from
//! the same file (`tests/golden/apache/compute.py`, which wrote `cases.json`).
//!
//! The lines are parsed here by this file's own code, to the contract `compute.py` documents.

mod common;

use common::{Server, testdata};
use serde_json::{Value, json};

/// One record of the sample, parsed without regular expressions (compute.py uses one).
fn parse(line: &str) -> Option<Value> {
    let (ip, rest) = line.split_once(' ')?;
    let open = rest.find('[')?;
    let close = open + rest[open..].find(']')?;
    let when =
        chrono::DateTime::parse_from_str(&rest[open + 1..close], "%d/%b/%Y:%H:%M:%S %z").ok()?;
    let after = &rest[close + 1..];
    let q1 = after.find('"')?;
    let q2 = q1 + 1 + after[q1 + 1..].find('"')?;
    let request_line = &after[q1 + 1..q2];
    let mut tail = after[q2 + 1..].trim_start().splitn(3, ' ');
    let status: i64 = tail.next()?.parse().ok()?;
    let size = tail.next()?;
    let quoted: Vec<&str> = tail.next()?.split('"').collect();
    let mut rec = json!({
        "clientip": ip,
        "@timestamp": when.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "status": status,
        "referrer": quoted.get(1)?,
        "agent": quoted.get(3)?,
    });
    let parts: Vec<&str> = request_line.split(' ').collect();
    if let [verb, request, version] = parts.as_slice() {
        rec["verb"] = json!(verb);
        rec["request"] = json!(request);
        rec["httpversion"] = json!(version.trim_start_matches("HTTP/"));
    } else {
        rec["request"] = json!(request_line);
    }
    if size != "-" {
        rec["bytes"] = json!(size.parse::<i64>().ok()?);
    }
    Some(rec)
}

/// Whether `actual` has everything `expected` has (objects by key, arrays element by element,
/// numbers within `rel` relative error).
fn contains(actual: &Value, expected: &Value, rel: f64, at: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let av = a.get(k).ok_or_else(|| format!("{at}.{k} is missing"))?;
                contains(av, ev, rel, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{at} has {} items, expected {}", a.len(), e.len()));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                contains(av, ev, rel, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (
                a.as_f64().unwrap_or(f64::NAN),
                e.as_f64().unwrap_or(f64::NAN),
            );
            if (a - e).abs() <= rel * e.abs().max(1.0) {
                Ok(())
            } else {
                Err(format!("{at} is {a}, expected {e}"))
            }
        }
        (a, e) if a == e => Ok(()),
        (a, e) => Err(format!("{at} is {a}, expected {e}")),
    }
}

#[test]
fn apache_sample_answers_match_duckdb() {
    let text = std::fs::read_to_string(testdata("logs/elastic-examples/apache_logs"))
        .expect("apache_logs sample");
    let records: Vec<Value> = text
        .lines()
        .map(|l| parse(l).expect("parsable line"))
        .collect();
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/apache/cases.json"),
        )
        .expect("cases.json"),
    )
    .expect("cases.json is JSON");
    assert_eq!(
        cases["records"],
        json!(records.len()),
        "the sample changed: rerun compute.py"
    );

    let server = Server::start();
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    let (status, resp) = server.post(
        "/v1/streams/web/records?refresh=wait_for",
        "application/x-ndjson",
        body,
    );
    assert_eq!(status, 200, "{resp}");
    assert_eq!(resp["accepted"], json!(records.len()));
    assert_eq!(
        server.wait_count("web", records.len() as u64),
        records.len() as u64
    );

    let mut failures = Vec::new();
    for case in cases["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().unwrap_or("?");
        let path = case["path"].as_str().expect("path");
        let (status, resp) = match &case["body"] {
            Value::Null => server.get(path),
            body => server.post_json(path, body),
        };
        let rel = case["approx"].as_f64().unwrap_or(1e-9);
        if status != 200 {
            failures.push(format!("{name}: status {status}: {resp}"));
        } else if let Err(why) = contains(&resp, &case["expect"], rel, name) {
            failures.push(why);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
