//! The built-in pipelines on real samples (tests/data/logs): every line parses, and counts
//! over the parsed fields equal counts made independently by splitting the lines here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::tests::registry;
use crate::{Outcome, Registry, run_doc};

const TS: &str = "2026-12-03T10:00:00.000Z";

fn sample(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/logs")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Each line through the built-in pipeline `id`: the parsed sources, or the failures.
fn parse_all(
    r: &Registry,
    id: &str,
    lines: &[&str],
) -> Result<Vec<Map<String, Value>>, Vec<String>> {
    let p = r
        .get(id)
        .unwrap_or_else(|| panic!("no built-in pipeline {id}"));
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for line in lines {
        let mut src = Map::new();
        src.insert("message".into(), Value::String(line.to_string()));
        match run_doc(r, &[&*p], src, &"logs".into(), None, &TS.into()) {
            Ok(Outcome::Keep { source, .. }) => ok.push(source),
            Ok(Outcome::Dropped) => failed.push(format!("dropped: {line}")),
            Err(e) => failed.push(format!("{e}: {line}")),
        }
    }
    if failed.is_empty() {
        Ok(ok)
    } else {
        Err(failed)
    }
}

fn path<'a>(doc: &'a Map<String, Value>, p: &str) -> Option<&'a Value> {
    let mut parts = p.split('.');
    let mut cur = doc.get(parts.next()?)?;
    for s in parts {
        cur = cur.get(s)?;
    }
    Some(cur)
}

/// Status code counts and total bytes of access-log lines, by splitting on `"`: the status
/// and size follow the request, the third quoted part from the end.
fn split_counts(lines: &[&str]) -> (BTreeMap<u64, usize>, u64) {
    let mut statuses = BTreeMap::new();
    let mut bytes = 0;
    for line in lines {
        let parts: Vec<&str> = line.split('"').collect();
        // The part after the request: ` 200 1234 `; the request is the first quoted part
        // after the `]` that closes the time.
        let after_time = line.find("] \"").expect("a time in brackets");
        let quoted: Vec<&str> = line[after_time + 3..].splitn(2, "\" ").collect();
        let mut fields = quoted[1].split(' ');
        let status: u64 = fields.next().unwrap().parse().unwrap();
        *statuses.entry(status).or_default() += 1;
        bytes += fields.next().unwrap().parse::<u64>().unwrap_or(0);
        assert!(parts.len() >= 5, "{line}");
    }
    (statuses, bytes)
}

fn parsed_counts(docs: &[Map<String, Value>]) -> (BTreeMap<u64, usize>, u64) {
    let mut statuses = BTreeMap::new();
    let mut bytes = 0;
    for d in docs {
        let s = path(d, "http.response.status_code")
            .and_then(Value::as_u64)
            .expect("a numeric status");
        *statuses.entry(s).or_default() += 1;
        bytes +=
            path(d, "http.response.body.bytes").map_or(0, |b| b.as_u64().expect("numeric bytes"));
    }
    (statuses, bytes)
}

#[test]
fn apache_sample_parses_every_line_with_the_same_counts_as_splitting() {
    let (_dir, r) = registry();
    let text = sample("elastic-examples/apache_logs");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10_000);
    let docs = parse_all(&r, "apache", &lines)
        .unwrap_or_else(|f| panic!("{} failures, first: {:?}", f.len(), &f[..3.min(f.len())]));
    assert_eq!(parsed_counts(&docs), split_counts(&lines));
    let first = &docs[0];
    assert_eq!(first["@timestamp"], "2015-05-17T10:05:03.000Z");
    assert_eq!(path(first, "source.address"), Some(&json!("83.149.9.216")));
    assert_eq!(path(first, "source.ip"), Some(&json!("83.149.9.216")));
    assert_eq!(path(first, "http.request.method"), Some(&json!("GET")));
    assert_eq!(
        path(first, "url.original"),
        Some(&json!(
            "/presentations/logstash-monitorama-2013/images/kibana-search.png"
        ))
    );
    assert_eq!(path(first, "http.version"), Some(&json!("1.1")));
    assert_eq!(
        path(first, "http.request.referrer"),
        Some(&json!(
            "http://semicomplete.com/presentations/logstash-monitorama-2013/"
        ))
    );
    assert!(
        path(first, "user_agent.original")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("Mozilla/5.0 (Macintosh")
    );
    assert_eq!(path(first, "event.original"), Some(&json!(lines[0])));
    assert!(first.get("message").is_none() && first.get("timestamp").is_none());
    // Every line's time is within the sample's span.
    assert!(
        docs.iter()
            .all(|d| ("2015-05-17".."2015-05-21").contains(&d["@timestamp"].as_str().unwrap()))
    );
}

