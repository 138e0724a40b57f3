//! A compiled pipeline and how a document goes through it: processors in order, each with
//! its `ignore_failure` and `on_failure`, then the pipeline's own `on_failure` — the
//! semantics of Elasticsearch's `CompoundProcessor`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Map, Value, json};
use smallvec::SmallVec;

use crate::doc::IngestDoc;
use crate::error::{DefinitionError, Failure, ProcessError};
use crate::opts::Opts;
use crate::processors::{self, Resources};

/// Nested `pipeline` processors deeper than this are refused: a bound well before the stack
/// could run out, whatever the definitions.
pub const MAX_DEPTH: usize = 32;

/// What a processor asks of the pipeline after it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next processor.
    Continue,
    /// Drop the document: it is not indexed, and not an error.
    Drop,
}

/// What one processor does. Implementations get the document and return a [`Failure`] that
/// the pipeline then names with the processor's type and tag.
pub trait Process: Send + Sync + 'static {
    /// Runs on `doc`.
    fn run(&self, doc: &mut IngestDoc, ctx: &mut Ctx<'_>) -> Result<Flow, Failure>;
}

/// Finds pipelines by id, for the `pipeline` processor.
pub trait Resolve: Send + Sync {
    /// The pipeline `id`, if there is one.
    fn pipeline(&self, id: &str) -> Option<Arc<Pipeline>>;
}

/// One step of a verbose `_simulate`: a processor's result on the document.
#[derive(Debug, Clone)]
pub struct Step {
    /// The processor's type.
    pub processor_type: &'static str,
    /// Its tag.
    pub tag: Option<String>,
    /// `success`, `error`, `error_ignored`, `dropped` or `skipped`.
    pub status: &'static str,
    /// The document after it (on success).
    pub doc: Option<Value>,
    /// The error (on failure).
    pub error: Option<ProcessError>,
}

/// What a document's run through pipelines carries along.
pub struct Ctx<'a> {
    resolve: &'a dyn Resolve,
    /// The pipelines being run, outermost first (shared ids: no copy per document).
    stack: SmallVec<[Arc<str>; 4]>,
    /// Verbose `_simulate` collects each processor's result here.
    pub trace: Option<Vec<Step>>,
}

impl<'a> Ctx<'a> {
    /// A context resolving `pipeline` processors through `resolve`.
    pub fn new(resolve: &'a dyn Resolve) -> Ctx<'a> {
        Ctx {
            resolve,
            stack: SmallVec::new(),
            trace: None,
        }
    }

    /// Runs the pipeline `id` on `doc` from within another (the `pipeline` processor).
    pub fn run_pipeline(&mut self, id: &str, doc: &mut IngestDoc) -> Result<Flow, Failure> {
        let p = self.resolve.pipeline(id).ok_or_else(|| {
            Failure::of(
                "illegal_state_exception",
                format!("Pipeline processor configured for non-existent pipeline [{id}]"),
            )
        })?;
        p.execute(doc, self).map_err(Failure::nested)
    }
}

#[derive(Debug, Default)]
struct Counters {
    count: AtomicU64,
    failed: AtomicU64,
    nanos: AtomicU64,
}

impl Counters {
    fn record(&self, started: Instant, failed: bool) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        self.nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }

    fn json(&self) -> Value {
        json!({
            "count": self.count.load(Ordering::Relaxed),
            "time_in_millis": self.nanos.load(Ordering::Relaxed) / 1_000_000,
            "current": 0,
            "failed": self.failed.load(Ordering::Relaxed),
        })
    }
}

/// One configured processor: what it does and how its failures are handled.
pub struct Processor {
    kind: &'static str,
    tag: Option<String>,
    ignore_failure: bool,
    on_failure: Vec<Processor>,
    imp: Box<dyn Process>,
    stats: Counters,
}

