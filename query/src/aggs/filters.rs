//! `filter` and `filters`: buckets of documents matching Query DSL queries, compiled per shard
//! like the main query and handed to tantivy's `filter` aggregation. `filters` becomes one
//! tantivy `filter` per named query (plus the `other_bucket`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, BucketResult};
use tantivy::aggregation::bucket::{FilterAggregation, QueryBuilder};
use tantivy::query::{EmptyQuery, Query};
use tantivy::schema::Schema;
use tantivy::tokenizer::TokenizerManager;

use super::AggNode;
use super::args::Args;
use super::plan::{Planner, node};
use super::render::Renderer;
use crate::ast::{BoolQuery, QueryAst};
use crate::dsl::parse_query;
use crate::error::QueryError;

/// A query compiled for one shard, handed to tantivy's filter aggregation as is. It is never
/// serialized: the shard's request is built and run in the same process.
#[derive(Clone, Default, Serialize, Deserialize)]
struct Compiled {
    #[serde(skip)]
    query: Option<Arc<dyn Query>>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("query", &self.query)
            .finish()
    }
}

#[typetag::serde(name = "hydrant_compiled")]
impl QueryBuilder for Compiled {
    fn build_query(
        &self,
        _schema: &Schema,
        _tokenizers: &TokenizerManager,
    ) -> tantivy::Result<Box<dyn Query>> {
        Ok(match &self.query {
            Some(q) => q.box_clone(),
            None => Box::new(EmptyQuery),
        })
    }

    fn box_clone(&self) -> Box<dyn QueryBuilder> {
        Box::new(self.clone())
    }
}

/// A rendered bucket and its name.
pub(crate) type NamedBucket = (String, Map<String, Value>);

/// A named bucket as a list's element: its name as `key`, first.
pub(crate) fn keyed((key, bucket): NamedBucket) -> Value {
    let mut o = Map::new();
    o.insert("key".into(), json!(key));
    o.extend(bucket);
    Value::Object(o)
}

/// A tantivy filter aggregation on `q`, compiled for the planner's shard.
pub(crate) fn compiled_filter(
    p: &mut Planner<'_>,
    q: &QueryAst,
) -> Result<FilterAggregation, QueryError> {
    let compiled = Compiled {
        query: Some(Arc::from(p.compile(q)?)),
    };
    Ok(FilterAggregation::new_with_builder(Box::new(compiled)))
}

/// The `filter` aggregation `name` on `q`; at the top level and one below, its query is kept
/// for the fused passes too.
fn filter_node(
    p: &mut Planner<'_>,
    name: &str,
    q: &QueryAst,
    subs: Aggregations,
) -> Result<Aggregation, QueryError> {
    let query: Arc<dyn Query> = Arc::from(p.compile(q)?);
    if p.depth <= 1 {
        let mut key = p.path.join(">");
        if !key.is_empty() {
            key.push('>');
        }
        key.push_str(name);
        p.filters.push((key, query.clone()));
    }
    let compiled = Compiled { query: Some(query) };
    Ok(node(
        AggregationVariants::Filter(FilterAggregation::new_with_builder(Box::new(compiled))),
        subs,
    ))
}

fn filter_bucket(
    n: &AggNode,
    result: AggregationResult,
    r: &Renderer<'_>,
) -> Result<Map<String, Value>, QueryError> {
    let AggregationResult::BucketResult(BucketResult::Filter(f)) = result else {
        return Err(r.mismatch(n));
    };
    let mut bucket = Map::new();
    bucket.insert("doc_count".into(), json!(f.doc_count));
    r.subs(&n.subs, f.sub_aggregations, &mut bucket)?;
    Ok(bucket)
}

/// A parsed `filter` aggregation.
#[derive(Debug, Clone)]
pub struct Filter {
    query: QueryAst,
}