/// Lines the way `hydrant loadgen` writes its `apache` and `nginx` text records
/// (loadgen/src/generate.rs: combined format, nginx adding `"$http_x_forwarded_for"` and
/// `rt=$request_time`).
fn loadgen_lines(nginx: bool) -> Vec<String> {
    let verbs = ["GET", "POST", "PUT", "DELETE", "HEAD"];
    let agents = [
        "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/121.0",
        "curl/8.4.0",
        "kube-probe/1.28",
    ];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    (0..60)
        .map(|i: usize| {
            let ip = format!("10.{}.{}.{}", i % 3, i % 7, 1 + i % 250);
            let status = [200, 201, 304, 404, 500, 503][i % 6];
            let bytes = if status == 304 { 0 } else { 100 + i * 37 };
            let mut line = String::new();
            let _ = write!(
                line,
                "{ip} - - [{:02}/{}/{}:{:02}:{:02}:{:02} +0000] \"{} /api/v1/items/{i}?page={} HTTP/1.1\" {status} {bytes} \"-\" \"{}\"",
                1 + i % 28, months[i % 12], 2025, i % 24, i % 60, (i * 7) % 60, verbs[i % verbs.len()], i % 4, agents[i % agents.len()],
            );
            if nginx {
                let _ = write!(line, " \"{}\" rt={:.3}", if i.is_multiple_of(5) { ip.as_str() } else { "-" }, i as f64 * 0.0137);
            }
            line
        })
        .collect()
}

#[test]
fn loadgen_access_lines_parse_through_apache_and_nginx() {
    let (_dir, r) = registry();
    for (id, nginx) in [("apache", false), ("nginx", false), ("nginx", true)] {
        let lines = loadgen_lines(nginx);
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let docs = parse_all(&r, id, &refs).unwrap_or_else(|f| panic!("{id}: {f:?}"));
        assert_eq!(parsed_counts(&docs), split_counts(&refs), "{id}");
        if nginx {
            assert_eq!(
                path(&docs[1], "nginx.access.request_time"),
                Some(&json!(0.014))
            );
            assert_eq!(
                path(&docs[5], "nginx.access.forwarded_for"),
                Some(&json!("10.2.5.6"))
            );
        }
    }
}

#[test]
fn nginx_samples_parse_every_line_with_the_same_counts_as_splitting() {
    let (_dir, r) = registry();
    let a = sample("elastic-beats/nginx/access.log");
    let b = sample("elastic-beats/nginx/test.log");
    let lines: Vec<&str> = a.lines().chain(b.lines()).collect();
    assert_eq!(lines.len(), 20);
    let docs = parse_all(&r, "nginx", &lines).unwrap_or_else(|f| panic!("{f:?}"));
    assert_eq!(parsed_counts(&docs), split_counts(&lines));
    let by_line = |prefix: &str| {
        docs.iter()
            .zip(&lines)
            .find(|(_, l)| l.starts_with(prefix))
            .map(|(d, _)| d)
            .unwrap()
    };
    let vhost = by_line("lessons.example.com");
    assert_eq!(
        path(vhost, "url.domain"),
        Some(&json!("lessons.example.com"))
    );
    assert_eq!(path(vhost, "source.address"), Some(&json!("192.168.0.1")));
    assert_eq!(
        path(vhost, "http.response.body.bytes"),
        Some(&json!(7648063))
    );
    let list = by_line("10.0.0.2, 10.0.0.1, 127.0.0.1");
    assert_eq!(path(list, "source.address"), Some(&json!("127.0.0.1")));
    assert_eq!(
        path(list, "nginx.access.remote_ip_list"),
        Some(&json!(["10.0.0.2", "10.0.0.1"]))
    );
    let quoted = by_line("\"10.5.102.222");
    assert_eq!(path(quoted, "source.address"), Some(&json!("10.2.1.185")));
    let empty = by_line("127.0.0.1 - - [12/Apr/2018");
    assert_eq!(path(empty, "http.response.status_code"), Some(&json!(400)));
    assert!(path(empty, "http.request.method").is_none());
    assert_eq!(docs[0]["@timestamp"], "2016-10-25T12:49:33.000Z");
}

