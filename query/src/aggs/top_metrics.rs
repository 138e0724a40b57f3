//! `top_metrics`: the values of a few fields on the document(s) with the largest or smallest
//! sort value (Elasticsearch 7.7+; OpenSearch has none).
//!
//! tantivy's `top_hits` picks the documents by the sort column; their metrics are then read as
//! each document's `docvalue_fields` (so they print as a hit prints them: dates in their format,
//! numbers and strings as they are). Documents without a sort value are left out, as
//! Elasticsearch leaves them out. A multi-valued sort field counts its smallest value (ES takes
//! the largest for `desc`) and a multi-valued metric its first value.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, BucketResult, MetricResult};
use tantivy::aggregation::metric::TopHitsAggregationReq;
use tantivy::columnar::MonotonicallyMappableToU64;

use super::AggNode;
use super::args::Args;
use super::fields::FieldKind;
use super::filters::compiled_filter;
use super::plan::{Planner, Want, node};
use super::render::{Renderer, number_json};
use super::top_hits::first_str;
use crate::ast::QueryAst;
use crate::dsl::parse_query;
use crate::error::QueryError;
use crate::request::{FieldSpec, SortSpec, SortTarget, parse_sort};

/// The name of the ranking under the filter on the sort field.
const TOP: &str = "top";

/// ES's `index.top_metrics_max_size`.
const MAX_SIZE: u64 = 10;

/// A parsed `top_metrics` aggregation.
#[derive(Debug, Clone)]
pub struct TopMetrics {
    metrics: Vec<FieldSpec>,
    sort: SortSpec,
    size: usize,
    /// `exists` on the sort field: tantivy ranks documents without a sort value first, and
    /// ES leaves them out, so only the others are ranked.
    sorted: QueryAst,
}

impl TopMetrics {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<TopMetrics, QueryError> {
        let a = Args::new("top_metrics", v)?;
        a.allow(&["metrics", "sort", "size"])?;
        let metrics = match a.get("metrics") {
            None => return Err(required("metrics")),
            Some(Value::Array(items)) => items.iter().map(metric_field).collect(),
            Some(one) => metric_field(one).map(|f| vec![f]),
        }?;
        if metrics.is_empty() {
            return Err(QueryError::IllegalArgument(
                "[metrics] must not be empty".to_string(),
            ));
        }
        for (i, m) in metrics.iter().enumerate() {
            if metrics[..i]
                .iter()
                .any(|o: &FieldSpec| o.pattern == m.pattern)
            {
                return Err(QueryError::IllegalArgument(format!(
                    "duplicate metric field [{}] in [top_metrics]",
                    m.pattern
                )));
            }
        }
        let mut sorts = match a.get("sort") {
            None => return Err(required("sort")),
            Some(s) => parse_sort(s)?,
        };
        if sorts.len() != 1 {
            return Err(QueryError::IllegalArgument(
                "[top_metrics] only supports sorting on a single field".to_string(),
            ));
        }
        let sort = sorts.remove(0);
        match &sort.target {
            SortTarget::Field(_) => {}
            SortTarget::Index => {
                return Err(QueryError::Unsupported {
                    what: "sorting [top_metrics] by [_index]".to_string(),
                });
            }
            SortTarget::Score => {
                return Err(QueryError::Unsupported {
                    what: "sorting [top_metrics] by [_score]".to_string(),
                });
            }
            SortTarget::GeoDistance(_) => {
                return Err(QueryError::Unsupported {
                    what: "sorting [top_metrics] by [_geo_distance]".to_string(),
                });
            }
            SortTarget::Doc | SortTarget::ShardDoc => {
                return Err(QueryError::IllegalArgument(
                    "[top_metrics] cannot sort on [_doc]".to_string(),
                ));
            }
        }
        let size = a.u64("size")?.unwrap_or(1);
        if size == 0 {
            return Err(QueryError::IllegalArgument(
                "[size] must be more than 0 but was [0]".to_string(),
            ));
        }
        if size > MAX_SIZE {
            return Err(QueryError::IllegalArgument(format!(
                "[top_metrics.size] must not be more than [{MAX_SIZE}] but was [{size}]. This limit can be set by changing the [index.top_metrics_max_size] index level setting."
            )));
        }
        let sorted = parse_query(&json!({"exists": {"field": sort.field().unwrap_or_default()}}))?;
        Ok(TopMetrics {
            sorted,
            metrics,
            sort,
            size: size as usize,
        })
    }

