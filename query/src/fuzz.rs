//! Entry points for the fuzzers (`fuzz/`, run with `cargo fuzz`) and for the replay of their
//! corpora in `cargo test` (`fuzzing/`): a `_search` body run for real over a small index, the
//! Lucene and simple query parsers (then searched with), and date math and formats. Whatever
//! the input: no panic, no stack overflow, and a refusal is a client error in Elasticsearch's
//! shape, never a 500. Compiled only with the `fuzz` feature.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::json;

use crate::QueryError;
use crate::dates::{DateParser, Zone, format_date};
use crate::engine::Engine;
use crate::query_string::{QueryStringOptions, parse_query_string};
use crate::request::SearchParams;
use crate::simple_query_string::{SimpleOptions, parse_simple_query_string};
use crate::testing::{Corpus, T0, corpus};

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<(Corpus, Engine)> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let docs: Vec<serde_json::Value> = (0..40)
                .map(|i| {
                    let word = ["ok", "error", "timeout"][i as usize % 3];
                    let status = [200, 404, 500, 301][i as usize % 4];
                    let tags = &["a", "b", "c"][..(i as usize % 3) + 1];
                    json!({
                        "@timestamp": T0 + i * 3_600_000,
                        "msg": format!("GET /index.html {word} quick brown fox"),
                        "status": status,
                        "bytes": i * 1_337,
                        "ratio": i as f64 / 7.0,
                        "host": {"name": format!("web-{}", i % 5), "ip": format!("10.0.{}.{}", i % 3, i)},
                        "tags": tags,
                        "ok": i % 2 == 0,
                        "loc": {"lat": (i * 37 % 170) as f64 - 85.0, "lon": (i * 91 % 360) as f64 - 180.0},
                    })
                })
                .collect();
            // `loc` is a geo_point, for the geo queries, aggregations and sorts.
            let mapping = hydrant_config::MappingConfig {
                mode: hydrant_config::MappingMode::Dynamic,
                fields: vec![("loc".into(), hydrant_config::FieldType::GeoPoint)],
            };
            let corpus = corpus("fuzz", &docs, 2, Some(mapping));
            let engine = Engine::new(corpus.catalog.clone(), Duration::from_secs(5));
            (corpus, engine)
        })
        .1
}

/// A refusal must be the client's error, in ES's shape.
fn client_error(e: &QueryError) {
    let body = e.to_json();
    assert!(body["error"]["type"].is_string(), "{body}");
    assert!(
        e.status().is_client_error() || matches!(e, QueryError::Timeout(_)),
        "{} answered {}: {body}",
        e.es_type(),
        e.status()
    );
}

/// A `_search` body (query DSL, aggregations, sort, highlight, …) searched for real.
pub fn search(data: &[u8]) {
    match engine().search(Some("fuzz"), &SearchParams::default(), data) {
        Ok((_, resp)) => {
            serde_json::to_vec(&resp).expect("a response serializes");
        }
        Err(e) => client_error(&e),
    }
}

fn run_query(query: serde_json::Value) {
    let body = json!({"query": query, "size": 3}).to_string();
    if let Err(e) = engine().search(Some("fuzz"), &SearchParams::default(), body.as_bytes()) {
        client_error(&e);
    }
}

/// Lucene syntax (`query_string`, `q=`): parsed, then searched with.
pub fn query_string(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for default_field in [None, Some("msg".to_string())] {
        let options = QueryStringOptions {
            default_field,
            default_operator: None,
        };
        if let Err(e) = parse_query_string(&text, &options) {
            client_error(&e);
        }
    }
    run_query(json!({"query_string": {"query": text}}));
}

/// `simple_query_string`: parsed, then searched with.
pub fn simple_query_string(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let options = SimpleOptions {
        fields: Vec::new(),
        default_operator: crate::ast::Operator::Or,
    };
    if let Err(e) = parse_simple_query_string(&text, &options) {
        client_error(&e);
    }
    run_query(json!({"simple_query_string": {"query": text}}));
}

/// Date math and formats: `text`, or `format\ntime_zone\ntext`. A rounded-up bound is never
/// before the rounded-down one, and a date read back through its format stays in range.
pub fn date_math(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (format, zone, value) = match (parts.next(), parts.next(), parts.next()) {
        (Some(f), Some(z), Some(v)) => (Some(f), Some(z), v),
        (Some(v), _, _) => (None, None, v),
        _ => return,
    };
    let parser = match DateParser::new(
        format.filter(|f| !f.is_empty()),
        zone.filter(|z| !z.is_empty()),
        T0,
    ) {
        Ok(p) => p,
        Err(e) => return client_error(&e),
    };
    let down = parser.parse(value, false);
    let up = parser.parse(value, true);
    match (&down, &up) {
        (Ok(a), Ok(b)) => {
            assert!(a <= b, "{value}: rounded down {a} after rounded up {b}");
            let zone = zone.and_then(|z| Zone::parse(z).ok()).unwrap_or(Zone::Utc);
            let _ = format_date(*a, format, zone);
        }
        (Err(e), _) | (_, Err(e)) => client_error(e),
    }
    run_query(
        json!({"range": {"@timestamp": {"gte": value, "format": format, "time_zone": zone}}}),
    );
}
