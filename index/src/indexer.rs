//! Writing one stream's records into its indices: rotation, shard routing, commits that carry
//! the WAL checkpoint, and exactly-once replay.
//!
//! The ingest room's embedded-index destination drives a [`StreamIndexer`] from a dedicated
//! thread: every call here may block (tantivy commits fsync).

use std::collections::HashMap;
use std::sync::Arc;

use hydrant_config::IndexSettings;
use tantivy::{IndexWriter, Term};

use crate::catalog::{Catalog, IndexHandle};
use crate::error::{IndexError, MappingError};
use crate::mapping::SourceDoc;
use crate::rotation::index_for;
use crate::shard::encode_payload;

/// Most indices of one stream with an open writer; backfills touching more close the least
/// recently used (each writer holds `writer_memory` and its threads).
const MAX_OPEN_INDICES: usize = 4;

/// What happened to one record given to [`StreamIndexer::add`].
#[derive(Debug, Clone, PartialEq)]
pub enum AddOutcome {
    /// Added; searchable after the next commit.
    Added,
    /// Already in a commit of its shard (a replay after a restart): not added again.
    AlreadyCommitted,
    /// The record cannot be indexed; other records are unaffected.
    Rejected(MappingError),
}

struct OpenIndex {
    handle: Arc<IndexHandle>,
    writers: Vec<Option<IndexWriter>>,
    dirty: Vec<bool>,
    last_used: u64,
}

/// Writes one stream's records into its time-rotated indices.
pub struct StreamIndexer {
    catalog: Arc<Catalog>,
    stream: String,
    settings: IndexSettings,
    open: HashMap<String, OpenIndex>,
    clock: u64,
    /// Position of the last record given to `add`.
    last_added: u64,
}

impl std::fmt::Debug for StreamIndexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamIndexer")
            .field("stream", &self.stream)
            .field("open", &self.open.len())
            .finish()
    }
}

impl StreamIndexer {
    /// The indexer of `stream`.
    pub fn new(catalog: Arc<Catalog>, stream: &str, settings: IndexSettings) -> StreamIndexer {
        catalog.register_stream(stream);
        StreamIndexer {
            catalog,
            stream: stream.to_string(),
            settings,
            open: HashMap::new(),
            clock: 0,
            last_added: 0,
        }
    }

    /// Adds the record at WAL `position`. `replace` deletes an earlier document with the same
    /// id first (a client-chosen `_id` written again replaces it, as in Elasticsearch).
    pub fn add(
        &mut self,
        position: u64,
        doc: &SourceDoc<'_>,
        replace: bool,
    ) -> Result<AddOutcome, IndexError> {
        let (name, period) = index_for(&self.stream, self.settings.rotation, doc.timestamp_ms);
        let handle =
            self.catalog
                .get_or_create(&name, &self.stream, period, 1, &self.settings.mapping)?;
        let shard_ord = route(doc.id, handle.shards().len());
        if position <= handle.shards()[shard_ord].committed() {
            return Ok(AddOutcome::AlreadyCommitted);
        }
        let document = match handle.mapper().to_document(doc) {
            Ok(d) => d,
            Err(e) => return Ok(AddOutcome::Rejected(e)),
        };
        let id_field = handle.mapper().fields().id;
        self.clock += 1;
        let clock = self.clock;
        if !self.open.contains_key(&name) {
            self.make_room(position.saturating_sub(1))?;
            let n = handle.shards().len();
            self.open.insert(
                name.clone(),
                OpenIndex {
                    handle: handle.clone(),
                    writers: (0..n).map(|_| None).collect(),
                    dirty: vec![false; n],
                    last_used: clock,
                },
            );
        }
        let Some(open) = self.open.get_mut(&name) else {
            return Err(IndexError::IndexNotFound(name));
        };
        open.last_used = clock;
        let writer = match &mut open.writers[shard_ord] {
            Some(w) => w,
            slot @ None => {
                let shard = &handle.shards()[shard_ord];
                let w = shard
                    .index()
                    .writer_with_num_threads(
                        self.settings.writer_threads as usize,
                        self.settings.writer_memory as usize,
                    )
                    .map_err(|e| IndexError::tantivy(shard.name(), e))?;
                slot.insert(w)
            }
        };
        if replace {
            writer.delete_term(Term::from_field_text(id_field, doc.id));
        }
        writer
            .add_document(document)
            .map_err(|e| IndexError::tantivy(&name, e))?;
        open.dirty[shard_ord] = true;
        self.last_added = position;
        Ok(AddOutcome::Added)
    }

    /// Commits every shard written since its last commit with checkpoint `position` (every
    /// record up to it has been given to [`add`](Self::add)), and makes them searchable.
    pub fn commit(&mut self, position: u64) -> Result<(), IndexError> {
        for open in self.open.values_mut() {
            commit_open(open, position)?;
        }
        Ok(())
    }

    /// Whether anything was added since the last commit.
    pub fn has_uncommitted(&self) -> bool {
        self.open.values().any(|o| o.dirty.iter().any(|d| *d))
    }

    /// Commits and closes every writer (shutdown).
    pub fn close(&mut self, position: u64) -> Result<(), IndexError> {
        self.commit(position)?;
        for (_, open) in self.open.drain() {
            for w in open.writers.into_iter().flatten() {
                let _ = w.wait_merging_threads();
            }
        }
        Ok(())
    }

    /// Drops every writer without committing: what was added since the last commit is
    /// discarded (it will be replayed from the write-ahead log).
    pub fn abandon(&mut self) {
        self.open.clear();
    }

    fn make_room(&mut self, position: u64) -> Result<(), IndexError> {
        while self.open.len() >= MAX_OPEN_INDICES {
            let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(_, o)| o.last_used)
                .map(|(n, _)| n.clone())
            else {
                break;
            };
            if let Some(mut open) = self.open.remove(&oldest) {
                commit_open(&mut open, position)?;
                for w in open.writers.into_iter().flatten() {
                    let _ = w.wait_merging_threads();
                }
            }
        }
        Ok(())
    }
}

fn commit_open(open: &mut OpenIndex, position: u64) -> Result<(), IndexError> {
    for (ord, slot) in open.writers.iter_mut().enumerate() {
        if !open.dirty[ord] {
            continue;
        }
        let Some(writer) = slot else { continue };
        let shard = &open.handle.shards()[ord];
        let mut prepared = writer
            .prepare_commit()
            .map_err(|e| IndexError::tantivy(shard.name(), e))?;
        prepared.set_payload(&encode_payload(position));
        prepared
            .commit()
            .map_err(|e| IndexError::tantivy(shard.name(), e))?;
        shard.set_committed(position);
        shard.reload()?;
        open.dirty[ord] = false;
    }
    Ok(())
}

/// The shard a record goes to: a stable hash of its id.
pub fn route(id: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    (crc32c::crc32c(id.as_bytes()) as usize) % shards
}
