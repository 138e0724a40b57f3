//! `weighted_avg`: Σ value × weight / Σ weight over the documents that have both (or their
//! `missing` stand-ins), each value of a multi-valued field counted with the document's weight,
//! as Elasticsearch counts them.
//!
//! tantivy's metrics read one column each, so the two sums read two computed columns (see
//! [`sources`](super::sources)): one yields value × weight per value, the other the weight.

use std::sync::Arc;

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, MetricResult};
use tantivy::aggregation::metric::SumAggregation;
use tantivy::aggregation::{ValueSource, ValueSourceProvider, ValueSourceRegistry};
use tantivy::columnar::{Cardinality, ColumnType, MonotonicallyMappableToU64, RowId};
use tantivy::{DocId, SegmentReader};

use super::AggNode;
use super::args::{Args, number};
use super::plan::{Planner, node};
use super::render::{Renderer, opt_number};
use super::sources::{Side, Target, merged};
use crate::error::QueryError;

/// One side of the average: a field and what stands in for a document without it.
#[derive(Debug, Clone, PartialEq)]
struct Input {
    field: String,
    missing: Option<f64>,
}

impl Input {
    fn parse(a: &Args<'_>, key: &str) -> Result<Input, QueryError> {
        let Some(v) = a.get(key) else {
            return Err(QueryError::IllegalArgument(format!(
                "[{key}] must be set for [weighted_avg]"
            )));
        };
        let o = v.as_object().ok_or_else(|| {
            QueryError::Parsing(format!("[weighted_avg] [{key}] must be an object"))
        })?;
        if o.contains_key("script") {
            return Err(QueryError::Unsupported {
                what: format!("[script] in the [weighted_avg] [{key}]"),
            });
        }
        if let Some(k) = o
            .keys()
            .find(|k| !matches!(k.as_str(), "field" | "missing"))
        {
            return Err(QueryError::Parsing(format!(
                "[weighted_avg] [{key}] unknown field [{k}]"
            )));
        }
        let field = o.get("field").and_then(Value::as_str).ok_or_else(|| {
            QueryError::IllegalArgument(format!(
                "[weighted_avg] [{key}] requires a [field] (scripts are not supported)"
            ))
        })?;
        let missing = match o.get("missing") {
            None | Some(Value::Null) => None,
            Some(m) => Some(number(m).ok_or_else(|| {
                QueryError::Parsing(format!(
                    "[weighted_avg] [{key}.missing] must be a number, got [{m}]"
                ))
            })?),
        };
        Ok(Input {
            field: field.to_string(),
            missing,
        })
    }
}

/// A parsed `weighted_avg` aggregation.
#[derive(Debug, Clone)]
pub struct WeightedAvg {
    value: Input,
    weight: Input,
}

impl WeightedAvg {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<WeightedAvg, QueryError> {
        let a = Args::new("weighted_avg", v)?;
        a.allow(&["value", "weight", "format", "value_type"])?;
        Ok(WeightedAvg {
            value: Input::parse(&a, "value")?,
            weight: Input::parse(&a, "weight")?,
        })
    }

    /// The fields it reads.
    pub fn fields(&self) -> Vec<&str> {
        vec![self.value.field.as_str(), self.weight.field.as_str()]
    }

    fn names(name: &str) -> [String; 2] {
        [format!("{name}#products"), format!("{name}#weights")]
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let spec = Spec {
            value: p.source_column(&self.value.field, "weighted_avg")?,
            value_missing: self.value.missing,
            weight: p.source_column(&self.weight.field, "weighted_avg")?,
            weight_missing: self.weight.missing,
        };
        let [products, weights] = Self::names(name);
        Ok(vec![
            (products, sum(register(&mut p.registry, &spec, true))),
            (weights, sum(register(&mut p.registry, &spec, false))),
        ])
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let mut total = |name: &String| match results.0.remove(name) {
            Some(AggregationResult::MetricResult(MetricResult::Sum(s))) => Ok(s.value),
            _ => Err(r.mismatch(n)),
        };
        let [products, weights] = Self::names(&n.name);
        let (products, weights) = (total(&products)?, total(&weights)?);
        // No document, or weights summing to 0: ES divides anyway and shows the NaN as null.
        let value = match (products, weights) {
            (Some(p), Some(w)) if w != 0.0 => Some(p / w),
            _ => None,
        };
        Ok(json!({ "value": opt_number(value) }))
    }
}

