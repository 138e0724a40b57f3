//! Request bodies for each ingest protocol, and reading how many records each answer took.

use std::collections::BTreeMap;
use std::io::Write;

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

use crate::generate::Generated;

/// How records are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `POST /v1/streams/{stream}/records` (text lines as `text/plain`).
    Ndjson,
    /// Elasticsearch `POST /{stream}/_bulk`.
    Bulk,
    /// Firehose `PutRecordBatch` on `POST /`.
    Firehose,
}

impl Protocol {
    /// Parses `ndjson`, `bulk` or `firehose`.
    pub fn parse(s: &str) -> Option<Protocol> {
        Some(match s {
            "ndjson" => Protocol::Ndjson,
            "bulk" => Protocol::Bulk,
            "firehose" => Protocol::Firehose,
            _ => return None,
        })
    }

    /// Largest batch the protocol allows (Firehose: 500 records).
    pub fn max_batch(&self) -> usize {
        match self {
            Protocol::Firehose => 500,
            _ => usize::MAX,
        }
    }
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Payload {
    /// Path under the target URL.
    pub path: String,
    /// Body (gzipped when asked).
    pub body: Bytes,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Records in the request.
    pub records: usize,
    /// Bytes of the records themselves (before framing and compression).
    pub record_bytes: u64,
}

/// Builds the request for `records`.
pub fn build(protocol: Protocol, stream: &str, records: &[Generated], gzip: bool) -> Payload {
    let record_bytes: u64 = records.iter().map(|r| r.as_str().len() as u64).sum();
    let text = records
        .first()
        .is_some_and(|r| matches!(r, Generated::Text(_)));
    let (path, mut headers, body) = match protocol {
        Protocol::Ndjson => {
            let mut body = Vec::with_capacity(record_bytes as usize + records.len());
            for r in records {
                body.extend_from_slice(r.as_str().as_bytes());
                body.push(b'\n');
            }
            let ct = if text {
                "text/plain"
            } else {
                "application/x-ndjson"
            };
            (
                format!("/v1/streams/{stream}/records"),
                vec![("content-type", ct.to_string())],
                body,
            )
        }
        Protocol::Bulk => {
            let mut body = Vec::with_capacity(record_bytes as usize + records.len() * 16);
            for r in records {
                body.extend_from_slice(b"{\"index\":{}}\n");
                match r {
                    Generated::Json(j) => body.extend_from_slice(j.as_bytes()),
                    Generated::Text(t) => {
                        let _ =
                            serde_json::to_writer(&mut body, &serde_json::json!({ "message": t }));
                    }
                }
                body.push(b'\n');
            }
            (
                format!("/{stream}/_bulk"),
                vec![("content-type", "application/x-ndjson".to_string())],
                body,
            )
        }
        Protocol::Firehose => {
            let b64 = base64::engine::general_purpose::STANDARD;
            let entries: Vec<Value> = records
                .iter()
                .map(|r| {
                    let mut data = r.as_str().as_bytes().to_vec();
                    data.push(b'\n');
                    serde_json::json!({ "Data": b64.encode(data) })
                })
                .collect();
            let body = serde_json::to_vec(&serde_json::json!({
                "DeliveryStreamName": stream,
                "Records": entries,
            }))
            .unwrap_or_default();
            (
                "/".to_string(),
                vec![
                    ("content-type", "application/x-amz-json-1.1".to_string()),
                    (
                        "x-amz-target",
                        "Firehose_20150804.PutRecordBatch".to_string(),
                    ),
                ],
                body,
            )
        }
    };
    let body = if gzip {
        headers.push(("content-encoding", "gzip".to_string()));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(&body);
        e.finish().unwrap_or_default()
    } else {
        body
    };
    Payload {
        path,
        body: Bytes::from(body),
        headers,
        records: records.len(),
        record_bytes,
    }
}

/// What one answer says about its records.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Records acknowledged (durable).
    pub acked: usize,
    /// Refused records by error kind, other than those in `retry`.
    pub errors: BTreeMap<String, u64>,
    /// Records refused for now — throttled, so certainly not stored: 429, or Firehose's
    /// `ServiceUnavailableException` — by their position in the request, with the error kind.
    /// A shipper sends them again after a pause, as Beats, Vector and the AWS SDKs do. A 502 or
    /// 504 (a proxy that gave up) is not among them: the records may have been stored, and
    /// sending them again could duplicate them.
    pub retry: Vec<(usize, String)>,
    /// Records the answer says nothing about (fewer items than records, or an unreadable
    /// body): their fate is unknown.
    pub unaccounted: usize,
}

/// The Firehose error that says "slow down": nothing of the request was stored.
const FIREHOSE_THROTTLED: &str = "ServiceUnavailableException";