impl Processor {
    /// Builds a processor from one entry of `processors` (`{"<type>": {options}}`).
    pub fn build(entry: &Value, res: &Resources) -> Result<Processor, DefinitionError> {
        let Some((kind, options)) = entry
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
        else {
            return Err(DefinitionError::new(
                "a processor must be an object with exactly one key, the processor's type",
            ));
        };
        let Value::Object(options) = options else {
            return Err(DefinitionError::new(format!(
                "property isn't a map, but of type [{}]",
                crate::doc::java_type(options)
            ))
            .in_processor(kind, None));
        };
        let mut opts = Opts::new(kind, options.clone());
        let tag = opts.opt_string("tag").ok().flatten();
        let named = |e: DefinitionError| e.in_processor(kind, tag.as_deref());
        let _description = opts.opt_string("description").map_err(named)?;
        if opts.take("if").is_some() {
            return Err(named(DefinitionError::property(
                "if",
                "conditions are Painless scripts, which Hydrant does not run; use a separate pipeline (or `on_failure`) for the documents it would select",
            )));
        }
        let ignore_failure = opts.bool_or("ignore_failure", false).map_err(named)?;
        let on_failure = match opts.take("on_failure") {
            None => Vec::new(),
            Some(v) => build_list("on_failure", &v, res).map_err(named)?,
        };
        let (kind, imp) = processors::build(kind, &mut opts, res).map_err(named)?;
        opts.finish().map_err(named)?;
        Ok(Processor {
            kind,
            tag,
            ignore_failure,
            on_failure,
            imp,
            stats: Counters::default(),
        })
    }

    fn run(
        &self,
        doc: &mut IngestDoc,
        ctx: &mut Ctx<'_>,
        pipeline: &str,
    ) -> Result<Flow, ProcessError> {
        let started = Instant::now();
        if self.kind == "pipeline" {
            self.step(ctx, "success", None, None);
        }
        let result = self.imp.run(doc, ctx);
        self.stats.record(started, result.is_err());
        let failure = match result {
            Ok(flow) => {
                // As Elasticsearch's verbose simulate: a dropped document is not shown, and
                // a `pipeline` processor's step came before the steps of its pipeline.
                match flow {
                    Flow::Drop if self.kind != "pipeline" => self.step(ctx, "dropped", None, None),
                    _ if self.kind != "pipeline" => self.step(ctx, "success", Some(doc), None),
                    _ => {}
                }
                return Ok(flow);
            }
            Err(f) => f,
        };
        let error = match failure.inner {
            Some(inner) => *inner,
            None => ProcessError {
                kind: failure.kind,
                reason: failure.reason,
                processor_type: self.kind.to_string(),
                processor_tag: self.tag.clone(),
                pipeline: pipeline.to_string(),
                nested: false,
            },
        };
        let traced = self.kind == "pipeline" && error.nested;
        if self.ignore_failure {
            if !traced {
                self.step(ctx, "error_ignored", Some(doc), Some(error));
            }
            return Ok(Flow::Continue);
        }
        if !traced {
            self.step(ctx, "error", None, Some(error.clone()));
        }
        if self.on_failure.is_empty() {
            return Err(error);
        }
        run_on_failure(&self.on_failure, &error, doc, ctx, pipeline)
    }

    fn step(
        &self,
        ctx: &mut Ctx<'_>,
        status: &'static str,
        doc: Option<&IngestDoc>,
        error: Option<ProcessError>,
    ) {
        if let Some(trace) = ctx.trace.as_mut() {
            trace.push(Step {
                processor_type: self.kind,
                tag: self.tag.clone(),
                status,
                doc: doc.map(IngestDoc::to_simulate_json),
                error,
            });
        }
    }

    fn stats_json(&self) -> Value {
        let mut key = self.kind.to_string();
        if let Some(t) = &self.tag {
            key = format!("{key}:{t}");
        }
        json!({ key: { "type": self.kind, "stats": self.stats.json() } })
    }
}

/// Runs `handlers` after `error`, with `_ingest.on_failure_*` describing it; the metadata is
/// removed afterwards (also when a handler fails), as Elasticsearch's `CompoundProcessor`
/// does. `on_failure_pipeline` is only there for a failure inside a nested pipeline.
fn run_on_failure(
    handlers: &[Processor],
    error: &ProcessError,
    doc: &mut IngestDoc,
    ctx: &mut Ctx<'_>,
    pipeline: &str,
) -> Result<Flow, ProcessError> {
    const KEYS: [&str; 4] = [
        "on_failure_message",
        "on_failure_processor_type",
        "on_failure_processor_tag",
        "on_failure_pipeline",
    ];
    let values = [
        Value::String(error.reason.clone()),
        Value::String(error.processor_type.clone()),
        error
            .processor_tag
            .clone()
            .map_or(Value::Null, Value::String),
        if error.nested {
            Value::String(error.pipeline.clone())
        } else {
            Value::Null
        },
    ];
    for (k, v) in KEYS.iter().zip(values) {
        if v.is_null() {
            doc.ingest_mut().remove(*k);
        } else {
            doc.ingest_mut().insert((*k).into(), v);
        }
    }
    let mut result = Ok(Flow::Continue);
    for h in handlers {
        result = h.run(doc, ctx, pipeline);
        if result != Ok(Flow::Continue) {
            break;
        }
    }
    for k in KEYS {
        doc.ingest_mut().remove(k);
    }
    result
}

