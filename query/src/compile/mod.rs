//! [`QueryAst`] → tantivy query, against one index's mapping and the fields its segments hold.

use std::ops::Bound;

use hydrant_config::FieldType;
use hydrant_index::{DocMapper, DynamicFields, FieldTarget, ValueKind};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery,
    ExistsQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::ast::{BoolQuery, MatchKind, QueryAst};
use crate::dates::DateParser;
use crate::error::QueryError;

mod bounds;
mod explicit;
mod geo;
mod matching;
mod pattern;
mod prefix;
mod ranges;
mod time_buckets;
mod values;
pub(crate) mod zoned;

pub use bounds::TimeRange;
pub(crate) use geo::{GeoColumns, GeoField, geo_field};
use matching::match_terms;
pub(crate) use pattern::Pattern;
use ranges::{date_bound, int_lower, int_upper, num_bound, str_bound};
use values::value_eq;

type BoxQuery = Box<dyn Query>;

/// Compiles queries for one index (shard).
pub struct Compiler<'a> {
    mapper: &'a DocMapper,
    fields: &'a DynamicFields,
    analyzer: TextAnalyzer,
    now_ms: i64,
    /// Inside `lenient: true`: values of the wrong type match nothing rather than fail.
    lenient: bool,
    /// The names the shard's index answers to in `_index` queries: its own and its stream's.
    index_names: [&'a str; 2],
}

