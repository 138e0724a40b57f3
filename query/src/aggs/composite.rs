//! `composite`: every combination of its sources' values (`terms`, `histogram`,
//! `date_histogram`), in key order, a page (`size`) at a time; `after` (the previous page's
//! `after_key`) continues after it, so that paging visits every bucket once. Runs on tantivy's
//! composite aggregation, which merges shards and indices in the same key order.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, BucketResult, CompositeKey};
use tantivy::aggregation::bucket::{
    AfterKey, CompositeAggregation, CompositeAggregationSource,
    DateHistogramCompositeAggregationSource, HistogramCompositeAggregationSource, MissingOrder,
    Order, TermCompositeAggregationSource,
};
use tantivy::aggregation::intermediate_agg_result::CompositeIntermediateKey;

use super::AggNode;
use super::args::Args;
use super::date_histogram::MAX_BUCKETS;
use super::plan::{Planner, Want, node};
use super::render::Renderer;
use crate::error::QueryError;

/// One source of a composite key.
#[derive(Debug, Clone)]
struct Source {
    name: String,
    field: String,
    kind: SourceKind,
    desc: bool,
    missing_bucket: bool,
}

#[derive(Debug, Clone)]
enum SourceKind {
    Terms,
    Histogram(f64),
    /// A fixed interval as tantivy reads it (`1h`), or a calendar unit.
    DateHistogram {
        fixed: Option<String>,
        calendar: Option<tantivy::aggregation::bucket::CalendarInterval>,
    },
}

/// A parsed `composite` aggregation.
#[derive(Debug, Clone)]
pub struct Composite {
    sources: Vec<Source>,
    size: u32,
    after: Option<Map<String, Value>>,
}

fn bad(why: String) -> QueryError {
    QueryError::IllegalArgument(format!("[composite] {why}"))
}

fn parse_source(name: &str, v: &Value) -> Result<Source, QueryError> {
    let o = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| bad(format!("source [{name}] must name one type")))?;
    let (t, body) = o
        .iter()
        .next()
        .ok_or_else(|| bad(format!("source [{name}] is empty")))?;
    let a = Args::new("composite", body)?;
    let order = a.str("order")?;
    let desc = match order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(bad(format!("Unknown order [{other}]"))),
    };
    let missing_bucket = a.bool("missing_bucket")?.unwrap_or(false);
    let kind = match t.as_str() {
        "terms" => {
            a.allow(&[
                "field",
                "order",
                "missing_bucket",
                "missing_order",
                "value_type",
            ])?;
            SourceKind::Terms
        }
        "histogram" => {
            a.allow(&[
                "field",
                "interval",
                "order",
                "missing_bucket",
                "missing_order",
            ])?;
            let interval = a
                .f64("interval")?
                .filter(|i| *i > 0.0)
                .ok_or_else(|| bad(format!("source [{name}]: [interval] must be > 0")))?;
            SourceKind::Histogram(interval)
        }
        "date_histogram" => {
            a.allow(&[
                "field",
                "fixed_interval",
                "calendar_interval",
                "interval",
                "order",
                "missing_bucket",
                "missing_order",
                "time_zone",
            ])?;
            if let Some(zone) = a
                .str("time_zone")?
                .filter(|z| !matches!(z.as_str(), "UTC" | "Z" | "+00:00"))
            {
                return Err(QueryError::Unsupported {
                    what: format!("time_zone [{zone}] in a composite date_histogram source"),
                });
            }
            use tantivy::aggregation::bucket::CalendarInterval as C;
            let calendar = a.str("calendar_interval")?;
            let (fixed, calendar) = match calendar.as_deref() {
                None => (a.str("fixed_interval")?.or(a.str("interval")?), None),
                // Days and shorter are fixed lengths in UTC.
                Some("1d" | "day") => (Some("1d".to_string()), None),
                Some("1h" | "hour") => (Some("1h".to_string()), None),
                Some("1m" | "minute") => (Some("1m".to_string()), None),
                Some("1s" | "second") => (Some("1s".to_string()), None),
                Some("1w" | "week") => (None, Some(C::Week)),
                Some("1M" | "month") => (None, Some(C::Month)),
                Some("1y" | "year") => (None, Some(C::Year)),
                Some(other) => {
                    return Err(bad(format!(
                        "The supplied interval [{other}] could not be parsed as a calendar interval."
                    )));
                }
            };
            if fixed.is_none() && calendar.is_none() {
                return Err(bad(format!(
                    "source [{name}]: one of [fixed_interval] or [calendar_interval] is required"
                )));
            }
            SourceKind::DateHistogram { fixed, calendar }
        }
        other => {
            return Err(QueryError::Unsupported {
                what: format!("composite source type [{other}]"),
            });
        }
    };
    Ok(Source {
        name: name.to_string(),
        field: a.field()?,
        kind,
        desc,
        missing_bucket,
    })
}

