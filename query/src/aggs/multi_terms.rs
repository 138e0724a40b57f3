//! `multi_terms`: one bucket per combination of several fields' values, ordered by count (or a
//! sub-aggregation, or the key), on tantivy's multi-terms aggregation. Keys are lists, and
//! `key_as_string` joins them with `|`, as Elasticsearch answers.

use serde_json::{Map, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, BucketResult};
use tantivy::aggregation::bucket::{
    CustomOrder, MultiTermsAggregation, MultiTermsField, Order, OrderTarget,
};

use super::AggNode;
use super::args::{Args, number};
use super::date_histogram::MAX_BUCKETS;
use super::plan::{Planner, Want, node};
use super::render::{Renderer, key_json};
use super::terms::{EXACT_UP_TO, parse_order};
use crate::error::QueryError;

/// A parsed `multi_terms` aggregation.
#[derive(Debug, Clone)]
pub struct MultiTerms {
    fields: Vec<(String, Option<Value>)>,
    size: u32,
    shard_size: Option<u32>,
    min_doc_count: u64,
    order: Option<(String, bool)>,
}

impl MultiTerms {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<MultiTerms, QueryError> {
        let a = Args::new("multi_terms", v)?;
        a.allow(&[
            "terms",
            "size",
            "shard_size",
            "min_doc_count",
            "shard_min_doc_count",
            "order",
            "show_term_doc_count_error",
            "collect_mode",
        ])?;
        let terms = a
            .get("terms")
            .and_then(Value::as_array)
            .filter(|t| t.len() >= 2)
            .ok_or_else(|| {
                QueryError::XContentParse(
                    "[multi_terms] failed to parse field [terms]: The [terms] parameter in the aggregation [multi_terms] must be present and have at least 2 fields or scripts."
                        .into(),
                )
            })?;
        let mut fields = Vec::new();
        for t in terms {
            let field = t.get("field").and_then(Value::as_str).ok_or_else(|| {
                QueryError::Parsing("[multi_terms] each term needs a [field]".into())
            })?;
            fields.push((field.to_string(), t.get("missing").cloned()));
        }
        let size = a.u64("size")?.unwrap_or(10);
        if size == 0 {
            return Err(QueryError::IllegalArgument(
                "[size] must be greater than 0. Found [0] in [multi_terms]".into(),
            ));
        }
        let clamp = |n: u64| n.min(MAX_BUCKETS + 1) as u32;
        Ok(MultiTerms {
            fields,
            size: clamp(size),
            shard_size: a.u64("shard_size")?.map(clamp),
            min_doc_count: a.u64("min_doc_count")?.unwrap_or(1),
            order: a.get("order").map(parse_order).transpose()?,
        })
    }

    /// The fields it reads.
    pub fn fields(&self) -> Vec<&str> {
        self.fields.iter().map(|(f, _)| f.as_str()).collect()
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let mut terms = Vec::with_capacity(self.fields.len());
        for (field, missing) in &self.fields {
            terms.push(MultiTermsField {
                field: p.column(field, Want::Any, "multi_terms")?,
                missing: missing.as_ref().map(|m| match m {
                    Value::String(s) => Key::Str(s.clone()),
                    other => number(other).map_or(Key::Str(other.to_string()), Key::F64),
                }),
            });
        }
        let order = self.order.as_ref().map(|(target, desc)| CustomOrder {
            target: match target.as_str() {
                "_count" => OrderTarget::Count,
                "_key" | "_term" => OrderTarget::Key,
                other => OrderTarget::SubAggregation(
                    other
                        .replace(['[', ']'], ".")
                        .trim_end_matches('.')
                        .to_string(),
                ),
            },
            order: if *desc { Order::Desc } else { Order::Asc },
        });
        // As `terms` (see there): when no segment can hold more than EXACT_UP_TO combinations
        // (the product of each field's distinct values, plus its missing), every segment keeps
        // all of them, and the counts are exact.
        let default_cut = self
            .shard_size
            .unwrap_or(self.size.saturating_mul(10))
            .max(self.size);
        let combinations = terms.iter().try_fold(1u64, |n, t| {
            let distinct = p.distinct_at_most(&t.field, EXACT_UP_TO)?;
            Some(n.saturating_mul(distinct + 1))
        });
        let segment_size = match combinations {
            Some(n) if n <= EXACT_UP_TO && n > u64::from(default_cut) => Some(n as u32),
            _ => self.shard_size,
        };
        let req = MultiTermsAggregation {
            terms,
            size: Some(self.size),
            segment_size,
            show_term_doc_count_error: Some(true),
            min_doc_count: Some(self.min_doc_count),
            order,
        };
        Ok(node(AggregationVariants::MultiTerms(req), subs))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let (buckets, sum_other_doc_count, error) = match result {
            AggregationResult::BucketResult(BucketResult::MultiTerms {
                buckets,
                sum_other_doc_count,
                doc_count_error_upper_bound,
            }) => (buckets, sum_other_doc_count, doc_count_error_upper_bound),
            // No combination at all comes back as an empty `terms` result.
            AggregationResult::BucketResult(BucketResult::Terms {
                sum_other_doc_count,
                doc_count_error_upper_bound,
                ..
            }) => (Vec::new(), sum_other_doc_count, doc_count_error_upper_bound),
            _ => return Err(r.mismatch(n)),
        };
        let mut out = Vec::with_capacity(buckets.len());
        for b in buckets {
            let mut bucket = Map::new();
            let key: Vec<Value> = b.key.iter().map(key_json).collect();
            let text: Vec<String> = key
                .iter()
                .map(|k| match k {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            bucket.insert("key".into(), Value::Array(key));
            bucket.insert("key_as_string".into(), json!(text.join("|")));
            bucket.insert("doc_count".into(), json!(b.doc_count));
            r.subs(&n.subs, b.sub_aggregation, &mut bucket)?;
            out.push(Value::Object(bucket));
        }
        // Only a count order has an error bound; any other order answers 0, as Elasticsearch does.
        let by_count = self
            .order
            .as_ref()
            .is_none_or(|(t, desc)| t == "_count" && *desc);
        Ok(json!({
            "doc_count_error_upper_bound": if by_count { error.unwrap_or(0) } else { 0 },
            "sum_other_doc_count": sum_other_doc_count,
            "buckets": out,
        }))
    }
}
