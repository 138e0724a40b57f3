//! Entry points for the fuzzers (`fuzz/`, run with `cargo fuzz`) and for the replay of their
//! corpora in `cargo test` (`fuzzing/`): ingest pipelines as `_simulate` runs them (a
//! definition and documents, all from the input) and grok patterns (a pattern, then a line).
//! Whatever the input: no panic, and a refusal is a client error (4xx). Compiled only with the
//! `fuzz` feature.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::{Registry, Resources, simulate};

const TS: &str = "2026-12-03T10:00:00.000Z";

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // `_simulate` never writes the store: its directory is only needed to open it.
        let dir =
            std::env::temp_dir().join(format!("hydrant-fuzz-pipelines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("registry dir");
        let registry =
            Registry::open(&dir, &BTreeMap::new(), Resources::default()).expect("registry");
        let _ = std::fs::remove_dir_all(&dir);
        registry
    })
}

fn simulate_body(body: &Value) {
    for verbose in [false, true] {
        match simulate(registry(), None, body, verbose, TS) {
            Ok(answer) => {
                serde_json::to_vec(&answer).expect("an answer serializes");
            }
            Err(e) => assert!(
                (400..500).contains(&e.status()),
                "{e} answered {}",
                e.status()
            ),
        }
    }
}

/// A `_simulate` body: `{"pipeline": {…}, "docs": [{"_source": …}]}`.
pub fn pipeline(data: &[u8]) {
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        simulate_body(&body);
    }
}

/// A grok pattern (first line) matched against the rest of the input, through a pipeline's
/// `grok` processor.
pub fn grok(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (pattern, line) = text.split_once('\n').unwrap_or((&text, ""));
    simulate_body(&json!({
        "pipeline": {"processors": [{"grok": {"field": "message", "patterns": [pattern]}}]},
        "docs": [{"_source": {"message": line}}],
    }));
}
