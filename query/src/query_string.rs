//! Lucene query syntax (`query_string`, `q=`), parsed with `tantivy-query-grammar` and turned
//! into a [`QueryAst`].

use tantivy_query_grammar::{Delimiter, Occur, UserInputAst, UserInputBound, UserInputLeaf};

use crate::ast::{BoolQuery, MatchKind, Operator, QueryAst, RangeBound};
use crate::error::QueryError;

/// How deeply groups and `NOT`s may nest in a query string. The grammar and the conversion
/// below recurse once per level, and a stack overflow aborts the whole process, so depth is
/// measured before parsing. Far beyond what people or dashboards write. A debug build parses,
/// compiles and searches 180 levels of real nesting on a 2 MiB thread stack (256 overflow);
/// `serve` gives its threads 8 MiB, so the limit keeps a wide margin in every build.
pub const MAX_QUERY_STRING_DEPTH: usize = 100;

/// How a query string is read.
#[derive(Debug, Clone, Default)]
pub struct QueryStringOptions {
    /// Field of terms that name none (`None`: every field).
    pub default_field: Option<String>,
    /// How terms without `AND`/`OR`/`+`/`-` combine.
    pub default_operator: Option<Operator>,
}

/// Parses Lucene syntax: `field:value`, `AND`/`OR`/`NOT`, `+`/`-`, phrases, `prefix*`,
/// ranges `[a TO b]`, groups, `_exists_:field`/`field:*`.
pub fn parse_query_string(
    query: &str,
    options: &QueryStringOptions,
) -> Result<QueryAst, QueryError> {
    if query.trim().is_empty() {
        return Ok(QueryAst::MatchAll);
    }
    let depth = nesting_depth(query);
    if depth > MAX_QUERY_STRING_DEPTH {
        return Err(QueryError::TooManyNestedClauses {
            what: "query_string",
            depth,
            limit: MAX_QUERY_STRING_DEPTH,
        });
    }
    let rewritten = match_all_as_star(query);
    let ast =
        tantivy_query_grammar::parse_query(&rewritten).map_err(|_| QueryError::QueryString {
            query: query.to_string(),
            reason: "the syntax is not valid Lucene query syntax".to_string(),
        })?;
    convert(ast, options)
}

/// How many levels the grammar recurses through for `query`: open groups plus the `NOT`s in a
/// row before a term (each `NOT` is one level of the grammar's `leaf`). Quoted text and
/// escaped characters do not nest. An over-estimate only where syntax is broken anyway.
fn nesting_depth(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut groups, mut nots, mut deepest) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'"' => quoted = !quoted,
            _ if quoted => {}
            b'(' => {
                groups += 1;
                deepest = deepest.max(groups + nots);
            }
            b')' => groups = groups.saturating_sub(1),
            b'N' if bytes[i..].starts_with(b"NOT")
                && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r' | b'('))
                && bytes.get(i + 3).is_some_and(u8::is_ascii_whitespace) =>
            {
                nots += 1;
                deepest = deepest.max(groups + nots);
                i += 2;
            }
            c if c.is_ascii_whitespace() => {}
            // A term, a range or anything else ends a run of `NOT`s; the open groups stay.
            _ => nots = 0,
        }
        i += 1;
    }
    deepest
}

/// Lucene's `*:*` (every document), which the grammar does not know, as its `*`. Only whole
/// terms outside quotes are rewritten: `"a *:* b"` and `f:*:*x` stay as written.
fn match_all_as_star(query: &str) -> std::borrow::Cow<'_, str> {
    if !query.contains("*:*") {
        return query.into();
    }
    let chars: Vec<char> = query.chars().collect();
    let mut out = String::with_capacity(query.len());
    let mut quoted = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_term =
            i == 0 || matches!(chars[i - 1], ' ' | '\t' | '\n' | '(' | '+' | '-' | '!');
        let ends_term =
            |j: usize| j >= chars.len() || matches!(chars[j], ' ' | '\t' | '\n' | ')' | '^');
        if !quoted && starts_term && chars[i..].starts_with(&['*', ':', '*']) && ends_term(i + 3) {
            out.push('*');
            i += 3;
            continue;
        }
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                }
                i += 2;
                continue;
            }
            '"' => quoted = !quoted,
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    out.into()
}

