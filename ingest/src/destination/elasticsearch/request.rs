//! `_bulk` request bodies: the index each record goes to (with its rotation suffix), the
//! action line that carries `_index` and `_id`, and how one delivery's documents are cut into
//! requests by bytes and document count.

use std::sync::Arc;

use bytes::Bytes;
use hydrant_config::{BulkAction, Rotation, RotationTime};
use hydrant_index::rotation::{IndexNamer, index_for};

use crate::record::Record;

/// Bytes an action line adds besides the index name and the id: `{"index":{"_index":"",
/// "_id":""}}` and two newlines. Used to size requests before they are encoded.
const ACTION_OVERHEAD: u64 = 40;

/// Names the index of each record: the base name and Firehose's rotation suffix, by arrival
/// time or by `@timestamp`.
#[derive(Debug, Clone)]
pub(crate) struct Naming {
    pub(crate) base: String,
    pub(crate) rotation: Rotation,
    pub(crate) time: RotationTime,
}

impl Naming {
    fn time_of(&self, record: &Record) -> i64 {
        match self.time {
            RotationTime::Arrival => record.arrival_ms,
            RotationTime::Timestamp => record.timestamp_ms,
        }
    }

    /// The index `record` goes to.
    pub(crate) fn index_for(&self, record: &Record) -> String {
        index_for(&self.base, self.rotation, self.time_of(record)).0
    }

    /// A namer that formats each period's name once: a delivery's records mostly share one.
    pub(crate) fn cached(&self) -> CachedNaming<'_> {
        CachedNaming {
            naming: self,
            namer: IndexNamer::new(&self.base, self.rotation),
        }
    }
}

/// [`Naming`] with the last period remembered.
pub(crate) struct CachedNaming<'a> {
    naming: &'a Naming,
    namer: IndexNamer,
}

impl CachedNaming<'_> {
    pub(crate) fn index_for(&mut self, record: &Record) -> Arc<str> {
        self.namer.name(self.naming.time_of(record))
    }
}

/// One document of a request.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    /// The record's place in the attempt (its answer goes there).
    pub(crate) slot: usize,
    /// Target index.
    pub(crate) index: Arc<str>,
    /// `_id`, or `None` to let the cluster make one.
    pub(crate) id: Option<Box<str>>,
    /// The JSON object.
    pub(crate) source: Bytes,
}

impl Doc {
    fn estimated_size(&self) -> u64 {
        let id = self.id.as_ref().map_or(0, |i| i.len());
        ACTION_OVERHEAD + (self.index.len() + id + self.source.len()) as u64
    }
}

/// The documents of one `_bulk` request.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub(crate) docs: Vec<Doc>,
    /// Estimated body size before compression.
    pub(crate) bytes: u64,
}

/// Cuts `docs` into requests of at most `max_bytes` (estimated) and `max_docs` documents, in
/// order. A document larger than `max_bytes` travels alone.
pub(crate) fn plan(docs: Vec<Doc>, max_bytes: u64, max_docs: usize) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk::default();
    for doc in docs {
        let size = doc.estimated_size();
        let full = current.docs.len() >= max_docs || current.bytes + size > max_bytes;
        if full && !current.docs.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        current.bytes += size;
        current.docs.push(doc);
    }
    if !current.docs.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The NDJSON body of a request: an action line and a source line per document.
