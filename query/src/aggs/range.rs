//! `range` and `date_range`: buckets for the requested ranges only (from inclusive, to
//! exclusive), overlapping ones included, with ES's keys, `keyed`, `format` and `time_zone`.
//!
//! tantivy fills the holes between ranges with extra buckets and refuses overlapping ranges:
//! every requested range carries its own key so that the extra buckets can be dropped, and
//! overlapping ranges are spread over several tantivy range aggregations ("layers").

use serde_json::{Map, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketEntries, BucketResult,
};
use tantivy::aggregation::bucket::{RangeAggregation, RangeAggregationRange};

use super::AggNode;
use super::args::{Args, number};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, buckets_json};
use crate::ast::GeoPoint;
use crate::dates::{DateParser, Zone, format_date};
use crate::error::QueryError;

/// One requested range.
#[derive(Debug, Clone)]
struct Bound {
    key: Option<String>,
    /// Inclusive lower bound (epoch ms for dates).
    from: Option<f64>,
    /// Exclusive upper bound.
    to: Option<f64>,
}

/// A parsed `range` or `date_range` aggregation.
#[derive(Debug, Clone)]
pub struct Range {
    /// The field.
    pub field: String,
    /// `date_range` (bounds are dates, keys and `*_as_string` are formatted).
    pub date: bool,
    ranges: Vec<Bound>,
    keyed: bool,
    format: Option<String>,
    zone: Zone,
    /// `geo_distance`: ranges of the distance of the field's points from an origin.
    geo: Option<GeoOrigin>,
}

/// What a `geo_distance` aggregation measures from.
#[derive(Debug, Clone)]
struct GeoOrigin {
    origin: GeoPoint,
    unit_m: f64,
    plane: bool,
}

