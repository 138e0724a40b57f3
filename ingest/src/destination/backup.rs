//! The backup destination (`backup.mode = "AllDocuments"`): every batch becomes one object in
//! object storage, NDJSON or Parquet, gzip or not, under Firehose's key layout.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hydrant_config::BackupConfig;
use object_store::ObjectStore;

use super::{BACKUP, Failure, ItemResult, SendFailure, Sink};
use crate::encode::encode;
use crate::objects::{object_key, put_object};
use crate::record::Record;

/// Writes batches to object storage.
pub(crate) struct BackupSink {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) stream: String,
    pub(crate) config: BackupConfig,
}

impl Sink for BackupSink {
    fn name(&self) -> &str {
        BACKUP
    }

    async fn send(&self, records: &[&(u64, Record)]) -> Result<Vec<ItemResult>, SendFailure> {
        let owned: Vec<Record> = records.iter().map(|(_, r)| r.clone()).collect();
        let (format, compression) = (self.config.format, self.config.compression);
        let encoded = tokio::task::spawn_blocking(move || {
            let refs: Vec<&Record> = owned.iter().collect();
            encode(&refs, format, compression)
        })
        .await
        .map_err(|e| SendFailure {
            failure: Failure {
                code: "EncodingFailed".to_string(),
                message: e.to_string(),
            },
            retriable: true,
        })?;
        let mut results = vec![ItemResult::Delivered; records.len()];
        for (i, why) in &encoded.rejected {
            results[*i] = ItemResult::Fail(Failure {
                code: "InvalidRecord".to_string(),
                message: why.clone(),
            });
        }
        if encoded.rejected.len() == records.len() {
            return Ok(results);
        }
        let oldest = records
            .iter()
            .map(|(_, r)| r.arrival_ms)
            .min()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .unwrap_or_else(Utc::now);
        let key = object_key(
            &self.config.prefix,
            &self.stream,
            oldest,
            "",
            encoded.extension,
        );
        put_object(&self.store, &key, encoded.bytes)
            .await
            .map_err(|e| SendFailure {
                failure: Failure {
                    code: "S3.PutObject".to_string(),
                    message: e.to_string(),
                },
                retriable: true,
            })?;
        Ok(results)
    }

    fn index_name(&self, _record: &Record) -> String {
        self.stream.clone()
    }
}
