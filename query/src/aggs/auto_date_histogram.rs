//! `auto_date_histogram`: a date histogram whose interval is chosen for the data, so that at
//! most `buckets` buckets (default 10) cover it.
//!
//! The choice follows Elasticsearch's rounding ladder — seconds (by 1, 5, 10 or 30), minutes
//! (1, 5, 10, 30), hours (1, 3, 12), days (1, 7), months (1, 3), years (1, 5, 10, 20, 50,
//! 100): the finest rounding whose buckets, from the first matching document to the last and
//! empty ones included, number at most `buckets` × its largest multiple; then the smallest
//! multiple that brings them to `buckets` or fewer, merging consecutive buckets from the first
//! one on (so `7d` buckets start on the first document's day, not on a Monday). Elasticsearch
//! settles the rounding while it collects, per shard, and again when it merges shards; Hydrant
//! knows the time span of the matching documents beforehand (the pre-pass of calendar
//! histograms), so it plans the final buckets at once, as ranges, and sub-aggregations are
//! computed over them directly.

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::{Aggregation, Aggregations};
use tantivy::aggregation::agg_result::AggregationResult;

use super::AggNode;
use super::args::Args;
use super::calendar::{CalendarUnit, Interval, boundaries};
use super::date_histogram::{MAX_BUCKETS, boundary_ranges, date_bucket, range_buckets};
use super::plan::{Planner, Want};
use super::render::{Renderer, buckets_json};
use crate::dates::Zone;
use crate::error::QueryError;

/// One rung of the ladder.
struct Rounding {
    interval: Interval,
    /// The unit as the answer's `interval` names it (`7d`).
    unit: &'static str,
    /// ES's rough length of one unit, for its span check.
    rough_ms: i64,
    /// The multiples consecutive buckets are merged by, ascending.
    multiples: &'static [u64],
}

const SECOND: i64 = 1000;
const DAY: i64 = 86_400 * SECOND;

const LADDER: [Rounding; 6] = [
    Rounding {
        interval: Interval::Calendar(CalendarUnit::Second),
        unit: "s",
        rough_ms: SECOND,
        multiples: &[1, 5, 10, 30],
    },
    Rounding {
        interval: Interval::Calendar(CalendarUnit::Minute),
        unit: "m",
        rough_ms: 60 * SECOND,
        multiples: &[1, 5, 10, 30],
    },
    Rounding {
        interval: Interval::Calendar(CalendarUnit::Hour),
        unit: "h",
        rough_ms: 3600 * SECOND,
        multiples: &[1, 3, 12],
    },
    Rounding {
        interval: Interval::Calendar(CalendarUnit::Day),
        unit: "d",
        rough_ms: DAY,
        multiples: &[1, 7],
    },
    Rounding {
        interval: Interval::Calendar(CalendarUnit::Month),
        unit: "M",
        rough_ms: 30 * DAY,
        multiples: &[1, 3],
    },
    Rounding {
        interval: Interval::Calendar(CalendarUnit::Year),
        unit: "y",
        rough_ms: 365 * DAY,
        multiples: &[1, 5, 10, 20, 50, 100],
    },
];

const MINIMUM_INTERVALS: [&str; 6] = ["second", "minute", "hour", "day", "month", "year"];

/// A parsed `auto_date_histogram` aggregation.
#[derive(Debug, Clone)]
pub struct AutoDateHistogram {
    /// The field.
    pub field: String,
    target: u64,
    zone: Zone,
    format: Option<String>,
    /// The finest rung allowed (`minimum_interval`).
    start: usize,
}

/// The buckets chosen for a time span.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Choice {
    /// Bucket starts, ascending; the last one only closes the last bucket.
    pub starts: Vec<i64>,
    /// The interval as ES names it (`1s`, `30m`, `12h`, `7d`, `3M`, `10y`).
    pub interval: String,
}

