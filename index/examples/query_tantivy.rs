//! The floor for Hydrant's query layer: the query benchmark's questions asked of tantivy
//! directly, on Hydrant's own shard directories — no HTTP, no request parsing, no
//! Elasticsearch rendering. Each shard is opened as a tantivy index; aggregations go through
//! tantivy's aggregation API (each shard's intermediate results merged, as a distributed search
//! does), the full-text question through tantivy's query parser and a top-100 collector on the
//! time column. Segments are searched on two threads, as Hydrant's search pool does here.
//!
//! Field names are Hydrant's columns: a dynamic string `service` is the column `_val.service`
//! (Hydrant's `service.keyword`), its text `_text.message`, a number `_val.latency_ms`.
//!
//! Usage: `cargo run --release -p hydrant-index --example query_tantivy -- INDICES_DIR PREFIX
//! RUNS SINCE_MS SINCE_6H_MS` (the starts of the last 15 minutes and 6 hours of the data). Prints one JSON object per question: the name, p50 and p99 in ms over RUNS
//! runs after warm-ups (at least two, and at least 0.3 s), and the answer (for `bench/query.py` to check against DuckDB's).

use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::intermediate_agg_result::IntermediateAggregationResults;
use tantivy::aggregation::{
    AggContextParams, AggregationLimitsGuard, DistributedAggregationCollector,
};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Query, QueryParser, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DateTime, Executor, Index, Order, Searcher, Term};

/// Two search threads, started once (as Hydrant's search pool is).
fn executor() -> tantivy::Result<&'static Executor> {
    static EXECUTOR: std::sync::OnceLock<Executor> = std::sync::OnceLock::new();
    if let Some(e) = EXECUTOR.get() {
        return Ok(e);
    }
    let e = Executor::multi_thread(2, "tantivy-direct")?;
    Ok(EXECUTOR.get_or_init(|| e))
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Every shard directory under `indices` whose index name starts with `prefix`, opened.
fn searchers(indices: &Path, prefix: &str) -> Result<Vec<Searcher>, Box<dyn std::error::Error>> {
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(indices)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .collect();
    names.sort_by_key(|e| e.file_name());
    for index in names {
        for shard in std::fs::read_dir(index.path())?.filter_map(Result::ok) {
            if shard.path().join("meta.json").exists() {
                let mut idx = Index::open_in_dir(shard.path())?;
                // The analyzer Hydrant's schemas name for text (tantivy keeps it in memory).
                hydrant_index::tokenizer::register(&idx);
                idx.set_multithread_executor(2)?;
                out.push(idx.reader()?.searcher());
            }
        }
    }
    Ok(out)
}

/// Runs aggregations `request` over the documents `query` (tantivy's query grammar; `None`:
/// every document) matches.
fn aggregate(
    searchers: &[Searcher],
    request: &Value,
    query: Option<&str>,
) -> Result<Value, Box<dyn std::error::Error>> {
    let aggs: Aggregations = serde_json::from_value(request.clone())?;
    let mut merged = IntermediateAggregationResults::default();
    let executor = executor()?;
    for s in searchers {
        let collector = DistributedAggregationCollector::from_aggs(
            aggs.clone(),
            AggContextParams::new(AggregationLimitsGuard::default(), Default::default()),
        );
        let parsed: Box<dyn Query> = match query {
            Some(q) => QueryParser::for_index(s.index(), vec![]).parse_query(q)?,
            None => Box::new(tantivy::query::AllQuery),
        };
        let fruit = s.search_with_executor(
            &*parsed,
            &collector,
            executor,
            tantivy::query::EnableScoring::disabled_from_searcher(s),
        )?;
        merged.merge_fruits(fruit)?;
    }
    let result = merged.into_final_result(aggs, AggregationLimitsGuard::default())?;
    Ok(serde_json::to_value(result)?)
}

