//! Which ingest pipelines a record goes through, and running them on the accept path.
//!
//! As in Elasticsearch: the pipeline a request names (`?pipeline=`, or `pipeline` in a bulk
//! action line, which wins) or else the stream's default pipeline (`index.default_pipeline`);
//! `_none` names none; then the stream's final pipeline, whatever was named. A record a
//! pipeline refuses costs only itself; one a `drop` processor drops is answered but not kept.

use std::sync::Arc;

use chrono::SecondsFormat;
use hydrant_config::StreamConfig;
use hydrant_pipeline::{Outcome, Pipeline, Registry};
use serde_json::{Map, Value};

use bytes::Bytes;
use hydrant_config::RecordFormat;

use crate::accept::{Acceptor, RecordError};
use crate::record::Record;

/// The pipelines of one stream for one request.
#[derive(Clone)]
pub struct Processing {
    registry: Arc<Registry>,
    index: Arc<str>,
    default: Option<String>,
    last: Option<String>,
    timestamp: Arc<str>,
}

impl std::fmt::Debug for Processing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processing")
            .field("index", &self.index)
            .field("default", &self.default)
            .field("final", &self.last)
            .finish_non_exhaustive()
    }
}

/// A processed source and its `_id` (a pipeline may set it).
pub type Processed = (Map<String, Value>, Option<String>);

/// The pipelines chosen for one record, in the order they run.
#[derive(Clone, Default)]
pub struct Chain {
    pipelines: Vec<Arc<Pipeline>>,
    processing: Option<Processing>,
}

impl Chain {
    /// The id of the first pipeline, if any.
    pub fn first(&self) -> Option<&str> {
        self.pipelines.first().map(|p| p.id())
    }

    /// Whether no pipeline applies (the record is accepted as it came).
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }

    /// Runs `source` (with the client's `_id`, if any) through the chain: the processed
    /// source and its `_id`, `None` if a pipeline dropped it, or why it was refused.
    pub fn run(
        &self,
        source: Map<String, Value>,
        id: Option<&str>,
    ) -> Result<Option<Processed>, RecordError> {
        let Some(p) = &self.processing else {
            return Ok(Some((source, id.map(str::to_string))));
        };
        match hydrant_pipeline::run_doc(
            p.registry.as_ref(),
            &self.pipelines,
            source,
            &p.index,
            id,
            &p.timestamp,
        ) {
            Ok(Outcome::Keep { source, id }) => Ok(Some((source, id))),
            Ok(Outcome::Dropped) => Ok(None),
            Err(e) => Err(RecordError::Processing(Box::new(e))),
        }
    }
}

impl Processing {
    /// The pipelines of `stream` (its configuration `config`) for a request arriving at
    /// `arrival_ms`; `None` when nothing could apply (no default or final pipeline, none
    /// named).
    pub fn new(
        registry: &Arc<Registry>,
        stream: &str,
        config: &StreamConfig,
        arrival_ms: i64,
    ) -> Processing {
        let timestamp = chrono::DateTime::from_timestamp_millis(arrival_ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        Processing {
            registry: registry.clone(),
            index: stream.into(),
            default: config.pipeline.clone(),
            last: config.final_pipeline.clone(),
            timestamp: timestamp.into(),
        }
    }

    /// The chain for a record whose request (or action line) names `requested`.
    pub fn chain(&self, requested: Option<&str>) -> Result<Chain, RecordError> {
        let first = match requested {
            Some("_none") => None,
            Some(id) => Some(id),
            None => self.default.as_deref(),
        };
        let mut pipelines = Vec::with_capacity(2);
        for id in first.into_iter().chain(self.last.as_deref()) {
            let p = self
                .registry
                .get(id)
                .ok_or_else(|| RecordError::PipelineMissing(id.to_string()))?;
            pipelines.push(p);
        }
        Ok(Chain {
            processing: (!pipelines.is_empty()).then(|| self.clone()),
            pipelines,
        })
    }
}

/// Largest CloudWatch Logs record once decompressed (Firehose's records are at most 1,000 KiB
/// compressed; log text compresses well, but not without bound).
const MAX_CLOUDWATCH_BYTES: u64 = 64 * 1024 * 1024;

/// What one Firehose record became through its stream's pipelines.
pub(crate) enum Transformed {
    /// Records to keep: one, several (CloudWatch Logs events) or none (dropped).
    Keep(Vec<Record>),
    /// A pipeline refused it: the raw record goes to the error output under
    /// `processing-failed/`, and is acknowledged once it is there.
    Failed {
        /// The record as it came.
        raw: Record,
        /// The error's type.
        code: &'static str,
        /// Why.
        message: String,
    },
}

/// Firehose's data transformation: a record's `Data` (a JSON object, else text as
/// `{"message": …}`; CloudWatch Logs envelopes split into their events when the chain starts
/// with `cloudwatch_logs`) through `chain`.
pub(crate) fn transform_record(
    accept: &Acceptor,
    data: Vec<u8>,
    format: RecordFormat,
    chain: &Chain,
) -> Result<Transformed, RecordError> {
    let limit = crate::firehose::MAX_RECORD_BYTES as u64;
    let raw = Bytes::from(data);
    let failed = |code: &'static str, message: String| -> Result<Transformed, RecordError> {
        Ok(Transformed::Failed {
            raw: accept.opaque(raw.clone(), limit)?,
            code,
            message,
        })
    };
    if raw.len() as u64 > limit {
        return Err(RecordError::TooLarge {
            size: raw.len() as u64,
            limit,
        });
    }
    let sources = if chain.first() == Some(hydrant_pipeline::CLOUDWATCH_LOGS) {
        match hydrant_pipeline::cloudwatch_events(&raw, MAX_CLOUDWATCH_BYTES) {
            Ok(events) => events,
            Err(f) => return failed(f.kind, f.reason),
        }
    } else {
        let object = match format {
            RecordFormat::Json => serde_json::from_slice::<Map<String, Value>>(&raw).ok(),
            RecordFormat::Text => None,
        };
        vec![object.unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&raw);
            let mut m = Map::new();
            m.insert(
                "message".into(),
                Value::String(text.trim_end_matches(['\n', '\r']).to_string()),
            );
            m
        })]
    };
    let mut records = Vec::with_capacity(sources.len());
    for (i, source) in sources.into_iter().enumerate() {
        // The backup keeps the source record once, with the first document made from it.
        let kept = accept
            .keeps_source()
            .then(|| if i == 0 { raw.clone() } else { Bytes::new() });
        match accept.processed(source, None, chain, kept) {
            Ok(Some(r)) => records.push(r),
            Ok(None) => {}
            Err(e) => {
                let item = e.bulk_item();
                return failed(item.kind, item.reason);
            }
        }
    }
    Ok(Transformed::Keep(records))
}