fn sum(column: String) -> Aggregation {
    node(
        AggregationVariants::Sum(SumAggregation {
            field: column,
            missing: None,
            none_if_no_match: Some(true),
        }),
        Aggregations::default(),
    )
}

/// What the computed columns read.
#[derive(Debug, Clone)]
struct Spec {
    value: String,
    value_missing: Option<f64>,
    weight: String,
    weight_missing: Option<f64>,
}

fn register(registry: &mut ValueSourceRegistry, spec: &Spec, products: bool) -> String {
    let name = format!(
        "#weighted:{}:{}:{:?}:{}:{:?}",
        if products { "products" } else { "weights" },
        spec.value,
        spec.value_missing,
        spec.weight,
        spec.weight_missing
    );
    registry.register(
        &name,
        Arc::new(Weighted {
            spec: spec.clone(),
            products,
        }),
    );
    name
}

struct Weighted {
    spec: Spec,
    products: bool,
}

impl ValueSourceProvider for Weighted {
    fn for_segment(
        &self,
        reader: &SegmentReader,
        _allowed_column_types: Option<&[ColumnType]>,
    ) -> tantivy::Result<Option<Box<dyn ValueSource>>> {
        let values = merged(reader, &self.spec.value, Target::Numbers)?;
        let weights = merged(reader, &self.spec.weight, Target::Numbers)?;
        if (values.is_none() && self.spec.value_missing.is_none())
            || (weights.is_none() && self.spec.weight_missing.is_none())
        {
            return Ok(None);
        }
        Ok(Some(Box::new(WeightedSource {
            values: Side::new(values),
            weights: Side::new(weights),
            value_missing: self.spec.value_missing,
            weight_missing: self.spec.weight_missing,
            products: self.products,
        })))
    }
}

struct WeightedSource {
    values: Side,
    weights: Side,
    value_missing: Option<f64>,
    weight_missing: Option<f64>,
    products: bool,
}

impl std::fmt::Debug for WeightedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeightedSource")
            .field("products", &self.products)
            .finish()
    }
}

impl ValueSource for WeightedSource {
    fn column_type(&self) -> ColumnType {
        ColumnType::F64
    }

    fn load_block(
        &mut self,
        docs: &[DocId],
        values: &mut Vec<u64>,
        docids: &mut Vec<DocId>,
        _row_ids: &mut Vec<RowId>,
    ) -> Cardinality {
        self.values.load(docs);
        self.weights.load(docs);
        values.clear();
        docids.clear();
        let (mut vi, mut wi) = (0, 0);
        for &doc in docs {
            let own = self.weights.of(doc, &mut wi);
            // ES refuses a document with several weights; Hydrant takes its first.
            let weight = match (own.first(), self.weight_missing) {
                (Some(w), _) => f64::from_u64(*w),
                (None, Some(m)) => m,
                (None, None) => {
                    self.values.of(doc, &mut vi);
                    continue;
                }
            };
            let mut emit = |v: f64| {
                let out = if self.products { v * weight } else { weight };
                values.push(out.to_u64());
                docids.push(doc);
            };
            let own = self.values.of(doc, &mut vi);
            if own.is_empty() {
                if let Some(m) = self.value_missing {
                    emit(m);
                }
            } else {
                for v in own {
                    emit(f64::from_u64(*v));
                }
            }
        }
        Cardinality::Multivalued
    }

    fn to_f64(self: Box<Self>) -> Box<dyn ValueSource> {
        self
    }
}
