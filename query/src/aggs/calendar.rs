//! Bucket boundaries of date histograms: fixed and calendar intervals in any time zone.
//!
//! tantivy buckets dates on a fixed grid (`interval × k + offset`, in UTC). Minutes, hours,
//! days and weeks in UTC or at a fixed offset are such a grid. Months, quarters and years are
//! not, and neither is anything in a zone with daylight saving time across a transition: for
//! those the boundaries are computed here, in local time, over the data's time span, and the
//! histogram becomes a range aggregation with exactly those boundaries.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

use crate::dates::{MAX_DURATION_MS, Unit, Zone, add_units, floor_to};
use crate::error::QueryError;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
/// The Monday after the epoch (1970-01-01 was a Thursday): weeks start on Mondays, as in ES.
const FIRST_MONDAY: i64 = 4 * DAY;

/// A calendar unit of `calendar_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    /// `1s`, `second`.
    Second,
    /// `1m`, `minute`.
    Minute,
    /// `1h`, `hour`.
    Hour,
    /// `1d`, `day`.
    Day,
    /// `1w`, `week` (Monday to Sunday).
    Week,
    /// `1M`, `month`.
    Month,
    /// `1q`, `quarter`.
    Quarter,
    /// `1y`, `year`.
    Year,
}

/// A date histogram's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// `fixed_interval`, in milliseconds.
    Fixed(i64),
    /// `calendar_interval`.
    Calendar(CalendarUnit),
}

impl Interval {
    /// Parses a `calendar_interval`.
    pub fn calendar(text: &str) -> Result<Interval, QueryError> {
        let unit = match text.trim() {
            "1s" | "second" => CalendarUnit::Second,
            "1m" | "minute" => CalendarUnit::Minute,
            "1h" | "hour" => CalendarUnit::Hour,
            "1d" | "day" => CalendarUnit::Day,
            "1w" | "week" => CalendarUnit::Week,
            "1M" | "month" => CalendarUnit::Month,
            "1q" | "quarter" => CalendarUnit::Quarter,
            "1y" | "year" => CalendarUnit::Year,
            other => {
                return Err(QueryError::IllegalArgument(format!(
                    "The supplied interval [{other}] could not be parsed as a calendar interval."
                )));
            }
        };
        Ok(Interval::Calendar(unit))
    }

    /// Parses a `fixed_interval` (`30s`, `1000ms`, `5m`, `2h`, `1d`).
    pub fn fixed(text: &str) -> Result<Interval, QueryError> {
        match parse_ms(text) {
            Some(ms) if ms > 0 => Interval::fixed_ms(ms),
            Some(_) => Err(QueryError::IllegalArgument(
                "Zero or negative time interval not supported".to_string(),
            )),
            None => Err(QueryError::IllegalArgument(format!(
                "failed to parse setting [date_histogram.fixedInterval] with value [{text}] as a time value: unit is missing or unrecognized"
            ))),
        }
    }

    /// A fixed interval of `ms` milliseconds, refused when zero, negative or longer than
    /// [`MAX_DURATION_MS`].
    pub fn fixed_ms(ms: i64) -> Result<Interval, QueryError> {
        if ms <= 0 {
            return Err(QueryError::IllegalArgument(
                "Zero or negative time interval not supported".to_string(),
            ));
        }
        if ms > MAX_DURATION_MS {
            return Err(QueryError::IllegalArgument(format!(
                "the interval of [{ms}ms] is too long, the longest supported is [{MAX_DURATION_MS}ms]"
            )));
        }
        Ok(Interval::Fixed(ms))
    }

    /// The legacy `interval`: a calendar unit when it names one, fixed otherwise.
    pub fn legacy(text: &str) -> Result<Interval, QueryError> {
        Interval::calendar(text).or_else(|_| Interval::fixed(text))
    }

