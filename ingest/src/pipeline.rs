//! The set of streams of one process: opening them at start (with replay), creating them on
//! first write, and shutting them down.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use hydrant_config::{BackupMode, Config};
use hydrant_index::{Catalog, StreamIndexer};
use object_store::ObjectStore;
use parking_lot::RwLock;

use crate::destination::elasticsearch::{ElasticsearchSink, SharedCredentials};
use crate::destination::{self, DeliveryContext, backup::BackupSink, index::IndexDestination};
use crate::error::IngestError;
use crate::error_output::ErrorOutput;
use crate::metrics::Metrics;
use crate::objects::build_store;
use crate::record::decode_record;
use crate::stream::{Stream, StreamShared, destination_channel};
use crate::wal::{Wal, WalOptions};

/// WAL segments are closed past this size.
const SEGMENT_SIZE: u64 = 64 * 1024 * 1024;

/// Every stream of the process.
pub struct Pipeline {
    config: Arc<Config>,
    catalog: Arc<Catalog>,
    store: Arc<dyn ObjectStore>,
    metrics: Arc<Metrics>,
    streams: RwLock<HashMap<String, Arc<Stream>>>,
    create: tokio::sync::Mutex<()>,
    global_pending: Arc<AtomicU64>,
    es_credentials: SharedCredentials,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Opens every stream that has a write-ahead log under the data directory, replaying what
    /// was not yet delivered.
    pub async fn open(
        config: Arc<Config>,
        catalog: Arc<Catalog>,
    ) -> Result<Arc<Pipeline>, IngestError> {
        let store = build_store(&config).map_err(IngestError::Storage)?;
        Pipeline::open_with_store(config, catalog, store).await
    }

    /// [`open`](Self::open) with a given object store (tests use an in-memory one).
    pub async fn open_with_store(
        config: Arc<Config>,
        catalog: Arc<Catalog>,
        store: Arc<dyn ObjectStore>,
    ) -> Result<Arc<Pipeline>, IngestError> {
        let pipeline = Arc::new(Pipeline {
            config,
            catalog,
            store,
            metrics: Arc::new(Metrics::new()),
            streams: RwLock::new(HashMap::new()),
            create: tokio::sync::Mutex::new(()),
            global_pending: Arc::new(AtomicU64::new(0)),
            es_credentials: SharedCredentials::default(),
        });
        pipeline.check_elasticsearch()?;
        let wal_dir = pipeline.config.wal_dir();
        if wal_dir.exists() {
            let entries = std::fs::read_dir(&wal_dir).map_err(|e| wal_io(&wal_dir, e))?;
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| wal_io(&wal_dir, e))?;
                if entry.path().is_dir() {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
            names.sort();
            for name in names {
                if hydrant_config::validate_stream_name(&name).is_err() {
                    tracing::warn!(dir = %wal_dir.join(&name).display(), "ignoring a directory that is not a stream");
                    continue;
                }
                let stream = pipeline.start_stream(&name).await?;
                pipeline.streams.write().insert(name, stream);
            }
        }
        Ok(pipeline)
    }

    /// The stream `name`, created with its configured (or default) settings on first use
    /// unless `ingest.auto_create_streams` is off.
    pub async fn stream(&self, name: &str) -> Result<Arc<Stream>, IngestError> {
        if let Some(s) = self.streams.read().get(name) {
            return Ok(s.clone());
        }
        if let Err(reason) = hydrant_config::validate_stream_name(name) {
            return Err(IngestError::InvalidStreamName {
                name: name.to_string(),
                reason,
            });
        }
        if !self.config.ingest.auto_create_streams && !self.config.streams.contains_key(name) {
            return Err(IngestError::StreamNotFound(name.to_string()));
        }
        let _guard = self.create.lock().await;
        if let Some(s) = self.streams.read().get(name) {
            return Ok(s.clone());
        }
        let stream = self.start_stream(name).await?;
        tracing::info!(stream = name, "stream created");
        self.streams
            .write()
            .insert(name.to_string(), stream.clone());
        Ok(stream)
    }

    /// The stream `name` if it exists.
    pub fn get(&self, name: &str) -> Option<Arc<Stream>> {
        self.streams.read().get(name).cloned()
    }

