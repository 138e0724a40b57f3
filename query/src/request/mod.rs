//! A search request: the JSON body merged with URL parameters.

mod params;
mod sort;
mod source;

use std::time::Duration;

use serde_json::{Map, Value};

pub use params::SearchParams;
pub use sort::{
    GeoSort, Missing, SortMode, SortSpec, SortTarget, parse_sort, parse_sort_param, parse_sort_raw,
};
pub use source::{
    FieldSpec, HighlightOptions, HighlightSpec, SourceFilter, parse_field_specs, path_match,
};

use crate::aggs::{AggNode, parse_aggs};
use crate::ast::{Operator, QueryAst};
use crate::error::QueryError;
use crate::query_string::{QueryStringOptions, parse_query_string};

/// ES's `index.max_result_window`: `from + size` may not exceed it.
pub const MAX_RESULT_WINDOW: usize = 10_000;

/// How exactly the total number of hits is counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrackTotalHits {
    /// Count every hit.
    Exact,
    /// Count up to this many, then report `gte`.
    UpTo(u64),
    /// Do not report a total.
    Off,
}

/// A point in time named by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct PitRef {
    /// The id `_pit` returned.
    pub id: String,
    /// A new keep-alive, if given.
    pub keep_alive: Option<Duration>,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query.
    pub query: QueryAst,
    /// `runtime_mappings`: each runtime field's name and the field it reads.
    pub runtime: std::collections::BTreeMap<String, String>,
    /// Filters the hits (not the aggregations).
    pub post_filter: Option<QueryAst>,
    /// Hits to skip.
    pub from: usize,
    /// Hits to return.
    pub size: usize,
    /// Sort keys (empty: by score).
    pub sort: Vec<SortSpec>,
    /// How the total is counted.
    pub track_total_hits: TrackTotalHits,
    /// Compute scores even when sorting by a field.
    pub track_scores: bool,
    /// What of `_source` hits carry.
    pub source: SourceFilter,
    /// Hits carry no `_id` (`stored_fields: "_none_"`).
    pub hide_ids: bool,
    /// The queries of `query` and `post_filter` that carry a `_name`: each hit lists those it
    /// matches in `matched_queries`.
    pub named: Vec<(String, QueryAst)>,
    /// `fields`: values read from the source, flattened.
    pub fields: Vec<FieldSpec>,
    /// `docvalue_fields`: values read from columns.
    pub docvalue_fields: Vec<FieldSpec>,
    /// `highlight`.
    pub highlight: Option<HighlightSpec>,
    /// `aggs`.
    pub aggs: Vec<AggNode>,
    /// Sort values of the last hit of the previous page.
    pub search_after: Option<Vec<Value>>,
    /// Search a point in time instead of the current indices.
    pub pit: Option<PitRef>,
    /// Stop collecting after this long and answer with what was found.
    pub timeout: Option<Duration>,
    /// Stop collecting after this many documents per shard.
    pub terminate_after: Option<u64>,
    /// Hits scoring below this are dropped.
    pub min_score: Option<f32>,
    /// Hits carry `_version`.
    pub version: bool,
    /// Hits carry `_seq_no` and `_primary_term`.
    pub seq_no_primary_term: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: QueryAst::MatchAll,
            runtime: Default::default(),
            post_filter: None,
            from: 0,
            size: 10,
            sort: Vec::new(),
            track_total_hits: TrackTotalHits::UpTo(10_000),
            track_scores: false,
            source: SourceFilter::default(),
            hide_ids: false,
            named: Vec::new(),
            fields: Vec::new(),
            docvalue_fields: Vec::new(),
            highlight: None,
            aggs: Vec::new(),
            search_after: None,
            pit: None,
            timeout: None,
            terminate_after: None,
            min_score: None,
            version: false,
            seq_no_primary_term: false,
        }
    }
}

/// Keys of a search body that are read; anything else is an error, as in ES.
const KNOWN_KEYS: &[&str] = &[
    "query",
    "from",
    "size",
    "sort",
    "track_total_hits",
    "_source",
    "timeout",
    "stored_fields",
    "version",
    "seq_no_primary_term",
    "explain",
    "track_scores",
    "runtime_mappings",
    "script_fields",
    "docvalue_fields",
    "fields",
    "highlight",
    "aggs",
    "aggregations",
    "post_filter",
    "min_score",
    "terminate_after",
    "pit",
    "search_after",
    "collapse",
    "indices_boost",
    "profile",
    "rescore",
    "suggest",
    "ext",
    "stats",
];

