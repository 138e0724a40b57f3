//! Elasticsearch Query DSL (JSON) → [`QueryAst`].

use serde_json::{Map, Value};

use crate::ast::{BoolQuery, MatchKind, MinimumShouldMatch, Operator, QueryAst, RangeBound};
use crate::error::QueryError;
use crate::query_string::{QueryStringOptions, parse_query_string};

fn parsing(reason: impl Into<String>) -> QueryError {
    QueryError::Parsing(reason.into())
}

/// Parses one query object, such as `{"match_all": {}}`.
pub fn parse_query(value: &Value) -> Result<QueryAst, QueryError> {
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
    match name.as_str() {
        "match_all" => Ok(with_boost(QueryAst::MatchAll, body)),
        "match_none" => Ok(QueryAst::MatchNone),
        "bool" => parse_bool(body),
        "match" => parse_match(name, body, false),
        "match_phrase" => parse_match(name, body, true),
        "term" => parse_term(body),
        "terms" => parse_terms(body),
        "range" => parse_range(body),
        "exists" => {
            let field = object(name, body)?
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| parsing("[exists] must be provided with a [field]"))?;
            Ok(QueryAst::Exists {
                field: field.to_string(),
            })
        }
        "ids" => {
            let values = object(name, body)?
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| parsing("[ids] requires a [values] array"))?;
            Ok(QueryAst::Ids(
                values.iter().map(scalar_text).collect::<Result<_, _>>()?,
            ))
        }
        "prefix" => {
            let (field, v) = single_field(name, body)?;
            let prefix = match v {
                Value::Object(o) => o
                    .get("value")
                    .map(scalar_text)
                    .transpose()?
                    .ok_or_else(|| parsing("[prefix] requires a [value]"))?,
                other => scalar_text(other)?,
            };
            Ok(QueryAst::Prefix {
                field: Some(field),
                prefix,
            })
        }
        "query_string" => parse_query_string_dsl(body),
        "constant_score" => {
            let o = object(name, body)?;
            let filter = o
                .get("filter")
                .ok_or_else(|| parsing("[constant_score] requires a 'filter' element"))?;
            Ok(QueryAst::ConstantScore {
                filter: Box::new(parse_query(filter)?),
                boost: boost_of(o).unwrap_or(1.0),
            })
        }
        other => Err(parsing(format!("unknown query [{other}]"))),
    }
}

fn kind(v: &Value) -> &'static str {
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

fn parse_bool(body: &Value) -> Result<QueryAst, QueryError> {
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
            other => return Err(parsing(format!("[bool] query does not support [{other}]"))),
        };
        match v {
            Value::Array(items) => {
                for item in items {
                    target.push(parse_query(item)?);
                }
            }
            Value::Object(_) => target.push(parse_query(v)?),
            other => {
                return Err(parsing(format!(
                    "[bool] query malformed, [{key}] must be an object or array, got [{}]",
                    kind(other)
                )));
            }
        }
    }
    Ok(with_boost(QueryAst::Bool(b), body))
}

fn parse_match(name: &str, body: &Value, phrase: bool) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field(name, body)?;
    let (text, operator, msm, slop) = match v {
        Value::Object(o) => {
            let text = o
                .get("query")
                .map(scalar_text)
                .transpose()?
                .ok_or_else(|| parsing(format!("[{name}] requires query value")))?;
            let operator = match o.get("operator").and_then(Value::as_str) {
                None => Operator::Or,
                Some(op) if op.eq_ignore_ascii_case("or") => Operator::Or,
                Some(op) if op.eq_ignore_ascii_case("and") => Operator::And,
                Some(op) => {
                    return Err(QueryError::IllegalArgument(format!(
                        "operator needs to be either [and] or [or], got [{op}]"
                    )));
                }
            };
            let msm = o.get("minimum_should_match").map(parse_msm).transpose()?;
            let slop = o.get("slop").and_then(Value::as_u64).unwrap_or(0) as u32;
            (text, operator, msm, slop)
        }
        other => (scalar_text(other)?, Operator::Or, None, 0),
    };
    let kind = if phrase {
        MatchKind::Phrase { slop }
    } else {
        MatchKind::Words {
            operator,
            minimum_should_match: msm,
        }
    };
    let field = if field == "*" || field == "_all" {
        None
    } else {
        Some(field)
    };
    Ok(QueryAst::Match { field, text, kind })
}

