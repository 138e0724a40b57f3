//! `index.json`: an index's metadata, as the catalog keeps it in memory ([`IndexMeta`]) and as
//! it is stored on disk — a type of this room's own, so that changing how the configuration
//! is modelled never changes what is on disk.
//!
//! # Format (version 1)
//!
//! ```json
//! {
//!   "version": 1,
//!   "stream": "web",
//!   "shards": 2,
//!   "period": {"start_ms": 1764115200000, "end_ms": 1764201600000},
//!   "created_ms": 1764115200123,
//!   "mapping": {"mode": "dynamic", "fields": [["status", "long"], ["client", "ip"]]}
//! }
//! ```
//!
//! `period` is `null` for a stream's only index (no rotation); `mapping` may be missing (files
//! written before it existed), which reads as the dynamic mapping. The file is written to a
//! temporary file, synced and renamed, last of everything an index is made of.

use std::path::Path;

use hydrant_config::{FieldType, MappingConfig, MappingMode};
use serde::{Deserialize, Serialize};

use crate::error::IndexError;
use crate::rotation::Period;

/// The version this build writes and reads.
const VERSION: u32 = 1;

/// What the catalog knows about an index beyond its tantivy shards.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexMeta {
    /// The stream the index belongs to (and the alias that covers it).
    pub stream: String,
    /// Number of shards, fixed when the index is created.
    pub shards: usize,
    /// Time range the index covers (`None`: the stream's only index).
    pub period: Option<Period>,
    /// Creation time, epoch milliseconds.
    pub created_ms: i64,
    /// The doc mapping the index was created with.
    pub mapping: MappingConfig,
    /// The Elasticsearch `mappings` it was created with (templates, `PUT /{index}`), as
    /// `GET _mapping` shows them; `None` when nothing was declared.
    pub declared: Option<serde_json::Value>,
}

