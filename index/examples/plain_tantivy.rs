//! The reference for Hydrant's ingest benchmark: index an NDJSON file with tantivy directly —
//! no HTTP, no write-ahead log, no Hydrant mapping — and report docs/s and MB/s.
//!
//! Schema: one JSON field for the whole record (tokenized with positions, stored, so that the
//! source comes back as Hydrant's `_source` does) and a fast `@timestamp` date field, which is
//! the least an index of logs needs. Two writer threads, one commit at the end.
//!
//! Usage: `cargo run --release -p hydrant-index --example plain_tantivy -- FILE [THREADS]`

use std::io::BufRead;
use std::time::Instant;

use serde_json::{Map, Value};
use tantivy::schema::{
    DateOptions, DateTimePrecision, INDEXED, IndexRecordOption, JsonObjectOptions, OwnedValue,
    Schema, TextFieldIndexing,
};
use tantivy::{DateTime, Index, TantivyDocument};

/// The allocator Hydrant's binary uses, for both sides of the comparison.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use common::cpu_seconds;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: plain_tantivy FILE [THREADS]")?;
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(2);
    let dir = tempfile::tempdir()?;
    let mut b = Schema::builder();
    let body = b.add_json_field(
        "body",
        JsonObjectOptions::default()
            .set_stored()
            .set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("default")
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
    );
    let ts = b.add_date_field(
        "@timestamp",
        DateOptions::from(INDEXED)
            .set_fast()
            .set_precision(DateTimePrecision::Milliseconds),
    );
    let index = Index::create_in_dir(dir.path(), b.build())?;
    let mut writer =
        index.writer_with_num_threads(threads, 128 * 1024 * 1024 * threads.max(1) / 2)?;
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&path)?);
    let started = Instant::now();
    let cpu0 = cpu_seconds();
    let (mut docs, mut bytes) = (0u64, 0u64);
    for line in file.lines() {
        let line = line?;
        bytes += line.len() as u64;
        let obj: Map<String, Value> = match serde_json::from_str(&line) {
            Ok(o) => o,
            Err(_) => {
                let mut m = Map::new();
                m.insert("message".into(), Value::String(line.clone()));
                m
            }
        };
        let mut doc = TantivyDocument::new();
        if let Some(t) = obj.get("@timestamp").and_then(Value::as_str)
            && let Ok(d) = chrono::DateTime::parse_from_rfc3339(t)
        {
            doc.add_date(ts, DateTime::from_timestamp_millis(d.timestamp_millis()));
        }
        let fields: Vec<(String, OwnedValue)> = obj
            .into_iter()
            .map(|(k, v)| (k, OwnedValue::from(v)))
            .collect();
        doc.add_field_value(body, &OwnedValue::Object(fields));
        writer.add_document(doc)?;
        docs += 1;
    }
    writer.commit()?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{{\"docs\": {docs}, \"bytes\": {bytes}, \"seconds\": {secs:.3}, \"cpu_seconds\": {cpu:.2}, \"docs_per_sec\": {:.0}, \"mb_per_sec\": {:.2}, \"threads\": {threads}}}",
        docs as f64 / secs,
        bytes as f64 / secs / 1e6
    );
    Ok(())
}