impl Range {
    /// Parses the options of a `range` (`date == false`) or `date_range`.
    pub fn parse(v: &Value, date: bool) -> Result<Range, QueryError> {
        let kind = if date { "date_range" } else { "range" };
        let a = Args::new(kind, v)?;
        a.allow(&["field", "ranges", "keyed", "format", "time_zone"])?;
        let format = a.str("format")?;
        let tz = a.str("time_zone")?;
        let dates = DateParser::new(
            format.as_deref(),
            tz.as_deref(),
            chrono::Utc::now().timestamp_millis(),
        )?;
        let items = a.get("ranges").and_then(Value::as_array).ok_or_else(|| {
            QueryError::IllegalArgument(format!(
                "No [ranges] specified for the [{kind}] aggregation"
            ))
        })?;
        let bound = |r: &Value, k: &str| -> Result<Option<f64>, QueryError> {
            match r.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if date => Ok(Some(dates.parse(s, false)? as f64)),
                Some(v) => number(v).map(Some).ok_or_else(|| {
                    QueryError::Parsing(format!("[{kind}] [{k}] must be a number, got [{v}]"))
                }),
            }
        };
        let ranges = items
            .iter()
            .map(|r| {
                Ok(Bound {
                    key: r.get("key").and_then(Value::as_str).map(str::to_string),
                    from: bound(r, "from")?,
                    to: bound(r, "to")?,
                })
            })
            .collect::<Result<Vec<_>, QueryError>>()?;
        Ok(Range {
            field: a.field()?,
            date,
            ranges,
            keyed: a.bool("keyed")?.unwrap_or(false),
            format,
            zone: match tz {
                Some(t) => Zone::parse(&t)?,
                None => Zone::Utc,
            },
            geo: None,
        })
    }

    /// Parses a `geo_distance` aggregation: `field`, `origin`, `unit` (metres by default),
    /// `distance_type` (`arc` or `plane`), `ranges`, `keyed`.
    pub fn parse_geo_distance(v: &Value) -> Result<Range, QueryError> {
        let a = Args::new("geo_distance", v)?;
        a.allow(&[
            "field",
            "origin",
            "unit",
            "distance_type",
            "ranges",
            "keyed",
        ])?;
        let origin = a.get("origin").ok_or_else(|| {
            QueryError::Parsing("Missing [origin] in geo_distance aggregator".to_string())
        })?;
        let origin = hydrant_index::geo::parse_point(origin)
            .map_err(|why| QueryError::Parsing(format!("[geo_distance] [origin]: {why}")))?;
        let unit_m = match a.str("unit")? {
            None => 1.0,
            Some(u) => hydrant_index::geo::unit_m(&u).ok_or_else(|| {
                QueryError::IllegalArgument(format!("No distance unit match [{u}]"))
            })?,
        };
        let plane = match a.str("distance_type")?.map(|t| t.to_ascii_lowercase()) {
            None => false,
            Some(t) if t == "arc" => false,
            Some(t) if t == "plane" => true,
            Some(t) => {
                return Err(QueryError::IllegalArgument(format!(
                    "No geo distance for [{t}]"
                )));
            }
        };
        let mut plain = serde_json::Map::new();
        for k in ["field", "ranges", "keyed"] {
            if let Some(v) = a.get(k) {
                plain.insert(k.to_string(), v.clone());
            }
        }
        let mut r = Range::parse(&Value::Object(plain), false)?;
        r.geo = Some(GeoOrigin {
            origin,
            unit_m,
            plane,
        });
        Ok(r)
    }

    /// The ES type name.
    pub fn type_name(&self) -> &'static str {
        match (self.date, &self.geo) {
            (true, _) => "date_range",
            (false, Some(_)) => "geo_distance",
            (false, None) => "range",
        }
    }

    /// Indices of the ranges, grouped so that no two in a group overlap.
    fn layers(&self) -> Vec<Vec<usize>> {
        let mut order: Vec<usize> = (0..self.ranges.len()).collect();
        let lo = |i: usize| self.ranges[i].from.unwrap_or(f64::MIN);
        let hi = |i: usize| self.ranges[i].to.unwrap_or(f64::MAX);
        order.sort_by(|a, b| lo(*a).total_cmp(&lo(*b)));
        let mut layers: Vec<Vec<usize>> = Vec::new();
        for i in order {
            match layers
                .iter_mut()
                .find(|l| l.last().is_some_and(|last| hi(*last) <= lo(i)))
            {
                Some(l) => l.push(i),
                None => layers.push(vec![i]),
            }
        }
        layers
    }

    fn layer_name(name: &str, layer: usize) -> String {
        if layer == 0 {
            name.to_string()
        } else {
            format!("{name}#range{layer}")
        }
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
        subs: Aggregations,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let want = if self.date {
            Want::Dates
        } else {
            Want::Numbers
        };
        let field = match &self.geo {
            Some(g) => super::geo::distance_column(p, &self.field, g.origin, g.unit_m, g.plane)?,
            None => p.column(&self.field, want, self.type_name())?,
        };
        let scale = if self.date { 1e6 } else { 1.0 };
        let mut out = Vec::new();
        for (n, layer) in self.layers().into_iter().enumerate() {
            let ranges = layer
                .iter()
                .map(|i| RangeAggregationRange {
                    key: Some(format!("#{i}")),
                    from: self.ranges[*i].from.map(|x| x * scale),
                    to: self.ranges[*i].to.map(|x| x * scale),
                })
                .collect();
            let req = RangeAggregation {
                field: field.clone(),
                ranges,
                keyed: false,
            };
            out.push((
                Self::layer_name(name, n),
                node(AggregationVariants::Range(req), subs.clone()),
            ));
        }
        Ok(out)
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let mut found: Vec<Option<(u64, AggregationResults)>> = vec![None; 0];
        found.resize_with(self.ranges.len(), || None);
        for layer in 0..self.layers().len() {
            let res = results
                .0
                .remove(&Self::layer_name(&n.name, layer))
                .ok_or_else(|| r.mismatch(n))?;
            let AggregationResult::BucketResult(BucketResult::Range { buckets }) = res else {
                return Err(r.mismatch(n));
            };
            let entries = match buckets {
                BucketEntries::Vec(v) => v,
                BucketEntries::HashMap(m) => m.into_values().collect(),
            };
            for b in entries {
                let Key::Str(k) = &b.key else { continue };
                if let Some(i) = k.strip_prefix('#').and_then(|i| i.parse::<usize>().ok())
                    && let Some(slot) = found.get_mut(i)
                {
                    *slot = Some((b.doc_count, b.sub_aggregation));
                }
            }
        }
        let mut order: Vec<usize> = (0..self.ranges.len()).collect();
        order.sort_by(|a, b| {
            let (x, y) = (&self.ranges[*a], &self.ranges[*b]);
            x.from
                .unwrap_or(f64::MIN)
                .total_cmp(&y.from.unwrap_or(f64::MIN))
                .then(
                    x.to.unwrap_or(f64::MAX)
                        .total_cmp(&y.to.unwrap_or(f64::MAX)),
                )
        });
        let mut out = Vec::new();
        for i in order {
            let (doc_count, subs) = found[i].take().unwrap_or_default();
            let (key, bucket) = self.bucket(i, doc_count, subs, n, r)?;
            out.push((key, bucket));
        }
        Ok(json!({ "buckets": buckets_json(out, self.keyed) }))
    }

    fn bucket(
        &self,
        i: usize,
        doc_count: u64,
        subs: AggregationResults,
        n: &AggNode,
        r: &Renderer<'_>,
    ) -> Result<(String, Map<String, Value>), QueryError> {
        let range = &self.ranges[i];
        let text = |x: Option<f64>| match x {
            None => "*".to_string(),
            Some(v) if self.date => format_date(v as i64, self.format.as_deref(), self.zone),
            Some(v) => format!("{v:?}"),
        };
        let key = range
            .key
            .clone()
            .unwrap_or_else(|| format!("{}-{}", text(range.from), text(range.to)));
        let mut b = Map::new();
        b.insert("key".into(), json!(key));
        // Distances start at 0: `geo_distance` shows it as the first range's `from`.
        let from = range.from.or(self.geo.as_ref().map(|_| 0.0));
        if let Some(from) = from {
            b.insert("from".into(), json!(from));
            if self.date {
                b.insert("from_as_string".into(), json!(text(Some(from))));
            }
        }
        if let Some(to) = range.to {
            b.insert("to".into(), json!(to));
            if self.date {
                b.insert("to_as_string".into(), json!(text(Some(to))));
            }
        }
        b.insert("doc_count".into(), json!(doc_count));
        r.subs(&n.subs, subs, &mut b)?;
        Ok((key, b))
    }
}
