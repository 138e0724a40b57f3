//! Hits as an Arrow IPC stream (`?format=arrow` or `Accept: application/vnd.apache.arrow.stream`),
//! one column per requested field, for pyarrow, polars and DuckDB.
//!
//! Columns are `_index`, `_id`, `_score`, then the fields the request names (`fields`
//! patterns, else `_source` includes, else every field the hits have, in order of first
//! appearance). A column's type is what its values allow: integers, floats, booleans,
//! `@timestamp` as a UTC millisecond timestamp, text otherwise (several values as JSON text).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use hydrant_index::timestamp::parse_timestamp;
use serde_json::Value;

use crate::error::QueryError;
use crate::request::{SearchRequest, path_match};
use crate::search::{SearchResponse, flatten};

/// The media type of an Arrow IPC stream.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

/// The field values of one hit, by path.
type Row = HashMap<String, Vec<Value>>;

fn rows(resp: &SearchResponse, req: &SearchRequest) -> (Vec<Row>, Vec<String>) {
    let mut order: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for hit in &resp.hits.hits {
        let mut row: Row = HashMap::new();
        let leaves: Vec<(String, Value)> = match (&hit.fields, req.fields.is_empty()) {
            (Some(fields), false) => fields
                .iter()
                .flat_map(|(k, v)| match v {
                    Value::Array(items) => items.iter().map(|i| (k.clone(), i.clone())).collect(),
                    other => vec![(k.clone(), other.clone())],
                })
                .collect(),
            _ => hit
                .source
                .as_ref()
                .and_then(|s| serde_json::from_str::<Value>(s.get()).ok())
                .map(|v| flatten(&v))
                .unwrap_or_default(),
        };
        for (path, v) in leaves {
            if !order.contains(&path) {
                order.push(path.clone());
            }
            row.entry(path).or_default().push(v);
        }
        out.push(row);
    }
    let patterns: Vec<String> = if !req.fields.is_empty() {
        req.fields.iter().map(|f| f.pattern.clone()).collect()
    } else {
        req.source.includes.clone()
    };
    let mut columns: Vec<String> = if patterns.is_empty() {
        order
    } else {
        order
            .into_iter()
            .filter(|p| patterns.iter().any(|pat| path_match(pat, p)))
            .collect()
    };
    columns.retain(|c| !matches!(c.as_str(), "_index" | "_id" | "_score"));
    (out, columns)
}

fn column(name: &str, rows: &[Row]) -> (Field, ArrayRef) {
    let values: Vec<Option<&Vec<Value>>> = rows.iter().map(|r| r.get(name)).collect();
    let single = values.iter().flatten().all(|v| v.len() == 1);
    let scalars = || values.iter().map(|v| v.and_then(|v| v.first()));
    let all = |f: fn(&Value) -> bool| single && scalars().flatten().all(f);
    if single && name == "@timestamp" && scalars().flatten().all(|v| parse_timestamp(v).is_some()) {
        let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
        for v in scalars() {
            b.append_option(v.and_then(parse_timestamp));
        }
        let dt = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
        return (Field::new(name, dt, true), Arc::new(b.finish()));
    }
    if all(|v| v.is_i64()) {
        let mut b = Int64Builder::new();
        for v in scalars() {
            b.append_option(v.and_then(Value::as_i64));
        }
        return (
            Field::new(name, DataType::Int64, true),
            Arc::new(b.finish()),
        );
    }
    if all(Value::is_number) {
        let mut b = Float64Builder::new();
        for v in scalars() {
            b.append_option(v.and_then(Value::as_f64));
        }
        return (
            Field::new(name, DataType::Float64, true),
            Arc::new(b.finish()),
        );
    }
    if all(Value::is_boolean) {
        let mut b = BooleanBuilder::new();
        for v in scalars() {
            b.append_option(v.and_then(Value::as_bool));
        }
        return (
            Field::new(name, DataType::Boolean, true),
            Arc::new(b.finish()),
        );
    }
    let mut b = StringBuilder::new();
    for v in &values {
        b.append_option(v.map(|v| match v.as_slice() {
            [Value::String(s)] => s.clone(),
            [one] => one.to_string(),
            many => Value::Array(many.to_vec()).to_string(),
        }));
    }
    (Field::new(name, DataType::Utf8, true), Arc::new(b.finish()))
}

/// The hits of `resp` as an Arrow IPC stream.
pub fn hits_to_ipc(resp: &SearchResponse, req: &SearchRequest) -> Result<Vec<u8>, QueryError> {
    let (rows, names) = rows(resp, req);
    let mut fields = vec![
        Field::new("_index", DataType::Utf8, false),
        Field::new("_id", DataType::Utf8, false),
        Field::new("_score", DataType::Float32, true),
    ];
    let mut index = StringBuilder::new();
    let mut id = StringBuilder::new();
    let mut score = Float32Builder::new();
    for hit in &resp.hits.hits {
        index.append_value(&hit.index);
        id.append_value(&hit.id);
        score.append_option(hit.score);
    }
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(index.finish()),
        Arc::new(id.finish()),
        Arc::new(score.finish()),
    ];
    for name in &names {
        let (f, a) = column(name, &rows);
        fields.push(f);
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let failed =
        |e: arrow_schema::ArrowError| QueryError::Search(format!("arrow encoding failed: {e}"));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(failed)?;
    let mut writer = StreamWriter::try_new(Vec::new(), &schema).map_err(failed)?;
    writer.write(&batch).map_err(failed)?;
    writer.finish().map_err(failed)?;
    writer.into_inner().map_err(failed)
}
