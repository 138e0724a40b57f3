//! One document through the pipelines that apply to it, and `_simulate`.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::doc::IngestDoc;
use crate::error::{PipelineError, ProcessError};
use crate::pipeline::{Ctx, Flow, Pipeline, Resolve, Step};
use crate::registry::Registry;

/// What became of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Index this source, with this `_id` if the document has one (a pipeline may set it).
    Keep {
        /// The processed source.
        source: Map<String, Value>,
        /// The document's `_id`.
        id: Option<String>,
    },
    /// A `drop` processor dropped it.
    Dropped,
}

/// Runs `source` (going to `index`, with `id` if the client gave one) through `pipelines` in
/// turn (a request's or default pipeline, then a final one); `timestamp` is
/// `_ingest.timestamp`.
pub fn run_doc<P: std::ops::Deref<Target = Pipeline>>(
    resolve: &dyn Resolve,
    pipelines: &[P],
    source: Map<String, Value>,
    index: &Arc<str>,
    id: Option<&str>,
    timestamp: &Arc<str>,
) -> Result<Outcome, ProcessError> {
    let mut doc = IngestDoc::new(source, index.clone(), id, timestamp.clone());
    let mut ctx = Ctx::new(resolve);
    for p in pipelines {
        if p.execute(&mut doc, &mut ctx)? == Flow::Drop {
            return Ok(Outcome::Dropped);
        }
    }
    if doc.index() != Some(&**index) {
        return Err(ProcessError {
            kind: "illegal_argument_exception",
            reason: format!(
                "a pipeline changed [_index] to [{}]: Hydrant does not reroute documents to another index; send them to that stream instead",
                doc.index_value().map(|v| v.to_string()).unwrap_or_default()
            ),
            processor_type: "pipeline".into(),
            processor_tag: None,
            pipeline: pipelines
                .last()
                .map(|p| p.id().to_string())
                .unwrap_or_default(),
            nested: false,
        });
    }
    Ok(Outcome::Keep {
        id: doc.id(),
        source: doc.source,
    })
}

/// The `error` object of a document that failed, in Elasticsearch's shape.
pub fn error_json(e: &ProcessError) -> Value {
    let mut cause = Map::new();
    cause.insert("type".into(), e.kind.into());
    cause.insert("reason".into(), e.reason.clone().into());
    let mut outer = cause.clone();
    outer.insert("root_cause".into(), json!([Value::Object(cause)]));
    Value::Object(outer)
}

/// `POST /_ingest/pipeline/{id}/_simulate` and `/_ingest/pipeline/_simulate`: `body` holds
/// `docs` and, without `id`, the `pipeline` to try; the answer is Elasticsearch's.
pub fn simulate(
    registry: &Registry,
    id: Option<&str>,
    body: &Value,
    verbose: bool,
    timestamp: &str,
) -> Result<Value, PipelineError> {
    let pipeline: Arc<Pipeline> = match id {
        Some(id) => registry
            .get(id)
            .ok_or_else(|| PipelineError::NotFound(id.to_string()))?,
        None => {
            let def = body.get("pipeline").ok_or_else(|| {
                PipelineError::BadRequest("[pipeline] required property is missing".into())
            })?;
            Arc::new(registry.compile("_simulate_pipeline", def)?)
        }
    };
    let docs = body
        .get("docs")
        .and_then(Value::as_array)
        .ok_or_else(|| PipelineError::BadRequest("[docs] required property is missing".into()))?;
    if docs.is_empty() {
        return Err(PipelineError::BadRequest(
            "must specify at least one document in [docs]".into(),
        ));
    }
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let source = match d.get("_source") {
            Some(Value::Object(m)) => m.clone(),
            _ => {
                return Err(PipelineError::BadRequest(
                    "[_source] required property is missing".into(),
                ));
            }
        };
        let index = d.get("_index").and_then(Value::as_str).unwrap_or("_index");
        let mut doc = IngestDoc::new(
            source,
            index.into(),
            Some(d.get("_id").and_then(Value::as_str).unwrap_or("_id")),
            timestamp.into(),
        );
        let mut ctx = Ctx::new(registry);
        if verbose {
            ctx.trace = Some(Vec::new());
        }
        let result = pipeline.execute(&mut doc, &mut ctx);
        if verbose {
            let steps: Vec<Value> = ctx
                .trace
                .take()
                .unwrap_or_default()
                .iter()
                .map(step_json)
                .collect();
            out.push(json!({ "processor_results": steps }));
            continue;
        }
        out.push(match result {
            Ok(Flow::Drop) => Value::Null,
            Ok(Flow::Continue) => json!({ "doc": doc.to_simulate_json() }),
            Err(e) => json!({ "error": error_json(&e) }),
        });
    }
    Ok(json!({ "docs": out }))
}

fn step_json(s: &Step) -> Value {
    let mut m = Map::new();
    m.insert("processor_type".into(), s.processor_type.into());
    if let Some(t) = &s.tag {
        m.insert("tag".into(), t.clone().into());
    }
    m.insert("status".into(), s.status.into());
    if let Some(e) = &s.error {
        if s.status == "error_ignored" {
            m.insert("ignored_error".into(), json!({ "error": error_json(e) }));
        } else {
            m.insert("error".into(), error_json(e));
        }
    }
    if let Some(d) = &s.doc {
        m.insert("doc".into(), d.clone());
    }
    Value::Object(m)
}
