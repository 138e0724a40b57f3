//! Elasticsearch Query DSL (JSON) → [`QueryAst`].

use serde_json::{Map, Value};

use crate::ast::{BoolQuery, MinimumShouldMatch, QueryAst};
use crate::error::QueryError;

mod geo;
mod leaf;
mod text;

fn parsing(reason: impl Into<String>) -> QueryError {
    QueryError::Parsing(reason.into())
}

/// How deeply compound queries (`bool`, `constant_score`, `dis_max`) may nest: Elasticsearch's
/// default for `indices.query.bool.max_nested_depth`. Request bodies are JSON nested at most
/// 128 deep (serde_json's limit), so this bounds the recursion of every later stage too.
pub const MAX_NESTED_DEPTH: usize = 30;

/// Most clauses one `bool` query may have (`indices.query.bool.max_clause_count`); a `terms`
/// query's values are not clauses here.
pub const MAX_CLAUSE_COUNT: usize = 1024;

/// Parses one query object, such as `{"match_all": {}}`.
pub fn parse_query(value: &Value) -> Result<QueryAst, QueryError> {
    parse_nested(value, 1)
}

thread_local! {
    /// Named queries (`_name`) met while parsing, when a caller collects them.
    static NAMED: std::cell::RefCell<Option<Vec<(String, QueryAst)>>> =
        const { std::cell::RefCell::new(None) };
}

/// Parses `value` as [`parse_query`] does, and also returns every query in it that carries a
/// `_name`, each as its own query: what `matched_queries` tests each hit against.
pub fn parse_query_named(value: &Value) -> Result<(QueryAst, Vec<(String, QueryAst)>), QueryError> {
    // Parsing is synchronous and recursive on this thread: a thread-local list saves threading
    // a collector through every query parser.
    let outer = NAMED.with(|n| n.borrow_mut().replace(Vec::new()));
    let parsed = parse_query(value);
    let named = NAMED.with(|n| std::mem::replace(&mut *n.borrow_mut(), outer));
    Ok((parsed?, named.unwrap_or_default()))
}

/// The `_name` of a query's body: at its top (`{"bool": {…, "_name": "n"}}`), or in the object
/// of its one field (`{"term": {"level": {"value": "error", "_name": "n"}}}`).
fn query_name(body: &Value) -> Option<&str> {
    let obj = body.as_object()?;
    if let Some(Value::String(n)) = obj.get("_name") {
        return Some(n);
    }
    let mut fields = obj
        .iter()
        .filter(|(k, _)| !k.starts_with('_') && k.as_str() != "boost");
    match (fields.next(), fields.next()) {
        (Some((_, Value::Object(inner))), None) => inner.get("_name").and_then(Value::as_str),
        _ => None,
    }
}

/// Parses a query found `depth` levels down (the top query is level 1).
fn parse_nested(value: &Value, depth: usize) -> Result<QueryAst, QueryError> {
    if depth > MAX_NESTED_DEPTH {
        return Err(QueryError::IllegalArgument(
            "The nested depth of the query exceeds the maximum nested depth for queries set in \
             [indices.query.bool.max_nested_depth]"
                .to_string(),
        ));
    }
    let obj = value.as_object().ok_or_else(|| {
        parsing(format!(
            "query malformed, must start with start_object, got [{}]",
            kind(value)
        ))
    })?;
    let mut iter = obj.iter();
    let (name, body) = iter
        .next()
        .ok_or_else(|| parsing("query malformed, empty clause found"))?;
    if let Some((second, _)) = iter.next() {
        return Err(parsing(format!(
            "[{name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME] [{second}]"
        )));
    }
    let parsed = parse_one(name, body, depth)?;
    if let Some(n) = query_name(body) {
        NAMED.with(|named| {
            if let Some(list) = named.borrow_mut().as_mut() {
                list.push((n.to_string(), parsed.clone()));
            }
        });
    }
    Ok(parsed)
}

