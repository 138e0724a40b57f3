//! `significant_terms`: the values unusually common in the documents at hand (the query's, or
//! a parent bucket's — the foreground) compared with the whole index (the background), scored
//! by Elasticsearch's `jlh` (the default) or `percentage` heuristic.
//!
//! Elasticsearch reads background counts off each shard's term dictionary. Hydrant counts them
//! in a pre-pass over every document of the searched indices (or those matching
//! `background_filter`): a `terms` aggregation as large as the bucket limit inside a `filter`,
//! whose document count is the background's size. The foreground is a `terms` aggregation of
//! every value; each is scored, and those scoring above 0 with `min_doc_count` documents are
//! kept, best first.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, BucketResult};
use tantivy::aggregation::bucket::TermsAggregation;

use super::AggNode;
use super::args::Args;
use super::date_histogram::MAX_BUCKETS;
use super::filters::compiled_filter;
use super::plan::{Planner, Want, node};
use super::render::{Renderer, key_json};
use super::terms::{Terms, key_order};
use crate::ast::QueryAst;
use crate::dsl::parse_query;
use crate::error::QueryError;

/// How a value's foreground and background frequencies become its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heuristic {
    Jlh,
    Percentage,
}

impl Heuristic {
    /// ES's score of a value in `fg` of `fg_size` documents and `bg` of `bg_size`.
    fn score(self, fg: u64, fg_size: u64, bg: u64, bg_size: u64) -> f64 {
        match self {
            Heuristic::Jlh => {
                if fg_size == 0 || bg_size == 0 {
                    return 0.0;
                }
                // A value missing from a background that is not a superset counts once.
                let bg = bg.max(1);
                let fg_p = fg as f64 / fg_size as f64;
                let bg_p = bg as f64 / bg_size as f64;
                let change = fg_p - bg_p;
                if change <= 0.0 {
                    return 0.0;
                }
                change * (fg_p / bg_p)
            }
            Heuristic::Percentage => {
                if bg == 0 {
                    return 0.0;
                }
                fg as f64 / bg as f64
            }
        }
    }
}

/// A parsed `significant_terms` aggregation.
#[derive(Debug, Clone)]
pub struct SignificantTerms {
    /// Every value of the foreground, counted.
    pub terms: Terms,
    size: usize,
    min_doc_count: u64,
    heuristic: Heuristic,
    background: Option<QueryAst>,
}

impl SignificantTerms {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<SignificantTerms, QueryError> {
        let a = Args::new("significant_terms", v)?;
        a.allow(&[
            "field",
            "size",
            "shard_size",
            "min_doc_count",
            "shard_min_doc_count",
            "include",
            "exclude",
            "execution_hint",
            "background_filter",
            "jlh",
            "percentage",
            "mutual_information",
            "chi_square",
            "gnd",
            "script_heuristic",
        ])?;
        let mut heuristic = Heuristic::Jlh;
        for name in [
            "mutual_information",
            "chi_square",
            "gnd",
            "script_heuristic",
        ] {
            if a.get(name).is_some() {
                return Err(QueryError::Unsupported {
                    what: format!("the [{name}] heuristic of [significant_terms]"),
                });
            }
        }
        if a.get("percentage").is_some() {
            heuristic = Heuristic::Percentage;
        }
        let size = a.u64("size")?.unwrap_or(10);
        if size == 0 {
            return Err(QueryError::IllegalArgument(
                "[size] must be greater than 0. Found [0] in [significant_terms]".to_string(),
            ));
        }
        let mut terms = json!({
            "field": a.field()?,
            "size": MAX_BUCKETS,
        });
        for key in ["include", "exclude"] {
            if let Some(x) = a.get(key) {
                terms[key] = x.clone();
            }
        }
        Ok(SignificantTerms {
            terms: Terms::parse(&terms)?,
            size: size.min(MAX_BUCKETS) as usize,
            min_doc_count: a.u64("min_doc_count")?.unwrap_or(3),
            heuristic,
            background: a.get("background_filter").map(parse_query).transpose()?,
        })
    }

