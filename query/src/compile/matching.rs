//! `match` and its kin on the fields a name or pattern resolves to: full text, exact values,
//! every field (`*`), and the query the analyzed words make.

use std::ops::Bound;

use hydrant_config::FieldType;
use hydrant_index::{FieldTarget, ValueKind};
use tantivy::Term;
use tantivy::query::{
    BooleanQuery, DisjunctionMaxQuery, EmptyQuery, Occur, PhraseQuery, TermSetQuery,
};
use tantivy::schema::Field;

use super::values::{self, value_eq};
use super::{BoxQuery, Compiler, prefix, term_query, union};
use crate::ast::{MatchKind, Operator};
use crate::dates::DateParser;
use crate::error::QueryError;

impl Compiler<'_> {
    /// Full text on the `_text` form of `path`; none on a path that never held text.
    pub(super) fn match_text(
        &mut self,
        path: &str,
        text: &str,
        kind: &MatchKind,
    ) -> Option<BoxQuery> {
        if !self.may_hold(path, ValueKind::Text) {
            return None;
        }
        let tokens = self.tokens(text);
        let terms: Vec<Term> = tokens.iter().map(|t| self.text_term(path, t)).collect();
        match_terms(terms, kind)
    }

    pub(super) fn match_dynamic(&mut self, path: &str, text: &str, kind: &MatchKind) -> BoxQuery {
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
    pub(super) fn match_everywhere(&mut self, text: &str, kind: &MatchKind) -> BoxQuery {
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

    pub(super) fn numeric_paths(&self) -> Vec<String> {
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
    pub(super) fn match_pattern(
        &mut self,
        pattern: &str,
        text: &str,
        kind: &MatchKind,
    ) -> BoxQuery {
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

    pub(super) fn match_field(
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
}

/// Analyzed words (terms of one field) matched as `kind` says.
pub(super) fn match_terms(mut terms: Vec<Term>, kind: &MatchKind) -> Option<BoxQuery> {
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
