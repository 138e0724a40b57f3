//! Running a search over shards: one pass per shard collects the count, the top hits in the
//! request's order and the aggregations; the shards' results are merged into one
//! Elasticsearch-shaped answer, and the page of hits is fetched (source, fields, highlight).

mod cache;
mod collector;
mod fetch;
mod fields;
mod highlight;
mod named;
mod passages;
pub(crate) mod pool;
mod response;
mod scoring;
mod sort;
mod sort_plan;

use self::sort_plan::{SortPlan, check_docvalue_fields};
mod top;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use hydrant_index::{DocMapper, DynamicFields, IndexHandle, Shard, searcher_fields};
use tantivy::Searcher;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::collector::Collector;
use tantivy::query::{EnableScoring, Query};

pub use cache::{CacheStats, RequestCache};
pub use fields::flatten;
pub use highlight::QueryTerms;
pub use pool::estimated_reads;
pub use response::{
    CountResponse, Hit, Hits, SearchResponse, ShardStats, Total, TotalHits, shard_failures,
};
pub use sort::SortValue;

use self::cache::Fingerprint;
use self::collector::{Candidate, Fingerprints, Reuse, ShardCollector, ShardFruit, TopSpec};
use self::fetch::{Lookup, render_hit};
use self::sort::cmp_values;
use crate::aggs::{AggFruit, AggRun, FieldKinds, bind_index_names, tree_fields};
use crate::ast::QueryAst;
use crate::compile::Compiler;
use crate::error::QueryError;
use crate::request::{SearchRequest, TrackTotalHits};

/// One shard to search, through the searcher it is searched with (a point in time keeps the
/// same searchers across requests).
#[derive(Clone)]
pub struct ShardTarget {
    /// The index.
    pub index: Arc<IndexHandle>,
    /// The shard.
    pub shard: Arc<Shard>,
    /// Its searcher.
    pub searcher: Searcher,
    /// The dynamic fields its segments hold.
    pub fields: Arc<DynamicFields>,
    /// Its index's mapper, with the request's runtime fields (see [`ShardTarget::with_runtime`]).
    pub mapper: Arc<DocMapper>,
}

impl ShardTarget {
    /// Every shard of `indices`, with current searchers.
    pub fn open(indices: &[Arc<IndexHandle>]) -> Vec<ShardTarget> {
        let mut out = Vec::new();
        for index in indices {
            for shard in index.shards() {
                let searcher = shard.searcher();
                let fields = searcher_fields(&searcher);
                out.push(ShardTarget {
                    mapper: index.mapper().clone(),
                    index: index.clone(),
                    shard: shard.clone(),
                    searcher,
                    fields,
                });
            }
        }
        out
    }

    /// `targets` with the request's runtime fields (name → the field each reads) in their
    /// mappers.
    pub fn with_runtime(
        targets: &[ShardTarget],
        runtime: &std::collections::BTreeMap<String, String>,
    ) -> Vec<ShardTarget> {
        targets
            .iter()
            .map(|t| ShardTarget {
                mapper: Arc::new(t.index.mapper().with_aliases(runtime.clone())),
                ..t.clone()
            })
            .collect()
    }

    /// Runs `collector` over the shard, its segments side by side on the search pool.
    fn search<C: Collector>(&self, query: &dyn Query, collector: &C) -> tantivy::Result<C::Fruit> {
        let scoring = if collector.requires_scoring() {
            EnableScoring::enabled_from_searcher(&self.searcher)
        } else {
            EnableScoring::disabled_from_searcher(&self.searcher)
        };
        self.searcher
            .search_with_executor(query, collector, pool::segment_pool(), scoring)
    }

    /// What spares work in this shard's segments: the query's time range, and the request
    /// cache with the request's fingerprint here (`text` from [`cache_text`]).
    fn reuse(
        &self,
        query: &QueryAst,
        now_ms: i64,
        cache: Option<(&Arc<RequestCache>, &CacheTexts)>,
        planned: &str,
        opts: &SearchOptions,
    ) -> Reuse {
        Reuse {
            time: self.compiler(now_ms).time_range(query),
            whole: self.compiler(now_ms).whole_range(query),
            cache: cache.map(|(cache, texts)| {
                let fields = format!("{:?}", self.fields);
                let name =
                    |text: &String| Fingerprint::of(&[text, self.index.name(), &fields, planned]);
                let names = Fingerprints {
                    exact: texts.exact.as_ref().map(name),
                    whole: texts.whole.as_ref().map(name),
                };
                (cache.clone(), names)
            }),
            skipped: opts.skipped_segments.clone(),
        }
    }