impl Composite {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Composite, QueryError> {
        let a = Args::new("composite", v)?;
        a.allow(&["sources", "size", "after"])?;
        let list = a
            .get("sources")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                QueryError::XContentParse("[composite] failed to parse field [sources]: Composite [sources] cannot be null or empty".into())
            })?;
        let mut sources = Vec::new();
        for entry in list {
            let (name, body) = entry
                .as_object()
                .filter(|o| o.len() == 1)
                .and_then(|o| o.iter().next())
                .ok_or_else(|| bad("each source must be an object with one name".into()))?;
            if sources.iter().any(|s: &Source| s.name == *name) {
                return Err(bad(format!(
                    "Composite source names must be unique, found duplicates: [{name}]"
                )));
            }
            sources.push(parse_source(name, body)?);
        }
        let size = a.u64("size")?.unwrap_or(10);
        if size == 0 {
            return Err(bad("[size] must be greater than 0".into()));
        }
        let after = match a.get("after") {
            None => None,
            Some(Value::Object(o)) => {
                if o.len() != sources.len() || sources.iter().any(|s| !o.contains_key(&s.name)) {
                    return Err(bad(
                        "[after] has different number of values than the sources".into(),
                    ));
                }
                Some(o.clone())
            }
            Some(other) => return Err(bad(format!("[after] must be an object, got [{other}]"))),
        };
        Ok(Composite {
            sources,
            size: size.min(MAX_BUCKETS) as u32,
            after,
        })
    }

    /// The fields its sources read.
    pub fn fields(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.field.as_str()).collect()
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let mut sources = Vec::with_capacity(self.sources.len());
        let mut after = Vec::new();
        for s in &self.sources {
            let want = match s.kind {
                SourceKind::Terms => Want::Any,
                SourceKind::Histogram(_) => Want::Numbers,
                SourceKind::DateHistogram { .. } => Want::Dates,
            };
            let field = p.column(&s.field, want, "composite")?;
            let order = if s.desc { Order::Desc } else { Order::Asc };
            let missing_order = MissingOrder::Default;
            sources.push(match &s.kind {
                SourceKind::Terms => {
                    CompositeAggregationSource::Terms(TermCompositeAggregationSource {
                        name: s.name.clone(),
                        field,
                        order,
                        missing_bucket: s.missing_bucket,
                        missing_order,
                    })
                }
                SourceKind::Histogram(interval) => {
                    CompositeAggregationSource::Histogram(HistogramCompositeAggregationSource {
                        name: s.name.clone(),
                        field,
                        interval: *interval,
                        order,
                        missing_bucket: s.missing_bucket,
                        missing_order,
                    })
                }
                SourceKind::DateHistogram { fixed, calendar } => {
                    CompositeAggregationSource::DateHistogram(
                        DateHistogramCompositeAggregationSource {
                            name: s.name.clone(),
                            field,
                            fixed_interval: fixed.clone(),
                            calendar_interval: *calendar,
                            order,
                            missing_bucket: s.missing_bucket,
                            missing_order,
                        },
                    )
                }
            });
            if let Some(a) = &self.after {
                after.push((s.name.clone(), after_key(&s.kind, &a[&s.name])?));
            }
        }
        let mut req = CompositeAggregation {
            sources,
            size: self.size,
            after: Default::default(),
        };
        req.after.extend(after);
        Ok(node(AggregationVariants::Composite(req), subs))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::BucketResult(BucketResult::Composite { buckets, .. }) = result
        else {
            return Err(r.mismatch(n));
        };
        let mut out = Vec::with_capacity(buckets.len());
        for b in buckets {
            let mut key = Map::new();
            for s in &self.sources {
                let v = b
                    .key
                    .get(&s.name)
                    .map_or(Value::Null, |k| key_json(&s.kind, k));
                key.insert(s.name.clone(), v);
            }
            let mut bucket = Map::new();
            bucket.insert("key".into(), Value::Object(key));
            bucket.insert("doc_count".into(), json!(b.doc_count));
            r.subs(&n.subs, b.sub_aggregation, &mut bucket)?;
            out.push(Value::Object(bucket));
        }
        let mut agg = Map::new();
        // The last bucket's key is where the next page starts, as Elasticsearch answers it.
        if let Some(last) = out.last() {
            agg.insert("after_key".into(), last["key"].clone());
        }
        agg.insert("buckets".into(), Value::Array(out));
        Ok(Value::Object(agg))
    }
}

/// A key as Elasticsearch shows it: terms as themselves, histogram keys as floats, dates as epoch
/// milliseconds.
fn key_json(kind: &SourceKind, k: &CompositeKey) -> Value {
    match (kind, k) {
        (_, CompositeKey::Null) => Value::Null,
        (_, CompositeKey::Str(s)) => json!(s),
        (_, CompositeKey::Bool(b)) => json!(b),
        (SourceKind::Histogram(_), CompositeKey::I64(x)) => json!(*x as f64),
        (SourceKind::Histogram(_), CompositeKey::U64(x)) => json!(*x as f64),
        (_, CompositeKey::I64(x)) => json!(x),
        (_, CompositeKey::U64(x)) => json!(x),
        (SourceKind::DateHistogram { .. }, CompositeKey::F64(x)) => json!(*x as i64),
        (_, CompositeKey::F64(x)) => json!(x),
    }
}

/// An `after` value as tantivy's typed key.
fn after_key(kind: &SourceKind, v: &Value) -> Result<AfterKey, QueryError> {
    Ok(AfterKey(match (kind, v) {
        (_, Value::Null) => CompositeIntermediateKey::Null,
        (SourceKind::DateHistogram { .. }, v) => {
            let ms = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| bad(format!("[after] value [{v}] is not a date in milliseconds")))?;
            CompositeIntermediateKey::DateTime(ms.saturating_mul(1_000_000))
        }
        (_, Value::String(s)) => CompositeIntermediateKey::Str(s.clone()),
        (_, Value::Bool(b)) => CompositeIntermediateKey::Bool(*b),
        (_, Value::Number(n)) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => CompositeIntermediateKey::I64(i),
            (_, Some(u), _) => CompositeIntermediateKey::U64(u),
            (_, _, Some(f)) => CompositeIntermediateKey::F64(f),
            _ => return Err(bad(format!("[after] value [{v}] is not a number"))),
        },
        (_, other) => return Err(bad(format!("[after] value [{other}] is not a key"))),
    }))
}