impl AutoDateHistogram {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<AutoDateHistogram, QueryError> {
        // ES reads this aggregation with an object parser: its refusals are
        // `x_content_parse_exception`s.
        let field_error = |field: &str, why: String| {
            QueryError::XContentParse(format!(
                "[auto_date_histogram] failed to parse field [{field}]: {why}"
            ))
        };
        let a = Args::new("auto_date_histogram", v)?;
        a.allow(&[
            "field",
            "buckets",
            "time_zone",
            "format",
            "minimum_interval",
        ])
        .map_err(|e| match e {
            QueryError::Parsing(m) => QueryError::XContentParse(m),
            e => e,
        })?;
        let target = a.u64("buckets")?.unwrap_or(10);
        if target == 0 {
            return Err(field_error(
                "buckets",
                "[buckets] must be greater than 0".to_string(),
            ));
        }
        if target > MAX_BUCKETS {
            return Err(field_error(
                "buckets",
                format!("[buckets] must be at most {MAX_BUCKETS} (search.max_buckets)"),
            ));
        }
        let start = match a.str("minimum_interval")? {
            None => 0,
            Some(m) => MINIMUM_INTERVALS
                .iter()
                .position(|n| *n == m)
                .ok_or_else(|| {
                    field_error(
                        "minimum_interval",
                        format!(
                            "minimum_interval must be one of [{}], got [{m}]",
                            MINIMUM_INTERVALS.join(", ")
                        ),
                    )
                })?,
        };
        let zone = match a.str("time_zone")? {
            Some(tz) => Zone::parse(&tz)?,
            None => Zone::Utc,
        };
        Ok(AutoDateHistogram {
            field: a.field()?,
            target,
            zone,
            format: a.str("format")?,
            start,
        })
    }

