//! Elasticsearch aggregations on tantivy's aggregation engine.
//!
//! The stages follow tantivy's own: an ES request is parsed into [`AggNode`]s (one file per
//! aggregation: `terms.rs`, `date_histogram.rs`, …); each shard gets the tantivy request the
//! tree [plans](plan) for it (field names become column names, and what tantivy lacks is
//! rewritten into what it has: calendar intervals and time zones into ranges, `filters` into
//! `filter`s, numbers of mixed type into one merged column); every shard's
//! [`IntermediateAggregationResults`](tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults)
//! are merged across shards and indices; the merged result is finalized once by tantivy and
//! then [rendered](render) in ES's shape (`key_as_string`, `format`, `time_zone`, `meta`,
//! `top_hits` sources). One shape dashboards ask for on every refresh — a `date_histogram`
//! with plain metrics under it — is collected by a [fused](fused) pass of this crate's own
//! into the same intermediate form.

mod adjacency;
mod args;
mod auto_date_histogram;
mod boxplot;
mod calendar;
mod cardinality;
mod composite;
mod date_histogram;
mod fields;
mod filters;
mod fused;
mod geo;
mod histogram;
mod mad;
mod metrics;
mod multi_terms;
mod percentile_ranks;
mod percentiles;
mod pipeline;
mod plan;
mod range;
mod rare_terms;
mod render;
mod run;
mod shifted;
mod significant;
mod sources;
mod terms;
mod top_hits;
mod top_metrics;
mod weighted_avg;
mod whole_percentiles;
mod whole_terms;

use serde_json::Value;

pub use fields::{FieldKind, FieldKinds};
#[cfg(test)]
pub(crate) use fused::USED as FUSED_USED;
pub use fused::{AggFruit, SegmentAggs, ShardAggs};
pub use run::{AggRun, Bounds, FetchedHit, HitLookup};
pub use terms::bind_index_names;

use crate::error::QueryError;

/// One aggregation of a request, with its sub-aggregations.
#[derive(Debug, Clone)]
pub struct AggNode {
    /// The name the client gave it.
    pub name: String,
    /// What it computes.
    pub kind: AggKind,
    /// Sub-aggregations (bucket aggregations only).
    pub subs: Vec<AggNode>,
    /// `meta`, echoed in the response.
    pub meta: Option<Value>,
}

/// The aggregation types Hydrant answers.
#[derive(Debug, Clone)]
pub enum AggKind {
    /// `terms`.
    Terms(terms::Terms),
    /// `histogram`.
    Histogram(histogram::Histogram),
    /// `date_histogram`.
    DateHistogram(date_histogram::DateHistogram),
    /// `auto_date_histogram`.
    AutoDateHistogram(auto_date_histogram::AutoDateHistogram),
    /// `range` and `date_range`.
    Range(range::Range),
    /// `filter`.
    Filter(filters::Filter),
    /// `composite`.
    Composite(composite::Composite),
    /// `multi_terms`.
    MultiTerms(multi_terms::MultiTerms),
    /// `missing`: the documents without a value for a field (a filter on `must_not exists`).
    Missing(filters::Filter, String),
    /// `filters`.
    Filters(filters::Filters),
    /// `rare_terms`.
    RareTerms(rare_terms::RareTerms),
    /// `significant_terms`.
    SignificantTerms(significant::SignificantTerms),
    /// `adjacency_matrix`.
    AdjacencyMatrix(adjacency::AdjacencyMatrix),
    /// `geohash_grid` and `geotile_grid`.
    GeoGrid(geo::GeoGrid),
    /// `geo_centroid`.
    GeoCentroid(geo::GeoCentroid),
    /// `geo_bounds`.
    GeoBounds(geo::GeoBounds),
    /// `avg`, `sum`, `min`, `max`, `value_count`, `stats`, `extended_stats`.
    Metric(metrics::Metric),
    /// `cardinality`.
    Cardinality(cardinality::Cardinality),
    /// `percentiles`.
    Percentiles(percentiles::Percentiles),
    /// `percentile_ranks`.
    PercentileRanks(percentile_ranks::PercentileRanks),
    /// `median_absolute_deviation`.
    Mad(mad::MedianAbsoluteDeviation),
    /// `weighted_avg`.
    WeightedAvg(weighted_avg::WeightedAvg),
    /// `boxplot`.
    Boxplot(boxplot::Boxplot),
    /// `top_hits`.
    TopHits(top_hits::TopHits),
    /// `top_metrics`.
    TopMetrics(top_metrics::TopMetrics),
    /// A pipeline aggregation (computed from the others' rendered results).
    Pipeline(pipeline::Pipeline),
}