/// Builds the processors of a `processors` or `on_failure` list.
pub fn build_list(
    key: &str,
    list: &Value,
    res: &Resources,
) -> Result<Vec<Processor>, DefinitionError> {
    let Value::Array(items) = list else {
        return Err(DefinitionError::property(key, "property isn't a list"));
    };
    items.iter().map(|p| Processor::build(p, res)).collect()
}

/// A compiled pipeline.
pub struct Pipeline {
    id: Arc<str>,
    definition: Value,
    processors: Vec<Processor>,
    on_failure: Vec<Processor>,
    stats: Counters,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// Compiles the definition (`{"description", "processors", "on_failure", "version",
    /// "_meta"}`) of pipeline `id`.
    pub fn compile(
        id: &str,
        definition: &Value,
        res: &Resources,
    ) -> Result<Pipeline, DefinitionError> {
        let Value::Object(m) = definition else {
            return Err(DefinitionError::new(
                "a pipeline definition must be an object",
            ));
        };
        for k in m.keys() {
            if ![
                "description",
                "processors",
                "on_failure",
                "version",
                "_meta",
                "deprecated",
            ]
            .contains(&k.as_str())
            {
                return Err(DefinitionError::new(format!(
                    "pipeline [{id}] doesn't support one or more provided configuration parameters [{k}]"
                )));
            }
        }
        let processors = match m.get("processors") {
            None | Some(Value::Null) => {
                return Err(DefinitionError::property(
                    "processors",
                    "required property is missing",
                ));
            }
            Some(v) => build_list("processors", v, res)?,
        };
        let on_failure = match m.get("on_failure") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => {
                let list = build_list("on_failure", v, res)?;
                if list.is_empty() {
                    return Err(DefinitionError::new(format!(
                        "pipeline [{id}] cannot have an empty on_failure option defined"
                    )));
                }
                list
            }
        };
        Ok(Pipeline {
            id: Arc::from(id),
            definition: definition.clone(),
            processors,
            on_failure,
            stats: Counters::default(),
        })
    }

    /// The pipeline's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The definition it was compiled from, as `GET /_ingest/pipeline` shows it.
    pub fn definition(&self) -> &Value {
        &self.definition
    }

    /// Runs `doc` through the pipeline.
    pub fn execute(&self, doc: &mut IngestDoc, ctx: &mut Ctx<'_>) -> Result<Flow, ProcessError> {
        if ctx.stack.iter().any(|p| **p == *self.id) {
            return Err(self.error(format!("Cycle detected for pipeline: {}", self.id)));
        }
        if ctx.stack.len() >= MAX_DEPTH {
            return Err(self.error(format!(
                "pipelines nested deeper than {MAX_DEPTH} at [{}]",
                self.id
            )));
        }
        let started = Instant::now();
        ctx.stack.push(self.id.clone());
        let previous = doc.enter(&self.id);
        let result = self.run_processors(doc, ctx);
        doc.leave(previous);
        ctx.stack.pop();
        self.stats.record(started, result.is_err());
        result
    }

    fn run_processors(&self, doc: &mut IngestDoc, ctx: &mut Ctx<'_>) -> Result<Flow, ProcessError> {
        for p in &self.processors {
            match p.run(doc, ctx, &self.id) {
                Ok(Flow::Continue) => {}
                Ok(Flow::Drop) => return Ok(Flow::Drop),
                Err(e) if self.on_failure.is_empty() => return Err(e),
                Err(e) => return run_on_failure(&self.on_failure, &e, doc, ctx, &self.id),
            }
        }
        Ok(Flow::Continue)
    }

    fn error(&self, reason: String) -> ProcessError {
        ProcessError {
            kind: "illegal_state_exception",
            reason,
            processor_type: "pipeline".into(),
            processor_tag: None,
            pipeline: self.id.to_string(),
            nested: false,
        }
    }

    /// The pipeline's counters in `GET /_nodes/stats/ingest`'s shape.
    pub fn stats_json(&self) -> Value {
        let mut m = match self.stats.json() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let procs: Vec<Value> = self.processors.iter().map(Processor::stats_json).collect();
        m.insert("processors".into(), Value::Array(procs));
        Value::Object(m)
    }

    /// Documents in, failed, and nanoseconds spent, for the Prometheus metrics.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.stats.count.load(Ordering::Relaxed),
            self.stats.failed.load(Ordering::Relaxed),
            self.stats.nanos.load(Ordering::Relaxed),
        )
    }
}