fn parse_term(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("term", body)?;
    let value = match v {
        Value::Object(o) => o
            .get("value")
            .map(scalar_text)
            .transpose()?
            .ok_or_else(|| parsing("[term] query requires a [value]"))?,
        other => scalar_text(other)?,
    };
    Ok(with_boost(QueryAst::Term { field, value }, v))
}

fn parse_terms(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("terms", body)?;
    let values = v.as_array().ok_or_else(|| {
        parsing(format!(
            "[terms] query does not support [{field}] with a non-array value"
        ))
    })?;
    let should = values
        .iter()
        .map(|v| {
            Ok(QueryAst::Term {
                field: field.clone(),
                value: scalar_text(v)?,
            })
        })
        .collect::<Result<Vec<_>, QueryError>>()?;
    if should.is_empty() {
        return Ok(QueryAst::MatchNone);
    }
    Ok(QueryAst::ConstantScore {
        filter: Box::new(QueryAst::Bool(BoolQuery {
            should,
            ..BoolQuery::default()
        })),
        boost: 1.0,
    })
}

fn parse_range(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("range", body)?;
    let o = object("range", v)?;
    let mut lower = RangeBound::Unbounded;
    let mut upper = RangeBound::Unbounded;
    let mut format = None;
    let mut time_zone = None;
    let mut include_lower = true;
    let mut include_upper = true;
    let mut from = None;
    let mut to = None;
    for (key, val) in o {
        let text = || -> Result<Option<String>, QueryError> {
            if val.is_null() {
                Ok(None)
            } else {
                scalar_text(val).map(Some)
            }
        };
        match key.as_str() {
            "gte" => lower = text()?.map_or(RangeBound::Unbounded, RangeBound::Inclusive),
            "gt" => lower = text()?.map_or(RangeBound::Unbounded, RangeBound::Exclusive),
            "lte" => upper = text()?.map_or(RangeBound::Unbounded, RangeBound::Inclusive),
            "lt" => upper = text()?.map_or(RangeBound::Unbounded, RangeBound::Exclusive),
            "from" => from = text()?,
            "to" => to = text()?,
            "include_lower" => include_lower = val.as_bool().unwrap_or(true),
            "include_upper" => include_upper = val.as_bool().unwrap_or(true),
            "format" => format = val.as_str().map(str::to_string),
            "time_zone" => time_zone = val.as_str().map(str::to_string),
            "boost" | "_name" | "relation" => {}
            other => {
                return Err(parsing(format!("[range] query does not support [{other}]")));
            }
        }
    }
    if let Some(f) = from {
        lower = if include_lower {
            RangeBound::Inclusive(f)
        } else {
            RangeBound::Exclusive(f)
        };
    }
    if let Some(t) = to {
        upper = if include_upper {
            RangeBound::Inclusive(t)
        } else {
            RangeBound::Exclusive(t)
        };
    }
    Ok(QueryAst::Range {
        field: Some(field),
        lower,
        upper,
        format,
        time_zone,
    })
}

fn parse_query_string_dsl(body: &Value) -> Result<QueryAst, QueryError> {
    let o = object("query_string", body)?;
    let query = o
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| parsing("[query_string] requires query value"))?;
    let default_operator = match o.get("default_operator").and_then(Value::as_str) {
        None => None,
        Some(op) if op.eq_ignore_ascii_case("or") => Some(Operator::Or),
        Some(op) if op.eq_ignore_ascii_case("and") => Some(Operator::And),
        Some(op) => {
            return Err(QueryError::IllegalArgument(format!(
                "operator needs to be either [and] or [or], got [{op}]"
            )));
        }
    };
    let fields: Vec<String> = match o.get("fields") {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|f| f.split('^').next().unwrap_or(f).to_string())
            .collect(),
        _ => Vec::new(),
    };
    let default_field = o
        .get("default_field")
        .and_then(Value::as_str)
        .map(str::to_string);
    if fields.len() > 1 {
        let should = fields
            .into_iter()
            .map(|f| {
                parse_query_string(
                    query,
                    &QueryStringOptions {
                        default_field: Some(f),
                        default_operator,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(QueryAst::Bool(BoolQuery {
            should,
            ..BoolQuery::default()
        }));
    }
    let options = QueryStringOptions {
        default_field: fields.into_iter().next().or(default_field),
        default_operator,
    };
    Ok(with_boost(parse_query_string(query, &options)?, body))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_query_is_a_parsing_exception() {
        let err = parse_query(&json!({"geo_shape": {}})).unwrap_err();
        assert_eq!(err.es_type(), "parsing_exception");
        assert_eq!(err.to_string(), "unknown query [geo_shape]");
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
