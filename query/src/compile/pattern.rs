//! `wildcard` and `regexp` (and query-string wildcards): patterns over terms and exact values.
//!
//! The tokenized form of a dynamic field lives in the JSON field `_text`, whose terms are
//! `path \0 s token`: a pattern runs as one automaton over the term dictionary with the path as
//! a literal prefix (or any path, for a query on every field). Exact values live in `_val`
//! columns only, with no inverted index: there the pattern runs over each segment's column
//! dictionary once, and documents match through their term ordinals.

use std::sync::Arc;

use hydrant_config::FieldType;
use hydrant_index::FieldTarget;
use regex::Regex;
use tantivy::columnar::StrColumn;
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{EmptyQuery, RegexQuery};
use tantivy::schema::Field;
use tantivy::{BitSet, DocId, SegmentReader, Term};

use super::{BoxQuery, Compiler, union};
use crate::ast::FieldName;
use crate::error::QueryError;

/// A pattern in the two forms it runs in.
pub(crate) struct Pattern {
    /// Regex syntax for term automata (matches a whole term).
    pub body: String,
    /// Case-insensitive.
    pub case_insensitive: bool,
    /// Lower-cased for text fields (the query-string forms).
    pub normalize: bool,
}

impl Pattern {
    /// A `wildcard` pattern: `*` any run, `?` one character, `\` escapes.
    pub fn wildcard(pattern: &str, case_insensitive: bool, normalize: bool) -> Pattern {
        let mut body = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                // A run of stars is one star: the automaton stays small however many are sent.
                '*' => {
                    while chars.next_if_eq(&'*').is_some() {}
                    body.push_str(".*");
                }
                '?' => body.push('.'),
                '\\' => {
                    if let Some(next) = chars.next() {
                        body.push_str(&regex::escape(&next.to_string()));
                    }
                }
                c => body.push_str(&regex::escape(&c.to_string())),
            }
        }
        Pattern {
            body,
            case_insensitive,
            normalize,
        }
    }

    /// A `regexp` pattern (Lucene's syntax is, for the common operators, the regex crate's).
    pub fn regexp(pattern: &str, case_insensitive: bool) -> Pattern {
        Pattern {
            body: pattern.to_string(),
            case_insensitive,
            normalize: false,
        }
    }

    /// The pattern over the words of a text field: as written (the words are lower case, so
    /// `DISK*` finds none, as in Elasticsearch), lower-cased for the query-string forms (a
    /// wildcard body escapes no letters, so lower-casing it keeps its meaning).
    fn for_text(&self) -> String {
        let body = if self.normalize {
            self.body.to_lowercase()
        } else {
            self.body.clone()
        };
        self.group(&body, self.case_insensitive)
    }

    fn group(&self, body: &str, ci: bool) -> String {
        if ci {
            format!("(?is:{body})")
        } else {
            format!("(?s:{body})")
        }
    }

    /// The pattern for exact values, anchored.
    fn value_regex(&self) -> Result<Regex, QueryError> {
        Regex::new(&format!(
            "^{}$",
            self.group(&self.body, self.case_insensitive)
        ))
        .map_err(|e| bad_pattern(&self.body, &e.to_string()))
    }
}

fn bad_pattern(body: &str, why: &str) -> QueryError {
    // The regex crate explains over several lines (the pattern, a caret, `error: …`): the last
    // one says what is wrong.
    let why = why.lines().last().unwrap_or(why).trim();
    let why = why.strip_prefix("error: ").unwrap_or(why);
    QueryError::QueryShard(format!(
        "failed to create query: invalid pattern [{body}]: {why}"
    ))
}

/// `s` as regex syntax matching exactly its bytes (control characters escaped).
fn literal(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(&format!("\\x{{{:x}}}", c as u32));
        }
    }
    out
}

fn term_regex(field: Field, re: &str) -> Result<BoxQuery, QueryError> {
    RegexQuery::from_pattern(re, field)
        .map(|q| Box::new(q) as BoxQuery)
        .map_err(|e| bad_pattern(re, &e.to_string()))
}