    fn compiler(&self, now_ms: i64) -> Compiler<'_> {
        Compiler::new(&self.mapper, &self.fields, self.shard.index(), now_ms)
            .with_index_names(self.index.name(), self.index.stream())
    }
}

/// Request options that come from the URL rather than the body.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// The request's `now`, epoch ms.
    pub now_ms: i64,
    /// Aggregation names prefixed with their type.
    pub typed_keys: bool,
    /// `hits.total` as a number.
    pub total_as_int: bool,
    /// The node's request cache, if the request may use it (`request_cache` is not `false`).
    pub cache: Option<Arc<RequestCache>>,
    /// Counts the segments a search skipped by their time range.
    pub skipped_segments: Arc<AtomicU64>,
}

/// What a segment's result depends on besides the segment, written out once per request for
/// the request cache's keys (see [`cache`] and [`Fingerprints`]).
struct CacheTexts {
    /// The whole request: for any segment; `None` when it moves with `now`.
    exact: Option<String>,
    /// The request without its query: for a segment every document of which the query matches.
    whole: Option<String>,
}

impl CacheTexts {
    /// The texts of `req`; `None` when the request is not one the cache keeps.
    fn of(req: &SearchRequest, aggs: Option<&AggRun>, scoring: bool) -> Option<CacheTexts> {
        let plain =
            req.from.saturating_add(req.size) == 0 && !scoring && req.terminate_after.is_none();
        if !plain {
            return None;
        }
        // The runtime fields too: they say which field each name in the rest reads.
        let aggs = aggs.map(AggRun::segment_text);
        let rest = format!("{:?}|{aggs:?}|{:?}", req.post_filter, req.runtime);
        // `top_hits` and `top_metrics` rank ties by segment ordinal; significant_terms'
        // backgrounds are counted per request.
        let ranked = ["TopHits(", "TopMetrics(", "SignificantTerms("];
        if ranked.iter().any(|r| rest.contains(r)) {
            return None;
        }
        // `now` moves.
        let fixed = |text: String| (!text.contains("now")).then_some(text);
        Some(CacheTexts {
            exact: fixed(format!("{:?}|{rest}", req.query)),
            whole: fixed(format!("whole|{rest}")),
        })
    }
}

/// The field kinds of `names` over `targets`.
fn kinds(targets: &[ShardTarget], names: &[String]) -> FieldKinds {
    FieldKinds::resolve(
        targets
            .iter()
            .map(|t| (t.mapper.as_ref(), t.fields.as_ref())),
        names,
    )
}

/// What every shard found, merged.
struct Gathered {
    count: u64,
    hits: Vec<(Candidate, usize)>,
    aggs: Option<AggFruit>,
    terminated_early: bool,
    timed_out: bool,
}

