//! The NDJSON receiver's parsing: one record per line, each good line kept and each bad one
//! reported with its line number and reason.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};

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

/// Reads the event time of a JSON object record (`@timestamp`, else `timestamp`), checking on
/// the way that it is one JSON object the indexer will be able to read: valid JSON, nested no
/// deeper than serde_json parses (128 levels). Nothing but the event time is built.
pub fn json_object_time(line: &[u8]) -> Result<Option<i64>, (LineErrorKind, String)> {
    let first = line.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') {
        return Err(match serde_json::from_slice::<Walk>(line) {
            Ok(_) => (
                LineErrorKind::NotAnObject,
                format!("expected a JSON object, got {}", json_kind(first)),
            ),
            Err(e) => (LineErrorKind::InvalidJson, format!("invalid JSON: {e}")),
        });
    }
    let times: EventTime = serde_json::from_slice(line)
        .map_err(|e| (LineErrorKind::InvalidJson, format!("invalid JSON: {e}")))?;
    Ok(times.at_timestamp.or(times.timestamp))
}

/// A JSON value walked through without being built. Unlike `IgnoredAny` (which serde_json skips
/// without a depth limit), every object and array is entered, so serde_json's recursion limit
/// refuses what the indexer could not parse either.
struct Walk;

impl<'de> Deserialize<'de> for Walk {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Walk, D::Error> {
        d.deserialize_any(WalkVisitor)
    }
}

struct WalkVisitor;

impl<'de> Visitor<'de> for WalkVisitor {
    type Value = Walk;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_str<E>(self, _: &str) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_unit<E>(self) -> Result<Walk, E> {
        Ok(Walk)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Walk, A::Error> {
        while seq.next_element::<Walk>()?.is_some() {}
        Ok(Walk)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Walk, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value::<Walk>()?;
        }
        Ok(Walk)
    }
}

/// The event-time fields of a top-level object, read in the same walk.
#[derive(Default)]
struct EventTime {
    at_timestamp: Option<i64>,
    timestamp: Option<i64>,
}

impl<'de> Deserialize<'de> for EventTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EventTime, D::Error> {
        d.deserialize_map(EventTimeVisitor)
    }
}

struct EventTimeVisitor;

impl<'de> Visitor<'de> for EventTimeVisitor {
    type Value = EventTime;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventTime, A::Error> {
        let mut out = EventTime::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "@timestamp" => out.at_timestamp = map.next_value::<TimeValue>()?.0,
                "timestamp" => out.timestamp = map.next_value::<TimeValue>()?.0,
                _ => {
                    map.next_value::<Walk>()?;
                }
            }
        }
        Ok(out)
    }
}

/// A time field's value: epoch milliseconds or a date string, else `None` (and walked).
struct TimeValue(Option<i64>);

impl<'de> Deserialize<'de> for TimeValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<TimeValue, D::Error> {
        d.deserialize_any(TimeValueVisitor)
    }
}

struct TimeValueVisitor;

impl<'de> Visitor<'de> for TimeValueVisitor {
    type Value = TimeValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a date")
    }

    fn visit_i64<E>(self, v: i64) -> Result<TimeValue, E> {
        Ok(TimeValue(Some(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<TimeValue, E> {
        Ok(TimeValue(i64::try_from(v).ok()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<TimeValue, E> {
        // Saturating, as epoch milliseconds beyond i64 are no date anyway.
        Ok(TimeValue(v.is_finite().then_some(v as i64)))
    }
    fn visit_str<E>(self, v: &str) -> Result<TimeValue, E> {
        Ok(TimeValue(hydrant_index::timestamp::parse_timestamp_str(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<TimeValue, E> {
        Ok(TimeValue(None))
    }
    fn visit_unit<E>(self) -> Result<TimeValue, E> {
        Ok(TimeValue(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TimeValue, A::Error> {
        WalkVisitor.visit_seq(seq).map(|_| TimeValue(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TimeValue, A::Error> {
        WalkVisitor.visit_map(map).map(|_| TimeValue(None))
    }
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
    fn records_nested_deeper_than_the_indexer_reads_are_refused_alone() {
        let deep = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let arrays = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!(
            "{}\n{}\n{}\n{{\"ok\":1}}\n",
            deep(100_000),
            arrays,
            deep(100)
        );
        let body = Bytes::from(body);
        let (records, errors) = parse_lines(&body, LineFormat::Json, 1 << 20, 1_000, None);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2], "{errors:?}");
        assert!(errors[0].reason.contains("recursion limit"), "{errors:?}");
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn event_time_from_any_value_kind() {
        let times = |line: &str| json_object_time(line.as_bytes()).unwrap();
        assert_eq!(times(r#"{"x":{"@timestamp":5},"timestamp":7}"#), Some(7));
        assert_eq!(
            times(r#"{"@timestamp":"1970-01-01T00:00:01Z","timestamp":7}"#),
            Some(1000)
        );
        assert_eq!(times(r#"{"@timestamp":[1],"timestamp":{"a":1}}"#), None);
        assert_eq!(times(r#"{"@timestamp":1.5e300}"#), Some(i64::MAX));
        assert_eq!(
            times(r#"{"@timestamp":"2015-05-17T10:05:00\u002B02:00"}"#),
            Some(1_431_849_900_000)
        );
    }

    #[test]
    fn text_lines_become_message_objects() {
        let (records, errors) = parse(b"GET / \"quoted\"\nsecond\n", LineFormat::Text);
        assert!(errors.is_empty());
        assert_eq!(&records[0].data[..], br#"{"message":"GET / \"quoted\""}"#);
        assert_eq!(records.len(), 2);
    }
}
