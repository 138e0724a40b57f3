//! `top_hits`: the best documents of each bucket, with their `_source`.
//!
//! tantivy picks the documents (sorted by numeric or date columns) and returns their column
//! values; the `_id` column names each document, and its stored source is then fetched through
//! [`HitLookup`](super::HitLookup), as ES's fetch phase does.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{
    AggregationResult, AggregationResults, BucketResult, MetricResult,
};
use tantivy::aggregation::metric::{TopHitsAggregationReq, TopHitsVecEntry};
use tantivy::columnar::MonotonicallyMappableToU64;
use tantivy::schema::OwnedValue;

use super::AggNode;
use super::args::Args;
use super::fields::FieldKind;
use super::filters::compiled_filter;
use super::plan::{Planner, Want, node};
use super::render::{Renderer, number_json};
use crate::ast::{BoolQuery, QueryAst};
use crate::error::QueryError;
use crate::request::{
    FieldSpec, Missing, SortSpec, SortTarget, SourceFilter, parse_field_specs, parse_sort,
};

/// The ranking under each filter on the first sort field.
const TOP: &str = "top";
/// The suffix of the ranking of the documents without the first sort field.
const WITHOUT: &str = "#without";

/// ES's `index.max_inner_result_window`: a `top_hits`'s `from + size` may not exceed it.
const MAX_INNER_RESULT_WINDOW: u64 = 100;

/// A parsed `top_hits` aggregation.
#[derive(Debug, Clone)]
pub struct TopHits {
    size: usize,
    from: usize,
    sort: Vec<SortSpec>,
    source: SourceFilter,
    fields: Vec<FieldSpec>,
    docvalue_fields: Vec<FieldSpec>,
}

impl TopHits {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<TopHits, QueryError> {
        let a = Args::new("top_hits", v)?;
        a.allow(&[
            "size",
            "from",
            "sort",
            "_source",
            "version",
            "seq_no_primary_term",
            "explain",
            "track_scores",
            "stored_fields",
            "docvalue_fields",
            "fields",
        ])?;
        let sort = match a.get("sort") {
            Some(s) => parse_sort(s)?,
            None => Vec::new(),
        };
        let mut kept = Vec::new();
        for s in sort {
            match &s.target {
                SortTarget::Field(_) => kept.push(s),
                // Constant within the shard an aggregation bucket's hits come from.
                SortTarget::Doc | SortTarget::ShardDoc | SortTarget::Index => {}
                SortTarget::GeoDistance(_) => {
                    return Err(QueryError::Unsupported {
                        what: "sorting [top_hits] by [_geo_distance]".to_string(),
                    });
                }
                SortTarget::Score => {
                    return Err(QueryError::Unsupported {
                        what: "sorting [top_hits] by [_score]".to_string(),
                    });
                }
            }
        }
        let size = a.u64("size")?.unwrap_or(3);
        let from = a.u64("from")?.unwrap_or(0);
        let window = size.saturating_add(from);
        if window > MAX_INNER_RESULT_WINDOW {
            return Err(QueryError::IllegalArgument(format!(
                "Top hits result window is too large, the top hits aggregator's from + size must be less than or equal to: [{MAX_INNER_RESULT_WINDOW}] but was [{window}]. This limit can be set by changing the [index.max_inner_result_window] index level setting."
            )));
        }
        Ok(TopHits {
            size: size as usize,
            from: from as usize,
            sort: kept,
            source: match a.get("_source") {
                Some(s) => SourceFilter::parse(s)?,
                None => SourceFilter::default(),
            },
            fields: match a.get("fields") {
                Some(f) => parse_field_specs(f, "fields")?,
                None => Vec::new(),
            },
            docvalue_fields: match a.get("docvalue_fields") {
                Some(f) => parse_field_specs(f, "docvalue_fields")?,
                None => Vec::new(),
            },
        })
    }

    /// Fields the sort reads.
    pub fn sort_fields(&self) -> Vec<&str> {
        self.sort.iter().filter_map(SortSpec::field).collect()
    }