/// The query `name` with `body`, `depth` levels down.
fn parse_one(name: &str, body: &Value, depth: usize) -> Result<QueryAst, QueryError> {
    match name {
        "match_all" => Ok(with_boost(QueryAst::MatchAll, body)),
        "match_none" => Ok(QueryAst::MatchNone),
        "bool" => parse_bool(body, depth),
        "match" => text::parse_match(name, body, false),
        "match_phrase" => text::parse_match(name, body, true),
        "match_phrase_prefix" | "match_bool_prefix" => text::parse_match_prefix(name, body),
        "multi_match" => text::parse_multi_match(body),
        "query_string" => text::parse_query_string_dsl(body),
        "simple_query_string" => text::parse_simple(body),
        "geo_bounding_box" => geo::parse_bounding_box(body),
        "geo_distance" => geo::parse_distance(body),
        "geo_polygon" => geo::parse_polygon(body),
        "geo_shape" => geo::parse_shape(body),
        "term" => leaf::parse_term(body),
        "terms" => leaf::parse_terms(body),
        "range" => leaf::parse_range(body),
        "exists" => leaf::parse_exists(body),
        "ids" => leaf::parse_ids(body),
        "prefix" => leaf::parse_prefix(body),
        "fuzzy" => leaf::parse_fuzzy(body),
        "wildcard" => leaf::parse_pattern(name, body, false),
        "regexp" => leaf::parse_pattern(name, body, true),
        "constant_score" => {
            let o = object(name, body)?;
            let filter = o
                .get("filter")
                .ok_or_else(|| parsing("[constant_score] requires a 'filter' element"))?;
            Ok(QueryAst::ConstantScore {
                filter: Box::new(parse_nested(filter, depth + 1)?),
                boost: boost_of(o).unwrap_or(1.0),
            })
        }
        "dis_max" => parse_dis_max(body, depth),
        // Hydrant maps no field `nested` (objects are flattened into dotted paths, as
        // Elasticsearch's default `object` type does), so every path is one ES finds no nested
        // object under.
        "nested" => {
            let o = object(name, body)?;
            if o.get("ignore_unmapped").and_then(Value::as_bool) == Some(true) {
                return Ok(QueryAst::MatchNone);
            }
            let path = o
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| parsing("[nested] requires 'path' field"))?;
            Err(QueryError::QueryShard(format!(
                "[nested] failed to find nested object under path [{path}]"
            )))
        }
        other if NOT_SUPPORTED.contains(&other) => Err(QueryError::Unsupported {
            what: format!("query [{other}]"),
        }),
        other => Err(parsing(format!("unknown query [{other}]"))),
    }
}

/// Elasticsearch and OpenSearch queries Hydrant does not run: named as such, rather than as
/// unknown, so a client knows the request was understood and what is missing.
const NOT_SUPPORTED: &[&str] = &[
    "boosting",
    "combined_fields",
    "distance_feature",
    "field_masking_span",
    "function_score",
    "geo_grid",
    "has_child",
    "has_parent",
    "intervals",
    "knn",
    "more_like_this",
    "neural",
    "parent_id",
    "percolate",
    "pinned",
    "rank_feature",
    "script",
    "script_score",
    "shape",
    "span_containing",
    "span_first",
    "span_multi",
    "span_near",
    "span_not",
    "span_or",
    "span_term",
    "span_within",
    "terms_set",
    "wrapper",
];

fn parse_dis_max(body: &Value, depth: usize) -> Result<QueryAst, QueryError> {
    let o = object("dis_max", body)?;
    let queries = o
        .get("queries")
        .and_then(Value::as_array)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| parsing("[dis_max] requires 'queries' field with at least one clause"))?
        .iter()
        .map(|q| parse_nested(q, depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let tie_breaker = o.get("tie_breaker").and_then(Value::as_f64).unwrap_or(0.0) as f32;
    Ok(with_boost(
        QueryAst::DisMax {
            queries,
            tie_breaker,
        },
        body,
    ))
}

/// The name of the JSON token `v` starts with, as Elasticsearch's errors name it.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

fn object<'a>(name: &str, v: &'a Value) -> Result<&'a Map<String, Value>, QueryError> {
    v.as_object().ok_or_else(|| {
        parsing(format!(
            "[{name}] query malformed, no start_object after query name"
        ))
    })
}