    /// Names of every stream.
    pub fn stream_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.streams.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// The configuration the pipeline runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The Prometheus text of every ingest metric, gauges refreshed.
    pub fn metrics_text(&self) -> String {
        let now = chrono::Utc::now().timestamp_millis();
        for s in self.streams.read().values() {
            s.observe(now);
        }
        self.metrics.encode()
    }

    /// The metrics registry (receivers count requests per API).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Deletes indices, each through the thread that owns its stream's writers when the
    /// stream is running, directly otherwise. Returns the names deleted.
    pub async fn delete_indices(&self, names: &[String]) -> Result<(), IngestError> {
        let mut by_stream: HashMap<String, Vec<String>> = HashMap::new();
        for name in names {
            let handle = self.catalog.get(name).ok_or_else(|| {
                IngestError::Index(hydrant_index::IndexError::IndexNotFound(name.clone()))
            })?;
            by_stream
                .entry(handle.stream().to_string())
                .or_default()
                .push(name.clone());
        }
        for (stream, names) in by_stream {
            let control = self
                .get(&stream)
                .and_then(|s| s.index_control.lock().clone());
            match control {
                Some(tx) => {
                    let (reply, rx) = tokio::sync::oneshot::channel();
                    let sent = tx.send(destination::index::IndexControl::Delete {
                        names: names.clone(),
                        reply,
                    });
                    let result = match sent {
                        Ok(()) => rx
                            .await
                            .unwrap_or_else(|_| Err("the index thread stopped".to_string())),
                        Err(_) => Err("the index thread stopped".to_string()),
                    };
                    result.map_err(|reason| IngestError::Delete {
                        stream: stream.clone(),
                        reason,
                    })?;
                }
                None => {
                    let catalog = self.catalog.clone();
                    tokio::task::spawn_blocking(move || {
                        names.iter().try_for_each(|n| catalog.delete(n))
                    })
                    .await
                    .map_err(|e| IngestError::Delete {
                        stream: stream.clone(),
                        reason: e.to_string(),
                    })??;
                }
            }
        }
        Ok(())
    }

    /// The catalog of indices.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Flushes every stream, waits for delivery to finish and closes the logs.
    pub async fn shutdown(&self) {
        let streams: Vec<Arc<Stream>> = self.streams.read().values().cloned().collect();
        for s in streams {
            s.shutdown().await;
        }
    }

    /// Sets up every configured Elasticsearch destination once, so that a bad endpoint, an
    /// unreadable CA file or a missing SigV4 region stops the start rather than a first write.
    fn check_elasticsearch(&self) -> Result<(), IngestError> {
        let configured = self.config.streams.iter().map(|(n, c)| (n.as_str(), c));
        for (name, config) in std::iter::once(("*", &self.config.defaults)).chain(configured) {
            if config.elasticsearch.enabled {
                ElasticsearchSink::new(name, &config.elasticsearch, &self.es_credentials).map_err(
                    |source| IngestError::Elasticsearch {
                        stream: name.to_string(),
                        source,
                    },
                )?;
            }
        }
        Ok(())
    }

