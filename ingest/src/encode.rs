//! Encoding a batch of records into one backup object: NDJSON or Parquet, gzip or not.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use hydrant_config::{BackupFormat, Compression};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, GzipLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use crate::record::Record;

/// An encoded object and the records that could not go in it.
#[derive(Debug)]
pub struct Encoded {
    /// The object's bytes.
    pub bytes: Bytes,
    /// File extension, such as `.gz` or `.parquet`.
    pub extension: &'static str,
    /// Records left out (index into the input) and why.
    pub rejected: Vec<(usize, String)>,
}

/// Encodes `records` in `format` with `compression`.
pub fn encode(records: &[&Record], format: BackupFormat, compression: Compression) -> Encoded {
    match format {
        BackupFormat::Ndjson => encode_ndjson(records, compression),
        BackupFormat::Parquet => encode_parquet(records, compression),
    }
}

/// One record per line, exactly as received (a newline is added only when missing).
pub fn ndjson_bytes<'a>(records: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for data in records {
        out.extend_from_slice(data);
        if data.last() != Some(&b'\n') {
            out.push(b'\n');
        }
    }
    out
}

/// NDJSON holds each record as it came: its source when an ingest pipeline changed it
/// (Firehose's source-record backup), else its data. (Parquet holds the processed documents:
/// columns need JSON objects, and Firehose converts formats after its transformation too.)
fn encode_ndjson(records: &[&Record], compression: Compression) -> Encoded {
    let raw = ndjson_bytes(
        records
            .iter()
            .filter_map(|r| r.backup_bytes())
            .map(|b| &b[..]),
    );
    match compression {
        Compression::Gzip => Encoded {
            bytes: Bytes::from(gzip(&raw)),
            extension: ".gz",
            rejected: Vec::new(),
        },
        Compression::Uncompressed => Encoded {
            bytes: Bytes::from(raw),
            extension: "",
            rejected: Vec::new(),
        },
    }
}

/// gzip with the default level.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::default(),
    );
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Parquet with a schema inferred from the batch's JSON objects. Records that are not JSON
/// objects cannot be columns and are rejected (they go to the error output). When the
/// objects' types conflict beyond what inference can reconcile, the batch is written with
/// a single `record` column holding each object's JSON text, so nothing is lost.
fn encode_parquet(records: &[&Record], compression: Compression) -> Encoded {
    let mut values = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    for (i, r) in records.iter().enumerate() {
        match serde_json::from_slice::<Value>(&r.data) {
            Ok(v @ Value::Object(_)) => values.push(v),
            _ => rejected.push((
                i,
                "the record is not a JSON object; Parquet backup needs JSON objects".to_string(),
            )),
        }
    }
    let props = WriterProperties::builder()
        .set_compression(match compression {
            Compression::Gzip => ParquetCompression::GZIP(GzipLevel::default()),
            Compression::Uncompressed => ParquetCompression::UNCOMPRESSED,
        })
        .build();
    let bytes = match typed_batch(&values).and_then(|b| write_parquet(&b, props.clone())) {
        Ok(bytes) => bytes,
        Err(_) => {
            let texts: Vec<String> = values.iter().map(Value::to_string).collect();
            let schema = Arc::new(Schema::new(vec![Field::new(
                "record",
                DataType::Utf8,
                false,
            )]));
            let column: ArrayRef = Arc::new(StringArray::from(texts));
            match RecordBatch::try_new(schema, vec![column])
                .map_err(|e| e.to_string())
                .and_then(|b| write_parquet(&b, props))
            {
                Ok(bytes) => bytes,
                Err(e) => {
                    // Cannot happen for a single string column; reject rather than lose.
                    let why = format!("cannot write Parquet: {e}");
                    return Encoded {
                        bytes: Bytes::new(),
                        extension: ".parquet",
                        rejected: (0..records.len()).map(|i| (i, why.clone())).collect(),
                    };
                }
            }
        }
    };
    Encoded {
        bytes: Bytes::from(bytes),
        extension: ".parquet",
        rejected,
    }
}

fn typed_batch(values: &[Value]) -> Result<RecordBatch, String> {
    let schema = arrow_json::reader::infer_json_schema_from_iterator(values.iter().map(Ok))
        .map_err(|e| e.to_string())?;
    let schema = Arc::new(schema);
    let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
        .build_decoder()
        .map_err(|e| e.to_string())?;
    decoder.serialize(values).map_err(|e| e.to_string())?;
    match decoder.flush().map_err(|e| e.to_string())? {
        Some(batch) => Ok(batch),
        None => Ok(RecordBatch::new_empty(schema)),
    }
}

fn write_parquet(batch: &RecordBatch, props: WriterProperties) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut w =
        ArrowWriter::try_new(&mut out, batch.schema(), Some(props)).map_err(|e| e.to_string())?;
    w.write(batch).map_err(|e| e.to_string())?;
    w.close().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn rec(data: &str) -> Record {
        Record {
            id: "x".into(),
            client_id: false,
            arrival_ms: 0,
            timestamp_ms: 0,
            is_object: data.starts_with('{'),
            data: Bytes::copy_from_slice(data.as_bytes()),
            source: None,
            delete: false,
        }
    }

    #[test]
    fn ndjson_gzip_round_trips_records_exactly() {
        let rs = [rec("{\"a\":1}"), rec("not json\n"), rec("{\"b\": [1, 2]}")];
        let refs: Vec<&Record> = rs.iter().collect();
        let e = encode(&refs, BackupFormat::Ndjson, Compression::Gzip);
        assert_eq!(e.extension, ".gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&e.bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\nnot json\n{\"b\": [1, 2]}\n");
    }

    #[test]
    fn parquet_infers_columns_and_rejects_non_objects() {
        let rs = [rec("{\"a\":1,\"s\":\"x\"}"), rec("[1]"), rec("{\"a\":2}")];
        let refs: Vec<&Record> = rs.iter().collect();
        let e = encode(&refs, BackupFormat::Parquet, Compression::Gzip);
        assert_eq!(e.rejected.len(), 1);
        assert_eq!(e.rejected[0].0, 1);
        let reader = ParquetRecordBatchReaderBuilder::try_new(e.bytes.clone())
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 2);
        assert!(batches[0].schema().field_with_name("a").is_ok());
        assert!(batches[0].schema().field_with_name("s").is_ok());
    }

    #[test]
    fn conflicting_types_fall_back_to_a_json_text_column() {
        let rs = [rec("{\"a\":1}"), rec("{\"a\":{\"nested\":true}}")];
        let refs: Vec<&Record> = rs.iter().collect();
        let e = encode(&refs, BackupFormat::Parquet, Compression::Uncompressed);
        assert!(e.rejected.is_empty());
        let reader = ParquetRecordBatchReaderBuilder::try_new(e.bytes)
            .unwrap()
            .build()
            .unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 2);
    }
}
