//! `date`: a date in a field, read with the first of `formats` that fits, written to
//! `target_field` (`@timestamp` by default) in `output_format`, as Elasticsearch does.
//!
//! Formats are `ISO8601`, `UNIX`, `UNIX_MS`, `TAI64N` and Java `DateTimeFormatter` patterns
//! (`dd/MMM/yyyy:HH:mm:ss Z`). The Java patterns are translated here into chrono's format
//! items (no crate reads Java patterns); a pattern letter Hydrant cannot honour is refused
//! when the pipeline is defined rather than misread later. Month and day names are English
//! (`locale` other than English or ROOT is refused). Chrono is more lenient than Java about
//! blanks (`MMM  d` also reads `Dec 15`) and digit counts (`dd` also reads `5`).

use std::str::FromStr;

use chrono::format::{Fixed, Item, Numeric, Pad, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::doc::IngestDoc;
use crate::error::{DefinitionError, Failure};
use crate::opts::Opts;
use crate::pipeline::{Ctx, Flow, Process};
use crate::template::Template;

/// Elasticsearch's default `output_format`.
const DEFAULT_OUTPUT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

/// A time zone: an IANA name or a fixed offset.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    /// `Europe/Amsterdam`, …
    Named(Tz),
    /// `UTC`, `+01:00`, …
    Fixed(FixedOffset),
}

impl Zone {
    /// Reads a zone as Java's `ZoneId.of` does (names, `UTC`/`Z`/`GMT`, `±HH[:MM]`).
    pub fn parse(s: &str) -> Result<Zone, String> {
        let unknown = || format!("Unknown time-zone ID: {s}");
        let t = s.trim();
        if matches!(t, "UTC" | "Z" | "GMT" | "UT") {
            return Ok(Zone::Fixed(FixedOffset::east_opt(0).ok_or_else(unknown)?));
        }
        let offset = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("GMT"))
            .unwrap_or(t);
        if offset.starts_with(['+', '-']) {
            return parse_offset(offset).map(Zone::Fixed).ok_or_else(unknown);
        }
        Tz::from_str(t).map(Zone::Named).map_err(|_| unknown())
    }

    fn local(&self, naive: NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            Zone::Named(tz) => tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|d| d.fixed_offset()),
            Zone::Fixed(off) => off.from_local_datetime(&naive).single(),
        }
    }

    /// `dt` in this zone, in `items` (`None`: the default output format).
    fn format(&self, dt: DateTime<FixedOffset>, items: Option<&[Item<'static>]>) -> String {
        let Some(items) = items else {
            return match self {
                Zone::Named(tz) => default_output(dt.with_timezone(tz).fixed_offset()),
                Zone::Fixed(off) => default_output(dt.with_timezone(off)),
            };
        };
        match self {
            Zone::Named(tz) => dt
                .with_timezone(tz)
                .format_with_items(items.iter())
                .to_string(),
            Zone::Fixed(off) => dt
                .with_timezone(off)
                .format_with_items(items.iter())
                .to_string(),
        }
    }
}

/// `dt` in the default output format, `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`
/// (`2015-05-17T10:05:03.000Z`, `…+02:00`), written directly: chrono's formatter goes through
/// `fmt` item by item, and this runs once per parsed record. Years outside 0–9999 are left
/// to chrono, as are leap seconds and offsets with seconds (which chrono rounds).
fn default_output(dt: DateTime<FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    let year = dt.year();
    if !(0..=9999).contains(&year)
        || dt.nanosecond() >= 1_000_000_000
        || dt.offset().local_minus_utc() % 60 != 0
    {
        return dt.format_with_items(default_items().iter()).to_string();
    }
    let mut text = String::with_capacity(29);
    let digit = |v: u32| char::from(b'0' + (v % 10) as u8);
    let year = year as u32;
    for d in [year / 1000, year / 100, year / 10, year] {
        text.push(digit(d));
    }
    let two = |text: &mut String, sep: char, v: u32| {
        text.push(sep);
        text.push(digit(v / 10));
        text.push(digit(v));
    };
    two(&mut text, '-', dt.month());
    two(&mut text, '-', dt.day());
    two(&mut text, 'T', dt.hour());
    two(&mut text, ':', dt.minute());
    two(&mut text, ':', dt.second());
    let ms = dt.nanosecond() / 1_000_000;
    text.push('.');
    for d in [ms / 100, ms / 10, ms] {
        text.push(digit(d));
    }
    let off = dt.offset().local_minus_utc();
    if off == 0 {
        text.push('Z');
    } else {
        let abs = off.unsigned_abs();
        two(&mut text, if off < 0 { '-' } else { '+' }, abs / 3600);
        two(&mut text, ':', abs / 60 % 60);
    }
    text
}