/// Runs `req` over `targets`.
pub fn search(
    targets: &[ShardTarget],
    req: &SearchRequest,
    opts: &SearchOptions,
) -> Result<SearchResponse, QueryError> {
    let started = Instant::now();
    let with_runtime;
    let targets = if req.runtime.is_empty() {
        targets
    } else {
        with_runtime = ShardTarget::with_runtime(targets, &req.runtime);
        &with_runtime[..]
    };
    check_docvalue_fields(targets, req)?;
    let plan = SortPlan::new(targets, req)?;
    let mut aggs = if req.aggs.is_empty() {
        None
    } else {
        let mut nodes = req.aggs.clone();
        let mut names: Vec<String> = targets.iter().map(|t| t.index.name().to_string()).collect();
        names.sort();
        names.dedup();
        bind_index_names(&mut nodes, &names);
        Some(AggRun::new(nodes, kinds(targets, &tree_fields(&req.aggs))))
    };
    if let Some(run) = &mut aggs
        && !run.span_fields().is_empty()
    {
        run.set_spans(spans(targets, &req.query, run, opts.now_ms)?)?;
    }
    if let Some(run) = &mut aggs
        && !run.background_keys().is_empty()
    {
        run.set_background(backgrounds(targets, run, opts.now_ms)?)?;
    }
    let gathered = gather(targets, req, &plan, aggs.as_ref(), opts, started)?;
    let aggregations = match &aggs {
        Some(run) => {
            let merged = gathered.aggs.unwrap_or_default().into_intermediate()?;
            let lookup = Lookup { targets };
            Some(run.finish(merged, &lookup, opts.typed_keys, gathered.count)?)
        }
        None => None,
    };
    let mut hits = gathered.hits;
    hits.sort_by(|(a, sa), (b, sb)| {
        cmp_values(&a.key, &b.key, &plan.dirs)
            .then(sa.cmp(sb))
            .then(a.doc.cmp(&b.doc))
    });
    let show_score = plan.by_score || req.track_scores;
    let max_score = show_score
        .then(|| hits.iter().map(|(c, _)| c.score).fold(f32::NAN, f32::max))
        .filter(|s| !s.is_nan());
    let terms = req.highlight.as_ref().map(|_| QueryTerms::of(&req.query));
    let hits: Vec<_> = hits.into_iter().skip(req.from).take(req.size).collect();
    let mut matched = named::matched(
        targets,
        &req.named,
        &hits.iter().map(|(c, s)| (c.doc, *s)).collect::<Vec<_>>(),
        opts.now_ms,
    )?
    .into_iter();
    let page: Vec<Hit> = hits
        .into_iter()
        .map(|(c, shard)| {
            render_hit(
                &targets[shard],
                &c,
                req,
                &plan.specs,
                &plan.kinds,
                terms.as_ref(),
                show_score,
            )
            .map(|mut hit| {
                hit.matched_queries = matched.next().flatten();
                hit
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(SearchResponse {
        scroll_id: None,
        pit_id: None,
        took: started.elapsed().as_millis() as u64,
        timed_out: gathered.timed_out,
        terminated_early: req.terminate_after.map(|_| gathered.terminated_early),
        shards: ShardStats::all_ok(targets.len()),
        hits: Hits {
            total: total(req.track_total_hits, gathered.count, opts.total_as_int),
            max_score,
            hits: page,
        },
        aggregations,
    })
}

fn total(track: TrackTotalHits, count: u64, as_int: bool) -> Option<Total> {
    let (value, relation) = match track {
        TrackTotalHits::Exact => (count, "eq"),
        TrackTotalHits::UpTo(limit) if count > limit => (limit, "gte"),
        TrackTotalHits::UpTo(_) => (count, "eq"),
        TrackTotalHits::Off if as_int => return Some(Total::Int(-1)),
        TrackTotalHits::Off => return None,
    };
    Some(if as_int {
        Total::Int(i64::try_from(value).unwrap_or(i64::MAX))
    } else {
        Total::Object(TotalHits { value, relation })
    })
}

/// The pre-pass: the time span of the fields calendar date histograms bucket.
fn spans(
    targets: &[ShardTarget],
    query: &QueryAst,
    run: &AggRun,
    now_ms: i64,
) -> Result<IntermediateAggregationResults, QueryError> {
    let mut merged = IntermediateAggregationResults::default();
    for t in targets {
        let Some(collector) = run.span_collector(&t.mapper, &t.fields)? else {
            continue;
        };
        let q = t.compiler(now_ms).compile(query)?;
        merged.merge_fruits(t.search(&*q, &collector)?)?;
    }
    Ok(merged)
}

/// The pre-pass of `significant_terms`: value counts over every document.
fn backgrounds(
    targets: &[ShardTarget],
    run: &AggRun,
    now_ms: i64,
) -> Result<IntermediateAggregationResults, QueryError> {
    let mut merged = IntermediateAggregationResults::default();
    for t in targets {
        let Some(collector) = run.background_collector(&t.mapper, &t.fields, t.compiler(now_ms))?
        else {
            continue;
        };
        merged.merge_fruits(t.search(&tantivy::query::AllQuery, &collector)?)?;
    }
    Ok(merged)
}

fn gather(
    targets: &[ShardTarget],
    req: &SearchRequest,
    plan: &SortPlan,
    aggs: Option<&AggRun>,
    opts: &SearchOptions,
    started: Instant,
) -> Result<Gathered, QueryError> {
    let now_ms = opts.now_ms;
    let want = req.from.saturating_add(req.size);
    let scoring = req.min_score.is_some() || (want > 0 && (plan.by_score || req.track_scores));
    let cache = opts.cache.as_ref().filter(|c| c.enabled());
    let cache_texts = cache.and_then(|_| CacheTexts::of(req, aggs, scoring));
    let deadline = req.timeout.and_then(|t| started.checked_add(t));
    let timed_out = Arc::new(AtomicBool::new(false));
    let mut out = Gathered {
        count: 0,
        hits: Vec::new(),
        aggs: None,
        terminated_early: false,
        timed_out: false,
    };
    let mut jobs = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        let query = t.compiler(now_ms).compile(&req.query)?;
        let post_filter = match &req.post_filter {
            Some(pf) => {
                let q: Box<dyn Query> = t.compiler(now_ms).compile(pf)?;
                Some(q.weight(EnableScoring::disabled_from_searcher(&t.searcher))?)
            }
            None => None,
        };
        let shard_aggs = match aggs {
            Some(run) => Some(run.collector(
                &t.mapper,
                &t.fields,
                t.compiler(now_ms),
                t.searcher.segment_readers(),
            )?),
            None => None,
        };
        let planned = shard_aggs.as_ref().map_or("", |a| a.planned()).to_string();
        let collector = ShardCollector {
            top: (want > 0).then(|| TopSpec {
                k: want,
                dirs: plan.dirs.clone(),
                keys: plan.keys_for(t, i as u64),
                after: plan.after.clone(),
                missing: plan.missing.clone(),
            }),
            aggs: shard_aggs,
            post_filter,
            min_score: req.min_score,
            scoring,
            terminate_after: req.terminate_after,
            deadline,
            collected: Arc::new(AtomicU64::new(0)),
            timed_out: timed_out.clone(),
            reuse: t.reuse(
                &req.query,
                now_ms,
                cache.zip(cache_texts.as_ref()),
                &planned,
                opts,
            ),
        };
        jobs.push((&t.searcher, query, collector));
    }
    for (i, fruit) in pool::search_shards(&jobs)?.into_iter().enumerate() {
        let fruit: ShardFruit = fruit?;
        out.count += fruit.count;
        out.terminated_early |= fruit.terminated_early;
        out.timed_out |= fruit.timed_out;
        let mut shard_hits = fruit.hits;
        shard_hits.sort_by(|a, b| cmp_values(&a.key, &b.key, &plan.dirs).then(a.doc.cmp(&b.doc)));
        shard_hits.truncate(want);
        out.hits.extend(shard_hits.into_iter().map(|c| (c, i)));
        match (&mut out.aggs, fruit.aggs) {
            (Some(acc), Some(more)) => acc.merge(more)?,
            (slot @ None, more) => *slot = more,
            (_, None) => {}
        }
    }
    // A shard whose segments were too few to look at the clock still ran past the deadline.
    out.timed_out |= deadline.is_some_and(|d| Instant::now() >= d);
    Ok(out)
}

/// Counts the documents matching `query` over `targets`, each shard stopping at
/// `terminate_after` documents if given.
pub fn count(
    targets: &[ShardTarget],
    query: &QueryAst,
    opts: &SearchOptions,
    terminate_after: Option<u64>,
) -> Result<CountResponse, QueryError> {
    let cache = opts
        .cache
        .as_ref()
        .filter(|c| c.enabled() && terminate_after.is_none());
    let exact = format!("count|{query:?}");
    let texts = CacheTexts {
        exact: (!exact.contains("now")).then_some(exact),
        whole: Some("count|whole".to_string()),
    };
    let cache = cache.map(|c| (c, &texts));
    let mut jobs = Vec::with_capacity(targets.len());
    for t in targets {
        let q = t.compiler(opts.now_ms).compile(query)?;
        let collector = ShardCollector {
            top: None,
            aggs: None,
            post_filter: None,
            min_score: None,
            scoring: false,
            terminate_after,
            deadline: None,
            collected: Arc::default(),
            timed_out: Arc::default(),
            reuse: t.reuse(query, opts.now_ms, cache, "", opts),
        };
        jobs.push((&t.searcher, q, collector));
    }
    let mut total = 0u64;
    let mut terminated = false;
    for fruit in pool::search_shards(&jobs)? {
        let fruit = fruit?;
        total += fruit.count;
        terminated |= fruit.terminated_early;
    }
    Ok(CountResponse {
        count: total,
        terminated_early: terminate_after.map(|_| terminated),
        shards: ShardStats::all_ok(targets.len()),
    })
}

/// Every document `query` matches in `targets`: its index and id, at most `max`.
pub fn matching_ids(
    targets: &[ShardTarget],
    query: &QueryAst,
    now_ms: i64,
    max: usize,
) -> Result<Vec<(String, String)>, QueryError> {
    let mut out = Vec::new();
    for t in targets {
        let q = t.compiler(now_ms).compile(query)?;
        let mut found: Vec<tantivy::DocAddress> = t
            .search(&*q, &tantivy::collector::DocSetCollector)?
            .into_iter()
            .collect();
        found.sort();
        let id_field = t.index.mapper().fields().id;
        for address in found {
            if out.len() >= max {
                return Ok(out);
            }
            let doc: tantivy::TantivyDocument = t.searcher.doc(address)?;
            if let Some(id) = doc.get_first(id_field).and_then(|v| {
                use tantivy::schema::Value as _;
                v.as_str().map(str::to_string)
            }) {
                out.push((t.index.name().to_string(), id));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod reuse_tests;
#[cfg(test)]
mod tests;