pub(crate) fn encode(docs: &[Doc], action: BulkAction) -> Vec<u8> {
    let size: u64 = docs.iter().map(Doc::estimated_size).sum();
    let mut out = Vec::with_capacity(size as usize);
    let name = match action {
        BulkAction::Index => "index",
        BulkAction::Create => "create",
    };
    for doc in docs {
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":{\"_index\":");
        push_json_string(&mut out, &doc.index);
        if let Some(id) = &doc.id {
            out.extend_from_slice(b",\"_id\":");
            push_json_string(&mut out, id);
        }
        out.extend_from_slice(b"}}\n");
        push_one_line(&mut out, &doc.source);
        out.push(b'\n');
    }
    out
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // Serialising a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends a JSON document on one line. In valid JSON a raw line break can only be
/// whitespace between tokens (inside strings it must be escaped), so a pretty-printed
/// Firehose record becomes a valid NDJSON line by turning its line breaks into spaces.
fn push_one_line(out: &mut Vec<u8>, source: &[u8]) {
    if !source.contains(&b'\n') && !source.contains(&b'\r') {
        out.extend_from_slice(source);
        return;
    }
    out.extend(source.iter().map(|b| match b {
        b'\n' | b'\r' => b' ',
        other => *other,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(arrival_ms: i64, timestamp_ms: i64) -> Record {
        Record {
            id: "r".into(),
            client_id: false,
            arrival_ms,
            timestamp_ms,
            is_object: true,
            data: Bytes::from_static(b"{}"),
            source: None,
            delete: false,
        }
    }

    fn doc(slot: usize, id: Option<&str>, source: &str) -> Doc {
        Doc {
            slot,
            index: "logs".into(),
            id: id.map(Into::into),
            source: Bytes::copy_from_slice(source.as_bytes()),
        }
    }

    // 2026-11-26T13:05:09Z, and a @timestamp two days earlier.
    const ARRIVAL: i64 = 1_795_698_309_000;
    const EVENT: i64 = ARRIVAL - 2 * 86_400_000;

    #[test]
    fn index_suffixes_follow_firehose_by_arrival_time_or_timestamp() {
        let by = |rotation, time| {
            Naming {
                base: "logs".into(),
                rotation,
                time,
            }
            .index_for(&record(ARRIVAL, EVENT))
        };
        use RotationTime::{Arrival, Timestamp};
        assert_eq!(by(Rotation::NoRotation, Arrival), "logs");
        assert_eq!(by(Rotation::OneHour, Arrival), "logs-2026-11-26-13");
        assert_eq!(by(Rotation::OneDay, Arrival), "logs-2026-11-26");
        assert_eq!(by(Rotation::OneWeek, Arrival), "logs-2026-w47");
        assert_eq!(by(Rotation::OneMonth, Arrival), "logs-2026-11");
        assert_eq!(by(Rotation::OneDay, Timestamp), "logs-2026-11-24");
    }

    #[test]
    fn the_cached_namer_changes_name_at_a_period_boundary() {
        let naming = Naming {
            base: "logs".into(),
            rotation: Rotation::OneHour,
            time: RotationTime::Arrival,
        };
        let mut cached = naming.cached();
        let hour = 3_600_000;
        let start = ARRIVAL - ARRIVAL % hour;
        assert_eq!(&*cached.index_for(&record(start, 0)), "logs-2026-11-26-13");
        assert_eq!(
            &*cached.index_for(&record(start + hour - 1, 0)),
            "logs-2026-11-26-13"
        );
        assert_eq!(
            &*cached.index_for(&record(start + hour, 0)),
            "logs-2026-11-26-14"
        );
        assert_eq!(&*cached.index_for(&record(start, 0)), "logs-2026-11-26-13");
    }

    #[test]
    fn action_lines_carry_index_and_escaped_id_and_sources_stay_one_line() {
        let docs = [
            doc(0, Some("a\"1"), "{\"x\":1}"),
            doc(1, None, "{\n  \"y\": \"two\\nlines\"\r\n}\n"),
        ];
        let body = String::from_utf8(encode(&docs, BulkAction::Index)).unwrap();
        assert_eq!(
            body,
            "{\"index\":{\"_index\":\"logs\",\"_id\":\"a\\\"1\"}}\n{\"x\":1}\n{\"index\":{\"_index\":\"logs\"}}\n{   \"y\": \"two\\nlines\"  } \n"
        );
        for line in body.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        let create = String::from_utf8(encode(&docs[..1], BulkAction::Create)).unwrap();
        assert!(create.starts_with("{\"create\":{"), "{create}");
    }

    #[test]
    fn requests_are_cut_by_bytes_and_by_document_count() {
        let docs: Vec<Doc> = (0..10).map(|i| doc(i, Some("id"), "{}")).collect();
        let size = docs[0].estimated_size();
        let by_count = plan(docs.clone(), u64::MAX, 4);
        let counts: Vec<usize> = by_count.iter().map(|c| c.docs.len()).collect();
        assert_eq!(counts, [4, 4, 2]);
        let by_bytes = plan(docs.clone(), size * 3, 100);
        let counts: Vec<usize> = by_bytes.iter().map(|c| c.docs.len()).collect();
        assert_eq!(counts, [3, 3, 3, 1]);
        let slots: Vec<usize> = by_bytes
            .iter()
            .flat_map(|c| &c.docs)
            .map(|d| d.slot)
            .collect();
        assert_eq!(slots, (0..10).collect::<Vec<_>>());
        // A document larger than the limit goes alone rather than never.
        let alone = plan(docs, 1, 100);
        assert_eq!(alone.len(), 10);
    }
}
