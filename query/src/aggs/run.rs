//! Running an aggregation request: a collector per shard, the merge of their intermediate
//! results, and the final rendering — plus the pre-pass that finds the time span of calendar
//! date histograms.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use hydrant_index::{DocMapper, DynamicFields};
use serde_json::{Map, Value};
use tantivy::aggregation::agg_req::{AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, MetricResult};
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::metric::{MaxAggregation, MinAggregation};
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector, ValueSourceRegistry,
};
use tantivy::tokenizer::TokenizerManager;

use super::date_histogram::MAX_BUCKETS;
use super::plan::{Planner, Want, node};
use super::render::Renderer;
use super::significant::{Backgrounds, background_aggs, read_backgrounds};
use super::{AggKind, AggNode, FieldKinds};
use crate::ast::QueryAst;
use crate::compile::Compiler;
use crate::error::QueryError;

/// Memory one request's aggregations may use before failing with a typed error.
pub const MEMORY_LIMIT: u64 = 256 * 1024 * 1024;

/// Fetches a document's index and source by id (for `top_hits`).
pub trait HitLookup {
    /// The index holding document `id`, its source, and its `fields` / `docvalue_fields` as
    /// a hit shows them (`None` when neither is asked for), if any shard has it.
    fn fetch(
        &self,
        id: &str,
        fields: &[crate::request::FieldSpec],
        docvalue_fields: &[crate::request::FieldSpec],
    ) -> Option<FetchedHit>;
}

/// A document [`HitLookup`] found.
pub struct FetchedHit {
    /// The index holding it.
    pub index: String,
    /// Its source.
    pub source: Value,
    /// Its `fields` and `docvalue_fields`, when asked for.
    pub fields: Option<serde_json::Map<String, Value>>,
}

/// The time span (epoch ms) of the date fields calendar histograms bucket.
#[derive(Debug, Clone, Default)]
// Ordered, so that the request cache's key is the same for the same request.
pub struct Bounds(BTreeMap<String, (i64, i64)>);

impl Bounds {
    /// The span of `field`, if it has values.
    pub fn get(&self, field: &str) -> Option<(i64, i64)> {
        self.0.get(field).copied()
    }
}

/// Whether a segment's empty result lists what the segment holds — a `terms` with
/// `min_doc_count: 0` lists each of the segment's terms at zero — so that one skipped segment's
/// cannot stand for another's.
fn empty_lists_the_segment(aggs: &Aggregations) -> bool {
    aggs.values().any(|a| {
        matches!(&a.agg, AggregationVariants::Terms(t) if t.min_doc_count == Some(0))
            || empty_lists_the_segment(&a.sub_aggregation)
    })
}

/// tantivy's request as planned for one shard, written out in a fixed order: what the plan
/// chose from the shard's segments (a `terms`' `segment_size`, computed columns) is part of
/// what a segment's result depends on, so of the request cache's key.
fn planned_text(aggs: &Aggregations) -> String {
    fn write(aggs: &Aggregations, out: &mut String) {
        let mut names: Vec<&String> = aggs.keys().collect();
        names.sort();
        for name in names {
            let agg = &aggs[name];
            match &agg.agg {
                // Its `extended_bounds` only add empty buckets when finishing (see
                // `AggRun::segment_text`).
                AggregationVariants::DateHistogram(h) => {
                    let mut h = h.clone();
                    h.extended_bounds = None;
                    out.push_str(&format!("{name}={h:?}{{"));
                }
                other => out.push_str(&format!("{name}={other:?}{{")),
            }
            write(&agg.sub_aggregation, out);
            out.push('}');
        }
    }
    let mut out = String::new();
    write(aggs, &mut out);
    out
}

/// One request's aggregations, from planning to rendering.
#[derive(Debug)]
pub struct AggRun {
    nodes: Vec<AggNode>,
    kinds: FieldKinds,
    bounds: Bounds,
    background: Backgrounds,
}

fn limits() -> AggregationLimitsGuard {
    AggregationLimitsGuard::new(Some(MEMORY_LIMIT), Some(MAX_BUCKETS as u32))
}

fn collector(aggs: Aggregations, registry: ValueSourceRegistry) -> DistributedAggregationCollector {
    let context = AggContextParams::new(limits(), TokenizerManager::default())
        .with_value_sources(Arc::new(registry));
    DistributedAggregationCollector::from_aggs(aggs, context)
}

