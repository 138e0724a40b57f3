//! Dates in responses: `key_as_string`, `value_as_string`, sort values and `fields`, printed in
//! the request's `format` and `time_zone` as Elasticsearch prints them.

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Utc};

use super::{Zone, java_to_chrono};

/// Prints epoch milliseconds in `format` (ES names such as `strict_date_optional_time`,
/// `epoch_millis`, `epoch_second`, `strict_date`, or a Java pattern; the first of an `a||b`
/// list) at `zone`. Unknown patterns fall back to ES's default format.
pub fn format_date(ms: i64, format: Option<&str>, zone: Zone) -> String {
    let first = format
        .and_then(|f| f.split("||").next())
        .map(str::trim)
        .unwrap_or("strict_date_optional_time");
    match first {
        "epoch_millis" => return ms.to_string(),
        "epoch_second" => return ms.div_euclid(1000).to_string(),
        _ => {}
    }
    let local = at_zone(ms, zone);
    let pattern = match first {
        "strict_date_optional_time"
        | "date_optional_time"
        | "strict_date_optional_time_nanos"
        | "strict_date_time"
        | "date_time"
        | "iso8601" => None,
        "strict_date" | "date" | "yyyy-MM-dd" => Some("%Y-%m-%d".to_string()),
        "strict_date_hour_minute_second" | "date_hour_minute_second" => {
            Some("%Y-%m-%dT%H:%M:%S".to_string())
        }
        "strict_date_time_no_millis" | "date_time_no_millis" => {
            Some(if local.offset().local_minus_utc() == 0 {
                "%Y-%m-%dT%H:%M:%SZ".to_string()
            } else {
                "%Y-%m-%dT%H:%M:%S%:z".to_string()
            })
        }
        "basic_date" => Some("%Y%m%d".to_string()),
        custom => java_to_chrono(custom, true),
    };
    match pattern {
        // Written, not `to_string()`: a pattern chrono cannot print falls back to the default
        // format instead of panicking.
        Some(p) => {
            use std::fmt::Write;
            let mut out = String::new();
            match write!(out, "{}", local.format(&p)) {
                Ok(()) => out,
                Err(_) => iso(&local),
            }
        }
        None => iso(&local),
    }
}

fn at_zone(ms: i64, zone: Zone) -> DateTime<FixedOffset> {
    let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    match zone {
        Zone::Utc => utc.fixed_offset(),
        Zone::Fixed(o) => utc.with_timezone(&o),
        Zone::Named(tz) => {
            let offset = tz.offset_from_utc_datetime(&utc.naive_utc()).fix();
            utc.with_timezone(&offset)
        }
    }
}

/// `2015-05-17T10:05:03.000Z`, or `…+02:00` away from UTC.
fn iso(t: &DateTime<FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    if t.offset().local_minus_utc() == 0 {
        // Written directly: chrono's `format` parses its pattern on every call, and a
        // histogram prints a key per bucket. Years of more than four digits or before year 0
        // (a sign and more digits, as ES prints them) and leap seconds take chrono's way.
        if (0..=9999).contains(&t.year()) && t.nanosecond() < 1_000_000_000 {
            return format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                t.nanosecond() / 1_000_000
            );
        }
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_431_857_103_000; // 2015-05-17T10:05:03Z

    #[test]
    fn default_format_is_iso_with_millis() {
        assert_eq!(format_date(MS, None, Zone::Utc), "2015-05-17T10:05:03.000Z");
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(
            format_date(MS, None, paris),
            "2015-05-17T12:05:03.000+02:00"
        );
    }

    #[test]
    fn the_default_format_written_directly_is_chronos() {
        // Leap-second nanoseconds (chrono's 60th second) print as chrono prints them.
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap()
            .and_utc()
            .fixed_offset();
        let mut times = vec![leap];
        for ms in [
            0,
            1,
            999,
            MS,
            -1,
            -62_135_596_800_000,
            253_402_300_799_999,
            253_402_300_800_000,
        ] {
            times.push(at_zone(ms, Zone::Utc));
        }
        for t in times {
            assert_eq!(
                iso(&t),
                t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn named_formats_and_patterns() {
        assert_eq!(
            format_date(MS, Some("epoch_millis"), Zone::Utc),
            "1431857103000"
        );
        assert_eq!(
            format_date(MS, Some("epoch_second"), Zone::Utc),
            "1431857103"
        );
        assert_eq!(
            format_date(MS, Some("strict_date"), Zone::Utc),
            "2015-05-17"
        );
        assert_eq!(
            format_date(MS + 45, Some("yyyy-MM-dd HH:mm:ss.SSS"), Zone::Utc),
            "2015-05-17 10:05:03.045"
        );
        assert_eq!(
            format_date(MS, Some("epoch_millis||strict_date"), Zone::Utc),
            "1431857103000"
        );
    }
}
