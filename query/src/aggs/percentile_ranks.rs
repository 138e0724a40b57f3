//! `percentile_ranks`: the percentage of values at or below each of `values`, counted exactly.
//!
//! That is the rank as Elasticsearch defines it; Elasticsearch estimates it from a TDigest,
//! interpolating between centroids, so between two far-apart values of a small sample its
//! answer lies between the two counts (see docs/known-differences.md). Hydrant counts with one
//! range aggregation over the field's values as `f64`: for each `x`, a bucket
//! `[previous, x)` and a bucket `[x, next_up(x))`.

use serde_json::{Map, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, BucketEntries, BucketResult};
use tantivy::aggregation::bucket::{RangeAggregation, RangeAggregationRange};

use super::AggNode;
use super::args::{Args, number};
use super::plan::{Planner, node};
use super::render::{Renderer, opt_number};
use super::sources::{self, Target};
use crate::error::QueryError;

/// A parsed `percentile_ranks` aggregation.
#[derive(Debug, Clone)]
pub struct PercentileRanks {
    /// The field.
    pub field: String,
    /// The values, as requested (answered in this order).
    values: Vec<f64>,
    keyed: bool,
}

impl PercentileRanks {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<PercentileRanks, QueryError> {
        let a = Args::new("percentile_ranks", v)?;
        a.allow(&["field", "values", "keyed", "tdigest", "hdr", "format"])?;
        if a.get("hdr").is_some() {
            return Err(QueryError::Unsupported {
                what: "[hdr] in the [percentile_ranks] aggregation".to_string(),
            });
        }
        let values = match a.get("values") {
            None => {
                return Err(QueryError::XContentParse(
                    "[values] must not be null: [percentile_ranks]".to_string(),
                ));
            }
            Some(Value::Array(items)) => items
                .iter()
                .map(|x| {
                    number(x).filter(|x| x.is_finite()).ok_or_else(|| {
                        QueryError::Parsing(format!(
                            "[percentile_ranks] [values] must be numbers, got [{x}]"
                        ))
                    })
                })
                .collect::<Result<Vec<f64>, _>>()?,
            Some(other) => {
                return Err(QueryError::Parsing(format!(
                    "[values] must be an array of numbers, got [{other}]"
                )));
            }
        };
        if values.is_empty() {
            return Err(QueryError::IllegalArgument(
                "[values] must not be an empty array: [percentile_ranks]".to_string(),
            ));
        }
        Ok(PercentileRanks {
            field: a.field()?,
            values,
            keyed: a.bool("keyed")?.unwrap_or(true),
        })
    }

    /// The distinct values, ascending.
    fn points(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    }

    pub(crate) fn plan(&self, p: &mut Planner<'_>) -> Result<Aggregation, QueryError> {
        let column = p.source_column(&self.field, "percentile_ranks")?;
        // Always the f64 view: a range over an integer column would truncate fractional bounds.
        let field = sources::register(&mut p.registry, &column, Target::Numbers);
        let mut ranges = Vec::new();
        let mut from = None;
        for (i, x) in self.points().into_iter().enumerate() {
            ranges.push(RangeAggregationRange {
                key: Some(format!("lt{i}")),
                from,
                to: Some(x),
            });
            from = Some(x.next_up());
            ranges.push(RangeAggregationRange {
                key: Some(format!("eq{i}")),
                from: Some(x),
                to: from,
            });
        }
        Ok(node(
            AggregationVariants::Range(RangeAggregation {
                field,
                ranges,
                keyed: false,
            }),
            Aggregations::default(),
        ))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::BucketResult(BucketResult::Range { buckets }) = result else {
            return Err(r.mismatch(n));
        };
        let entries = match buckets {
            BucketEntries::Vec(v) => v,
            BucketEntries::HashMap(m) => m.into_values().collect(),
        };
        let points = self.points();
        let (mut below, mut equal) = (vec![0u64; points.len()], vec![0u64; points.len()]);
        let mut total = 0u64;
        for b in &entries {
            total += b.doc_count;
            let Key::Str(k) = &b.key else { continue };
            let slot = |prefix: &str| k.strip_prefix(prefix).and_then(|i| i.parse::<usize>().ok());
            if let Some(i) = slot("lt") {
                below[i] = b.doc_count;
            } else if let Some(i) = slot("eq") {
                equal[i] = b.doc_count;
            }
        }
        let rank = |x: f64| -> Option<f64> {
            if total == 0 {
                return None;
            }
            let i = points.iter().position(|p| *p == x)?;
            let under: u64 = below[..=i].iter().sum::<u64>() + equal[..i].iter().sum::<u64>();
            Some((under + equal[i]) as f64 / total as f64 * 100.0)
        };
        Ok(if self.keyed {
            let mut o = Map::new();
            for x in &points {
                o.insert(format!("{x:?}"), opt_number(rank(*x)));
            }
            json!({ "values": o })
        } else {
            let list: Vec<Value> = points
                .iter()
                .map(|x| json!({"key": x, "value": opt_number(rank(*x))}))
                .collect();
            json!({ "values": list })
        })
    }
}
