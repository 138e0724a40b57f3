//! Hydrant's fuzz targets: every parser that reads what a client or the disk hands it, by name.
//!
//! The same functions run under libFuzzer (`fuzz/`, `cargo +nightly fuzz run <name>`) and in
//! `cargo test`, which replays every input of `fuzz/corpus/<name>/` (small, minimised corpora
//! kept in the repository, the crashes found included) without the fuzzer. Each target checks
//! what must hold whatever the bytes: no panic or abort, refusals as client errors, and round
//! trips where there is an oracle (see each crate's `fuzz` module).

use std::collections::BTreeMap;

/// A fuzz target: its name (the directory of its corpus) and its function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("ndjson", hydrant_ingest::fuzz::ndjson),
    ("bulk", hydrant_ingest::fuzz::bulk),
    ("firehose", hydrant_ingest::fuzz::firehose),
    ("gzip_body", hydrant_ingest::fuzz::gzip_body),
    ("wal_replay", hydrant_ingest::fuzz::wal_replay),
    ("search", hydrant_query::fuzz::search),
    ("query_string", hydrant_query::fuzz::query_string),
    (
        "simple_query_string",
        hydrant_query::fuzz::simple_query_string,
    ),
    ("date_math", hydrant_query::fuzz::date_math),
    ("sigv4", hydrant_sigproxy::fuzz::sigv4),
    ("config", config),
    ("pipeline", hydrant_pipeline::fuzz::pipeline),
    ("grok", hydrant_pipeline::fuzz::grok),
];

/// The target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The configuration file reader: a config that reads is shown (`hydrant config`) as TOML
/// that reads back to the same configuration.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = BTreeMap::new();
    if let Ok(config) = hydrant_config::Config::parse(text, &env) {
        let shown = config.to_toml();
        let again = hydrant_config::Config::parse(&shown, &env)
            .unwrap_or_else(|e| panic!("the shown configuration does not read back: {e}\n{shown}"));
        assert_eq!(
            again.to_toml(),
            shown,
            "the configuration changed through TOML"
        );
    }
}
