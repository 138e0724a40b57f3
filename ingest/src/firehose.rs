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
use crate::error_output::Failed;
use crate::processing::{Chain, Transformed, transform_record};
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

/// Decodes and accepts every record of a batch — through the stream's pipelines when it has
/// any (Firehose's data transformation) — each outcome in request order, and the batch's data
/// size.
pub(crate) fn accept_batch(
    records: &[Value],
    accept: &Acceptor,
    format: RecordFormat,
    transform: Option<&Result<Chain, RecordError>>,
) -> Result<(Vec<Result<Transformed, RecordError>>, usize), IngestError> {
    let mut outcomes = Vec::with_capacity(records.len());
    let mut total = 0usize;
    for r in records {
        outcomes.push(match record_data(r)? {
            Ok(data) => {
                total += data.len();
                match transform {
                    None => to_record(accept, data, format).map(|r| Transformed::Keep(vec![r])),
                    Some(Err(e)) => Err(e.clone()),
                    Some(Ok(chain)) => transform_record(accept, data, format, chain),
                }
            }
            Err(e) => Err(e),
        });
    }
    Ok((outcomes, total))
}

/// Accepts the records of a `PutRecordBatch` or `PutRecord`: one answer per record, in order.
async fn take_records(
    state: &IngestState,
    headers: &HeaderMap,
    name: &str,
    records: Vec<Value>,
) -> Result<Vec<RecordResponse>, IngestError> {
    let stream = state.pipeline.stream(name).await?;
    check_access(stream.config(), headers).map_err(|denied| IngestError::AccessDenied {
        stream: name.to_string(),
        denied,
    })?;
    state.pipeline.metrics().request(name, "firehose");
    let arrival_ms = chrono::Utc::now().timestamp_millis();
    let accept = stream.acceptor(state.max_record_size, arrival_ms);
    let transform = match state.pipeline.processing(&stream, arrival_ms).chain(None) {
        Ok(chain) if chain.is_empty() => None,
        other => Some(other),
    };
    let format = stream.config().record_format;
    let size: usize = records
        .iter()
        .filter_map(|r| r.get("Data").and_then(Value::as_str).map(str::len))
        .sum();
    let (outcomes, total) = off_runtime(size, move || {
        accept_batch(&records, &accept, format, transform.as_ref())
    })
    .await??;
    if total > MAX_BATCH_BYTES {
        return Err(IngestError::InvalidArgument(format!(
            "the batch holds {total} bytes of data, the limit is {MAX_BATCH_BYTES}"
        )));
    }
    let mut responses: Vec<RecordResponse> = Vec::with_capacity(outcomes.len());
    // Answered with an id once the batch is durable: (answer, id).
    let mut ids: Vec<(usize, String)> = Vec::new();
    let mut batch: Vec<Record> = Vec::new();
    let mut failed: Vec<(usize, Record, &'static str, String)> = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        responses.push(RecordResponse::default());
        match outcome {
            Ok(Transformed::Keep(records)) => {
                // A record a pipeline dropped (or split into nothing) is still acknowledged.
                let id = records.first().map_or_else(
                    || crate::record::new_id(arrival_ms).to_string(),
                    |r| r.id.to_string(),
                );
                ids.push((i, id));
                batch.extend(records);
            }
            Ok(Transformed::Failed { raw, code, message }) => failed.push((i, raw, code, message)),
            Err(e) => {
                let (code, message) = e.firehose();
                responses[i].error_code = Some(code.to_string());
                responses[i].error_message = Some(message);
            }
        }
    }
    stream.count_rejected(responses.iter().filter(|r| r.error_code.is_some()).count());
    if !failed.is_empty() {
        write_processing_failed(&stream, name, failed, &mut responses).await;
    }
    let fault = if batch.is_empty() {
        None
    } else {
        stream.append(batch).await.err().map(|e| e.firehose())
    };
    for (i, id) in ids {
        match &fault {
            None => responses[i].record_id = Some(id),
            Some(f) => {
                responses[i].error_code = Some(f.code.to_string());
                responses[i].error_message = Some(f.message.clone());
            }
        }
    }
    Ok(responses)
}

/// Longest a request waits for the error output to take its processing failures; past it those
/// records are answered `ServiceUnavailableException` (not acknowledged: the client retries).
const PROCESSING_FAILED_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Records a pipeline refused go to the error output under `processing-failed/`, as
/// Firehose's data transformation writes them, before they are acknowledged.
async fn write_processing_failed(
    stream: &crate::stream::Stream,
    name: &str,
    failed: Vec<(usize, Record, &'static str, String)>,
    responses: &mut [RecordResponse],
) {
    let list: Vec<Failed<'_>> = failed
        .iter()
        .map(|(_, raw, code, message)| Failed {
            record: raw,
            attempts: 1,
            code: (*code).to_string(),
            message: message.clone(),
            index: name.to_string(),
        })
        .collect();
    let cancel = stream.cancelled().child_token();
    let timer = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(PROCESSING_FAILED_WAIT).await;
            cancel.cancel();
        })
    };
    let written = stream
        .error_output()
        .write("processing", &list, &cancel)
        .await;
    timer.abort();
    for (i, raw, _, _) in &failed {
        if written {
            responses[*i].record_id = Some(raw.id.to_string());
        } else {
            responses[*i].error_code = Some("ServiceUnavailableException".to_string());
            responses[*i].error_message = Some(
                "the record failed processing and the error output cannot take it now; retry"
                    .to_string(),
            );
        }
    }
}

async fn put_record_batch(
    state: &IngestState,
    headers: &HeaderMap,
    mut request: Value,
) -> Result<Value, IngestError> {
    let (name, records) = batch_request(&mut request)?;
    let responses = take_records(state, headers, &name, records).await?;
    let failed = responses.iter().filter(|r| r.error_code.is_some()).count();
    Ok(json!({
        "FailedPutCount": failed,
        "Encrypted": false,
        "RequestResponses": responses,
    }))
}

/// The stream name and records of a `PutRecordBatch` request, checked as Firehose checks them.
pub(crate) fn batch_request(request: &mut Value) -> Result<(String, Vec<Value>), IngestError> {
    let name = stream_name(request)?;
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
    Ok((name, records))
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
    // A missing or non-string `Data` is the request's error; base64 is checked here too.
    record_data(record)?.map_err(|e| IngestError::InvalidArgument(e.to_string()))?;
    let mut responses = take_records(state, headers, &name, vec![record.clone()]).await?;
    let r = responses.pop().unwrap_or_default();
    match (r.record_id, r.error_code) {
        (Some(id), None) => Ok(json!({"RecordId": id, "Encrypted": false})),
        (_, Some(code)) if code == "ServiceUnavailableException" => Err(IngestError::Unavailable(
            r.error_message.unwrap_or_default(),
        )),
        _ => Err(IngestError::InvalidArgument(
            r.error_message.unwrap_or_default(),
        )),
    }
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
