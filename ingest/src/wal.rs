//! The write-ahead log of one stream: checksummed entries in segment files, group commit, replay
//! with torn-tail repair, truncation by whole segments.
//!
//! Written here rather than taken from `mrecordlog` (Quickwit's record log) because Hydrant's
//! durability contract needs three things it does not give: one directory per stream
//! (`wal/<stream>/`), a torn tail told apart from corruption in the middle of the log
//! (mrecordlog skips a corrupted block with a warning and carries on), and no second in-memory
//! copy of every record (mrecordlog mirrors its whole log in memory).
//!
//! # Format
//!
//! Segment files are named after the position of their first entry (`00000000000000000001.log`)
//! and start with an 8-byte header: `HYWAL\0`, a format version byte (1) and a reserved zero
//! byte. Entries follow, little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | payload length (u32) |
//! | 4 | CRC-32C of the position bytes followed by the payload |
//! | 8 | position (u64), one more than the previous entry's |
//! | n | payload |
//!
//! # Recovery
//!
//! On open every segment is read and checked. A bad entry in the last segment with nothing
//! valid after it is a write torn by a crash: the file is cut there (those records were never
//! acknowledged). Any other bad entry — in an earlier segment, or followed by valid entries —
//! is corruption, reported as [`WalError::Corrupt`] with the file and offset; it is never
//! skipped silently.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hydrant_config::FsyncPolicy;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::error::WalError;
use read::{list_segments, read_segment};

mod read;

const MAGIC: &[u8; 6] = b"HYWAL\0";
const VERSION: u8 = 1;
const SEGMENT_HEADER_LEN: u64 = 8;
const ENTRY_HEADER_LEN: usize = 16;
/// Largest payload accepted in one entry (a record is at most a few MiB).
const MAX_ENTRY_LEN: u32 = 256 * 1024 * 1024;
/// Appends gathered into one write and one fsync stop growing past this many bytes.
const GROUP_BYTES: usize = 16 * 1024 * 1024;

/// How the log writes and syncs.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// When appends are fsynced.
    pub fsync: FsyncPolicy,
    /// Background fsync period under [`FsyncPolicy::Interval`].
    pub fsync_interval: Duration,
    /// A segment is closed and a new one started past this size.
    pub segment_size: u64,
}

/// Record payloads to append together, encoded by the caller.
#[derive(Debug, Default)]
pub struct WalBatch {
    buf: Vec<u8>,
    lens: Vec<u32>,
}

impl WalBatch {
    /// An empty batch with room for `count` payloads of `bytes` in all: the buffer is
    /// allocated once, not grown (and copied) by doubling.
    pub fn with_capacity(count: usize, bytes: usize) -> WalBatch {
        WalBatch {
            buf: Vec::with_capacity(bytes),
            lens: Vec::with_capacity(count),
        }
    }

    /// Appends one payload, written by `encode` into the batch's buffer.
    pub fn push(&mut self, encode: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        encode(&mut self.buf);
        self.lens.push((self.buf.len() - start) as u32);
    }
}

/// What was found in the log when it was opened.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every entry still in the log, in position order.
    pub entries: Vec<(u64, Bytes)>,
    /// Position of the first entry in the log (the next position when it is empty).
    pub first_position: u64,
    /// Bytes cut from the end of the last segment (a write torn by a crash).
    pub torn_bytes: u64,
}

/// Runs on the writer thread once a batch is durable (or has failed), before the append
/// resolves, in position order. Work that must follow the log's order — and must happen even
/// if the appending request is cancelled — goes here.
pub type OnWritten = Box<dyn FnOnce(Result<(u64, u64), &WalError>) + Send>;

type Reply = oneshot::Sender<Result<(u64, u64), WalError>>;

