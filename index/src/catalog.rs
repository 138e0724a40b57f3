//! The catalog: every index on disk, its shards, and how names, aliases and patterns resolve.
//!
//! Layout: `<root>/<index>/index.json` (this module's metadata) and `<root>/<index>/<shard>/`
//! (one tantivy index per shard). A stream's name is an alias for all of its indices.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use hydrant_config::MappingConfig;

use crate::definitions::{AliasAction, Definitions, Translated};
use crate::error::IndexError;
use crate::mapping::DocMapper;
pub use crate::meta::IndexMeta;
use crate::rotation::Period;
use crate::shard::Shard;

const META_FILE: &str = "index.json";
/// Directories of deleted indices being removed start with this.
const TRASH_PREFIX: &str = ".deleted-";

/// One index: metadata and shards.
#[derive(Debug)]
pub struct IndexHandle {
    name: String,
    meta: IndexMeta,
    shards: Vec<Arc<Shard>>,
    mapper: Arc<DocMapper>,
}

impl IndexHandle {
    /// The index name (`web-2026-11-26`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stream (alias) the index belongs to.
    pub fn stream(&self) -> &str {
        &self.meta.stream
    }

    /// The metadata.
    pub fn meta(&self) -> &IndexMeta {
        &self.meta
    }

    /// The shards, by ordinal.
    pub fn shards(&self) -> &[Arc<Shard>] {
        &self.shards
    }

    /// The mapper of this index's documents.
    pub fn mapper(&self) -> &Arc<DocMapper> {
        &self.mapper
    }

    /// Bytes the index takes on disk, over all its shards.
    pub fn size_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.size_bytes()).sum()
    }

    /// Live documents, deleted documents not yet merged away, and bytes on disk, over all its
    /// shards (what `_cat/indices` and `_nodes/stats` report).
    pub fn doc_stats(&self) -> (u64, u64, u64) {
        let (mut docs, mut deleted, mut size) = (0u64, 0u64, 0u64);
        for shard in &self.shards {
            let searcher = shard.searcher();
            docs += searcher.num_docs();
            deleted += searcher
                .segment_readers()
                .iter()
                .map(|s| u64::from(s.num_deleted_docs()))
                .sum::<u64>();
            size += shard.size_bytes();
        }
        (docs, deleted, size)
    }
}

/// How a target expression resolves when parts of it match nothing (Elasticsearch's
/// `ignore_unavailable` and `allow_no_indices`).
#[derive(Debug, Clone, Copy)]
pub struct ResolveOptions {
    /// A concrete name that matches nothing is skipped instead of an error.
    pub ignore_unavailable: bool,
    /// An expression that resolves to no index at all is not an error.
    pub allow_no_indices: bool,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            ignore_unavailable: false,
            allow_no_indices: true,
        }
    }
}

/// An index found on disk that could not be opened.
#[derive(Debug, Clone)]
pub struct DamagedIndex {
    /// The index.
    pub name: String,
    /// Its stream, when its metadata could still be read.
    pub stream: Option<String>,
    /// What opening it said.
    pub reason: String,
}

#[derive(Default)]
struct State {
    indices: BTreeMap<String, Arc<IndexHandle>>,
    streams: BTreeSet<String>,
    /// Indices that failed to open: kept out of `indices`, reported where a target names them.
    damaged: BTreeMap<String, DamagedIndex>,
}

/// All indices under one directory.
pub struct Catalog {
    root: PathBuf,
    state: RwLock<State>,
    definitions: Definitions,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("root", &self.root).finish()
    }
}

