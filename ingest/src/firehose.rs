//! The Amazon Data Firehose API (`POST /` with `X-Amz-Target: Firehose_20150804.*`), enough for
//! the AWS SDKs and CLI with an endpoint override: `PutRecord`, `PutRecordBatch`,
//! `ListDeliveryStreams` and `DescribeDeliveryStream`, with Firehose's limits and error shapes.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use hydrant_config::RecordFormat;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::check_access;
use crate::error::IngestError;
use crate::ndjson::{json_object_time, text_record};
use crate::record::{Record, new_id};
use crate::routes::IngestState;

/// Most records in one `PutRecordBatch`.
pub const MAX_BATCH_RECORDS: usize = 500;
/// Most bytes (before base64) in one `PutRecordBatch`.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes (before base64) in one record.
pub const MAX_RECORD_BYTES: usize = 1_024_000;

/// The content type of the AWS JSON 1.1 protocol.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "Firehose_20150804.";
/// The account id shown in ARNs and messages.
const ACCOUNT: &str = "000000000000";

/// A Firehose error: the `__type` clients switch on, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirehoseError {
    /// `ResourceNotFoundException`, `InvalidArgumentException`, …
    pub kind: &'static str,
    /// Why.
    pub message: String,
    /// HTTP status.
    pub status: StatusCode,
}

impl FirehoseError {
    fn new(kind: &'static str, status: StatusCode, message: impl Into<String>) -> FirehoseError {
        FirehoseError {
            kind,
            message: message.into(),
            status,
        }
    }

    fn invalid(message: impl Into<String>) -> FirehoseError {
        FirehoseError::new("InvalidArgumentException", StatusCode::BAD_REQUEST, message)
    }

    fn serialization(message: impl Into<String>) -> FirehoseError {
        FirehoseError::new("SerializationException", StatusCode::BAD_REQUEST, message)
    }
}

impl From<IngestError> for FirehoseError {
    fn from(e: IngestError) -> FirehoseError {
        let message = e.to_string();
        match e {
            IngestError::StreamNotFound(name) => FirehoseError::new(
                "ResourceNotFoundException",
                StatusCode::BAD_REQUEST,
                format!("Firehose {name} under account {ACCOUNT} not found."),
            ),
            IngestError::InvalidStreamName { .. } => FirehoseError::invalid(message),
            IngestError::Throttled { .. } => FirehoseError::new(
                "ServiceUnavailableException",
                StatusCode::SERVICE_UNAVAILABLE,
                "Slow down.",
            ),
            IngestError::AccessDenied { denied, .. } => FirehoseError::new(
                "AccessDeniedException",
                match denied {
                    crate::auth::AccessDenied::Missing => StatusCode::UNAUTHORIZED,
                    crate::auth::AccessDenied::Wrong => StatusCode::FORBIDDEN,
                },
                message,
            ),
            IngestError::BodyTooLarge { .. } | IngestError::DecompressedTooLarge { .. } => {
                FirehoseError::new(
                    "InvalidArgumentException",
                    StatusCode::PAYLOAD_TOO_LARGE,
                    message,
                )
            }
            IngestError::BadGzip(_) | IngestError::BodyRead(_) | IngestError::EmptyBody => {
                FirehoseError::serialization(message)
            }
            IngestError::UnsupportedEncoding(_) | IngestError::UnsupportedContentType { .. } => {
                FirehoseError::new(
                    "UnsupportedMediaTypeException",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    message,
                )
            }
            IngestError::Wal { .. } | IngestError::ShuttingDown => FirehoseError::new(
                "ServiceUnavailableException",
                StatusCode::SERVICE_UNAVAILABLE,
                message,
            ),
            IngestError::Index(_)
            | IngestError::Storage(_)
            | IngestError::Delete { .. }
            | IngestError::DestructiveRequiresName(_)
            | IngestError::DeleteAlias(_)
            | IngestError::Elasticsearch { .. } => FirehoseError::new(
                "InternalFailureException",
                StatusCode::INTERNAL_SERVER_ERROR,
                message,
            ),
        }
    }
}