enum Command {
    Append {
        batch: WalBatch,
        on_written: OnWritten,
        reply: Reply,
    },
    Truncate {
        up_to: u64,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// Handle to one stream's log; appends are served by a dedicated writer thread.
pub struct Wal {
    tx: mpsc::Sender<Command>,
    thread: Mutex<Option<JoinHandle<()>>>,
    size: Arc<AtomicU64>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal").finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens (or creates) the log in `dir`, checks it, and returns what it holds.
    ///
    /// `min_next_position` keeps positions increasing even if the log directory was removed
    /// while destinations still remember later positions.
    pub fn open(
        dir: &Path,
        options: WalOptions,
        min_next_position: u64,
    ) -> Result<(Wal, Replay), WalError> {
        fs::create_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        let mut segments = list_segments(dir)?;
        let mut replay = Replay::default();
        let mut expected: Option<u64> = None;
        let count = segments.len();
        for (i, (first, path)) in segments.iter().enumerate() {
            let is_last = i + 1 == count;
            if let Some(exp) = expected
                && *first != exp
            {
                return Err(WalError::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    reason: format!("segment starts at position {first}, expected {exp}"),
                });
            }
            let next = read_segment(path, *first, is_last, &mut replay)?;
            expected = Some(next);
        }
        let next_position = expected.unwrap_or(1).max(min_next_position).max(1);
        replay.first_position = replay
            .entries
            .first()
            .map(|(p, _)| *p)
            .unwrap_or(next_position);
        // Continue the last segment when its name still matches the next position.
        let active = match segments.pop() {
            Some((first, path)) if expected == Some(next_position) => {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(|e| WalError::io(&path, e))?;
                let size = file.metadata().map_err(|e| WalError::io(&path, e))?.len();
                Segment {
                    first,
                    path,
                    file,
                    size,
                }
            }
            _ => Segment::create(dir, next_position)?,
        };
        let mut writer = Writer {
            dir: dir.to_path_buf(),
            options,
            active,
            sealed: list_segments(dir)?
                .into_iter()
                .filter(|(f, _)| *f < next_position)
                .collect(),
            next_position,
            poisoned: None,
            full: false,
            dirty: false,
            size: Arc::new(AtomicU64::new(0)),
            buf: Vec::new(),
        };
        writer.sealed.retain(|(f, _)| *f != writer.active.first);
        let on_disk: u64 = list_segments(dir)?
            .iter()
            .filter_map(|(_, p)| fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        writer.size.store(on_disk, Ordering::Relaxed);
        let size = writer.size.clone();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("hydrant-wal".to_string())
            .spawn(move || writer.run(rx))
            .map_err(|e| WalError::io(dir, e))?;
        Ok((
            Wal {
                tx,
                thread: Mutex::new(Some(thread)),
                size,
            },
            replay,
        ))
    }

    /// Appends the batch; resolves once it is durable per the fsync policy, with the positions
    /// of its first and last entries. `on_written` runs first, on the writer thread, even if
    /// this future is dropped.
    pub async fn append(
        &self,
        batch: WalBatch,
        on_written: OnWritten,
    ) -> Result<(u64, u64), WalError> {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::SendError(cmd)) = self.tx.send(Command::Append {
            batch,
            on_written,
            reply,
        }) {
            if let Command::Append { on_written, .. } = cmd {
                on_written(Err(&WalError::Closed));
            }
            return Err(WalError::Closed);
        }
        rx.await.map_err(|_| WalError::Closed)?
    }

    /// Bytes of the log's segment files.
    pub fn size_bytes(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    /// Deletes every segment whose entries are all at positions `<= up_to`.
    pub fn truncate(&self, up_to: u64) {
        let _ = self.tx.send(Command::Truncate { up_to });
    }

    /// Syncs and stops the writer thread.
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Close { reply }).is_ok() {
            let _ = rx.await;
        }
        let thread = self.thread.lock().take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

struct Segment {
    first: u64,
    path: PathBuf,
    /// Written at its end (a rollback seeks back there).
    file: File,
    /// Bytes written to the file (entries that failed to write are cut off again).
    size: u64,
}

impl Segment {
    fn create(dir: &Path, first: u64) -> Result<Segment, WalError> {
        let path = segment_path(dir, first);
        let created = Segment::write_new(dir, &path);
        if created.is_err() {
            // Out of space half-way: leave no stub behind (best effort; a stub shorter than
            // its header is rewritten at the next start anyway).
            let _ = fs::remove_file(&path);
        }
        let file = created.map_err(|e| WalError::io(&path, e))?;
        Ok(Segment {
            first,
            path,
            file,
            size: SEGMENT_HEADER_LEN,
        })
    }

    fn write_new(dir: &Path, path: &Path) -> std::io::Result<File> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)?;
        let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
        header[..6].copy_from_slice(MAGIC);
        header[6] = VERSION;
        file.write_all(&header)?;
        file.sync_all()?;
        File::open(dir).and_then(|d| d.sync_all())?;
        Ok(file)
    }
}

