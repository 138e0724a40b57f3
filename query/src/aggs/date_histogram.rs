//! `date_histogram`: `fixed_interval` and `calendar_interval` (and the legacy `interval`),
//! `time_zone`, `offset`, `min_doc_count` (0 fills gaps) with `extended_bounds`, `hard_bounds`,
//! `format` (including `epoch_millis`) for `key_as_string`, `keyed` and `order`.
//!
//! Fixed grids run as tantivy date histograms; calendar months, quarters, years and daylight
//! saving transitions run as ranges over boundaries computed in [`calendar`](super::calendar).

use serde_json::{Map, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketEntries, BucketResult,
};
use tantivy::aggregation::bucket::{
    DateHistogramAggregationReq, HistogramBounds, RangeAggregation, RangeAggregationRange,
};

use super::AggNode;
use super::args::{Args, number};
use super::calendar::{Grid, Interval, grid, is_fixed_everywhere, parse_ms};
use super::histogram::{BucketOrder, histogram_buckets};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, buckets_json};
use super::sources::{self, Target};
use crate::dates::{DateParser, MAX_DATE_MS, MAX_DURATION_MS, Zone, format_date};
use crate::error::QueryError;
use hydrant_index::timestamp::tantivy_date;
use tantivy::columnar::MonotonicallyMappableToU64;

/// ES's `search.max_buckets`.
pub const MAX_BUCKETS: u64 = 65_535;

/// A parsed `date_histogram` aggregation.
#[derive(Debug, Clone)]
pub struct DateHistogram {
    /// The field.
    pub field: String,
    interval: Interval,
    zone: Zone,
    offset: i64,
    format: Option<String>,
    /// Buckets with fewer documents are left out (0: empty buckets fill the gaps).
    pub min_doc_count: u64,
    extended_bounds: Option<(i64, i64)>,
    hard_bounds: Option<(i64, i64)>,
    keyed: bool,
    order: BucketOrder,
    /// The date (epoch ms) of documents without one.
    missing: Option<i64>,
}

fn date_bounds(
    v: Option<&Value>,
    what: &str,
    dates: &DateParser,
) -> Result<Option<(i64, i64)>, QueryError> {
    let Some(v) = v else { return Ok(None) };
    let get = |k: &str, up: bool| -> Result<Option<i64>, QueryError> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => dates.parse(s, up).map(Some),
            Some(n) => number(n)
                .filter(|x| x.abs() <= MAX_DATE_MS as f64)
                .map(|x| Some(x as i64))
                .ok_or_else(|| {
                    QueryError::Parsing(format!(
                        "[{what}.{k}] must be a date or a number within {MAX_DATE_MS} ms of the epoch"
                    ))
                }),
        }
    };
    match (get("min", false)?, get("max", true)?) {
        (Some(min), Some(max)) if min > max => Err(QueryError::IllegalArgument(format!(
            "[{what}.min][{min}] cannot be greater than [{what}.max][{max}] for histogram"
        ))),
        (Some(min), Some(max)) => Ok(Some((min, max))),
        (Some(min), None) => Ok(Some((min, min))),
        (None, Some(max)) => Ok(Some((max, max))),
        (None, None) => Ok(None),
    }
}