/// Reads an answer of `protocol` for a request of `sent` records.
pub fn outcome(protocol: Protocol, status: u16, body: &[u8], sent: usize) -> Outcome {
    let mut out = Outcome::default();
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let whole = |out: &mut Outcome, kind: String| {
        *out.errors.entry(kind).or_default() += sent as u64;
    };
    match protocol {
        Protocol::Ndjson if status == 200 || status == 400 && v.get("accepted").is_some() => {
            out.acked = v["accepted"].as_u64().unwrap_or(0) as usize;
            for e in v["errors"].as_array().into_iter().flatten() {
                let kind = e["type"].as_str().unwrap_or("unknown").to_string();
                *out.errors.entry(kind).or_default() += 1;
            }
        }
        Protocol::Bulk if status == 200 => {
            for (i, item) in v["items"].as_array().into_iter().flatten().enumerate() {
                let Some((_, r)) = item.as_object().and_then(|o| o.iter().next()) else {
                    continue;
                };
                let s = r["status"].as_u64().unwrap_or(0);
                let kind = || r["error"]["type"].as_str().unwrap_or("unknown").to_string();
                if (200..300).contains(&s) {
                    out.acked += 1;
                } else if s == 429 {
                    out.retry.push((i, format!("http_{s}_{}", kind())));
                } else {
                    *out.errors.entry(kind()).or_default() += 1;
                }
            }
        }
        Protocol::Firehose if status == 200 => {
            for (i, r) in v["RequestResponses"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
            {
                match r["ErrorCode"].as_str() {
                    None => out.acked += 1,
                    Some(code @ FIREHOSE_THROTTLED) => out.retry.push((i, code.to_string())),
                    Some(code) => *out.errors.entry(code.to_string()).or_default() += 1,
                }
            }
        }
        _ => {
            let kind = v["error"]["type"]
                .as_str()
                .or_else(|| v["__type"].as_str())
                .map_or_else(
                    || format!("http_{status}"),
                    |t| format!("http_{status}_{t}"),
                );
            let throttled = status == 429
                || protocol == Protocol::Firehose
                    && v["__type"].as_str() == Some(FIREHOSE_THROTTLED);
            if throttled {
                out.retry = (0..sent).map(|i| (i, kind.clone())).collect();
            } else {
                whole(&mut out, kind);
            }
        }
    }
    let answered = out.acked + out.errors.values().sum::<u64>() as usize + out.retry.len();
    out.unaccounted = sent.saturating_sub(answered);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_frames_its_records() {
        let recs = vec![
            Generated::Json("{\"a\":1}".into()),
            Generated::Json("{\"a\":2}".into()),
        ];
        let p = build(Protocol::Bulk, "web", &recs, false);
        assert_eq!(p.path, "/web/_bulk");
        assert_eq!(
            &p.body[..],
            b"{\"index\":{}}\n{\"a\":1}\n{\"index\":{}}\n{\"a\":2}\n"
        );
        let p = build(Protocol::Firehose, "web", &recs, false);
        let v: Value = serde_json::from_slice(&p.body).unwrap();
        assert_eq!(v["Records"].as_array().unwrap().len(), 2);
        let text = vec![Generated::Text("GET /".into())];
        let p = build(Protocol::Ndjson, "web", &text, true);
        assert!(
            p.headers
                .contains(&("content-type", "text/plain".to_string()))
        );
        assert!(
            p.headers
                .contains(&("content-encoding", "gzip".to_string()))
        );
    }

    #[test]
    fn answers_count_acked_and_errors_by_kind() {
        let bulk = br#"{"items":[{"index":{"status":201}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}"#;
        let o = outcome(Protocol::Bulk, 200, bulk, 2);
        assert_eq!(o.acked, 1);
        assert_eq!(o.errors["mapper_parsing_exception"], 1);
        let fh = br#"{"FailedPutCount":1,"RequestResponses":[{"RecordId":"x"},{"ErrorCode":"ServiceUnavailableException"}]}"#;
        assert_eq!(outcome(Protocol::Firehose, 200, fh, 2).acked, 1);
        let throttled = br#"{"error":{"type":"es_rejected_execution_exception"},"status":429}"#;
        let o = outcome(Protocol::Ndjson, 429, throttled, 5);
        assert_eq!(o.acked, 0);
        assert!(o.errors.is_empty());
        assert_eq!(o.retry.len(), 5);
        assert_eq!(
            o.retry[4],
            (4, "http_429_es_rejected_execution_exception".to_string())
        );
        let missing = br#"{"error":{"type":"index_not_found_exception"},"status":404}"#;
        let o = outcome(Protocol::Ndjson, 404, missing, 5);
        assert_eq!(o.errors["http_404_index_not_found_exception"], 5);
        assert!(o.retry.is_empty());
    }

    #[test]
    fn throttled_items_are_retried_by_position_and_the_rest_are_not() {
        let bulk = br#"{"items":[{"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}},{"index":{"status":201}},{"index":{"status":400,"error":{"type":"mapper_parsing_exception"}}},{"index":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}]}"#;
        let o = outcome(Protocol::Bulk, 200, bulk, 4);
        assert_eq!(o.acked, 1);
        assert_eq!(o.errors["mapper_parsing_exception"], 1);
        let at: Vec<usize> = o.retry.iter().map(|r| r.0).collect();
        assert_eq!(at, [0, 3]);
        // Fewer items than records: the rest are of unknown fate.
        let o = outcome(
            Protocol::Bulk,
            200,
            br#"{"items":[{"index":{"status":201}}]}"#,
            3,
        );
        assert_eq!((o.acked, o.unaccounted), (1, 2));
        // A proxy's 502/504 may come after the records were stored: not retried.
        let o = outcome(Protocol::Bulk, 504, b"upstream timed out", 3);
        assert!(o.retry.is_empty());
        assert_eq!(o.errors["http_504"], 3);
        let fh_whole = br#"{"__type":"ServiceUnavailableException","message":"Slow down."}"#;
        assert_eq!(outcome(Protocol::Firehose, 503, fh_whole, 2).retry.len(), 2);
        let fh = br#"{"FailedPutCount":2,"RequestResponses":[{"ErrorCode":"ServiceUnavailableException"},{"RecordId":"x"},{"ErrorCode":"InvalidArgumentException"}]}"#;
        let o = outcome(Protocol::Firehose, 200, fh, 3);
        assert_eq!(o.retry, [(0, "ServiceUnavailableException".to_string())]);
        assert_eq!(o.errors["InvalidArgumentException"], 1);
    }
}
