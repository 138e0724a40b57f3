//! Queries on explicitly mapped fields: each type has its own terms (tokens for `text`, exact
//! strings for `keyword`, typed values for numbers, booleans, dates and IPs).

use std::net::{IpAddr, Ipv6Addr};
use std::ops::Bound;

use hydrant_config::FieldType;
use hydrant_index::mapping::to_v6;
use hydrant_index::timestamp::tantivy_date;
use tantivy::Term;
use tantivy::query::{EmptyQuery, ExistsQuery, PhrasePrefixQuery, RangeQuery, RegexQuery};
use tantivy::schema::Field;

use super::{
    BoxQuery, Compiler, date_bound, int_lower, int_upper, match_terms, num_bound, str_bound,
    term_prefix, term_query,
};
use crate::ast::{MatchKind, RangeBound};
use crate::dates::DateParser;
use crate::error::QueryError;

impl Compiler<'_> {
    /// The query for `value` in an explicit non-text, non-date field, or why `value` cannot be
    /// a value of that field (Elasticsearch's reasons).
    fn explicit_term(
        &self,
        field: Field,
        kind: FieldType,
        value: &str,
    ) -> Result<BoxQuery, String> {
        let v = value.trim();
        let term = match kind {
            FieldType::Keyword | FieldType::Text | FieldType::Date => {
                Term::from_field_text(field, value)
            }
            FieldType::Long => Term::from_field_i64(
                field,
                match v.parse::<i64>() {
                    Ok(i) => i,
                    Err(_) => match v.parse::<f64>() {
                        Ok(x)
                            if x.is_finite()
                                && !(i64::MIN as f64..i64::MAX as f64).contains(&x) =>
                        {
                            return Err(format!("Value [{v}] is out of range for a long"));
                        }
                        Ok(x) if x.fract() == 0.0 => x as i64,
                        _ => return Err(format!("For input string: \"{v}\"")),
                    },
                },
            ),
            FieldType::Double => Term::from_field_f64(
                field,
                v.parse::<f64>()
                    .map_err(|_| format!("For input string: \"{v}\""))?,
            ),
            FieldType::Boolean => Term::from_field_bool(
                field,
                v.parse::<bool>().map_err(|_| {
                    format!("Can't parse boolean value [{v}], expected [true] or [false]")
                })?,
            ),
            FieldType::Ip => {
                if let Some((lo, hi)) = cidr(v)? {
                    return Ok(Box::new(RangeQuery::new(
                        Bound::Included(Term::from_field_ip_addr(field, lo)),
                        Bound::Included(Term::from_field_ip_addr(field, hi)),
                    )));
                }
                let ip = v
                    .parse::<IpAddr>()
                    .map_err(|_| format!("'{v}' is not an IP string literal."))?;
                Term::from_field_ip_addr(field, to_v6(ip))
            }
            FieldType::GeoPoint => {
                return Err(
                    "Geometry fields do not support exact searching, use dedicated \
                     geometry queries instead"
                        .into(),
                );
            }
        };
        Ok(term_query(term))
    }

    /// `match` (and query-string terms) on an explicit field: `Ok(None)` when the text has no
    /// words, an error when it cannot be a value of the field (callers searching every field
    /// skip those, as Elasticsearch's lenient `*` does).
    pub(super) fn explicit_match(
        &mut self,
        field: Field,
        kind: FieldType,
        text: &str,
        how: &MatchKind,
    ) -> Result<Option<BoxQuery>, QueryError> {
        let failed = |why: String| QueryError::QueryShard(format!("failed to create query: {why}"));
        match kind {
            FieldType::Text => {
                let terms = self
                    .tokens(text)
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                Ok(match_terms(terms, how))
            }
            // A phrase prefix needs positions, which only text fields have (OpenSearch's words).
            _ if matches!(how, MatchKind::PhrasePrefix { .. }) => {
                Err(QueryError::QueryShard(format!(
                    "field:[{}] was indexed without position data; cannot run PhraseQuery",
                    self.mapper
                        .explicit_fields()
                        .find(|(_, f, _)| *f == field)
                        .map_or("?", |(path, _, _)| path)
                )))
            }
            FieldType::Date => {
                let dates = DateParser::new(None, None, self.now_ms)?;
                let lo = dates.parse(text, false)?;
                let hi = dates.parse(text, true)?;
                Ok(Some(date_range(
                    field,
                    Bound::Included(lo),
                    Bound::Included(hi),
                )))
            }
            _ => self
                .explicit_term(field, kind, text)
                .map(Some)
                .map_err(failed),
        }
    }

    pub(super) fn explicit_prefix(
        &mut self,
        field: Field,
        kind: FieldType,
        prefix: &str,
        normalize: bool,
    ) -> BoxQuery {
        match kind {
            FieldType::Text if !normalize => term_prefix(Term::from_field_text(field, prefix)),
            FieldType::Text => {
                let mut terms: Vec<Term> = self
                    .tokens(prefix)
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                match terms.len() {
                    0 => Box::new(EmptyQuery),
                    1 => term_prefix(terms.remove(0)),
                    _ => Box::new(PhrasePrefixQuery::new(terms)),
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
        // The first bound whose text `fails`, for the error that names it.
        let failing = |fails: fn(&str) -> bool| {
            [lower, upper]
                .into_iter()
                .find_map(|b| match b {
                    RangeBound::Inclusive(v) | RangeBound::Exclusive(v) => {
                        fails(v.trim()).then(|| v.trim().to_string())
                    }
                    RangeBound::Unbounded => None,
                })
                .unwrap_or_default()
        };
        // A bound that is no number, in Java's words for it (`Long.parseLong`).
        let not_a_number = || {
            let v = failing(|v| v.parse::<f64>().is_err());
            QueryError::QueryShard(format!("failed to create query: For input string: \"{v}\""))
        };
        Ok(match kind {
            FieldType::GeoPoint => {
                return Err(QueryError::QueryShard(
                    "Field of type [geo_point] does not support range queries".into(),
                ));
            }
            FieldType::Keyword | FieldType::Text => Box::new(RangeQuery::new(
                str_bound(lower).map(|v| Term::from_field_text(field, &v)),
                str_bound(upper).map(|v| Term::from_field_text(field, &v)),
            )),
            FieldType::Long => {
                let (Some(lo), Some(hi)) = (num_bound(lower), num_bound(upper)) else {
                    return Err(not_a_number());
                };
                let (Some(lo), Some(hi)) = (int_lower(lo), int_upper(hi)) else {
                    let v = failing(|v| v.parse::<i64>().is_err());
                    return Err(QueryError::QueryShard(format!(
                        "failed to create query: Value [{v}] is out of range for a long"
                    )));
                };
                Box::new(RangeQuery::new(
                    lo.map(|x| Term::from_field_i64(field, x)),
                    hi.map(|x| Term::from_field_i64(field, x)),
                ))
            }
            FieldType::Double => {
                let (Some(lo), Some(hi)) = (num_bound(lower), num_bound(upper)) else {
                    return Err(not_a_number());
                };
                Box::new(RangeQuery::new(
                    lo.map(|x| Term::from_field_f64(field, x)),
                    hi.map(|x| Term::from_field_f64(field, x)),
                ))
            }
            FieldType::Boolean => {
                // tantivy has no range over a boolean field: the values inside (`false` <
                // `true`, as Elasticsearch orders them) as terms.
                let b = |v: Bound<String>| -> Result<Bound<bool>, QueryError> {
                    let parse =
                        |s: String| s.trim().parse::<bool>().map_err(|_| bad("true or false"));
                    Ok(match v {
                        Bound::Unbounded => Bound::Unbounded,
                        Bound::Included(s) => Bound::Included(parse(s)?),
                        Bound::Excluded(s) => Bound::Excluded(parse(s)?),
                    })
                };
                let range = (b(str_bound(lower))?, b(str_bound(upper))?);
                let parts: Vec<BoxQuery> = [false, true]
                    .into_iter()
                    .filter(|v| std::ops::RangeBounds::contains(&range, v))
                    .map(|v| term_query(Term::from_field_bool(field, v)))
                    .collect();
                super::union(parts)
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

/// The first and last address of a CIDR block (`10.0.0.0/8`, `2001:db8::/32`), as IPv6;
/// `None` when `v` has no prefix length.
fn cidr(v: &str) -> Result<Option<(Ipv6Addr, Ipv6Addr)>, String> {
    let Some((addr, len)) = v.split_once('/') else {
        return Ok(None);
    };
    let bad = || format!("Expected [ip/prefix] but was [{v}]");
    let ip = addr.trim().parse::<IpAddr>().map_err(|_| bad())?;
    let len: u32 = len.trim().parse().map_err(|_| bad())?;
    // An IPv4 block is the same block of IPv4-mapped IPv6 addresses (96 bits in front).
    let (bits, max) = match ip {
        IpAddr::V4(_) => (len + 96, 32),
        IpAddr::V6(_) => (len, 128),
    };
    if len > max {
        return Err(bad());
    }
    let base = u128::from(to_v6(ip));
    let host = u128::MAX.checked_shr(bits).unwrap_or(0);
    Ok(Some((
        Ipv6Addr::from(base & !host),
        Ipv6Addr::from(base | host),
    )))
}

fn date_range(field: Field, lo: Bound<i64>, hi: Bound<i64>) -> BoxQuery {
    let term = |ms: i64| Term::from_field_date(field, tantivy_date(ms));
    Box::new(RangeQuery::new(lo.map(term), hi.map(term)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_span_their_first_to_last_address() {
        let v4 = |s: &str| to_v6(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            cidr("10.0.0.0/24").unwrap(),
            Some((v4("10.0.0.0"), v4("10.0.0.255")))
        );
        assert_eq!(
            cidr("10.1.2.3/8").unwrap(),
            Some((v4("10.0.0.0"), v4("10.255.255.255")))
        );
        assert_eq!(
            cidr("10.1.2.3/32").unwrap(),
            Some((v4("10.1.2.3"), v4("10.1.2.3")))
        );
        assert_eq!(
            cidr("2001:db8::/32").unwrap(),
            Some((
                "2001:db8::".parse().unwrap(),
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap()
            ))
        );
        assert_eq!(
            cidr("::/0").unwrap().map(|r| r.1),
            Some(Ipv6Addr::from(u128::MAX))
        );
        assert_eq!(cidr("10.0.0.1").unwrap(), None);
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("nope/8").is_err());
    }
}
