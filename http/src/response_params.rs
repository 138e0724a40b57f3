//! The URL parameters Elasticsearch honours on every JSON answer: `filter_path` (keep only the
//! listed paths — `*` in a segment, `**` for any depth, a leading `-` to remove a path instead)
//! and `pretty` (indented output). One layer applies them to every route, so that no handler
//! has to know of them; answers that are not JSON (cat tables, NDJSON) pass untouched.
//!
//! Written here rather than taken from a crate: no maintained crate implements Elasticsearch's
//! `filter_path` semantics (arrays transparent, objects emptied by the filter removed).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};

/// Largest answer the layer rewrites; a larger one is passed on as it is.
const MAX_REWRITE: usize = 256 * 1024 * 1024;

/// What the query string asks of the answer's JSON.
#[derive(Debug, Default, PartialEq)]
struct Shape {
    filter: Option<String>,
    pretty: bool,
}

fn shape_of(query: Option<&str>) -> Shape {
    let mut shape = Shape::default();
    let Some(query) = query else { return shape };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "filter_path" if !value.is_empty() => shape.filter = Some(value.into_owned()),
            "pretty" => shape.pretty = value.is_empty() || value == "true",
            _ => {}
        }
    }
    shape
}

/// The layer: `axum::middleware::from_fn(hydrant_http::response_params)`.
pub async fn response_params(req: Request, next: Next) -> Response {
    let shape = shape_of(req.uri().query());
    let response = next.run(req).await;
    if shape == Shape::default() {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.starts_with("application/json")
                || ct.starts_with("application/vnd.elasticsearch+json")
        });
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REWRITE).await else {
        // Too large to rewrite (or failed mid-way): nothing sensible can be sent any more.
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let value = match &shape.filter {
        Some(spec) => filter_path(value, spec),
        None => value,
    };
    let out = if shape.pretty {
        serde_json::to_vec_pretty(&value)
    } else {
        serde_json::to_vec(&value)
    }
    .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(out))
}

/// Keeps the paths `spec` lists (comma-separated; `-path` removes instead).
pub fn filter_path(value: Value, spec: &str) -> Value {
    let mut includes: Vec<Vec<&str>> = Vec::new();
    let mut excludes: Vec<Vec<&str>> = Vec::new();
    for p in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.strip_prefix('-') {
            Some(ex) => excludes.push(ex.split('.').collect()),
            None => includes.push(p.split('.').collect()),
        }
    }
    let mut value = if includes.is_empty() {
        value
    } else {
        let patterns: Vec<&[&str]> = includes.iter().map(Vec::as_slice).collect();
        include(value, &patterns).unwrap_or_else(|| Value::Object(Map::new()))
    };
    let patterns: Vec<&[&str]> = excludes.iter().map(Vec::as_slice).collect();
    if !patterns.is_empty() {
        exclude(&mut value, &patterns);
    }
    value
}

/// `*` anywhere in a segment stands for any run of characters.
fn segment_matches(pattern: &str, key: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == key;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !key.starts_with(first) || key.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &key[first.len()..];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The patterns that remain for the children of `key` (an empty pattern: all of it is kept).
fn advance<'a>(patterns: &[&'a [&'a str]], key: &str) -> Vec<&'a [&'a str]> {
    let mut out = Vec::new();
    for p in patterns {
        let Some((first, rest)) = p.split_first() else {
            continue;
        };
        if *first == "**" {
            out.push(*p);
            // `**` may also match nothing: its continuation applies to this key.
            if let Some((next, after)) = rest.split_first()
                && segment_matches(next, key)
            {
                out.push(after);
            }
            if rest.is_empty() {
                out.push(&[]);
            }
        } else if segment_matches(first, key) {
            out.push(rest);
        }
    }
    out
}

fn include(value: Value, patterns: &[&[&str]]) -> Option<Value> {
    if patterns.iter().any(|p| p.is_empty()) {
        return Some(value);
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let next = advance(patterns, &key);
                if next.is_empty() {
                    continue;
                }
                if let Some(kept) = include(child, &next) {
                    out.insert(key, kept);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items
                .into_iter()
                .filter_map(|v| include(v, patterns))
                .collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        // A leaf the paths go past: not kept.
        _ => None,
    }
}

fn exclude(value: &mut Value, patterns: &[&[&str]]) {
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let next = advance(patterns, &key);
                if next.iter().any(|p| p.is_empty()) {
                    map.remove(&key);
                } else if !next.is_empty()
                    && let Some(child) = map.get_mut(&key)
                {
                    exclude(child, &next);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| exclude(v, patterns)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn search() -> Value {
        json!({"took": 3, "timed_out": false, "_shards": {"total": 1},
            "hits": {"total": {"value": 2}, "hits": [
                {"_id": "a", "_source": {"x": 1, "y": 2}},
                {"_id": "b", "_source": {"x": 3}}]}})
    }

    #[test]
    fn includes_follow_arrays_and_wildcards() {
        assert_eq!(
            filter_path(search(), "took,hits.hits._id"),
            json!({"took": 3, "hits": {"hits": [{"_id": "a"}, {"_id": "b"}]}})
        );
        assert_eq!(
            filter_path(search(), "hits.hits._sou*.y"),
            json!({"hits": {"hits": [{"_source": {"y": 2}}]}})
        );
        assert_eq!(
            filter_path(search(), "**.x"),
            json!({"hits": {"hits": [{"_source": {"x": 1}}, {"_source": {"x": 3}}]}})
        );
        assert_eq!(filter_path(search(), "nothing.here"), json!({}));
        // Kibana's version check.
        let nodes = json!({"nodes": {"n1": {"version": "8.17.0", "ip": "127.0.0.1", "os": {}}}});
        assert_eq!(
            filter_path(nodes, "nodes.*.version,nodes.*.ip"),
            json!({"nodes": {"n1": {"version": "8.17.0", "ip": "127.0.0.1"}}})
        );
    }

    #[test]
    fn excludes_remove_paths() {
        assert_eq!(
            filter_path(search(), "-hits.hits._source,-_shards,-timed_out"),
            json!({"took": 3, "hits": {"total": {"value": 2}, "hits": [{"_id": "a"}, {"_id": "b"}]}})
        );
        assert_eq!(
            filter_path(search(), "hits.hits,-hits.hits._source"),
            json!({"hits": {"hits": [{"_id": "a"}, {"_id": "b"}]}})
        );
    }

    #[test]
    fn the_query_string_is_read_as_elasticsearch_does() {
        assert_eq!(
            shape_of(Some("pretty&filter_path=hits.hits._id%2Ctook")),
            Shape {
                filter: Some("hits.hits._id,took".into()),
                pretty: true
            }
        );
        assert_eq!(shape_of(Some("pretty=false&q=a")), Shape::default());
    }
}
