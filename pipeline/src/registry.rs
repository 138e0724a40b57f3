//! The pipelines a server knows: built in, declared in the configuration file, and stored
//! through the API (durably: a JSON file written to a temporary name, fsynced and renamed, so
//! a pipeline whose `PUT` was answered survives `kill -9`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{Map, Value, json};

use crate::builtin::BUILTIN;
use crate::error::{DefinitionError, PipelineError};
use crate::pipeline::{Pipeline, Resolve};
use crate::processors::Resources;

/// The store's file in the data directory.
pub const FILE: &str = "pipelines.json";
const VERSION: u64 = 1;

/// Where a pipeline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Shipped with Hydrant (`apache`, `nginx`, …).
    Builtin,
    /// Declared in the configuration file.
    Config,
    /// Stored through the API.
    Api,
}

impl Origin {
    fn describe(self) -> &'static str {
        match self {
            Origin::Builtin => "built in",
            Origin::Config => "declared in the configuration file",
            Origin::Api => "stored through the API",
        }
    }
}

/// The pipelines of one server.
pub struct Registry {
    path: PathBuf,
    res: Resources,
    fixed: BTreeMap<String, (Arc<Pipeline>, Origin)>,
    stored: RwLock<BTreeMap<String, Arc<Pipeline>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Whether `id` matches an Elasticsearch pipeline expression: ids and `*` wildcards,
/// separated by commas.
pub fn matches(expr: &str, id: &str) -> bool {
    expr.split(',').map(str::trim).any(|p| wildcard(p, id))
}

fn wildcard(p: &str, s: &str) -> bool {
    match p.split_once('*') {
        None => p == s,
        Some((head, rest)) => {
            let Some(s) = s.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            (0..=s.len()).any(|i| s.is_char_boundary(i) && wildcard(rest, &s[i..]))
        }
    }
}

fn check_id(id: &str) -> Result<(), PipelineError> {
    if id.is_empty()
        || id.len() > 512
        || id.contains(['*', ',', '/', '\\', ' '])
        || id.starts_with('_')
    {
        return Err(PipelineError::BadRequest(format!(
            "invalid pipeline id [{id}]: it must be 1-512 characters without '*', ',', '/', '\\\\' or spaces and must not start with '_'"
        )));
    }
    Ok(())
}

impl Registry {
    /// The registry of the server whose data directory is `dir`, with the pipelines declared in
    /// the configuration (`id` → definition); `res` is what processors share.
    pub fn open(
        dir: &Path,
        config: &BTreeMap<String, Value>,
        res: Resources,
    ) -> Result<Registry, PipelineError> {
        let mut fixed = BTreeMap::new();
        for (id, def) in BUILTIN {
            let def: Value = serde_json::from_str(def).map_err(|e| {
                PipelineError::Definition(DefinitionError::new(format!(
                    "built-in pipeline [{id}]: {e}"
                )))
            })?;
            let p = Pipeline::compile(id, &def, &res).map_err(|e| DefinitionError {
                reason: format!("built-in pipeline [{id}]: {}", e.reason),
                ..e
            })?;
            fixed.insert(id.to_string(), (Arc::new(p), Origin::Builtin));
        }
        // Firehose's "decompression and message extraction" for CloudWatch Logs records: the
        // receiver splits the record into its log events before the stream's processors, so
        // the pipeline itself has none (see `cloudwatch_events`).
        let cloudwatch = json!({
            "description": "CloudWatch Logs subscription records (Firehose): gzip JSON decompressed and split into one document per log event; CONTROL_MESSAGE records dropped. Splits Firehose records only.",
            "processors": [],
        });
        let p = Pipeline::compile(crate::CLOUDWATCH_LOGS, &cloudwatch, &res)?;
        fixed.insert(
            crate::CLOUDWATCH_LOGS.to_string(),
            (Arc::new(p), Origin::Builtin),
        );
        for (id, def) in config {
            check_id(id)?;
            let p = Pipeline::compile(id, def, &res).map_err(|e| DefinitionError {
                reason: format!("pipeline [{id}] in the configuration: {}", e.reason),
                ..e
            })?;
            fixed.insert(id.clone(), (Arc::new(p), Origin::Config));
        }
        let path = dir.join(FILE);
        let mut stored = BTreeMap::new();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let damaged = |reason: String| PipelineError::Damaged {
                    path: path.clone(),
                    reason,
                };
                let v: Value =
                    serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
                if v["version"].as_u64() != Some(VERSION) {
                    return Err(damaged(format!(
                        "version {} is not {VERSION}",
                        v["version"]
                    )));
                }
                for (id, def) in v["pipelines"].as_object().cloned().unwrap_or_default() {
                    if fixed.contains_key(&id) {
                        continue; // shadowed by a pipeline of the configuration since
                    }
                    let p = Pipeline::compile(&id, &def, &res)
                        .map_err(|e| damaged(format!("pipeline [{id}]: {e}")))?;
                    stored.insert(id, Arc::new(p));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(PipelineError::Io { path, source }),
        }
        Ok(Registry {
            path,
            res,
            fixed,
            stored: RwLock::new(stored),
        })
    }