    /// What its background is: the field and the filter.
    pub(crate) fn background_key(&self) -> (String, Option<QueryAst>) {
        (self.terms.field.clone(), self.background.clone())
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        self.terms.plan(p, subs)
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let fg_size = r.doc_count.get();
        let all = self.terms.render(n, result, r)?;
        let empty = Background::default();
        let bg = r.background.get(&self.background_key()).unwrap_or(&empty);
        let mut scored: Vec<(f64, Map<String, Value>)> = Vec::new();
        if let Some(Value::Array(buckets)) = all.get("buckets") {
            for b in buckets {
                let Value::Object(b) = b else { continue };
                let fg = b["doc_count"].as_u64().unwrap_or(0);
                let bg_count = bg.counts.get(&b["key"].to_string()).copied().unwrap_or(0);
                let score = self.heuristic.score(fg, fg_size, bg_count, bg.size);
                if score > 0.0 && fg >= self.min_doc_count {
                    let mut out = b.clone();
                    out.insert("score".into(), json!(score));
                    out.insert("bg_count".into(), json!(bg_count));
                    scored.push((score, out));
                }
            }
        }
        scored.sort_by(|(sa, a), (sb, b)| {
            sb.total_cmp(sa)
                .then_with(|| key_order(&Value::Object(a.clone()), &Value::Object(b.clone())))
        });
        scored.truncate(self.size);
        let buckets: Vec<Value> = scored.into_iter().map(|(_, b)| Value::Object(b)).collect();
        Ok(json!({"doc_count": fg_size, "bg_count": bg.size, "buckets": buckets}))
    }
}

/// One background: its size and each value's document count (keys as JSON text).
#[derive(Debug, Clone, Default)]
pub struct Background {
    size: u64,
    counts: HashMap<String, u64>,
}

/// The backgrounds of a request's `significant_terms`, by field and filter.
#[derive(Debug, Clone, Default)]
pub struct Backgrounds(Vec<((String, Option<QueryAst>), Background)>);

impl Backgrounds {
    fn get(&self, key: &(String, Option<QueryAst>)) -> Option<&Background> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, b)| b)
    }
}

fn background_name(i: usize) -> String {
    format!("bg{i}")
}

/// The pre-pass request for `wanted` (run over every document): per background, a filter
/// (its `background_filter`, or every document) holding the counts of every value.
pub(crate) fn background_aggs(
    p: &mut Planner<'_>,
    wanted: &[(String, Option<QueryAst>)],
) -> Result<Aggregations, QueryError> {
    let mut out = Aggregations::default();
    for (i, (field, filter)) in wanted.iter().enumerate() {
        let column = p.column(field, Want::Any, "significant_terms")?;
        let mut counts = Aggregations::default();
        counts.insert(
            "counts".to_string(),
            node(
                AggregationVariants::Terms(TermsAggregation {
                    field: column,
                    size: Some(MAX_BUCKETS as u32),
                    min_doc_count: Some(1),
                    ..TermsAggregation::default()
                }),
                Aggregations::default(),
            ),
        );
        let filter = compiled_filter(p, filter.as_ref().unwrap_or(&QueryAst::MatchAll))?;
        out.insert(
            background_name(i),
            node(AggregationVariants::Filter(filter), counts),
        );
    }
    Ok(out)
}

/// The backgrounds from the pre-pass's final results.
pub(crate) fn read_backgrounds(
    wanted: Vec<(String, Option<QueryAst>)>,
    mut results: AggregationResults,
) -> Backgrounds {
    let mut out = Vec::new();
    for (i, key) in wanted.into_iter().enumerate() {
        let mut bg = Background::default();
        if let Some(AggregationResult::BucketResult(BucketResult::Filter(f))) =
            results.0.remove(&background_name(i))
        {
            bg.size = f.doc_count;
            let mut subs = f.sub_aggregations;
            if let Some(AggregationResult::BucketResult(BucketResult::Terms { buckets, .. })) =
                subs.0.remove("counts")
            {
                for b in buckets {
                    bg.counts.insert(key_json(&b.key).to_string(), b.doc_count);
                }
            }
        }
        out.push((key, bg));
    }
    Backgrounds(out)
}