    /// The tantivy aggregations: the ranking itself when no field sorts it; else one ranking
    /// of the documents with the first sort field and one of those without it (tantivy ranks
    /// documents without a value first whatever the order; ES puts them `_last` unless told
    /// `_first`), joined when rendered.
    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let mut sort = Vec::new();
        for s in &self.sort {
            let name = s.field().unwrap_or_default();
            let kind = p.kinds.get(name);
            if !kind.is_numeric() && kind != FieldKind::Unmapped && kind != FieldKind::Bool {
                return Err(QueryError::Unsupported {
                    what: format!(
                        "sorting [top_hits] by [{name}] of type [{}]",
                        kind.es_type()
                    ),
                });
            }
            if p.kinds.mixed_numbers(name) {
                return Err(QueryError::Unsupported {
                    what: format!(
                        "sorting [top_hits] by [{name}], a dynamic field holding both integers and floats"
                    ),
                });
            }
            if matches!(s.missing, Missing::Value(_)) {
                return Err(QueryError::Unsupported {
                    what: format!(
                        "a [missing] value other than [_first] or [_last] in a [top_hits] sort on [{name}]"
                    ),
                });
            }
            let column = p.column(name, Want::Any, "top_hits")?;
            sort.push(json!({ column: if s.desc { "desc" } else { "asc" } }));
        }
        let ranking =
            |sort: &[Value], size: usize, from: usize| -> Result<Aggregation, QueryError> {
                let req: TopHitsAggregationReq = serde_json::from_value(json!({
                    "size": size,
                    "from": from,
                    "sort": sort,
                    // Only `_id`: the sort values come with each hit, and tantivy's
                    // `docvalue_fields` panic on a column a segment lacks.
                    "docvalue_fields": ["_id"],
                }))
                .map_err(|e| QueryError::Parsing(format!("[top_hits] {e}")))?;
                Ok(node(
                    AggregationVariants::TopHits(req),
                    Aggregations::default(),
                ))
            };
        let Some(first) = self.sort.first().and_then(SortSpec::field) else {
            return Ok(vec![(
                name.to_string(),
                ranking(&sort, self.size, self.from)?,
            )]);
        };
        let window = self.size + self.from;
        let has = QueryAst::Exists {
            field: first.to_string(),
        };
        let lacks = QueryAst::Bool(BoolQuery {
            must_not: vec![has.clone()],
            ..Default::default()
        });
        let mut with = Aggregations::default();
        with.insert(TOP.to_string(), ranking(&sort, window, 0)?);
        let mut without = Aggregations::default();
        without.insert(TOP.to_string(), ranking(&sort[1..], window, 0)?);
        Ok(vec![
            (
                name.to_string(),
                node(AggregationVariants::Filter(compiled_filter(p, &has)?), with),
            ),
            (
                format!("{name}{WITHOUT}"),
                node(
                    AggregationVariants::Filter(compiled_filter(p, &lacks)?),
                    without,
                ),
            ),
        ])
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let mut ranked = |name: &str| -> Result<Vec<TopHitsVecEntry>, QueryError> {
            match results.0.remove(name) {
                Some(AggregationResult::MetricResult(MetricResult::TopHits(top))) => Ok(top.hits),
                Some(AggregationResult::BucketResult(BucketResult::Filter(mut f))) => {
                    match f.sub_aggregations.0.remove(TOP) {
                        Some(AggregationResult::MetricResult(MetricResult::TopHits(top))) => {
                            Ok(top.hits)
                        }
                        _ => Err(r.mismatch(n)),
                    }
                }
                _ => Err(r.mismatch(n)),
            }
        };
        let mut entries = ranked(&n.name)?;
        if self.sort.first().and_then(SortSpec::field).is_some() {
            let mut without = ranked(&format!("{}{WITHOUT}", n.name))?;
            for e in &mut without {
                // The ranking without the first field sorted by the others only.
                e.sort.insert(0, None);
            }
            if self.sort[0].missing == Missing::First {
                without.append(&mut entries);
                entries = without;
            } else {
                entries.append(&mut without);
            }
            entries = entries
                .into_iter()
                .skip(self.from)
                .take(self.size)
                .collect();
        }
        let mut hits = Vec::with_capacity(entries.len());
        for entry in entries {
            let Some(id) = entry.doc_value_fields.get("_id").and_then(first_str) else {
                continue;
            };
            let mut hit = Map::new();
            match r.lookup.fetch(&id, &self.fields, &self.docvalue_fields) {
                Some(super::run::FetchedHit {
                    index,
                    source,
                    fields,
                }) => {
                    hit.insert("_index".into(), json!(index));
                    hit.insert("_id".into(), json!(id));
                    hit.insert("_score".into(), Value::Null);
                    if self.source.enabled {
                        hit.insert("_source".into(), self.source.apply(&source));
                    }
                    if let Some(f) = fields.filter(|f| !f.is_empty()) {
                        hit.insert("fields".into(), Value::Object(f));
                    }
                }
                None => continue,
            }
            if !self.sort.is_empty() {
                let values: Vec<Value> = self
                    .sort
                    .iter()
                    .zip(&entry.sort)
                    .map(|(s, v)| sort_value(r.kinds.get(s.field().unwrap_or_default()), *v))
                    .collect();
                hit.insert("sort".into(), Value::Array(values));
            }
            hits.push(Value::Object(hit));
        }
        Ok(json!({
            "hits": {
                "total": {"value": r.doc_count.get(), "relation": "eq"},
                "max_score": null,
                "hits": hits,
            }
        }))
    }
}

/// The first string of a column's values (the `_id` of a ranked document).
pub(crate) fn first_str(v: &OwnedValue) -> Option<String> {
    match v {
        OwnedValue::Str(s) => Some(s.clone()),
        OwnedValue::Array(items) => items.iter().find_map(first_str),
        _ => None,
    }
}

/// A sort value from tantivy's u64-mapped form.
fn sort_value(kind: FieldKind, v: Option<u64>) -> Value {
    let Some(v) = v else { return Value::Null };
    match kind {
        FieldKind::Date => json!(i64::from_u64(v) / 1_000_000),
        FieldKind::Double => number_json(f64::from_u64(v)),
        FieldKind::Bool => json!(v),
        _ => json!(i64::from_u64(v)),
    }
}
