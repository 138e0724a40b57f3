//! `cardinality`: the approximate number of distinct values (tantivy's HyperLogLog sketch,
//! exact for small sets as ES's is below its precision threshold).

use serde_json::{Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, MetricResult};
use tantivy::aggregation::metric::CardinalityAggregationReq;

use super::AggNode;
use super::args::{Args, number};
use super::plan::{Planner, Want, node};
use super::render::Renderer;
use crate::error::QueryError;

/// A parsed `cardinality` aggregation.
#[derive(Debug, Clone)]
pub struct Cardinality {
    /// The field.
    pub field: String,
    missing: Option<Value>,
}

impl Cardinality {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Cardinality, QueryError> {
        let a = Args::new("cardinality", v)?;
        a.allow(&["field", "missing", "precision_threshold", "execution_hint"])?;
        Ok(Cardinality {
            field: a.field()?,
            missing: a.get("missing").cloned(),
        })
    }

    pub(crate) fn plan(&self, p: &mut Planner<'_>) -> Result<Aggregation, QueryError> {
        let field = p.column(&self.field, Want::Any, "cardinality")?;
        let missing = self.missing.as_ref().map(|m| match m {
            Value::String(s) => Key::Str(s.clone()),
            other => number(other).map_or_else(|| Key::Str(other.to_string()), Key::F64),
        });
        Ok(node(
            AggregationVariants::Cardinality(CardinalityAggregationReq { field, missing }),
            Aggregations::default(),
        ))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        match result {
            AggregationResult::MetricResult(MetricResult::Cardinality(v)) => {
                Ok(json!({ "value": v.value.unwrap_or(0.0).round() as u64 }))
            }
            _ => Err(r.mismatch(n)),
        }
    }
}
