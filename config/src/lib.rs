//! Hydrant's configuration: one TOML file for everything, with documented defaults,
//! `HYDRANT_*` environment overrides and validation that reports every problem at once.
//!
//! The main type is [`Config`], produced by [`Config::parse`] (from text) or [`Config::load`]
//! (from a file). Each room of Hydrant receives the typed part it needs ([`StreamConfig`],
//! [`HttpConfig`], …); nothing below the binary reads files or the environment itself.
//!
//! This crate owns the file format and its validation. It does not own behaviour: what a
//! setting does is implemented (and documented in detail) by the room that consumes it.
//!
//! ```
//! use std::collections::BTreeMap;
//! use hydrant_config::Config;
//!
//! let env = BTreeMap::from([("HYDRANT_LISTEN".to_string(), "127.0.0.1:9300".to_string())]);
//! let config = Config::parse("[defaults]\nbuffer_interval = \"5s\"\n", &env).unwrap();
//! assert_eq!(config.listen.port(), 9300);
//! assert_eq!(config.stream("web").buffer_interval.as_secs(), 5);
//! ```
#![deny(missing_docs)]

mod elasticsearch;
mod env;
mod index;
mod reader;
mod security;
mod sigproxy;
mod storage;
mod stream;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use elasticsearch::{
    BulkAction, DocumentIdMode, ElasticsearchConfig, EndpointSelection, EsAuth, RotationTime,
};
pub use index::{FieldType, IndexSettings, MappingConfig, MappingMode, SizingConfig, SizingMode};
pub use reader::{parse_duration_str, parse_size_str, show_duration, show_size};
pub use security::{Role, TlsConfig, UserConfig, exposure_problem};
pub use sigproxy::{AuthConfig, SecretText, SigningService, SigproxyConfig, Sigv4AuthConfig};
pub use storage::{StorageConfig, StorageKind};
pub use stream::{
    BackupConfig, BackupFormat, BackupMode, Compression, FsyncPolicy, RecordFormat, Rotation,
    Secret, StreamConfig, check_prefix, validate_stream_name,
};

use reader::Section;

/// Size units used throughout.
pub const KIB: u64 = 1024;
/// One mebibyte.
pub const MIB: u64 = 1024 * KIB;
/// One gibibyte.
pub const GIB: u64 = 1024 * MIB;

/// The validated configuration of one Hydrant process.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Address the HTTP API listens on. Default `127.0.0.1:9200`, Elasticsearch's port.
    pub listen: SocketAddr,
    /// Directory holding the write-ahead logs and indices. Default `./hydrant-data`.
    pub data_dir: PathBuf,
    /// HTTP server limits.
    pub http: HttpConfig,
    /// Search limits.
    pub query: QueryConfig,
    /// Ingest-wide settings.
    pub ingest: IngestConfig,
    /// The SigV4 signing proxy (`hydrant sigproxy`).
    pub sigproxy: SigproxyConfig,
    /// Authentication of requests to Hydrant's own API.
    pub auth: AuthConfig,
    /// Settings of every stream not listed in `streams`, and the base of those that are.
    pub defaults: StreamConfig,
    /// Streams configured by name.
    pub streams: BTreeMap<String, StreamConfig>,
    /// Object storage for backups and the error output.
    pub storage: StorageConfig,
    /// Ingest pipelines declared here (`[pipelines.<id>]`, Elasticsearch's pipeline definition
    /// written in TOML): read-only through the API.
    pub pipelines: BTreeMap<String, toml::Table>,
}

/// Limits of the HTTP server.
#[derive(Debug, Clone, Serialize)]
pub struct HttpConfig {
    /// Largest request body accepted, compressed or not (413 past it). Default 100 MiB.
    #[serde(serialize_with = "ser_size")]
    pub max_body_size: u64,
    /// Largest body after gzip decompression (413 past it). Default 256 MiB.
    #[serde(serialize_with = "ser_size")]
    pub max_decompressed_size: u64,
    /// Longest a request may take before it is answered 408. Default 5 minutes.
    #[serde(serialize_with = "ser_duration")]
    pub request_timeout: Duration,
    /// Serve HTTPS with this certificate (`[http.tls]`); plain HTTP without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    /// Listen on a non-loopback address without TLS or authentication anyway. Default false:
    /// `serve` refuses to start that way.
    pub allow_insecure_remote: bool,
}

