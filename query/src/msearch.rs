//! `_msearch`: NDJSON header/body pairs, one answer per pair; a failing search answers with its
//! own error and status and does not fail the others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use serde_json::{Map, Value, json};

use crate::engine::Engine;
use crate::error::QueryError;
use crate::request::{SearchParams, SearchRequest};

/// What a header line may hold (Elasticsearch refuses anything else).
const HEADER_KEYS: &[&str] = &[
    "index",
    "indices",
    "search_type",
    "preference",
    "routing",
    "request_cache",
    "ignore_unavailable",
    "allow_no_indices",
    "expand_wildcards",
    "ignore_throttled",
    "allow_partial_search_results",
    "ccs_minimize_roundtrips",
    "max_concurrent_shard_requests",
    "pre_filter_shard_size",
    "type",
];

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
        Err(e) => return Err(QueryError::json(&e)),
    };
    if let Some(key) = h.keys().find(|k| !HEADER_KEYS.contains(&k.as_str())) {
        return Err(QueryError::IllegalArgument(format!(
            "key [{key}] is not supported in the metadata section"
        )));
    }
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
    if let Some(Value::String(t)) = h.get("search_type") {
        p.search_type = Some(t.clone());
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
        return Err(QueryError::Validation("no requests added".to_string()));
    }
    let mut searches = Vec::with_capacity(lines.len().div_ceil(2));
    for pair in lines.chunks(2) {
        let (t, p) = header(pair[0], params)?;
        let body = pair.get(1).copied().unwrap_or(b"{}");
        searches.push((t.or_else(|| target.map(str::to_string)), p, body));
    }
    let one = |(t, p, body): &(Option<String>, SearchParams, &[u8])| -> Value {
        let answer = SearchRequest::parse(body, p).and_then(|req| engine.run(t.as_deref(), p, req));
        match answer.and_then(|(_, resp)| {
            serde_json::to_value(resp).map_err(|e| QueryError::Search(e.to_string()))
        }) {
            Ok(mut v) => {
                v["status"] = json!(200);
                v
            }
            Err(e) => e.to_json(),
        }
    };
    let workers = concurrency(params, searches.len());
    let responses: Vec<Value> = if workers <= 1 {
        searches.iter().map(one).collect()
    } else {
        // The searches of one `_msearch` run side by side, as Elasticsearch fans them out
        // over its search threads (a dashboard's panels answer in the time of the slowest,
        // not of their sum); `max_concurrent_searches` bounds them, by default the cores.
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<Value>>> = searches.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            let work = || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(s) = searches.get(i) else { break };
                *slots[i].lock() = Some(one(s));
            };
            for _ in 1..workers {
                // Search threads' stack, as the blocking pool's (deep requests are bounded
                // well within it).
                let spawned = std::thread::Builder::new()
                    .name("hydrant-msearch".into())
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, work);
                if spawned.is_err() {
                    break; // fewer threads; this one still works through every search
                }
            }
            work();
        });
        slots
            .into_iter()
            .map(|s| {
                s.into_inner()
                    .unwrap_or_else(|| QueryError::Search("search did not run".into()).to_json())
            })
            .collect()
    };
    Ok(json!({
        "took": started.elapsed().as_millis() as u64,
        "responses": responses,
    }))
}

/// How many searches of one `_msearch` run at once: its `max_concurrent_searches`, else the
/// cores, never more than there are searches.
fn concurrency(params: &SearchParams, searches: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = params.max_concurrent_searches.map_or(cores, |n| n as usize);
    wanted.clamp(1, 64).min(searches)
}
