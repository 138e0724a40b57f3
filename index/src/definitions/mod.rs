//! Index definitions: what a new index is created with besides its stream's configuration —
//! composable index templates (`/_index_template`), legacy templates (`/_template`), and the
//! mappings and settings given to one index by `PUT /{index}` and `PUT /{index}/_mapping`.
//!
//! Elasticsearch applies a template when an index is created; so does Hydrant, to every new
//! index — a stream's first one, created on first write, and each one rotation starts — whose
//! name or stream matches. Of the composable templates the one with the highest priority
//! applies; when none matches, every matching legacy template applies in `order`. The index's
//! own definition comes last. Existing indices keep the schema they were created with.
//!
//! Everything is kept in `<indices>/definitions.json` (temporary file, fsync, rename), as the
//! bodies were given (settings normalized to `index.*` strings, as Elasticsearch returns them).

mod dynamic_templates;
pub mod es_mapping;
mod settings;
mod templates;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::catalog::wildcard_match;
use crate::error::IndexError;
pub use dynamic_templates::{DynamicTemplate, dynamic_templates, template_type};
pub use es_mapping::Translated;
pub use settings::{
    IndexSettingsView, flatten, nest_settings, normalize_settings, parse_time_value,
};
pub use templates::template_view;

const FILE: &str = "definitions.json";
const VERSION: u32 = 1;

/// One change of `POST /_aliases`, with concrete targets.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasAction {
    /// Points `alias` at `target` (an index or a stream) with `props`.
    Add {
        /// Index or stream.
        target: String,
        /// Alias name.
        alias: String,
        /// `is_write_index` and the other properties, as given.
        props: Value,
    },
    /// Removes `alias` from `target`.
    Remove {
        /// Index or stream.
        target: String,
        /// Alias name.
        alias: String,
    },
}

/// Which of the two template APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// `/_index_template`: `priority`, the body's `template` holds settings/mappings/aliases.
    Composable,
    /// `/_template`: `order`, settings/mappings/aliases at the top.
    Legacy,
}

impl TemplateKind {
    /// The name Elasticsearch's errors use.
    pub fn noun(self) -> &'static str {
        match self {
            TemplateKind::Composable => "index template",
            TemplateKind::Legacy => "index_template",
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    version: u32,
    #[serde(default)]
    index_templates: BTreeMap<String, Value>,
    #[serde(default)]
    templates: BTreeMap<String, Value>,
    /// `PUT /{index}` bodies (settings, mappings, aliases), by stream name.
    #[serde(default)]
    indices: BTreeMap<String, Value>,
    /// Aliases: alias name → target (an index or a stream) → its properties
    /// (`is_write_index`).
    #[serde(default)]
    aliases: BTreeMap<String, BTreeMap<String, Value>>,
    /// `PUT /_cluster/settings`'s persistent settings, flat.
    #[serde(default)]
    cluster_persistent: Map<String, Value>,
}

/// What applies to a new index: merged mappings, settings, aliases.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// The merged `mappings` (`None`: nothing declared).
    pub mappings: Option<Value>,
    /// What the mappings mean for the schema.
    pub translated: Translated,
    /// Normalized settings (`index.number_of_shards` → `"1"`).
    pub settings: Map<String, Value>,
    /// Aliases by name (of the templates and the definition).
    pub aliases: Map<String, Value>,
    /// The aliases of the templates alone (they point at each new index).
    pub template_aliases: Map<String, Value>,
}

impl Resolved {
    /// The settings Hydrant applies.
    pub fn view(&self) -> IndexSettingsView {
        IndexSettingsView::read(&self.settings)
    }
}

/// The store of templates and index definitions.
#[derive(Debug)]
pub struct Definitions {
    path: PathBuf,
    state: RwLock<Stored>,
    /// `PUT /_cluster/settings`'s transient settings (gone at restart, as in Elasticsearch).
    cluster_transient: RwLock<Map<String, Value>>,
}

/// The parts of an index body (`settings`, `mappings`, `aliases`), validated and normalized.
fn index_body(body: &Value, at: &str) -> Result<Value, IndexError> {
    let Some(obj) = body.as_object() else {
        if body.is_null() {
            return Ok(json!({}));
        }
        return Err(IndexError::InvalidDefinition {
            es_type: "parse_exception",
            reason: format!("request body of [{at}] must be an object"),
        });
    };
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "settings" => {
                out.insert(key.clone(), Value::Object(normalize_settings(value)?));
            }
            "mappings" => {
                es_mapping::translate(value)?;
                out.insert(key.clone(), es_mapping::untyped(value).clone());
            }
            "aliases" => {
                if !value.is_object() {
                    return Err(IndexError::InvalidDefinition {
                        es_type: "parse_exception",
                        reason: format!("[aliases] must be an object, got [{value}]"),
                    });
                }
                out.insert(key.clone(), value.clone());
            }
            other => {
                return Err(IndexError::InvalidDefinition {
                    es_type: "parse_exception",
                    reason: format!("unknown key [{other}] for create index"),
                });
            }
        }
    }
    Ok(Value::Object(out))
}