/// Documents whose `_val` column(s) hold a string `re` matches: the columns named `column`, or
/// every string column under `_val` when `None`.
fn column_predicate(column: Option<String>, re: Regex) -> BoxQuery {
    let re = Arc::new(re);
    let predicate = FunctionPredicate::from(move |reader: &SegmentReader| {
        let columns: Vec<StrColumn> = match &column {
            Some(c) => reader.fast_fields().str(c)?.into_iter().collect(),
            None => reader
                .fast_fields()
                .dynamic_subpath_column_handles("_val")?
                .into_iter()
                .filter_map(|h| h.open().ok())
                .filter_map(|c| match c {
                    tantivy::columnar::DynamicColumn::Str(s) => Some(s),
                    _ => None,
                })
                .collect(),
        };
        let mut matching = Vec::new();
        for col in columns {
            let dict = col.dictionary();
            let mut set = BitSet::with_max_value(dict.num_terms() as u32);
            let mut stream = dict.stream()?;
            let mut any = false;
            while stream.advance() {
                if let Ok(text) = std::str::from_utf8(stream.key())
                    && re.is_match(text)
                {
                    set.insert(stream.term_ord() as u32);
                    any = true;
                }
            }
            if any {
                matching.push((col, set));
            }
        }
        Ok(move |doc: DocId| {
            matching
                .iter()
                .any(|(col, set)| col.term_ords(doc).any(|o| set.contains(o as u32)))
        })
    });
    Box::new(DocPredicateQuery::from(predicate))
}

impl Compiler<'_> {
    /// The term-dictionary prefix of `path` in `_text`.
    fn text_prefix(&self, path: &str) -> String {
        let mut t = Term::from_field_json_path(self.text_field(), path, true);
        t.append_type_and_str("");
        literal(&String::from_utf8_lossy(t.serialized_value_bytes()))
    }

    /// Tokens of the text form of `path` (every path when `None`) matching the pattern.
    fn text_tokens(&self, path: Option<&str>, p: &Pattern) -> Result<BoxQuery, QueryError> {
        let prefix = match path {
            Some(path) => self.text_prefix(path),
            // Any path: everything up to the end-of-path byte, then the string type code.
            None => "[^\\x00]*\\x00s".to_string(),
        };
        term_regex(self.text_field(), &format!("{prefix}{}", p.for_text()))
    }

    fn values(&self, path: Option<&str>, p: &Pattern) -> Result<BoxQuery, QueryError> {
        Ok(column_predicate(
            path.map(|p| format!("_val.{p}")),
            p.value_regex()?,
        ))
    }

    /// `wildcard`/`regexp` on `field` (every field when `None`).
    pub(super) fn pattern(
        &mut self,
        field: &FieldName,
        p: &Pattern,
    ) -> Result<BoxQuery, QueryError> {
        // Checked as the user wrote it, so that an error names their pattern, not the term
        // automaton built around it.
        p.value_regex()?;
        let Some(field) = field else {
            let mut parts = vec![self.text_tokens(None, p)?, self.values(None, p)?];
            let explicit: Vec<(Field, FieldType)> = self
                .mapper
                .explicit_fields()
                .map(|(_, f, k)| (f, k))
                .collect();
            for (f, kind) in explicit {
                match kind {
                    FieldType::Keyword => {
                        parts.push(term_regex(f, &p.group(&p.body, p.case_insensitive))?)
                    }
                    FieldType::Text => parts.push(term_regex(f, &p.for_text())?),
                    _ => {}
                }
            }
            return Ok(union(parts));
        };
        Ok(match self.mapper.resolve(field) {
            FieldTarget::Dynamic { path } => union(vec![
                self.text_tokens(Some(&path), p)?,
                self.values(Some(&path), p)?,
            ]),
            FieldTarget::Keyword { path } => self.values(Some(&path), p)?,
            FieldTarget::Explicit {
                field,
                kind: FieldType::Keyword,
                ..
            } => term_regex(field, &p.group(&p.body, p.case_insensitive))?,
            FieldTarget::Explicit {
                field,
                kind: FieldType::Text,
                ..
            } => term_regex(field, &p.for_text())?,
            FieldTarget::Id => term_regex(
                self.mapper.fields().id,
                &p.group(&p.body, p.case_insensitive),
            )?,
            _ => Box::new(EmptyQuery),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_translate_to_anchored_regexes() {
        let p = Pattern::wildcard("ki*na?.png", false, false);
        let re = p.value_regex().unwrap();
        assert!(re.is_match("kibana1.png"));
        assert!(!re.is_match("kibana1xpng"));
        assert!(!re.is_match("xkibana1.png"));
        let ci = Pattern::wildcard("GET*", true, false)
            .value_regex()
            .unwrap();
        assert!(ci.is_match("get /index.html"));
        let escaped = Pattern::wildcard(r"a\*b", false, false)
            .value_regex()
            .unwrap();
        assert!(escaped.is_match("a*b"));
        assert!(!escaped.is_match("axb"));
    }

    #[test]
    fn a_broken_regexp_is_reported_as_written() {
        let e = Pattern::regexp("(unclosed", false)
            .value_regex()
            .unwrap_err();
        assert_eq!(e.es_type(), "query_shard_exception");
        assert_eq!(
            e.to_string(),
            "failed to create query: invalid pattern [(unclosed]: unclosed group"
        );
    }

    #[test]
    fn literal_escapes_control_bytes() {
        assert_eq!(literal("a\u{1}b\u{0}s"), "a\\x{1}b\\x{0}s");
    }
}