/// The default output format's items, for what [`default_output`] leaves to chrono.
fn default_items() -> &'static [Item<'static>] {
    static ITEMS: std::sync::OnceLock<Vec<Item<'static>>> = std::sync::OnceLock::new();
    ITEMS.get_or_init(|| {
        JavaPattern::compile(DEFAULT_OUTPUT)
            .expect("the default output format compiles")
            .format
    })
}

/// `±HH`, `±HHMM`, `±HH:MM`.
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 1 | 2 | 4) {
        return None;
    }
    let (h, m) = if digits.len() == 4 {
        digits.split_at(2)
    } else {
        (digits.as_str(), "0")
    };
    let secs = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * secs)
}

/// A Java `DateTimeFormatter` pattern as chrono items: one list to read with, one to write.
#[derive(Debug, Clone)]
pub struct JavaPattern {
    parse: Vec<Item<'static>>,
    format: Vec<Item<'static>>,
}

fn strftime(spec: &'static str) -> Item<'static> {
    StrftimeItems::new(spec).next().unwrap_or(Item::Error)
}

impl JavaPattern {
    /// Translates `pattern`; unsupported letters are an error naming them.
    pub fn compile(pattern: &str) -> Result<JavaPattern, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let (mut parse, mut format) = (Vec::new(), Vec::new());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let mut lit = String::new();
                i += 1;
                loop {
                    match (chars.get(i), chars.get(i + 1)) {
                        (None, _) => {
                            return Err(format!(
                                "Pattern ends with an incomplete string literal: {pattern}"
                            ));
                        }
                        (Some('\''), Some('\'')) => {
                            lit.push('\'');
                            i += 2;
                        }
                        (Some('\''), _) => break,
                        (Some(ch), _) => {
                            lit.push(*ch);
                            i += 1;
                        }
                    }
                }
                i += 1;
                if lit.is_empty() {
                    lit.push('\'');
                }
                let item = Item::OwnedLiteral(lit.into());
                parse.push(item.clone());
                format.push(item);
                continue;
            }
            if !c.is_ascii_alphabetic() {
                if matches!(c, '[' | ']' | '{' | '}' | '#') {
                    return Err(format!(
                        "optional sections and reserved character [{c}] are not supported in [{pattern}]"
                    ));
                }
                let item = if c.is_whitespace() {
                    Item::OwnedSpace(c.to_string().into())
                } else {
                    Item::OwnedLiteral(c.to_string().into())
                };
                parse.push(item.clone());
                format.push(item);
                i += 1;
                continue;
            }
            let n = chars[i..].iter().take_while(|x| **x == c).count();
            i += n;
            let num = |what: Numeric, pad: bool| {
                Item::Numeric(what, if pad { Pad::Zero } else { Pad::None })
            };
            let (p, f) = match (c, n) {
                ('y' | 'u', 2) => (
                    num(Numeric::YearMod100, true),
                    num(Numeric::YearMod100, true),
                ),
                ('y' | 'u', _) => (num(Numeric::Year, true), num(Numeric::Year, n > 1)),
                ('M' | 'L', 1 | 2) => (num(Numeric::Month, n == 2), num(Numeric::Month, n == 2)),
                ('M' | 'L', 3) => (
                    Item::Fixed(Fixed::ShortMonthName),
                    Item::Fixed(Fixed::ShortMonthName),
                ),
                ('M' | 'L', _) => (
                    Item::Fixed(Fixed::LongMonthName),
                    Item::Fixed(Fixed::LongMonthName),
                ),
                ('d', 1 | 2) => (num(Numeric::Day, n == 2), num(Numeric::Day, n == 2)),
                ('D', _) => (num(Numeric::Ordinal, n > 1), num(Numeric::Ordinal, n > 1)),
                ('E', 1..=3) => (
                    Item::Fixed(Fixed::ShortWeekdayName),
                    Item::Fixed(Fixed::ShortWeekdayName),
                ),
                ('E', 4) => (
                    Item::Fixed(Fixed::LongWeekdayName),
                    Item::Fixed(Fixed::LongWeekdayName),
                ),
                ('a', 1) => (Item::Fixed(Fixed::UpperAmPm), Item::Fixed(Fixed::UpperAmPm)),
                ('H' | 'k', 1 | 2) => (num(Numeric::Hour, n == 2), num(Numeric::Hour, n == 2)),
                ('h' | 'K', 1 | 2) => (num(Numeric::Hour12, n == 2), num(Numeric::Hour12, n == 2)),
                ('m', 1 | 2) => (num(Numeric::Minute, n == 2), num(Numeric::Minute, n == 2)),
                ('s', 1 | 2) => (num(Numeric::Second, n == 2), num(Numeric::Second, n == 2)),
                ('S', 3) => (strftime("%3f"), strftime("%3f")),
                ('S', 6) => (strftime("%6f"), strftime("%6f")),
                ('S', 9) => (strftime("%9f"), strftime("%9f")),
                ('Z', 1..=3) | ('x', 1 | 2) => {
                    (strftime("%#z"), Item::Fixed(Fixed::TimezoneOffset))
                }
                ('x', 3) => (strftime("%#z"), Item::Fixed(Fixed::TimezoneOffsetColon)),
                ('X', 1 | 2) => (strftime("%#z"), Item::Fixed(Fixed::TimezoneOffsetZ)),
                ('X', 3) | ('Z', 5) => (strftime("%#z"), Item::Fixed(Fixed::TimezoneOffsetColonZ)),
                ('S', _) => {
                    return Err(format!(
                        "fractions of a second other than S{{3,6,9}} are not supported in [{pattern}]"
                    ));
                }
                _ => {
                    return Err(format!(
                        "pattern letter [{}] is not supported in [{pattern}]",
                        c.to_string().repeat(n)
                    ));
                }
            };
            parse.push(p);
            format.push(f);
        }
        Ok(JavaPattern { parse, format })
    }

    /// Reads `text`; a date without a year takes the current one (UTC), one without an
    /// offset is in `zone`.
    fn parse(&self, text: &str, zone: &Zone) -> Option<DateTime<FixedOffset>> {
        let mut p = Parsed::new();
        chrono::format::parse(&mut p, text, self.parse.iter()).ok()?;
        if p.year().is_none() && p.year_mod_100().is_none() {
            p.set_year(Utc::now().year() as i64).ok()?;
        } else if p.year().is_none() {
            // Java reads `yy` as 2000-2099.
            p.set_year_div_100(20).ok()?;
        }
        if p.month().is_none() && p.ordinal().is_none() {
            p.set_month(1).ok()?;
        }
        if p.day().is_none() && p.ordinal().is_none() {
            p.set_day(1).ok()?;
        }
        if p.hour_mod_12().is_none() {
            p.set_hour(0).ok()?;
        } else if p.hour_div_12().is_none() {
            p.set_ampm(false).ok()?;
        }
        if p.minute().is_none() {
            p.set_minute(0).ok()?;
        }
        if p.second().is_none() {
            p.set_second(0).ok()?;
        }
        let naive = p.to_naive_date().ok()?.and_time(p.to_naive_time().ok()?);
        match p.offset() {
            Some(off) => FixedOffset::east_opt(off)?
                .from_local_datetime(&naive)
                .single(),
            None => zone.local(naive),
        }
    }
}