impl SearchRequest {
    /// Builds a request from a body (possibly empty) and URL parameters.
    pub fn parse(body: &[u8], params: &SearchParams) -> Result<SearchRequest, QueryError> {
        let object = parse_body(body)?;
        let mut req = SearchRequest::from_object(&object, params)?;
        if object
            .get("sort")
            .is_some_and(|s| s.is_object() || s.is_array())
        {
            req.sort = parse_sort_raw(raw_sort(body)?.get())?;
        }
        Ok(req)
    }

    /// Builds a request from a parsed body and URL parameters.
    pub fn from_object(
        body: &Map<String, Value>,
        params: &SearchParams,
    ) -> Result<SearchRequest, QueryError> {
        check_keys(body)?;
        let mut req = SearchRequest::default();
        if let Some(q) = body.get("query") {
            let (query, named) = crate::dsl::parse_query_named(q)?;
            req.query = query;
            req.named = named;
        }
        if let Some(q) = &params.q {
            let options = QueryStringOptions {
                default_field: params.df.clone(),
                default_operator: match params.default_operator.as_deref() {
                    Some(op) if op.eq_ignore_ascii_case("and") => Some(Operator::And),
                    _ => None,
                },
            };
            req.query = parse_query_string(q, &options)?;
            if params.lenient == Some(true) {
                req.query = QueryAst::Lenient(Box::new(req.query));
            }
        }
        if let Some(q) = body.get("post_filter") {
            let (filter, named) = crate::dsl::parse_query_named(q)?;
            req.post_filter = Some(filter);
            req.named.extend(named);
        }
        if let Some(r) = body.get("runtime_mappings").filter(|v| !v.is_null()) {
            req.runtime = crate::runtime::parse(r)?;
        }
        if let Some(t) = params.search_type.as_deref()
            && !matches!(t, "query_then_fetch" | "dfs_query_then_fetch")
        {
            return Err(QueryError::IllegalArgument(format!(
                "No search type for [{t}]"
            )));
        }
        req.from = usize_of(body, "from")?.or(params.from).unwrap_or(0);
        req.size = usize_of(body, "size")?.or(params.size).unwrap_or(10);
        let window = req.from.saturating_add(req.size);
        if params.scroll.is_some() {
            if req.size > MAX_RESULT_WINDOW {
                return Err(QueryError::IllegalArgument(format!(
                    "Batch size is too large, size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{}]. Scroll batch sizes cost as much memory as result windows so they are controlled by the [index.max_result_window] index level setting.",
                    req.size
                )));
            }
        } else if window > MAX_RESULT_WINDOW {
            return Err(QueryError::IllegalArgument(format!(
                "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{window}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."
            )));
        }
        if let Some(sort) = body.get("sort") {
            req.sort = parse_sort(sort)?;
        } else if let Some(sort) = &params.sort {
            req.sort = parse_sort_param(sort)?;
        }
        req.track_total_hits = track_total_hits(body, params)?;
        req.track_scores = bool_of(body.get("track_scores")).or(params.track_scores) == Some(true);
        parse_source_options(&mut req, body, params)?;
        parse_paging(&mut req, body)?;
        if req.search_after.is_some() && req.sort.is_empty() && req.pit.is_none() {
            return Err(QueryError::IllegalArgument(
                "Sort must contain at least one field.".to_string(),
            ));
        }
        if req.search_after.is_some() && req.from > 0 {
            return Err(QueryError::IllegalArgument(
                "`from` parameter must be set to 0 when `search_after` is used.".to_string(),
            ));
        }
        parse_limits(&mut req, body, params)?;
        req.version = bool_of(body.get("version")).or(params.version) == Some(true);
        req.seq_no_primary_term =
            bool_of(body.get("seq_no_primary_term")).or(params.seq_no_primary_term) == Some(true);
        if let Some(aggs) = body.get("aggs").or_else(|| body.get("aggregations")) {
            req.aggs = parse_aggs(aggs)?;
        }
        Ok(req)
    }
}