#[test]
fn syslog_rfc3164_and_rfc5424_lines_parse_with_facility_and_severity() {
    let (_dir, r) = registry();
    let text = sample("hydrant/syslog.log");
    let lines: Vec<&str> = text.lines().collect();
    let docs = parse_all(&r, "syslog", &lines).unwrap_or_else(|f| panic!("{f:?}"));
    // Independently: the PRI between < and > at the start, facility = PRI / 8, severity = PRI % 8.
    for (d, line) in docs.iter().zip(&lines) {
        let pri = line
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .map(|(p, _)| p.parse::<u64>().unwrap());
        assert_eq!(
            path(d, "log.syslog.priority").and_then(Value::as_u64),
            pri,
            "{line}"
        );
        assert_eq!(
            path(d, "log.syslog.facility.code").and_then(Value::as_u64),
            pri.map(|p| p / 8),
            "{line}"
        );
        assert_eq!(
            path(d, "log.syslog.severity.code").and_then(Value::as_u64),
            pri.map(|p| p % 8),
            "{line}"
        );
        assert!(
            d.get("@timestamp").is_some() && path(d, "host.hostname").is_some(),
            "{line}: {d:?}"
        );
    }
    let year = chrono::Datelike::year(&chrono::Utc::now());
    assert_eq!(docs[0]["@timestamp"], format!("{year}-10-11T22:14:15.000Z"));
    assert_eq!(path(&docs[0], "host.hostname"), Some(&json!("mymachine")));
    assert_eq!(path(&docs[0], "process.name"), Some(&json!("su")));
    assert_eq!(
        docs[0]["message"],
        "'su root' failed for lonvick on /dev/pts/8"
    );
    assert_eq!(docs[1]["@timestamp"], format!("{year}-02-05T17:32:18.000Z"));
    assert_eq!(docs[1]["message"], "Use the BFG!");
    assert_eq!(path(&docs[2], "process.pid"), Some(&json!(4242)));
    assert_eq!(path(&docs[2], "process.name"), Some(&json!("sshd")));
    let e = &docs[8];
    assert_eq!(e["@timestamp"], "2003-10-11T22:14:15.003Z");
    assert_eq!(path(e, "process.name"), Some(&json!("evntslog")));
    assert_eq!(path(e, "log.syslog.msgid"), Some(&json!("ID47")));
    assert_eq!(
        path(e, "log.syslog.structured_data"),
        Some(&json!(
            "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
        ))
    );
    assert_eq!(e["message"], "An application event log entry...");
    assert_eq!(docs[10]["@timestamp"], "2003-08-24T12:14:15.000Z");
    assert_eq!(path(&docs[10], "process.pid"), Some(&json!(8710)));
    assert!(docs[11].get("message").is_none());
    assert_eq!(path(&docs[13], "process.name"), Some(&json!("dockerd")));
    assert_eq!(docs[13]["@timestamp"], "2026-12-03T10:00:01.123Z");
}