/// Limits of the search API, so that slow or many searches cannot take every worker.
#[derive(Debug, Clone, Serialize)]
pub struct QueryConfig {
    /// Searches run at once (Elasticsearch's `search` thread pool size). Default
    /// `cores × 3 / 2 + 1`, as Elasticsearch sizes it.
    pub max_concurrent_searches: u64,
    /// Searches waiting for one of those places before more are refused with 429
    /// (the pool's queue size). Default 1,000.
    pub max_queued_searches: u64,
    /// A search without its own `timeout` stops after this long and answers what it found,
    /// with `timed_out: true` (Elasticsearch's `search.default_search_timeout`). Default 5
    /// minutes.
    #[serde(serialize_with = "ser_duration")]
    pub default_search_timeout: Duration,
    /// Bytes of per-segment results the request cache keeps for repeated `size: 0` searches
    /// (Elasticsearch's `indices.requests.cache.size`); 0 turns it off. Default 64 MiB.
    #[serde(serialize_with = "ser_size")]
    pub request_cache_size: u64,
    /// Segments with fewer documents are searched again rather than cached (they are cheap
    /// and soon merged away). Default 10,000.
    pub request_cache_min_docs: u64,
}

/// Settings shared by every stream's ingest.
#[derive(Debug, Clone, Serialize)]
pub struct IngestConfig {
    /// Whether a write to an unknown stream creates it with the defaults (else 404).
    pub auto_create_streams: bool,
    /// Largest single record, in bytes (Firehose's limit is 1,000 KiB).
    #[serde(serialize_with = "ser_size")]
    pub max_record_size: u64,
    /// Bytes buffered across all streams before receivers answer 429.
    #[serde(serialize_with = "ser_size")]
    pub max_buffered_size: u64,
    /// `DELETE /{index}` must name indices: wildcards and `_all` are refused.
    pub destructive_requires_name: bool,
    /// MaxMind-format databases the `geoip` processor reads, by the name its
    /// `database_file` gives (`"GeoLite2-City.mmdb" = "/var/lib/GeoIP/GeoLite2-City.mmdb"`).
    pub geoip_databases: BTreeMap<String, PathBuf>,
}

/// One problem found in a configuration: the dotted key and a message naming the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted key, such as `defaults.buffer_size`.
    pub key: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Every problem found in a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("config file is not valid TOML: {0}")]
    Syntax(String),
    /// The file is TOML but some values are not acceptable.
    #[error("{}", ProblemList(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The individual problems (one for syntax and read errors).
    pub fn problems(&self) -> Vec<String> {
        match self {
            ConfigError::Invalid(problems) => problems.iter().map(|p| p.message.clone()).collect(),
            other => vec![other.to_string()],
        }
    }
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", p.message)?;
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        // The empty file is valid by construction; an error here is a bug in the defaults.
        match Config::parse("", &BTreeMap::new()) {
            Ok(config) => config,
            Err(e) => panic!("built-in defaults are invalid: {e}"),
        }
    }
}

impl Config {
    /// Reads and validates a config file, applying `HYDRANT_*` overrides from `env`.
    pub fn load(path: &Path, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, env)
    }

    /// Parses and validates config text, applying `HYDRANT_*` overrides from `env`.
    ///
    /// `env` is passed in (rather than read here) so that tests never touch the process
    /// environment. Variables are named after the dotted key, upper-cased, with `__` between
    /// levels: `HYDRANT_LISTEN`, `HYDRANT_DEFAULTS__BUFFER_SIZE`, `HYDRANT_STREAMS__WEB__FSYNC`.
    pub fn parse(text: &str, env: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax(e.to_string()))?;
        let mut problems = Vec::new();
        env::apply_overrides(&mut table, env, &mut problems);
        let config = read_config(table, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    /// The settings of stream `name`: its own table when configured, else the defaults.
    pub fn stream(&self, name: &str) -> StreamConfig {
        self.streams
            .get(name)
            .cloned()
            .unwrap_or_else(|| self.defaults.clone())
    }

    /// The effective configuration as TOML, every default filled in.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// Directory of the write-ahead logs.
    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir.join("wal")
    }

    /// Directory of the indices.
    pub fn indices_dir(&self) -> PathBuf {
        self.data_dir.join("indices")
    }

    /// Directory of the local object store (relative `storage.path` is under `data_dir`).
    pub fn storage_dir(&self) -> PathBuf {
        if self.storage.path.is_absolute() {
            self.storage.path.clone()
        } else {
            self.data_dir.join(&self.storage.path)
        }
    }
}