    /// The nominal length in milliseconds (months are 30 days, for estimates only).
    pub fn nominal_ms(self) -> i64 {
        match self {
            Interval::Fixed(ms) => ms,
            Interval::Calendar(u) => match u {
                CalendarUnit::Second => 1000,
                CalendarUnit::Minute => MINUTE,
                CalendarUnit::Hour => HOUR,
                CalendarUnit::Day => DAY,
                CalendarUnit::Week => WEEK,
                CalendarUnit::Month => 30 * DAY,
                CalendarUnit::Quarter => 91 * DAY,
                CalendarUnit::Year => 365 * DAY,
            },
        }
    }
}

/// A time value with unit (`-30m`, `+6h`, `1500ms`) in milliseconds; `None` when malformed or
/// longer than [`MAX_DURATION_MS`] either way.
pub fn parse_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => return None,
    };
    n.checked_mul(unit_ms)
        .filter(|v| *v <= MAX_DURATION_MS)
        .map(|v| v * sign)
}

/// Where the buckets of a date histogram start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grid {
    /// Every `interval` ms, starting at `offset` (mod `interval`) after the epoch.
    Fixed {
        /// Bucket width.
        interval: i64,
        /// Grid offset, in `[0, interval)`.
        offset: i64,
    },
    /// Exactly these bucket starts (ascending); the last one only closes the last bucket.
    Boundaries(Vec<i64>),
}

/// Whether the grid of `interval` in `zone` is fixed whatever the data, so that no time span
/// is needed to plan it.
pub fn is_fixed_everywhere(interval: Interval, zone: Zone) -> bool {
    let fixed_zone = matches!(zone, Zone::Utc | Zone::Fixed(_));
    fixed_zone
        && !matches!(
            interval,
            Interval::Calendar(CalendarUnit::Month | CalendarUnit::Quarter | CalendarUnit::Year)
        )
}

fn zone_offset_ms(zone: Zone) -> i64 {
    match zone {
        Zone::Fixed(o) => i64::from(o.local_minus_utc()) * 1000,
        _ => 0,
    }
}

/// The grid of `interval` in `zone` shifted by `offset`, covering `span` (epoch ms, both
/// inclusive) when the grid depends on the data. Fails past `max_buckets`.
pub fn grid(
    interval: Interval,
    zone: Zone,
    offset: i64,
    span: Option<(i64, i64)>,
    max_buckets: u64,
) -> Result<Grid, QueryError> {
    if is_fixed_everywhere(interval, zone) {
        let tz = zone_offset_ms(zone);
        let (width, base) = match interval {
            Interval::Fixed(ms) => (ms, 0),
            Interval::Calendar(CalendarUnit::Week) => (WEEK, FIRST_MONDAY),
            other => (other.nominal_ms(), 0),
        };
        return Ok(Grid::Fixed {
            interval: width,
            offset: (base + offset - tz).rem_euclid(width),
        });
    }
    let Some((min, max)) = span else {
        // No data and no bounds: no bucket either, any grid will do.
        return Ok(Grid::Fixed {
            interval: interval.nominal_ms(),
            offset: 0,
        });
    };
    let bounds = boundaries(interval, zone, offset, min, max, max_buckets)?;
    Ok(uniform(&bounds).unwrap_or(Grid::Boundaries(bounds)))
}

/// The grid, if the boundaries are evenly spaced.
fn uniform(bounds: &[i64]) -> Option<Grid> {
    let width = bounds.get(1)? - bounds.first()?;
    if width <= 0 || bounds.windows(2).any(|w| w[1] - w[0] != width) {
        return None;
    }
    Some(Grid::Fixed {
        interval: width,
        offset: bounds[0].rem_euclid(width),
    })
}