impl AggKind {
    pub(crate) fn is_bucket(&self) -> bool {
        matches!(
            self,
            AggKind::Terms(_)
                | AggKind::Histogram(_)
                | AggKind::DateHistogram(_)
                | AggKind::AutoDateHistogram(_)
                | AggKind::Range(_)
                | AggKind::Filter(_)
                | AggKind::Missing(..)
                | AggKind::Composite(_)
                | AggKind::MultiTerms(_)
                | AggKind::Filters(_)
                | AggKind::RareTerms(_)
                | AggKind::SignificantTerms(_)
                | AggKind::AdjacencyMatrix(_)
                | AggKind::GeoGrid(_)
        )
    }

    /// The ES type name (`typed_keys` prefixes, messages).
    pub fn type_name(&self) -> &'static str {
        match self {
            AggKind::Terms(_) => "terms",
            AggKind::Histogram(_) => "histogram",
            AggKind::DateHistogram(_) => "date_histogram",
            AggKind::AutoDateHistogram(_) => "auto_date_histogram",
            AggKind::Range(r) => r.type_name(),
            AggKind::Filter(_) => "filter",
            AggKind::Missing(..) => "missing",
            AggKind::Composite(_) => "composite",
            AggKind::MultiTerms(_) => "multi_terms",
            AggKind::Filters(_) => "filters",
            AggKind::RareTerms(_) => "rare_terms",
            AggKind::SignificantTerms(_) => "significant_terms",
            AggKind::AdjacencyMatrix(_) => "adjacency_matrix",
            AggKind::GeoGrid(g) if g.grid == geo::Grid::Hash => "geohash_grid",
            AggKind::GeoGrid(_) => "geotile_grid",
            AggKind::GeoCentroid(_) => "geo_centroid",
            AggKind::GeoBounds(_) => "geo_bounds",
            AggKind::Metric(m) => m.kind.name(),
            AggKind::Cardinality(_) => "cardinality",
            AggKind::Percentiles(_) => "percentiles",
            AggKind::PercentileRanks(_) => "percentile_ranks",
            AggKind::Mad(_) => "median_absolute_deviation",
            AggKind::WeightedAvg(_) => "weighted_avg",
            AggKind::Boxplot(_) => "boxplot",
            AggKind::TopHits(_) => "top_hits",
            AggKind::TopMetrics(_) => "top_metrics",
            AggKind::Pipeline(p) => p.type_name,
        }
    }

    /// The fields this aggregation reads (not its sub-aggregations).
    fn fields(&self) -> Vec<&str> {
        match self {
            AggKind::Terms(t) => vec![t.field.as_str()],
            AggKind::RareTerms(t) => vec![t.terms.field.as_str()],
            AggKind::SignificantTerms(t) => vec![t.terms.field.as_str()],
            AggKind::Histogram(h) => vec![h.field.as_str()],
            AggKind::DateHistogram(d) => vec![d.field.as_str()],
            AggKind::AutoDateHistogram(a) => vec![a.field.as_str()],
            AggKind::Range(r) => vec![r.field.as_str()],
            AggKind::Metric(m) => vec![m.field.as_str()],
            AggKind::Cardinality(c) => vec![c.field.as_str()],
            AggKind::Percentiles(p) => vec![p.field.as_str()],
            AggKind::PercentileRanks(p) => vec![p.field.as_str()],
            AggKind::Mad(m) => vec![m.field.as_str()],
            AggKind::WeightedAvg(w) => w.fields(),
            AggKind::Boxplot(b) => vec![b.field.as_str()],
            AggKind::TopHits(t) => t.sort_fields(),
            AggKind::TopMetrics(t) => t.fields(),
            AggKind::Missing(_, field) => vec![field.as_str()],
            AggKind::Composite(c) => c.fields(),
            AggKind::MultiTerms(m) => m.fields(),
            AggKind::GeoGrid(g) => vec![g.field.as_str()],
            AggKind::GeoCentroid(g) => vec![g.field.as_str()],
            AggKind::GeoBounds(g) => vec![g.field.as_str()],
            AggKind::Filter(_)
            | AggKind::Filters(_)
            | AggKind::AdjacencyMatrix(_)
            | AggKind::Pipeline(_) => Vec::new(),
        }
    }
}

/// Parses a request's `aggs` object.
pub fn parse_aggs(v: &Value) -> Result<Vec<AggNode>, QueryError> {
    let o = v.as_object().ok_or_else(|| {
        QueryError::Parsing(format!(
            "Expected [START_OBJECT] under [aggs], but got a [{}]",
            if v.is_array() { "START_ARRAY" } else { "VALUE" }
        ))
    })?;
    let nodes = parse_level(o)?;
    check_pipelines(&nodes, None)?;
    Ok(nodes)
}

fn parse_level(o: &serde_json::Map<String, Value>) -> Result<Vec<AggNode>, QueryError> {
    o.iter()
        .map(|(name, body)| parse_node(name, body))
        .collect()
}

