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

use crate::accept::{Acceptor, RecordError, off_runtime};
use crate::auth::check_access;
use crate::error::IngestError;
use crate::record::Record;
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
pub(crate) const ACCOUNT: &str = "000000000000";

/// A request-level error in Firehose's shape: `{"__type", "message"}` with its status and
/// `x-amzn-errortype` (the mapping itself is [`IngestError::firehose`]).
pub fn error_response(e: &IngestError) -> Response {
    let fault = e.firehose();
    let body = json!({"__type": fault.code, "message": fault.message});
    let mut r = (fault.status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert("x-amzn-errortype", HeaderValue::from_static(fault.code));
    if fault.status == StatusCode::SERVICE_UNAVAILABLE {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// One answer of `PutRecordBatch`, in request order.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
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
) -> Result<Value, IngestError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(op) = target.strip_prefix(TARGET_PREFIX) else {
        return Err(IngestError::UnknownOperation(format!(
            "operation [{target}] is not known; X-Amz-Target must start with {TARGET_PREFIX}"
        )));
    };
    let request: Value = off_runtime(body.len(), move || serde_json::from_slice(&body))
        .await?
        .map_err(|e| IngestError::Malformed(format!("request body is not valid JSON: {e}")))?;
    if !request.is_object() {
        return Err(IngestError::Malformed(
            "request body must be a JSON object".to_string(),
        ));
    }
    match op {
        "PutRecordBatch" => put_record_batch(state, headers, request).await,
        "PutRecord" => put_record(state, headers, &request).await,
        "ListDeliveryStreams" => Ok(list_delivery_streams(state)),
        "DescribeDeliveryStream" => describe_delivery_stream(state, &request).await,
        other => Err(IngestError::UnknownOperation(format!(
            "operation [{other}] is not supported by Hydrant"
        ))),
    }
}

fn stream_name(request: &Value) -> Result<String, IngestError> {
    match request.get("DeliveryStreamName") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(IngestError::Malformed(
            "DeliveryStreamName must be a string".to_string(),
        )),
        None => Err(IngestError::InvalidArgument(
            "DeliveryStreamName is required".to_string(),
        )),
    }
}

/// One record's `Data`, base64-decoded: an error of the whole request when the member is
/// missing or not a string, of this record alone when it is not base64.
fn record_data(record: &Value) -> Result<Result<Vec<u8>, RecordError>, IngestError> {
    let data = match record.get("Data") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(IngestError::Malformed(
                "Record.Data must be a base64 string".to_string(),
            ));
        }
        None => {
            return Err(IngestError::InvalidArgument(
                "Record.Data is required".to_string(),
            ));
        }
    };
    Ok(base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| RecordError::BadBase64(e.to_string())))
}

/// A record as the stream's `record_format` reads it: text wrapped as `{"message": …}`, anything
/// else through the accept path's opaque rule.
fn to_record(
    accept: &Acceptor,
    data: Vec<u8>,
    format: RecordFormat,
) -> Result<Record, RecordError> {
    if format == RecordFormat::Text {
        if data.len() > MAX_RECORD_BYTES {
            return Err(RecordError::TooLarge {
                size: data.len() as u64,
                limit: MAX_RECORD_BYTES as u64,
            });
        }
        let text = String::from_utf8_lossy(&data);
        return Ok(accept.text_record(text.trim_end_matches(['\n', '\r'])));
    }
    accept.opaque(Bytes::from(data), MAX_RECORD_BYTES as u64)
}

/// Decodes and accepts every record of a batch: each outcome in request order, and the batch's
/// data size.
fn accept_batch(
    records: &[Value],
    accept: &Acceptor,
    format: RecordFormat,
) -> Result<(Vec<Result<Record, RecordError>>, usize), IngestError> {
    let mut outcomes = Vec::with_capacity(records.len());
    let mut total = 0usize;
    for r in records {
        outcomes.push(match record_data(r)? {
            Ok(data) => {
                total += data.len();
                to_record(accept, data, format)
            }
            Err(e) => Err(e),
        });
    }
    Ok((outcomes, total))
}

async fn put_record_batch(
    state: &IngestState,
    headers: &HeaderMap,
    mut request: Value,
) -> Result<Value, IngestError> {
    let name = stream_name(&request)?;
    let records = match request.get_mut("Records").map(Value::take) {
        Some(Value::Array(r)) => r,
        Some(_) => return Err(IngestError::Malformed("Records must be a list".to_string())),
        None => {
            return Err(IngestError::InvalidArgument(
                "Records is required".to_string(),
            ));
        }
    };
    if records.is_empty() {
        return Err(IngestError::InvalidArgument(
            "Records must have at least 1 member".to_string(),
        ));
    }
    if records.len() > MAX_BATCH_RECORDS {
        return Err(IngestError::InvalidArgument(format!(
            "Records has {} members, the limit is {MAX_BATCH_RECORDS}",
            records.len()
        )));
    }
    let stream = state.pipeline.stream(&name).await?;
    check_access(stream.config(), headers).map_err(|denied| IngestError::AccessDenied {
        stream: name.clone(),
        denied,
    })?;
    state.pipeline.metrics().request(&name, "firehose");
    let accept = stream.acceptor(state.max_record_size, chrono::Utc::now().timestamp_millis());
    let format = stream.config().record_format;
    let size: usize = records
        .iter()
        .filter_map(|r| r.get("Data").and_then(Value::as_str).map(str::len))
        .sum();
    let (outcomes, total) =
        off_runtime(size, move || accept_batch(&records, &accept, format)).await??;
    if total > MAX_BATCH_BYTES {
        return Err(IngestError::InvalidArgument(format!(
            "the batch holds {total} bytes of data, the limit is {MAX_BATCH_BYTES}"
        )));
    }
    let mut responses: Vec<RecordResponse> = Vec::with_capacity(outcomes.len());
    let mut accepted: Vec<(usize, Record)> = Vec::with_capacity(outcomes.len());
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Ok(record) => {
                accepted.push((i, record));
                responses.push(RecordResponse::default());
            }
            Err(e) => {
                let (code, message) = e.firehose();
                responses.push(RecordResponse {
                    record_id: None,
                    error_code: Some(code.to_string()),
                    error_message: Some(message),
                });
            }
        }
    }
    stream.count_rejected(responses.len() - accepted.len());
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
                let fault = e.firehose();
                for (i, _) in ids {
                    responses[i].error_code = Some(fault.code.to_string());
                    responses[i].error_message = Some(fault.message.clone());
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
) -> Result<Value, IngestError> {
    let name = stream_name(request)?;
    let record = request
        .get("Record")
        .ok_or_else(|| IngestError::InvalidArgument("Record is required".to_string()))?;
    let data = record_data(record)?.map_err(|e| IngestError::InvalidArgument(e.to_string()))?;
    let stream = state.pipeline.stream(&name).await?;
    check_access(stream.config(), headers).map_err(|denied| IngestError::AccessDenied {
        stream: name.clone(),
        denied,
    })?;
    state.pipeline.metrics().request(&name, "firehose");
    let accept = stream.acceptor(state.max_record_size, chrono::Utc::now().timestamp_millis());
    let r = to_record(&accept, data, stream.config().record_format)
        .map_err(|e| IngestError::InvalidArgument(e.to_string()))?;
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
) -> Result<Value, IngestError> {
    let name = stream_name(request)?;
    let known =
        state.pipeline.get(&name).is_some() || state.pipeline.config().streams.contains_key(&name);
    if !known {
        return Err(IngestError::StreamNotFound(name));
    }
    let c = state.pipeline.config().stream(&name);
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
