//! Writing one stream's records into its indices: rotation, shard routing, commits that carry
//! the WAL checkpoint, and exactly-once replay.
//!
//! The ingest room's embedded-index destination drives a [`StreamIndexer`] from a dedicated
//! thread: every call here may block (tantivy commits fsync).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use hydrant_config::{IndexSettings, SizingMode};
use tantivy::index::SegmentMeta;
use tantivy::{FutureResult, IndexWriter, Term};

use crate::catalog::{Catalog, IndexHandle};
use crate::error::{IndexError, MappingError};
use crate::mapping::{LogDoc, SourceDoc};
use crate::rotation::index_for;
use crate::shard::encode_payload;

/// Most indices of one stream with an open writer; backfills touching more close the least
/// recently used (each writer holds `writer_memory` and its threads).
const MAX_OPEN_INDICES: usize = 8;

/// Least memory tantivy accepts for one writer thread (15 MB), with a margin.
const MIN_WRITER_MEMORY: usize = 16 * 1024 * 1024;

/// How long after its period ends, and after its last record, an index still expects late
/// records before it is sealed (merged down and its writer closed). The second condition is
/// for backfills: loading last month's logs writes to indices whose periods ended long ago,
/// and sealing each between two commits would merge the whole index again and again while
/// it grows.
pub const SEAL_GRACE_MS: i64 = 10 * 60 * 1000;

/// What [`StreamIndexer::maintain`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// Indices deleted for retention.
    pub deleted: Vec<String>,
    /// Indices whose final merge started.
    pub sealing: Vec<String>,
}

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
    writers: Vec<Option<IndexWriter<LogDoc>>>,
    dirty: Vec<bool>,
    last_used: u64,
    /// Final merges running in the background, once the index is sealed.
    merges: Vec<FutureResult<Option<SegmentMeta>>>,
    sealed: bool,
    /// A record was added since the last maintenance.
    touched: bool,
    /// When maintenance last saw a record added (its clock; `i64::MIN`: never).
    last_write_ms: i64,
}

impl OpenIndex {
    /// Whether every final merge has finished (polled, never waited for).
    fn merges_done(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.merges
            .retain_mut(|m| matches!(Pin::new(m).poll(&mut cx), Poll::Pending));
        self.merges.is_empty()
    }
}

