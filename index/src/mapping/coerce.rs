//! Values of explicitly mapped fields: what each type accepts, coerced as Elasticsearch does
//! (`"42"` is a long, `1.0` is a long, `"true"` is a boolean), and the error when it does not fit.

use std::net::{IpAddr, Ipv6Addr};

use crate::timestamp::tantivy_date;
use hydrant_config::FieldType;

use tantivy::schema::OwnedValue;

/// A JSON scalar as the parser met it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
}

impl Scalar {
    fn describe(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::I64(i) => i.to_string(),
            Scalar::U64(u) => u.to_string(),
            Scalar::F64(x) => x.to_string(),
            Scalar::Str(s) => {
                let short: String = s.chars().take(64).collect();
                format!("'{short}'")
            }
        }
    }
}

/// Elasticsearch's name of a field type.
pub fn type_name(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Keyword => "keyword",
        FieldType::Text => "text",
        FieldType::Long => "long",
        FieldType::Double => "double",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::Ip => "ip",
        FieldType::GeoPoint => "geo_point",
    }
}

/// The value to index for `kind`, or the reason it does not fit (ES's wording).
pub(crate) fn coerce(path: &str, kind: FieldType, v: Scalar) -> Result<OwnedValue, String> {
    let fail = |v: &Scalar| {
        format!(
            "failed to parse field [{path}] of type [{}]: cannot read {} as {}",
            type_name(kind),
            v.describe(),
            type_name(kind)
        )
    };
    match kind {
        FieldType::Keyword | FieldType::Text => Ok(OwnedValue::Str(match v {
            Scalar::Str(s) => s,
            Scalar::Bool(b) => b.to_string(),
            Scalar::I64(i) => i.to_string(),
            Scalar::U64(u) => u.to_string(),
            Scalar::F64(x) => x.to_string(),
        })),
        FieldType::Long => match &v {
            Scalar::I64(i) => Ok(OwnedValue::I64(*i)),
            Scalar::U64(u) => i64::try_from(*u).map(OwnedValue::I64).map_err(|_| fail(&v)),
            Scalar::F64(x) if x.is_finite() && x.abs() < 9.2e18 => {
                Ok(OwnedValue::I64(x.trunc() as i64))
            }
            Scalar::Str(s) => {
                let t = s.trim();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| {
                        t.parse::<f64>()
                            .ok()
                            .filter(|x| x.is_finite() && x.abs() < 9.2e18)
                            .map(|x| x.trunc() as i64)
                    })
                    .map(OwnedValue::I64)
                    .ok_or_else(|| fail(&v))
            }
            _ => Err(fail(&v)),
        },
        FieldType::Double => match &v {
            Scalar::I64(i) => Ok(OwnedValue::F64(*i as f64)),
            Scalar::U64(u) => Ok(OwnedValue::F64(*u as f64)),
            Scalar::F64(x) => Ok(OwnedValue::F64(*x)),
            Scalar::Str(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(OwnedValue::F64)
                .ok_or_else(|| fail(&v)),
            Scalar::Bool(_) => Err(fail(&v)),
        },
        FieldType::Boolean => match &v {
            Scalar::Bool(b) => Ok(OwnedValue::Bool(*b)),
            Scalar::Str(s) if s == "true" => Ok(OwnedValue::Bool(true)),
            Scalar::Str(s) if s == "false" || s.is_empty() => Ok(OwnedValue::Bool(false)),
            _ => Err(fail(&v)),
        },
        FieldType::Date => {
            let ms = match &v {
                Scalar::I64(i) => Some(*i),
                Scalar::U64(u) => i64::try_from(*u).ok(),
                Scalar::F64(x) if x.is_finite() => Some(*x as i64),
                Scalar::Str(s) => super::dates::explicit(s),
                Scalar::Bool(_) | Scalar::F64(_) => None,
            };
            ms.map(|ms| OwnedValue::Date(tantivy_date(ms)))
                .ok_or_else(|| fail(&v))
        }
        FieldType::Ip => match &v {
            Scalar::Str(s) => s
                .trim()
                .parse::<IpAddr>()
                .map(|ip| OwnedValue::IpAddr(to_v6(ip)))
                .map_err(|_| fail(&v)),
            _ => Err(fail(&v)),
        },
        // Points are read whole, before any scalar (see `document.rs`).
        FieldType::GeoPoint => Err(fail(&v)),
    }
}

/// IPv4 addresses are stored as IPv4-mapped IPv6, as tantivy wants.
pub fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_coerce_like_elasticsearch() {
        assert_eq!(
            coerce("n", FieldType::Long, Scalar::Str("42".into())),
            Ok(OwnedValue::I64(42))
        );
        assert_eq!(
            coerce("n", FieldType::Long, Scalar::F64(1.9)),
            Ok(OwnedValue::I64(1))
        );
        assert_eq!(
            coerce("n", FieldType::Double, Scalar::I64(2)),
            Ok(OwnedValue::F64(2.0))
        );
        let err = coerce("http.status", FieldType::Long, Scalar::Str("abc".into())).unwrap_err();
        assert_eq!(
            err,
            "failed to parse field [http.status] of type [long]: cannot read 'abc' as long"
        );
    }

    #[test]
    fn booleans_dates_and_ips() {
        assert_eq!(
            coerce("b", FieldType::Boolean, Scalar::Str("true".into())),
            Ok(OwnedValue::Bool(true))
        );
        assert!(coerce("b", FieldType::Boolean, Scalar::I64(1)).is_err());
        assert_eq!(
            coerce(
                "d",
                FieldType::Date,
                Scalar::Str("2015-05-17T10:05:00Z".into())
            ),
            Ok(OwnedValue::Date(tantivy_date(1_431_857_100_000)))
        );
        assert!(coerce("d", FieldType::Date, Scalar::Str("soon".into())).is_err());
        // `strict_date_optional_time||epoch_millis`, Elasticsearch's default: a date alone or
        // a partial time is a date; a space for the `T` is not.
        let date = |s: &str| coerce("d", FieldType::Date, Scalar::Str(s.into()));
        assert_eq!(
            date("2026-03-29"),
            Ok(OwnedValue::Date(tantivy_date(1_774_742_400_000)))
        );
        assert_eq!(
            date("2026-03-29T10+01:00"),
            Ok(OwnedValue::Date(tantivy_date(1_774_774_800_000)))
        );
        assert_eq!(
            date("1431857100000"),
            Ok(OwnedValue::Date(tantivy_date(1_431_857_100_000)))
        );
        assert!(date("2026-03-29 03:30:00").is_err());
        assert!(matches!(
            coerce("ip", FieldType::Ip, Scalar::Str("10.0.0.1".into())),
            Ok(OwnedValue::IpAddr(_))
        ));
        assert!(coerce("ip", FieldType::Ip, Scalar::Str("10.0.0.300".into())).is_err());
        assert_eq!(
            coerce("k", FieldType::Keyword, Scalar::I64(404)),
            Ok(OwnedValue::Str("404".into()))
        );
    }
}
