//! Time-based index rotation with Firehose's periods and index-name suffixes.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use hydrant_config::Rotation;
use serde::{Deserialize, Serialize};

/// The time range an index covers, in epoch milliseconds, `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// First millisecond of the period.
    pub start_ms: i64,
    /// First millisecond after the period.
    pub end_ms: i64,
}

/// The index a record with event time `ts_ms` goes to, and the period that index covers
/// (`None` for `NoRotation`, whose single index is named after the stream).
///
/// Suffixes follow Firehose: `-YYYY-MM-DD-HH`, `-YYYY-MM-DD`, `-YYYY-wWW` (weeks start on
/// Monday and are numbered as `%W` does: the days before the first Monday are week 00) and
/// `-YYYY-MM`, all in UTC.
pub fn index_for(stream: &str, rotation: Rotation, ts_ms: i64) -> (String, Option<Period>) {
    let Some(t) = DateTime::<Utc>::from_timestamp_millis(ts_ms) else {
        return (stream.to_string(), None);
    };
    // Periods at the very ends of chrono's range have no end it can hold: the stream's name.
    let Some((suffix, start, end)) = period(rotation, t) else {
        return (stream.to_string(), None);
    };
    (
        format!("{stream}-{suffix}"),
        Some(Period {
            start_ms: start.timestamp_millis(),
            end_ms: end.timestamp_millis(),
        }),
    )
}

/// The suffix, start and end of the period holding `t`; `None` for `NoRotation`, or when the
/// period reaches past the times chrono holds.
fn period(rotation: Rotation, t: DateTime<Utc>) -> Option<(String, DateTime<Utc>, DateTime<Utc>)> {
    Some(match rotation {
        Rotation::NoRotation => return None,
        Rotation::OneHour => {
            let start = day_start(t.date_naive())
                .checked_add_signed(Duration::hours(i64::from(t.hour())))?;
            (
                t.format("%Y-%m-%d-%H").to_string(),
                start,
                start.checked_add_signed(Duration::hours(1))?,
            )
        }
        Rotation::OneDay => {
            let start = day_start(t.date_naive());
            (
                t.format("%Y-%m-%d").to_string(),
                start,
                start.checked_add_signed(Duration::days(1))?,
            )
        }
        Rotation::OneWeek => {
            let monday = t.date_naive().checked_sub_signed(Duration::days(i64::from(
                t.weekday().num_days_from_monday(),
            )))?;
            let start = day_start(monday);
            // A week that starts in the previous year still belongs to this year's week 00.
            let start = start.max(day_start(
                NaiveDate::from_ymd_opt(t.year(), 1, 1).unwrap_or(monday),
            ));
            let end = day_start(monday).checked_add_signed(Duration::weeks(1))?;
            let year_end = day_start(NaiveDate::from_ymd_opt(t.year() + 1, 1, 1).unwrap_or(monday));
            (t.format("%Y-w%W").to_string(), start, end.min(year_end))
        }
        Rotation::OneMonth => {
            let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or(t.date_naive());
            let next = if t.month() == 12 {
                NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(t.year(), t.month() + 1, 1)
            }
            .unwrap_or(first);
            (
                t.format("%Y-%m").to_string(),
                day_start(first),
                day_start(next),
            )
        }
    })
}

/// [`index_for`] with the last period remembered: the records of one request or delivery
/// mostly share a period, and formatting its name costs more per record than the rest of
/// routing it.
#[derive(Debug, Clone)]
pub struct IndexNamer {
    stream: Arc<str>,
    rotation: Rotation,
    last: Option<(Period, Arc<str>)>,
}

impl IndexNamer {
    /// A namer for the indices of `stream` under `rotation`.
    pub fn new(stream: &str, rotation: Rotation) -> IndexNamer {
        IndexNamer {
            stream: stream.into(),
            rotation,
            last: None,
        }
    }

    /// The index a record with event time `ts_ms` goes to, as [`index_for`] names it.
    pub fn name(&mut self, ts_ms: i64) -> Arc<str> {
        if self.rotation == Rotation::NoRotation {
            return self.stream.clone();
        }
        if let Some((p, name)) = &self.last
            && p.start_ms <= ts_ms
            && ts_ms < p.end_ms
        {
            return name.clone();
        }
        match index_for(&self.stream, self.rotation, ts_ms) {
            // No rotation, or a time chrono cannot place: the stream's own name.
            (_, None) => self.stream.clone(),
            (name, Some(period)) => {
                let name: Arc<str> = name.into();
                self.last = Some((period, name.clone()));
                name
            }
        }
    }
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn firehose_suffixes() {
        let t = ms("2026-11-26T13:45:00Z");
        assert_eq!(index_for("web", Rotation::NoRotation, t).0, "web");
        assert_eq!(
            index_for("web", Rotation::OneHour, t).0,
            "web-2026-11-26-13"
        );
        assert_eq!(index_for("web", Rotation::OneDay, t).0, "web-2026-11-26");
        assert_eq!(index_for("web", Rotation::OneWeek, t).0, "web-2026-w47");
        assert_eq!(index_for("web", Rotation::OneMonth, t).0, "web-2026-11");
    }

    #[test]
    fn the_namer_names_as_index_for_does_across_periods() {
        let start = ms("2026-11-26T22:59:59.999Z");
        for rotation in [
            Rotation::NoRotation,
            Rotation::OneHour,
            Rotation::OneDay,
            Rotation::OneWeek,
            Rotation::OneMonth,
        ] {
            let mut namer = IndexNamer::new("web", rotation);
            // Forward, back across a boundary, far off, a time chrono cannot place, and the
            // last and first times it can (their periods reach past its range).
            for t in [
                start,
                start + 1,
                start,
                start + 40 * 86_400_000,
                i64::MAX,
                DateTime::<Utc>::MAX_UTC.timestamp_millis(),
                DateTime::<Utc>::MIN_UTC.timestamp_millis(),
                start,
            ] {
                assert_eq!(
                    &*namer.name(t),
                    index_for("web", rotation, t).0,
                    "{rotation:?} {t}"
                );
            }
        }
    }

    #[test]
    fn periods_contain_the_time_and_abut() {
        let t = ms("2026-11-26T13:45:00Z");
        for rotation in [
            Rotation::OneHour,
            Rotation::OneDay,
            Rotation::OneWeek,
            Rotation::OneMonth,
        ] {
            let (name, period) = index_for("web", rotation, t);
            let p = period.unwrap();
            assert!(p.start_ms <= t && t < p.end_ms, "{name}");
            assert_eq!(index_for("web", rotation, p.start_ms).0, name);
            assert_eq!(index_for("web", rotation, p.end_ms - 1).0, name);
            assert_ne!(index_for("web", rotation, p.end_ms).0, name);
            assert_ne!(index_for("web", rotation, p.start_ms - 1).0, name);
        }
    }

    #[test]
    fn month_and_week_boundaries_at_new_year() {
        let t = ms("2026-12-31T23:59:59.999Z");
        assert_eq!(index_for("web", Rotation::OneMonth, t).0, "web-2026-12");
        assert_eq!(index_for("web", Rotation::OneMonth, t + 1).0, "web-2027-01");
        // 2027-01-01 is a Friday: days before the first Monday are week 00.
        assert_eq!(index_for("web", Rotation::OneWeek, t + 1).0, "web-2027-w00");
        assert_eq!(index_for("web", Rotation::OneWeek, t).0, "web-2026-w52");
    }
}