fn check_keys(body: &Map<String, Value>) -> Result<(), QueryError> {
    for key in body.keys() {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            return Err(QueryError::Parsing(format!(
                "Unknown key for a START_OBJECT in [{key}]."
            )));
        }
    }
    for unsupported in ["collapse", "rescore", "suggest", "indices_boost"] {
        if body.get(unsupported).is_some_and(|v| !v.is_null()) {
            return Err(QueryError::Unsupported {
                what: format!("[{unsupported}] in a search request"),
            });
        }
    }
    for must_be_empty in ["script_fields"] {
        if body
            .get(must_be_empty)
            .and_then(Value::as_object)
            .is_some_and(|o| !o.is_empty())
        {
            return Err(QueryError::Unsupported {
                what: format!("[{must_be_empty}] in a search request"),
            });
        }
    }
    Ok(())
}

fn track_total_hits(
    body: &Map<String, Value>,
    params: &SearchParams,
) -> Result<TrackTotalHits, QueryError> {
    let tth = body
        .get("track_total_hits")
        .cloned()
        .or_else(|| params.track_total_hits.as_ref().map(|s| parse_loose(s)));
    Ok(match tth {
        None | Some(Value::Null) => TrackTotalHits::UpTo(10_000),
        Some(Value::Bool(true)) => TrackTotalHits::Exact,
        Some(Value::Bool(false)) => TrackTotalHits::Off,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(-1) => TrackTotalHits::Exact,
            Some(x) if x >= 0 => TrackTotalHits::UpTo(x as u64),
            _ => {
                return Err(QueryError::IllegalArgument(format!(
                    "[track_total_hits] parameter must be positive or equals to -1, got {n}"
                )));
            }
        },
        // ES reads anything else as an integer.
        Some(Value::String(s)) => return Err(QueryError::NumberFormat(s)),
        Some(other) => {
            return Err(QueryError::IllegalArgument(format!(
                "[track_total_hits] must be a boolean or a number, got {other}"
            )));
        }
    })
}

fn parse_source_options(
    req: &mut SearchRequest,
    body: &Map<String, Value>,
    params: &SearchParams,
) -> Result<(), QueryError> {
    if let Some(v) = body.get("_source") {
        req.source = SourceFilter::parse(v)?;
    } else if let Some(s) = &params.source {
        req.source = match parse_loose(s) {
            Value::Bool(b) => SourceFilter {
                enabled: b,
                ..SourceFilter::default()
            },
            _ => SourceFilter {
                includes: comma_list(s),
                ..SourceFilter::default()
            },
        };
    }
    if let Some(inc) = &params.source_includes {
        req.source.includes = comma_list(inc);
    }
    if let Some(exc) = &params.source_excludes {
        req.source.excludes = comma_list(exc);
    }
    let stored = body.get("stored_fields").cloned().or_else(|| {
        params
            .stored_fields
            .as_ref()
            .map(|s| Value::String(s.clone()))
    });
    // As Elasticsearch: naming stored fields turns `_source` off unless it is asked for too;
    // `_none_` also leaves out `_id`, and cannot go with `_source`.
    let asked_source = body.contains_key("_source")
        || params.source.is_some()
        || params.source_includes.is_some()
        || params.source_excludes.is_some();
    if let Some(stored) = &stored {
        let none = match stored {
            Value::String(s) => s == "_none_",
            Value::Array(a) => a.len() == 1 && a[0] == "_none_",
            _ => false,
        };
        if none && asked_source && req.source.enabled {
            return Err(QueryError::IllegalArgument(
                "[stored_fields] cannot be disabled if [_source] is requested".into(),
            ));
        }
        req.hide_ids = none;
        if !asked_source {
            req.source.enabled = false;
        }
    }
    for key in ["fields", "docvalue_fields"] {
        if let Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) = body.get(key) {
            return Err(QueryError::Parsing(format!(
                "Unknown key for a {} in [{key}].",
                crate::dsl::kind(v)
            )));
        }
    }
    if let Some(f) = body.get("fields") {
        req.fields = parse_field_specs(f, "fields")?;
    }
    if let Some(f) = body.get("docvalue_fields") {
        req.docvalue_fields = parse_field_specs(f, "docvalue_fields")?;
    } else if let Some(f) = &params.docvalue_fields {
        req.docvalue_fields = parse_field_specs(&Value::from(comma_list(f)), "docvalue_fields")?;
    }
    if let Some(h) = body.get("highlight") {
        req.highlight = Some(HighlightSpec::parse(h)?);
    }
    Ok(())
}

