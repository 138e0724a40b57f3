//! A record as ingest carries it, and its encoding inside write-ahead-log entries.

use bytes::Bytes;

use crate::error::WalError;

pub use hydrant_index::new_id;

/// One accepted record.
#[derive(Debug, Clone)]
pub struct Record {
    /// Document id: the client's (`_id` in `_bulk`) or generated at arrival.
    pub id: Box<str>,
    /// Whether the client chose the id (a second write with it replaces the first).
    pub client_id: bool,
    /// Arrival time, epoch milliseconds.
    pub arrival_ms: i64,
    /// Event time (`@timestamp`/`timestamp` of the record, else arrival), epoch milliseconds.
    pub timestamp_ms: i64,
    /// Whether `data` is known to be one JSON object.
    pub is_object: bool,
    /// The record's bytes, exactly as they will be indexed (and backed up, unless `source`).
    pub data: Bytes,
    /// The record as it came, when an ingest pipeline changed it and the stream backs up every
    /// document: what the backup holds (Firehose's source-record backup). Empty: nothing to
    /// back up (the other documents split from one source record).
    pub source: Option<Bytes>,
    /// A deletion of document `id` from the index named by `data` (`DELETE /{index}/_doc/{id}`,
    /// `_update` moving a document): applied by the embedded index, skipped by the backup.
    pub delete: bool,
}

impl Record {
    /// Bytes this record counts for in buffers and limits.
    pub fn size(&self) -> u64 {
        let source = self.source.as_ref().map_or(0, |s| s.len() + 4);
        (self.data.len() + self.id.len() + RECORD_HEADER_LEN + source) as u64
    }

    /// What the backup holds for this record: its source when it has one, else its data;
    /// `None` when another record carries the source it came from, or for a deletion.
    pub fn backup_bytes(&self) -> Option<&Bytes> {
        if self.delete {
            return None;
        }
        match &self.source {
            Some(s) if s.is_empty() => None,
            Some(s) => Some(s),
            None => Some(&self.data),
        }
    }
}

/// Version of the record encoding below; 2 when the record carries its source.
const RECORD_VERSION: u8 = 1;
const RECORD_VERSION_SOURCE: u8 = 2;
const FLAG_OBJECT: u8 = 1;
const FLAG_CLIENT_ID: u8 = 2;
const FLAG_SOURCE: u8 = 4;
const FLAG_DELETE: u8 = 8;
/// Fixed part of an encoded record: version, flags, arrival, timestamp, id length.
const RECORD_HEADER_LEN: usize = 1 + 1 + 8 + 8 + 2;

/// Appends the encoding of `record` to `out`.
///
/// Format (little-endian), the payload of one WAL entry:
///
/// | bytes | field |
/// |---|---|
/// | 1 | version (1) |
/// | 1 | flags: bit 0 data is a JSON object, bit 1 the id is the client's, bit 3 a deletion |
/// | 8 | arrival time, epoch ms (i64) |
/// | 8 | event time, epoch ms (i64) |
/// | 2 | id length (u16) |
/// | n | id (UTF-8) |
/// | 4 | source length (u32), version 2 only (flag bit 2) |
/// | m | source, version 2 only |
/// | rest | data |
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    let id = record.id.as_bytes();
    let id_len = id.len().min(u16::MAX as usize);
    out.reserve(RECORD_HEADER_LEN + id_len + record.data.len());
    out.push(if record.source.is_some() {
        RECORD_VERSION_SOURCE
    } else {
        RECORD_VERSION
    });
    let mut flags = 0;
    if record.is_object {
        flags |= FLAG_OBJECT;
    }
    if record.client_id {
        flags |= FLAG_CLIENT_ID;
    }
    if record.source.is_some() {
        flags |= FLAG_SOURCE;
    }
    if record.delete {
        flags |= FLAG_DELETE;
    }
    out.push(flags);
    out.extend_from_slice(&record.arrival_ms.to_le_bytes());
    out.extend_from_slice(&record.timestamp_ms.to_le_bytes());
    out.extend_from_slice(&(id_len as u16).to_le_bytes());
    out.extend_from_slice(&id[..id_len]);
    if let Some(source) = &record.source {
        out.extend_from_slice(&(source.len() as u32).to_le_bytes());
        out.extend_from_slice(source);
    }
    out.extend_from_slice(&record.data);
}