    /// The pipeline `id`, if there is one.
    pub fn get(&self, id: &str) -> Option<Arc<Pipeline>> {
        if let Some((p, _)) = self.fixed.get(id) {
            return Some(p.clone());
        }
        self.stored.read().get(id).cloned()
    }

    /// Where `id` comes from, if it exists.
    pub fn origin(&self, id: &str) -> Option<Origin> {
        if let Some((_, o)) = self.fixed.get(id) {
            return Some(*o);
        }
        self.stored.read().contains_key(id).then_some(Origin::Api)
    }

    /// Compiles a definition without storing it (`_simulate`'s inline pipeline).
    pub fn compile(&self, id: &str, def: &Value) -> Result<Pipeline, PipelineError> {
        Ok(Pipeline::compile(id, def, &self.res)?)
    }

    /// Stores pipeline `id` (replacing one stored before), durably before it returns.
    pub fn put(&self, id: &str, def: &Value) -> Result<(), PipelineError> {
        check_id(id)?;
        if let Some((_, origin)) = self.fixed.get(id) {
            return Err(PipelineError::ReadOnly {
                id: id.to_string(),
                origin: origin.describe(),
            });
        }
        let p = Arc::new(Pipeline::compile(id, def, &self.res)?);
        let mut stored = self.stored.write();
        let mut next = stored.clone();
        next.insert(id.to_string(), p);
        self.save(&next)?;
        *stored = next;
        Ok(())
    }

    /// Deletes the stored pipelines `expr` matches; none matching is a 404.
    pub fn delete(&self, expr: &str) -> Result<Vec<String>, PipelineError> {
        if let Some((id, (_, origin))) = self
            .fixed
            .iter()
            .find(|(id, _)| !expr.contains('*') && matches(expr, id))
        {
            return Err(PipelineError::ReadOnly {
                id: id.clone(),
                origin: origin.describe(),
            });
        }
        let mut stored = self.stored.write();
        let gone: Vec<String> = stored
            .keys()
            .filter(|id| matches(expr, id))
            .cloned()
            .collect();
        if gone.is_empty() {
            return Err(PipelineError::NotFound(expr.to_string()));
        }
        let mut next = stored.clone();
        for id in &gone {
            next.remove(id);
        }
        self.save(&next)?;
        *stored = next;
        Ok(gone)
    }

    /// The pipelines `expr` matches (every one when `None`), by id.
    pub fn list(&self, expr: Option<&str>) -> Vec<(String, Arc<Pipeline>, Origin)> {
        let mut out: Vec<(String, Arc<Pipeline>, Origin)> = self
            .fixed
            .iter()
            .map(|(id, (p, o))| (id.clone(), p.clone(), *o))
            .chain(
                self.stored
                    .read()
                    .iter()
                    .map(|(id, p)| (id.clone(), p.clone(), Origin::Api)),
            )
            .filter(|(id, _, _)| expr.is_none_or(|e| matches(e, id)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every pipeline's counters in `GET /_nodes/stats/ingest`'s `ingest` shape.
    pub fn stats_json(&self) -> Value {
        let mut total = (0u64, 0u64, 0u64);
        let mut pipelines = Map::new();
        for (id, p, _) in self.list(None) {
            let (c, f, n) = p.counters();
            if c > 0 {
                // Nested pipelines count their documents twice, as in Elasticsearch's own
                // per-pipeline numbers; the total counts them too.
                total = (total.0 + c, total.1 + f, total.2 + n);
            }
            pipelines.insert(id, p.stats_json());
        }
        json!({
            "total": { "count": total.0, "time_in_millis": total.2 / 1_000_000, "current": 0, "failed": total.1 },
            "pipelines": pipelines,
        })
    }

    fn save(&self, pipelines: &BTreeMap<String, Arc<Pipeline>>) -> Result<(), PipelineError> {
        use std::io::Write;
        let io = |source| PipelineError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let defs: Map<String, Value> = pipelines
            .iter()
            .map(|(id, p)| (id.clone(), p.definition().clone()))
            .collect();
        let bytes = serde_json::to_vec_pretty(&json!({ "version": VERSION, "pipelines": defs }))
            .unwrap_or_default();
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }
}

impl Resolve for Registry {
    fn pipeline(&self, id: &str) -> Option<Arc<Pipeline>> {
        self.get(id)
    }
}
