//! The grok pattern dictionaries Elasticsearch ships: `legacy` (the default,
//! `ecs_compatibility: disabled`) and `ecs-v1` (field names from the Elastic Common Schema).
//!
//! The pattern files in `pipeline/patterns/` are logstash-patterns-core's, the same ones
//! Elasticsearch bundles (Apache-2.0; see `pipeline/patterns/NOTICE`). They are data, read
//! once per process into a map.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One pattern file: its name and text.
type File = (&'static str, &'static str);

macro_rules! files {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../patterns/", $dir, "/", $name)))),*]
    };
}

const LEGACY: &[File] = files!("legacy": "aws", "bacula", "bind", "bro", "exim", "firewalls", "grok-patterns",
    "haproxy", "httpd", "java", "junos", "linux-syslog", "maven", "mcollective", "mcollective-patterns",
    "mongodb", "nagios", "postgresql", "rails", "redis", "ruby", "squid");

const ECS_V1: &[File] = files!("ecs-v1": "aws", "bacula", "bind", "bro", "exim", "firewalls", "grok-patterns",
    "haproxy", "httpd", "java", "junos", "linux-syslog", "maven", "mcollective", "mongodb", "nagios",
    "postgresql", "rails", "redis", "ruby", "squid", "zeek");

/// Reads pattern files as Elasticsearch does: `NAME definition` per line, leading blanks
/// skipped, `#` comments and blank lines ignored; a later definition of a name wins.
fn load(files: &[File]) -> HashMap<String, String> {
    let mut bank = HashMap::new();
    for (_, text) in files {
        for line in text.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((name, def)) = line.split_once(char::is_whitespace) {
                bank.insert(name.to_string(), def.trim_start().to_string());
            }
        }
    }
    bank
}

/// The built-in dictionary: ECS v1 names when `ecs`, else the legacy ones.
pub fn bank(ecs: bool) -> &'static HashMap<String, String> {
    static LEGACY_BANK: OnceLock<HashMap<String, String>> = OnceLock::new();
    static ECS_BANK: OnceLock<HashMap<String, String>> = OnceLock::new();
    if ecs {
        ECS_BANK.get_or_init(|| load(ECS_V1))
    } else {
        LEGACY_BANK.get_or_init(|| load(LEGACY))
    }
}

/// Every built-in pattern, sorted by name, as `GET /_ingest/processor/grok` lists them.
pub fn grok_patterns(ecs: bool) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = bank(ecs)
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    all.sort();
    all
}
