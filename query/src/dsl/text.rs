//! Full-text queries: `match`, `match_phrase`, `multi_match`, `query_string`,
//! `simple_query_string`.

use serde_json::Value;
use tantivy::tokenizer::TokenStream;

use super::{object, parse_msm, parsing, scalar_text, single_field, with_boost};
use crate::ast::{BoolQuery, MatchKind, MinimumShouldMatch, Operator, QueryAst};
use crate::error::QueryError;
use crate::query_string::{QueryStringOptions, parse_query_string};
use crate::simple_query_string::{self, SimpleOptions};

pub(super) fn parse_match(name: &str, body: &Value, phrase: bool) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field(name, body)?;
    let (text, operator, msm, slop) = match v {
        Value::Object(o) => {
            let text = o
                .get("query")
                .map(scalar_text)
                .transpose()?
                .ok_or_else(|| parsing(format!("[{name}] requires query value")))?;
            let operator = operator(o.get("operator"))?.unwrap_or(Operator::Or);
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
    let zero_terms_all = zero_terms_all(name, v)?;
    let q = lenient(
        QueryAst::Match {
            field,
            text: text.clone(),
            kind,
        },
        v,
    );
    Ok(if zero_terms_all {
        QueryAst::ZeroTermsAll {
            query: Box::new(q),
            text,
        }
    } else {
        q
    })
}

/// `zero_terms_query`: `none` (the default: a text without terms matches nothing) or `all`.
fn zero_terms_all(name: &str, v: &Value) -> Result<bool, QueryError> {
    match v.get("zero_terms_query") {
        None => Ok(false),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("none") => Ok(false),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("all") => Ok(true),
        Some(other) => Err(parsing(format!(
            "[{name}] unsupported zero_terms_query value [{}]",
            other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string)
        ))),
    }
}

/// `match_phrase_prefix` and `match_bool_prefix`: the last word of the text is a prefix.
pub(super) fn parse_match_prefix(name: &str, body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field(name, body)?;
    let (text, operator, msm, slop, max_expansions) = match v {
        Value::Object(o) => {
            let text = o
                .get("query")
                .map(scalar_text)
                .transpose()?
                .ok_or_else(|| parsing(format!("[{name}] requires query value")))?;
            (
                text,
                operator(o.get("operator"))?.unwrap_or(Operator::Or),
                o.get("minimum_should_match").map(parse_msm).transpose()?,
                o.get("slop").and_then(Value::as_u64).unwrap_or(0),
                o.get("max_expansions")
                    .and_then(Value::as_u64)
                    .unwrap_or(50) as u32,
            )
        }
        other => (scalar_text(other)?, Operator::Or, None, 0, 50),
    };
    if slop > 0 {
        return Err(QueryError::Unsupported {
            what: format!("[slop] in [{name}]"),
        });
    }
    let kind = if name == "match_phrase_prefix" {
        MatchKind::PhrasePrefix { max_expansions }
    } else {
        MatchKind::BoolPrefix {
            operator,
            minimum_should_match: msm,
            max_expansions,
        }
    };
    let field = if field == "*" || field == "_all" {
        None
    } else {
        Some(field)
    };
    Ok(lenient(QueryAst::Match { field, text, kind }, v))
}

/// `q` under `lenient: true` when `body` asks for it.
fn lenient(q: QueryAst, body: &Value) -> QueryAst {
    if body.get("lenient").and_then(Value::as_bool) == Some(true) {
        QueryAst::Lenient(Box::new(q))
    } else {
        q
    }
}

pub(super) fn parse_query_string_dsl(body: &Value) -> Result<QueryAst, QueryError> {
    let mut q = parse_query_string_body(body)?;
    if body.get("allow_leading_wildcard").and_then(Value::as_bool) == Some(false) {
        let mut leading = None;
        q.visit_mut(&mut |node| {
            if let QueryAst::Wildcard { pattern, .. } = node
                && pattern.starts_with(['*', '?'])
            {
                leading.get_or_insert_with(|| pattern.clone());
            }
        });
        if let Some(p) = leading {
            return Err(QueryError::QueryShard(format!(
                "Failed to parse query: Leading wildcard is not allowed: [{p}]"
            )));
        }
    }
    Ok(q)
}

fn parse_query_string_body(body: &Value) -> Result<QueryAst, QueryError> {
    let o = object("query_string", body)?;
    let query = o
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| parsing("[query_string] requires query value"))?;
    let default_operator = operator(o.get("default_operator"))?;
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
        return Ok(lenient(
            QueryAst::Bool(BoolQuery {
                should,
                ..BoolQuery::default()
            }),
            body,
        ));
    }
    let options = QueryStringOptions {
        default_field: fields.into_iter().next().or(default_field),
        default_operator,
    };
    Ok(lenient(
        with_boost(parse_query_string(query, &options)?, body),
        body,
    ))
}

/// `operator` / `default_operator`.
fn operator(v: Option<&Value>) -> Result<Option<Operator>, QueryError> {
    match v.and_then(Value::as_str) {
        None => Ok(None),
        Some(op) if op.eq_ignore_ascii_case("or") => Ok(Some(Operator::Or)),
        Some(op) if op.eq_ignore_ascii_case("and") => Ok(Some(Operator::And)),
        Some(op) => Err(QueryError::IllegalArgument(format!(
            "operator needs to be either [and] or [or], got [{op}]"
        ))),
    }
}

