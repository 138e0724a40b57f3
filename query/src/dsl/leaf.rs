//! Term-level queries: `term`, `terms`, `range`, `prefix`, `wildcard`, `regexp`, `exists`,
//! `ids`.

use serde_json::Value;

use super::{object, parsing, scalar_text, single_field, with_boost};
use crate::ast::{BoolQuery, QueryAst, RangeBound};
use crate::error::QueryError;

pub(super) fn parse_term(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("term", body)?;
    let value = match v {
        Value::Object(o) => o
            .get("value")
            .map(scalar_text)
            .transpose()?
            .ok_or_else(|| parsing("[term] query requires a [value]"))?,
        other => scalar_text(other)?,
    };
    let case_insensitive = v
        .get("case_insensitive")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if case_insensitive {
        // The value exactly, in any case: a wildcard pattern with nothing wild in it.
        let q = QueryAst::Wildcard {
            field: Some(field),
            pattern: escape_wildcard(&value),
            case_insensitive: true,
            normalize: false,
        };
        return Ok(with_boost(q, v));
    }
    Ok(with_boost(QueryAst::Term { field, value }, v))
}

pub(super) fn parse_terms(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("terms", body)?;
    if let Value::Object(lookup) = v {
        return parse_terms_lookup(field, lookup, body);
    }
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

/// `{"terms": {"<field>": {"index": …, "id": …, "path": …}}}`.
fn parse_terms_lookup(
    field: String,
    lookup: &serde_json::Map<String, Value>,
    body: &Value,
) -> Result<QueryAst, QueryError> {
    let text = |k: &str| -> Result<String, QueryError> {
        match lookup.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(QueryError::IllegalArgument(format!(
                "[terms] query lookup element requires specifying the {k}."
            ))),
        }
    };
    if let Some(k) = lookup
        .keys()
        .find(|k| !matches!(k.as_str(), "index" | "id" | "path" | "routing" | "type"))
    {
        return Err(parsing(format!(
            "[terms] query does not support [{k}] within lookup element"
        )));
    }
    let boost = body.get("boost").and_then(Value::as_f64).unwrap_or(1.0) as f32;
    Ok(QueryAst::ConstantScore {
        filter: Box::new(QueryAst::TermsLookup {
            field,
            index: text("index")?,
            id: text("id")?,
            path: text("path")?,
        }),
        boost,
    })
}

pub(super) fn parse_range(body: &Value) -> Result<QueryAst, QueryError> {
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

pub(super) fn parse_exists(body: &Value) -> Result<QueryAst, QueryError> {
    let field = object("exists", body)?
        .get("field")
        .and_then(Value::as_str)
        .ok_or_else(|| parsing("[exists] must be provided with a [field]"))?;
    Ok(QueryAst::Exists {
        field: field.to_string(),
    })
}

pub(super) fn parse_ids(body: &Value) -> Result<QueryAst, QueryError> {
    // ES reads a single value where it expects the array.
    let values = match object("ids", body)?.get("values") {
        Some(Value::Array(values)) => values.iter().map(scalar_text).collect::<Result<_, _>>()?,
        Some(v @ (Value::String(_) | Value::Number(_))) => vec![scalar_text(v)?],
        _ => return Err(parsing("[ids] requires a [values] array")),
    };
    Ok(QueryAst::Ids(values))
}

/// The value of `{"field": "v"}` or `{"field": {"value": "v", …}}` (with `alias` as another
/// name of `value`), and the options object when there is one.
type Options<'a> = Option<&'a serde_json::Map<String, Value>>;

fn value_and_options<'a>(
    name: &str,
    v: &'a Value,
    alias: &str,
) -> Result<(String, Options<'a>), QueryError> {
    match v {
        Value::Object(o) => {
            let value = o
                .get("value")
                .or_else(|| o.get(alias))
                .map(scalar_text)
                .transpose()?
                .ok_or_else(|| parsing(format!("[{name}] requires a [value]")))?;
            Ok((value, Some(o)))
        }
        other => Ok((scalar_text(other)?, None)),
    }
}