/// `index.json` version 1, field for field.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    version: u32,
    stream: String,
    shards: usize,
    period: Option<PeriodV1>,
    created_ms: i64,
    #[serde(default)]
    mapping: Option<MappingV1>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    declared: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodV1 {
    start_ms: i64,
    end_ms: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingV1 {
    mode: ModeV1,
    fields: Vec<(String, TypeV1)>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeV1 {
    Dynamic,
    Strict,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TypeV1 {
    Keyword,
    Text,
    Long,
    Double,
    Boolean,
    Date,
    Ip,
    #[serde(rename = "geo_point")]
    GeoPoint,
}

impl From<FieldType> for TypeV1 {
    fn from(t: FieldType) -> TypeV1 {
        match t {
            FieldType::Keyword => TypeV1::Keyword,
            FieldType::Text => TypeV1::Text,
            FieldType::Long => TypeV1::Long,
            FieldType::Double => TypeV1::Double,
            FieldType::Boolean => TypeV1::Boolean,
            FieldType::Date => TypeV1::Date,
            FieldType::Ip => TypeV1::Ip,
            FieldType::GeoPoint => TypeV1::GeoPoint,
        }
    }
}

impl From<TypeV1> for FieldType {
    fn from(t: TypeV1) -> FieldType {
        match t {
            TypeV1::Keyword => FieldType::Keyword,
            TypeV1::Text => FieldType::Text,
            TypeV1::Long => FieldType::Long,
            TypeV1::Double => FieldType::Double,
            TypeV1::Boolean => FieldType::Boolean,
            TypeV1::Date => FieldType::Date,
            TypeV1::Ip => FieldType::Ip,
            TypeV1::GeoPoint => FieldType::GeoPoint,
        }
    }
}

impl IndexMeta {
    /// The file's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let file = FileV1 {
            version: VERSION,
            stream: self.stream.clone(),
            shards: self.shards,
            period: self.period.map(|p| PeriodV1 {
                start_ms: p.start_ms,
                end_ms: p.end_ms,
            }),
            created_ms: self.created_ms,
            mapping: Some(MappingV1 {
                mode: match self.mapping.mode {
                    MappingMode::Dynamic => ModeV1::Dynamic,
                    MappingMode::Strict => ModeV1::Strict,
                },
                fields: self
                    .mapping
                    .fields
                    .iter()
                    .map(|(name, t)| (name.clone(), TypeV1::from(*t)))
                    .collect(),
            }),
            declared: self.declared.clone(),
        };
        // Serializing plain data to a Vec cannot fail.
        serde_json::to_vec_pretty(&file).unwrap_or_default()
    }

    /// Reads a file written by [`encode`](Self::encode) (or by an earlier version 1 writer).
    pub(crate) fn decode(path: &Path, bytes: &[u8]) -> Result<IndexMeta, IndexError> {
        let bad = |reason: String| IndexError::BadMetadata {
            path: path.to_path_buf(),
            reason,
        };
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let version: Version = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if version.version != VERSION {
            return Err(bad(format!(
                "version {} is not supported (this build reads version {VERSION})",
                version.version
            )));
        }
        let file: FileV1 = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let mapping = match file.mapping {
            Some(m) => MappingConfig {
                mode: match m.mode {
                    ModeV1::Dynamic => MappingMode::Dynamic,
                    ModeV1::Strict => MappingMode::Strict,
                },
                fields: m.fields.into_iter().map(|(n, t)| (n, t.into())).collect(),
            },
            None => MappingConfig {
                mode: MappingMode::Dynamic,
                fields: Vec::new(),
            },
        };
        Ok(IndexMeta {
            stream: file.stream,
            shards: file.shards,
            period: file.period.map(|p| Period {
                start_ms: p.start_ms,
                end_ms: p.end_ms,
            }),
            created_ms: file.created_ms,
            mapping,
            declared: file.declared,
        })
    }
}

/// Writes `bytes` to `path` so that a crash leaves the old file or the new one, never a part:
/// a temporary file beside it, synced, then renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IndexError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, bytes).map_err(|e| IndexError::io(&tmp, e))?;
    let file = std::fs::File::open(&tmp).map_err(|e| IndexError::io(&tmp, e))?;
    file.sync_all().map_err(|e| IndexError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| IndexError::io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_file_reads_and_writes_back_the_same() {
        let text = br#"{
  "version": 1,
  "stream": "web",
  "shards": 2,
  "period": {
    "start_ms": 1764115200000,
    "end_ms": 1764201600000
  },
  "created_ms": 1764115200123,
  "mapping": {
    "mode": "strict",
    "fields": [
      [
        "status",
        "long"
      ],
      [
        "client",
        "ip"
      ]
    ]
  }
}"#;
        let meta = IndexMeta::decode(Path::new("index.json"), text).unwrap();
        assert_eq!(meta.shards, 2);
        assert_eq!(meta.mapping.mode, MappingMode::Strict);
        assert_eq!(
            meta.mapping.fields[1],
            ("client".to_string(), FieldType::Ip)
        );
        assert_eq!(meta.encode(), text.to_vec());
    }

    #[test]
    fn files_from_before_mappings_read_as_dynamic() {
        let text = br#"{"version":1,"stream":"web","shards":1,"period":null,"created_ms":5}"#;
        let meta = IndexMeta::decode(Path::new("index.json"), text).unwrap();
        assert_eq!(meta.mapping.mode, MappingMode::Dynamic);
        assert!(meta.mapping.fields.is_empty());
    }

    #[test]
    fn other_versions_and_damage_are_reported_with_the_path() {
        let err = IndexMeta::decode(Path::new("/d/index.json"), br#"{"version":2}"#).unwrap_err();
        assert!(
            err.to_string().contains("version 2 is not supported"),
            "{err}"
        );
        assert!(err.to_string().contains("/d/index.json"), "{err}");
        let err = IndexMeta::decode(Path::new("x"), b"{\"version\":1,\"str").unwrap_err();
        assert!(matches!(err, IndexError::BadMetadata { .. }));
    }
}
