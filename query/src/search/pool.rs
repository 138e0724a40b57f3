//! The threads searches run their segments on, and the search of several shards at once: every
//! segment of every shard is one task on the same pool, so a search over many shards and
//! indices takes the time of the slowest share of all their segments, not of each shard in
//! turn — tantivy's own executor runs one searcher's segments side by side, not several
//! searchers'.

use std::sync::{Arc, LazyLock};

use rayon::prelude::*;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{EnableScoring, Query};
use tantivy::{Executor, Searcher};

use super::scoring::SharedStatistics;

/// One thread per core, with the search threads' 8 MiB stacks (deep requests are bounded well
/// within them). `None` if the pool cannot be started: then searches run on the calling thread.
fn pool() -> Option<&'static Arc<rayon::ThreadPool>> {
    static POOL: LazyLock<Option<Arc<rayon::ThreadPool>>> = LazyLock::new(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .stack_size(8 << 20)
            .thread_name(|i| format!("hydrant-segments-{i}"))
            .build()
            .ok()
            .map(Arc::new)
    });
    POOL.as_ref()
}

/// The pool as tantivy's executor, for one searcher's segments.
pub(super) fn segment_pool() -> &'static Executor {
    static EXECUTOR: LazyLock<Executor> = LazyLock::new(|| match pool() {
        Some(p) => Executor::ThreadPool(p.clone()),
        None => Executor::SingleThread,
    });
    &EXECUTOR
}

/// Runs each job's collector over its searcher, all their segments side by side; the fruits
/// in the jobs' order.
pub(super) fn search_shards<C: Collector>(
    jobs: &[(&Searcher, Box<dyn Query>, C)],
) -> tantivy::Result<Vec<C::Fruit>> {
    // Scored searches share BM25 statistics across shards of one schema (`scoring.rs`).
    let searchers: Vec<&Searcher> = jobs.iter().map(|(s, _, _)| *s).collect();
    let (stats, group) = if jobs.iter().any(|(_, _, c)| c.requires_scoring()) {
        SharedStatistics::group(&searchers)
    } else {
        (Vec::new(), Vec::new())
    };
    let weights = jobs
        .iter()
        .enumerate()
        .map(|(i, (searcher, query, collector))| {
            query.weight(if collector.requires_scoring() {
                EnableScoring::enabled_from_statistics_provider(&stats[group[i]], searcher)
            } else {
                EnableScoring::disabled_from_searcher(searcher)
            })
        })
        .collect::<tantivy::Result<Vec<_>>>()?;
    let tasks: Vec<(usize, u32)> = jobs
        .iter()
        .enumerate()
        .flat_map(|(i, (searcher, _, _))| {
            (0..searcher.segment_readers().len() as u32).map(move |ord| (i, ord))
        })
        .collect();
    let run = |&(i, ord): &(usize, u32)| {
        let (searcher, _, collector) = &jobs[i];
        let reader = &searcher.segment_readers()[ord as usize];
        collector.collect_segment(weights[i].as_ref(), ord, reader)
    };
    type SegmentFruit<C> = <<C as Collector>::Child as SegmentCollector>::Fruit;
    let results: Vec<tantivy::Result<SegmentFruit<C>>> = match pool() {
        Some(p) if tasks.len() > 1 => p.install(|| tasks.par_iter().map(run).collect()),
        _ => tasks.iter().map(run).collect(),
    };
    let mut per_job: Vec<Vec<SegmentFruit<C>>> = jobs.iter().map(|_| Vec::new()).collect();
    for ((i, _), result) in tasks.iter().zip(results) {
        per_job[*i].push(result?);
    }
    jobs.iter()
        .zip(per_job)
        .map(|((_, _, collector), fruits)| collector.merge_fruits(fruits))
        .collect()
}
