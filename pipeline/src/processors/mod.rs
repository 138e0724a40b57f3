//! The processors, by Elasticsearch's names. [`build`] reads one processor's options (the
//! common ones — `tag`, `description`, `ignore_failure`, `on_failure` — are read by
//! [`Processor::build`](crate::Processor::build)).

use std::sync::Arc;

use crate::error::DefinitionError;
use crate::opts::Opts;
use crate::pipeline::Process;

mod basic;
mod date;
mod dissect;
mod grok;
mod grok_bank;
mod kv;
mod strings;

mod fingerprint;
mod geoip;
mod uri_parts;
mod user_agent;

pub use geoip::GeoIpDatabases;
pub use user_agent::UserAgents;

pub use grok_bank::grok_patterns;

/// What processors share across pipelines: databases named in the configuration.
#[derive(Clone, Default)]
pub struct Resources {
    /// Extra grok patterns every `grok` processor knows (from the configuration).
    pub grok_patterns: Arc<Vec<(String, String)>>,
    /// `.mmdb` databases for `geoip`, by `database_file` name (from the configuration).
    pub geoip: GeoIpDatabases,
    /// uap-core's user-agent rules for `user_agent`, compiled on first use.
    pub user_agents: UserAgents,
}

impl Resources {
    /// The same resources with the `geoip` database `name` (what `database_file` says, e.g.
    /// `GeoLite2-City.mmdb`) read from `path` on first use.
    pub fn with_geoip(
        mut self,
        name: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
    ) -> Resources {
        self.geoip.insert(name, path);
        self
    }
}

/// Every processor type Hydrant runs.
pub const TYPES: &[&str] = &[
    "append",
    "convert",
    "drop",
    "fail",
    "gsub",
    "join",
    "json",
    "lowercase",
    "pipeline",
    "remove",
    "rename",
    "set",
    "split",
    "trim",
    "uppercase",
    "urldecode",
    "fingerprint",
    "geoip",
    "uri_parts",
    "user_agent",
    "date",
    "dissect",
    "grok",
    "kv",
];

/// Builds the processor `kind` from its options.
pub fn build(
    kind: &str,
    opts: &mut Opts,
    res: &Resources,
) -> Result<(&'static str, Box<dyn Process>), DefinitionError> {
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
        "fingerprint" => ("fingerprint", fingerprint::fingerprint(opts)?),
        "geoip" => ("geoip", geoip::geoip(opts, &res.geoip)?),
        "uri_parts" => ("uri_parts", uri_parts::uri_parts(opts)?),
        "user_agent" => (
            "user_agent",
            user_agent::user_agent(opts, &res.user_agents)?,
        ),
        "date" => ("date", date::date(opts)?),
        "dissect" => ("dissect", dissect::dissect(opts)?),
        "grok" => ("grok", grok::grok(opts, res)?),
        "kv" => ("kv", kv::kv(opts)?),
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