impl Catalog {
    /// Opens every index under `root` (created when missing). An index that cannot be opened
    /// (a damaged file) does not stop the others: it is logged and listed in
    /// [`Catalog::damaged`].
    pub fn open(root: &Path) -> Result<Catalog, IndexError> {
        std::fs::create_dir_all(root).map_err(|e| IndexError::io(root, e))?;
        let mut state = State::default();
        let entries = std::fs::read_dir(root).map_err(|e| IndexError::io(root, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| IndexError::io(root, e))?;
            let dir = entry.path();
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(TRASH_PREFIX)
            {
                // A deletion a crash interrupted: finish it.
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            if !dir.join(META_FILE).exists() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            match open_index(&dir, name.clone()) {
                Ok(handle) => {
                    state.streams.insert(handle.meta.stream.clone());
                    state.indices.insert(name, Arc::new(handle));
                }
                Err(e) => {
                    let damaged = damaged_index(&dir, name.clone(), &e);
                    tracing::error!(index = %name, error = %e, "index is damaged: it is not searched or written until it is deleted; other indices carry on");
                    state.streams.extend(damaged.stream.clone());
                    state.damaged.insert(name, damaged);
                }
            }
        }
        let definitions = Definitions::open(root)?;
        // A stream `PUT /{index}` created exists before its first record.
        state.streams.extend(definitions.defined_streams());
        Ok(Catalog {
            root: root.to_path_buf(),
            state: RwLock::new(state),
            definitions,
        })
    }

    /// Index templates and the definitions of indices created by `PUT /{index}`.
    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    /// Whether `name` is an index or a stream (what an alias may not be named).
    pub fn is_index_or_stream(&self, name: &str) -> bool {
        let state = self.state.read();
        state.indices.contains_key(name) || state.streams.contains(name)
    }

    /// Whether `stream` is known: it has indices, was created by `PUT /{index}`, or its
    /// writer registered it.
    pub fn has_stream(&self, stream: &str) -> bool {
        self.state.read().streams.contains(stream)
    }

    /// The directory holding the indices.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Records that `stream` exists, so that its alias resolves (to nothing) before its first
    /// index is created.
    pub fn register_stream(&self, stream: &str) {
        if !self.state.read().streams.contains(stream) {
            self.state.write().streams.insert(stream.to_string());
        }
    }

    /// Every index, by name.
    pub fn list(&self) -> Vec<Arc<IndexHandle>> {
        self.state.read().indices.values().cloned().collect()
    }

    /// The index named `name`, if any.
    pub fn get(&self, name: &str) -> Option<Arc<IndexHandle>> {
        self.state.read().indices.get(name).cloned()
    }

    /// Every index of `stream`.
    pub fn stream_indices(&self, stream: &str) -> Vec<Arc<IndexHandle>> {
        self.state
            .read()
            .indices
            .values()
            .filter(|h| h.meta.stream == stream)
            .cloned()
            .collect()
    }

    /// The index `name` of `stream`, created when missing with `shards` shards and `mapping`,
    /// to which the index templates matching it and the stream's own definition add (fields
    /// `mapping` already has keep their type; `index.number_of_shards` wins).
    pub fn get_or_create(
        &self,
        name: &str,
        stream: &str,
        period: Option<Period>,
        shards: usize,
        mapping: &MappingConfig,
    ) -> Result<Arc<IndexHandle>, IndexError> {
        if let Some(h) = self.get(name) {
            return Ok(h);
        }
        let mut state = self.state.write();
        if let Some(h) = state.indices.get(name) {
            return Ok(h.clone());
        }
        if let Some(d) = state.damaged.get(name) {
            return Err(d.error());
        }
        let dir = self.root.join(name);
        let defined = self.definitions.resolve(name, stream);
        let meta = IndexMeta {
            stream: stream.to_string(),
            shards: defined.view().shards.unwrap_or(shards).max(1),
            period,
            created_ms: chrono::Utc::now().timestamp_millis(),
            mapping: with_declared(mapping, &defined.translated),
            declared: defined.mappings,
        };
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::io(&dir, e))?;
        let mapper = Arc::new(with_templates(
            DocMapper::with_mapping(&meta.mapping),
            &meta,
        ));
        let shards = (0..meta.shards)
            .map(|i| {
                Shard::open_or_create(format!("{name}/{i}"), &dir.join(i.to_string()), &mapper)
                    .map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // index.json is written last and atomically: a directory without it is an index whose
        // creation did not finish, ignored (and completed) on the next open.
        write_meta(&dir, &meta)?;
        let handle = Arc::new(IndexHandle {
            name: name.to_string(),
            meta,
            shards,
            mapper,
        });
        state.streams.insert(stream.to_string());
        state.indices.insert(name.to_string(), handle.clone());
        // The aliases of the templates that applied point at this new index (those of the
        // stream's own definition point at the stream already).
        let actions: Vec<AliasAction> = defined
            .template_aliases
            .iter()
            .map(|(alias, props)| AliasAction::Add {
                target: name.to_string(),
                alias: alias.clone(),
                props: props.clone(),
            })
            .collect();
        if !actions.is_empty() {
            self.definitions.update_aliases(&actions)?;
        }
        Ok(handle)
    }

    /// Deletes the index `name` as a unit: it leaves the catalog at once (searches already
    /// running keep their open files), then its directory is removed.
    /// A damaged index is deleted the same way — the way to recover from it.
    pub fn delete(&self, name: &str) -> Result<(), IndexError> {
        let removed = {
            let mut state = self.state.write();
            let damaged = state.damaged.remove(name).is_some();
            state.indices.remove(name).is_some() || damaged
        };
        if !removed {
            return Err(IndexError::IndexNotFound(name.to_string()));
        }
        let dir = self.root.join(name);
        // Renamed first, so that a crash mid-removal never leaves a half index under its name.
        let trash = self.root.join(format!(
            "{TRASH_PREFIX}{name}-{}",
            chrono::Utc::now().timestamp_millis()
        ));
        std::fs::rename(&dir, &trash).map_err(|e| IndexError::io(&dir, e))?;
        std::fs::remove_dir_all(&trash).map_err(|e| IndexError::io(&trash, e))?;
        Ok(())
    }

    /// Resolves a target expression — an index name, a stream alias, a wildcard pattern
    /// (`web-*`), `_all` or `*`, or a comma list of these — to indices, each once.
    pub fn resolve(
        &self,
        expr: &str,
        options: ResolveOptions,
    ) -> Result<Vec<Arc<IndexHandle>>, IndexError> {
        // Locks in the catalog's order: its state, then the definitions.
        let state = self.state.read();
        self.definitions.with_aliases(|aliases| {
            let mut out: BTreeMap<String, Arc<IndexHandle>> = BTreeMap::new();
            // `-pattern` after a wildcard removes what it names from the names so far, as in
            // Elasticsearch (`logs-*,-logs-debug-*`).
            let mut wildcard_seen = false;
            for part in expr.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if let Some(excluded) = part.strip_prefix('-').filter(|_| wildcard_seen) {
                    let mut dropped = BTreeSet::new();
                    for (alias, targets) in aliases {
                        if wildcard_match(excluded, alias) {
                            dropped.extend(targets.keys().cloned());
                        }
                    }
                    out.retain(|n, h| {
                        !(wildcard_match(excluded, n)
                            || wildcard_match(excluded, &h.meta.stream)
                            || dropped.contains(n)
                            || dropped.contains(&h.meta.stream))
                    });
                    continue;
                }
                wildcard_seen |= part.contains('*') || part == "_all";
                if part == "_all" || part == "*" {
                    for (n, h) in &state.indices {
                        out.insert(n.clone(), h.clone());
                    }
                    continue;
                }
                if part.contains('*') {
                    for (n, h) in &state.indices {
                        if wildcard_match(part, n) || wildcard_match(part, &h.meta.stream) {
                            out.insert(n.clone(), h.clone());
                        }
                    }
                    for (alias, targets) in aliases {
                        if wildcard_match(part, alias) {
                            add_targets(&state, targets.keys(), &mut out);
                        }
                    }
                    continue;
                }
                if let Some(h) = state.indices.get(part) {
                    out.insert(part.to_string(), h.clone());
                } else if state.damaged.contains_key(part) {
                    // Reported by `damaged_in`, as a failed shard.
                } else if state.streams.contains(part) {
                    add_targets(&state, std::iter::once(&part.to_string()), &mut out);
                } else if let Some(targets) = aliases.get(part) {
                    add_targets(&state, targets.keys(), &mut out);
                } else if !options.ignore_unavailable {
                    return Err(IndexError::IndexNotFound(part.to_string()));
                }
            }
            if out.is_empty() && !options.allow_no_indices {
                return Err(IndexError::IndexNotFound(expr.to_string()));
            }
            Ok(out.into_values().collect())
        })
    }

    /// The indices that could not be opened.
    pub fn damaged(&self) -> Vec<DamagedIndex> {
        self.state.read().damaged.values().cloned().collect()
    }

    /// The damaged indices a target expression names (directly, by stream, alias or pattern),
    /// which [`Catalog::resolve`] leaves out: searches report them as failed shards.
    pub fn damaged_in(&self, expr: &str) -> Vec<DamagedIndex> {
        let state = self.state.read();
        if state.damaged.is_empty() {
            return Vec::new();
        }
        self.definitions.with_aliases(|aliases| {
            let names = |d: &DamagedIndex, part: &str| {
                let matches = |p: &str, text: &str| {
                    p == "_all" || (p.contains('*') && wildcard_match(p, text)) || p == text
                };
                matches(part, &d.name) || d.stream.as_deref().is_some_and(|s| matches(part, s))
            };
            state
                .damaged
                .values()
                .filter(|d| {
                    expr.split(',').map(str::trim).any(|part| {
                        names(d, part)
                            || aliases.iter().any(|(alias, targets)| {
                                (alias == part
                                    || (part.contains('*') && wildcard_match(part, alias)))
                                    && targets.keys().any(|t| names(d, t))
                            })
                    })
                })
                .cloned()
                .collect()
        })
    }
}

/// `mapper` with the `dynamic_templates` and `date_detection` of the index's declared
/// mappings.
fn with_templates(mapper: DocMapper, meta: &IndexMeta) -> DocMapper {
    let declared = meta.declared.as_ref();
    let detection = declared
        .and_then(|m| crate::definitions::es_mapping::untyped(m).get("date_detection"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(true);
    let mapper = mapper.with_date_detection(detection);
    match declared.map(crate::definitions::dynamic_templates) {
        Some(t) if !t.is_empty() => mapper.with_dynamic_templates(t),
        _ => mapper,
    }
}

/// Adds the indices of `targets` (index or stream names) to `out`.
fn add_targets<'a>(
    state: &State,
    targets: impl Iterator<Item = &'a String>,
    out: &mut BTreeMap<String, Arc<IndexHandle>>,
) {
    for target in targets {
        if let Some(h) = state.indices.get(target) {
            out.insert(target.clone(), h.clone());
            continue;
        }
        for (n, h) in &state.indices {
            if h.meta.stream == *target {
                out.insert(n.clone(), h.clone());
            }
        }
    }
}

/// `base` (a stream's configured mapping) with the explicit fields a declared mapping adds.
pub fn with_declared(base: &MappingConfig, declared: &Translated) -> MappingConfig {
    let mut out = base.clone();
    if declared.strict {
        out.mode = hydrant_config::MappingMode::Strict;
    }
    for (path, kind) in &declared.fields {
        if !out.fields.iter().any(|(p, _)| p == path) {
            out.fields.push((path.clone(), *kind));
        }
    }
    out
}

fn open_index(dir: &Path, name: String) -> Result<IndexHandle, IndexError> {
    let path = dir.join(META_FILE);
    let bytes = std::fs::read(&path).map_err(|e| IndexError::io(&path, e))?;
    let meta = IndexMeta::decode(&path, &bytes)?;
    let mut mapper = Arc::new(DocMapper::with_mapping(&meta.mapping));
    let shards = (0..meta.shards)
        .map(|i| {
            Shard::open_or_create(format!("{name}/{i}"), &dir.join(i.to_string()), &mapper)
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The schema on disk is the truth: map names to its fields.
    if let Some(shard) = shards.first() {
        let opened = DocMapper::open(&meta.mapping, &shard.index().schema()).map_err(|reason| {
            IndexError::BadMetadata {
                path: path.clone(),
                reason,
            }
        })?;
        mapper = Arc::new(with_templates(opened, &meta));
    }
    Ok(IndexHandle {
        name,
        meta,
        shards,
        mapper,
    })
}

impl DamagedIndex {
    /// The error a writer gets for it.
    pub fn error(&self) -> IndexError {
        IndexError::Damaged {
            index: self.name.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// What is known of an index that failed to open: its stream, if its metadata reads.
fn damaged_index(dir: &Path, name: String, e: &IndexError) -> DamagedIndex {
    let path = dir.join(META_FILE);
    let stream = std::fs::read(&path)
        .ok()
        .and_then(|bytes| IndexMeta::decode(&path, &bytes).ok())
        .map(|m| m.stream);
    DamagedIndex {
        name,
        stream,
        reason: e.to_string(),
    }
}

fn write_meta(dir: &Path, meta: &IndexMeta) -> Result<(), IndexError> {
    crate::meta::write_atomically(&dir.join(META_FILE), &meta.encode())
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let last = if parts.is_empty() { None } else { parts.pop() };
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    match last {
        None => rest.is_empty(),
        Some(last) => rest.len() >= last.len() && rest.ends_with(last),
    }
}

#[cfg(test)]
mod tests;
