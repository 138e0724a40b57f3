//! Equality on the typed columns of a dynamic field (`_val.<path>`): a query value such as
//! `"5"`, `5.0` or `"true"` is looked for in every column type it may have been stored as.
//!
//! Numbers run as one-value ranges on the column (tantivy's fast-field range query reconciles
//! i64/u64/f64). Booleans cannot: tantivy's range query refuses a boolean term on a JSON
//! field ("unsupported value bytes type"), so they are matched by reading the segment's
//! boolean column directly.

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use hydrant_index::ValueKind;
use tantivy::columnar::{Column, ColumnType};
use tantivy::query::doc_predicate_query::{
    ConstOrVariableSegmentPredicate, DocPredicate, DocPredicateQuery,
};
use tantivy::query::{
    AllScorer, ConstScoreQuery, EmptyScorer, EnableScoring, Explanation, Query, RangeQuery, Scorer,
    Weight,
};
use tantivy::{DocId, Score, SegmentReader, TantivyError, Term};

use super::{BoxQuery, Compiler, union};
use crate::ast::RangeBound;
use crate::dates::DateParser;
use crate::error::QueryError;
use hydrant_index::timestamp::tantivy_date;

/// A query value read as each type a JSON column can hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Typed {
    /// Signed integer (also looked for as a float).
    I64(i64),
    /// Unsigned integer above `i64::MAX`.
    U64(u64),
    /// Finite float.
    F64(f64),
    /// Boolean (`true`/`false` only, as Elasticsearch's boolean fields take them).
    Bool(bool),
}

/// The typed readings of `value`; none for text that spells no number or boolean.
pub(super) fn typed(value: &str) -> Vec<Typed> {
    let v = value.trim();
    if let Ok(i) = v.parse::<i64>() {
        vec![Typed::I64(i), Typed::F64(i as f64)]
    } else if let Ok(u) = v.parse::<u64>() {
        vec![Typed::U64(u)]
    } else if let Ok(x) = v.parse::<f64>()
        && x.is_finite()
    {
        vec![Typed::F64(x)]
    } else if v == "true" || v == "false" {
        vec![Typed::Bool(v == "true")]
    } else {
        Vec::new()
    }
}