impl<'a> Compiler<'a> {
    /// A compiler for an index whose segments hold `fields`. `now_ms` is the request's `now`.
    pub fn new(
        mapper: &'a DocMapper,
        fields: &'a DynamicFields,
        index: &tantivy::Index,
        now_ms: i64,
    ) -> Compiler<'a> {
        let analyzer = hydrant_index::tokenizer::text_analyzer(index);
        Compiler {
            mapper,
            fields,
            analyzer,
            now_ms,
            lenient: false,
            index_names: ["", ""],
        }
    }

    /// This compiler for the shard of index `name` in `stream`, which `_index` queries name.
    pub fn with_index_names(mut self, name: &'a str, stream: &'a str) -> Compiler<'a> {
        self.index_names = [name, stream];
        self
    }

    /// The tantivy query for `ast`.
    pub fn compile(&mut self, ast: &QueryAst) -> Result<BoxQuery, QueryError> {
        Ok(match ast {
            QueryAst::MatchAll => Box::new(AllQuery),
            QueryAst::MatchNone => Box::new(EmptyQuery),
            QueryAst::Bool(b) => self.compile_bool(b)?,
            QueryAst::Match { field, text, kind } => match field {
                None => self.match_everywhere(text, kind),
                Some(f) if f.contains('*') => self.match_pattern(f, text, kind),
                Some(f) => self.match_field(f, text, kind)?,
            },
            QueryAst::Term { field, value } => self.term(field, value)?,
            QueryAst::Prefix {
                field,
                prefix,
                normalize,
            } => match field {
                None => union(
                    self.fields
                        .text_paths()
                        .filter_map(|p| self.prefix_text(p, prefix, *normalize))
                        .collect(),
                ),
                Some(f) => self.prefix(f, prefix, *normalize)?,
            },
            QueryAst::Wildcard {
                field,
                pattern,
                case_insensitive,
                normalize,
            } => self.pattern(
                field,
                &Pattern::wildcard(pattern, *case_insensitive, *normalize),
            )?,
            QueryAst::Fuzzy {
                field,
                value,
                edits,
                transpositions,
                prefix_length,
            } => self.fuzzy(field, value, *edits, *transpositions, *prefix_length)?,
            QueryAst::Regexp {
                field,
                pattern,
                case_insensitive,
            } => self.pattern(field, &Pattern::regexp(pattern, *case_insensitive))?,
            QueryAst::DisMax {
                queries,
                tie_breaker,
            } => {
                let compiled = queries
                    .iter()
                    .map(|q| self.compile(q))
                    .collect::<Result<Vec<_>, _>>()?;
                if compiled.is_empty() {
                    Box::new(EmptyQuery)
                } else {
                    Box::new(DisjunctionMaxQuery::with_tie_breaker(
                        compiled,
                        *tie_breaker,
                    ))
                }
            }
            QueryAst::Range {
                field,
                lower,
                upper,
                format,
                time_zone,
            } => {
                let dates = DateParser::new(format.as_deref(), time_zone.as_deref(), self.now_ms)?;
                match field {
                    None => union(
                        self.numeric_paths()
                            .into_iter()
                            .map(|p| self.range_dynamic(&p, lower, upper, &dates))
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    Some(f) => self.range(f, lower, upper, &dates)?,
                }
            }
            QueryAst::Exists { field } => self.exists(field),
            QueryAst::Ids(ids) => Box::new(TermSetQuery::new(
                ids.iter()
                    .map(|id| Term::from_field_text(self.mapper.fields().id, id)),
            )),
            QueryAst::Boost { query, boost } => {
                Box::new(BoostQuery::new(self.compile(query)?, *boost))
            }
            QueryAst::Lenient(inner) => {
                let was = std::mem::replace(&mut self.lenient, true);
                let q = self.compile(inner);
                self.lenient = was;
                q?
            }
            QueryAst::ConstantScore { filter, boost } => {
                Box::new(ConstScoreQuery::new(self.compile(filter)?, *boost))
            }
            QueryAst::ZeroTermsAll { query, text } => {
                if self.tokens(text).is_empty() {
                    Box::new(AllQuery)
                } else {
                    self.compile(query)?
                }
            }
            QueryAst::TermsLookup { .. } => {
                return Err(QueryError::Unsupported {
                    what: "a [terms] lookup inside an aggregation".to_string(),
                });
            }
            QueryAst::Geo {
                field,
                shape,
                relation,
                ignore_unmapped,
            } => self.geo(field, shape, *relation, *ignore_unmapped)?,
        })
    }

    fn compile_bool(&mut self, b: &BoolQuery) -> Result<BoxQuery, QueryError> {
        let mut clauses: Vec<(Occur, BoxQuery)> = Vec::new();
        for q in &b.must {
            clauses.push((Occur::Must, self.compile(q)?));
        }
        for q in &b.filter {
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(self.compile(q)?, 0.0)),
            ));
        }
        for q in &b.should {
            clauses.push((Occur::Should, self.compile(q)?));
        }
        for q in &b.must_not {
            clauses.push((Occur::MustNot, self.compile(q)?));
        }
        let positive = b.must.len() + b.filter.len();
        if positive == 0 && b.should.is_empty() {
            // ES: a bool with only must_not (or nothing) matches every other document.
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let required = match &b.minimum_should_match {
            Some(m) => m.required(b.should.len()),
            None if positive == 0 && !b.should.is_empty() => 1,
            None => 0,
        };
        Ok(Box::new(BooleanQuery::with_minimum_required_clauses(
            clauses, required,
        )))
    }

    fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    fn text_field(&self) -> Field {
        self.mapper.fields().text
    }

    fn value_field(&self) -> Field {
        self.mapper.fields().value
    }

    fn text_term(&self, path: &str, token: &str) -> Term {
        let mut t = Term::from_field_json_path(self.text_field(), path, true);
        t.append_type_and_str(token);
        t
    }

    fn keyword_term(&self, path: &str, value: &str) -> Term {
        let mut t = Term::from_field_json_path(self.value_field(), path, true);
        t.append_type_and_str(value);
        t
    }

    /// Whether `path`'s segments may hold values of `kind` (a path they do not name: maybe).
    fn may_hold(&self, path: &str, kind: ValueKind) -> bool {
        self.fields
            .paths
            .get(path)
            .is_none_or(|k| k.contains(&kind))
    }

    fn term(&mut self, field: &str, value: &str) -> Result<BoxQuery, QueryError> {
        if field == "_index" {
            // Every document of the shard, or none: the index is the shard's whole.
            let named = !value.is_empty() && self.index_names.contains(&value);
            return Ok(if named {
                Box::new(AllQuery)
            } else {
                Box::new(EmptyQuery)
            });
        }
        Ok(match self.mapper.resolve(field) {
            FieldTarget::Dynamic { path } => {
                // The exact value, a token of the text form, or the number/boolean it spells.
                let mut parts: Vec<BoxQuery> = Vec::new();
                if self.may_hold(&path, ValueKind::Keyword) {
                    parts.push(value_eq(self.keyword_term(&path, value)));
                }
                if self.may_hold(&path, ValueKind::Text) {
                    parts.push(term_query(self.text_term(&path, value)));
                }
                parts.extend(self.typed_value_queries(&path, value));
                union(parts)
            }
            // `term` is not analyzed: on a text field it matches one token as given.
            FieldTarget::Explicit {
                field,
                kind: FieldType::Text,
                ..
            } => term_query(Term::from_field_text(field, value)),
            _ => self.match_field(field, value, &MatchKind::Term)?,
        })
    }

    fn prefix_text(&mut self, path: &str, prefix: &str, normalize: bool) -> Option<BoxQuery> {
        if !normalize {
            // The `prefix` query: the prefix of one word, as written.
            return Some(term_prefix(self.text_term(path, prefix)));
        }
        let mut tokens = self.tokens(prefix);
        match tokens.len() {
            0 => None,
            1 => Some(term_prefix(self.text_term(path, &tokens.remove(0)))),
            // Words, then a prefix: a phrase (query strings such as `"disk fu"*`).
            _ => {
                let terms = tokens.iter().map(|t| self.text_term(path, t)).collect();
                Some(Box::new(PhrasePrefixQuery::new(terms)))
            }
        }
    }

    /// `fuzzy`: the terms within `edits` of `value` (not analyzed), sharing its first
    /// `prefix_length` characters.
    fn fuzzy(
        &mut self,
        field: &str,
        value: &str,
        edits: u8,
        transpositions: bool,
        prefix_length: usize,
    ) -> Result<BoxQuery, QueryError> {
        let term = match self.mapper.resolve(field) {
            FieldTarget::Dynamic { path } => self.text_term(&path, value),
            FieldTarget::Explicit {
                field: f,
                kind: FieldType::Text | FieldType::Keyword,
                ..
            } => Term::from_field_text(f, value),
            FieldTarget::Missing => return Ok(Box::new(EmptyQuery)),
            FieldTarget::Keyword { .. } => {
                return Err(QueryError::Unsupported {
                    what: format!(
                        "[fuzzy] on [{field}]: the exact values of dynamic fields are not indexed for edit distances; query the field itself"
                    ),
                });
            }
            _ => {
                return Err(QueryError::QueryShard(format!(
                    "Can only use fuzzy queries on keyword and text fields - not on [{field}]"
                )));
            }
        };
        let tantivy_field = term.field();
        let fuzzy: BoxQuery = Box::new(FuzzyTermQuery::new(term, edits, transpositions));
        if prefix_length == 0 {
            return Ok(fuzzy);
        }
        // tantivy has no prefix length: the shared prefix is a second, required clause.
        let head: String = value.chars().take(prefix_length).collect();
        let prefix = match self.mapper.resolve(field) {
            FieldTarget::Dynamic { path } => self.text_term(&path, &head),
            _ => Term::from_field_text(tantivy_field, &head),
        };
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, fuzzy),
            (Occur::Must, term_prefix(prefix)),
        ])))
    }

    fn prefix(
        &mut self,
        field: &str,
        prefix: &str,
        normalize: bool,
    ) -> Result<BoxQuery, QueryError> {
        // Prefixes are for strings: ES refuses them on numbers, dates, booleans (unless
        // `lenient`).
        let refuse = |ty: &str| -> Result<BoxQuery, QueryError> {
            if self.lenient {
                return Ok(Box::new(EmptyQuery));
            }
            Err(QueryError::QueryShard(format!(
                "Can only use prefix queries on keyword and text fields - not on [{field}] which is of type [{ty}]"
            )))
        };
        match self.mapper.resolve(field) {
            FieldTarget::Explicit { kind, .. }
                if !matches!(kind, FieldType::Keyword | FieldType::Text) =>
            {
                return refuse(hydrant_index::mapping::type_name(kind));
            }
            FieldTarget::Dynamic { path } => {
                if let Some(kinds) = self.fields.paths.get(&path)
                    && !kinds.is_empty()
                    && !kinds.contains(&ValueKind::Keyword)
                    && !kinds.contains(&ValueKind::Text)
                {
                    let ty = if kinds.contains(&ValueKind::F64) {
                        "float"
                    } else if kinds.contains(&ValueKind::I64) || kinds.contains(&ValueKind::U64) {
                        "long"
                    } else if kinds.contains(&ValueKind::Date) {
                        "date"
                    } else {
                        "boolean"
                    };
                    return refuse(ty);
                }
            }
            _ => {}
        }
        Ok(match self.mapper.resolve(field) {
            FieldTarget::Keyword { path } => self.value_prefix(&path, prefix),
            FieldTarget::Dynamic { path } => {
                let mut parts = vec![self.value_prefix(&path, prefix)];
                if let Some(q) = self.prefix_text(&path, prefix, normalize) {
                    parts.push(q);
                }
                union(parts)
            }
            FieldTarget::Id => term_prefix(Term::from_field_text(self.mapper.fields().id, prefix)),
            FieldTarget::Explicit { field, kind, .. } => {
                self.explicit_prefix(field, kind, prefix, normalize)
            }
            FieldTarget::Timestamp | FieldTarget::Missing => Box::new(EmptyQuery),
        })
    }

    /// Exact strings starting with `prefix`, from the value columns.
    fn value_prefix(&self, path: &str, prefix: &str) -> BoxQuery {
        let lo = self.keyword_term(path, prefix);
        let hi = self.keyword_term(path, &format!("{prefix}\u{10FFFF}"));
        Box::new(RangeQuery::new(Bound::Included(lo), Bound::Included(hi)))
    }

    fn exists(&self, field: &str) -> BoxQuery {
        let own: BoxQuery = match self.mapper.resolve(field) {
            FieldTarget::Id | FieldTarget::Timestamp => return Box::new(AllQuery),
            // Dynamic paths under `field` too (`json_subpaths`).
            FieldTarget::Keyword { path } | FieldTarget::Dynamic { path } => {
                Box::new(ExistsQuery::new(format!("_val.{path}"), true))
            }
            FieldTarget::Explicit { field, kind, .. } => return self.explicit_exists(field, kind),
            FieldTarget::Missing => Box::new(EmptyQuery),
        };
        // An object: a document has it when it has any field under it, mapped ones included.
        let under = format!("{field}.");
        let mut parts = vec![own];
        parts.extend(
            self.mapper
                .explicit_fields()
                .filter(|(name, _, _)| name.starts_with(&under))
                .map(|(_, f, kind)| self.explicit_exists(f, kind)),
        );
        union(parts)
    }
}

fn term_query(t: Term) -> BoxQuery {
    Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs))
}

/// The terms starting with `prefix`'s text, all of them: tantivy's one-term
/// `PhrasePrefixQuery` stops at its `max_expansions` (50) terms per segment, where Elasticsearch's
/// `prefix` has no limit.
fn term_prefix(prefix: Term) -> BoxQuery {
    let mut q = PhrasePrefixQuery::new(vec![prefix]);
    q.set_max_expansions(u32::MAX);
    Box::new(q)
}

/// Any of `parts` (none: nothing matches).
fn union(mut parts: Vec<BoxQuery>) -> BoxQuery {
    match parts.len() {
        0 => Box::new(EmptyQuery),
        1 => parts.remove(0),
        _ => Box::new(BooleanQuery::union(parts)),
    }
}

#[cfg(test)]
mod tests;