impl Filter {
    /// Parses the query.
    pub fn parse(v: &Value) -> Result<Filter, QueryError> {
        Ok(Filter {
            query: parse_query(v)?,
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        filter_node(p, name, &self.query, subs)
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        Ok(Value::Object(filter_bucket(n, result, r)?))
    }
}

/// A parsed `filters` aggregation.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Named filters (names are `None` for the array form).
    filters: Vec<(Option<String>, QueryAst)>,
    keyed: bool,
    other: Option<String>,
}

impl Filters {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Filters, QueryError> {
        let a = Args::new("filters", v)?;
        a.allow(&["filters", "other_bucket", "other_bucket_key", "keyed"])?;
        let (filters, keyed_form) = match a.get("filters") {
            Some(Value::Object(o)) => (
                o.iter()
                    .map(|(k, q)| Ok((Some(k.clone()), parse_query(q)?)))
                    .collect::<Result<Vec<_>, QueryError>>()?,
                true,
            ),
            Some(Value::Array(items)) => (
                items
                    .iter()
                    .map(|q| Ok((None, parse_query(q)?)))
                    .collect::<Result<Vec<_>, QueryError>>()?,
                false,
            ),
            _ => {
                return Err(QueryError::Parsing(
                    "[filters] requires a [filters] object or array".to_string(),
                ));
            }
        };
        let other_key = a.str("other_bucket_key")?;
        let other = match (a.bool("other_bucket")?, other_key) {
            (Some(false), _) => None,
            (_, Some(k)) => Some(k),
            (Some(true), None) => Some("_other_".to_string()),
            (None, None) => None,
        };
        Ok(Filters {
            filters,
            keyed: a.bool("keyed")?.unwrap_or(keyed_form) && keyed_form,
            other,
        })
    }

    /// Named filters, in this order, without an other bucket.
    pub(crate) fn named(filters: Vec<(String, QueryAst)>) -> Filters {
        Filters {
            filters: filters.into_iter().map(|(k, q)| (Some(k), q)).collect(),
            keyed: true,
            other: None,
        }
    }

    fn part(name: &str, i: usize) -> String {
        // `>` cannot appear in an aggregation name (ES uses it for paths).
        format!("{name}>{i}")
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        name: &str,
        subs: Aggregations,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        let mut out = Vec::new();
        for (i, (_, q)) in self.filters.iter().enumerate() {
            let part = Self::part(name, i);
            let filter = filter_node(p, &part, q, subs.clone())?;
            out.push((part, filter));
        }
        if self.other.is_some() {
            let rest = QueryAst::Bool(BoolQuery {
                must_not: self.filters.iter().map(|(_, q)| q.clone()).collect(),
                ..BoolQuery::default()
            });
            let part = Self::part(name, self.filters.len());
            let filter = filter_node(p, &part, &rest, subs)?;
            out.push((part, filter));
        }
        Ok(out)
    }

    /// Each bucket with its name (the other bucket's last), in the request's order.
    pub(crate) fn render_named(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Vec<NamedBucket>, QueryError> {
        let mut named = Vec::new();
        let count = self.filters.len() + usize::from(self.other.is_some());
        for i in 0..count {
            let res = results
                .0
                .remove(&Self::part(&n.name, i))
                .ok_or_else(|| r.mismatch(n))?;
            let bucket = filter_bucket(n, res, r)?;
            let name = match self.filters.get(i) {
                Some((name, _)) => name.clone(),
                None => self.other.clone(),
            };
            named.push((name.unwrap_or_default(), bucket));
        }
        Ok(named)
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let named = self.render_named(n, results, r)?;
        Ok(if self.keyed {
            let mut o = Map::new();
            for (k, b) in named {
                o.insert(k, Value::Object(b));
            }
            json!({ "buckets": o })
        } else {
            let list: Vec<Value> = named
                .into_iter()
                .map(|(k, mut b)| {
                    if !self.keyed && self.filters.iter().all(|(n, _)| n.is_some()) {
                        b.insert("key".into(), json!(k));
                    }
                    Value::Object(b)
                })
                .collect();
            json!({ "buckets": list })
        })
    }
}