impl Compiler<'_> {
    /// Documents whose `path` holds the number or boolean `value` spells, in any column type.
    pub(super) fn typed_value_queries(&self, path: &str, value: &str) -> Vec<BoxQuery> {
        let readings: Vec<BoxQuery> = self
            .held_readings(path, typed(value))
            .into_iter()
            .map(|t| self.typed_eq(path, t))
            .collect();
        let mut out: Vec<BoxQuery> = match readings.len() {
            // Readings of one value match in one column: a number scores 1, as on
            // Elasticsearch's numeric fields, not once per reading.
            2.. => vec![Box::new(ConstScoreQuery::new(union(readings), 1.0))],
            _ => readings,
        };
        out.extend(self.date_eq(path, value));
        out
    }

    /// The readings worth a query on `path`: none when its segments hold no number or boolean,
    /// else those of the kinds they hold (all of them when none is: tantivy's column range
    /// reconciles an integer reading with a column of another numeric type). Each reading left
    /// out is a scan of the whole column saved, and a union of one part is no union.
    fn held_readings(&self, path: &str, readings: Vec<Typed>) -> Vec<Typed> {
        let Some(kinds) = self.fields.paths.get(path) else {
            return readings;
        };
        // An integer reading serves integer columns of either sign (tantivy converts its
        // bounds to the column's type exactly; a float reading would round them past 2⁵³).
        let held_by = |t: &Typed| -> &[ValueKind] {
            match t {
                Typed::I64(_) | Typed::U64(_) => &[ValueKind::I64, ValueKind::U64],
                Typed::F64(_) => &[ValueKind::F64],
                Typed::Bool(_) => &[ValueKind::Bool],
            }
        };
        let numeric = [
            ValueKind::I64,
            ValueKind::U64,
            ValueKind::F64,
            ValueKind::Bool,
        ];
        if !numeric.iter().any(|k| kinds.contains(k)) {
            return Vec::new();
        }
        let held: Vec<Typed> = readings
            .iter()
            .copied()
            .filter(|t| held_by(t).iter().any(|k| kinds.contains(k)))
            .collect();
        if held.is_empty() { readings } else { held }
    }

    /// On a path holding dates (strings date detection made dates), the documents whose date
    /// falls in what `value` names — read as a term on an Elasticsearch date field is: the
    /// span of its precision (`2026-03-29` is the whole day), in `strict_date_optional_time`
    /// or epoch milliseconds. Numbers on the path count as epoch milliseconds, as they do
    /// once Elasticsearch has mapped the field `date`.
    fn date_eq(&self, path: &str, value: &str) -> Option<BoxQuery> {
        let kinds = self.fields.paths.get(path)?;
        if !kinds.contains(&ValueKind::Date) {
            return None;
        }
        let dates = DateParser::new(None, None, self.now_ms).ok()?;
        let (lo, hi) = (
            dates.parse(value, false).ok()?,
            dates.parse(value, true).ok()?,
        );
        let mut parts = vec![self.ms_range(path, Bound::Included(lo), Bound::Included(hi))];
        parts.extend(self.ms_as_numbers(path, Bound::Included(lo), Bound::Included(hi)));
        Some(union(parts))
    }

    /// Dates of `path` between two instants (epoch ms).
    pub(super) fn ms_range(&self, path: &str, lo: Bound<i64>, hi: Bound<i64>) -> BoxQuery {
        let term = |ms: i64| {
            let mut t = Term::from_field_json_path(self.value_field(), path, true);
            t.append_type_and_fast_value(tantivy_date(ms));
            t
        };
        Box::new(RangeQuery::new(lo.map(term), hi.map(term)))
    }

    /// On a path holding dates, its numbers between two instants read as epoch milliseconds.
    pub(super) fn ms_as_numbers(
        &self,
        path: &str,
        lo: Bound<i64>,
        hi: Bound<i64>,
    ) -> Vec<BoxQuery> {
        let Some(kinds) = self.fields.paths.get(path) else {
            return Vec::new();
        };
        if !kinds.contains(&ValueKind::Date) {
            return Vec::new();
        }
        let base = || Term::from_field_json_path(self.value_field(), path, true);
        let mut out: Vec<BoxQuery> = Vec::new();
        if kinds.contains(&ValueKind::I64) {
            let t = |ms: i64| {
                let mut t = base();
                t.append_type_and_fast_value(ms);
                t
            };
            out.push(Box::new(RangeQuery::new(lo.map(t), hi.map(t))));
        }
        if kinds.contains(&ValueKind::F64) {
            let t = |ms: i64| {
                let mut t = base();
                t.append_type_and_fast_value(ms as f64);
                t
            };
            out.push(Box::new(RangeQuery::new(lo.map(t), hi.map(t))));
        }
        out
    }

    /// The name of `path`'s columns in the exact-value field (`_val.{path}`).
    pub(super) fn value_column(&self, path: &str) -> String {
        let schema = self.mapper.schema();
        format!("{}.{path}", schema.get_field_name(self.value_field()))
    }

    fn typed_eq(&self, path: &str, value: Typed) -> BoxQuery {
        let mut term = Term::from_field_json_path(self.value_field(), path, true);
        match value {
            Typed::I64(i) => term.append_type_and_fast_value(i),
            Typed::U64(u) => term.append_type_and_fast_value(u),
            Typed::F64(x) => {
                term.append_type_and_fast_value(x);
                if x < 0.0 {
                    return below_integers(value_eq(term), self.value_column(path), x);
                }
            }
            Typed::Bool(b) => {
                return Box::new(DocPredicateQuery::from(BoolColumnEq {
                    column: self.value_column(path),
                    value: b,
                }));
            }
        }
        value_eq(term)
    }
}

impl Compiler<'_> {
    /// `range` on a dynamic field that only ever held numbers: a bound that is no number is
    /// an error, as on Elasticsearch's numeric fields (not an empty answer).
    pub(super) fn check_numeric_bounds(
        &self,
        path: &str,
        lower: &RangeBound,
        upper: &RangeBound,
    ) -> Result<(), QueryError> {
        let Some(kinds) = self.fields.paths.get(path) else {
            return Ok(());
        };
        let numeric_only = !kinds.is_empty()
            && kinds
                .iter()
                .all(|k| matches!(k, ValueKind::I64 | ValueKind::U64 | ValueKind::F64));
        if !numeric_only {
            return Ok(());
        }
        for b in [lower, upper] {
            if let RangeBound::Inclusive(v) | RangeBound::Exclusive(v) = b
                && v.trim().parse::<f64>().is_err()
            {
                return Err(QueryError::QueryShard(format!(
                    "failed to create query: For input string: \"{v}\""
                )));
            }
        }
        Ok(())
    }

    /// `range` on the boolean column of `path` (`false` < `true`, as Elasticsearch orders
    /// them); `None` when a bound is no boolean.
    pub(super) fn bool_range(
        &self,
        path: &str,
        lower: &RangeBound,
        upper: &RangeBound,
    ) -> Option<BoxQuery> {
        let parse = |v: &str| match v.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        };
        let lo = match lower {
            RangeBound::Unbounded => Bound::Unbounded,
            RangeBound::Inclusive(v) => Bound::Included(parse(v)?),
            RangeBound::Exclusive(v) => Bound::Excluded(parse(v)?),
        };
        let hi = match upper {
            RangeBound::Unbounded => Bound::Unbounded,
            RangeBound::Inclusive(v) => Bound::Included(parse(v)?),
            RangeBound::Exclusive(v) => Bound::Excluded(parse(v)?),
        };
        let parts: Vec<BoxQuery> = [false, true]
            .into_iter()
            .filter(|b| (lo, hi).contains(b))
            .map(|b| self.typed_eq(path, Typed::Bool(b)))
            .collect();
        Some(union(parts))
    }
}

