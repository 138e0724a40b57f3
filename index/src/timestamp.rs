//! The time of a record: `@timestamp` or `timestamp`, as RFC 3339 or epoch milliseconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;

/// The tantivy date of an instant in epoch milliseconds, saturated to what tantivy can hold.
///
/// tantivy keeps dates as `i64` nanoseconds (1677-09-21 to 2262-04-11), and its own
/// `from_timestamp_millis` multiplies without checking: a date outside that span would panic
/// in a debug build and wrap around to a wrong date in a release build. Saturating keeps range
/// bounds right (a bound before 1677 includes every stored date) and stored dates ordered.
pub fn tantivy_date(ms: i64) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_nanos(ms.saturating_mul(1_000_000))
}

/// Reads a record's event time in epoch milliseconds from a parsed `@timestamp` or
/// `timestamp` value: an RFC 3339 string (`2026-11-26T13:00:00Z`, with any offset), a string
/// without offset (taken as UTC, as Elasticsearch does), a day alone (`2026-11-26`, its
/// midnight UTC), or epoch milliseconds as a number or a string of digits. Anything else is `None`, and the caller uses the arrival time.
pub fn parse_timestamp(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => parse_timestamp_str(s),
        _ => None,
    }
}

/// [`parse_timestamp`] for a string.
pub fn parse_timestamp_str(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok();
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    // A day alone is its midnight, UTC (`strict_date_optional_time`, the default format).
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(day.and_time(NaiveTime::MIN).and_utc().timestamp_millis());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_outside_tantivys_span_saturate_instead_of_wrapping() {
        let min = tantivy_date(i64::MIN).into_timestamp_nanos();
        let year_1025 = tantivy_date(-29_987_568_000_000).into_timestamp_nanos();
        let year_3000 = tantivy_date(32_503_680_000_000).into_timestamp_nanos();
        assert_eq!(year_1025, i64::MIN);
        assert_eq!(min, i64::MIN);
        assert_eq!(year_3000, i64::MAX);
        assert_eq!(
            tantivy_date(1_431_857_100_000).into_timestamp_millis(),
            1_431_857_100_000
        );
    }

    #[test]
    fn a_day_alone_and_a_time_without_seconds_are_read_as_utc() {
        assert_eq!(parse_timestamp_str("2026-03-29"), Some(1_774_742_400_000));
        assert_eq!(
            parse_timestamp_str("2026-03-29T10:00"),
            Some(1_774_778_400_000)
        );
        assert_eq!(parse_timestamp_str("2026-13-29"), None);
        assert_eq!(parse_timestamp_str("yesterday"), None);
    }

    #[test]
    fn rfc3339_with_offset_is_converted_to_utc() {
        assert_eq!(
            parse_timestamp(&json!("2015-05-17T10:05:00+02:00")),
            Some(1_431_849_900_000)
        );
    }

    #[test]
    fn epoch_millis_as_number_and_string() {
        assert_eq!(
            parse_timestamp(&json!(1_431_857_100_000i64)),
            Some(1_431_857_100_000)
        );
        assert_eq!(
            parse_timestamp(&json!("1431857100000")),
            Some(1_431_857_100_000)
        );
    }

    #[test]
    fn naive_datetime_is_utc() {
        assert_eq!(
            parse_timestamp(&json!("2015-05-17T08:05:00.5")),
            Some(1_431_849_900_500)
        );
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(parse_timestamp(&json!(true)), None);
        assert_eq!(parse_timestamp(&json!({"a": 1})), None);
    }
}