impl DateHistogram {
    /// Parses the options; `now_ms` anchors date math in bounds.
    pub fn parse(v: &Value) -> Result<DateHistogram, QueryError> {
        let a = Args::new("date_histogram", v)?;
        a.allow(&[
            "field",
            "fixed_interval",
            "calendar_interval",
            "interval",
            "time_zone",
            "offset",
            "format",
            "min_doc_count",
            "extended_bounds",
            "hard_bounds",
            "keyed",
            "order",
            "missing",
        ])?;
        // ES reads these with an object parser: a bad value is an `x_content_parse_exception`
        // naming the field.
        let field_error = |field: &'static str| {
            move |e: QueryError| {
                QueryError::XContentParse(format!(
                    "[date_histogram] failed to parse field [{field}]: {e}"
                ))
            }
        };
        let interval = match (
            a.str("fixed_interval")?,
            a.str("calendar_interval")?,
            a.get("interval"),
        ) {
            (Some(f), None, None) => Interval::fixed(&f).map_err(field_error("fixed_interval"))?,
            (None, Some(c), None) => {
                Interval::calendar(&c).map_err(field_error("calendar_interval"))?
            }
            (None, None, Some(Value::String(i))) => {
                Interval::legacy(i).map_err(field_error("interval"))?
            }
            (None, None, Some(n)) if number(n).is_some() => {
                // Saturates on huge values, which fixed_ms then refuses.
                Interval::fixed_ms(number(n).unwrap_or(0.0) as i64)
                    .map_err(field_error("interval"))?
            }
            (None, None, None) => {
                return Err(QueryError::IllegalArgument(
                    "Invalid interval specified, must be non-null and non-empty".to_string(),
                ));
            }
            _ => {
                return Err(QueryError::XContentParse(
                    "[date_histogram] Cannot use more than one of [fixed_interval], [calendar_interval] and [interval]"
                        .to_string(),
                ));
            }
        };
        let zone = match a.str("time_zone")? {
            Some(tz) => Zone::parse(&tz).map_err(field_error("time_zone"))?,
            None => Zone::Utc,
        };
        let format = a.str("format")?;
        if let Some(f) = &format {
            crate::dates::check_format(f)?;
        }
        let tz_text = a.str("time_zone")?;
        let dates = DateParser::new(format.as_deref(), tz_text.as_deref(), now_ms())?;
        let offset = match a.get("offset") {
            None => 0,
            Some(Value::String(s)) => parse_ms(s).ok_or_else(|| {
                QueryError::IllegalArgument(format!("failed to parse [offset] [{s}]"))
            })?,
            Some(n) => number(n)
                .filter(|x| x.abs() <= MAX_DURATION_MS as f64)
                .map(|x| x as i64)
                .ok_or_else(|| {
                    QueryError::IllegalArgument(format!("failed to parse [offset] [{n}]"))
                })?,
        };
        let missing = match a.get("missing") {
            None => None,
            Some(Value::String(s)) => Some(dates.parse(s, false)?),
            Some(n) => Some(
                number(n)
                    .filter(|x| x.abs() <= MAX_DATE_MS as f64)
                    .ok_or_else(|| {
                        QueryError::XContentParse(format!(
                            "[date_histogram] failed to parse field [missing]: [{n}]"
                        ))
                    })? as i64,
            ),
        };
        Ok(DateHistogram {
            missing,
            field: a.field()?,
            interval,
            zone,
            offset,
            min_doc_count: a.u64("min_doc_count")?.unwrap_or(0),
            extended_bounds: date_bounds(a.get("extended_bounds"), "extended_bounds", &dates)?,
            hard_bounds: date_bounds(a.get("hard_bounds"), "hard_bounds", &dates)?,
            keyed: a.bool("keyed")?.unwrap_or(false),
            order: BucketOrder::parse(a.get("order"), "date_histogram")?,
            format,
        })
    }

    /// Whether planning needs the time span of the data (calendar months and years, zones
    /// with daylight saving time).
    pub fn needs_span(&self) -> bool {
        !is_fixed_everywhere(self.interval, self.zone)
    }

    /// Drops `extended_bounds` where no segment's buckets depend on them: on a fixed grid they
    /// only add the empty buckets of the rendering (a calendar or DST grid is planned over
    /// them).
    pub(crate) fn forget_extended_bounds(&mut self) {
        if !self.needs_span() {
            self.extended_bounds = None;
        }
    }

    /// The span the buckets must cover: the data's, widened to `extended_bounds` when empty
    /// buckets are wanted, narrowed to `hard_bounds`.
    fn span(&self, data: Option<(i64, i64)>) -> Option<(i64, i64)> {
        let mut span = data;
        // Documents without a date fall on `missing`.
        if let Some(m) = self.missing {
            span = Some(match span {
                Some((a, b)) => (a.min(m), b.max(m)),
                None => (m, m),
            });
        }
        if self.min_doc_count == 0
            && let Some((lo, hi)) = self.extended_bounds
        {
            span = Some(match span {
                Some((a, b)) => (a.min(lo), b.max(hi)),
                None => (lo, hi),
            });
        }
        match (span, self.hard_bounds) {
            (Some((a, b)), Some((lo, hi))) => {
                let (a, b) = (a.max(lo), b.min(hi));
                (a <= b).then_some((a, b))
            }
            (span, _) => span,
        }
    }

    fn grid(&self, p: &Planner<'_>) -> Result<Grid, QueryError> {
        let data = p.bounds.get(&self.field);
        grid(
            self.interval,
            self.zone,
            self.offset,
            self.span(data),
            MAX_BUCKETS,
        )
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let field = match self.missing {
            Some(ms) => {
                let column = p.source_column(&self.field, "date_histogram")?;
                sources::register_with_missing(
                    &mut p.registry,
                    &column,
                    Target::Dates,
                    tantivy_date(ms).to_u64(),
                )
            }
            None => p.column(&self.field, Want::Dates, "date_histogram")?,
        };
        Ok(match self.grid(p)? {
            Grid::Fixed { interval, offset } => {
                let keep_empty = self.min_doc_count == 0;
                if keep_empty && let Some((lo, hi)) = self.extended_bounds {
                    let buckets = ((hi - lo) / interval).unsigned_abs() + 1;
                    if buckets > MAX_BUCKETS {
                        return Err(QueryError::TooManyBuckets {
                            limit: MAX_BUCKETS,
                            current: buckets,
                        });
                    }
                }
                let req = DateHistogramAggregationReq {
                    field,
                    fixed_interval: Some(format!("{interval}ms")),
                    offset: Some(format!("{offset}ms")),
                    min_doc_count: Some(self.min_doc_count),
                    extended_bounds: self.extended_bounds.filter(|_| keep_empty).map(|b| {
                        HistogramBounds {
                            min: b.0 as f64,
                            max: b.1 as f64,
                        }
                    }),
                    hard_bounds: self.hard_bounds.map(|b| HistogramBounds {
                        min: b.0 as f64,
                        max: b.1 as f64 + 1.0,
                    }),
                    ..DateHistogramAggregationReq::default()
                };
                node(AggregationVariants::DateHistogram(req), subs)
            }
            Grid::Boundaries(bounds) => boundary_ranges(field, &bounds, subs),
        })
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let raw = match result {
            range @ AggregationResult::BucketResult(BucketResult::Range { .. }) => {
                self.trim(range_buckets(n, range, r)?)
            }
            other => histogram_buckets(n, other, r)?
                .into_iter()
                .map(|b| {
                    let key = match b.key {
                        Key::F64(f) => f as i64,
                        Key::I64(i) => i,
                        Key::U64(u) => i64::try_from(u).unwrap_or(i64::MAX),
                        Key::Str(s) => s.parse().unwrap_or(0),
                    };
                    (key, b.doc_count, b.sub_aggregation)
                })
                .collect(),
        };
        // On a number (epoch milliseconds in a numeric field) the keys are numbers, as in
        // Elasticsearch: no `key_as_string` unless a `format` asks for one.
        let on_number = matches!(
            r.kinds.get(&self.field),
            crate::aggs::FieldKind::Long | crate::aggs::FieldKind::Double
        ) && self.format.is_none();
        let mut out = Vec::with_capacity(raw.len());
        for (key, doc_count, subs) in raw {
            let (text, mut bucket) = date_bucket(
                key,
                doc_count,
                subs,
                (self.format.as_deref(), self.zone),
                n,
                r,
            )?;
            if on_number {
                bucket.remove("key_as_string");
                out.push((key.to_string(), bucket));
            } else {
                out.push((text, bucket));
            }
        }
        self.order.apply(&mut out);
        Ok(json!({ "buckets": buckets_json(out, self.keyed) }))
    }

    /// Range buckets cover the whole span of the request: keep what ES would show — buckets
    /// with `min_doc_count` documents, or, when empty ones are wanted, everything from the
    /// first to the last non-empty bucket widened to `extended_bounds`.
    fn trim<T>(&self, buckets: Vec<(i64, u64, T)>) -> Vec<(i64, u64, T)> {
        if self.min_doc_count > 0 {
            return buckets
                .into_iter()
                .filter(|(_, c, _)| *c >= self.min_doc_count)
                .collect();
        }
        let first = buckets.iter().position(|(_, c, _)| *c > 0);
        let last = buckets.iter().rposition(|(_, c, _)| *c > 0);
        let keys: Vec<i64> = buckets.iter().map(|(k, _, _)| *k).collect();
        let ext = self.extended_bounds.map(|(lo, hi)| {
            let lo_i = keys.iter().rposition(|k| *k <= lo).unwrap_or(0);
            let hi_i = keys.iter().rposition(|k| *k <= hi).unwrap_or(0);
            (lo_i, hi_i)
        });
        let (start, end) = match (first, last, ext) {
            (Some(f), Some(l), Some((a, b))) => (f.min(a), l.max(b)),
            (Some(f), Some(l), None) => (f, l),
            (None, None, Some((a, b))) => (a, b),
            _ => return Vec::new(),
        };
        buckets
            .into_iter()
            .enumerate()
            .filter(|(i, _)| *i >= start && *i <= end)
            .map(|(_, b)| b)
            .collect()
    }
}