impl IntoResponse for FirehoseError {
    fn into_response(self) -> Response {
        let body = json!({"__type": self.kind, "message": self.message});
        let mut r = (self.status, body.to_string()).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        h.insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// One answer of `PutRecordBatch`, in request order.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RecordResponse {
    /// Id of an accepted record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// Why a record was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Dispatches on `X-Amz-Target`.
pub async fn handle(
    state: &IngestState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Value, FirehoseError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(op) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(FirehoseError::new(
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            format!(
                "operation [{target}] is not known; X-Amz-Target must start with {TARGET_PREFIX}"
            ),
        ));
    };
    let request: Value = serde_json::from_slice(&body).map_err(|e| {
        FirehoseError::serialization(format!("request body is not valid JSON: {e}"))
    })?;
    if !request.is_object() {
        return Err(FirehoseError::serialization(
            "request body must be a JSON object",
        ));
    }
    match op {
        "PutRecordBatch" => put_record_batch(state, headers, &request).await,
        "PutRecord" => put_record(state, headers, &request).await,
        "ListDeliveryStreams" => Ok(list_delivery_streams(state)),
        "DescribeDeliveryStream" => describe_delivery_stream(state, &request).await,
        other => Err(FirehoseError::new(
            "UnknownOperationException",
            StatusCode::BAD_REQUEST,
            format!("operation [{other}] is not supported by Hydrant"),
        )),
    }
}

fn stream_name(request: &Value) -> Result<&str, FirehoseError> {
    match request.get("DeliveryStreamName") {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(FirehoseError::serialization(
            "DeliveryStreamName must be a string",
        )),
        None => Err(FirehoseError::invalid("DeliveryStreamName is required")),
    }
}

/// Decodes one record's `Data`; `Err` is that record's error message.
fn record_data(record: &Value) -> Result<Vec<u8>, Result<String, FirehoseError>> {
    let data = match record.get("Data") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(Err(FirehoseError::serialization(
                "Record.Data must be a base64 string",
            )));
        }
        None => return Err(Err(FirehoseError::invalid("Record.Data is required"))),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| Ok(format!("Data is not valid base64: {e}")))?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(Ok(format!(
            "Record size is {} bytes, which exceeds the limit of {MAX_RECORD_BYTES} bytes",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// A record as the stream's `record_format` reads it: JSON objects are taken as they are (with
/// their event time); anything else is kept as opaque bytes, or wrapped as text.
fn to_record(data: Vec<u8>, format: RecordFormat, arrival_ms: i64) -> Record {
    if format == RecordFormat::Text {
        let text = String::from_utf8_lossy(&data);
        return text_record(text.trim_end_matches(['\n', '\r']), arrival_ms);
    }
    let (is_object, ts) = match json_object_time(&data) {
        Ok(ts) => (true, ts),
        Err(_) => (false, None),
    };
    Record {
        id: new_id(arrival_ms),
        client_id: false,
        arrival_ms,
        timestamp_ms: ts.unwrap_or(arrival_ms),
        is_object,
        data: Bytes::from(data),
    }
}

async fn put_record_batch(
    state: &IngestState,
    headers: &HeaderMap,
    request: &Value,
) -> Result<Value, FirehoseError> {
    let name = stream_name(request)?;
    let records = match request.get("Records") {
        Some(Value::Array(r)) => r,
        Some(_) => return Err(FirehoseError::serialization("Records must be a list")),
        None => return Err(FirehoseError::invalid("Records is required")),
    };
    if records.is_empty() {
        return Err(FirehoseError::invalid(
            "Records must have at least 1 member",
        ));
    }
    if records.len() > MAX_BATCH_RECORDS {
        return Err(FirehoseError::invalid(format!(
            "Records has {} members, the limit is {MAX_BATCH_RECORDS}",
            records.len()
        )));
    }
    let stream = state.pipeline.stream(name).await?;
    check_access(stream.config(), headers).map_err(|denied| IngestError::AccessDenied {
        stream: name.to_string(),
        denied,
    })?;
    state.pipeline.metrics().request(name, "firehose");
    let arrival_ms = chrono::Utc::now().timestamp_millis();
    let mut responses: Vec<RecordResponse> = Vec::with_capacity(records.len());
    let mut accepted: Vec<(usize, Record)> = Vec::with_capacity(records.len());
    let mut total = 0usize;
    for (i, r) in records.iter().enumerate() {
        match record_data(r) {
            Ok(data) => {
                total += data.len();
                accepted.push((
                    i,
                    to_record(data, stream.config().record_format, arrival_ms),
                ));
                responses.push(RecordResponse {
                    record_id: None,
                    error_code: None,
                    error_message: None,
                });
            }
            Err(Ok(message)) => responses.push(RecordResponse {
                record_id: None,
                error_code: Some("InvalidArgumentException".to_string()),
                error_message: Some(message),
            }),
            Err(Err(e)) => return Err(e),
        }
    }
    if total > MAX_BATCH_BYTES {
        return Err(FirehoseError::invalid(format!(
            "the batch holds {total} bytes of data, the limit is {MAX_BATCH_BYTES}"
        )));
    }
    let refused = records.len() - accepted.len();
    stream.count_rejected(refused);
    if !accepted.is_empty() {
        let ids: Vec<(usize, String)> = accepted
            .iter()
            .map(|(i, r)| (*i, r.id.to_string()))
            .collect();
        let batch: Vec<Record> = accepted.into_iter().map(|(_, r)| r).collect();
        match stream.append(batch).await {
            Ok(_) => {
                for (i, id) in ids {
                    responses[i].record_id = Some(id);
                }
            }
            Err(e) => {
                let fe = FirehoseError::from(e);
                for (i, _) in ids {
                    responses[i].error_code = Some(fe.kind.to_string());
                    responses[i].error_message = Some(fe.message.clone());
                }
            }
        }
    }
    let failed = responses.iter().filter(|r| r.error_code.is_some()).count();
    Ok(json!({
        "FailedPutCount": failed,
        "Encrypted": false,
        "RequestResponses": responses,
    }))
}

async fn put_record(
    state: &IngestState,
    headers: &HeaderMap,
    request: &Value,
) -> Result<Value, FirehoseError> {
    let name = stream_name(request)?;
    let record = request
        .get("Record")
        .ok_or_else(|| FirehoseError::invalid("Record is required"))?;
    let data = match record_data(record) {
        Ok(d) => d,
        Err(Ok(message)) => return Err(FirehoseError::invalid(message)),
        Err(Err(e)) => return Err(e),
    };
    let stream = state.pipeline.stream(name).await?;
    check_access(stream.config(), headers).map_err(|denied| IngestError::AccessDenied {
        stream: name.to_string(),
        denied,
    })?;
    state.pipeline.metrics().request(name, "firehose");
    let arrival_ms = chrono::Utc::now().timestamp_millis();
    let r = to_record(data, stream.config().record_format, arrival_ms);
    let id = r.id.to_string();
    stream.append(vec![r]).await?;
    Ok(json!({"RecordId": id, "Encrypted": false}))
}

fn list_delivery_streams(state: &IngestState) -> Value {
    let mut names = state.pipeline.stream_names();
    for configured in state.pipeline.config().streams.keys() {
        if !names.contains(configured) {
            names.push(configured.clone());
        }
    }
    names.sort();
    json!({"DeliveryStreamNames": names, "HasMoreDeliveryStreams": false})
}

async fn describe_delivery_stream(
    state: &IngestState,
    request: &Value,
) -> Result<Value, FirehoseError> {
    let name = stream_name(request)?;
    let known =
        state.pipeline.get(name).is_some() || state.pipeline.config().streams.contains_key(name);
    if !known {
        return Err(IngestError::StreamNotFound(name.to_string()).into());
    }
    let c = state.pipeline.config().stream(name);
    Ok(json!({
        "DeliveryStreamDescription": {
            "DeliveryStreamName": name,
            "DeliveryStreamARN": format!("arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/{name}"),
            "DeliveryStreamStatus": "ACTIVE",
            "DeliveryStreamType": "DirectPut",
            "VersionId": "1",
            "HasMoreDestinations": false,
            "Destinations": [{
                "DestinationId": "destinationId-000000000001",
                "ExtendedS3DestinationDescription": {
                    "RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/hydrant"),
                    "BucketARN": "arn:aws:s3:::hydrant",
                    "Prefix": c.backup.prefix,
                    "ErrorOutputPrefix": c.backup.error_prefix,
                    "BufferingHints": {
                        "SizeInMBs": c.buffer_size / (1024 * 1024),
                        "IntervalInSeconds": c.buffer_interval.as_secs(),
                    },
                    "CompressionFormat": match c.backup.compression {
                        hydrant_config::Compression::Gzip => "GZIP",
                        hydrant_config::Compression::Uncompressed => "UNCOMPRESSED",
                    },
                    "S3BackupMode": "Disabled",
                }
            }],
        }
    }))
}