    async fn start_stream(&self, name: &str) -> Result<Arc<Stream>, IngestError> {
        let config = self.config.stream(name);
        let dir: PathBuf = self.config.wal_dir().join(name);
        // Positions must keep increasing past anything an index already committed.
        let committed = self
            .catalog
            .stream_indices(name)
            .iter()
            .flat_map(|h| h.shards().iter().map(|s| s.committed()))
            .max()
            .unwrap_or(0);
        let options = WalOptions {
            fsync: config.fsync,
            fsync_interval: config.fsync_interval,
            segment_size: SEGMENT_SIZE,
        };
        let (wal, replay) = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || Wal::open(&dir, options, committed + 1))
                .await
                .map_err(|e| IngestError::Wal {
                    stream: name.to_string(),
                    source: crate::error::WalError::Poisoned(e.to_string()),
                })?
                .map_err(|source| IngestError::Wal {
                    stream: name.to_string(),
                    source,
                })?
        };
        let start = replay.first_position.saturating_sub(1);
        let shared = StreamShared::new(
            name,
            config.clone(),
            self.metrics.stream(name),
            self.global_pending.clone(),
            self.config.ingest.max_buffered_size,
            start,
        );
        let mut links = Vec::new();
        let mut workers = Vec::new();
        let mut tasks = Vec::new();
        let mut index_control = None;
        let cancel = tokio_util::sync::CancellationToken::new();
        let error_output = Arc::new(ErrorOutput::new(
            self.store.clone(),
            name,
            &config.backup.error_prefix,
            config.backup.compression,
        ));
        if config.index.enabled {
            let metrics = self.metrics.destination(name, destination::INDEX);
            let (link, port) =
                destination_channel(destination::INDEX, &shared, start, metrics.clone());
            let (control_tx, control) = tokio::sync::mpsc::unbounded_channel();
            index_control = Some(control_tx);
            let dest = IndexDestination {
                indexer: StreamIndexer::new(self.catalog.clone(), name, config.index.clone()),
                control,
                deleted: shared.metrics.indices_deleted.clone(),
                refresh: config.index.refresh_interval,
                error_output: error_output.clone(),
                metrics,
                cancel: cancel.clone(),
                runtime: tokio::runtime::Handle::current(),
            };
            let thread = destination::index::spawn(port, dest).map_err(|e| wal_io(&dir, e))?;
            links.push(link);
            workers.push(thread);
        }
        if config.backup.mode == BackupMode::AllDocuments {
            let metrics = self.metrics.destination(name, destination::BACKUP);
            let (link, port) =
                destination_channel(destination::BACKUP, &shared, start, metrics.clone());
            let sink = BackupSink {
                store: self.store.clone(),
                stream: name.to_string(),
                config: config.backup.clone(),
            };
            let ctx = DeliveryContext {
                retry_duration: config.retry_duration,
                error_output: error_output.clone(),
                metrics,
                cancel: cancel.clone(),
            };
            tasks.push(tokio::spawn(destination::run_sink(port, sink, ctx)));
            links.push(link);
        }
        if config.elasticsearch.enabled {
            let metrics = self.metrics.destination(name, destination::ELASTICSEARCH);
            let (link, port) =
                destination_channel(destination::ELASTICSEARCH, &shared, start, metrics.clone());
            let sink = ElasticsearchSink::new(name, &config.elasticsearch, &self.es_credentials)
                .map_err(|source| IngestError::Elasticsearch {
                    stream: name.to_string(),
                    source,
                })?;
            let ctx = DeliveryContext {
                retry_duration: config.retry_duration,
                error_output: error_output.clone(),
                metrics,
                cancel: cancel.clone(),
            };
            tasks.push(tokio::spawn(destination::run_sink(port, sink, ctx)));
            links.push(link);
        }
        if replay.torn_bytes > 0 {
            tracing::warn!(
                stream = name,
                bytes = replay.torn_bytes,
                "write-ahead log had a torn tail from a crash; it was cut"
            );
        }
        let replayed = replay.entries.len();
        if replayed > 0 {
            let mut records = Vec::with_capacity(replayed);
            let first = replay.entries[0].0;
            for (position, payload) in replay.entries {
                let record = decode_record(payload).map_err(|source| IngestError::Wal {
                    stream: name.to_string(),
                    source: match source {
                        crate::error::WalError::BadRecord(r) => crate::error::WalError::Corrupt {
                            path: dir.clone(),
                            offset: position,
                            reason: format!("entry at position {position}: {r}"),
                        },
                        other => other,
                    },
                })?;
                records.push(record);
            }
            let bytes = records.iter().map(|r| r.size()).sum();
            shared.add_pending(bytes);
            shared.buffer_records(first, records);
            shared.flush_soon();
            tracing::info!(
                stream = name,
                records = replayed,
                "replaying records not yet delivered"
            );
        }
        let stream = Stream::start(shared, Arc::new(wal), links, cancel);
        stream.workers.lock().extend(workers);
        stream.tasks.lock().extend(tasks);
        *stream.index_control.lock() = index_control;
        Ok(stream)
    }
}

fn wal_io(path: &std::path::Path, e: std::io::Error) -> IngestError {
    IngestError::Wal {
        stream: String::new(),
        source: crate::error::WalError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    }
}
