//! `simple_query_string`: the forgiving syntax (`+` and, `|` or, `-` not, `"phrases"`,
//! `prefix*`, `( )`, `~N`) that never fails — what it cannot read, it reads as words, as ES does.

use crate::ast::{BoolQuery, MatchKind, Operator, QueryAst};
use crate::error::QueryError;

/// How deeply groups may nest: the parser recurses once per group, and a stack overflow would
/// abort the whole process, so depth is measured before parsing.
pub const MAX_SIMPLE_QUERY_DEPTH: usize = 100;

/// How a simple query string is read.
#[derive(Debug, Clone)]
pub struct SimpleOptions {
    /// Fields each word is searched in (empty: every field).
    pub fields: Vec<String>,
    /// How words without `+`/`|` combine.
    pub default_operator: Operator,
}

/// Parses `text`. Only nesting deeper than [`MAX_SIMPLE_QUERY_DEPTH`] is an error.
pub fn parse_simple_query_string(
    text: &str,
    options: &SimpleOptions,
) -> Result<QueryAst, QueryError> {
    let depth = group_depth(text);
    if depth > MAX_SIMPLE_QUERY_DEPTH {
        return Err(QueryError::TooManyNestedClauses {
            what: "simple_query_string",
            depth,
            limit: MAX_SIMPLE_QUERY_DEPTH,
        });
    }
    let chars: Vec<char> = text.chars().collect();
    let mut p = Parser {
        chars,
        at: 0,
        options,
    };
    Ok(p.expr(false).unwrap_or(QueryAst::MatchAll))
}