fn boost_of(o: &Map<String, Value>) -> Option<f32> {
    o.get("boost").and_then(Value::as_f64).map(|b| b as f32)
}

fn with_boost(q: QueryAst, body: &Value) -> QueryAst {
    match body.as_object().and_then(boost_of) {
        Some(b) if (b - 1.0).abs() > f32::EPSILON => QueryAst::Boost {
            query: Box::new(q),
            boost: b,
        },
        _ => q,
    }
}

/// The text of a scalar: strings as they are, numbers and booleans as written.
pub fn scalar_text(v: &Value) -> Result<String, QueryError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(parsing(format!("expected a value, got [{}]", kind(other)))),
    }
}

/// `{"field": …}`: the one field name and its body.
fn single_field<'a>(name: &str, body: &'a Value) -> Result<(String, &'a Value), QueryError> {
    let o = object(name, body)?;
    let mut fields = o
        .iter()
        .filter(|(k, _)| k.as_str() != "boost" && k.as_str() != "_name");
    let (field, v) = fields
        .next()
        .ok_or_else(|| parsing(format!("[{name}] query doesn't support an empty body")))?;
    if let Some((other, _)) = fields.next() {
        return Err(parsing(format!(
            "[{name}] query doesn't support multiple fields, found [{field}] and [{other}]"
        )));
    }
    if field.is_empty() {
        return Err(QueryError::IllegalArgument(
            "field name is null or empty".to_string(),
        ));
    }
    Ok((field.clone(), v))
}

fn parse_msm(v: &Value) -> Result<MinimumShouldMatch, QueryError> {
    match v {
        Value::Number(n) => n.as_i64().map(MinimumShouldMatch::Count).ok_or_else(|| {
            parsing(format!(
                "[minimum_should_match] must be an integer, got [{n}]"
            ))
        }),
        Value::String(s) => {
            let s = s.trim();
            if let Some(p) = s.strip_suffix('%') {
                p.trim()
                    .parse::<f64>()
                    .map(MinimumShouldMatch::Percent)
                    .map_err(|_| parsing(format!("cannot parse [minimum_should_match] [{s}]")))
            } else {
                s.parse::<i64>()
                    .map(MinimumShouldMatch::Count)
                    .map_err(|_| parsing(format!("cannot parse [minimum_should_match] [{s}]")))
            }
        }
        other => Err(parsing(format!(
            "[minimum_should_match] must be a number or a string, got [{}]",
            kind(other)
        ))),
    }
}