/// Pipelines are checked before anything runs, as Elasticsearch checks them: a parent pipeline
/// sits under a multi-bucket aggregation (a histogram for the ones that need an ordered x
/// axis), and each path starts at `_count`, `_key` or an aggregation beside the pipeline.
fn check_pipelines(nodes: &[AggNode], parent: Option<&AggKind>) -> Result<(), QueryError> {
    for n in nodes {
        let AggKind::Pipeline(p) = &n.kind else {
            continue;
        };
        for input in p.inputs() {
            let known = matches!(input, "_count" | "_key" | "_bucket_count")
                || nodes.iter().any(|other| other.name == input);
            if !known {
                return Err(QueryError::Validation(format!(
                    "No aggregation found for path [{}]",
                    p.path_of(input)
                )));
            }
        }
        if !p.is_parent() {
            continue;
        }
        let histogram = matches!(
            parent,
            Some(AggKind::Histogram(_) | AggKind::DateHistogram(_) | AggKind::AutoDateHistogram(_))
        );
        let multi = matches!(
            parent,
            Some(
                AggKind::Terms(_)
                    | AggKind::Histogram(_)
                    | AggKind::DateHistogram(_)
                    | AggKind::AutoDateHistogram(_)
                    | AggKind::Range(_)
                    | AggKind::Filters(_)
                    | AggKind::Composite(_)
                    | AggKind::MultiTerms(_)
                    | AggKind::RareTerms(_)
                    | AggKind::SignificantTerms(_)
                    | AggKind::AdjacencyMatrix(_)
            )
        );
        let orphan = if parent.is_none() {
            " but doesn't have a parent"
        } else {
            ""
        };
        let min_doc_count = match parent {
            Some(AggKind::Histogram(h)) => h.min_doc_count,
            Some(AggKind::DateHistogram(d)) => d.min_doc_count,
            _ => 0,
        };
        if p.needs_histogram() && histogram && min_doc_count != 0 {
            return Err(QueryError::Validation(format!(
                "parent histogram of {} aggregation [{}] must have min_doc_count of 0",
                p.type_name, n.name
            )));
        }
        if p.needs_histogram() && !histogram {
            return Err(QueryError::Validation(format!(
                "{} aggregation [{}] must have a histogram, date_histogram or auto_date_histogram as parent{orphan}",
                p.type_name, n.name
            )));
        }
        if !multi {
            return Err(QueryError::Validation(format!(
                "{} aggregation [{}] must be declared inside of another aggregation",
                p.type_name, n.name
            )));
        }
    }
    Ok(())
}

fn parse_node(name: &str, body: &Value) -> Result<AggNode, QueryError> {
    if name.contains(['[', ']', '>']) {
        return Err(QueryError::Parsing(format!(
            "Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'"
        )));
    }
    let o = body.as_object().ok_or_else(|| {
        QueryError::Parsing(format!(
            "Expected [START_OBJECT] under [{name}], but got a [{body}]"
        ))
    })?;
    let mut kind: Option<(&str, AggKind)> = None;
    let mut subs = Vec::new();
    let mut meta = None;
    for (key, v) in o {
        match key.as_str() {
            "aggs" | "aggregations" => {
                subs = parse_level(v.as_object().ok_or_else(|| {
                    QueryError::Parsing(format!(
                        "Expected [START_OBJECT] under [{key}], but got a [{v}]"
                    ))
                })?)?
            }
            "meta" => meta = Some(v.clone()),
            t => {
                if let Some((first, _)) = &kind {
                    return Err(QueryError::Parsing(format!(
                        "Found two aggregation type definitions in [{name}]: [{first}] and [{t}]"
                    )));
                }
                kind = Some((t, parse_kind(t, v)?));
            }
        }
    }
    let (type_name, kind) = kind.ok_or_else(|| {
        QueryError::Parsing(format!("Missing definition for aggregation [{name}]"))
    })?;
    check_pipelines(&subs, Some(&kind))?;
    let mut kind = kind;
    if let AggKind::Terms(t) = &mut kind {
        t.check_order(&subs);
    }
    if kind.is_bucket()
        && let Some(inner) = subs
            .iter()
            .find(|s| matches!(s.kind, AggKind::AutoDateHistogram(_)))
    {
        // ES chooses the interval per parent bucket; Hydrant chooses it once per request.
        return Err(QueryError::Unsupported {
            what: format!(
                "[auto_date_histogram] aggregation [{}] under the bucket aggregation [{name}]",
                inner.name
            ),
        });
    }
    if !subs.is_empty() && !kind.is_bucket() {
        return Err(QueryError::Parsing(format!(
            "Aggregator [{name}] of type [{type_name}] cannot accept sub-aggregations"
        )));
    }
    Ok(AggNode {
        name: name.to_string(),
        kind,
        subs,
        meta,
    })
}

