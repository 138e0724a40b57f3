//! `range` on every kind of field: the event time (read by zones, `zoned.rs`), exact
//! strings, the typed columns of a dynamic path, and the bounds each takes.

use std::ops::Bound;

use hydrant_index::timestamp::tantivy_date;
use hydrant_index::{FieldTarget, ValueKind};
use tantivy::Term;
use tantivy::query::{EmptyQuery, RangeQuery};

use super::{BoxQuery, Compiler, union, values, zoned};
use crate::ast::RangeBound;
use crate::dates::DateParser;
use crate::error::QueryError;

impl Compiler<'_> {
    pub(super) fn timestamp_range(&self, lo: Bound<i64>, hi: Bound<i64>) -> BoxQuery {
        let field = self.mapper.fields().timestamp;
        Box::new(zoned::ZonedRange::new(
            field,
            lo.map(tantivy_date),
            hi.map(tantivy_date),
        ))
    }

    pub(super) fn range(
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

    pub(super) fn keyword_range(
        &self,
        path: &str,
        lower: &RangeBound,
        upper: &RangeBound,
    ) -> BoxQuery {
        Box::new(RangeQuery::new(
            str_bound(lower).map(|v| self.keyword_term(path, &v)),
            str_bound(upper).map(|v| self.keyword_term(path, &v)),
        ))
    }

    pub(super) fn range_dynamic(
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
}

pub(super) fn str_bound(b: &RangeBound) -> Bound<String> {
    match b {
        RangeBound::Unbounded => Bound::Unbounded,
        RangeBound::Inclusive(v) => Bound::Included(v.clone()),
        RangeBound::Exclusive(v) => Bound::Excluded(v.clone()),
    }
}

pub(super) fn num_bound(b: &RangeBound) -> Option<Bound<f64>> {
    match b {
        RangeBound::Unbounded => Some(Bound::Unbounded),
        RangeBound::Inclusive(v) => v.trim().parse::<f64>().ok().map(Bound::Included),
        RangeBound::Exclusive(v) => v.trim().parse::<f64>().ok().map(Bound::Excluded),
    }
}

/// A float lower bound as the equivalent integer bound.
pub(super) fn int_lower(b: Bound<f64>) -> Option<Bound<i64>> {
    Some(match b {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(x) => Bound::Included(clamp_i64(x.ceil())?),
        Bound::Excluded(x) if x.fract() == 0.0 => Bound::Excluded(clamp_i64(x)?),
        Bound::Excluded(x) => Bound::Included(clamp_i64(x.ceil())?),
    })
}

/// A float upper bound as the equivalent integer bound.
pub(super) fn int_upper(b: Bound<f64>) -> Option<Bound<i64>> {
    Some(match b {
        Bound::Unbounded => Bound::Unbounded,
        Bound::Included(x) => Bound::Included(clamp_i64(x.floor())?),
        Bound::Excluded(x) if x.fract() == 0.0 => Bound::Excluded(clamp_i64(x)?),
        Bound::Excluded(x) => Bound::Included(clamp_i64(x.floor())?),
    })
}

/// `x` as an `i64`, when it is one (`i64::MAX as f64` is 2⁶³, one past the largest).
pub(super) fn clamp_i64(x: f64) -> Option<i64> {
    (x.is_finite() && x >= i64::MIN as f64 && x < i64::MAX as f64).then_some(x as i64)
}

/// A date bound in epoch ms; `lower` picks ES's rounding (`gte` down, `gt` up, `lt` down,
/// `lte` up).
pub(super) fn date_bound(
    b: &RangeBound,
    dates: &DateParser,
    lower: bool,
) -> Result<Bound<i64>, QueryError> {
    Ok(match b {
        RangeBound::Unbounded => Bound::Unbounded,
        RangeBound::Inclusive(v) => Bound::Included(dates.parse(v, !lower)?),
        RangeBound::Exclusive(v) => Bound::Excluded(dates.parse(v, lower)?),
    })
}