/// Bucket starts from the bucket of `min` to the one after the bucket of `max`.
pub(crate) fn boundaries(
    interval: Interval,
    zone: Zone,
    offset: i64,
    min: i64,
    max: i64,
    max_buckets: u64,
) -> Result<Vec<i64>, QueryError> {
    let estimate = ((max - min) / interval.nominal_ms().max(1)).max(0) as u64;
    if estimate > max_buckets.saturating_mul(2) {
        return Err(QueryError::TooManyBuckets {
            limit: max_buckets,
            current: estimate,
        });
    }
    let out_of_range = || {
        QueryError::IllegalArgument(format!(
            "date histogram buckets between [{min}] and [{max}] leave the supported date range"
        ))
    };
    // As Elasticsearch's offset rounding: the zone's calendar rounds `t - offset`, and the
    // offset is added back in absolute time (not on the local clock, which a DST change
    // would move).
    let shifted = |t: i64| t.checked_add(offset).ok_or_else(out_of_range);
    let mut local = floor_local(
        zone.local_time(min.checked_sub(offset).ok_or_else(out_of_range)?),
        interval,
    );
    let mut out = vec![shifted(zone.instant_of(local))?];
    loop {
        local = step_local(local, interval).ok_or_else(out_of_range)?;
        let utc = shifted(zone.instant_of(local))?;
        if utc <= *out.last().unwrap_or(&i64::MIN) {
            // A DST gap swallowed the boundary: skip it.
            continue;
        }
        out.push(utc);
        if utc > max {
            break;
        }
        if out.len() as u64 > max_buckets + 1 {
            return Err(QueryError::TooManyBuckets {
                limit: max_buckets,
                current: out.len() as u64,
            });
        }
    }
    Ok(out)
}

