//! Per-stream settings: record format, buffering hints, durability, delivery, indexing.

use std::time::Duration;

use serde::Serialize;

use crate::reader::{Choice, Section};
use crate::{GIB, KIB, MIB, ser_duration, ser_size};

/// How a stream reads record bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    /// Each record is one JSON object.
    Json,
    /// Each record is a line of text, indexed as `{"message": "<line>"}`.
    Text,
}

impl Choice for RecordFormat {
    const ALLOWED: &'static [&'static str] = &["json", "text"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "json" => Some(RecordFormat::Json),
            "text" => Some(RecordFormat::Text),
            _ => None,
        }
    }
}

/// When the write-ahead log is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// fsync (grouped across concurrent requests) before every acknowledgement.
    Always,
    /// fsync every `fsync_interval`; a crash may lose the last interval of acknowledged data.
    Interval,
}

impl Choice for FsyncPolicy {
    const ALLOWED: &'static [&'static str] = &["always", "interval"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "always" => Some(FsyncPolicy::Always),
            "interval" => Some(FsyncPolicy::Interval),
            _ => None,
        }
    }
}

/// How often a stream starts a new index (Firehose's `IndexRotationPeriod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Rotation {
    /// One index for the stream's whole life.
    NoRotation,
    /// A new index every hour (`web-2026-11-26-13`).
    OneHour,
    /// A new index every day (`web-2026-11-26`).
    OneDay,
    /// A new index every ISO week (`web-2026-w47`).
    OneWeek,
    /// A new index every month (`web-2026-11`).
    OneMonth,
}

impl Choice for Rotation {
    const ALLOWED: &'static [&'static str] =
        &["NoRotation", "OneHour", "OneDay", "OneWeek", "OneMonth"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "NoRotation" => Some(Rotation::NoRotation),
            "OneHour" => Some(Rotation::OneHour),
            "OneDay" => Some(Rotation::OneDay),
            "OneWeek" => Some(Rotation::OneWeek),
            "OneMonth" => Some(Rotation::OneMonth),
            _ => None,
        }
    }
}

/// The settings of one stream.
#[derive(Debug, Clone, Serialize)]
pub struct StreamConfig {
    /// How request bodies are read: `json` objects, or `text` lines.
    pub record_format: RecordFormat,
    /// Buffering hint: flush once this many bytes are buffered (1 MiB–128 MiB).
    #[serde(serialize_with = "ser_size")]
    pub buffer_size: u64,
    /// Buffering hint: flush once the oldest buffered record is this old (0–900 s).
    #[serde(serialize_with = "ser_duration")]
    pub buffer_interval: Duration,
    /// When the write-ahead log is fsynced.
    pub fsync: FsyncPolicy,
    /// Period of background fsyncs under `fsync = "interval"`.
    #[serde(serialize_with = "ser_duration")]
    pub fsync_interval: Duration,
    /// How long delivery to a destination is retried before records go to the error output.
    #[serde(serialize_with = "ser_duration")]
    pub retry_duration: Duration,
    /// Bytes accepted but not yet delivered everywhere before this stream answers 429.
    #[serde(serialize_with = "ser_size")]
    pub max_buffered_size: u64,
    /// The embedded index destination.
    pub index: IndexSettings,
}

/// Settings of a stream's embedded tantivy index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexSettings {
    /// Whether records are indexed in the embedded index.
    pub enabled: bool,
    /// How often a new index is started, by each record's `@timestamp`.
    pub rotation: Rotation,
    /// Least time between two commits (what makes new records searchable).
    #[serde(serialize_with = "ser_duration")]
    pub refresh_interval: Duration,
    /// Indexing threads per shard writer.
    pub writer_threads: u64,
    /// Indexing memory per shard writer, shared by its threads.
    #[serde(serialize_with = "ser_size")]
    pub writer_memory: u64,
}

