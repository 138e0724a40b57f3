//! The crate's one error enum, [`PipelineError`] (API and definition errors, with their status
//! and Elasticsearch type), and [`ProcessError`], why one document failed in a pipeline.

use serde_json::{Map, Value, json};

/// A pipeline definition that cannot be used, named as Elasticsearch names it: the processor
/// type and tag, and the property at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct DefinitionError {
    /// Why.
    pub reason: String,
    /// The processor's type, when a processor is at fault.
    pub processor_type: Option<String>,
    /// The processor's tag, if it has one.
    pub processor_tag: Option<String>,
    /// The property at fault, if one is.
    pub property_name: Option<String>,
}

impl DefinitionError {
    /// A definition error with only a reason.
    pub fn new(reason: impl Into<String>) -> DefinitionError {
        DefinitionError {
            reason: reason.into(),
            processor_type: None,
            processor_tag: None,
            property_name: None,
        }
    }

    /// `[property] reason`, as Elasticsearch words a property's error.
    pub fn property(property: &str, reason: impl std::fmt::Display) -> DefinitionError {
        DefinitionError {
            reason: format!("[{property}] {reason}"),
            property_name: Some(property.to_string()),
            ..DefinitionError::new("")
        }
    }

    /// The same error, naming the processor it is in (unless an inner one is named already).
    pub fn in_processor(mut self, kind: &str, tag: Option<&str>) -> DefinitionError {
        if self.processor_type.is_none() {
            self.processor_type = Some(kind.to_string());
            self.processor_tag = tag.map(str::to_string);
        }
        self
    }
}

/// Everything that goes wrong with pipelines outside of one document's processing.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A pipeline definition that cannot be used.
    #[error("{0}")]
    Definition(#[from] DefinitionError),
    /// No pipeline with this id.
    #[error("pipeline [{0}] is missing")]
    NotFound(String),
    /// A pipeline that is built in or declared in the configuration cannot be changed here.
    #[error("pipeline [{id}] is {origin}; it cannot be changed or deleted through the API")]
    ReadOnly {
        /// The pipeline.
        id: String,
        /// Where it comes from ("built in", "declared in the configuration file").
        origin: &'static str,
    },
    /// A request body that is not what the API takes.
    #[error("{0}")]
    BadRequest(String),
    /// The pipeline store could not be read or written.
    #[error("pipeline store {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The pipeline store holds something this version cannot read.
    #[error("pipeline store {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

impl PipelineError {
    /// The HTTP status of the error.
    pub fn status(&self) -> u16 {
        match self {
            PipelineError::Definition(_) | PipelineError::BadRequest(_) => 400,
            PipelineError::NotFound(_) => 404,
            PipelineError::ReadOnly { .. } => 400,
            PipelineError::Io { .. } | PipelineError::Damaged { .. } => 500,
        }
    }

    /// Elasticsearch's error type for it.
    pub fn es_type(&self) -> &'static str {
        match self {
            PipelineError::Definition(_) => "parse_exception",
            PipelineError::NotFound(_) => "resource_not_found_exception",
            PipelineError::ReadOnly { .. } | PipelineError::BadRequest(_) => {
                "illegal_argument_exception"
            }
            PipelineError::Io { .. } | PipelineError::Damaged { .. } => "exception",
        }
    }

    /// The `error` object of Elasticsearch's error body, with the processor fields ES adds
    /// to a definition error (`processor_type`, `processor_tag`, `property_name`).
    pub fn es_error(&self) -> Value {
        let mut e = Map::new();
        e.insert("type".into(), self.es_type().into());
        e.insert("reason".into(), self.to_string().into());
        if let PipelineError::Definition(d) = self {
            for (k, v) in [
                ("processor_type", &d.processor_type),
                ("processor_tag", &d.processor_tag),
                ("property_name", &d.property_name),
            ] {
                if let Some(v) = v {
                    e.insert(k.into(), v.clone().into());
                }
            }
        }
        let mut root = e.clone();
        root.remove("root_cause");
        e.insert("root_cause".into(), json!([root]));
        Value::Object(e)
    }
}

/// Why a processor failed on one document: what it returns, before the pipeline names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Elasticsearch's exception type (`illegal_argument_exception`, …).
    pub kind: &'static str,
    /// Why, as Elasticsearch words it.
    pub reason: String,
    /// The failure of a processor in a pipeline that a `pipeline` processor ran: it keeps
    /// naming that processor and pipeline (`_ingest.on_failure_*`), as in Elasticsearch.
    pub inner: Option<Box<ProcessError>>,
}

impl Failure {
    /// An `illegal_argument_exception`, the type of most processor failures.
    pub fn illegal(reason: impl Into<String>) -> Failure {
        Failure {
            kind: "illegal_argument_exception",
            reason: reason.into(),
            inner: None,
        }
    }

    /// A failure of another type.
    pub fn of(kind: &'static str, reason: impl Into<String>) -> Failure {
        Failure {
            kind,
            reason: reason.into(),
            inner: None,
        }
    }

    /// The failure of a pipeline run by a `pipeline` processor.
    pub fn nested(e: ProcessError) -> Failure {
        Failure {
            kind: e.kind,
            reason: e.reason.clone(),
            inner: Some(Box::new(ProcessError { nested: true, ..e })),
        }
    }
}

/// Why one document failed in a pipeline: the failure and the processor it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct ProcessError {
    /// Elasticsearch's exception type.
    pub kind: &'static str,
    /// Why.
    pub reason: String,
    /// The failing processor's type.
    pub processor_type: String,
    /// The failing processor's tag, if it has one.
    pub processor_tag: Option<String>,
    /// The pipeline the processor is in.
    pub pipeline: String,
    /// The processor is in a pipeline that a `pipeline` processor ran: only then does
    /// Elasticsearch name the pipeline in `_ingest.on_failure_pipeline`.
    pub nested: bool,
}