fn floor_local(t: NaiveDateTime, interval: Interval) -> NaiveDateTime {
    match interval {
        Interval::Fixed(ms) => {
            let lms = t.and_utc().timestamp_millis();
            let floored = lms.div_euclid(ms) * ms;
            chrono::DateTime::from_timestamp_millis(floored)
                .map(|d| d.naive_utc())
                .unwrap_or(t)
        }
        Interval::Calendar(u) => match u {
            CalendarUnit::Second => floor_to(t, Unit::Second),
            CalendarUnit::Minute => floor_to(t, Unit::Minute),
            CalendarUnit::Hour => floor_to(t, Unit::Hour),
            CalendarUnit::Day => floor_to(t, Unit::Day),
            CalendarUnit::Week => floor_to(t, Unit::Week),
            CalendarUnit::Month => floor_to(t, Unit::Month),
            CalendarUnit::Year => floor_to(t, Unit::Year),
            CalendarUnit::Quarter => {
                let d = t.date();
                let month = (d.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(d.year(), month, 1)
                    .unwrap_or(d)
                    .and_time(NaiveTime::MIN)
            }
        },
    }
}

fn step_local(t: NaiveDateTime, interval: Interval) -> Option<NaiveDateTime> {
    match interval {
        Interval::Fixed(ms) => t.checked_add_signed(Duration::milliseconds(ms)),
        Interval::Calendar(u) => match u {
            CalendarUnit::Second => add_units(t, 1, Unit::Second),
            CalendarUnit::Minute => add_units(t, 1, Unit::Minute),
            CalendarUnit::Hour => add_units(t, 1, Unit::Hour),
            CalendarUnit::Day => add_units(t, 1, Unit::Day),
            CalendarUnit::Week => add_units(t, 1, Unit::Week),
            CalendarUnit::Month => add_units(t, 1, Unit::Month),
            CalendarUnit::Quarter => add_units(t, 3, Unit::Month),
            CalendarUnit::Year => add_units(t, 1, Unit::Year),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn utc_days_and_weeks_are_fixed_grids() {
        let g = grid(Interval::calendar("1d").unwrap(), Zone::Utc, 0, None, 100).unwrap();
        assert_eq!(
            g,
            Grid::Fixed {
                interval: DAY,
                offset: 0
            }
        );
        let w = grid(Interval::calendar("week").unwrap(), Zone::Utc, 0, None, 100).unwrap();
        let Grid::Fixed { interval, offset } = w else {
            panic!()
        };
        // 2015-05-18 was a Monday.
        assert_eq!(
            (ms("2015-05-18T00:00:00Z") - offset).rem_euclid(interval),
            0
        );
    }

    #[test]
    fn fixed_offset_zone_shifts_the_grid() {
        let plus2 = Zone::parse("+02:00").unwrap();
        let g = grid(Interval::calendar("1d").unwrap(), plus2, 0, None, 100).unwrap();
        assert_eq!(
            g,
            Grid::Fixed {
                interval: DAY,
                offset: 22 * HOUR
            }
        );
    }

    #[test]
    fn months_are_boundaries() {
        let g = grid(
            Interval::calendar("1M").unwrap(),
            Zone::Utc,
            0,
            Some((ms("2015-01-15T00:00:00Z"), ms("2015-03-02T00:00:00Z"))),
            100,
        )
        .unwrap();
        assert_eq!(
            g,
            Grid::Boundaries(vec![
                ms("2015-01-01T00:00:00Z"),
                ms("2015-02-01T00:00:00Z"),
                ms("2015-03-01T00:00:00Z"),
                ms("2015-04-01T00:00:00Z"),
            ])
        );
    }

    #[test]
    fn days_across_a_dst_change_follow_local_midnight() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        let g = grid(
            Interval::calendar("1d").unwrap(),
            paris,
            0,
            Some((ms("2015-03-28T12:00:00Z"), ms("2015-03-29T12:00:00Z"))),
            100,
        )
        .unwrap();
        assert_eq!(
            g,
            Grid::Boundaries(vec![
                ms("2015-03-27T23:00:00Z"),
                ms("2015-03-28T23:00:00Z"),
                ms("2015-03-29T22:00:00Z"),
            ])
        );
        // Without a transition in the span, a named zone is a fixed grid again.
        let g = grid(
            Interval::calendar("1d").unwrap(),
            paris,
            0,
            Some((ms("2015-05-17T12:00:00Z"), ms("2015-05-19T12:00:00Z"))),
            100,
        )
        .unwrap();
        assert_eq!(
            g,
            Grid::Fixed {
                interval: DAY,
                offset: 22 * HOUR
            }
        );
    }

    /// An offset moves each local day's start by that much absolute time, as Elasticsearch's
    /// offset rounding does: the day after a spring-forward change starts at 01:00 UTC
    /// (local midnight, 23:00 UTC, plus 2 h), not at 02:00 on the local clock.
    #[test]
    fn an_offset_is_added_in_absolute_time_across_a_dst_change() {
        let g = grid(
            Interval::calendar("1d").unwrap(),
            Zone::parse("Europe/Berlin").unwrap(),
            2 * HOUR,
            Some((ms("2026-03-28T12:00:00Z"), ms("2026-03-30T12:00:00Z"))),
            100,
        )
        .unwrap();
        assert_eq!(
            g,
            Grid::Boundaries(vec![
                ms("2026-03-28T01:00:00Z"),
                ms("2026-03-29T01:00:00Z"),
                ms("2026-03-30T00:00:00Z"),
                ms("2026-03-31T00:00:00Z"),
            ])
        );
    }

    #[test]
    fn too_many_buckets_is_a_typed_error() {
        let err = grid(
            Interval::fixed("1s").unwrap(),
            Zone::parse("Europe/Paris").unwrap(),
            0,
            Some((0, 10_000_000)),
            100,
        )
        .unwrap_err();
        assert!(matches!(err, QueryError::TooManyBuckets { limit: 100, .. }));
    }

    #[test]
    fn time_values_parse_with_sign() {
        assert_eq!(parse_ms("-30m"), Some(-30 * MINUTE));
        assert_eq!(parse_ms("+6h"), Some(6 * HOUR));
        assert_eq!(parse_ms("1000ms"), Some(1000));
        assert_eq!(parse_ms("2y"), None);
    }

    #[test]
    fn fixed_intervals_must_be_positive_time_values() {
        assert_eq!(Interval::fixed("90s").unwrap(), Interval::Fixed(90_000));
        assert_eq!(
            Interval::fixed("0s").unwrap_err().to_string(),
            "Zero or negative time interval not supported"
        );
        assert!(Interval::fixed("-1h").is_err());
        assert!(
            Interval::fixed("1M")
                .unwrap_err()
                .to_string()
                .contains("unit is missing or unrecognized")
        );
    }
}
