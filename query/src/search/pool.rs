//! The threads searches run their segments on, and the search of several shards at once: every
//! segment of every shard is one task on the same pool, so a search over many shards and
//! indices takes the time of the slowest share of all their segments, not of each shard in
//! turn — tantivy's own executor runs one searcher's segments side by side, not several
//! searchers'.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::{EnableScoring, Query};
use tantivy::{Executor, Searcher};

use super::ShardTarget;
use super::scoring::SharedStatistics;
use crate::ast::QueryAst;

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

#[cfg(test)]
thread_local! {
    /// Set by a test that counts the paths its search takes on its own thread (thread-local
    /// counters such as `time_buckets::BUCKETED`): every segment is then searched here.
    pub(crate) static SEGMENTS_HERE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn segments_here() -> bool {
    #[cfg(test)]
    return SEGMENTS_HERE.with(|h| h.get());
    #[cfg(not(test))]
    false
}

/// The pool as tantivy's executor, for one searcher's segments.
pub(super) fn segment_pool() -> &'static Executor {
    static EXECUTOR: LazyLock<Executor> = LazyLock::new(|| match pool() {
        Some(p) => Executor::ThreadPool(p.clone()),
        None => Executor::SingleThread,
    });
    &EXECUTOR
}

/// About how many documents a search of `query` reads in `targets`: each segment's documents,
/// or under a time range the share of them its event times suggest
/// ([`crate::compile::TimeRange::share_of_segment`]). What decides whether a search is small enough to run on
/// the thread that received it (`routes::search`), never what it answers.
pub fn estimated_reads(targets: &[ShardTarget], query: &QueryAst, now_ms: i64) -> u64 {
    let mut reads = 0.0;
    for t in targets {
        let time = t.compiler(now_ms).time_range(query);
        for segment in t.searcher.segment_readers() {
            let share = time.as_ref().map_or(1.0, |r| r.share_of_segment(segment));
            reads += share * f64::from(segment.num_docs());
        }
    }
    reads.ceil() as u64
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
        Some(p) if tasks.len() > 1 && !segments_here() => {
            let docs =
                |&(i, ord): &(usize, u32)| jobs[i].0.segment_readers()[ord as usize].max_doc();
            largest_first(p, &tasks, docs, run)
        }
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

/// `run` over every task, the results in the tasks' order: the calling thread and as many of the
/// pool's threads as it has beyond one each take the largest task not yet taken (by `size`),
/// until none is left.
///
/// Largest first is what keeps two cores busy to the end: a day's index is often a segment or
/// two of half a million documents and a tail of small ones, and rayon's halving of the list
/// can leave both large segments on one thread, one after the other (percentiles over 1 M
/// records took 10.3 ms that way, against 6.6 ms for tantivy's executor on the same segments).
/// And the calling thread works rather than sleeping until a woken pool thread is done: one
/// wake-up fewer on every search.
fn largest_first<T: Sync, R: Send>(
    pool: &rayon::ThreadPool,
    tasks: &[T],
    size: impl Fn(&T) -> u32,
    run: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(size(&tasks[i])));
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(tasks.len()));
    let work = || {
        let mut mine = Vec::new();
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            mine.push((i, run(&tasks[i])));
        }
        done.lock().extend(mine);
    };
    let helpers = pool
        .current_num_threads()
        .min(tasks.len())
        .saturating_sub(1);
    pool.in_place_scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|_| work());
        }
        work();
    });
    let mut done = done.into_inner();
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_taken_largest_first_and_answered_in_their_order() {
        let sizes = [3u32, 500, 7, 90, 500, 1];
        // One thread: the caller alone, so the order it takes them in is seen whole.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let started = Mutex::new(Vec::new());
        let out = largest_first(
            &one,
            &sizes,
            |s| *s,
            |s| {
                started.lock().push(*s);
                s * 2
            },
        );
        assert_eq!(out, [6, 1000, 14, 180, 1000, 2]);
        assert_eq!(*started.lock(), [500, 500, 90, 7, 3, 1]);
        // Two threads and many tasks: each runs once, answers in the tasks' order.
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let tasks: Vec<u32> = (0..1000).collect();
        let runs = AtomicUsize::new(0);
        let out = largest_first(
            &two,
            &tasks,
            |t| t % 17,
            |t| {
                runs.fetch_add(1, Ordering::Relaxed);
                t + 1
            },
        );
        assert_eq!(runs.into_inner(), 1000);
        assert_eq!(out, (1..=1000).collect::<Vec<u32>>());
    }
}
