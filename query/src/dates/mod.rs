//! Dates in requests: Elasticsearch date math (`now-15m/m`, `2015-05-17||+1d/d`), `format`s
//! (`epoch_millis`, `strict_date_optional_time`, Java patterns such as `yyyy-MM-dd HH:mm:ss`)
//! and `time_zone` (`+01:00`, `Europe/Paris`).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime,
    NaiveTime, TimeZone, Timelike, Utc,
};

use crate::error::QueryError;

mod format;
pub use format::format_date;

/// A time zone given by offset or by name.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    /// UTC.
    Utc,
    /// A fixed offset.
    Fixed(FixedOffset),
    /// An IANA zone.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// Parses `Z`, `UTC`, `+01:00`, `-0530` or an IANA name.
    pub fn parse(text: &str) -> Result<Zone, QueryError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
            return Ok(Zone::Utc);
        }
        if t.starts_with('+') || t.starts_with('-') {
            let sign = if t.starts_with('-') { -1 } else { 1 };
            let digits: String = t[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            let (h, m) = match digits.len() {
                1 | 2 => (digits.parse::<i32>().ok(), Some(0)),
                4 => (
                    digits[..2].parse::<i32>().ok(),
                    digits[2..].parse::<i32>().ok(),
                ),
                _ => (None, None),
            };
            if let (Some(h), Some(m)) = (h, m)
                && let Some(off) = FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            {
                return Ok(Zone::Fixed(off));
            }
        }
        t.parse::<chrono_tz::Tz>().map(Zone::Named).map_err(|_| {
            QueryError::IllegalArgument(format!("The datetime zone id '{text}' is not recognised"))
        })
    }

    /// Local wall time of an instant.
    pub fn local_time(&self, ms: i64) -> NaiveDateTime {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Utc => utc.naive_utc(),
            Zone::Fixed(o) => utc.with_timezone(o).naive_local(),
            Zone::Named(tz) => utc.with_timezone(tz).naive_local(),
        }
    }

    /// The instant of a local wall time (the earlier one when a DST change repeats it; when a
    /// DST change skips it, the time moved later by the gap, as Java's `ZonedDateTime` does:
    /// 02:30 on the day Berlin skips 02:00–03:00 is 03:30 summer time).
    pub fn instant_of(&self, local: NaiveDateTime) -> i64 {
        fn pick<T: TimeZone>(r: LocalResult<DateTime<T>>, tz: &T, local: NaiveDateTime) -> i64 {
            match r {
                LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.timestamp_millis(),
                LocalResult::None => match tz.from_local_datetime(&(local + Duration::hours(1))) {
                    LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.timestamp_millis(),
                    LocalResult::None => local.and_utc().timestamp_millis(),
                },
            }
        }
        match self {
            Zone::Utc => local.and_utc().timestamp_millis(),
            Zone::Fixed(o) => pick(o.from_local_datetime(&local), o, local),
            Zone::Named(tz) => pick(tz.from_local_datetime(&local), tz, local),
        }
    }
}

/// A calendar unit of date math and rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Year.
    Year,
    /// Month.
    Month,
    /// Week (starting Monday).
    Week,
    /// Day.
    Day,
    /// Hour.
    Hour,
    /// Minute.
    Minute,
    /// Second.
    Second,
}

impl Unit {
    fn parse(c: char) -> Option<Unit> {
        Some(match c {
            'y' => Unit::Year,
            'M' => Unit::Month,
            'w' => Unit::Week,
            'd' => Unit::Day,
            'h' | 'H' => Unit::Hour,
            'm' => Unit::Minute,
            's' => Unit::Second,
            _ => return None,
        })
    }
}

/// The latest (and, negated, the earliest) instant a request may name, in epoch ms: about
/// 126,000 years either side of 1970. Every date, bound and histogram boundary stays within it,
/// and intervals and offsets within [`MAX_DURATION_MS`], so that sums of a few of them can never
/// overflow an `i64` or leave chrono's calendar.
pub const MAX_DATE_MS: i64 = 4_000_000_000_000_000;

/// The longest interval or offset a request may name, in ms (about 31,700 years).
pub const MAX_DURATION_MS: i64 = 1_000_000_000_000_000;