/// Decodes a record encoded by [`encode_record`]; `payload` is shared, not copied.
pub fn decode_record(payload: Bytes) -> Result<Record, WalError> {
    let bad = |reason: &str| WalError::BadRecord(reason.to_string());
    if payload.len() < RECORD_HEADER_LEN {
        return Err(bad("record shorter than its header"));
    }
    if payload[0] != RECORD_VERSION && payload[0] != RECORD_VERSION_SOURCE {
        return Err(WalError::BadRecord(format!(
            "record version {} is not supported",
            payload[0]
        )));
    }
    let flags = payload[1];
    let le64 = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&payload[at..at + 8]);
        i64::from_le_bytes(b)
    };
    let arrival_ms = le64(2);
    let timestamp_ms = le64(10);
    let id_len = u16::from_le_bytes([payload[18], payload[19]]) as usize;
    let id_end = RECORD_HEADER_LEN + id_len;
    if payload.len() < id_end {
        return Err(bad("record id runs past the record"));
    }
    let id = std::str::from_utf8(&payload[RECORD_HEADER_LEN..id_end])
        .map_err(|_| bad("record id is not UTF-8"))?
        .into();
    let (source, data_start) = if payload[0] == RECORD_VERSION_SOURCE && flags & FLAG_SOURCE != 0 {
        let len_end = id_end + 4;
        if payload.len() < len_end {
            return Err(bad("record source length runs past the record"));
        }
        let mut b = [0u8; 4];
        b.copy_from_slice(&payload[id_end..len_end]);
        let end = len_end + u32::from_le_bytes(b) as usize;
        if payload.len() < end {
            return Err(bad("record source runs past the record"));
        }
        (Some(payload.slice(len_end..end)), end)
    } else {
        (None, id_end)
    };
    Ok(Record {
        id,
        client_id: flags & FLAG_CLIENT_ID != 0,
        arrival_ms,
        timestamp_ms,
        is_object: flags & FLAG_OBJECT != 0,
        data: payload.slice(data_start..),
        source,
        delete: flags & FLAG_DELETE != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let r = Record {
            id: "abc".into(),
            client_id: true,
            arrival_ms: 1_700_000_000_123,
            timestamp_ms: -5,
            is_object: true,
            data: Bytes::from_static(b"{\"a\":1}"),
            source: None,
            delete: false,
        };
        let mut buf = Vec::new();
        encode_record(&r, &mut buf);
        let back = decode_record(Bytes::from(buf)).unwrap();
        assert_eq!(&*back.id, "abc");
        assert!(back.client_id && back.is_object);
        assert_eq!(back.arrival_ms, r.arrival_ms);
        assert_eq!(back.timestamp_ms, -5);
        assert_eq!(back.data, r.data);
        assert_eq!(back.source, None);
        let with_source = Record {
            source: Some(Bytes::from_static(b"raw line")),
            ..r.clone()
        };
        let mut buf = Vec::new();
        encode_record(&with_source, &mut buf);
        assert_eq!(buf.len() as u64, with_source.size());
        let back = decode_record(Bytes::from(buf)).unwrap();
        assert_eq!(back.source.as_deref(), Some(&b"raw line"[..]));
        assert_eq!(back.data, r.data);
        assert_eq!(back.backup_bytes().map(|b| &b[..]), Some(&b"raw line"[..]));
        let split = Record {
            source: Some(Bytes::new()),
            delete: false,
            ..r.clone()
        };
        assert_eq!(split.backup_bytes(), None);
        let deletion = Record {
            data: Bytes::from_static(b"web-2026-12-03"),
            is_object: false,
            delete: true,
            ..r
        };
        let mut buf = Vec::new();
        encode_record(&deletion, &mut buf);
        let back = decode_record(Bytes::from(buf)).unwrap();
        assert!(back.delete);
        assert_eq!(&back.data[..], b"web-2026-12-03");
    }

    #[test]
    fn truncated_or_foreign_records_are_errors() {
        assert!(decode_record(Bytes::from_static(b"\x01\x00")).is_err());
        let mut buf = Vec::new();
        encode_record(
            &Record {
                id: "x".into(),
                client_id: false,
                arrival_ms: 0,
                timestamp_ms: 0,
                is_object: false,
                data: Bytes::new(),
                source: None,
                delete: false,
            },
            &mut buf,
        );
        buf[0] = 9;
        assert!(decode_record(Bytes::from(buf)).is_err());
    }
}
