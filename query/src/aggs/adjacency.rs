//! `adjacency_matrix`: a bucket per named filter and per pair of them (`A&B`, the documents
//! matching both), non-empty ones only, ordered by key — as `filters` buckets, planned and
//! rendered by [`Filters`].

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::{Aggregation, Aggregations};
use tantivy::aggregation::agg_result::AggregationResults;

use super::AggNode;
use super::args::Args;
use super::filters::{Filters, NamedBucket, keyed};
use super::plan::Planner;
use super::render::Renderer;
use crate::ast::{BoolQuery, QueryAst};
use crate::dsl::parse_query;
use crate::error::QueryError;

/// ES's `index.max_adjacency_matrix_filters`.
const MAX_FILTERS: usize = 100;

/// A parsed `adjacency_matrix` aggregation.
#[derive(Debug, Clone)]
pub struct AdjacencyMatrix {
    cells: Filters,
}

impl AdjacencyMatrix {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<AdjacencyMatrix, QueryError> {
        let a = Args::new("adjacency_matrix", v)?;
        a.allow(&["filters", "separator"])?;
        let separator = a.str("separator")?.unwrap_or_else(|| "&".to_string());
        let Some(Value::Object(filters)) = a.get("filters") else {
            return Err(QueryError::XContentParse(
                "[adjacency_matrix] requires a [filters] object".to_string(),
            ));
        };
        if filters.len() > MAX_FILTERS {
            return Err(QueryError::IllegalArgument(format!(
                "Number of filters is too large, must be less than or equal to: [{MAX_FILTERS}] but was [{}].This limit can be set by changing the [index.max_adjacency_matrix_filters] index level setting.",
                filters.len()
            )));
        }
        let mut named: Vec<(String, QueryAst)> = filters
            .iter()
            .map(|(k, q)| Ok((k.clone(), parse_query(q)?)))
            .collect::<Result<_, QueryError>>()?;
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let mut cells = named.clone();
        for (i, (a, qa)) in named.iter().enumerate() {
            for (b, qb) in &named[i + 1..] {
                let both = QueryAst::Bool(BoolQuery {
                    filter: vec![qa.clone(), qb.clone()],
                    ..BoolQuery::default()
                });
                cells.push((format!("{a}{separator}{b}"), both));
            }
        }
        Ok(AdjacencyMatrix {
            cells: Filters::named(cells),
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
        subs: Aggregations,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        self.cells.plan(p, name, subs)
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let mut buckets: Vec<NamedBucket> = self
            .cells
            .render_named(n, results, r)?
            .into_iter()
            .filter(|(_, b)| b["doc_count"].as_u64().unwrap_or(0) > 0)
            .collect();
        buckets.sort_by(|a, b| a.0.cmp(&b.0));
        let list: Vec<Value> = buckets.into_iter().map(keyed).collect();
        Ok(json!({ "buckets": list }))
    }
}
