//! [`QueryAst`] → tantivy query, against one index's mapping and the fields its segments hold.

use std::ops::Bound;

use hydrant_config::FieldType;
use hydrant_index::timestamp::tantivy_date;
use hydrant_index::{DocMapper, DynamicFields, FieldTarget, ValueKind};
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery,
    ExistsQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query, RangeQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;

use crate::ast::{BoolQuery, MatchKind, Operator, QueryAst, RangeBound};
use crate::dates::DateParser;
use crate::error::QueryError;

mod bounds;
mod explicit;
mod geo;
mod pattern;
mod prefix;
mod time_buckets;
mod values;
pub(crate) mod zoned;

pub use bounds::TimeRange;
pub(crate) use geo::{GeoColumns, GeoField, geo_field};
pub(crate) use pattern::Pattern;
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

    /// Full text on the `_text` form of `path`; none on a path that never held text.
    fn match_text(&mut self, path: &str, text: &str, kind: &MatchKind) -> Option<BoxQuery> {
        if !self.may_hold(path, ValueKind::Text) {
            return None;
        }
        let tokens = self.tokens(text);
        let terms: Vec<Term> = tokens.iter().map(|t| self.text_term(path, t)).collect();
        match_terms(terms, kind)
    }

    fn match_dynamic(&mut self, path: &str, text: &str, kind: &MatchKind) -> BoxQuery {
        let mut parts: Vec<BoxQuery> = Vec::new();
        if let Some(q) = self.match_text(path, text, kind) {
            parts.push(q);
        }
        parts.extend(self.typed_value_queries(path, text));
        if parts.is_empty() {
            // Nothing to analyze (punctuation only): the exact value may still match.
            parts.push(value_eq(self.keyword_term(path, text)));
        }
        union(parts)
    }

    /// Text on every field (ES's default `*` field).
    fn match_everywhere(&mut self, text: &str, kind: &MatchKind) -> BoxQuery {
        let text_paths: Vec<String> = self.fields.text_paths().map(str::to_string).collect();
        let mut parts: Vec<BoxQuery> = Vec::new();
        for p in &text_paths {
            if let Some(q) = self.match_text(p, text, kind) {
                parts.push(q);
            }
        }
        if !values::typed(text).is_empty() {
            for p in self.numeric_paths() {
                parts.extend(self.typed_value_queries(&p, text));
            }
        }
        let explicit: Vec<(Field, FieldType)> = self
            .mapper
            .explicit_fields()
            .map(|(_, field, kind)| (field, kind))
            .collect();
        for (field, field_kind) in explicit {
            // Lenient, as Elasticsearch is on `*`: text that is no value of a field skips it.
            if let Ok(Some(q)) = self.explicit_match(field, field_kind, text, kind) {
                parts.push(q);
            }
        }
        union(parts)
    }

    fn numeric_paths(&self) -> Vec<String> {
        self.fields
            .paths
            .iter()
            .filter(|(_, k)| {
                k.iter().any(|k| {
                    matches!(
                        k,
                        ValueKind::I64 | ValueKind::U64 | ValueKind::F64 | ValueKind::Bool
                    )
                })
            })
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// `match` on every field whose name fits `pattern` (`user.*`, as `multi_match` and
    /// `query_string` name fields), the best field's score counting; a field the text cannot
    /// be matched against (a number against words) is left out, as Elasticsearch leaves out
    /// fields a pattern expands to.
    fn match_pattern(&mut self, pattern: &str, text: &str, kind: &MatchKind) -> BoxQuery {
        let mut names: Vec<String> = self
            .fields
            .paths
            .keys()
            .filter(|p| hydrant_index::wildcard_match(pattern, p))
            .cloned()
            .collect();
        names.extend(
            self.mapper
                .explicit_fields()
                .map(|(name, _, _)| name)
                .filter(|name| hydrant_index::wildcard_match(pattern, name))
                .map(str::to_string),
        );
        names.sort();
        names.dedup();
        let parts: Vec<BoxQuery> = names
            .iter()
            .filter_map(|name| self.match_field(name, text, kind).ok())
            .collect();
        match parts.len() {
            0 => Box::new(EmptyQuery),
            _ => Box::new(DisjunctionMaxQuery::new(parts)),
        }
    }

    fn match_field(
        &mut self,
        field: &str,
        text: &str,
        kind: &MatchKind,
    ) -> Result<BoxQuery, QueryError> {
        Ok(match self.mapper.resolve(field) {
            FieldTarget::Id => Box::new(TermSetQuery::new([Term::from_field_text(
                self.mapper.fields().id,
                text,
            )])),
            FieldTarget::Timestamp => {
                let dates = DateParser::new(None, None, self.now_ms)?;
                let lo = dates.parse(text, false)?;
                let hi = dates.parse(text, true)?;
                self.timestamp_range(Bound::Included(lo), Bound::Included(hi))
            }
            FieldTarget::Keyword { path } => value_eq(self.keyword_term(&path, text)),
            FieldTarget::Dynamic { path } => self.match_dynamic(&path, text, kind),
            FieldTarget::Explicit {
                field,
                kind: field_kind,
                ..
            } => match self.explicit_match(field, field_kind, text, kind) {
                Ok(Some(q)) => q,
                Ok(None) => Box::new(EmptyQuery),
                Err(_) if self.lenient => Box::new(EmptyQuery),
                Err(e) => return Err(e),
            },
            FieldTarget::Missing => Box::new(EmptyQuery),
        })
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

    fn timestamp_range(&self, lo: Bound<i64>, hi: Bound<i64>) -> BoxQuery {
        let field = self.mapper.fields().timestamp;
        Box::new(zoned::ZonedRange::new(
            field,
            lo.map(tantivy_date),
            hi.map(tantivy_date),
        ))
    }

    fn range(
        &mut self,
        field: &str,
        lower: &RangeBound,
        upper: &RangeBound,
        dates: &DateParser,
    ) -> Result<BoxQuery, QueryError> {
        match self.mapper.resolve(field) {
            FieldTarget::Timestamp => {
                let lo = date_bound(lower, dates, true)?;
                let hi = date_bound(upper, dates, false)?;
                Ok(self.timestamp_range(lo, hi))
            }
            FieldTarget::Keyword { path } => Ok(self.keyword_range(&path, lower, upper)),
            FieldTarget::Dynamic { path } => {
                if !self.lenient {
                    self.check_numeric_bounds(&path, lower, upper)?;
                }
                self.range_dynamic(&path, lower, upper, dates)
            }
            FieldTarget::Id => Ok(Box::new(RangeQuery::new(
                str_bound(lower).map(|v| Term::from_field_text(self.mapper.fields().id, &v)),
                str_bound(upper).map(|v| Term::from_field_text(self.mapper.fields().id, &v)),
            ))),
            FieldTarget::Explicit { field, kind, .. } => {
                self.explicit_range(field, kind, lower, upper, dates)
            }
            FieldTarget::Missing => Ok(Box::new(EmptyQuery)),
        }
    }

    fn keyword_range(&self, path: &str, lower: &RangeBound, upper: &RangeBound) -> BoxQuery {
        Box::new(RangeQuery::new(
            str_bound(lower).map(|v| self.keyword_term(path, &v)),
            str_bound(upper).map(|v| self.keyword_term(path, &v)),
        ))
    }

    fn range_dynamic(
        &mut self,
        path: &str,
        lower: &RangeBound,
        upper: &RangeBound,
        dates: &DateParser,
    ) -> Result<BoxQuery, QueryError> {
        let kinds = self.fields.paths.get(path).cloned().unwrap_or_default();
        let lo = num_bound(lower);
        let hi = num_bound(upper);
        let numeric = lo.is_some() && hi.is_some();
        let base = || Term::from_field_json_path(self.value_field(), path, true);
        let mut parts: Vec<BoxQuery> = Vec::new();
        if let (Some(lo), Some(hi)) = (lo, hi) {
            let as_f64 = |b: Bound<f64>| {
                b.map(|x| {
                    let mut t = base();
                    t.append_type_and_fast_value(x);
                    t
                })
            };
            let ints = (int_lower(lo), int_upper(hi));
            // A path has one numeric column per segment, which both forms search (tantivy
            // converts the bounds to its type): the float form for float columns, the integer
            // form for exact bounds on integer ones. A path whose segments hold integers only
            // needs only the integer form, one whose segments hold floats only the float one —
            // one scan of the column rather than two and a union.
            let integers_only = !kinds.contains(&ValueKind::F64)
                && (kinds.contains(&ValueKind::I64) || kinds.contains(&ValueKind::U64));
            let floats_only = kinds.contains(&ValueKind::F64)
                && !kinds.contains(&ValueKind::I64)
                && !kinds.contains(&ValueKind::U64);
            if !(integers_only && ints.0.is_some() && ints.1.is_some()) {
                let floats: BoxQuery = Box::new(RangeQuery::new(as_f64(lo), as_f64(hi)));
                parts.push(match hi {
                    Bound::Included(x) | Bound::Excluded(x) if x < 0.0 => {
                        values::below_integers(floats, self.value_column(path), x)
                    }
                    _ => floats,
                });
            }
            if let (Some(ilo), Some(ihi)) = ints
                && !floats_only
            {
                let as_i64 = |b: Bound<i64>| {
                    b.map(|x| {
                        let mut t = base();
                        t.append_type_and_fast_value(x);
                        t
                    })
                };
                parts.push(Box::new(RangeQuery::new(as_i64(ilo), as_i64(ihi))));
            }
        }
        if kinds.contains(&ValueKind::Bool)
            && let Some(q) = self.bool_range(path, lower, upper)
        {
            parts.push(q);
        }
        if kinds.contains(&ValueKind::Keyword) || (!numeric && kinds.is_empty()) {
            parts.push(self.keyword_range(path, lower, upper));
        }
        if kinds.contains(&ValueKind::Date)
            && let (Ok(lo), Ok(hi)) = (
                date_bound(lower, dates, true),
                date_bound(upper, dates, false),
            )
        {
            parts.push(self.ms_range(path, lo, hi));
            if !numeric {
                // Dates named as dates: the path's numbers are epoch milliseconds.
                parts.extend(self.ms_as_numbers(path, lo, hi));
            }
        }
        Ok(union(parts))
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

/// Analyzed words (terms of one field) matched as `kind` says.
fn match_terms(mut terms: Vec<Term>, kind: &MatchKind) -> Option<BoxQuery> {
    match kind {
        MatchKind::PhrasePrefix { max_expansions } if !terms.is_empty() => {
            return Some(Box::new(prefix::ShardPhrasePrefix::new(
                terms,
                *max_expansions,
            )));
        }
        MatchKind::BoolPrefix {
            operator,
            minimum_should_match,
            max_expansions,
        } if !terms.is_empty() => {
            let last = terms.pop()?;
            let prefix = prefix::ShardPhrasePrefix::new(vec![last], *max_expansions);
            let n = terms.len() + 1;
            let occur = match operator {
                Operator::And => Occur::Must,
                Operator::Or => Occur::Should,
            };
            let mut clauses: Vec<(Occur, BoxQuery)> =
                terms.into_iter().map(|t| (occur, term_query(t))).collect();
            clauses.push((occur, Box::new(prefix)));
            let required = match (operator, minimum_should_match) {
                (Operator::Or, Some(m)) => m.required(n).max(1),
                (Operator::Or, None) => 1,
                (Operator::And, _) => 0,
            };
            return Some(Box::new(BooleanQuery::with_minimum_required_clauses(
                clauses, required,
            )));
        }
        _ => {}
    }
    if terms.len() <= 1 {
        return terms.into_iter().next().map(term_query);
    }
    Some(match kind {
        MatchKind::Words {
            operator,
            minimum_should_match,
        } => {
            let n = terms.len();
            let occur = match operator {
                Operator::And => Occur::Must,
                Operator::Or => Occur::Should,
            };
            let clauses = terms.into_iter().map(|t| (occur, term_query(t))).collect();
            let required = match (operator, minimum_should_match) {
                (Operator::Or, Some(m)) => m.required(n).max(1),
                (Operator::Or, None) => 1,
                (Operator::And, _) => 0,
            };
            Box::new(BooleanQuery::with_minimum_required_clauses(
                clauses, required,
            ))
        }
        MatchKind::Phrase { slop } => Box::new(PhraseQuery::new_with_offset_and_slop(
            terms.into_iter().enumerate().collect(),
            *slop,
        )),
        MatchKind::Term => Box::new(PhraseQuery::new(terms)),
        // Handled above (a prefix kind with no words matches nothing).
        MatchKind::PhrasePrefix { .. } | MatchKind::BoolPrefix { .. } => return None,
    })
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

fn str_bound(b: &RangeBound) -> Bound<String> {
    match b {
        RangeBound::Unbounded => Bound::Unbounded,
        RangeBound::Inclusive(v) => Bound::Included(v.clone()),
        RangeBound::Exclusive(v) => Bound::Excluded(v.clone()),
    }
}

fn num_bound(b: &RangeBound) -> Option<Bound<f64>> {
    match b {
        RangeBound::Unbounded => Some(Bound::Unbounded),
        RangeBound::Inclusive(v) => v.trim().parse::<f64>().ok().map(Bound::Included),
        RangeBound::Exclusive(v) => v.trim().parse::<f64>().ok().map(Bound::Excluded),
    }
}

/// A float lower bound as the equivalent integer bound.
fn int_lower(b: Bound<f64>) -> Option<Bound<i64>> {
    Some(match b {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(x) => Bound::Included(clamp_i64(x.ceil())?),
        Bound::Excluded(x) if x.fract() == 0.0 => Bound::Excluded(clamp_i64(x)?),
        Bound::Excluded(x) => Bound::Included(clamp_i64(x.ceil())?),
    })
}

/// A float upper bound as the equivalent integer bound.
fn int_upper(b: Bound<f64>) -> Option<Bound<i64>> {
    Some(match b {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(x) => Bound::Included(clamp_i64(x.floor())?),
        Bound::Excluded(x) if x.fract() == 0.0 => Bound::Excluded(clamp_i64(x)?),
        Bound::Excluded(x) => Bound::Included(clamp_i64(x.floor())?),
    })
}

/// `x` as an `i64`, when it is one (`i64::MAX as f64` is 2⁶³, one past the largest).
fn clamp_i64(x: f64) -> Option<i64> {
    (x.is_finite() && x >= i64::MIN as f64 && x < i64::MAX as f64).then_some(x as i64)
}

/// A date bound in epoch ms; `lower` picks ES's rounding (`gte` down, `gt` up, `lt` down,
/// `lte` up).
fn date_bound(b: &RangeBound, dates: &DateParser, lower: bool) -> Result<Bound<i64>, QueryError> {
    Ok(match b {
        RangeBound::Unbounded => Bound::Unbounded,
        RangeBound::Inclusive(v) => Bound::Included(dates.parse(v, !lower)?),
        RangeBound::Exclusive(v) => Bound::Excluded(dates.parse(v, lower)?),
    })
}

#[cfg(test)]
mod tests;
