//! Ingest pipelines with Elasticsearch's API and processors: raw log lines become fields.
//!
//! A [`Pipeline`] is compiled once from its definition (patterns compiled, options checked)
//! and runs each document through its processors with Elasticsearch's semantics: field
//! paths, `{{ }}` templates, `ignore_failure`, `on_failure` per processor and per pipeline,
//! `_ingest.on_failure_*` metadata, `drop`, nested `pipeline`s. The [`Registry`] holds the
//! pipelines of a server (built in, from the configuration, stored through the API) and
//! answers `_simulate`. Receivers run documents through [`run_doc`].

mod builtin;
mod cloudwatch;
mod doc;
mod error;
mod opts;
mod pipeline;
mod processors;
mod registry;
mod run;
mod template;

#[cfg(feature = "fuzz")]
#[doc(hidden)]
pub mod fuzz;

pub use cloudwatch::{CLOUDWATCH_LOGS, cloudwatch_events};
pub use doc::IngestDoc;
pub use error::{DefinitionError, Failure, PipelineError, ProcessError};
pub use pipeline::{Ctx, Flow, MAX_DEPTH, Pipeline, Process, Resolve};
pub use processors::{Resources, TYPES, grok_patterns};
pub use registry::{Origin, Registry, matches};
pub use run::{Outcome, error_json, run_doc, simulate};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_builtin;
#[cfg(test)]
mod tests_parsing;