fn parse_kind(t: &str, v: &Value) -> Result<AggKind, QueryError> {
    Ok(match t {
        "terms" => AggKind::Terms(terms::Terms::parse(v)?),
        "histogram" => AggKind::Histogram(histogram::Histogram::parse(v)?),
        "date_histogram" => AggKind::DateHistogram(date_histogram::DateHistogram::parse(v)?),
        "auto_date_histogram" => {
            AggKind::AutoDateHistogram(auto_date_histogram::AutoDateHistogram::parse(v)?)
        }
        "range" => AggKind::Range(range::Range::parse(v, false)?),
        "date_range" => AggKind::Range(range::Range::parse(v, true)?),
        "geo_distance" => AggKind::Range(range::Range::parse_geo_distance(v)?),
        "filter" => AggKind::Filter(filters::Filter::parse(v)?),
        "composite" => AggKind::Composite(composite::Composite::parse(v)?),
        "multi_terms" => AggKind::MultiTerms(multi_terms::MultiTerms::parse(v)?),
        "missing" => {
            let field = v
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| QueryError::Parsing("[missing] requires [field]".into()))?;
            let query = serde_json::json!({"bool": {"must_not": {"exists": {"field": field}}}});
            AggKind::Missing(filters::Filter::parse(&query)?, field.to_string())
        }
        "filters" => AggKind::Filters(filters::Filters::parse(v)?),
        "rare_terms" => AggKind::RareTerms(rare_terms::RareTerms::parse(v)?),
        "significant_terms" => AggKind::SignificantTerms(significant::SignificantTerms::parse(v)?),
        "adjacency_matrix" => AggKind::AdjacencyMatrix(adjacency::AdjacencyMatrix::parse(v)?),
        "geohash_grid" => AggKind::GeoGrid(geo::GeoGrid::parse(geo::Grid::Hash, v)?),
        "geotile_grid" => AggKind::GeoGrid(geo::GeoGrid::parse(geo::Grid::Tile, v)?),
        "geo_centroid" => AggKind::GeoCentroid(geo::GeoCentroid::parse(v)?),
        "geo_bounds" => AggKind::GeoBounds(geo::GeoBounds::parse(v)?),
        "cardinality" => AggKind::Cardinality(cardinality::Cardinality::parse(v)?),
        "percentiles" => AggKind::Percentiles(percentiles::Percentiles::parse(v)?),
        "percentile_ranks" => {
            AggKind::PercentileRanks(percentile_ranks::PercentileRanks::parse(v)?)
        }
        "median_absolute_deviation" => AggKind::Mad(mad::MedianAbsoluteDeviation::parse(v)?),
        "weighted_avg" => AggKind::WeightedAvg(weighted_avg::WeightedAvg::parse(v)?),
        "boxplot" => AggKind::Boxplot(boxplot::Boxplot::parse(v)?),
        "top_hits" => AggKind::TopHits(top_hits::TopHits::parse(v)?),
        "top_metrics" => AggKind::TopMetrics(top_metrics::TopMetrics::parse(v)?),
        t if pipeline::TYPES.contains(&t) => AggKind::Pipeline(pipeline::Pipeline::parse(t, v)?),
        // Everything else (geo grids, pipelines, composite, …) is refused by name rather than
        // answered wrongly.
        other => match metrics::MetricKind::from_name(other) {
            Some(kind) => AggKind::Metric(metrics::Metric::parse(kind, v)?),
            None if KNOWN_TYPES.contains(&other) => {
                return Err(QueryError::Unsupported {
                    what: format!("aggregation type [{other}]"),
                });
            }
            None => {
                return Err(QueryError::Parsing(format!(
                    "Unknown aggregation type [{other}]"
                )));
            }
        },
    })
}

/// Aggregation types Elasticsearch or OpenSearch have and Hydrant does not: refused as not
/// supported; any other name is unknown, as Elasticsearch answers it.
const KNOWN_TYPES: &[&str] = &[
    "categorize_text",
    "children",
    "diversified_sampler",
    "frequent_item_sets",
    "geo_line",
    "geohex_grid",
    "global",
    "inference",
    "ip_prefix",
    "ip_range",
    "matrix_stats",
    "nested",
    "parent",
    "random_sampler",
    "rate",
    "reverse_nested",
    "sampler",
    "scripted_metric",
    "significant_text",
    "string_stats",
    "t_test",
    "time_series",
    "variable_width_histogram",
];

/// Every field an aggregation tree reads.
pub fn tree_fields(nodes: &[AggNode]) -> Vec<String> {
    let mut out = Vec::new();
    for n in nodes {
        out.extend(n.kind.fields().into_iter().map(str::to_string));
        out.extend(tree_fields(&n.subs));
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests;
