//! Queries on explicitly mapped fields: each type has its own terms (tokens for `text`, exact
//! strings for `keyword`, typed values for numbers, booleans, dates and IPs).

use std::net::IpAddr;
use std::ops::Bound;

use hydrant_config::FieldType;
use hydrant_index::mapping::to_v6;
use tantivy::query::{EmptyQuery, ExistsQuery, PhrasePrefixQuery, RangeQuery, RegexQuery};
use tantivy::schema::Field;
use tantivy::{DateTime, Term};

use super::{
    BoxQuery, Compiler, date_bound, int_lower, int_upper, match_terms, num_bound, str_bound,
    term_query,
};
use crate::ast::{MatchKind, RangeBound};
use crate::dates::DateParser;
use crate::error::QueryError;

impl Compiler<'_> {
    /// The typed term for `value` in an explicit non-text field, if it reads as that type.
    fn explicit_term(&self, field: Field, kind: FieldType, value: &str) -> Option<Term> {
        let v = value.trim();
        Some(match kind {
            FieldType::Keyword | FieldType::Text => Term::from_field_text(field, value),
            FieldType::Long => Term::from_field_i64(
                field,
                v.parse::<i64>().ok().or_else(|| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.fract() == 0.0)
                        .map(|x| x as i64)
                })?,
            ),
            FieldType::Double => Term::from_field_f64(field, v.parse::<f64>().ok()?),
            FieldType::Boolean => Term::from_field_bool(field, v.parse::<bool>().ok()?),
            FieldType::Ip => Term::from_field_ip_addr(field, to_v6(v.parse::<IpAddr>().ok()?)),
            FieldType::Date => return None,
        })
    }

    /// `match` (and query-string terms) on an explicit field; `None` when the text cannot be a
    /// value of the field (it then matches nothing).
    pub(super) fn explicit_match(
        &mut self,
        field: Field,
        kind: FieldType,
        text: &str,
        how: &MatchKind,
    ) -> Option<BoxQuery> {
        match kind {
            FieldType::Text => {
                let terms = self
                    .tokens(text)
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                match_terms(terms, how)
            }
            FieldType::Date => {
                let dates = DateParser::new(None, None, self.now_ms).ok()?;
                let lo = dates.parse(text, false).ok()?;
                let hi = dates.parse(text, true).ok()?;
                Some(date_range(field, Bound::Included(lo), Bound::Included(hi)))
            }
            _ => self.explicit_term(field, kind, text).map(term_query),
        }
    }

    pub(super) fn explicit_prefix(
        &mut self,
        field: Field,
        kind: FieldType,
        prefix: &str,
    ) -> BoxQuery {
        match kind {
            FieldType::Text => {
                let terms: Vec<Term> = self
                    .tokens(prefix)
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                if terms.is_empty() {
                    Box::new(EmptyQuery)
                } else {
                    Box::new(PhrasePrefixQuery::new(terms))
                }
            }
            FieldType::Keyword => Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_text(field, prefix)),
                Bound::Included(Term::from_field_text(field, &format!("{prefix}\u{10FFFF}"))),
            )),
            _ => Box::new(EmptyQuery),
        }
    }

    pub(super) fn explicit_range(
        &mut self,
        field: Field,
        kind: FieldType,
        lower: &RangeBound,
        upper: &RangeBound,
        dates: &DateParser,
    ) -> Result<BoxQuery, QueryError> {
        let bad = |what: &str| {
            QueryError::Parsing(format!(
                "failed to create range query: bounds must be {what}"
            ))
        };
        Ok(match kind {
            FieldType::Keyword | FieldType::Text => Box::new(RangeQuery::new(
                str_bound(lower).map(|v| Term::from_field_text(field, &v)),
                str_bound(upper).map(|v| Term::from_field_text(field, &v)),
            )),
            FieldType::Long => {
                let (lo, hi) = (num_bound(lower), num_bound(upper));
                let (Some(lo), Some(hi)) = (lo.and_then(int_lower), hi.and_then(int_upper)) else {
                    return Err(bad("numbers"));
                };
                Box::new(RangeQuery::new(
                    lo.map(|x| Term::from_field_i64(field, x)),
                    hi.map(|x| Term::from_field_i64(field, x)),
                ))
            }
            FieldType::Double => {
                let (Some(lo), Some(hi)) = (num_bound(lower), num_bound(upper)) else {
                    return Err(bad("numbers"));
                };
                Box::new(RangeQuery::new(
                    lo.map(|x| Term::from_field_f64(field, x)),
                    hi.map(|x| Term::from_field_f64(field, x)),
                ))
            }
            FieldType::Boolean => {
                let b = |v: Bound<String>| -> Result<Bound<Term>, QueryError> {
                    Ok(match v {
                        Bound::Unbounded => Bound::Unbounded,
                        Bound::Included(s) => Bound::Included(Term::from_field_bool(
                            field,
                            s.parse().map_err(|_| bad("true or false"))?,
                        )),
                        Bound::Excluded(s) => Bound::Excluded(Term::from_field_bool(
                            field,
                            s.parse().map_err(|_| bad("true or false"))?,
                        )),
                    })
                };
                Box::new(RangeQuery::new(b(str_bound(lower))?, b(str_bound(upper))?))
            }
            FieldType::Date => {
                let lo = date_bound(lower, dates, true)?;
                let hi = date_bound(upper, dates, false)?;
                date_range(field, lo, hi)
            }
            FieldType::Ip => {
                let ip = |v: Bound<String>| -> Result<Bound<Term>, QueryError> {
                    let parse = |s: String| {
                        s.trim()
                            .parse::<IpAddr>()
                            .map(|ip| Term::from_field_ip_addr(field, to_v6(ip)))
                            .map_err(|_| bad("IP addresses"))
                    };
                    Ok(match v {
                        Bound::Unbounded => Bound::Unbounded,
                        Bound::Included(s) => Bound::Included(parse(s)?),
                        Bound::Excluded(s) => Bound::Excluded(parse(s)?),
                    })
                };
                Box::new(RangeQuery::new(
                    ip(str_bound(lower))?,
                    ip(str_bound(upper))?,
                ))
            }
        })
    }

    pub(super) fn explicit_exists(&self, field: Field, kind: FieldType) -> BoxQuery {
        match kind {
            // Text has no column: any token will do.
            FieldType::Text => match RegexQuery::from_pattern(".*", field) {
                Ok(q) => Box::new(q),
                Err(_) => Box::new(EmptyQuery),
            },
            _ => {
                let name = self.mapper.schema().get_field_name(field).to_string();
                Box::new(ExistsQuery::new(name, false))
            }
        }
    }
}

fn date_range(field: Field, lo: Bound<i64>, hi: Bound<i64>) -> BoxQuery {
    let term = |ms: i64| Term::from_field_date(field, DateTime::from_timestamp_millis(ms));
    Box::new(RangeQuery::new(lo.map(term), hi.map(term)))
}