/// Writes one stream's records into its time-rotated indices.
pub struct StreamIndexer {
    catalog: Arc<Catalog>,
    stream: String,
    settings: IndexSettings,
    open: HashMap<String, OpenIndex>,
    clock: u64,
    /// Source bytes added per index since start (the observed volume for sizing).
    added_bytes: HashMap<String, u64>,
    /// End of the newest period this indexer has received records for (the head of the
    /// stream: current data, or the front of a backfill).
    newest_end_ms: i64,
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
            added_bytes: HashMap::new(),
            newest_end_ms: i64::MIN,
        }
    }

    /// Shards for a new index covering `period`: the embedded plan of the sizing calculator, for
    /// the configured daily volume, or for the volume the previous period received when
    /// `sizing.mode = "observed"`.
    fn shards_for(&self, period: Option<crate::rotation::Period>) -> usize {
        let z = &self.settings.sizing;
        let days = match self.settings.rotation {
            hydrant_config::Rotation::NoRotation => {
                (self.settings.retention.as_secs() / 86_400).max(1) as f64
            }
            _ => period.map_or(1.0, |p| (p.end_ms - p.start_ms) as f64 / 86_400_000.0),
        };
        let configured = z.daily_volume as f64 * days;
        let per_index = match (z.mode, period) {
            (SizingMode::Observed, Some(p)) => self
                .previous_volume(p.start_ms)
                .map_or(configured, |v| v as f64),
            _ => configured,
        };
        crate::sizing::primary_shards(per_index, z.growth as f64, z.target_shard_size as f64)
            .clamp(1, 64) as usize
    }

    /// Source bytes of the stream's index whose period ended last before `start_ms`.
    fn previous_volume(&self, start_ms: i64) -> Option<u64> {
        let previous = self
            .catalog
            .stream_indices(&self.stream)
            .into_iter()
            .filter(|h| h.meta().period.is_some_and(|p| p.end_ms <= start_ms))
            .max_by_key(|h| h.meta().period.map(|p| p.end_ms))?;
        if let Some(bytes) = self.added_bytes.get(previous.name()) {
            return Some(*bytes);
        }
        // Not written in this run: its size on disk, less the indexing overhead.
        let disk: u64 = previous.size_bytes();
        Some((disk as f64 / (1.0 + crate::sizing::INDEXING_OVERHEAD)) as u64)
    }

    /// Adds the record at WAL `position`. `replace` deletes an earlier document with the same
    /// id first (a client-chosen `_id` written again replaces it, as in Elasticsearch).
    pub fn add(
        &mut self,
        position: u64,
        doc: &SourceDoc<'_>,
        replace: bool,
    ) -> Result<AddOutcome, IndexError> {
        let mut out = self.add_batch(&[(position, *doc, replace)])?;
        Ok(out.pop().unwrap_or(AddOutcome::AlreadyCommitted))
    }

    /// Deletes document `id` from index `index` of this stream (the record at WAL `position`
    /// asked for it). Returns whether the index exists and the delete was not already
    /// committed; a document that is not there is no error.
    pub fn delete_doc(&mut self, position: u64, index: &str, id: &str) -> Result<bool, IndexError> {
        let Some(handle) = self.catalog.get(index) else {
            return Ok(false);
        };
        if handle.stream() != self.stream {
            return Ok(false);
        }
        let handle =
            self.index_for_group(index, handle.meta().period, &HashMap::new(), position)?;
        let budget = self.writer_budget(&handle);
        let shard_ord = route(id, handle.shards().len());
        if position <= handle.shards()[shard_ord].committed() {
            return Ok(false);
        }
        let Some(open) = self.open.get_mut(index) else {
            return Err(IndexError::IndexNotFound(index.to_string()));
        };
        let writer = writer_of(
            &mut open.writers[shard_ord],
            &handle.shards()[shard_ord],
            budget,
        )?;
        writer.delete_term(Term::from_field_text(handle.mapper().fields().id, id));
        open.dirty[shard_ord] = true;
        open.sealed = false;
        Ok(true)
    }

    /// Adds records (WAL position, record, replace-by-id), in position order; one outcome each.
    ///
    /// Records are taken index by index (in the order each index first appears), so that a
    /// backfill interleaving many days does not reopen writers record after record. A writer
    /// closed to make room commits with a checkpoint that is exact for its index: the position
    /// before its first record still to come in this batch, or the batch's last position.
    pub fn add_batch(
        &mut self,
        docs: &[(u64, SourceDoc<'_>, bool)],
    ) -> Result<Vec<AddOutcome>, IndexError> {
        let mut groups: Vec<(String, Option<crate::rotation::Period>, Vec<usize>)> = Vec::new();
        let mut group_of: HashMap<String, usize> = HashMap::new();
        // Records mostly arrive in time order: the previous record's period is checked first,
        // so that the index name is formatted once per run of records rather than per record.
        let mut previous: Option<(Option<crate::rotation::Period>, usize)> = None;
        for (i, (_, doc, _)) in docs.iter().enumerate() {
            let ts = doc.timestamp_ms;
            if let Some((period, g)) = previous
                && period.is_none_or(|p| p.start_ms <= ts && ts < p.end_ms)
                && (period.is_some()
                    || self.settings.rotation == hydrant_config::Rotation::NoRotation)
            {
                groups[g].2.push(i);
                continue;
            }
            let (name, period) = index_for(&self.stream, self.settings.rotation, ts);
            let g = match group_of.get(&name) {
                Some(g) => {
                    groups[*g].2.push(i);
                    *g
                }
                None => {
                    group_of.insert(name.clone(), groups.len());
                    groups.push((name, period, vec![i]));
                    groups.len() - 1
                }
            };
            previous = Some((period, g));
        }
        let mut pending: HashMap<String, u64> = groups
            .iter()
            .map(|(name, _, idx)| (name.clone(), docs[idx[0]].0))
            .collect();
        let last = docs.iter().map(|(p, _, _)| *p).max().unwrap_or(0);
        // The head of the stream is the newest period of the whole batch, so that a backfill
        // interleaving several periods gives the full writer budget to one index only.
        if let Some(end) = groups
            .iter()
            .filter_map(|(_, p, _)| p.map(|p| p.end_ms))
            .max()
        {
            self.newest_end_ms = self.newest_end_ms.max(end);
        }
        let mut outcomes: Vec<AddOutcome> = vec![AddOutcome::AlreadyCommitted; docs.len()];
        for (name, period, idx) in groups {
            let handle = self.index_for_group(&name, period, &pending, last)?;
            pending.remove(&name);
            let budget = self.writer_budget(&handle);
            let Some(open) = self.open.get_mut(&name) else {
                return Err(IndexError::IndexNotFound(name));
            };
            let mut added = 0u64;
            for i in idx {
                let (position, doc, replace) = &docs[i];
                let outcome = add_one(open, budget, *position, doc, *replace)?;
                if outcome == AddOutcome::Added {
                    added += doc.source.len() as u64;
                }
                outcomes[i] = outcome;
            }
            if added > 0 {
                *self.added_bytes.entry(name).or_default() += added;
            }
        }
        Ok(outcomes)
    }

    /// The open index `name`, created and opened (making room) when needed.
    fn index_for_group(
        &mut self,
        name: &str,
        period: Option<crate::rotation::Period>,
        pending: &HashMap<String, u64>,
        last: u64,
    ) -> Result<Arc<IndexHandle>, IndexError> {
        let handle = match self.catalog.get(name) {
            Some(h) => h,
            None => {
                let shards = self.shards_for(period);
                self.catalog.get_or_create(
                    name,
                    &self.stream,
                    period,
                    shards,
                    &self.settings.mapping,
                )?
            }
        };
        self.clock += 1;
        let clock = self.clock;
        if let Some(open) = self.open.get_mut(name) {
            open.last_used = clock;
            return Ok(open.handle.clone());
        }
        self.make_room(pending, last)?;
        let n = handle.shards().len();
        self.open.insert(
            name.to_string(),
            OpenIndex {
                handle: handle.clone(),
                writers: (0..n).map(|_| None).collect(),
                dirty: vec![false; n],
                last_used: clock,
                merges: Vec::new(),
                sealed: false,
                touched: false,
                last_write_ms: i64::MIN,
            },
        );
        Ok(handle)
    }

    /// Threads and memory for a shard writer: the configured budget for the index at the head
    /// of the stream (receiving current data, or the newest period of a backfill loaded in time
    /// order), a quarter of it on one thread for older indices (late records), so that several
    /// open at once stay within bounds.
    fn writer_budget(&self, handle: &IndexHandle) -> (usize, usize) {
        let now = chrono::Utc::now().timestamp_millis();
        let current = handle
            .meta()
            .period
            .is_none_or(|p| now < p.end_ms + SEAL_GRACE_MS || p.end_ms >= self.newest_end_ms);
        let threads = self.settings.writer_threads as usize;
        let memory = self.settings.writer_memory as usize;
        if current {
            (threads, memory)
        } else {
            (1, (memory / 4).max(MIN_WRITER_MEMORY))
        }
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

    /// Housekeeping between commits, never waiting on a merge: deletes indices past the
    /// retention, starts the final merge of indices whose period ended, and whose last record
    /// came, more than [`SEAL_GRACE_MS`] ago, and closes the writers of sealed indices whose merges finished.
    /// `position` is the checkpoint of the last commit.
    pub fn maintain(&mut self, now_ms: i64, position: u64) -> Result<Maintenance, IndexError> {
        let mut done = Maintenance::default();
        let retention = self.settings.retention.as_millis() as i64;
        for h in self.catalog.stream_indices(&self.stream) {
            let Some(p) = h.meta().period else { continue };
            if retention > 0 && p.end_ms + retention <= now_ms {
                self.open.remove(h.name());
                self.catalog.delete(h.name())?;
                self.added_bytes.remove(h.name());
                tracing::info!(stream = %self.stream, index = %h.name(), "index deleted: its whole period is past the retention");
                done.deleted.push(h.name().to_string());
            }
        }
        for o in self.open.values_mut() {
            if std::mem::take(&mut o.touched) {
                o.last_write_ms = now_ms;
            }
        }
        let ended: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| {
                !o.sealed
                    && o.last_write_ms.saturating_add(SEAL_GRACE_MS) <= now_ms
                    && o.handle
                        .meta()
                        .period
                        .is_some_and(|p| p.end_ms + SEAL_GRACE_MS <= now_ms)
            })
            .map(|(n, _)| n.clone())
            .collect();
        for name in ended {
            if let Some(o) = self.open.get_mut(&name) {
                commit_open(o, position)?;
                seal(o);
                done.sealing.push(name);
            }
        }
        let mut finished = Vec::new();
        for (name, o) in self.open.iter_mut() {
            if o.sealed && o.merges_done() {
                finished.push(name.clone());
            }
        }
        for name in finished {
            self.open.remove(&name);
        }
        Ok(done)
    }

    /// Deletes indices of this stream (closing their writers first, without committing).
    pub fn delete(&mut self, names: &[String]) -> Result<(), IndexError> {
        for name in names {
            self.open.remove(name);
            self.added_bytes.remove(name);
            self.catalog.delete(name)?;
            tracing::info!(stream = %self.stream, index = %name, "index deleted on request");
        }
        Ok(())
    }

    /// Drops every writer without committing: what was added since the last commit is
    /// discarded (it will be replayed from the write-ahead log).
    pub fn abandon(&mut self) {
        self.open.clear();
    }

    /// Closes the least recently used writers until there is room for one more index. Each
    /// closes with a checkpoint exact for its index (see [`add_batch`](Self::add_batch)). The
    /// writer is dropped without waiting for its merges (sealing merges indices later).
    fn make_room(&mut self, pending: &HashMap<String, u64>, last: u64) -> Result<(), IndexError> {
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
                let position = pending.get(&oldest).map_or(last, |first| first - 1);
                commit_open(&mut open, position)?;
            }
        }
        Ok(())
    }
}