impl StreamConfig {
    /// The built-in defaults, favouring freshness: 1 MiB / 1 s buffers, fsync always.
    pub fn builtin() -> StreamConfig {
        StreamConfig {
            record_format: RecordFormat::Json,
            buffer_size: MIB,
            buffer_interval: Duration::from_secs(1),
            fsync: FsyncPolicy::Always,
            fsync_interval: Duration::from_millis(200),
            retry_duration: Duration::from_secs(300),
            max_buffered_size: 256 * MIB,
            index: IndexSettings {
                enabled: true,
                rotation: Rotation::OneDay,
                refresh_interval: Duration::from_secs(1),
                writer_threads: 2,
                writer_memory: 128 * MIB,
            },
        }
    }
}

/// Reads a stream table, taking unset values from `base`.
pub(crate) fn read_stream(mut s: Section<'_>, base: &StreamConfig) -> StreamConfig {
    let record_format = s.choice("record_format", base.record_format);
    let buffer_size = s.size("buffer_size", base.buffer_size, MIB, 128 * MIB);
    let buffer_interval = s.duration(
        "buffer_interval",
        base.buffer_interval,
        Duration::ZERO,
        Duration::from_secs(900),
    );
    let fsync = s.choice("fsync", base.fsync);
    let fsync_interval = s.duration(
        "fsync_interval",
        base.fsync_interval,
        Duration::from_millis(1),
        Duration::from_secs(60),
    );
    let retry_duration = s.duration(
        "retry_duration",
        base.retry_duration,
        Duration::ZERO,
        Duration::from_secs(7200),
    );
    let max_buffered_size = s.size("max_buffered_size", base.max_buffered_size, MIB, 1024 * GIB);
    if max_buffered_size < buffer_size {
        let key = s.key("max_buffered_size");
        s.problem(
            "max_buffered_size",
            format!(
                "`{key}` must be at least the buffer size ({}), got `{}`",
                crate::show_size(buffer_size),
                crate::show_size(max_buffered_size)
            ),
        );
    }
    let index = {
        let mut t = s.section("index");
        let writer_threads = t.int("writer_threads", base.index.writer_threads, 1, 16);
        let writer_memory = t.size(
            "writer_memory",
            base.index.writer_memory,
            16 * MIB,
            16 * GIB,
        );
        // tantivy needs at least 15 MB of arena per indexing thread.
        if writer_memory / writer_threads.max(1) < 15 * 1000 * KIB {
            let key = t.key("writer_memory");
            t.problem(
                "writer_memory",
                format!(
                    "`{key}` must give each of the {writer_threads} writer threads at least 15 MB, got `{}`",
                    crate::show_size(writer_memory)
                ),
            );
        }
        let index = IndexSettings {
            enabled: t.bool("enabled", base.index.enabled),
            rotation: t.choice("rotation", base.index.rotation),
            refresh_interval: t.duration(
                "refresh_interval",
                base.index.refresh_interval,
                Duration::from_millis(10),
                Duration::from_secs(3600),
            ),
            writer_threads,
            writer_memory,
        };
        t.finish();
        index
    };
    s.finish();
    StreamConfig {
        record_format,
        buffer_size,
        buffer_interval,
        fsync,
        fsync_interval,
        retry_duration,
        max_buffered_size,
        index,
    }
}

/// Checks a stream name against Elasticsearch's index-name rules, since the stream name is
/// also the alias searched by clients: lowercase, no `\ / * ? " < > | , #`, spaces or `:`, not
/// starting with `-`, `_` or `+`, not `.` or `..`, at most 200 bytes (rotation suffixes are
/// appended to it).
pub fn validate_stream_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".to_string());
    }
    if name.len() > 200 {
        return Err(format!("it is {} bytes long, the limit is 200", name.len()));
    }
    if name == "." || name == ".." {
        return Err("`.` and `..` are reserved".to_string());
    }
    if let Some(c) = name.chars().next()
        && matches!(c, '-' | '_' | '+')
    {
        return Err(format!("it must not start with `{c}`"));
    }
    for c in name.chars() {
        if c.is_uppercase() {
            return Err("it must be lowercase".to_string());
        }
        if matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ' ' | ':'
        ) || c.is_control()
        {
            return Err(format!("it must not contain `{c}`"));
        }
    }
    Ok(())
}