fn parse_bool(body: &Value, depth: usize) -> Result<QueryAst, QueryError> {
    let o = object("bool", body)?;
    let mut b = BoolQuery::default();
    for (key, v) in o {
        let target = match key.as_str() {
            "must" => &mut b.must,
            "should" => &mut b.should,
            "must_not" | "mustNot" => &mut b.must_not,
            "filter" => &mut b.filter,
            "minimum_should_match" => {
                b.minimum_should_match = Some(parse_msm(v)?);
                continue;
            }
            "boost" | "_name" | "adjust_pure_negative" => continue,
            other => {
                return Err(QueryError::XContentParse(format!(
                    "[bool] unknown field [{other}]"
                )));
            }
        };
        match v {
            Value::Array(items) => {
                for item in items {
                    target.push(parse_nested(item, depth + 1)?);
                }
            }
            Value::Object(_) => target.push(parse_nested(v, depth + 1)?),
            other => {
                return Err(parsing(format!(
                    "[bool] query malformed, [{key}] must be an object or array, got [{}]",
                    kind(other)
                )));
            }
        }
    }
    let clauses = b.must.len() + b.should.len() + b.must_not.len() + b.filter.len();
    if clauses > MAX_CLAUSE_COUNT {
        return Err(QueryError::QueryShard(format!(
            "failed to create query: maxClauseCount is set to {MAX_CLAUSE_COUNT}"
        )));
    }
    Ok(with_boost(QueryAst::Bool(b), body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ast::{MatchKind, Operator};

    #[test]
    fn compound_queries_nest_up_to_the_limit() {
        let nest = |n: usize| {
            let mut q = json!({"match_all": {}});
            for i in 1..n {
                q = match i % 3 {
                    0 => json!({"bool": {"must": [q]}}),
                    1 => json!({"constant_score": {"filter": q}}),
                    _ => json!({"dis_max": {"queries": [q]}}),
                };
            }
            q
        };
        assert!(parse_query(&nest(MAX_NESTED_DEPTH)).is_ok());
        let err = parse_query(&nest(MAX_NESTED_DEPTH + 1)).unwrap_err();
        assert_eq!(err.es_type(), "illegal_argument_exception");
        assert!(err.to_string().contains("max_nested_depth"), "{err}");
    }

    #[test]
    fn queries_hydrant_does_not_run_are_named_as_not_supported() {
        let err = parse_query(&json!({"script": {"script": "doc['a'].value > 1"}})).unwrap_err();
        assert_eq!(err.to_string(), "query [script] is not supported");
        assert_eq!(err.status().as_u16(), 400);
    }

    #[test]
    fn unknown_query_is_a_parsing_exception() {
        let err = parse_query(&json!({"geo_shapes": {}})).unwrap_err();
        assert_eq!(err.es_type(), "parsing_exception");
        assert_eq!(err.to_string(), "unknown query [geo_shapes]");
    }

    #[test]
    fn bool_accepts_objects_and_arrays() {
        let q = parse_query(&json!({"bool": {
            "must": {"match": {"msg": "a b"}},
            "filter": [{"term": {"status": 404}}, {"range": {"bytes": {"gte": 10}}}],
            "must_not": [{"exists": {"field": "x"}}],
            "minimum_should_match": "75%"
        }}))
        .unwrap();
        let QueryAst::Bool(b) = q else { panic!() };
        assert_eq!(b.must.len(), 1);
        assert_eq!(b.filter.len(), 2);
        assert_eq!(b.must_not.len(), 1);
        assert_eq!(
            b.minimum_should_match,
            Some(MinimumShouldMatch::Percent(75.0))
        );
        assert_eq!(
            b.filter[0],
            QueryAst::Term {
                field: "status".into(),
                value: "404".into()
            }
        );
    }

    #[test]
    fn match_with_operator_and_bad_operator() {
        let q =
            parse_query(&json!({"match": {"msg": {"query": "a b", "operator": "AND"}}})).unwrap();
        assert!(matches!(
            q,
            QueryAst::Match {
                kind: MatchKind::Words {
                    operator: Operator::And,
                    ..
                },
                ..
            }
        ));
        let err =
            parse_query(&json!({"match": {"msg": {"query": "a", "operator": "xor"}}})).unwrap_err();
        assert_eq!(err.es_type(), "illegal_argument_exception");
    }

    #[test]
    fn two_query_names_in_one_object_are_rejected() {
        let err = parse_query(&json!({"match_all": {}, "match_none": {}})).unwrap_err();
        assert_eq!(err.es_type(), "parsing_exception");
    }

    #[test]
    fn msm_arithmetic() {
        assert_eq!(MinimumShouldMatch::Count(2).required(3), 2);
        assert_eq!(MinimumShouldMatch::Count(-1).required(3), 2);
        assert_eq!(MinimumShouldMatch::Percent(75.0).required(3), 2);
        assert_eq!(MinimumShouldMatch::Percent(-25.0).required(4), 3);
        assert_eq!(MinimumShouldMatch::Count(5).required(3), 3);
    }
}