/// Adds one record to its shard of `open` (writers are opened with `budget`: threads, memory).
/// The writer in `slot` (of `shard`), opened with `budget` when it is not yet.
fn writer_of<'w>(
    slot: &'w mut Option<IndexWriter<LogDoc>>,
    shard: &crate::shard::Shard,
    budget: (usize, usize),
) -> Result<&'w mut IndexWriter<LogDoc>, IndexError> {
    match slot {
        Some(w) => Ok(w),
        None => {
            let w = shard
                .index()
                .writer_with_num_threads::<LogDoc>(budget.0, budget.1)
                .map_err(|e| IndexError::tantivy(shard.name(), e))?;
            w.set_merge_policy(Box::new(hot_merge_policy()));
            Ok(slot.insert(w))
        }
    }
}

fn add_one(
    open: &mut OpenIndex,
    budget: (usize, usize),
    position: u64,
    doc: &SourceDoc<'_>,
    replace: bool,
) -> Result<AddOutcome, IndexError> {
    let handle = &open.handle;
    let shard_ord = route(doc.id, handle.shards().len());
    if position <= handle.shards()[shard_ord].committed() {
        return Ok(AddOutcome::AlreadyCommitted);
    }
    let mut document = match handle.mapper().to_document(doc) {
        Ok(d) => d,
        Err(e) => return Ok(AddOutcome::Rejected(e)),
    };
    document.set_seq_no(position);
    let writer = writer_of(
        &mut open.writers[shard_ord],
        &handle.shards()[shard_ord],
        budget,
    )?;
    if replace {
        writer.delete_term(Term::from_field_text(handle.mapper().fields().id, doc.id));
    }
    writer
        .add_document(document)
        .map_err(|e| IndexError::tantivy(handle.name(), e))?;
    open.dirty[shard_ord] = true;
    // A late record reopens a sealed index; it will be sealed again once they stop.
    open.sealed = false;
    open.touched = true;
    Ok(AddOutcome::Added)
}

