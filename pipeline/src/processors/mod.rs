//! The processors, by Elasticsearch's names. [`build`] reads one processor's options (the
//! common ones — `tag`, `description`, `ignore_failure`, `on_failure` — are read by
//! [`Processor::build`](crate::Processor::build)).

use std::sync::Arc;

use crate::error::DefinitionError;
use crate::opts::Opts;
use crate::pipeline::Process;

mod basic;
mod strings;

/// What processors share across pipelines: databases named in the configuration.
#[derive(Clone, Default)]
pub struct Resources {
    /// Extra grok patterns every `grok` processor knows (from the configuration).
    pub grok_patterns: Arc<Vec<(String, String)>>,
}

/// Every processor type Hydrant runs.
pub const TYPES: &[&str] = &[
    "append", "convert", "drop", "fail", "gsub", "join", "json", "lowercase", "pipeline", "remove",
    "rename", "set", "split", "trim", "uppercase", "urldecode",
];

/// Builds the processor `kind` from its options.
pub fn build(
    kind: &str,
    opts: &mut Opts,
    res: &Resources,
) -> Result<(&'static str, Box<dyn Process>), DefinitionError> {
    let _ = res;
    let (name, imp): (&'static str, Box<dyn Process>) = match kind {
        "append" => ("append", basic::append(opts)?),
        "convert" => ("convert", basic::convert(opts)?),
        "drop" => ("drop", Box::new(basic::DropDoc)),
        "fail" => ("fail", basic::fail(opts)?),
        "gsub" => ("gsub", strings::gsub(opts)?),
        "join" => ("join", strings::join(opts)?),
        "json" => ("json", basic::json(opts)?),
        "lowercase" => ("lowercase", strings::case(opts, strings::Case::Lower)?),
        "pipeline" => ("pipeline", basic::pipeline(opts)?),
        "remove" => ("remove", basic::remove(opts)?),
        "rename" => ("rename", basic::rename(opts)?),
        "set" => ("set", basic::set(opts)?),
        "split" => ("split", strings::split(opts)?),
        "trim" => ("trim", strings::case(opts, strings::Case::Trim)?),
        "uppercase" => ("uppercase", strings::case(opts, strings::Case::Upper)?),
        "urldecode" => ("urldecode", strings::urldecode(opts)?),
        other => {
            return Err(DefinitionError {
                reason: format!("No processor type exists with name [{other}]"),
                processor_type: Some(other.to_string()),
                processor_tag: None,
                property_name: None,
            });
        }
    };
    Ok((name, imp))
}