    /// The buckets for the matching documents' time span (`None`: no document).
    pub(crate) fn choose(&self, span: Option<(i64, i64)>) -> Result<Choice, QueryError> {
        let Some((min, max)) = span else {
            return Ok(Choice {
                starts: Vec::new(),
                interval: format!("1{}", LADDER[self.start].unit),
            });
        };
        let last = LADDER.len() - 1;
        for (idx, rung) in LADDER.iter().enumerate().skip(self.start) {
            let widest = rung.multiples.last().copied().unwrap_or(1);
            let most = self.target.saturating_mul(widest);
            // Rungs far too fine are skipped without listing their buckets.
            let estimate = u64::try_from((max - min) / rung.rough_ms).unwrap_or(0);
            if idx < last && estimate > most.saturating_mul(2) {
                continue;
            }
            let starts = match boundaries(rung.interval, self.zone, 0, min, max, MAX_BUCKETS) {
                Ok(s) => s,
                Err(QueryError::TooManyBuckets { .. }) if idx < last => continue,
                Err(e) => return Err(e),
            };
            let count = starts.len().saturating_sub(1);
            if count == 0 {
                continue;
            }
            // ES's two checks: the number of buckets, and (per shard) the span of their keys.
            let width = i128::from(starts[count - 1] - starts[0]);
            let fits = count as u64 <= most
                && width <= i128::from(self.target) * i128::from(rung.rough_ms * widest as i64);
            if !fits && idx < last {
                continue;
            }
            let by = if count as u64 > self.target {
                rung.multiples
                    .iter()
                    .copied()
                    .find(|k| (count as u64).div_ceil(*k) <= self.target)
                    .unwrap_or(1)
            } else {
                1
            };
            let mut merged: Vec<i64> = starts[..count]
                .iter()
                .step_by(by as usize)
                .copied()
                .collect();
            merged.push(starts[count]);
            return Ok(Choice {
                starts: merged,
                interval: format!("{by}{}", rung.unit),
            });
        }
        Err(QueryError::IllegalArgument(format!(
            "no interval of [auto_date_histogram] on [{}] covers the data",
            self.field
        )))
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let field = p.column(&self.field, Want::Dates, "auto_date_histogram")?;
        let mut starts = self.choose(p.bounds.get(&self.field))?.starts;
        if starts.is_empty() {
            // No document has a value: one bucket no value falls in (tantivy wants a range);
            // rendering leaves it out.
            starts = vec![0, 1];
        }
        Ok(boundary_ranges(field, &starts, subs))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let choice = self.choose(r.bounds.get(&self.field))?;
        let mut buckets = Vec::new();
        let found = range_buckets(n, result, r)?;
        for (key, doc_count, subs) in found.into_iter().filter(|_| !choice.starts.is_empty()) {
            buckets.push(date_bucket(
                key,
                doc_count,
                subs,
                (self.format.as_deref(), self.zone),
                n,
                r,
            )?);
        }
        Ok(json!({
            "buckets": buckets_json(buckets, false),
            "interval": choice.interval,
        }))
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

    fn auto(body: Value) -> AutoDateHistogram {
        AutoDateHistogram::parse(&body).unwrap()
    }

    fn choose(a: &AutoDateHistogram, from: &str, to: &str) -> Choice {
        a.choose(Some((ms(from), ms(to)))).unwrap()
    }

    #[test]
    fn the_finest_rung_that_fits_then_the_smallest_multiple() {
        let a = auto(json!({"field": "t", "buckets": 10}));
        // 5 s of data: five 1 s buckets (the last one closed after the last document).
        let c = choose(&a, "2026-01-01T00:00:00Z", "2026-01-01T00:00:04.5Z");
        assert_eq!(c.interval, "1s");
        assert_eq!(c.starts.len(), 6);
        // 4 days: hours would be 97 buckets, at most 10 × 12 fit, merged by 12.
        let c = choose(&a, "2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z");
        assert_eq!(c.interval, "12h");
        assert_eq!(c.starts.len() - 1, 97usize.div_ceil(12));
        assert_eq!(c.starts[0], ms("2026-03-01T00:00:00Z"));
        assert_eq!(c.starts[1], ms("2026-03-01T12:00:00Z"));
        // 40 days: days merged by 7, starting on the first document's day (a Sunday).
        let c = choose(&a, "2026-03-01T10:00:00Z", "2026-04-09T10:00:00Z");
        assert_eq!(c.interval, "7d");
        assert_eq!(c.starts[0], ms("2026-03-01T00:00:00Z"));
        assert_eq!(c.starts[1], ms("2026-03-08T00:00:00Z"));
        // 80 days: more than 10 × 7 days, so months.
        let c = choose(&a, "2026-01-15T00:00:00Z", "2026-04-05T00:00:00Z");
        assert_eq!(c.interval, "1M");
        assert_eq!(c.starts[0], ms("2026-01-01T00:00:00Z"));
        assert_eq!(c.starts.len() - 1, 4);
    }

    #[test]
    fn years_are_the_last_rung() {
        let a = auto(json!({"field": "t", "buckets": 3}));
        let c = choose(&a, "1900-06-01T00:00:00Z", "2026-06-01T00:00:00Z");
        assert_eq!(c.interval, "50y");
        assert_eq!(c.starts[0], ms("1900-01-01T00:00:00Z"));
        assert_eq!(c.starts[1], ms("1950-01-01T00:00:00Z"));
    }

    #[test]
    fn minimum_interval_and_time_zone() {
        let a = auto(json!({"field": "t", "minimum_interval": "day", "time_zone": "+02:00"}));
        let c = choose(&a, "2026-03-01T21:00:00Z", "2026-03-01T23:00:00Z");
        assert_eq!(c.interval, "1d");
        // 21:00Z is 23:00 local on the 1st, 23:00Z already the 2nd.
        assert_eq!(
            c.starts,
            vec![
                ms("2026-02-28T22:00:00Z"),
                ms("2026-03-01T22:00:00Z"),
                ms("2026-03-02T22:00:00Z")
            ]
        );
        let none = a.choose(None).unwrap();
        assert_eq!((none.starts.len(), none.interval.as_str()), (0, "1d"));
    }

    #[test]
    fn bad_options_are_refused() {
        for body in [
            json!({"field": "t", "buckets": 0}),
            json!({"field": "t", "minimum_interval": "week"}),
            json!({"field": "t", "interval": "1d"}),
            json!({"buckets": 3}),
        ] {
            assert!(AutoDateHistogram::parse(&body).is_err(), "{body}");
        }
    }
}