fn parse_paging(req: &mut SearchRequest, body: &Map<String, Value>) -> Result<(), QueryError> {
    if let Some(after) = body.get("search_after") {
        let values = after.as_array().ok_or_else(|| {
            QueryError::Parsing("[search_after] must be an array of sort values".to_string())
        })?;
        req.search_after = Some(values.clone());
    }
    if let Some(pit) = body.get("pit") {
        let id = pit
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| QueryError::Parsing("[pit] requires an [id]".to_string()))?;
        let keep_alive = pit
            .get("keep_alive")
            .and_then(Value::as_str)
            .map(|k| parse_duration(k, "keep_alive"))
            .transpose()?;
        req.pit = Some(PitRef {
            id: id.to_string(),
            keep_alive,
        });
    }
    Ok(())
}

fn parse_limits(
    req: &mut SearchRequest,
    body: &Map<String, Value>,
    params: &SearchParams,
) -> Result<(), QueryError> {
    let timeout = body
        .get("timeout")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| params.timeout.clone());
    if let Some(t) = timeout {
        req.timeout = Some(parse_duration(&t, "timeout")?);
    }
    req.terminate_after = match u64_of(body, "terminate_after")?.or(params.terminate_after) {
        Some(0) | None => None,
        Some(n) => Some(n),
    };
    req.min_score = match body.get("min_score") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_f64()
                .ok_or_else(|| QueryError::Parsing("[min_score] must be a number".to_string()))?
                as f32,
        ),
    };
    Ok(())
}

/// Parses ES durations: `500ms`, `30s`, `1m`, `2h`, `1d`, and bare milliseconds; `-1` is
/// "no limit" (`None` is never returned: callers treat a huge value as none).
pub fn parse_duration(text: &str, what: &str) -> Result<Duration, QueryError> {
    let t = text.trim();
    let bad = || {
        QueryError::IllegalArgument(format!(
            "failed to parse setting [{what}] with value [{text}] as a time value: unit is missing or unrecognized"
        ))
    };
    if t == "-1" {
        return Ok(Duration::MAX);
    }
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "nanos" => n / 1e6,
        "micros" => n / 1e3,
        "s" => n * 1e3,
        "m" => n * 60e3,
        "h" => n * 3_600e3,
        "d" => n * 86_400e3,
        _ => return Err(bad()),
    };
    Ok(Duration::from_secs_f64((ms / 1e3).max(0.0)))
}

/// The raw text of a body's `sort` (the body is known to have one).
fn raw_sort(body: &[u8]) -> Result<Box<serde_json::value::RawValue>, QueryError> {
    #[derive(serde::Deserialize)]
    struct SortOnly {
        sort: Box<serde_json::value::RawValue>,
    }
    serde_json::from_slice::<SortOnly>(body)
        .map(|s| s.sort)
        .map_err(|e| QueryError::json(&e))
}

/// The body as a JSON object (`{}` when empty).
pub fn parse_body(body: &[u8]) -> Result<Map<String, Value>, QueryError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(QueryError::Parsing(format!(
            "request body must be a JSON object, got {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                _ => "a scalar",
            }
        ))),
        Err(e) => Err(QueryError::json(&e)),
    }
}

fn parse_loose(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn bool_of(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn u64_of(body: &Map<String, Value>, key: &str) -> Result<Option<u64>, QueryError> {
    Ok(usize_of(body, key)?.map(|n| n as u64))
}

fn usize_of(body: &Map<String, Value>, key: &str) -> Result<Option<usize>, QueryError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(x) if x >= 0 => Ok(Some(x as usize)),
            _ => Err(QueryError::IllegalArgument(format!(
                "[{key}] parameter cannot be negative, found [{n}]"
            ))),
        },
        Some(Value::String(s)) => s
            .parse::<usize>()
            .map(Some)
            .map_err(|_| QueryError::NumberFormat(s.clone())),
        Some(other) => Err(QueryError::Parsing(format!(
            "[{key}] must be a number, found [{other}]"
        ))),
    }
}

#[cfg(test)]
mod tests;
