//! The NDJSON receiver's parsing: one record per line, each good line kept and each bad one
//! reported with its line number and reason.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;

use hydrant_index::{DocMapper, MappingError};

use crate::record::{Record, new_id};

/// How lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// Each line is one JSON object.
    Json,
    /// Each line is text, indexed as `{"message": "<line>"}`.
    Text,
}

/// Why a line was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineErrorKind {
    /// Not valid JSON.
    InvalidJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// Not valid UTF-8.
    NotUtf8,
    /// Longer than `ingest.max_record_size`.
    TooLarge,
    /// A value does not fit the stream's mapping.
    MapperParsingException,
    /// A field the stream's strict mapping does not list.
    StrictDynamicMappingException,
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    /// Line number, from 1.
    pub line: usize,
    /// Why, as a stable code.
    #[serde(rename = "type")]
    pub kind: LineErrorKind,
    /// Why, for people.
    pub reason: String,
}

/// The event-time fields of a record; everything else is skipped without being built.
#[derive(Deserialize)]
struct TimeFields<'a> {
    #[serde(rename = "@timestamp", borrow, default)]
    at_timestamp: Option<&'a RawValue>,
    #[serde(borrow, default)]
    timestamp: Option<&'a RawValue>,
}

/// Reads the event time of a JSON object record, checking on the way that it is one.
pub fn json_object_time(line: &[u8]) -> Result<Option<i64>, (LineErrorKind, String)> {
    let first = line.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
                Ok(_) => (
                    LineErrorKind::NotAnObject,
                    format!("expected a JSON object, got {}", json_kind(first)),
                ),
                Err(e) => (LineErrorKind::InvalidJson, format!("invalid JSON: {e}")),
            },
        );
    }
    let fields: TimeFields<'_> = serde_json::from_slice(line)
        .map_err(|e| (LineErrorKind::InvalidJson, format!("invalid JSON: {e}")))?;
    let raw = fields.at_timestamp.or(fields.timestamp);
    Ok(raw.and_then(|r| {
        serde_json::from_str::<serde_json::Value>(r.get())
            .ok()
            .and_then(|v| hydrant_index::timestamp::parse_timestamp(&v))
    }))
}

fn json_kind(first: Option<u8>) -> &'static str {
    match first {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't') | Some(b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// Splits an NDJSON (or text) body into records. Blank lines are skipped; a bad line costs
/// only itself.
pub fn parse_lines(
    body: &Bytes,
    format: LineFormat,
    max_record_size: u64,
    arrival_ms: i64,
    mapper: Option<&DocMapper>,
) -> (Vec<Record>, Vec<LineError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < body.len() {
        let end = memchr(b'\n', &body[start..]).map_or(body.len(), |i| start + i);
        line_no += 1;
        let mut line_end = end;
        if line_end > start && body[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line = &body[start..line_end];
        let next = end + 1;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            start = next;
            continue;
        }
        let reject = |kind, reason: String| LineError {
            line: line_no,
            kind,
            reason,
        };
        if line.len() as u64 > max_record_size {
            errors.push(reject(
                LineErrorKind::TooLarge,
                format!(
                    "line is {} bytes, the limit is {max_record_size}",
                    line.len()
                ),
            ));
            start = next;
            continue;
        }
        let text = match std::str::from_utf8(line) {
            Ok(t) => t,
            Err(e) => {
                errors.push(reject(
                    LineErrorKind::NotUtf8,
                    format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                ));
                start = next;
                continue;
            }
        };
        match format {
            LineFormat::Json => match json_object_time(line).and_then(|ts| {
                check_mapping(mapper, line)?;
                Ok(ts)
            }) {
                Ok(ts) => records.push(Record {
                    id: new_id(arrival_ms),
                    client_id: false,
                    arrival_ms,
                    timestamp_ms: ts.unwrap_or(arrival_ms),
                    is_object: true,
                    data: body.slice(start..line_end),
                }),
                Err((kind, reason)) => errors.push(reject(kind, reason)),
            },
            LineFormat::Text => records.push(text_record(text, arrival_ms)),
        }
        start = next;
    }
    (records, errors)
}

/// Checks a record against a stream's mapping, when it has one that can refuse records.
pub fn check_mapping(
    mapper: Option<&DocMapper>,
    data: &[u8],
) -> Result<(), (LineErrorKind, String)> {
    let Some(m) = mapper else { return Ok(()) };
    m.check(data).map_err(|e| {
        let kind = match e {
            MappingError::Strict { .. } => LineErrorKind::StrictDynamicMappingException,
            _ => LineErrorKind::MapperParsingException,
        };
        (kind, e.to_string())
    })
}

/// A line of text as the record `{"message": "<line>"}`.
pub fn text_record(text: &str, arrival_ms: i64) -> Record {
    let data = serde_json::to_vec(&serde_json::json!({ "message": text }))
        .unwrap_or_else(|_| b"{}".to_vec());
    Record {
        id: new_id(arrival_ms),
        client_id: false,
        arrival_ms,
        timestamp_ms: arrival_ms,
        is_object: true,
        data: Bytes::from(data),
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &[u8], format: LineFormat) -> (Vec<Record>, Vec<LineError>) {
        parse_lines(&Bytes::copy_from_slice(body), format, 100, 1_000, None)
    }

    #[test]
    fn each_bad_line_is_reported_and_good_lines_kept() {
        let body = b"{\"a\":1}\n{bad\n[1]\n\xff\xfe\n\n{\"b\":2}\r\n";
        let (records, errors) = parse(body, LineFormat::Json);
        assert_eq!(records.len(), 2);
        assert_eq!(&records[1].data[..], b"{\"b\":2}");
        let kinds: Vec<(usize, LineErrorKind)> = errors.iter().map(|e| (e.line, e.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (2, LineErrorKind::InvalidJson),
                (3, LineErrorKind::NotAnObject),
                (4, LineErrorKind::NotUtf8)
            ]
        );
        assert_eq!(errors[1].reason, "expected a JSON object, got an array");
    }

    #[test]
    fn oversize_line_is_rejected_alone() {
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(200));
        let body = format!("{long}\n{{\"ok\":true}}\n");
        let (records, errors) = parse(body.as_bytes(), LineFormat::Json);
        assert_eq!(records.len(), 1);
        assert_eq!(errors[0].kind, LineErrorKind::TooLarge);
        assert_eq!(errors[0].line, 1);
    }

    #[test]
    fn timestamp_fields_set_event_time() {
        let body = b"{\"@timestamp\":\"2015-05-17T10:05:00Z\"}\n{\"timestamp\":1431857100000}\n{\"x\":1}\n";
        let (records, _) = parse(body, LineFormat::Json);
        assert_eq!(records[0].timestamp_ms, 1_431_857_100_000);
        assert_eq!(records[1].timestamp_ms, 1_431_857_100_000);
        assert_eq!(records[2].timestamp_ms, 1_000);
    }

    #[test]
    fn text_lines_become_message_objects() {
        let (records, errors) = parse(b"GET / \"quoted\"\nsecond\n", LineFormat::Text);
        assert!(errors.is_empty());
        assert_eq!(&records[0].data[..], br#"{"message":"GET / \"quoted\""}"#);
        assert_eq!(records.len(), 2);
    }
}