fn convert(ast: UserInputAst, options: &QueryStringOptions) -> Result<QueryAst, QueryError> {
    match ast {
        UserInputAst::Clause(clauses) => {
            if clauses.is_empty() {
                return Ok(QueryAst::MatchAll);
            }
            let default = match options.default_operator.unwrap_or(Operator::Or) {
                Operator::Or => Occur::Should,
                Operator::And => Occur::Must,
            };
            let mut b = BoolQuery::default();
            for (occur, sub) in clauses {
                let q = convert(sub, options)?;
                let occur = occur.unwrap_or(default);
                // `a AND NOT b` arrives as must(a), must(must_not(b)): lift the negation.
                if let (Occur::Must, QueryAst::Bool(inner)) = (occur, &q)
                    && inner.must.is_empty()
                    && inner.should.is_empty()
                    && inner.filter.is_empty()
                    && let QueryAst::Bool(inner) = q
                {
                    b.must_not.extend(inner.must_not);
                    continue;
                }
                match occur {
                    Occur::Must => b.must.push(q),
                    Occur::Should => b.should.push(q),
                    Occur::MustNot => b.must_not.push(q),
                }
            }
            if b.must.len() == 1 && b.should.is_empty() && b.must_not.is_empty() {
                return Ok(b.must.remove(0));
            }
            if b.should.len() == 1 && b.must.is_empty() && b.must_not.is_empty() {
                return Ok(b.should.remove(0));
            }
            Ok(QueryAst::Bool(b))
        }
        UserInputAst::Boost(inner, boost) => Ok(QueryAst::Boost {
            query: Box::new(convert(*inner, options)?),
            boost: boost.into_inner() as f32,
        }),
        UserInputAst::Leaf(leaf) => convert_leaf(*leaf, options),
    }
}

fn field_of(name: Option<String>, options: &QueryStringOptions) -> Option<String> {
    name.or_else(|| options.default_field.clone())
        .filter(|f| f != "*")
}

fn convert_leaf(leaf: UserInputLeaf, options: &QueryStringOptions) -> Result<QueryAst, QueryError> {
    Ok(match leaf {
        UserInputLeaf::All => QueryAst::MatchAll,
        UserInputLeaf::Literal(lit) => {
            let field = field_of(lit.field_name, options);
            if field.as_deref() == Some("_exists_") {
                return Ok(QueryAst::Exists { field: lit.phrase });
            }
            let unquoted = lit.delimiter == Delimiter::None;
            let wildcard_at = lit.phrase.find(['*', '?']);
            if lit.prefix {
                QueryAst::Prefix {
                    field,
                    prefix: lit.phrase,
                    normalize: true,
                }
            } else if unquoted
                && wildcard_at == Some(lit.phrase.len() - 1)
                && lit.phrase.ends_with('*')
            {
                let mut prefix = lit.phrase;
                prefix.pop();
                QueryAst::Prefix {
                    field,
                    prefix,
                    normalize: true,
                }
            } else if unquoted && wildcard_at.is_some() {
                QueryAst::Wildcard {
                    field,
                    pattern: lit.phrase,
                    case_insensitive: false,
                    normalize: true,
                }
            } else {
                let kind = match lit.delimiter {
                    Delimiter::None => MatchKind::Term,
                    Delimiter::SingleQuotes | Delimiter::DoubleQuotes => {
                        MatchKind::Phrase { slop: lit.slop }
                    }
                };
                QueryAst::Match {
                    field,
                    text: lit.phrase,
                    kind,
                }
            }
        }
        UserInputLeaf::Range {
            field,
            lower,
            upper,
        } => QueryAst::Range {
            field: field_of(field, options),
            lower: bound(lower),
            upper: bound(upper),
            format: None,
            time_zone: None,
        },
        UserInputLeaf::Set { field, elements } => {
            let field = field_of(field, options);
            QueryAst::Bool(BoolQuery {
                should: elements
                    .into_iter()
                    .map(|text| QueryAst::Match {
                        field: field.clone(),
                        text,
                        kind: MatchKind::Term,
                    })
                    .collect(),
                ..BoolQuery::default()
            })
        }
        UserInputLeaf::Exists { field } => QueryAst::Exists { field },
        UserInputLeaf::Regex { field, pattern } => QueryAst::Regexp {
            field: field_of(field, options),
            pattern,
            case_insensitive: false,
        },
    })
}

