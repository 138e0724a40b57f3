//! Elasticsearch's date detection: which dynamic strings are dates.
//!
//! With `date_detection` on (the default), Elasticsearch maps a new string field as `date`
//! when its value parses with one of `dynamic_date_formats` — by default
//! `strict_date_optional_time` and `yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z` — and is no number
//! (`"2026"` stays a string). Hydrant decides per value, so a string in those formats is a date
//! wherever it appears. Written by hand rather than with chrono's parsers: the strict format's
//! optional parts (`2026-03`, `2026-03-28T10`, `,123` fractions, `+0100` offsets) are not RFC
//! 3339, and this runs for every string of every record, so it rejects most strings on their
//! first bytes.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// The earliest and latest instants tantivy's dates hold (nanoseconds in an `i64`); a date
/// outside stays a string rather than being stored saturated.
const MIN_MS: i64 = -9_223_372_036_854;
const MAX_MS: i64 = 9_223_372_036_854;

/// The instant (epoch ms) `s` names in Elasticsearch's default dynamic date formats.
pub(crate) fn detect(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    // Every form starts with four digits and a separator; pure numbers are never dates.
    if b.len() < 7 || !b[..4].iter().all(u8::is_ascii_digit) || !matches!(b[4], b'-' | b'/') {
        return None;
    }
    let ms = if b[4] == b'-' {
        optional_time(b)?
    } else {
        slashed(b)?
    };
    (MIN_MS..=MAX_MS).contains(&ms).then_some(ms)
}

/// A string an explicit `date` field holds, in its default format
/// `strict_date_optional_time||epoch_millis`: a date with optional time and offset, or epoch
/// milliseconds (digits, possibly negative).
pub(crate) fn explicit(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok();
    }
    let b = s.as_bytes();
    if b.len() < 7 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    optional_time(b).filter(|ms| (MIN_MS..=MAX_MS).contains(ms))
}

/// A cursor over the bytes.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.at == self.b.len()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.at) == Some(&c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let part = self.b.get(self.at..self.at + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.at += n;
        Some(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    }

    /// A fraction of a second: 1 to 9 digits, as nanoseconds.
    fn fraction(&mut self) -> Option<u32> {
        let start = self.at;
        while self.at < self.b.len() && self.b[self.at].is_ascii_digit() && self.at - start < 9 {
            self.at += 1;
        }
        let n = self.at - start;
        if n == 0 {
            return None;
        }
        let digits = &self.b[start..self.at];
        let value = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        Some(value * 10u32.pow(9 - n as u32))
    }

    /// `Z`, `±HH`, `±HH:mm` or `±HHmm`: the offset east of UTC in seconds.
    fn offset(&mut self) -> Option<i32> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let hours = self.digits(2)?;
        let minutes = if self.eat(b':') {
            self.digits(2)?
        } else {
            self.digits(2).unwrap_or(0)
        };
        if hours > 18 || minutes > 59 {
            return None;
        }
        Some(sign * (hours * 3600 + minutes * 60) as i32)
    }
}

fn instant(date: NaiveDate, time: NaiveTime, offset: i32) -> i64 {
    NaiveDateTime::new(date, time).and_utc().timestamp_millis() - i64::from(offset) * 1000
}

/// `strict_date_optional_time`: `yyyy-MM[-dd][T[HH[:mm[:ss[.SSS|,SSS]]]][offset]]`.
fn optional_time(b: &[u8]) -> Option<i64> {
    let mut c = Cursor { b, at: 0 };
    let year = c.digits(4)? as i32;
    c.eat(b'-');
    let month = c.digits(2)?;
    let day = if c.eat(b'-') { c.digits(2)? } else { 1 };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (mut h, mut m, mut s, mut nanos, mut offset) = (0, 0, 0, 0, 0);
    if c.eat(b'T')
        && let Some(hour) = c.digits(2)
    {
        h = hour;
        if c.eat(b':') {
            m = c.digits(2)?;
            if c.eat(b':') {
                s = c.digits(2)?;
                if c.eat(b'.') || c.eat(b',') {
                    nanos = c.fraction()?;
                }
            }
        }
        if !c.done() {
            offset = c.offset()?;
        }
    }
    if !c.done() {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(h, m, s, nanos)?;
    Some(instant(date, time, offset))
}

/// `yyyy/MM/dd HH:mm:ss Z` or `yyyy/MM/dd Z` (an offset such as `+0000` is required).
fn slashed(b: &[u8]) -> Option<i64> {
    let mut c = Cursor { b, at: 0 };
    let year = c.digits(4)? as i32;
    c.eat(b'/');
    let month = c.digits(2)?;
    if !c.eat(b'/') {
        return None;
    }
    let day = c.digits(2)?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    if !c.eat(b' ') {
        return None;
    }
    let mut time = NaiveTime::MIN;
    if b.get(c.at + 2) == Some(&b':') {
        let h = c.digits(2)?;
        c.eat(b':');
        let m = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let s = c.digits(2)?;
        time = NaiveTime::from_hms_opt(h, m, s)?;
        if !c.eat(b' ') {
            return None;
        }
    }
    let offset = c.offset()?;
    c.done().then(|| instant(date, time, offset))
}

#[cfg(test)]
mod tests {
    use super::detect;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn elasticsearchs_default_formats_are_dates() {
        for (text, want) in [
            ("2026-03-28T10:00:00Z", "2026-03-28T10:00:00Z"),
            ("2026-03-28T10:00:00.123Z", "2026-03-28T10:00:00.123Z"),
            ("2026-03-28T10:00:00,5+01:00", "2026-03-28T09:00:00.5Z"),
            (
                "2026-03-28T10:00:00.123456789-0530",
                "2026-03-28T15:30:00.123Z",
            ),
            ("2026-03-28T10:00:00", "2026-03-28T10:00:00Z"),
            ("2026-03-28T10:00", "2026-03-28T10:00:00Z"),
            ("2026-03-28T10", "2026-03-28T10:00:00Z"),
            ("2026-03-28T10+02", "2026-03-28T08:00:00Z"),
            ("2026-03-28", "2026-03-28T00:00:00Z"),
            ("2026-03", "2026-03-01T00:00:00Z"),
            ("2026/03/28 10:11:12 +0000", "2026-03-28T10:11:12Z"),
            ("2026/03/28 +0100", "2026-03-27T23:00:00Z"),
        ] {
            assert_eq!(detect(text), Some(ms(want)), "{text}");
        }
    }

    #[test]
    fn other_strings_are_not() {
        for text in [
            "2026",
            "20260328",
            "1774692000000",
            "2026-13-01",
            "2026-02-30",
            "2026-03-28 10:00:00",
            "2026-03-28T25:00:00Z",
            "2026-03-28T10:00:00Q",
            "2026/03/28 10:11:12",
            "2026/03/28",
            "28/03/2026",
            "GET /index.html",
            "2026-03-28T10:00:00.Z",
            "",
        ] {
            assert_eq!(detect(text), None, "{text}");
        }
    }
}