/// How a shard's segments are merged while its index still takes records.
///
/// Logs are append-only and arrive in time order, and each refresh commits a small segment per
/// writer thread (a second of data). Segments are merged in tiers of similar size, tantivy's
/// log-structured policy, set for that pattern:
/// - ten segments of one tier make a merge (Elasticsearch's `segments_per_tier`, Quickwit's
///   `merge_factor`), so a record is rewritten about once per tenfold growth of its segment;
/// - every segment under 10,000 documents (the output of one refresh) is in the lowest tier;
/// - segments past 2 M documents are left alone while the index is hot: merging them again
///   costs ingest CPU for little gain in search, and sealing merges the whole index once, when
///   its period is over;
/// - deleted documents (only client `_id`s written again) never force a merge on their own.
fn hot_merge_policy() -> tantivy::indexer::LogMergePolicy {
    let mut p = tantivy::indexer::LogMergePolicy::default();
    p.set_min_num_segments(10);
    p.set_min_layer_size(10_000);
    p.set_max_docs_before_merge(2_000_000);
    p.set_del_docs_ratio_before_merge(1.0);
    p
}

/// Starts merging each shard of a sealed index down to one segment, in the background.
fn seal(open: &mut OpenIndex) {
    for (ord, slot) in open.writers.iter_mut().enumerate() {
        let Some(writer) = slot else { continue };
        match open.handle.shards()[ord].index().searchable_segment_ids() {
            Ok(ids) if ids.len() > 1 => open.merges.push(writer.merge(&ids)),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(index = %open.handle.name(), error = %e, "cannot list segments to seal")
            }
        }
    }
    open.sealed = true;
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