fn bound(b: UserInputBound) -> RangeBound {
    match b {
        UserInputBound::Unbounded => RangeBound::Unbounded,
        UserInputBound::Inclusive(v) if v == "*" => RangeBound::Unbounded,
        UserInputBound::Exclusive(v) if v == "*" => RangeBound::Unbounded,
        UserInputBound::Inclusive(v) => RangeBound::Inclusive(v),
        UserInputBound::Exclusive(v) => RangeBound::Exclusive(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> QueryAst {
        parse_query_string(q, &QueryStringOptions::default()).unwrap()
    }

    fn word(field: Option<&str>, text: &str) -> QueryAst {
        QueryAst::Match {
            field: field.map(str::to_string),
            text: text.to_string(),
            kind: MatchKind::Term,
        }
    }

    #[test]
    fn field_terms_and_bare_terms() {
        assert_eq!(parse("status:404"), word(Some("status"), "404"));
        assert_eq!(parse("error"), word(None, "error"));
    }

    #[test]
    fn boolean_operators() {
        let q = parse("a AND NOT b:c");
        let QueryAst::Bool(b) = q else {
            panic!("{q:?}")
        };
        assert_eq!(b.must, vec![word(None, "a")]);
        assert_eq!(b.must_not, vec![word(Some("b"), "c")]);
        let QueryAst::Bool(b) = parse("a OR b") else {
            panic!()
        };
        assert_eq!(b.should.len(), 2);
    }

    #[test]
    fn phrases_prefixes_ranges_exists() {
        assert_eq!(
            parse("msg:\"hello world\""),
            QueryAst::Match {
                field: Some("msg".into()),
                text: "hello world".into(),
                kind: MatchKind::Phrase { slop: 0 }
            }
        );
        assert!(matches!(parse("path:ima*"), QueryAst::Prefix { .. }));
        assert!(matches!(
            parse("bytes:[100 TO *]"),
            QueryAst::Range {
                upper: RangeBound::Unbounded,
                ..
            }
        ));
        assert_eq!(
            parse("_exists_:user"),
            QueryAst::Exists {
                field: "user".into()
            }
        );
        assert_eq!(parse("*"), QueryAst::MatchAll);
    }

    #[test]
    fn star_colon_star_matches_everything() {
        assert_eq!(parse("*:*"), QueryAst::MatchAll);
        assert_eq!(parse(" *:* "), QueryAst::MatchAll);
        let QueryAst::Bool(b) = parse("*:* AND NOT level:debug") else {
            panic!()
        };
        assert_eq!(b.must, vec![QueryAst::MatchAll]);
        assert_eq!(b.must_not, vec![word(Some("level"), "debug")]);
        assert_eq!(parse("(*:*)"), QueryAst::MatchAll);
        assert_eq!(match_all_as_star("msg:\"*:*\""), "msg:\"*:*\"");
    }

    #[test]
    fn default_operator_and_makes_terms_required() {
        let opts = QueryStringOptions {
            default_operator: Some(Operator::And),
            ..Default::default()
        };
        let QueryAst::Bool(b) = parse_query_string("a b", &opts).unwrap() else {
            panic!()
        };
        assert_eq!(b.must.len(), 2);
    }

    #[test]
    fn nesting_is_measured_outside_quotes_and_escapes() {
        assert_eq!(nesting_depth("a"), 0);
        assert_eq!(nesting_depth("((a) OR (b))"), 2);
        assert_eq!(nesting_depth("msg:\"(((\" AND \\("), 0);
        assert_eq!(nesting_depth("NOT NOT (NOT a)"), 4);
        assert_eq!(nesting_depth("NOT a AND NOT b"), 1);
        assert_eq!(nesting_depth("NOTE:x"), 0);
    }

    #[test]
    fn nesting_up_to_the_limit_parses_and_past_it_is_refused() {
        let deep = |n: usize| format!("{}a{}", "(b ".repeat(n), ")".repeat(n));
        let at_limit = parse_query_string(&deep(MAX_QUERY_STRING_DEPTH), &Default::default());
        assert!(at_limit.is_ok(), "{at_limit:?}");
        for n in [MAX_QUERY_STRING_DEPTH + 1, 100_000] {
            let err = parse_query_string(&deep(n), &Default::default()).unwrap_err();
            assert_eq!(err.es_type(), "too_many_nested_clauses");
            assert_eq!(err.status().as_u16(), 400);
        }
        let nots = format!("{}a", "NOT ".repeat(100_000));
        let err = parse_query_string(&nots, &Default::default()).unwrap_err();
        assert_eq!(err.es_type(), "too_many_nested_clauses");
    }

    #[test]
    fn bad_syntax_is_a_query_shard_exception() {
        let err = parse_query_string("a AND (b", &QueryStringOptions::default()).unwrap_err();
        assert_eq!(err.es_type(), "query_shard_exception");
    }
}
