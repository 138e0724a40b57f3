//! Hydrant's indexer alone — doc mapping, rotation, shard routing, commit checkpoints — over an
//! NDJSON file, reporting docs/s and MB/s (and CPU seconds, for per-core figures). Compare with
//! `plain_tantivy` on the same file (bench/index.sh runs both).
//!
//! Usage: `cargo run --release -p hydrant-index --example index_bench -- FILE [THREADS] [REFRESH_SECS]`
//!
//! With `REFRESH_SECS`, the indexer commits (makes what it has searchable) whenever that many
//! seconds have passed, as `serve` does every `refresh_interval`; without, once at the end.

use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;

use hydrant_config::{IndexSettings, Rotation};
use hydrant_index::{Catalog, SourceDoc, StreamIndexer};

/// The allocator Hydrant's binary uses, for both sides of the comparison.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use common::cpu_seconds;

#[derive(serde::Deserialize)]
struct TimeField<'a> {
    #[serde(rename = "@timestamp", borrow, default)]
    at_timestamp: Option<&'a str>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: index_bench FILE [THREADS]")?;
    let threads: u64 = args.next().map(|t| t.parse()).transpose()?.unwrap_or(2);
    let refresh: Option<f64> = args.next().map(|t| t.parse()).transpose()?;
    let dir = tempfile::tempdir()?;
    let catalog = Arc::new(Catalog::open(dir.path())?);
    let mut settings = IndexSettings::builtin();
    settings.rotation = Rotation::OneDay;
    settings.writer_threads = threads;
    settings.writer_memory = 128 * 1024 * 1024 * threads / 2;
    let mut indexer = StreamIndexer::new(catalog.clone(), "bench", settings);
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
    let started = Instant::now();
    let cpu0 = cpu_seconds();
    let (mut docs, mut bytes) = (0u64, 0u64);
    // Records go in as ingest delivers them: in batches (about 1 MiB, the default buffer size).
    let mut lines: Vec<(u64, String, i64, Vec<u8>)> = Vec::new();
    let flush = |indexer: &mut StreamIndexer,
                 lines: &mut Vec<(u64, String, i64, Vec<u8>)>|
     -> Result<(), Box<dyn std::error::Error>> {
        let batch: Vec<(u64, SourceDoc<'_>, bool)> = lines
            .iter()
            .map(|(pos, id, ts, src)| {
                (
                    *pos,
                    SourceDoc {
                        id,
                        timestamp_ms: *ts,
                        source: src,
                    },
                    false,
                )
            })
            .collect();
        indexer.add_batch(&batch)?;
        lines.clear();
        Ok(())
    };
    let mut pending = 0usize;
    let mut last_commit = Instant::now();
    for line in file.split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        bytes += line.len() as u64;
        docs += 1;
        // The event time: the samples carry `@timestamp` as an RFC 3339 string (the receivers also
        // take `timestamp`, epoch numbers and escaped strings; the samples have none of those).
        let ts = serde_json::from_slice::<TimeField<'_>>(&line)
            .ok()
            .and_then(|t| t.at_timestamp)
            .and_then(hydrant_index::timestamp::parse_timestamp_str)
            .unwrap_or(0);
        pending += line.len();
        // Ids as ingest makes them for records that come without one.
        let arrival = chrono::Utc::now().timestamp_millis();
        lines.push((docs, hydrant_index::new_id(arrival).into(), ts, line));
        if pending >= 1 << 20 {
            flush(&mut indexer, &mut lines)?;
            pending = 0;
            if let Some(every) = refresh
                && last_commit.elapsed().as_secs_f64() >= every
            {
                indexer.commit(docs)?;
                last_commit = Instant::now();
            }
        }
    }
    flush(&mut indexer, &mut lines)?;

    indexer.close(docs)?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let indices = catalog.list().len();
    println!(
        "{{\"docs\": {docs}, \"bytes\": {bytes}, \"seconds\": {secs:.3}, \"cpu_seconds\": {cpu:.2}, \"docs_per_sec\": {:.0}, \"mb_per_sec\": {:.2}, \"threads\": {threads}, \"indices\": {indices}}}",
        docs as f64 / secs,
        bytes as f64 / secs / 1e6
    );
    Ok(())
}