fn patterns_of(body: &Value) -> Vec<String> {
    match body.get("index_patterns") {
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

impl Definitions {
    /// Opens (or starts) the store under the indices directory.
    pub fn open(root: &Path) -> Result<Definitions, IndexError> {
        let path = root.join(FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => {
                let stored: Stored =
                    serde_json::from_slice(&bytes).map_err(|e| IndexError::BadMetadata {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
                if stored.version != VERSION {
                    return Err(IndexError::BadMetadata {
                        path,
                        reason: format!("version {} is not supported", stored.version),
                    });
                }
                stored
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored {
                version: VERSION,
                ..Stored::default()
            },
            Err(e) => return Err(IndexError::io(&path, e)),
        };
        Ok(Definitions {
            path,
            state: RwLock::new(state),
            cluster_transient: RwLock::new(Map::new()),
        })
    }

    fn save(&self, state: &Stored) -> Result<(), IndexError> {
        // Serializing plain JSON values cannot fail.
        let bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
        crate::meta::write_atomically(&self.path, &bytes)
    }

    fn map(state: &mut Stored, kind: TemplateKind) -> &mut BTreeMap<String, Value> {
        match kind {
            TemplateKind::Composable => &mut state.index_templates,
            TemplateKind::Legacy => &mut state.templates,
        }
    }

    /// Records `PUT /{stream}`'s body. The caller checks that the stream does not exist yet.
    pub fn define_index(&self, stream: &str, body: &Value) -> Result<(), IndexError> {
        let body = index_body(body, stream)?;
        let mut state = self.state.write();
        if state.indices.contains_key(stream) {
            return Err(IndexError::ResourceAlreadyExists(stream.to_string()));
        }
        if let Some(Value::Object(aliases)) = body.get("aliases") {
            for (alias, props) in aliases {
                state
                    .aliases
                    .entry(alias.clone())
                    .or_default()
                    .insert(stream.to_string(), props.clone());
            }
        }
        state.indices.insert(stream.to_string(), body);
        self.save(&state)
    }

    /// Adds `mappings` to the definition of `stream`, refusing type changes against what
    /// `current` (the mapping its indices have now) and its definition declare.
    pub fn put_mapping(
        &self,
        stream: &str,
        current: &Value,
        mappings: &Value,
    ) -> Result<(), IndexError> {
        es_mapping::translate(mappings)?;
        let mut check = current.clone();
        es_mapping::merge(&mut check, mappings, true)?;
        let mut state = self.state.write();
        let body = state
            .indices
            .entry(stream.to_string())
            .or_insert_with(|| json!({}));
        let mut merged = body.get("mappings").cloned().unwrap_or_else(|| json!({}));
        es_mapping::merge(&mut merged, mappings, true)?;
        es_mapping::translate(&merged)?;
        body["mappings"] = merged;
        self.save(&state)
    }

    /// Merges `settings` into the definition of `stream` (`PUT /{index}/_settings`).
    pub fn put_settings(&self, stream: &str, settings: &Value) -> Result<(), IndexError> {
        let add = normalize_settings(settings)?;
        let mut state = self.state.write();
        let body = state
            .indices
            .entry(stream.to_string())
            .or_insert_with(|| json!({}));
        let mut merged = body
            .get("settings")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (k, v) in add {
            if v.is_null() {
                merged.remove(&k);
            } else {
                merged.insert(k, v);
            }
        }
        body["settings"] = Value::Object(merged);
        self.save(&state)
    }

    /// Every alias: alias → target → properties.
    pub fn aliases(&self) -> BTreeMap<String, BTreeMap<String, Value>> {
        self.state.read().aliases.clone()
    }

    /// `f` over the aliases, read in place (resolving a target does this on every request).
    pub fn with_aliases<R>(
        &self,
        f: impl FnOnce(&BTreeMap<String, BTreeMap<String, Value>>) -> R,
    ) -> R {
        f(&self.state.read().aliases)
    }

    /// The targets (indices or streams) of `alias`, if it is one.
    pub fn alias_targets(&self, alias: &str) -> Option<Vec<String>> {
        self.state
            .read()
            .aliases
            .get(alias)
            .map(|t| t.keys().cloned().collect())
    }

    /// Applies `actions` together (all or none); removing what does not exist is
    /// `aliases_not_found_exception`.
    pub fn update_aliases(&self, actions: &[AliasAction]) -> Result<(), IndexError> {
        let mut state = self.state.write();
        let mut aliases = state.aliases.clone();
        for action in actions {
            match action {
                AliasAction::Add {
                    target,
                    alias,
                    props,
                } => {
                    aliases
                        .entry(alias.clone())
                        .or_default()
                        .insert(target.clone(), props.clone());
                }
                AliasAction::Remove { target, alias } => {
                    let removed = aliases.get_mut(alias).and_then(|t| t.remove(target));
                    if removed.is_none() {
                        return Err(IndexError::AliasMissing(alias.clone()));
                    }
                }
            }
        }
        aliases.retain(|_, targets| !targets.is_empty());
        state.aliases = aliases;
        self.save(&state)
    }

    /// Whether `PUT /{stream}` defined this stream.
    pub fn is_defined(&self, stream: &str) -> bool {
        self.state.read().indices.contains_key(stream)
    }

    /// Streams defined by `PUT /{index}`.
    pub fn defined_streams(&self) -> Vec<String> {
        self.state.read().indices.keys().cloned().collect()
    }

    /// Forgets the definition of `stream` (its indices were all deleted).
    pub fn forget_index(&self, stream: &str) -> Result<(), IndexError> {
        let mut state = self.state.write();
        if state.indices.remove(stream).is_some() {
            self.save(&state)?;
        }
        Ok(())
    }

    /// The cluster settings: persistent and transient, flat (`a.b.c` keys).
    pub fn cluster_settings(&self) -> (Map<String, Value>, Map<String, Value>) {
        (
            self.state.read().cluster_persistent.clone(),
            self.cluster_transient.read().clone(),
        )
    }

    /// `PUT /_cluster/settings`: merges the flat settings (`null` resets one); they are kept
    /// and answered back, and change nothing in Hydrant, whose settings are its configuration.
    pub fn put_cluster_settings(
        &self,
        persistent: Map<String, Value>,
        transient: Map<String, Value>,
    ) -> Result<(), IndexError> {
        let apply = |into: &mut Map<String, Value>, from: Map<String, Value>| {
            for (k, v) in from {
                if v.is_null() {
                    into.remove(&k);
                } else {
                    into.insert(k, v);
                }
            }
        };
        apply(&mut self.cluster_transient.write(), transient);
        if persistent.is_empty() {
            return Ok(());
        }
        let mut state = self.state.write();
        apply(&mut state.cluster_persistent, persistent);
        self.save(&state)
    }

    /// What applies to a new index `index` of `stream`.
    pub fn resolve(&self, index: &str, stream: &str) -> Resolved {
        let state = self.state.read();
        let matches = |body: &Value| {
            patterns_of(body)
                .iter()
                .any(|p| wildcard_match(p, index) || wildcard_match(p, stream))
        };
        let mut parts: Vec<&Value> = Vec::new();
        let composable = state
            .index_templates
            .values()
            .filter(|b| matches(b))
            .max_by_key(|b| b.get("priority").and_then(Value::as_i64).unwrap_or(0));
        if let Some(t) = composable {
            if let Some(body) = t.get("template") {
                parts.push(body);
            }
        } else {
            let mut legacy: Vec<&Value> = state.templates.values().filter(|b| matches(b)).collect();
            legacy.sort_by_key(|b| b.get("order").and_then(Value::as_i64).unwrap_or(0));
            parts.extend(legacy);
        }
        let mut template_aliases = Map::new();
        for part in &parts {
            if let Some(Value::Object(a)) = part.get("aliases") {
                template_aliases.extend(a.clone());
            }
        }
        if let Some(own) = state.indices.get(stream) {
            parts.push(own);
        }
        let mut out = Resolved::default();
        let mut mappings: Option<Value> = None;
        for part in parts {
            if let Some(m) = part.get("mappings") {
                let target = mappings.get_or_insert_with(|| json!({}));
                // Each part was validated when stored; composing them overrides, never fails.
                let _ = es_mapping::merge(target, m, false);
            }
            if let Some(Value::Object(s)) = part.get("settings") {
                out.settings.extend(s.clone());
            }
            if let Some(Value::Object(a)) = part.get("aliases") {
                out.aliases.extend(a.clone());
            }
        }
        if let Some(m) = &mappings {
            out.translated = es_mapping::translate(m).unwrap_or_default();
        }
        out.mappings = mappings;
        out.template_aliases = template_aliases;
        out
    }
}

#[cfg(test)]
mod tests;