/// Adds `n` units to a local time; `None` when the result leaves the calendar.
pub fn add_units(t: NaiveDateTime, n: i64, unit: Unit) -> Option<NaiveDateTime> {
    let delta = match unit {
        Unit::Year => return add_months(t, n.checked_mul(12)?),
        Unit::Month => return add_months(t, n),
        Unit::Week => Duration::try_weeks(n),
        Unit::Day => Duration::try_days(n),
        Unit::Hour => Duration::try_hours(n),
        Unit::Minute => Duration::try_minutes(n),
        Unit::Second => Duration::try_seconds(n),
    }?;
    t.checked_add_signed(delta)
}

fn add_months(t: NaiveDateTime, n: i64) -> Option<NaiveDateTime> {
    let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 {
        t.checked_add_months(months)
    } else {
        t.checked_sub_months(months)
    }
}

/// Rounds a local time down to the start of its unit.
pub fn floor_to(t: NaiveDateTime, unit: Unit) -> NaiveDateTime {
    let d = t.date();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    match unit {
        Unit::Year => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d)),
        Unit::Month => midnight(NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d)),
        Unit::Week => midnight(d - Duration::days(i64::from(d.weekday().num_days_from_monday()))),
        Unit::Day => midnight(d),
        Unit::Hour => d.and_hms_opt(t.hour(), 0, 0).unwrap_or(t),
        Unit::Minute => d.and_hms_opt(t.hour(), t.minute(), 0).unwrap_or(t),
        Unit::Second => d.and_hms_opt(t.hour(), t.minute(), t.second()).unwrap_or(t),
    }
}

/// How a date is read: the request's `format` and `time_zone`.
#[derive(Debug, Clone)]
pub struct DateParser {
    formats: Vec<String>,
    zone: Zone,
    now_ms: i64,
}

impl DateParser {
    /// A parser for `format` (ES default `strict_date_optional_time||epoch_millis`) and
    /// `time_zone` (default UTC), with `now` fixed for the whole request.
    pub fn new(
        format: Option<&str>,
        time_zone: Option<&str>,
        now_ms: i64,
    ) -> Result<DateParser, QueryError> {
        // A pattern that is no pattern is the request's error, before any value is read.
        if let Some(f) = format {
            check_format(f)?;
        }
        let formats = format
            .unwrap_or("strict_date_optional_time||epoch_millis")
            .split("||")
            .map(|f| f.trim().to_string())
            .collect();
        let zone = match time_zone {
            Some(tz) => Zone::parse(tz)?,
            None => Zone::Utc,
        };
        Ok(DateParser {
            formats,
            zone,
            now_ms,
        })
    }

    /// Parses a date or date-math expression to epoch milliseconds. `round_up` chooses the
    /// last millisecond of a rounded unit (for `gt` and `lte` bounds), as ES does.
    pub fn parse(&self, text: &str, round_up: bool) -> Result<i64, QueryError> {
        let text = text.trim();
        let (anchor, math) = if let Some(rest) = text.strip_prefix("now") {
            (self.now_ms, rest)
        } else if let Some(i) = text.find("||") {
            (self.parse_plain(&text[..i], false)?, &text[i + 2..])
        } else {
            return self.parse_plain(text, round_up);
        };
        let ms = self
            .apply_math(anchor, math, round_up)
            .ok_or_else(|| failed(text, "invalid date math, or a date outside the calendar"))?;
        in_range(text, ms)
    }

    fn apply_math(&self, anchor: i64, math: &str, round_up: bool) -> Option<i64> {
        let mut t = self.zone.local_time(anchor);
        let chars: Vec<char> = math.chars().collect();
        let mut i = 0;
        let mut rounded_up = false;
        while i < chars.len() {
            let op = chars[i];
            i += 1;
            match op {
                '+' | '-' => {
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                    let n: i64 = if start == i {
                        1
                    } else {
                        chars[start..i].iter().collect::<String>().parse().ok()?
                    };
                    let unit = Unit::parse(*chars.get(i)?)?;
                    i += 1;
                    t = add_units(t, if op == '-' { -n } else { n }, unit)?;
                }
                '/' => {
                    let unit = Unit::parse(*chars.get(i)?)?;
                    i += 1;
                    t = floor_to(t, unit);
                    if round_up {
                        t = add_units(t, 1, unit)?;
                        rounded_up = true;
                    }
                }
                _ => return None,
            }
        }
        let ms = self.zone.instant_of(t);
        Some(if rounded_up { ms - 1 } else { ms })
    }