/// ES's `fuzziness` for a value of `len` characters: `AUTO` (`AUTO:3,6`: 0 edits up to 2
/// characters, 1 up to 5, else 2) or 0, 1, 2.
pub(crate) fn fuzziness(v: Option<&Value>, len: usize) -> Result<u8, QueryError> {
    let auto = |low: usize, high: usize| {
        if len < low {
            0
        } else if len < high {
            1
        } else {
            2
        }
    };
    let text = match v {
        None => return Ok(auto(3, 6)),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(parsing(format!("[fuzzy] invalid fuzziness [{other}]"))),
    };
    if let Some(rest) = text.strip_prefix("AUTO") {
        if rest.is_empty() {
            return Ok(auto(3, 6));
        }
        let bounds = rest.strip_prefix(':').and_then(|r| r.split_once(','));
        let parsed =
            bounds.and_then(|(l, h)| Some((l.trim().parse().ok()?, h.trim().parse().ok()?)));
        return parsed.map(|(l, h)| auto(l, h)).ok_or_else(|| {
            parsing(format!(
                "failed to find low and high distance values in [{text}]"
            ))
        });
    }
    // More than 2 edits is read as 2, the most an edit-distance automaton runs (as OpenSearch).
    match text.parse::<f64>() {
        Ok(n) if n >= 0.0 => Ok(n.min(2.0) as u8),
        _ => Err(parsing(format!("[fuzzy] invalid fuzziness [{text}]"))),
    }
}

pub(super) fn parse_fuzzy(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("fuzzy", body)?;
    let (value, options) = value_and_options("fuzzy", v, "value")?;
    let get = |k: &str| options.and_then(|o| o.get(k));
    let q = QueryAst::Fuzzy {
        edits: fuzziness(get("fuzziness"), value.chars().count())?,
        transpositions: get("transpositions")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        prefix_length: get("prefix_length").and_then(Value::as_u64).unwrap_or(0) as usize,
        field,
        value,
    };
    Ok(with_boost(q, v))
}

pub(super) fn parse_prefix(body: &Value) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field("prefix", body)?;
    let (prefix, options) = value_and_options("prefix", v, "prefix")?;
    let ci = options
        .and_then(|o| o.get("case_insensitive"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let q = if ci {
        QueryAst::Wildcard {
            field: Some(field),
            pattern: format!("{}*", escape_wildcard(&prefix)),
            case_insensitive: true,
            normalize: false,
        }
    } else {
        QueryAst::Prefix {
            field: Some(field),
            prefix,
            normalize: false,
        }
    };
    Ok(with_boost(q, v))
}

fn escape_wildcard(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `wildcard` (`regexp == false`) and `regexp`.
pub(super) fn parse_pattern(
    name: &str,
    body: &Value,
    regexp: bool,
) -> Result<QueryAst, QueryError> {
    let (field, v) = single_field(name, body)?;
    let alias = if regexp { "regexp" } else { "wildcard" };
    let (pattern, options) = value_and_options(name, v, alias)?;
    if let Some(o) = options {
        for key in o.keys() {
            match key.as_str() {
                "value"
                | "wildcard"
                | "regexp"
                | "boost"
                | "_name"
                | "rewrite"
                | "case_insensitive"
                | "flags"
                | "flags_value"
                | "max_determinized_states" => {}
                other => {
                    return Err(parsing(format!(
                        "[{name}] query does not support [{other}]"
                    )));
                }
            }
        }
    }
    let case_insensitive = options
        .and_then(|o| o.get("case_insensitive"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let q = if regexp {
        QueryAst::Regexp {
            field: Some(field),
            pattern,
            case_insensitive,
        }
    } else {
        QueryAst::Wildcard {
            field: Some(field),
            pattern,
            case_insensitive,
            normalize: false,
        }
    };
    Ok(with_boost(q, v))
}