fn read_config(table: toml::Table, problems: &mut Vec<Problem>) -> Config {
    let mut root = Section::new("", table, problems);
    let listen_text = root.string("listen", "127.0.0.1:9200");
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(addr) => addr,
        Err(_) => {
            root.problem(
                "listen",
                format!(
                    "`listen` must be an address with a port such as \"127.0.0.1:9200\", got `{listen_text}`"
                ),
            );
            SocketAddr::from(([127, 0, 0, 1], 9200))
        }
    };
    let data_dir = PathBuf::from(root.string("data_dir", "./hydrant-data"));
    if data_dir.as_os_str().is_empty() {
        root.problem("data_dir", "`data_dir` must not be empty".to_string());
    }

    let http = {
        let mut s = root.section("http");
        let http = HttpConfig {
            max_body_size: s.size("max_body_size", 100 * MIB, 64 * KIB, 4 * GIB),
            max_decompressed_size: s.size("max_decompressed_size", 256 * MIB, 64 * KIB, 16 * GIB),
            request_timeout: s.duration(
                "request_timeout",
                Duration::from_secs(300),
                Duration::from_secs(1),
                Duration::from_secs(3600),
            ),
            tls: security::read_tls(&mut s),
            allow_insecure_remote: s.bool("allow_insecure_remote", false),
        };
        s.finish();
        http
    };

    let query = {
        let mut s = root.section("query");
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get() as u64);
        let query = QueryConfig {
            max_concurrent_searches: s.int("max_concurrent_searches", cores * 3 / 2 + 1, 1, 4096),
            max_queued_searches: s.int("max_queued_searches", 1000, 0, 1_000_000),
            default_search_timeout: s.duration(
                "default_search_timeout",
                Duration::from_secs(300),
                Duration::from_millis(1),
                Duration::from_secs(24 * 3600),
            ),
            request_cache_size: s.size("request_cache_size", 64 << 20, 0, 1 << 40),
            request_cache_min_docs: s.int("request_cache_min_docs", 10_000, 0, u64::from(u32::MAX)),
        };
        s.finish();
        query
    };

    let ingest = {
        let mut s = root.section("ingest");
        let mut ingest = IngestConfig {
            auto_create_streams: s.bool("auto_create_streams", true),
            max_record_size: s.size("max_record_size", 1_024_000, 1, 64 * MIB),
            max_buffered_size: s.size("max_buffered_size", GIB, MIB, 1024 * GIB),
            destructive_requires_name: s.bool("destructive_requires_name", true),
            geoip_databases: BTreeMap::new(),
        };
        for (name, path) in s.raw_table("geoip_databases") {
            match path {
                toml::Value::String(p) if !p.is_empty() => {
                    ingest.geoip_databases.insert(name, PathBuf::from(p));
                }
                other => s.problem(
                    "geoip_databases",
                    format!("`ingest.geoip_databases.{name}` must be the path of a .mmdb file, got `{other}`"),
                ),
            }
        }
        s.finish();
        ingest
    };

    let storage = storage::read_storage(root.section("storage"));
    let builtin = StreamConfig::builtin();
    let defaults = {
        let s = root.section("defaults");
        stream::read_stream(s, &builtin)
    };

    let sigproxy = sigproxy::read_sigproxy(root.section("sigproxy"));
    let auth = sigproxy::read_auth(root.section("auth"));

    let stream_tables = root.raw_table("streams");
    let mut streams = BTreeMap::new();
    for (name, value) in stream_tables {
        let key = format!("streams.{name}");
        if let Err(why) = validate_stream_name(&name) {
            root.problem(
                &key,
                format!("stream name `{name}` under `[streams]` is not allowed: {why}"),
            );
            continue;
        }
        let toml::Value::Table(t) = value else {
            root.problem(&key, format!("`{key}` must be a table, got `{value}`"));
            continue;
        };
        let section = Section::new(&key, t, root.problems());
        streams.insert(name, stream::read_stream(section, &defaults));
    }
    let mut pipelines = BTreeMap::new();
    for (id, value) in root.raw_table("pipelines") {
        match value {
            toml::Value::Table(t) => {
                pipelines.insert(id, t);
            }
            other => root.problem(
                "pipelines",
                format!("`pipelines.{id}` must be a table (a pipeline definition), got `{other}`"),
            ),
        }
    }
    root.finish();

    Config {
        listen,
        data_dir,
        http,
        query,
        ingest,
        sigproxy,
        auth,
        defaults,
        streams,
        storage,
        pipelines,
    }
}

pub(crate) fn ser_size<S: serde::Serializer>(bytes: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&show_size(*bytes))
}

pub(crate) fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&show_duration(*d))
}

#[cfg(test)]
mod tests;