    fn parse_plain(&self, text: &str, round_up: bool) -> Result<i64, QueryError> {
        for f in &self.formats {
            if let Some(ms) = parse_with_format(text, f, &self.zone) {
                let ms = if round_up {
                    self.last_ms_of(text, f, ms)
                        .ok_or_else(|| failed(text, "rounded up, leaves the calendar"))?
                } else {
                    ms
                };
                return in_range(text, ms);
            }
        }
        Err(failed(
            text,
            &format!("with format [{}]", self.formats.join("||")),
        ))
    }
}

impl DateParser {
    /// The last millisecond `text` (which parsed to `start` with `format`) stands for, as
    /// Elasticsearch reads a bound that rounds up (`lte`, `gt`): the fields it leaves out take
    /// their largest value, so `lte: "2026-03-28"` includes that whole day and `gt` excludes it.
    fn last_ms_of(&self, text: &str, format: &str, start: i64) -> Option<i64> {
        let unit = match format {
            "epoch_millis" | "epoch_second" => return Some(start),
            f if is_iso(f) => iso_precision(text)?,
            _ => return Some(start),
        };
        let end = match unit {
            Precision::Millis => return Some(start),
            Precision::Second => return Some(start + 999),
            Precision::Unit(u @ (Unit::Hour | Unit::Minute)) => {
                let local = self.zone.local_time(start);
                start + (add_units(local, 1, u)? - local).num_milliseconds()
            }
            Precision::Unit(u) => {
                self.zone
                    .instant_of(add_units(self.zone.local_time(start), 1, u)?)
            }
        };
        Some(end - 1)
    }
}

/// What the last field given in an ISO 8601 date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    /// A year, month, day, hour or minute.
    Unit(Unit),
    /// Seconds without a fraction.
    Second,
    /// A fraction of a second: nothing to round.
    Millis,
}

fn is_iso(format: &str) -> bool {
    matches!(
        format,
        "strict_date_optional_time"
            | "date_optional_time"
            | "strict_date_time"
            | "date_time"
            | "strict_date_optional_time_nanos"
            | "strict_date"
            | "date"
            | "iso8601"
    )
}

/// The precision of an ISO 8601 date as written (`2026`, `2026-03-28`, `…T10:05`, …).
fn iso_precision(text: &str) -> Option<Precision> {
    let (date, time) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let Some(time) = time else {
        return Some(Precision::Unit(match date.split('-').count() {
            1 => Unit::Year,
            2 => Unit::Month,
            _ => Unit::Day,
        }));
    };
    // The zone (`Z`, `+02:00`, `-0530`) is not a field of the time.
    let clock = time
        .trim_end_matches('Z')
        .split(['+', '-'])
        .next()
        .unwrap_or(time);
    if clock.contains('.') || clock.contains(',') {
        return Some(Precision::Millis);
    }
    Some(match clock.split(':').count() {
        1 => Precision::Unit(Unit::Hour),
        2 => Precision::Unit(Unit::Minute),
        _ => Precision::Second,
    })
}

fn failed(text: &str, why: &str) -> QueryError {
    QueryError::DateParse(format!("failed to parse date field [{text}] {why}"))
}

/// `ms` when it lies within [`MAX_DATE_MS`] of the epoch.
fn in_range(text: &str, ms: i64) -> Result<i64, QueryError> {
    if ms.unsigned_abs() > MAX_DATE_MS.unsigned_abs() {
        return Err(failed(
            text,
            &format!("out of range: the supported dates lie within {MAX_DATE_MS} ms of the epoch"),
        ));
    }
    Ok(ms)
}

fn parse_with_format(text: &str, format: &str, zone: &Zone) -> Option<i64> {
    match format {
        "epoch_millis" => parse_epoch(text, 1.0),
        "epoch_second" => parse_epoch(text, 1000.0),
        "strict_date_optional_time"
        | "date_optional_time"
        | "strict_date_time"
        | "date_time"
        | "strict_date_optional_time_nanos"
        | "strict_date"
        | "date"
        | "iso8601" => parse_iso(text, zone),
        custom => parse_java_pattern(text, custom, zone),
    }
}

fn parse_epoch(text: &str, scale: f64) -> Option<i64> {
    let t = text.trim();
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return None;
    }
    // Out-of-range values are refused by the caller; NaN and infinities never get that far.
    t.parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && v.abs() <= MAX_DATE_MS as f64)
        .map(|v| v as i64)
}

