//! One shard: a tantivy index in its own directory, its reader, and its WAL checkpoint.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

use crate::error::IndexError;
use crate::mapping::DocMapper;

/// The commit payload a shard stores with each tantivy commit.
///
/// Format (JSON, in tantivy's `meta.json`): `{"v":1,"wal_position":N}` — every record of the
/// stream's write-ahead log at a position `<= N` that routes to this shard is in this commit.
/// Replay after a crash skips those, so each record is added exactly once.
#[derive(Debug, Serialize, Deserialize)]
struct CommitPayload {
    v: u32,
    wal_position: u64,
}

pub(crate) fn encode_payload(wal_position: u64) -> String {
    serde_json::to_string(&CommitPayload { v: 1, wal_position })
        .unwrap_or_else(|_| format!("{{\"v\":1,\"wal_position\":{wal_position}}}"))
}

fn decode_payload(payload: Option<&str>) -> Result<u64, String> {
    match payload {
        None => Ok(0),
        Some(text) => {
            let p: CommitPayload = serde_json::from_str(text)
                .map_err(|e| format!("commit payload `{text}` is not valid: {e}"))?;
            if p.v != 1 {
                return Err(format!("commit payload version {} is not supported", p.v));
            }
            Ok(p.wal_position)
        }
    }
}

/// One shard of an index.
pub struct Shard {
    name: String,
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    committed: AtomicU64,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("name", &self.name)
            .field("committed", &self.committed())
            .finish()
    }
}

impl Shard {
    /// Opens the shard in `dir`, creating it with `mapper`'s schema when missing.
    pub(crate) fn open_or_create(
        name: String,
        dir: &Path,
        mapper: &DocMapper,
    ) -> Result<Shard, IndexError> {
        let exists = dir.join("meta.json").exists();
        if !exists {
            std::fs::create_dir_all(dir).map_err(|e| IndexError::io(dir, e))?;
        }
        let index = if exists {
            Index::open_in_dir(dir)
        } else {
            Index::create_in_dir(dir, mapper.schema())
        }
        .map_err(|e| IndexError::tantivy(&name, e))?;
        crate::tokenizer::register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| IndexError::tantivy(&name, e))?;
        let metas = index
            .load_metas()
            .map_err(|e| IndexError::tantivy(&name, e))?;
        let committed =
            decode_payload(metas.payload.as_deref()).map_err(|reason| IndexError::BadMetadata {
                path: dir.join("meta.json"),
                reason,
            })?;
        Ok(Shard {
            name,
            dir: dir.to_path_buf(),
            index,
            reader,
            committed: AtomicU64::new(committed),
        })
    }

    /// `index/ordinal`, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shard's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes the shard takes on disk: every file of its directory (tantivy keeps a shard's
    /// files in one flat directory), including segments a merge is about to delete.
    pub fn size_bytes(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }

    /// The tantivy index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// A searcher over the last commit that was made visible.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The WAL position stored with the last commit (0 before the first).
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    pub(crate) fn set_committed(&self, position: u64) {
        self.committed.store(position, Ordering::Release);
    }

    /// Makes the last commit visible to searchers (tests).
    #[cfg(test)]
    pub(crate) fn reload_for_tests(&self) {
        let _ = self.reader.reload();
    }

    /// Makes the last commit visible to searchers.
    pub(crate) fn reload(&self) -> Result<(), IndexError> {
        self.reader
            .reload()
            .map_err(|e| IndexError::tantivy(&self.name, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_rejects_unknown_versions() {
        assert_eq!(decode_payload(Some(&encode_payload(42))), Ok(42));
        assert_eq!(decode_payload(None), Ok(0));
        assert!(decode_payload(Some("{\"v\":2,\"wal_position\":1}")).is_err());
        assert!(decode_payload(Some("garbage")).is_err());
    }
}