/// One of `formats`.
#[derive(Debug, Clone)]
enum Format {
    Iso8601,
    Unix,
    UnixMs,
    Tai64n,
    Java(JavaPattern),
}

impl Format {
    fn compile(s: &str) -> Result<Format, String> {
        Ok(match s {
            "ISO8601" => Format::Iso8601,
            "UNIX" => Format::Unix,
            "UNIX_MS" => Format::UnixMs,
            "TAI64N" => Format::Tai64n,
            other => Format::Java(JavaPattern::compile(other)?),
        })
    }

    fn parse(&self, text: &str, zone: &Zone) -> Option<DateTime<FixedOffset>> {
        let from_millis =
            |ms: i64| DateTime::<Utc>::from_timestamp_millis(ms).map(|d| d.fixed_offset());
        match self {
            Format::Iso8601 => parse_iso8601(text, zone),
            Format::Unix => from_millis((text.trim().parse::<f64>().ok()? * 1000.0) as i64),
            Format::UnixMs => from_millis(text.parse::<i64>().ok()?),
            Format::Tai64n => {
                let t = text.strip_prefix('@').unwrap_or(text);
                let base = i64::from_str_radix(t.get(1..16)?, 16).ok()?;
                let nanos = i64::from_str_radix(t.get(16..24)?, 16).ok()?;
                from_millis(base * 1000 - 10_000 + nanos / 1_000_000)
            }
            Format::Java(p) => p.parse(text, zone),
        }
    }
}