fn span_fields(nodes: &[AggNode], kinds: &FieldKinds, out: &mut Vec<(String, &'static str)>) {
    for n in nodes {
        let field = match &n.kind {
            AggKind::DateHistogram(d) if d.needs_span() => Some(&d.field),
            AggKind::AutoDateHistogram(a) => Some(&a.field),
            // Sketched after the earliest date (see `shifted`).
            AggKind::Percentiles(p) if kinds.get(&p.field) == super::FieldKind::Date => {
                Some(&p.field)
            }
            _ => None,
        };
        if let Some(field) = field
            && !out.iter().any(|(f, _)| f == field)
        {
            out.push((field.clone(), n.kind.type_name()));
        }
        span_fields(&n.subs, kinds, out);
    }
}

impl AggRun {
    /// A run of `nodes` over shards where the fields they read have `kinds`.
    pub fn new(nodes: Vec<AggNode>, kinds: FieldKinds) -> AggRun {
        AggRun {
            nodes,
            kinds,
            bounds: Bounds::default(),
            background: Backgrounds::default(),
        }
    }

    /// What a segment's results depend on, written out for the request cache's key: the
    /// request as planned, less what only shapes the rendering (a fixed-interval histogram's
    /// `extended_bounds`, which move with every reload of "the last 7 days").
    pub fn segment_text(&self) -> String {
        fn for_segments(nodes: &[AggNode]) -> Vec<AggNode> {
            nodes
                .iter()
                .map(|n| {
                    let mut n = n.clone();
                    if let AggKind::DateHistogram(d) = &mut n.kind {
                        d.forget_extended_bounds();
                    }
                    n.subs = for_segments(&n.subs);
                    n
                })
                .collect()
        }
        format!(
            "{:?}|{:?}|{:?}|{:?}",
            for_segments(&self.nodes),
            self.kinds,
            self.bounds,
            self.background
        )
    }

    /// The backgrounds `significant_terms` compare with (field and filter), none twice.
    pub fn background_keys(&self) -> Vec<(String, Option<QueryAst>)> {
        fn walk(nodes: &[AggNode], out: &mut Vec<(String, Option<QueryAst>)>) {
            for n in nodes {
                if let AggKind::SignificantTerms(s) = &n.kind {
                    let key = s.background_key();
                    if !out.contains(&key) {
                        out.push(key);
                    }
                }
                walk(&n.subs, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.nodes, &mut out);
        out
    }

    /// The collector of the background pre-pass on one shard, to run over every document
    /// (`None` when no background is needed).
    pub fn background_collector<'a>(
        &'a self,
        mapper: &'a DocMapper,
        fields: &'a DynamicFields,
        compiler: Compiler<'a>,
    ) -> Result<Option<DistributedAggregationCollector>, QueryError> {
        let wanted = self.background_keys();
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut p = self.planner(mapper, fields, Some(compiler));
        let aggs = background_aggs(&mut p, &wanted)?;
        Ok(Some(collector(aggs, p.registry)))
    }

    /// Records the backgrounds from the merged results of the pre-pass.
    pub fn set_background(
        &mut self,
        merged: IntermediateAggregationResults,
    ) -> Result<(), QueryError> {
        let wanted = self.background_keys();
        let mapper = DocMapper::new();
        let fields = DynamicFields::default();
        let structure = background_aggs(&mut self.planner(&mapper, &fields, None), &wanted)?;
        let done = merged.into_final_result(structure, limits())?;
        self.background = read_backgrounds(wanted, done);
        Ok(())
    }

    /// The date fields whose time span must be known before planning.
    pub fn span_fields(&self) -> Vec<(String, &'static str)> {
        let mut out = Vec::new();
        span_fields(&self.nodes, &self.kinds, &mut out);
        out
    }

    /// The collector of the span pre-pass on one shard (`None` when no span is needed).
    pub fn span_collector(
        &self,
        mapper: &DocMapper,
        fields: &DynamicFields,
    ) -> Result<Option<DistributedAggregationCollector>, QueryError> {
        let wanted = self.span_fields();
        if wanted.is_empty() {
            return Ok(None);
        }
        let mut p = self.planner(mapper, fields, None);
        let mut aggs = Aggregations::default();
        for (i, (field, agg)) in wanted.iter().enumerate() {
            let column = p.column(field, Want::Dates, agg)?;
            aggs.insert(
                format!("min{i}"),
                node(
                    AggregationVariants::Min(MinAggregation::from_field_name(column.clone())),
                    Aggregations::default(),
                ),
            );
            aggs.insert(
                format!("max{i}"),
                node(
                    AggregationVariants::Max(MaxAggregation::from_field_name(column)),
                    Aggregations::default(),
                ),
            );
        }
        let registry = p.registry;
        Ok(Some(collector(aggs, registry)))
    }

    /// Records the spans from the merged results of the pre-pass.
    pub fn set_spans(&mut self, merged: IntermediateAggregationResults) -> Result<(), QueryError> {
        let wanted = self.span_fields();
        let mut structure = Aggregations::default();
        for i in 0..wanted.len() {
            for which in ["min", "max"] {
                let variant = if which == "min" {
                    AggregationVariants::Min(MinAggregation::from_field_name(String::new()))
                } else {
                    AggregationVariants::Max(MaxAggregation::from_field_name(String::new()))
                };
                structure.insert(
                    format!("{which}{i}"),
                    node(variant, Aggregations::default()),
                );
            }
        }
        let mut done = merged.into_final_result(structure, limits())?;
        let mut value = |name: String| match done.0.remove(&name) {
            Some(AggregationResult::MetricResult(MetricResult::Min(v) | MetricResult::Max(v))) => {
                v.value
            }
            _ => None,
        };
        for (i, (field, _)) in wanted.into_iter().enumerate() {
            // Date columns hold nanoseconds.
            if let (Some(lo), Some(hi)) = (value(format!("min{i}")), value(format!("max{i}"))) {
                self.bounds
                    .0
                    .insert(field, ((lo / 1e6).floor() as i64, (hi / 1e6).ceil() as i64));
            }
        }
        Ok(())
    }

    fn planner<'a>(
        &'a self,
        mapper: &'a DocMapper,
        fields: &'a DynamicFields,
        compiler: Option<Compiler<'a>>,
    ) -> Planner<'a> {
        Planner {
            mapper,
            fields,
            compiler,
            kinds: &self.kinds,
            bounds: &self.bounds,
            registry: ValueSourceRegistry::default(),
            segments: &[],
            depth: 0,
            path: Vec::new(),
            filters: Vec::new(),
        }
    }

    /// The collector of one shard, whose queries `compiler` compiles, over `segments`.
    pub fn collector<'a>(
        &'a self,
        mapper: &'a DocMapper,
        fields: &'a DynamicFields,
        compiler: Compiler<'a>,
        segments: &'a [tantivy::SegmentReader],
    ) -> Result<super::ShardAggs, QueryError> {
        let mut p = self.planner(mapper, fields, Some(compiler));
        p.segments = segments;
        let aggs = p.plan(&self.nodes)?;
        let hist = super::fused::FusedPlan::detect(&aggs);
        let split = super::fused::SplitPlan::detect(&aggs);
        let filtered = super::fused::FilteredPlan::detect(&aggs, &p.filters);
        let terms = super::fused::TermsPlan::detect(&aggs, &p.filters);
        let any = hist.is_some() || split.is_some() || filtered.is_some() || terms.is_some();
        let fused = any.then(|| {
            let mut rest = aggs.clone();
            for name in [
                hist.as_ref().map(|h| h.name()),
                split.as_ref().map(|s| s.name()),
                terms.as_ref().map(|t| t.name()),
            ]
            .into_iter()
            .flatten()
            .chain(filtered.iter().flat_map(|f| f.names()))
            {
                rest.remove(name);
            }
            super::fused::FusedAggs {
                hist: hist.map(Arc::new),
                split: split.map(Arc::new),
                filtered: filtered.map(Arc::new),
                terms: terms.map(Arc::new),
                rest: (!rest.is_empty()).then(|| collector(rest, p.registry.clone())),
            }
        });
        // A sketch built here is exactly tantivy's once it is merged with another segment's
        // (a union estimates regardless of order); alone, tantivy's estimate would follow the
        // order of its hash set. So a shard of one segment is left to tantivy.
        let whole = super::whole_terms::WholeTerms::detect(&aggs)
            .filter(|w| !w.is_distinct() || segments.len() > 1);
        let planned = planned_text(&aggs);
        let per_segment_empty = empty_lists_the_segment(&aggs);
        Ok(
            super::ShardAggs::new(collector(aggs, p.registry), fused, whole, planned)
                .with_empty_per_segment(per_segment_empty),
        )
    }

    /// Finalizes the merged results of every shard and renders them in ES's shape.
    /// `doc_count` is the number of documents the aggregations saw.
    pub fn finish(
        &self,
        merged: IntermediateAggregationResults,
        lookup: &dyn HitLookup,
        typed_keys: bool,
        doc_count: u64,
    ) -> Result<Map<String, Value>, QueryError> {
        // The plan's structure only (no shard's fields): an empty index's mapper, built once
        // (a schema built on every search cost more than rendering the buckets).
        static MAPPER: std::sync::LazyLock<DocMapper> = std::sync::LazyLock::new(DocMapper::new);
        let fields = DynamicFields::default();
        let structure = self.planner(&MAPPER, &fields, None).plan(&self.nodes)?;
        let results = merged.into_final_result(structure, limits())?;
        let renderer = Renderer {
            kinds: &self.kinds,
            bounds: &self.bounds,
            background: &self.background,
            lookup,
            typed_keys,
            doc_count: Cell::new(doc_count),
        };
        let mut out = Map::new();
        renderer.render(&self.nodes, results, &mut out)?;
        super::pipeline::apply(&self.nodes, &mut out, typed_keys)?;
        Ok(out)
    }
}
