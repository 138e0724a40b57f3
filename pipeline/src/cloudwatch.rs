//! Firehose's "decompression and message extraction" for records from a CloudWatch Logs
//! subscription: a gzip JSON envelope (`messageType`, `owner`, `logGroup`, `logStream`,
//! `subscriptionFilters`, `logEvents[]`) becomes one document per log event; a
//! `CONTROL_MESSAGE` (CloudWatch checking that the destination is reachable) becomes none.

use std::io::Read;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::Failure;

/// The id of the built-in pipeline that names this step.
pub const CLOUDWATCH_LOGS: &str = "cloudwatch_logs";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    message_type: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    log_group: Option<String>,
    #[serde(default)]
    log_stream: Option<String>,
    #[serde(default)]
    subscription_filters: Vec<String>,
    #[serde(default)]
    log_events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    timestamp: i64,
    message: String,
}

/// The log events of one record (gzip, or already decompressed JSON), as documents with
/// `message`, `@timestamp` (the event's time), `event.id` and `aws.cloudwatch.{log_group,
/// log_stream, owner, subscription_filters}` — the fields Filebeat's CloudWatch input uses.
/// Decompressed data past `max_bytes` is refused.
pub fn cloudwatch_events(data: &[u8], max_bytes: u64) -> Result<Vec<Map<String, Value>>, Failure> {
    let mut json = Vec::new();
    let bytes: &[u8] = if data.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(data)
            .take(max_bytes + 1)
            .read_to_end(&mut json)
            .map_err(|e| Failure::illegal(format!("a CloudWatch Logs record must be gzip: {e}")))?;
        if json.len() as u64 > max_bytes {
            return Err(Failure::illegal(format!(
                "a CloudWatch Logs record decompresses to more than {max_bytes} bytes"
            )));
        }
        &json
    } else {
        data
    };
    let envelope: Envelope = serde_json::from_slice(bytes)
        .map_err(|e| Failure::illegal(format!("not a CloudWatch Logs subscription record: {e}")))?;
    match envelope.message_type.as_str() {
        "CONTROL_MESSAGE" => return Ok(Vec::new()),
        "DATA_MESSAGE" => {}
        other => {
            return Err(Failure::illegal(format!(
                "unknown CloudWatch Logs messageType [{other}]"
            )));
        }
    }
    let cloudwatch = json!({
        "log_group": envelope.log_group,
        "log_stream": envelope.log_stream,
        "owner": envelope.owner,
        "subscription_filters": envelope.subscription_filters,
    });
    envelope
        .log_events
        .into_iter()
        .map(|e| {
            let time = chrono::DateTime::from_timestamp_millis(e.timestamp).ok_or_else(|| {
                Failure::illegal(format!(
                    "log event timestamp [{}] is out of range",
                    e.timestamp
                ))
            })?;
            let mut doc = Map::new();
            doc.insert(
                "@timestamp".into(),
                Value::String(time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            );
            doc.insert("message".into(), Value::String(e.message));
            if let Some(id) = e.id {
                doc.insert("event".into(), json!({ "id": id }));
            }
            doc.insert("aws".into(), json!({ "cloudwatch": cloudwatch.clone() }));
            Ok(doc)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(v: &Value) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(v.to_string().as_bytes()).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn data_messages_split_into_events_and_control_messages_into_none() {
        let data = gzip(&json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/f",
            "logStream": "2026/12/03/[$LATEST]abc", "subscriptionFilters": ["all"],
            "logEvents": [
                {"id": "1", "timestamp": 1764756000000i64, "message": "START RequestId: x"},
                {"id": "2", "timestamp": 1764756000123i64, "message": "{\"level\":\"info\"}"}
            ]
        }));
        let docs = cloudwatch_events(&data, 1 << 20).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["@timestamp"], "2025-12-03T10:00:00.123Z");
        assert_eq!(docs[1]["message"], "{\"level\":\"info\"}");
        assert_eq!(docs[0]["event"]["id"], "1");
        assert_eq!(docs[0]["aws"]["cloudwatch"]["log_group"], "/aws/lambda/f");
        assert_eq!(
            docs[0]["aws"]["cloudwatch"]["subscription_filters"],
            json!(["all"])
        );
        let control = gzip(
            &json!({"messageType": "CONTROL_MESSAGE", "logEvents": [{"id": "", "timestamp": 0, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}),
        );
        assert_eq!(cloudwatch_events(&control, 1 << 20).unwrap().len(), 0);
        assert!(
            cloudwatch_events(b"plain text", 1 << 20)
                .unwrap_err()
                .reason
                .contains("not a CloudWatch Logs")
        );
        let big = gzip(
            &json!({"messageType": "DATA_MESSAGE", "logEvents": [{"timestamp": 0, "message": "x".repeat(5000)}]}),
        );
        assert!(
            cloudwatch_events(&big, 1000)
                .unwrap_err()
                .reason
                .contains("more than 1000 bytes")
        );
    }
}