/// ISO 8601 as Elasticsearch's `iso8601` reads it: a date, optionally a `T` time (hours,
/// minutes, seconds, a fraction), optionally an offset; without one, the time is in `zone`.
fn parse_iso8601(text: &str, zone: &Zone) -> Option<DateTime<FixedOffset>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt);
    }
    let (local, offset) = match text.find('T') {
        Some(t) => {
            let time = &text[t..];
            match time.rfind(['+', '-', 'Z']) {
                Some(o) => (&text[..t + o], Some(&time[o..])),
                None => (text, None),
            }
        }
        None => (text, None),
    };
    let naive = if local.contains('T') {
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(&local.replace(',', "."), f).ok())?
    } else {
        let padded = match local.len() {
            4 => format!("{local}-01-01"),
            7 => format!("{local}-01"),
            _ => local.to_string(),
        };
        NaiveDate::parse_from_str(&padded, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
    };
    match offset {
        Some("Z") => Some(naive.and_utc().fixed_offset()),
        Some(o) => parse_offset(o)?.from_local_datetime(&naive).single(),
        None => zone.local(naive),
    }
}

/// The `timezone` or `locale` option: fixed, or a template rendered per document.
enum PerDoc<T> {
    Fixed(T),
    Template(Template),
}

struct DateProc {
    field: Template,
    target: Template,
    formats: Vec<Format>,
    zone: PerDoc<Zone>,
    locale: Option<Template>,
    /// `None`: the default output format, written by [`default_output`].
    output: Option<Vec<Item<'static>>>,
}

/// Whether Hydrant reads dates in `locale` (English month and day names only).
fn locale_ok(locale: &str) -> bool {
    let l = locale.to_ascii_lowercase().replace('-', "_");
    l.is_empty() || l == "root" || l == "english" || l == "en" || l.starts_with("en_")
}

fn locale_error(locale: &str) -> String {
    format!(
        "locale [{locale}] is not supported: Hydrant reads month and day names in English (ENGLISH, ROOT or en) only"
    )
}

