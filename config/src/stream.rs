//! Per-stream settings: record format, buffering hints, durability, delivery, indexing.

use std::time::Duration;

use serde::Serialize;

use crate::elasticsearch::{ElasticsearchConfig, read_elasticsearch};
use crate::index::IndexSettings;
use crate::reader::{Choice, Section};
use crate::{GIB, MIB, ser_duration, ser_size};

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

/// Which records go to the backup (Firehose's `S3BackupMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BackupMode {
    /// Only records that could not be delivered (to the error output).
    FailedDocumentsOnly,
    /// Every record, plus the failed ones to the error output.
    AllDocuments,
}

impl Choice for BackupMode {
    const ALLOWED: &'static [&'static str] = &["FailedDocumentsOnly", "AllDocuments"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "FailedDocumentsOnly" => Some(BackupMode::FailedDocumentsOnly),
            "AllDocuments" => Some(BackupMode::AllDocuments),
            _ => None,
        }
    }
}

/// Compression of backup objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Compression {
    /// gzip (for Parquet: the file's internal GZIP codec).
    #[serde(rename = "GZIP")]
    Gzip,
    /// None.
    #[serde(rename = "UNCOMPRESSED")]
    Uncompressed,
}

impl Choice for Compression {
    const ALLOWED: &'static [&'static str] = &["GZIP", "UNCOMPRESSED"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "GZIP" => Some(Compression::Gzip),
            "UNCOMPRESSED" => Some(Compression::Uncompressed),
            _ => None,
        }
    }
}

/// Format of backup objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupFormat {
    /// One record per line, as received.
    Ndjson,
    /// Apache Parquet, the schema inferred from each batch's JSON records.
    Parquet,
}

impl Choice for BackupFormat {
    const ALLOWED: &'static [&'static str] = &["ndjson", "parquet"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "ndjson" => Some(BackupFormat::Ndjson),
            "parquet" => Some(BackupFormat::Parquet),
            _ => None,
        }
    }
}

/// A stream's backup to object storage and its error output.
#[derive(Debug, Clone, Serialize)]
pub struct BackupConfig {
    /// Which records are backed up.
    pub mode: BackupMode,
    /// Key prefix of backup objects; may hold `!{timestamp:yyyy-MM-dd}` expressions.
    pub prefix: String,
    /// Key prefix of the error output (records that could not be delivered).
    pub error_prefix: String,
    /// Compression of objects.
    pub compression: Compression,
    /// Format of backup objects.
    pub format: BackupFormat,
}

/// A secret string (an access key): shown as `***` in rendered configs and logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
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
    /// Access keys a writer must present (`X-Amz-Firehose-Access-Key` or a bearer token);
    /// empty: no check.
    pub access_keys: Vec<Secret>,
    /// Backup and error output.
    pub backup: BackupConfig,
    /// The Elasticsearch/OpenSearch destination.
    pub elasticsearch: ElasticsearchConfig,
    /// The embedded index destination.
    pub index: IndexSettings,
    /// The ingest pipeline records go through when a request names none
    /// (Elasticsearch's `index.default_pipeline`; `_none` in a request skips it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// The ingest pipeline every record goes through last, whatever the request names
    /// (Elasticsearch's `index.final_pipeline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_pipeline: Option<String>,
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
            access_keys: Vec::new(),
            backup: BackupConfig {
                mode: BackupMode::FailedDocumentsOnly,
                prefix: String::new(),
                error_prefix: "errors/".to_string(),
                compression: Compression::Gzip,
                format: BackupFormat::Ndjson,
            },
            elasticsearch: ElasticsearchConfig::builtin(),
            index: IndexSettings::builtin(),
            pipeline: None,
            final_pipeline: None,
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
    let access_keys = if s.has("access_keys") {
        s.string_list("access_keys")
            .into_iter()
            .map(Secret)
            .collect()
    } else {
        base.access_keys.clone()
    };
    let backup = {
        let mut t = s.section("backup");
        let b = &base.backup;
        let prefix = t.string("prefix", &b.prefix);
        let error_prefix = t.string("error_prefix", &b.error_prefix);
        for (key, value) in [("prefix", &prefix), ("error_prefix", &error_prefix)] {
            if let Err(why) = check_prefix(value) {
                let full = t.key(key);
                t.problem(key, format!("`{full}` {why}, got `{value}`"));
            }
        }
        let backup = BackupConfig {
            mode: t.choice("mode", b.mode),
            prefix,
            error_prefix,
            compression: t.choice("compression", b.compression),
            format: t.choice("format", b.format),
        };
        t.finish();
        backup
    };
    let index = crate::index::read_index(s.section("index"), &base.index);
    let elasticsearch = read_elasticsearch(s.section("elasticsearch"), &base.elasticsearch);
    let pipeline_name = |s: &mut Section<'_>, key: &str, base: &Option<String>| {
        if !s.has(key) {
            return base.clone();
        }
        let v = s.string(key, "");
        (!v.is_empty() && v != "_none").then_some(v)
    };
    let pipeline = pipeline_name(&mut s, "pipeline", &base.pipeline);
    let final_pipeline = pipeline_name(&mut s, "final_pipeline", &base.final_pipeline);
    s.finish();
    StreamConfig {
        record_format,
        buffer_size,
        buffer_interval,
        fsync,
        fsync_interval,
        retry_duration,
        max_buffered_size,
        access_keys,
        backup,
        elasticsearch,
        index,
        pipeline,
        final_pipeline,
    }
}

/// Checks a key prefix: `!{timestamp:<pattern>}` and `!{firehose:random-string}` /
/// `!{firehose:error-output-type}` are the expressions Firehose allows.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "has an unclosed `!{` expression".to_string())?;
        let expr = &after[..end];
        let ok = match expr.split_once(':') {
            Some(("timestamp", pattern)) => !pattern.is_empty(),
            Some(("firehose", "random-string" | "error-output-type")) => true,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "has the expression `!{{{expr}}}`; allowed are !{{timestamp:<pattern>}}, !{{firehose:random-string}} and !{{firehose:error-output-type}}"
            ));
        }
        rest = &after[end + 1..];
    }
    if prefix.starts_with('/') {
        return Err("must not start with `/`".to_string());
    }
    Ok(())
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