/// The deepest nesting of groups, as the parser below will meet them: every `(` outside a
/// phrase opens one.
fn group_depth(text: &str) -> usize {
    let (mut open, mut deepest, mut quoted) = (0usize, 0usize, false);
    for c in text.bytes() {
        match c {
            b'"' => quoted = !quoted,
            b'(' if !quoted => {
                open += 1;
                deepest = deepest.max(open);
            }
            b')' if !quoted => open = open.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

struct Parser<'a> {
    chars: Vec<char>,
    at: usize,
    options: &'a SimpleOptions,
}

enum Item {
    Query(QueryAst),
    Not(QueryAst),
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    /// A sequence of items up to the end (or a `)` when `nested`).
    fn expr(&mut self, nested: bool) -> Option<QueryAst> {
        let mut acc: Option<QueryAst> = None;
        let mut op: Option<Operator> = None;
        while let Some(c) = self.peek() {
            match c {
                ')' if nested => {
                    self.at += 1;
                    break;
                }
                c if c.is_whitespace() || c == ')' => self.at += 1,
                '|' => {
                    self.at += 1;
                    op = Some(Operator::Or);
                }
                '+' => {
                    self.at += 1;
                    op = Some(Operator::And);
                }
                _ => {
                    let Some(item) = self.item() else { continue };
                    let operator = op.take().unwrap_or(self.options.default_operator);
                    acc = Some(combine(acc, operator, item));
                }
            }
        }
        acc
    }

    fn item(&mut self) -> Option<Item> {
        let negated = if self.peek() == Some('-') {
            self.at += 1;
            true
        } else {
            false
        };
        let q = match self.peek()? {
            '(' => {
                self.at += 1;
                self.expr(true)?
            }
            '"' => self.phrase(),
            _ => self.word()?,
        };
        Some(if negated {
            Item::Not(q)
        } else {
            Item::Query(q)
        })
    }

    fn slop(&mut self) -> Option<u32> {
        if self.peek() != Some('~') {
            return None;
        }
        self.at += 1;
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
        self.chars[start..self.at]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn phrase(&mut self) -> QueryAst {
        self.at += 1;
        let start = self.at;
        while self.peek().is_some_and(|c| c != '"') {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        if self.peek() == Some('"') {
            self.at += 1;
        }
        let slop = self.slop().unwrap_or(0);
        self.on_fields(|field| QueryAst::Match {
            field,
            text: text.clone(),
            kind: MatchKind::Phrase { slop },
        })
    }

    fn word(&mut self) -> Option<QueryAst> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"' | '|' | '+'))
        {
            if self.peek() == Some('~') {
                break;
            }
            self.at += 1;
        }
        let mut word: String = self.chars[start..self.at].iter().collect();
        // Fuzziness is accepted and ignored (exact matching is a subset of it).
        let _ = self.slop();
        if word.is_empty() {
            self.at += 1;
            return None;
        }
        if word.len() > 1 && word.ends_with('*') {
            word.pop();
            return Some(self.on_fields(|field| QueryAst::Prefix {
                field,
                prefix: word.clone(),
                normalize: true,
            }));
        }
        if word == "*" {
            return Some(QueryAst::MatchAll);
        }
        Some(self.on_fields(|field| QueryAst::Match {
            field,
            text: word.clone(),
            kind: MatchKind::Term,
        }))
    }

    /// One query per field of the options (any of them may match).
    fn on_fields(&self, make: impl Fn(Option<String>) -> QueryAst) -> QueryAst {
        match self.options.fields.as_slice() {
            [] => make(None),
            [one] => make(Some(one.clone())),
            many => QueryAst::Bool(BoolQuery {
                should: many.iter().map(|f| make(Some(f.clone()))).collect(),
                ..BoolQuery::default()
            }),
        }
    }
}

fn combine(acc: Option<QueryAst>, op: Operator, item: Item) -> QueryAst {
    let Some(acc) = acc else {
        return match item {
            Item::Query(q) => q,
            Item::Not(q) => QueryAst::Bool(BoolQuery {
                must_not: vec![q],
                ..BoolQuery::default()
            }),
        };
    };
    match (op, item) {
        (Operator::And, item) => {
            let mut b = match acc {
                QueryAst::Bool(b) if b.should.is_empty() && b.filter.is_empty() => b,
                other => BoolQuery {
                    must: vec![other],
                    ..BoolQuery::default()
                },
            };
            match item {
                Item::Query(q) => b.must.push(q),
                Item::Not(q) => b.must_not.push(q),
            }
            QueryAst::Bool(b)
        }
        (Operator::Or, item) => {
            let q = match item {
                Item::Query(q) => q,
                Item::Not(q) => QueryAst::Bool(BoolQuery {
                    must_not: vec![q],
                    ..BoolQuery::default()
                }),
            };
            let mut b = match acc {
                QueryAst::Bool(b)
                    if b.must.is_empty() && b.must_not.is_empty() && b.filter.is_empty() =>
                {
                    b
                }
                other => BoolQuery {
                    should: vec![other],
                    ..BoolQuery::default()
                },
            };
            b.should.push(q);
            QueryAst::Bool(b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, op: Operator) -> QueryAst {
        parse_simple_query_string(
            text,
            &SimpleOptions {
                fields: Vec::new(),
                default_operator: op,
            },
        )
        .unwrap()
    }

    fn word(t: &str) -> QueryAst {
        QueryAst::Match {
            field: None,
            text: t.into(),
            kind: MatchKind::Term,
        }
    }

    #[test]
    fn operators_and_default() {
        let QueryAst::Bool(b) = parse("a b", Operator::Or) else {
            panic!()
        };
        assert_eq!(b.should, vec![word("a"), word("b")]);
        let QueryAst::Bool(b) = parse("a + b", Operator::Or) else {
            panic!()
        };
        assert_eq!(b.must, vec![word("a"), word("b")]);
        // As in ES: with the default OR, `-c` means "or not c".
        let QueryAst::Bool(b) = parse("a -c", Operator::Or) else {
            panic!()
        };
        assert_eq!(b.should.len(), 2);
        let QueryAst::Bool(b) = parse("a -c", Operator::And) else {
            panic!()
        };
        assert_eq!(b.must_not, vec![word("c")]);
    }

    #[test]
    fn phrases_prefixes_and_groups() {
        let QueryAst::Bool(b) = parse("\"disk full\"~2 | (ima* + png)", Operator::Or) else {
            panic!()
        };
        assert_eq!(
            b.should[0],
            QueryAst::Match {
                field: None,
                text: "disk full".into(),
                kind: MatchKind::Phrase { slop: 2 }
            }
        );
        let QueryAst::Bool(group) = &b.should[1] else {
            panic!()
        };
        assert!(matches!(group.must[0], QueryAst::Prefix { .. }));
    }

    #[test]
    fn nesting_up_to_the_limit_parses_and_past_it_is_refused() {
        let options = SimpleOptions {
            fields: Vec::new(),
            default_operator: Operator::Or,
        };
        let deep = |n: usize| format!("{}a{}", "(b | ".repeat(n), ")".repeat(n));
        assert!(parse_simple_query_string(&deep(MAX_SIMPLE_QUERY_DEPTH), &options).is_ok());
        for n in [MAX_SIMPLE_QUERY_DEPTH + 1, 100_000] {
            let err = parse_simple_query_string(&deep(n), &options).unwrap_err();
            assert_eq!(err.es_type(), "too_many_nested_clauses");
        }
        // Parentheses inside a phrase are text.
        let phrase = format!("\"{}\"", "(".repeat(1000));
        assert!(parse_simple_query_string(&phrase, &options).is_ok());
    }

    #[test]
    fn broken_syntax_is_read_as_words() {
        assert_eq!(
            parse("\"unclosed", Operator::Or),
            QueryAst::Match {
                field: None,
                text: "unclosed".into(),
                kind: MatchKind::Phrase { slop: 0 }
            }
        );
        assert_eq!(parse("a)", Operator::Or), word("a"));
        assert_eq!(parse("", Operator::Or), QueryAst::MatchAll);
    }
}
