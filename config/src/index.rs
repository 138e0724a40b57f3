//! A stream's embedded index: rotation, refresh, writers, retention, doc mapping and the
//! sizing plan its shard counts come from.

use std::time::Duration;

use serde::Serialize;

use crate::reader::{Choice, Section};
use crate::stream::Rotation;
use crate::{GIB, KIB, MIB, ser_duration, ser_size};

/// The type of an explicitly mapped field (Elasticsearch's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// An exact string: terms, sorting, aggregations.
    Keyword,
    /// Full text, tokenized.
    Text,
    /// A signed 64-bit integer.
    Long,
    /// A 64-bit float.
    Double,
    /// true or false.
    Boolean,
    /// A date (RFC 3339 or epoch milliseconds).
    Date,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A point on the earth (latitude and longitude).
    #[serde(rename = "geo_point")]
    GeoPoint,
}

impl Choice for FieldType {
    const ALLOWED: &'static [&'static str] = &[
        "keyword",
        "text",
        "long",
        "double",
        "boolean",
        "date",
        "ip",
        "geo_point",
    ];
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "keyword" => FieldType::Keyword,
            "text" => FieldType::Text,
            "long" => FieldType::Long,
            "double" => FieldType::Double,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "ip" => FieldType::Ip,
            "geo_point" => FieldType::GeoPoint,
            _ => return None,
        })
    }
}

/// What happens to fields that are not mapped explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingMode {
    /// Mapped dynamically, as Elasticsearch's default dynamic mapping does.
    Dynamic,
    /// Refused: a record with an unmapped field is rejected alone.
    Strict,
}

impl Choice for MappingMode {
    const ALLOWED: &'static [&'static str] = &["dynamic", "strict"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "dynamic" => Some(MappingMode::Dynamic),
            "strict" => Some(MappingMode::Strict),
            _ => None,
        }
    }
}

/// A stream's doc mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MappingConfig {
    /// Unmapped fields: dynamic or strict.
    pub mode: MappingMode,
    /// Explicit fields by dotted path, in the order they are declared.
    pub fields: Vec<(String, FieldType)>,
}

/// Where a new index's shard count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SizingMode {
    /// From the configured daily volume.
    Configured,
    /// From the volume observed in the previous period (the configured one until there is one).
    Observed,
}

impl Choice for SizingMode {
    const ALLOWED: &'static [&'static str] = &["configured", "observed"];
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "configured" => Some(SizingMode::Configured),
            "observed" => Some(SizingMode::Observed),
            _ => None,
        }
    }
}

/// The data pattern a stream's shards are sized for.
#[derive(Debug, Clone, Serialize)]
pub struct SizingConfig {
    /// Configured or observed volume.
    pub mode: SizingMode,
    /// Source data per day.
    #[serde(serialize_with = "ser_size")]
    pub daily_volume: u64,
    /// Target size of one shard (AWS's guidance for logs: 30–50 GiB).
    #[serde(serialize_with = "ser_size")]
    pub target_shard_size: u64,
    /// Growth headroom added to each index's volume.
    #[serde(serialize_with = "ser_size")]
    pub growth: u64,
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
    /// Indices whose whole period is older than this are deleted (0: kept forever).
    #[serde(serialize_with = "ser_duration")]
    pub retention: Duration,
    /// The doc mapping.
    #[serde(serialize_with = "ser_mapping")]
    pub mapping: MappingConfig,
    /// The sizing plan.
    pub sizing: SizingConfig,
}

fn ser_mapping<S: serde::Serializer>(m: &MappingConfig, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    struct Fields<'a>(&'a [(String, FieldType)]);
    impl Serialize for Fields<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (path, kind) in self.0 {
                map.serialize_entry(path, kind)?;
            }
            map.end()
        }
    }
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("mode", &m.mode)?;
    map.serialize_entry("fields", &Fields(&m.fields))?;
    map.end()
}

impl IndexSettings {
    /// The built-in defaults.
    pub fn builtin() -> IndexSettings {
        IndexSettings {
            enabled: true,
            rotation: Rotation::OneDay,
            refresh_interval: Duration::from_secs(1),
            writer_threads: 2,
            writer_memory: 128 * MIB,
            retention: Duration::ZERO,
            mapping: MappingConfig {
                mode: MappingMode::Dynamic,
                fields: Vec::new(),
            },
            sizing: SizingConfig {
                mode: SizingMode::Configured,
                daily_volume: GIB,
                target_shard_size: 30 * GIB,
                growth: 0,
            },
        }
    }
}

/// Paths that are not document fields.
const RESERVED: [&str; 4] = ["_id", "_source", "@timestamp", "_index"];

/// Reads `[…index]`, taking unset values from `base`.
pub(crate) fn read_index(mut t: Section<'_>, base: &IndexSettings) -> IndexSettings {
    let writer_threads = t.int("writer_threads", base.writer_threads, 1, 16);
    let writer_memory = t.size("writer_memory", base.writer_memory, 16 * MIB, 16 * GIB);
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
    let enabled = t.bool("enabled", base.enabled);
    let rotation = t.choice("rotation", base.rotation);
    let refresh_interval = t.duration(
        "refresh_interval",
        base.refresh_interval,
        Duration::from_millis(10),
        Duration::from_secs(3600),
    );
    let retention = t.duration(
        "retention",
        base.retention,
        Duration::ZERO,
        Duration::from_secs(100 * 365 * 86_400),
    );
    let mapping = read_mapping(t.section("mapping"), &base.mapping);
    let sizing = {
        let mut z = t.section("sizing");
        let b = &base.sizing;
        let sizing = SizingConfig {
            mode: z.choice("mode", b.mode),
            daily_volume: z.size("daily_volume", b.daily_volume, 1, 1024 * 1024 * GIB),
            target_shard_size: z.size("target_shard_size", b.target_shard_size, MIB, 1024 * GIB),
            growth: z.size("growth", b.growth, 0, 1024 * 1024 * GIB),
        };
        z.finish();
        sizing
    };
    t.finish();
    IndexSettings {
        enabled,
        rotation,
        refresh_interval,
        writer_threads,
        writer_memory,
        retention,
        mapping,
        sizing,
    }
}

fn read_mapping(mut m: Section<'_>, base: &MappingConfig) -> MappingConfig {
    let mode = m.choice("mode", base.mode);
    let fields = if m.has("fields") {
        let key = m.key("fields");
        let table = m.raw_table("fields");
        let mut fields = Vec::new();
        let mut section = Section::new(&key, table.clone(), m.problems());
        for (path, _) in table {
            if let Err(why) = check_path(&path) {
                section.problem(&path, format!("field `{path}` in `{key}` {why}"));
                let _ = section.string(&path, "");
                continue;
            }
            let kind = section.choice(&path, FieldType::Keyword);
            fields.push((path, kind));
        }
        section.finish();
        fields
    } else {
        base.fields.clone()
    };
    m.finish();
    MappingConfig { mode, fields }
}

fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() || path.starts_with('.') || path.ends_with('.') || path.contains("..") {
        return Err("is not a dotted path such as `http.status`".to_string());
    }
    if RESERVED.contains(&path) {
        return Err("is reserved (it always has its own meaning)".to_string());
    }
    if path.ends_with(".keyword") {
        return Err(
            "must not end with `.keyword` (that suffix addresses a string's exact form)"
                .to_string(),
        );
    }
    Ok(())
}
