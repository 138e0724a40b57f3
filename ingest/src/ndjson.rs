//! The NDJSON receiver's framing: one record per line; each good line is accepted and each bad
//! one reported with its line number and reason.

use bytes::Bytes;
use hydrant_http::ndjson::lines;

use crate::accept::{Acceptor, LineErrorKind, RecordError};
use crate::processing::Chain;
use crate::record::Record;

/// How lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// Each line is one JSON object.
    Json,
    /// Each line is text, indexed as `{"message": "<line>"}`.
    Text,
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

/// Splits an NDJSON (or text) body into accepted records and refused lines. Blank lines are
/// skipped; a bad line costs only itself.
#[cfg(test)]
pub fn parse_lines(
    body: &Bytes,
    format: LineFormat,
    accept: &Acceptor,
) -> (Vec<Record>, Vec<LineError>) {
    let parsed = parse_lines_with(body, format, accept, &Ok(Chain::default()));
    (parsed.records, parsed.errors)
}

/// What a body's lines became.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Records to keep.
    pub records: Vec<Record>,
    /// Lines refused.
    pub errors: Vec<LineError>,
    /// Lines an ingest pipeline dropped.
    pub dropped: usize,
}

/// [`parse_lines`] through the ingest pipelines of `chain` (or, when the pipeline named does
/// not exist, every line refused with that reason).
pub fn parse_lines_with(
    body: &Bytes,
    format: LineFormat,
    accept: &Acceptor,
    chain: &Result<Chain, RecordError>,
) -> Parsed {
    let mut out = Parsed::default();
    for line in lines(body).filter(|l| !l.is_blank()) {
        let outcome = match chain {
            Err(e) => Err(e.clone()),
            Ok(chain) => match format {
                LineFormat::Json => accept.json_with(body.slice(line.range()), None, chain),
                LineFormat::Text => accept.text_with(line.bytes, chain),
            },
        };
        match outcome {
            Ok(Some(record)) => out.records.push(record),
            Ok(None) => out.dropped += 1,
            Err(e) => {
                let (kind, reason) = e.line_error();
                out.errors.push(LineError {
                    line: line.number,
                    kind,
                    reason,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hydrant_index::DocMapper;

    use super::*;

    fn acceptor(max: u64) -> Acceptor {
        Acceptor::new(Arc::new(DocMapper::new()), max, 1_000)
    }

    fn parse(body: &[u8], format: LineFormat) -> (Vec<Record>, Vec<LineError>) {
        parse_lines(&Bytes::copy_from_slice(body), format, &acceptor(100))
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
        assert_eq!(
            errors[1].reason,
            "failed to parse: expected a JSON object, got an array"
        );
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
        let (records, errors) = parse_lines(&body, LineFormat::Json, &acceptor(1 << 20));
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2], "{errors:?}");
        assert!(errors[0].reason.contains("recursion limit"), "{errors:?}");
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn text_lines_become_message_objects() {
        let (records, errors) = parse(b"GET / \"quoted\"\nsecond\n\xff\n", LineFormat::Text);
        assert_eq!(records.len(), 2);
        assert_eq!(&records[0].data[..], br#"{"message":"GET / \"quoted\""}"#);
        assert_eq!(errors[0].kind, LineErrorKind::NotUtf8);
    }
}
