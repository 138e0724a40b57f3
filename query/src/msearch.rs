//! `_msearch`: NDJSON header/body pairs, one answer per pair; a failing search answers with its
//! own error and status and does not fail the others.

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::engine::Engine;
use crate::error::QueryError;
use crate::request::{SearchParams, SearchRequest};

/// The target and options of one header line, over the URL's.
fn header(
    line: &[u8],
    params: &SearchParams,
) -> Result<(Option<String>, SearchParams), QueryError> {
    let mut p = params.clone();
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok((None, p));
    }
    let h: Map<String, Value> = match serde_json::from_slice(line) {
        Ok(Value::Object(o)) => o,
        Ok(_) => {
            return Err(QueryError::Parsing(
                "msearch header must be a JSON object".to_string(),
            ));
        }
        Err(e) => {
            return Err(QueryError::XContentParse(format!(
                "msearch header is not valid JSON: {e}"
            )));
        }
    };
    let flag = |k: &str| match h.get(k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    if let Some(b) = flag("ignore_unavailable") {
        p.ignore_unavailable = Some(b);
    }
    if let Some(b) = flag("allow_no_indices") {
        p.allow_no_indices = Some(b);
    }
    let target = match h.get("index").or_else(|| h.get("indices")) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    };
    Ok((target, p))
}

/// Runs every search of an `_msearch` body; `target` is the URL's default target.
pub fn msearch(
    engine: &Engine,
    target: Option<&str>,
    params: &SearchParams,
    body: &[u8],
) -> Result<Value, QueryError> {
    let started = Instant::now();
    let mut lines: Vec<&[u8]> = hydrant_http::ndjson::lines(body).map(|l| l.bytes).collect();
    while lines
        .last()
        .is_some_and(|l| l.iter().all(u8::is_ascii_whitespace))
    {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(QueryError::IllegalArgument("no requests added".to_string()));
    }
    let mut responses = Vec::new();
    for pair in lines.chunks(2) {
        let (t, p) = header(pair[0], params)?;
        let body = pair.get(1).copied().unwrap_or(b"{}");
        let t = t.or_else(|| target.map(str::to_string));
        let answer =
            SearchRequest::parse(body, &p).and_then(|req| engine.run(t.as_deref(), &p, req));
        responses.push(match answer {
            Ok((_, resp)) => {
                let mut v =
                    serde_json::to_value(resp).map_err(|e| QueryError::Search(e.to_string()))?;
                v["status"] = json!(200);
                v
            }
            Err(e) => e.to_json(),
        });
    }
    Ok(json!({
        "took": started.elapsed().as_millis() as u64,
        "responses": responses,
    }))
}
