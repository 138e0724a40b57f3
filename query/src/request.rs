//! A search request: the JSON body merged with URL parameters.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ast::{Operator, QueryAst};
use crate::dsl::parse_query;
use crate::error::QueryError;
use crate::query_string::{QueryStringOptions, parse_query_string};

/// ES's `index.max_result_window`: `from + size` may not exceed it.
pub const MAX_RESULT_WINDOW: usize = 10_000;

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortSpec {
    /// Relevance, best first.
    Score,
    /// Event time.
    Timestamp {
        /// Newest first.
        desc: bool,
    },
}

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

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query.
    pub query: QueryAst,
    /// Hits to skip.
    pub from: usize,
    /// Hits to return.
    pub size: usize,
    /// Sort keys (empty: by score).
    pub sort: Vec<SortSpec>,
    /// How the total is counted.
    pub track_total_hits: TrackTotalHits,
    /// Whether hits carry `_source`.
    pub source: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: QueryAst::MatchAll,
            from: 0,
            size: 10,
            sort: Vec::new(),
            track_total_hits: TrackTotalHits::UpTo(10_000),
            source: true,
        }
    }
}

/// URL parameters of `_search` and `_count`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchParams {
    /// A Lucene query string.
    pub q: Option<String>,
    /// Default field of `q`.
    pub df: Option<String>,
    /// Default operator of `q`.
    pub default_operator: Option<String>,
    /// Hits to skip.
    pub from: Option<usize>,
    /// Hits to return.
    pub size: Option<usize>,
    /// `field:order` list.
    pub sort: Option<String>,
    /// `true`, `false` or a number.
    pub track_total_hits: Option<String>,
    /// Skip targets that do not exist.
    pub ignore_unavailable: Option<bool>,
    /// Allow a target that resolves to no index.
    pub allow_no_indices: Option<bool>,
    /// `false` drops `_source` from hits.
    #[serde(rename = "_source")]
    pub source: Option<String>,
    /// Accepted and ignored (Hydrant has no cross-cluster search or routing).
    pub rest_total_hits_as_int: Option<bool>,
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
        let mut req = SearchRequest::default();
        let body = parse_body(body)?;
        for key in body.keys() {
            if !KNOWN_KEYS.contains(&key.as_str()) {
                return Err(QueryError::Parsing(format!(
                    "Unknown key for a START_OBJECT in [{key}]."
                )));
            }
        }
        for unsupported in [
            "aggs",
            "aggregations",
            "highlight",
            "search_after",
            "pit",
            "collapse",
            "rescore",
            "suggest",
            "post_filter",
            "script_fields",
        ] {
            if body.contains_key(unsupported) {
                return Err(QueryError::Unsupported {
                    what: format!("[{unsupported}] in a search request"),
                });
            }
        }
        if let Some(q) = body.get("query") {
            req.query = parse_query(q)?;
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
        }
        req.from = usize_of(&body, "from")?.or(params.from).unwrap_or(0);
        req.size = usize_of(&body, "size")?.or(params.size).unwrap_or(10);
        if req.from + req.size > MAX_RESULT_WINDOW {
            return Err(QueryError::IllegalArgument(format!(
                "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.",
                req.from + req.size
            )));
        }
        if let Some(sort) = body.get("sort") {
            req.sort = parse_sort(sort)?;
        } else if let Some(sort) = &params.sort {
            req.sort = sort
                .split(',')
                .map(|s| {
                    let (field, order) = s.split_once(':').unwrap_or((s, "asc"));
                    sort_key(field, Some(order))
                })
                .collect::<Result<_, _>>()?;
        }
        let tth = body
            .get("track_total_hits")
            .cloned()
            .or_else(|| params.track_total_hits.as_ref().map(|s| parse_loose(s)));
        if let Some(v) = tth {
            req.track_total_hits = match v {
                Value::Bool(true) => TrackTotalHits::Exact,
                Value::Bool(false) => TrackTotalHits::Off,
                Value::Number(n) => match n.as_i64() {
                    Some(-1) => TrackTotalHits::Exact,
                    Some(x) if x >= 0 => TrackTotalHits::UpTo(x as u64),
                    _ => {
                        return Err(QueryError::IllegalArgument(format!(
                            "[track_total_hits] parameter must be positive or equals to -1, got {n}"
                        )));
                    }
                },
                other => {
                    return Err(QueryError::IllegalArgument(format!(
                        "[track_total_hits] must be a boolean or a number, got {other}"
                    )));
                }
            };
        }
        let source = body
            .get("_source")
            .cloned()
            .or_else(|| params.source.as_ref().map(|s| parse_loose(s)));
        if let Some(Value::Bool(false)) = source {
            req.source = false;
        }
        Ok(req)
    }
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
        Err(e) => Err(QueryError::XContentParse(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

fn parse_loose(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
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
        Some(Value::String(s)) => s.parse::<usize>().map(Some).map_err(|_| {
            QueryError::IllegalArgument(format!("[{key}] must be a number, found [{s}]"))
        }),
        Some(other) => Err(QueryError::Parsing(format!(
            "[{key}] must be a number, found [{other}]"
        ))),
    }
}

fn parse_sort(v: &Value) -> Result<Vec<SortSpec>, QueryError> {
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(field) => out.push(sort_key(field, None)?),
            Value::Object(o) => {
                for (field, spec) in o {
                    let order = match spec {
                        Value::String(s) => Some(s.as_str()),
                        Value::Object(so) => so.get("order").and_then(Value::as_str),
                        _ => None,
                    };
                    out.push(sort_key(field, order)?);
                }
            }
            other => {
                return Err(QueryError::Parsing(format!(
                    "malformed sort entry [{other}]"
                )));
            }
        }
    }
    Ok(out)
}

fn sort_key(field: &str, order: Option<&str>) -> Result<SortSpec, QueryError> {
    let desc = match order.map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("desc") => Some(true),
        Some("asc") => Some(false),
        Some(other) => {
            return Err(QueryError::IllegalArgument(format!(
                "Unknown SortOrder [{other}], use [asc] or [desc]"
            )));
        }
    };
    match field {
        "_score" => Ok(SortSpec::Score),
        "@timestamp" => Ok(SortSpec::Timestamp {
            desc: desc.unwrap_or(false),
        }),
        other => Err(QueryError::Unsupported {
            what: format!("sorting on [{other}]"),
        }),
    }
}