/// `date`: `field`, `target_field`, `formats`, `timezone`, `locale`, `output_format`.
pub fn date(opts: &mut Opts) -> Result<Box<dyn Process>, DefinitionError> {
    let field = opts.template("field")?;
    let target = opts.opt_template("target_field")?;
    let target = match target {
        Some(t) => t,
        None => Template::compile("target_field", "@timestamp")?,
    };
    let formats = opts
        .strings("formats", false)?
        .iter()
        .map(|f| Format::compile(f).map_err(|e| opts.error("formats", e)))
        .collect::<Result<Vec<_>, _>>()?;
    if formats.is_empty() {
        return Err(opts.error("formats", "property isn't a list or is empty"));
    }
    let zone = match opts.opt_string("timezone")? {
        None => PerDoc::Fixed(Zone::Fixed(
            FixedOffset::east_opt(0).expect("zero is a valid offset"),
        )),
        Some(s) if s.contains("{{") => PerDoc::Template(Template::compile("timezone", &s)?),
        Some(s) => PerDoc::Fixed(Zone::parse(&s).map_err(|e| opts.error("timezone", e))?),
    };
    let locale = match opts.opt_string("locale")? {
        Some(s) if s.contains("{{") => Some(Template::compile("locale", &s)?),
        Some(s) if !locale_ok(&s) => return Err(opts.error("locale", locale_error(&s))),
        _ => None,
    };
    let output = match opts.opt_string("output_format")? {
        None => None,
        Some(f) if f == DEFAULT_OUTPUT => None,
        Some(f) => Some(
            JavaPattern::compile(&f)
                .map_err(|e| {
                    opts.error("output_format", format!("invalid output format [{f}]: {e}"))
                })?
                .format,
        ),
    };
    Ok(Box::new(DateProc {
        field,
        target,
        formats,
        zone,
        locale,
        output,
    }))
}

impl Process for DateProc {
    fn run(&self, doc: &mut IngestDoc, _: &mut Ctx<'_>) -> Result<Flow, Failure> {
        let field = self.field.render(doc);
        let value = doc.require(&field)?;
        let other;
        let text = match value {
            Value::String(s) => s.as_str(),
            v => {
                other = v.to_string();
                other.as_str()
            }
        };
        let zone = match &self.zone {
            PerDoc::Fixed(z) => *z,
            PerDoc::Template(t) => Zone::parse(&t.render(doc)).map_err(Failure::illegal)?,
        };
        if let Some(t) = &self.locale {
            let l = t.render(doc);
            if !locale_ok(&l) {
                return Err(Failure::illegal(locale_error(&l)));
            }
        }
        let Some(dt) = self.formats.iter().find_map(|f| f.parse(text, &zone)) else {
            return Err(Failure::illegal(format!("unable to parse date [{text}]")));
        };
        let out = zone.format(dt, self.output.as_deref());
        let target = self.target.render(doc);
        doc.set(&target, Value::String(out))?;
        Ok(Flow::Continue)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    /// The hand-written default output is chrono's, for every kind of instant and offset.
    #[test]
    fn the_default_output_is_what_chrono_writes() {
        let items = default_items();
        let zones = [
            0,
            3600,
            -5 * 3600 - 1800,
            14 * 3600,
            -12 * 3600,
            19 * 60 + 32,
        ];
        let mut t = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap();
        let mut checked = 0;
        while t.year() < 10_001 {
            for z in zones {
                let dt = t.with_timezone(&FixedOffset::east_opt(z).unwrap());
                let expected = dt.format_with_items(items.iter()).to_string();
                assert_eq!(default_output(dt), expected);
                checked += 1;
            }
            t += Duration::milliseconds(7_919_993_117); // about 3 months, odd milliseconds
        }
        assert!(checked > 20_000, "{checked}");
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc()
            .fixed_offset();
        assert_eq!(
            default_output(leap),
            leap.format_with_items(items.iter()).to_string()
        );
        assert_eq!(
            default_output(
                Utc.timestamp_millis_opt(1_431_857_103_000)
                    .unwrap()
                    .fixed_offset()
            ),
            "2015-05-17T10:05:03.000Z"
        );
    }
}