struct Writer {
    dir: PathBuf,
    options: WalOptions,
    active: Segment,
    /// Closed segments, oldest first, with their first positions.
    sealed: Vec<(u64, PathBuf)>,
    next_position: u64,
    poisoned: Option<String>,
    /// The last write ran out of space (logged once until a write succeeds again).
    full: bool,
    dirty: bool,
    /// Bytes of all segment files.
    size: Arc<AtomicU64>,
    /// One group's entries, encoded before a single write (kept between groups).
    buf: Vec<u8>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Command>) {
        let mut last_sync = Instant::now();
        loop {
            let timeout = match self.options.fsync {
                FsyncPolicy::Interval if self.dirty => self
                    .options
                    .fsync_interval
                    .saturating_sub(last_sync.elapsed()),
                _ => Duration::from_secs(3600),
            };
            let first = match rx.recv_timeout(timeout) {
                Ok(c) => c,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    self.sync_now();
                    last_sync = Instant::now();
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.sync_now();
                    return;
                }
            };
            // Group commit: everything already waiting is written with one fsync.
            let mut appends = Vec::new();
            let mut pending_bytes = 0;
            let mut next = Some(first);
            while let Some(cmd) = next.take() {
                match cmd {
                    Command::Append {
                        batch,
                        on_written,
                        reply,
                    } => {
                        pending_bytes += batch.buf.len();
                        appends.push((batch, on_written, reply));
                    }
                    Command::Truncate { up_to } => self.truncate(up_to),
                    Command::Close { reply } => {
                        self.write_group(&mut appends);
                        self.sync_now();
                        let _ = reply.send(());
                        return;
                    }
                }
                if pending_bytes < GROUP_BYTES {
                    next = rx.try_recv().ok();
                }
            }
            self.write_group(&mut appends);
            if self.options.fsync == FsyncPolicy::Interval
                && last_sync.elapsed() >= self.options.fsync_interval
            {
                self.sync_now();
                last_sync = Instant::now();
            }
        }
    }

    /// Writes a group of appends with one write (and one fsync under `Always`), then answers
    /// each. A write that runs out of space is undone — the segment is cut back to where the
    /// group started and its positions are handed out again — and every append of the group
    /// gets [`WalError::Full`]; the log keeps taking appends, so ingest resumes by itself once
    /// space is freed. Any other failure poisons the log.
    fn write_group(&mut self, appends: &mut Vec<(WalBatch, OnWritten, Reply)>) {
        if appends.is_empty() {
            return;
        }
        let mut next = self.next_position;
        let outcome = match &self.poisoned {
            Some(reason) => Err(WalError::Poisoned(reason.clone())),
            None => self.write_all_batches(appends),
        };
        for (batch, on_written, reply) in appends.drain(..) {
            let result = match &outcome {
                Ok(()) => {
                    let first = next;
                    next += batch.lens.len() as u64;
                    Ok((first, next - 1))
                }
                Err(e) => Err(e.duplicate()),
            };
            on_written(result.as_ref().map(|r| *r));
            let _ = reply.send(result);
        }
    }

    fn write_all_batches(
        &mut self,
        appends: &[(WalBatch, OnWritten, Reply)],
    ) -> Result<(), WalError> {
        if appends.iter().all(|(b, _, _)| b.lens.is_empty()) {
            return Ok(());
        }
        if self.active.size >= self.options.segment_size {
            self.roll()?;
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut position = self.next_position;
        for (batch, _, _) in appends {
            let mut offset = 0usize;
            for len in &batch.lens {
                let payload = &batch.buf[offset..offset + *len as usize];
                offset += *len as usize;
                encode_entry(&mut buf, position, payload);
                position += 1;
            }
        }
        let mut written = self.active.file.write_all(&buf);
        if written.is_ok() && self.options.fsync == FsyncPolicy::Always {
            written = self.active.file.sync_data();
        }
        let len = buf.len() as u64;
        // A burst's buffer is not kept around for ever.
        if buf.capacity() <= 4 * 1024 * 1024 {
            self.buf = buf;
        }
        match written {
            Ok(()) => {
                self.active.size += len;
                self.size.fetch_add(len, Ordering::Relaxed);
                self.next_position = position;
                self.dirty = self.options.fsync == FsyncPolicy::Interval;
                if std::mem::take(&mut self.full) {
                    tracing::info!(path = %self.active.path.display(), "write-ahead log has space again; accepting records");
                }
                Ok(())
            }
            Err(e) => {
                // Nothing of this group was acknowledged: cut it off again. Under `Always`
                // everything before it was synced, so the cut never touches acknowledged data.
                let size = self.active.size;
                let cut = self
                    .active
                    .file
                    .set_len(size)
                    .and_then(|_| self.active.file.seek(SeekFrom::Start(size)).map(|_| ()));
                if let Err(cut) = cut {
                    self.poison(&cut);
                    return Err(WalError::Poisoned(cut.to_string()));
                }
                Err(self.failed(e))
            }
        }
    }

    /// The error for a failed write: out of space is [`WalError::Full`] and leaves the log
    /// usable; anything else poisons it.
    fn failed(&mut self, e: std::io::Error) -> WalError {
        if is_out_of_space(&e) && self.poisoned.is_none() {
            if !std::mem::replace(&mut self.full, true) {
                tracing::error!(path = %self.active.path.display(), error = %e, "write-ahead log is out of space; refusing records until space is freed");
            }
            return WalError::Full {
                path: self.active.path.clone(),
                reason: e.to_string(),
            };
        }
        self.poison(&e);
        WalError::Poisoned(format!("{}: {e}", self.active.path.display()))
    }

    /// Seals the active segment and starts the next. A failed fsync of the old one poisons
    /// the log whatever its cause (acknowledged data may be lost from the page cache); no
    /// space for the new one is [`WalError::Full`], and the old one stays active.
    fn roll(&mut self) -> Result<(), WalError> {
        if let Err(e) = self.active.file.sync_data() {
            self.poison(&e);
            return Err(WalError::Poisoned(format!(
                "{}: {e}",
                self.active.path.display()
            )));
        }
        self.dirty = false;
        let next = Segment::create(&self.dir, self.next_position).map_err(|e| match e {
            WalError::Io { source, .. } => self.failed(source),
            other => other,
        })?;
        self.size.fetch_add(SEGMENT_HEADER_LEN, Ordering::Relaxed);
        let old = std::mem::replace(&mut self.active, next);
        self.sealed.push((old.first, old.path));
        Ok(())
    }

    fn sync_now(&mut self) {
        if !self.dirty || self.poisoned.is_some() {
            return;
        }
        match self.active.file.sync_data() {
            Ok(()) => self.dirty = false,
            // After a failed fsync the page cache can no longer be trusted: stop accepting.
            Err(e) => self.poison(&e),
        }
    }

    fn poison(&mut self, e: &std::io::Error) {
        tracing::error!(path = %self.active.path.display(), error = %e, "write-ahead log failed; refusing further appends");
        self.poisoned = Some(format!("{}: {e}", self.active.path.display()));
    }

    fn truncate(&mut self, up_to: u64) {
        // A large active segment that is fully delivered is rolled so it can go too.
        if self.next_position - 1 <= up_to
            && self.active.size > self.options.segment_size / 4
            && self.poisoned.is_none()
            && self.roll().is_err()
            && self.poisoned.is_some()
        {
            // (Out of space for a new segment: the delivered one stays until a later truncate.)
            return;
        }
        let active_first = self.active.first;
        let mut keep = Vec::new();
        let sealed = std::mem::take(&mut self.sealed);
        let firsts: Vec<u64> = sealed
            .iter()
            .map(|(f, _)| *f)
            .skip(1)
            .chain(std::iter::once(active_first))
            .collect();
        for ((first, path), next_first) in sealed.into_iter().zip(firsts) {
            if next_first - 1 <= up_to {
                let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot delete delivered WAL segment");
                    keep.push((first, path));
                } else {
                    self.size.fetch_sub(
                        len.min(self.size.load(Ordering::Relaxed)),
                        Ordering::Relaxed,
                    );
                }
            } else {
                keep.push((first, path));
            }
        }
        self.sealed = keep;
    }
}

/// Appends one entry (header, then payload) to `buf`.
fn encode_entry(buf: &mut Vec<u8>, position: u64, payload: &[u8]) {
    let mut crc = crc32c::crc32c(&position.to_le_bytes());
    crc = crc32c::crc32c_append(crc, payload);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc.to_le_bytes());
    buf.extend_from_slice(&position.to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Whether a write failed for lack of space (a full disk or an exhausted quota).
fn is_out_of_space(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.log"))
}

fn rewrite_header(path: &Path) -> Result<(), WalError> {
    let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
    header[..6].copy_from_slice(MAGIC);
    header[6] = VERSION;
    fs::write(path, header)
        .and_then(|_| File::open(path).and_then(|f| f.sync_all()))
        .map_err(|e| WalError::io(path, e))
}

#[cfg(test)]
mod tests;