/// `fields` entries: `name` or `name^boost`.
fn fields_with_boosts(v: Option<&Value>) -> Vec<(String, Option<f32>)> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(Value::as_str)
        .map(|f| match f.split_once('^') {
            Some((name, boost)) => (name.to_string(), boost.parse().ok()),
            None => (f.to_string(), None),
        })
        .collect()
}

fn boosted(q: QueryAst, boost: Option<f32>) -> QueryAst {
    match boost {
        Some(b) if (b - 1.0).abs() > f32::EPSILON => QueryAst::Boost {
            query: Box::new(q),
            boost: b,
        },
        _ => q,
    }
}

pub(super) fn parse_multi_match(body: &Value) -> Result<QueryAst, QueryError> {
    let o = object("multi_match", body)?;
    let text = o
        .get("query")
        .map(scalar_text)
        .transpose()?
        .ok_or_else(|| parsing("[multi_match] requires query value"))?;
    for key in o.keys() {
        match key.as_str() {
            "query"
            | "fields"
            | "type"
            | "operator"
            | "minimum_should_match"
            | "tie_breaker"
            | "boost"
            | "_name"
            | "lenient"
            | "analyzer"
            | "slop"
            | "zero_terms_query"
            | "auto_generate_synonyms_phrase_query"
            | "prefix_length"
            | "max_expansions" => {}
            "fuzziness" => {
                return Err(QueryError::Unsupported {
                    what: "[fuzziness] in [multi_match]".to_string(),
                });
            }
            other => {
                return Err(parsing(format!(
                    "[multi_match] query does not support [{other}]"
                )));
            }
        }
    }
    let operator = operator(o.get("operator"))?.unwrap_or(Operator::Or);
    let msm = o.get("minimum_should_match").map(parse_msm).transpose()?;
    let slop = o.get("slop").and_then(Value::as_u64).unwrap_or(0) as u32;
    let kind_name = o
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("best_fields");
    let kind = match kind_name {
        "best_fields" | "most_fields" | "cross_fields" => MatchKind::Words {
            operator,
            minimum_should_match: msm,
        },
        "phrase" => MatchKind::Phrase { slop },
        other => {
            return Err(QueryError::Unsupported {
                what: format!("[multi_match] of type [{other}]"),
            });
        }
    };
    let mut fields = fields_with_boosts(o.get("fields"));
    if fields.is_empty() {
        fields.push(("*".to_string(), None));
    }
    let tie_breaker = o.get("tie_breaker").and_then(Value::as_f64).unwrap_or(0.0) as f32;
    if kind_name == "cross_fields" {
        let q = cross_fields(&text, &fields, operator, msm, tie_breaker);
        return Ok(lenient(with_boost(q, body), body));
    }
    let per_field: Vec<QueryAst> = fields
        .into_iter()
        .map(|(f, boost)| {
            let field = (f != "*").then_some(f);
            boosted(
                QueryAst::Match {
                    field,
                    text: text.clone(),
                    kind: kind.clone(),
                },
                boost,
            )
        })
        .collect();
    let q = match kind_name {
        "most_fields" => QueryAst::Bool(BoolQuery {
            should: per_field,
            ..BoolQuery::default()
        }),
        _ => QueryAst::DisMax {
            queries: per_field,
            tie_breaker,
        },
    };
    let q = lenient(with_boost(q, body), body);
    Ok(if zero_terms_all("multi_match", body)? {
        QueryAst::ZeroTermsAll {
            query: Box::new(q),
            text,
        }
    } else {
        q
    })
}

/// `cross_fields`: the fields as one. Each word must be in one of them (any, or all with
/// `operator: and`, or `minimum_should_match` of them), the best field's score counting per
/// word. Words are cut by the `standard` analyzer.
fn cross_fields(
    text: &str,
    fields: &[(String, Option<f32>)],
    operator: Operator,
    msm: Option<MinimumShouldMatch>,
    tie_breaker: f32,
) -> QueryAst {
    let mut analyzer = hydrant_index::tokenizer::standard_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while stream.advance() {
        words.push(stream.token().text.clone());
    }
    let per_word: Vec<QueryAst> = words
        .into_iter()
        .map(|word| QueryAst::DisMax {
            queries: fields
                .iter()
                .map(|(f, boost)| {
                    boosted(
                        QueryAst::Match {
                            field: (f != "*").then(|| f.clone()),
                            text: word.clone(),
                            kind: MatchKind::Words {
                                operator: Operator::Or,
                                minimum_should_match: None,
                            },
                        },
                        *boost,
                    )
                })
                .collect(),
            tie_breaker,
        })
        .collect();
    if per_word.is_empty() {
        return QueryAst::MatchNone;
    }
    QueryAst::Bool(match operator {
        Operator::And => BoolQuery {
            must: per_word,
            ..BoolQuery::default()
        },
        Operator::Or => BoolQuery {
            should: per_word,
            minimum_should_match: Some(msm.unwrap_or(MinimumShouldMatch::Count(1))),
            ..BoolQuery::default()
        },
    })
}

pub(super) fn parse_simple(body: &Value) -> Result<QueryAst, QueryError> {
    let o = object("simple_query_string", body)?;
    let query = o
        .get("query")
        .and_then(Value::as_str)
        .ok_or_else(|| parsing("[simple_query_string] requires query value"))?;
    let options = SimpleOptions {
        fields: fields_with_boosts(o.get("fields"))
            .into_iter()
            .map(|(f, _)| f)
            .filter(|f| f != "*")
            .collect(),
        default_operator: operator(o.get("default_operator"))?.unwrap_or(Operator::Or),
    };
    Ok(with_boost(
        simple_query_string::parse_simple_query_string(query, &options)?,
        body,
    ))
}