/// Documents whose column value equals `t` (`_val` has columns, not an inverted index).
pub(super) fn value_eq(t: Term) -> BoxQuery {
    Box::new(RangeQuery::new(
        Bound::Included(t.clone()),
        Bound::Included(t),
    ))
}

/// The float form of a range on a dynamic path (`query`, on column `column`) whose upper bound
/// `upper` is below zero: in a segment whose column is of integers that cannot reach it, no
/// document. tantivy 0.27's `transform_from_f64_bounds` reads an upper bound below an integer
/// type's minimum as no bound, so on its own the range would match every document of a segment
/// of unsigned integers.
pub(super) fn below_integers(query: BoxQuery, column: String, upper: f64) -> BoxQuery {
    Box::new(BelowIntegers {
        query: Arc::from(query),
        column,
        upper,
    })
}

#[derive(Debug, Clone)]
struct BelowIntegers {
    query: Arc<dyn Query>,
    column: String,
    upper: f64,
}

impl Query for BelowIntegers {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(BelowIntegersWeight {
            inner: self.query.weight(scoring)?,
            column: self.column.clone(),
            upper: self.upper,
        }))
    }
}

struct BelowIntegersWeight {
    inner: Box<dyn Weight>,
    column: String,
    upper: f64,
}

impl BelowIntegersWeight {
    /// Whether the segment's column for the path cannot hold a value up to the bound.
    fn out_of_reach(&self, reader: &SegmentReader) -> tantivy::Result<bool> {
        let numeric = [ColumnType::I64, ColumnType::U64, ColumnType::F64];
        let found = reader
            .fast_fields()
            .u64_lenient_for_type(Some(&numeric), &self.column)?;
        Ok(match found.map(|(_, kind)| kind) {
            Some(ColumnType::U64) => self.upper < 0.0,
            Some(ColumnType::I64) => self.upper < i64::MIN as f64,
            _ => false,
        })
    }
}

impl Weight for BelowIntegersWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        if self.out_of_reach(reader)? {
            return Ok(Box::new(EmptyScorer));
        }
        self.inner.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.out_of_reach(reader)? {
            return Err(TantivyError::InvalidArgument(format!(
                "document #({doc}) does not match"
            )));
        }
        self.inner.explain(reader, doc)
    }
}

/// Documents whose boolean column `column` holds `value` (any of its values, for arrays).
#[derive(Debug, Clone)]
struct BoolColumnEq {
    column: String,
    value: bool,
}

impl DocPredicate for BoolColumnEq {
    type SegmentDocPredicate = BoolDocs;

    fn doc_predicate(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<ConstOrVariableSegmentPredicate<BoolDocs>> {
        let Some(column) = reader.fast_fields().column_opt::<bool>(&self.column)? else {
            return Ok(ConstOrVariableSegmentPredicate::Const(false));
        };
        Ok(ConstOrVariableSegmentPredicate::Variable {
            predicate: BoolDocs {
                column,
                value: self.value,
            },
            necessary_condition: Box::new(AllScorer::new(reader.max_doc())),
        })
    }
}

/// [`BoolColumnEq`] on one segment.
struct BoolDocs {
    column: Column<bool>,
    value: bool,
}

impl tantivy::query::doc_predicate_query::SegmentDocPredicate for BoolDocs {
    fn eval(&mut self, doc: DocId) -> bool {
        self.column.values_for_doc(doc).any(|v| v == self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_every_type_they_spell() {
        assert_eq!(typed(" 5 "), vec![Typed::I64(5), Typed::F64(5.0)]);
        assert_eq!(typed("18446744073709551615"), vec![Typed::U64(u64::MAX)]);
        assert_eq!(typed("6.25"), vec![Typed::F64(6.25)]);
        assert_eq!(typed("true"), vec![Typed::Bool(true)]);
        assert_eq!(typed("false"), vec![Typed::Bool(false)]);
        assert!(typed("True").is_empty(), "ES booleans are lowercase");
        assert!(typed("NaN").is_empty());
        assert!(typed("inf").is_empty());
        assert!(typed("10.0.0.1").is_empty());
    }
}