/// The newest 100 event times of the documents whose `message` has `word` and whose `level`
/// is `level` (a term on the `_val` column: Hydrant's exact values are columns, not postings).
fn newest(
    searchers: &[Searcher],
    word: &str,
    level: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut all: Vec<i64> = Vec::new();
    let executor = executor()?;
    for s in searchers {
        let schema = s.schema();
        let parser = QueryParser::for_index(s.index(), vec![schema.get_field("_text")?]);
        let text: Box<dyn Query> = parser.parse_query(&format!("_text.message:{word}"))?;
        let mut exact = Term::from_field_json_path(schema.get_field("_val")?, "level", true);
        exact.append_type_and_str(level);
        let query = BooleanQuery::intersection(vec![
            text,
            Box::new(TermQuery::new(exact, IndexRecordOption::Basic)),
        ]);
        let top =
            TopDocs::with_limit(100).order_by_fast_field::<DateTime>("@timestamp", Order::Desc);
        let hits = s.search_with_executor(
            &query,
            &top,
            executor,
            tantivy::query::EnableScoring::disabled_from_searcher(s),
        )?;
        all.extend(
            hits.into_iter()
                .filter_map(|(t, _)| t.map(|t| t.into_timestamp_millis())),
        );
    }
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.truncate(100);
    Ok(json!(all))
}

/// How many documents `query` (tantivy's query grammar) matches.
fn count(searchers: &[Searcher], query: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let mut n = 0;
    for s in searchers {
        let parsed = QueryParser::for_index(s.index(), vec![]).parse_query(query)?;
        n += parsed.count(s)?;
    }
    Ok(json!(n))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, prefix, runs, since, since6h] = args.as_slice() else {
        return Err("usage: query_tantivy INDICES_DIR PREFIX RUNS SINCE_MS SINCE_6H_MS".into());
    };
    let runs: usize = runs.parse()?;
    let since: i64 = since.parse()?;
    let since6h: i64 = since6h.parse()?;
    let hour = |sub: Value| json!({"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 1}, "aggs": sub}});
    let searchers = searchers(Path::new(dir), prefix)?;
    let minute_avg = json!({"m": {
        "date_histogram": {"field": "@timestamp", "fixed_interval": "1m", "min_doc_count": 1},
        "aggs": {"lat": {"avg": {"field": "_val.latency_ms"}}}}});
    type Question<'a> = (
        &'a str,
        Box<dyn Fn() -> Result<Value, Box<dyn std::error::Error>> + 'a>,
    );
    let questions: Vec<Question<'_>> = vec![
        (
            "terms on a keyword (top 10 services)",
            Box::new(|| {
                aggregate(
                    &searchers,
                    &json!({"s": {"terms": {"field": "_val.service", "size": 10}}}),
                    None,
                )
            }),
        ),
        (
            "date_histogram 1m + avg latency",
            Box::new(|| aggregate(&searchers, &minute_avg, None)),
        ),
        (
            "query_string, newest 100 hits",
            Box::new(|| newest(&searchers, "post", "error")),
        ),
        (
            "last 15 minutes, 1m + avg latency",
            Box::new(|| {
                let range = format!("@timestamp:[{} TO *]", tantivy_date(since));
                aggregate(&searchers, &minute_avg, Some(&range))
            }),
        ),
        (
            "date_histogram 1h + avg latency",
            Box::new(|| {
                aggregate(
                    &searchers,
                    &hour(json!({"lat": {"avg": {"field": "_val.latency_ms"}}})),
                    None,
                )
            }),
        ),
        (
            "date_histogram 1h by top 5 services",
            Box::new(|| {
                let by = json!({"s": {"terms": {"field": "_val.service", "size": 5}}});
                aggregate(&searchers, &hour(by), None)
            }),
        ),
        (
            "percentiles 50/95/99 of latency",
            Box::new(|| {
                let req = json!({"p": {"percentiles": {"field": "_val.latency_ms", "percents": [50.0, 95.0, 99.0]}}});
                aggregate(&searchers, &req, None)
            }),
        ),
        (
            "cardinality of path",
            Box::new(|| {
                aggregate(
                    &searchers,
                    &json!({"c": {"cardinality": {"field": "_val.path"}}}),
                    None,
                )
            }),
        ),
        (
            "_count of the last 6 hours",
            Box::new(|| {
                let range = format!("@timestamp:[{} TO *]", tantivy_date(since6h));
                count(&searchers, &range)
            }),
        ),
    ];
    for (name, run) in &questions {
        // Warm-ups as bench/query.py gives every engine: at least two, and at least 0.3 s.
        let started = Instant::now();
        let answer = run()?;
        run()?;
        while started.elapsed().as_secs_f64() < 0.3 {
            run()?;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            run()?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{}",
            json!({"question": name, "p50_ms": percentile(&times, 50.0), "p99_ms": percentile(&times, 99.0), "answer": answer})
        );
    }
    Ok(())
}

/// Epoch ms as the RFC 3339 text tantivy's query grammar reads for dates.
fn tantivy_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}