/// A histogram over explicit bucket starts (the last one closes the last bucket), as a range
/// aggregation keyed by each bucket's start.
pub(crate) fn boundary_ranges(field: String, starts: &[i64], subs: Aggregations) -> Aggregation {
    let ranges = starts
        .windows(2)
        .map(|w| RangeAggregationRange {
            key: Some(w[0].to_string()),
            from: Some(w[0] as f64 * 1e6),
            to: Some(w[1] as f64 * 1e6),
        })
        .collect();
    let req = RangeAggregation {
        field,
        ranges,
        keyed: false,
    };
    node(AggregationVariants::Range(req), subs)
}

/// The buckets of [`boundary_ranges`] by start, ascending. The ranges tantivy adds to cover
/// the rest of the line (keyed `*-…`, `…-*`) lie outside the data's span and are left out.
pub(crate) fn range_buckets(
    n: &AggNode,
    result: AggregationResult,
    r: &Renderer<'_>,
) -> Result<Vec<(i64, u64, AggregationResults)>, QueryError> {
    let AggregationResult::BucketResult(BucketResult::Range { buckets }) = result else {
        return Err(r.mismatch(n));
    };
    let entries = match buckets {
        BucketEntries::Vec(v) => v,
        BucketEntries::HashMap(m) => m.into_values().collect(),
    };
    let mut out: Vec<(i64, u64, _)> = entries
        .into_iter()
        .filter_map(|b| {
            let Key::Str(key) = &b.key else { return None };
            Some((key.parse().ok()?, b.doc_count, b.sub_aggregation))
        })
        .collect();
    out.sort_by_key(|(k, _, _)| *k);
    Ok(out)
}

/// One date bucket in ES's shape, keyed by its start (`key_as_string` in `format` and zone).
pub(crate) fn date_bucket(
    key: i64,
    doc_count: u64,
    subs: AggregationResults,
    (format, zone): (Option<&str>, Zone),
    n: &AggNode,
    r: &Renderer<'_>,
) -> Result<(String, Map<String, Value>), QueryError> {
    let text = format_date(key, format, zone);
    let mut bucket = Map::new();
    bucket.insert("key_as_string".into(), json!(text));
    bucket.insert("key".into(), json!(key));
    bucket.insert("doc_count".into(), json!(doc_count));
    r.subs(&n.subs, subs, &mut bucket)?;
    Ok((text, bucket))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
