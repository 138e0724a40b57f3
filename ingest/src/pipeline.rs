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

use crate::destination::elasticsearch::ElasticsearchSink;
use crate::destination::{self, DeliveryContext, backup::BackupSink, index::IndexDestination};
use crate::error::{IngestError, StartError, WalError};
use crate::error_output::ErrorOutput;
use crate::metrics::Metrics;
use crate::objects::build_store;
use crate::record::decode_record;
use crate::stream::{
    DestinationKind, DestinationPort, Runners, Stream, StreamParts, StreamSetup, StreamShared,
    Watermark, destination_channel,
};
use crate::wal::{Wal, WalOptions};
use hydrant_sigproxy::credentials::AwsCredentials;

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
    /// AWS credentials for S3 and SigV4-signed Elasticsearch destinations.
    credentials: Arc<AwsCredentials>,
    /// The ingest pipelines records can go through.
    registry: Arc<hydrant_pipeline::Registry>,
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
        credentials: Arc<AwsCredentials>,
    ) -> Result<Arc<Pipeline>, StartError> {
        let store = build_store(&config, &credentials).map_err(StartError::Storage)?;
        Pipeline::open_with_store(config, catalog, store, credentials).await
    }

    /// [`open`](Self::open) with a given object store (tests use an in-memory one).
    pub async fn open_with_store(
        config: Arc<Config>,
        catalog: Arc<Catalog>,
        store: Arc<dyn ObjectStore>,
        credentials: Arc<AwsCredentials>,
    ) -> Result<Arc<Pipeline>, StartError> {
        let registry = Arc::new(open_registry(&config)?);
        let pipeline = Arc::new(Pipeline {
            config,
            catalog,
            store,
            metrics: Arc::new(Metrics::new()),
            streams: RwLock::new(HashMap::new()),
            create: tokio::sync::Mutex::new(()),
            global_pending: Arc::new(AtomicU64::new(0)),
            credentials,
            registry,
        });
        pipeline.check_elasticsearch()?;
        let wal_dir = pipeline.config.wal_dir();
        if wal_dir.exists() {
            let io = |source| StartError::Io {
                path: wal_dir.clone(),
                source,
            };
            let entries = std::fs::read_dir(&wal_dir).map_err(io)?;
            let mut names = Vec::new();
            for entry in entries {
                let entry = entry.map_err(io)?;
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
        let target = self.write_target(name)?;
        let name = target.as_str();
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
        let stream = self
            .start_stream(name)
            .await
            .map_err(|source| IngestError::StreamStart {
                stream: name.to_string(),
                source: Box::new(source),
            })?;
        tracing::info!(stream = name, "stream created");
        self.streams
            .write()
            .insert(name.to_string(), stream.clone());
        Ok(stream)
    }

    /// The stream a write to `name` goes to: `name` itself, or the write stream of the alias
    /// `name` (its only target, or the one marked `is_write_index`), as Elasticsearch writes
    /// through an alias.
    fn write_target(&self, name: &str) -> Result<String, IngestError> {
        let definitions = self.catalog.definitions();
        if self.catalog.is_index_or_stream(name) {
            return Ok(name.to_string());
        }
        let Some(targets) = definitions.aliases().remove(name) else {
            return Ok(name.to_string());
        };
        let chosen: Vec<&String> = match targets
            .iter()
            .filter(|(_, p)| {
                p.get("is_write_index").and_then(serde_json::Value::as_bool) == Some(true)
            })
            .map(|(t, _)| t)
            .collect::<Vec<_>>()
        {
            marked if !marked.is_empty() => marked,
            _ => targets.keys().collect(),
        };
        match chosen.as_slice() {
            [one] => Ok(self
                .catalog
                .get(one)
                .map_or_else(|| (*one).clone(), |h| h.stream().to_string())),
            _ => Err(IngestError::InvalidArgument(format!(
                "no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"
            ))),
        }
    }

    /// The ingest pipelines.
    pub fn pipelines(&self) -> &Arc<hydrant_pipeline::Registry> {
        &self.registry
    }

    /// The ingest pipelines of stream `stream` for a request arriving at `arrival_ms`.
    pub fn processing(&self, stream: &Stream, arrival_ms: i64) -> crate::processing::Processing {
        crate::processing::Processing::new(
            &self.registry,
            stream.name(),
            stream.config(),
            arrival_ms,
        )
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
        self.metrics
            .observe_damaged(self.catalog.damaged().into_iter().map(|d| d.name));
        let mut text = self.metrics.encode();
        // The pipelines' counters, in the same exposition (before OpenMetrics' end marker):
        // they live in the pipeline registry, not in this registry of metrics.
        let at = text.rfind("# EOF").unwrap_or(text.len());
        text.insert_str(at, &pipeline_metrics(&self.registry));
        text
    }

    /// The metrics registry (receivers count requests per API).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Deletes indices, each through the thread that owns its stream's writers when the
    /// stream is running, directly otherwise. Returns the names deleted.
    pub async fn delete_indices(&self, names: &[String]) -> Result<(), IngestError> {
        let mut by_stream: HashMap<String, Vec<String>> = HashMap::new();
        let mut damaged = Vec::new();
        for name in names {
            match self.catalog.get(name) {
                Some(handle) => by_stream
                    .entry(handle.stream().to_string())
                    .or_default()
                    .push(name.clone()),
                // A damaged index has no writer: it goes directly.
                None if self
                    .catalog
                    .damaged_in(name)
                    .iter()
                    .any(|d| d.name == *name) =>
                {
                    damaged.push(name.clone());
                }
                None => {
                    return Err(IngestError::Index(
                        hydrant_index::IndexError::IndexNotFound(name.clone()),
                    ));
                }
            }
        }
        if !damaged.is_empty() {
            by_stream.insert(String::new(), damaged);
        }
        for (stream, names) in by_stream {
            let running = if stream.is_empty() {
                None
            } else {
                self.get(&stream)
            };
            match running.filter(|s| s.has_index()) {
                Some(s) => s.delete_indices(names).await?,
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
    fn check_elasticsearch(&self) -> Result<(), StartError> {
        let configured = self.config.streams.iter().map(|(n, c)| (n.as_str(), c));
        for (name, config) in std::iter::once(("*", &self.config.defaults)).chain(configured) {
            if config.elasticsearch.enabled {
                ElasticsearchSink::new(name, &config.elasticsearch, &self.credentials).map_err(
                    |source| StartError::Elasticsearch {
                        stream: name.to_string(),
                        source,
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Opens a stream's log, starts its destinations, buffers what the log holds that was not
    /// yet delivered, and starts the stream.
    /// The settings of stream `name`: its configuration, with what the index templates
    /// matching it and its own definition (`PUT /{index}`) declare — the configuration file
    /// wins where it names the stream and sets a value.
    fn stream_config(&self, name: &str) -> hydrant_config::StreamConfig {
        let mut config = self.config.stream(name);
        let defined = self.catalog.definitions().resolve(name, name);
        let view = defined.view();
        if config.pipeline.is_none() {
            config.pipeline = view.default_pipeline.filter(|p| p != "_none");
        }
        if config.final_pipeline.is_none() {
            config.final_pipeline = view.final_pipeline.filter(|p| p != "_none");
        }
        if !self.config.streams.contains_key(name)
            && let Some(interval) = view.refresh_interval
        {
            config.index.refresh_interval = interval;
        }
        config.index.mapping =
            hydrant_index::with_declared(&config.index.mapping, &defined.translated);
        config
    }

    async fn start_stream(&self, name: &str) -> Result<Arc<Stream>, StartError> {
        let config = self.stream_config(name);
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
        let wal_error = |source| StartError::Wal {
            stream: name.to_string(),
            source,
        };
        let (wal, replay) = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || Wal::open(&dir, options, committed + 1))
                .await
                .map_err(|e| StartError::Interrupted {
                    what: "opening the write-ahead log",
                    reason: e.to_string(),
                })?
                .map_err(wal_error)?
        };
        let start = replay.first_position.saturating_sub(1);
        let mut kinds = Vec::new();
        if config.index.enabled {
            kinds.push(DestinationKind::Index);
        }
        if config.backup.mode == BackupMode::AllDocuments {
            kinds.push(DestinationKind::Backup);
        }
        if config.elasticsearch.enabled {
            kinds.push(DestinationKind::Elasticsearch);
        }
        let watermarks: Vec<(DestinationKind, Watermark)> =
            kinds.iter().map(|k| (*k, Watermark::new(start))).collect();
        let shared = StreamShared::new(StreamSetup {
            name: name.to_string(),
            config: config.clone(),
            metrics: self.metrics.stream(name),
            global_pending: self.global_pending.clone(),
            global_limit: self.config.ingest.max_buffered_size,
            start,
            wal: Arc::new(wal),
            destinations: watermarks.clone(),
        });
        let cancel = tokio_util::sync::CancellationToken::new();
        let error_output = Arc::new(ErrorOutput::new(
            self.store.clone(),
            name,
            &config.backup.error_prefix,
            config.backup.compression,
        ));
        let mut links = Vec::new();
        let mut runners = Runners::default();
        let mut index_control = None;
        for (kind, watermark) in watermarks {
            let metrics = self.metrics.destination(name, kind.name());
            let (link, port) = destination_channel(kind, &shared, watermark, metrics.clone());
            let ctx = DeliveryContext {
                retry_duration: config.retry_duration,
                error_output: error_output.clone(),
                metrics,
                cancel: cancel.clone(),
            };
            match kind {
                DestinationKind::Index => {
                    let (control_tx, control) = tokio::sync::mpsc::unbounded_channel();
                    index_control = Some(control_tx);
                    let dest = IndexDestination {
                        indexer: StreamIndexer::new(
                            self.catalog.clone(),
                            name,
                            config.index.clone(),
                        ),
                        control,
                        deleted: shared.metrics.indices_deleted.clone(),
                        refresh: config.index.refresh_interval,
                        error_output: ctx.error_output,
                        metrics: ctx.metrics,
                        cancel: ctx.cancel,
                        runtime: tokio::runtime::Handle::current(),
                    };
                    let thread = destination::index::spawn(port, dest).map_err(|source| {
                        StartError::Spawn {
                            what: "index",
                            source,
                        }
                    })?;
                    runners.threads.push(thread);
                }
                DestinationKind::Backup => {
                    let sink = BackupSink {
                        store: self.store.clone(),
                        stream: name.to_string(),
                        config: config.backup.clone(),
                    };
                    runners.tasks.push(spawn_sink(port, sink, ctx));
                }
                DestinationKind::Elasticsearch => {
                    let sink =
                        ElasticsearchSink::new(name, &config.elasticsearch, &self.credentials)
                            .map_err(|source| StartError::Elasticsearch {
                                stream: name.to_string(),
                                source,
                            })?;
                    runners.tasks.push(spawn_sink(port, sink, ctx));
                }
            }
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
                let record = decode_record(payload).map_err(|source| {
                    wal_error(WalError::BadEntry {
                        dir: dir.clone(),
                        position,
                        reason: source.to_string(),
                    })
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
        Ok(Stream::start(StreamParts {
            shared,
            mapper: Arc::new(hydrant_index::DocMapper::with_mapping(
                &config.index.mapping,
            )),
            links,
            runners,
            cancel,
            index_control,
            error_output,
        }))
    }
}

fn spawn_sink<S: destination::Sink>(
    port: DestinationPort,
    sink: S,
    ctx: DeliveryContext,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(destination::run_sink(port, sink, ctx))
}

/// The pipeline registry of the data directory, with the pipelines of the configuration; a
/// stream naming a pipeline that does not exist (yet) is worth a warning, not a refusal to
/// start: its records are refused one by one until the pipeline is stored.
fn open_registry(config: &Config) -> Result<hydrant_pipeline::Registry, StartError> {
    let declared = config
        .pipelines
        .iter()
        .map(|(id, table)| {
            let def = serde_json::to_value(table).unwrap_or(serde_json::Value::Null);
            (id.clone(), def)
        })
        .collect();
    let resources = config
        .ingest
        .geoip_databases
        .iter()
        .fold(hydrant_pipeline::Resources::default(), |r, (name, path)| {
            r.with_geoip(name.clone(), path.clone())
        });
    let registry = hydrant_pipeline::Registry::open(&config.data_dir, &declared, resources)
        .map_err(StartError::Pipelines)?;
    let streams = std::iter::once(("[defaults]", &config.defaults))
        .chain(config.streams.iter().map(|(n, s)| (n.as_str(), s)));
    for (stream, s) in streams {
        for id in s.pipeline.iter().chain(&s.final_pipeline) {
            if registry.get(id).is_none() {
                tracing::warn!(stream, pipeline = %id, "the stream names a pipeline that does not exist: its records are refused until it is stored");
            }
        }
    }
    Ok(registry)
}

/// `hydrant_ingest_pipeline_{documents,failed,time_seconds}_total{pipeline}` for every pipeline
/// that has run, in the OpenMetrics text format.
fn pipeline_metrics(registry: &hydrant_pipeline::Registry) -> String {
    use std::fmt::Write;
    let ran: Vec<(String, (u64, u64, u64))> = registry
        .list(None)
        .into_iter()
        .map(|(id, p, _)| (id, p.counters()))
        .filter(|(_, (count, _, _))| *count > 0)
        .collect();
    let mut out = String::new();
    type Family = (&'static str, &'static str, fn(&(u64, u64, u64)) -> String);
    let families: [Family; 3] = [
        ("documents", "Documents an ingest pipeline ran on.", |c| {
            c.0.to_string()
        }),
        ("failed", "Documents an ingest pipeline refused.", |c| {
            c.1.to_string()
        }),
        ("time_seconds", "Time spent in an ingest pipeline.", |c| {
            format!("{}", c.2 as f64 / 1e9)
        }),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP hydrant_ingest_pipeline_{name} {help}");
        let _ = writeln!(out, "# TYPE hydrant_ingest_pipeline_{name} counter");
        for (id, counters) in &ran {
            let label = id
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            let _ = writeln!(
                out,
                "hydrant_ingest_pipeline_{name}_total{{pipeline=\"{label}\"}} {}",
                value(counters)
            );
        }
    }
    out
}