/// ISO 8601 dates and times with optional parts and offset.
fn parse_iso(text: &str, zone: &Zone) -> Option<i64> {
    if let Ok(d) = DateTime::parse_from_rfc3339(text) {
        return Some(d.timestamp_millis());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%:z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(text, fmt) {
            return Some(d.timestamp_millis());
        }
    }
    let local = text.strip_suffix('Z');
    let (body, utc) = match local {
        Some(b) => (b, true),
        None => (text, false),
    };
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(body, f).ok())
    // An hour alone (`2026-03-28T10`): chrono wants the minutes.
    .or_else(|| NaiveDateTime::parse_from_str(&format!("{body}:00"), "%Y-%m-%dT%H:%M").ok())
    .or_else(|| {
        NaiveDate::parse_from_str(body, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    })
    .or_else(|| {
        NaiveDate::parse_from_str(&format!("{body}-01"), "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    })
    .or_else(|| {
        body.parse::<i32>()
            .ok()
            .filter(|_| body.len() == 4)
            .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1))
            .map(|d| d.and_time(NaiveTime::MIN))
    })?;
    Some(if utc {
        naive.and_utc().timestamp_millis()
    } else {
        zone.instant_of(naive)
    })
}

/// Java/Joda patterns (`yyyy-MM-dd HH:mm:ss.SSS`) translated to chrono's.
fn parse_java_pattern(text: &str, pattern: &str, zone: &Zone) -> Option<i64> {
    let fmt = java_to_chrono(pattern, false)?;
    if let Ok(d) = DateTime::parse_from_str(text, &fmt) {
        return Some(d.timestamp_millis());
    }
    if let Ok(n) = NaiveDateTime::parse_from_str(text, &fmt) {
        return Some(zone.instant_of(n));
    }
    NaiveDate::parse_from_str(text, &fmt)
        .ok()
        .map(|d| zone.instant_of(d.and_time(NaiveTime::MIN)))
}

/// Refuses a `format` Elasticsearch cannot read: a pattern (not one of the named formats,
/// which are words such as `strict_date_optional_time`) with a letter outside quotes that is
/// no Java pattern letter. Letters Java has but Hydrant does not print still pass.
pub(crate) fn check_format(format: &str) -> Result<(), QueryError> {
    const JAVA_LETTERS: &str = "GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZp";
    for one in format.split("||") {
        if one.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let mut quoted = false;
        for c in one.chars() {
            if c == '\'' {
                quoted = !quoted;
            } else if !quoted && c.is_ascii_alphabetic() && !JAVA_LETTERS.contains(c) {
                return Err(QueryError::IllegalArgument(format!(
                    "Invalid format: [{format}]: Unknown pattern letter: {c}"
                )));
            }
        }
    }
    Ok(())
}

/// A Java/Joda date pattern as a chrono format string; `for_output` picks fixed-width
/// fractions (`SSS` prints three digits) instead of the lenient parsing form.
pub(crate) fn java_to_chrono(pattern: &str, for_output: bool) -> Option<String> {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let piece = match (c, n) {
            ('y' | 'u', 2) => "%y".to_string(),
            ('y' | 'u', _) => "%Y".to_string(),
            ('M', 1 | 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', _) => "%d".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', n) if for_output => match n {
                0..=3 => "%3f".to_string(),
                4..=6 => "%6f".to_string(),
                _ => "%9f".to_string(),
            },
            ('S', _) => "%.f".to_string(),
            ('a', _) => "%p".to_string(),
            ('Z' | 'X' | 'x', 1) => "%z".to_string(),
            ('Z' | 'X' | 'x', _) => "%:z".to_string(),
            ('\'', _) => {
                // Quoted literal.
                let end = chars[i + 1..].iter().position(|c| *c == '\'')? + i + 1;
                let lit: String = chars[i + 1..end].iter().collect();
                i = end + 1;
                out.push_str(&lit.replace('%', "%%"));
                continue;
            }
            (c, n) if c.is_ascii_alphabetic() => {
                let _ = n;
                return None;
            }
            // A literal `%` must not start a chrono specifier (found by the `date_math` fuzz
            // target: `%` alone made formatting fail).
            ('%', n) => "%%".repeat(n),
            (c, n) => std::iter::repeat_n(c, n).collect(),
        };
        // `.SSS` in Java includes the dot in the pattern; chrono's `%.f` brings its own.
        if c == 'S' && !for_output && out.ends_with('.') {
            out.pop();
        }
        out.push_str(&piece);
        i += n;
    }
    Some(out)
}

#[cfg(test)]
mod tests;