#[test]
fn alb_lines_parse_with_numbers_and_minus_one_times() {
    let (_dir, r) = registry();
    let lines = [
        "https 2026-12-03T10:15:00.186641Z app/shop-prod/50dc6c495c0c9188 192.0.2.10:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 \"GET https://shop.example.com:443/cart?id=7 HTTP/1.1\" \"curl/8.4.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/shop/73e2d6bc24d8a067 \"Root=1-58337281-1d84f3d73c47ec4e58577259\" \"shop.example.com\" \"arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012\" 1 2026-12-03T10:14:59.364000Z \"authenticate,forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\"",
        "http 2026-12-03T10:15:01.000000Z app/shop-prod/50dc6c495c0c9188 192.0.2.11:40000 - -1 -1 -1 503 - 34 366 \"POST http://shop.example.com:80/pay HTTP/1.1\" \"-\" - - - \"Root=1-58337364-23a8c76965a2ef7629b185e3\" \"-\" \"-\" 0 2026-12-03T10:15:01.000000Z \"forward\" \"-\" \"-\" \"-\" \"-\" \"-\" \"-\"",
        "h2 2026-12-03T10:15:02.5Z app/shop-prod/50dc6c495c0c9188 [2001:db8::1]:5000 10.0.0.2:8080 0.000 0.002 0.000 404 404 120 1600 \"GET https://shop.example.com:443/nope HTTP/2.0\" \"Mozilla/5.0\" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/shop/73e2d6bc24d8a067 \"Root=1-5\"",
    ];
    let docs = parse_all(&r, "alb", &lines).unwrap_or_else(|f| panic!("{f:?}"));
    let d = &docs[0];
    assert_eq!(d["@timestamp"], "2026-12-03T10:15:00.186Z");
    assert_eq!(path(d, "source.ip"), Some(&json!("192.0.2.10")));
    assert_eq!(path(d, "source.port"), Some(&json!(2817)));
    assert_eq!(path(d, "aws.elb.backend.port"), Some(&json!(80)));
    assert_eq!(
        path(d, "aws.elb.request_processing_time.sec"),
        Some(&json!(0.086))
    );
    assert_eq!(path(d, "http.response.status_code"), Some(&json!(200)));
    assert_eq!(path(d, "http.response.body.bytes"), Some(&json!(57)));
    assert_eq!(path(d, "http.request.method"), Some(&json!("GET")));
    assert_eq!(
        path(d, "url.original"),
        Some(&json!("https://shop.example.com:443/cart?id=7"))
    );
    assert_eq!(
        path(d, "aws.elb.action_executed"),
        Some(&json!(["authenticate", "forward"]))
    );
    assert_eq!(
        path(d, "aws.elb.trace_id"),
        Some(&json!("Root=1-58337281-1d84f3d73c47ec4e58577259"))
    );
    let failed = &docs[1];
    assert_eq!(
        path(failed, "aws.elb.backend_processing_time.sec"),
        Some(&json!(-1.0))
    );
    assert_eq!(path(failed, "http.response.status_code"), Some(&json!(503)));
    assert!(path(failed, "aws.elb.backend").is_none() && path(failed, "tls").is_none());
    assert_eq!(path(&docs[2], "http.version"), Some(&json!("2.0")));
    assert!(path(&docs[2], "url.domain").is_none());
    assert_eq!(
        path(&docs[2], "source.address"),
        Some(&json!("2001:db8::1"))
    );
}

/// Grok throughput on the Apache sample (run with `cargo test --release -p hydrant-pipeline
/// -- --ignored --nocapture grok_throughput`; `bench/pipeline.sh` runs it next to Python's
/// pygrok). `GROK_BENCH_PATTERN` (default `%{COMBINEDAPACHELOG}`, the legacy dictionary, as
/// pygrok has it) and `GROK_BENCH_ROUNDS` (default 5) choose what is measured; each result is
/// also printed as a `GROK_BENCH {json}` line.
#[test]
#[ignore]
fn grok_throughput_on_the_apache_sample() {
    let (_dir, r) = registry();
    let text = sample("elastic-examples/apache_logs");
    let pattern =
        std::env::var("GROK_BENCH_PATTERN").unwrap_or_else(|_| "%{COMBINEDAPACHELOG}".into());
    let rounds: usize = std::env::var("GROK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let p = r
        .compile(
            "g",
            &json!({"processors": [{"grok": {"field": "message", "patterns": [pattern]}}]}),
        )
        .unwrap();
    let full = r.get("apache").unwrap();
    for (name, pipeline) in [("grok alone", &p), ("apache pipeline", &full)] {
        let started = std::time::Instant::now();
        let (mut bytes, mut lines, mut matched) = (0usize, 0usize, 0usize);
        for _ in 0..rounds {
            for line in text.lines() {
                bytes += line.len();
                lines += 1;
                let mut src = Map::new();
                src.insert("message".into(), Value::String(line.to_string()));
                matched += usize::from(
                    run_doc(&r, &[pipeline], src, &"logs".into(), None, &TS.into()).is_ok(),
                );
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{name}: {:.1} MB/s, {:.0} lines/s",
            bytes as f64 / secs / 1e6,
            lines as f64 / secs
        );
        println!(
            "GROK_BENCH {}",
            json!({"name": name, "mb_per_sec": bytes as f64 / secs / 1e6, "lines_per_sec": lines as f64 / secs, "lines": lines, "matched": matched})
        );
    }
}