    /// The fields it reads: the sort field and the metrics.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.sort.field().into_iter().collect();
        out.extend(self.metrics.iter().map(|m| m.pattern.as_str()));
        out
    }

    fn sort_field(&self) -> &str {
        self.sort.field().unwrap_or_default()
    }

    pub(crate) fn plan(&self, p: &mut Planner<'_>) -> Result<Aggregation, QueryError> {
        let name = self.sort_field();
        let kind = p.kinds.get(name);
        if !kind.is_numeric() && !matches!(kind, FieldKind::Unmapped | FieldKind::Bool) {
            return Err(QueryError::IllegalArgument(format!(
                "error building sort for field [{name}] of type [{}]: only numeric and date fields sort [top_metrics]",
                kind.es_type()
            )));
        }
        if p.kinds.mixed_numbers(name) {
            return Err(QueryError::Unsupported {
                what: format!(
                    "sorting [top_metrics] by [{name}], a dynamic field holding both integers and floats"
                ),
            });
        }
        let column = p.column(name, Want::Any, "top_metrics")?;
        for m in &self.metrics {
            let kind = p.kinds.get(&m.pattern);
            if matches!(kind, FieldKind::GeoPoint | FieldKind::Text) {
                return Err(QueryError::IllegalArgument(format!(
                    "Field [{}] of type [{}] is not supported for aggregation [top_metrics]",
                    m.pattern,
                    kind.es_type()
                )));
            }
        }
        let order = if self.sort.desc { "desc" } else { "asc" };
        let req: TopHitsAggregationReq = serde_json::from_value(json!({
            "size": self.size,
            "sort": [{ column: order }],
            // The metrics are read with the document, as `docvalue_fields` (tantivy's own
            // `docvalue_fields` panic on a column a segment lacks).
            "docvalue_fields": ["_id"],
        }))
        .map_err(|e| QueryError::Parsing(format!("[top_metrics] {e}")))?;
        let mut top = Aggregations::default();
        top.insert(
            TOP.to_string(),
            node(AggregationVariants::TopHits(req), Aggregations::default()),
        );
        Ok(node(
            AggregationVariants::Filter(compiled_filter(p, &self.sorted)?),
            top,
        ))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::BucketResult(BucketResult::Filter(mut f)) = result else {
            return Err(r.mismatch(n));
        };
        let Some(AggregationResult::MetricResult(MetricResult::TopHits(top))) =
            f.sub_aggregations.0.remove(TOP)
        else {
            return Err(r.mismatch(n));
        };
        let sort_kind = r.kinds.get(self.sort_field());
        let format = self.sort.format.as_deref();
        let mut out = Vec::with_capacity(top.hits.len());
        for entry in top.hits {
            let Some(Some(sort)) = entry.sort.first().copied() else {
                continue;
            };
            let sort = match sort_kind {
                FieldKind::Date => json!(r.date(i64::from_u64(sort) / 1_000_000, format)),
                FieldKind::Double => number_json(f64::from_u64(sort)),
                FieldKind::Bool => json!(sort != 0),
                _ => json!(i64::from_u64(sort)),
            };
            let Some(id) = entry.doc_value_fields.get("_id").and_then(first_str) else {
                continue;
            };
            let Some(hit) = r.lookup.fetch(&id, &[], &self.metrics) else {
                continue;
            };
            let mut fields = hit.fields.unwrap_or_default();
            let mut metrics = Map::new();
            for m in &self.metrics {
                let value = match fields.remove(&m.pattern) {
                    Some(Value::Array(mut values)) if !values.is_empty() => values.swap_remove(0),
                    _ => Value::Null,
                };
                metrics.insert(m.pattern.clone(), value);
            }
            out.push(json!({ "sort": [sort], "metrics": metrics }));
        }
        Ok(json!({ "top": out }))
    }
}

fn required(what: &str) -> QueryError {
    QueryError::IllegalArgument(format!("[top_metrics] Required [{what}]"))
}

/// One entry of `metrics`: `{"field": "name"}`.
fn metric_field(v: &Value) -> Result<FieldSpec, QueryError> {
    let o = v.as_object().ok_or_else(|| {
        QueryError::Parsing(format!(
            "[top_metrics] [metrics] must be an object or an array of objects, got [{v}]"
        ))
    })?;
    if o.contains_key("script") {
        return Err(QueryError::Unsupported {
            what: "[script] in the [top_metrics] metrics".to_string(),
        });
    }
    if let Some(k) = o.keys().find(|k| k.as_str() != "field") {
        return Err(QueryError::XContentParse(format!(
            "[top_metrics] [metrics] unknown field [{k}]"
        )));
    }
    let field = o.get("field").and_then(Value::as_str).ok_or_else(|| {
        QueryError::IllegalArgument("[field] must be set in [metrics]".to_string())
    })?;
    Ok(FieldSpec {
        pattern: field.to_string(),
        format: None,
        include_unmapped: false,
    })
}
