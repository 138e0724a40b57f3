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

/// Whether two patterns can match a common name (the prefixes before their first `*` agree,
/// or one matches the other literally).
fn overlap(a: &str, b: &str) -> bool {
    let pa = a.split('*').next().unwrap_or("");
    let pb = b.split('*').next().unwrap_or("");
    let wild = a.contains('*') && b.contains('*');
    (wild && (pa.starts_with(pb) || pb.starts_with(pa)))
        || wildcard_match(a, b)
        || wildcard_match(b, a)
}

/// A stored template as `GET` shows it: settings nested, defaults filled in.
pub fn template_view(kind: TemplateKind, body: &Value) -> Value {
    let mut out = body.clone();
    let nest = |v: &mut Value| {
        if let Some(Value::Object(flat)) = v.get("settings") {
            let nested = nest_settings(flat);
            v["settings"] = nested;
        }
    };
    match kind {
        TemplateKind::Composable => {
            if let Some(t) = out.get_mut("template") {
                nest(t);
            }
            if out.get("composed_of").is_none() {
                out["composed_of"] = json!([]);
            }
        }
        TemplateKind::Legacy => {
            nest(&mut out);
            for (key, default) in [
                ("order", json!(0)),
                ("settings", json!({})),
                ("mappings", json!({})),
                ("aliases", json!({})),
            ] {
                if out.get(key).is_none() {
                    out[key] = default;
                }
            }
        }
    }
    out
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

    /// Stores template `name` (`create`: refused when it exists).
    pub fn put_template(
        &self,
        kind: TemplateKind,
        name: &str,
        body: &Value,
        create: bool,
    ) -> Result<(), IndexError> {
        let invalid = |reason: String| IndexError::InvalidDefinition {
            es_type: "action_request_validation_exception",
            reason: format!("Validation Failed: 1: {reason};"),
        };
        let Some(obj) = body.as_object() else {
            return Err(invalid("a template body must be an object".into()));
        };
        let patterns = patterns_of(body);
        if patterns.is_empty() {
            return Err(match kind {
                // OpenSearch reads the composable body with a parser that requires the key.
                TemplateKind::Composable => IndexError::InvalidDefinition {
                    es_type: "illegal_argument_exception",
                    reason: "Required [index_patterns]".into(),
                },
                TemplateKind::Legacy => invalid("index patterns are missing".into()),
            });
        }
        if let Some(p) = patterns.iter().find(|p| p.is_empty() || p.contains(' ')) {
            return Err(invalid(format!(
                "index_pattern [{p}] must not be empty or contain a space"
            )));
        }
        let mut stored = Map::new();
        stored.insert("index_patterns".into(), json!(patterns));
        let (index_keys, order_key): (&[&str], &str) = match kind {
            TemplateKind::Composable => (&["template"], "priority"),
            TemplateKind::Legacy => (&["settings", "mappings", "aliases"], "order"),
        };
        for (key, value) in obj {
            match key.as_str() {
                "index_patterns" => {}
                "template" if kind == TemplateKind::Composable => {
                    let body = index_body(value, name).map_err(|e| match e {
                        IndexError::InvalidDefinition { reason, .. } => IndexError::InvalidDefinition {
                            es_type: "illegal_argument_exception",
                            reason: format!(
                                "composable template [{name}] template after composition is invalid: {reason}"
                            ),
                        },
                        other => other,
                    })?;
                    stored.insert(key.clone(), body);
                }
                k if k == order_key || k == "version" => {
                    if value.as_i64().is_none_or(|n| n < 0) {
                        return Err(invalid(format!(
                            "[{k}] must be a non-negative integer, got [{value}]"
                        )));
                    }
                    stored.insert(key.clone(), value.clone());
                }
                "_meta"
                | "composed_of"
                | "data_stream"
                | "allow_auto_create"
                | "ignore_missing_component_templates"
                | "deprecated"
                    if kind == TemplateKind::Composable =>
                {
                    stored.insert(key.clone(), value.clone());
                }
                k if index_keys.contains(&k) => {
                    let part = index_body(&json!({ k: value }), name)?;
                    if let Some(v) = part.get(k) {
                        stored.insert(key.clone(), v.clone());
                    }
                }
                other => {
                    return Err(IndexError::InvalidDefinition {
                        es_type: "x_content_parse_exception",
                        reason: format!("[{}] unknown field [{other}]", kind.noun()),
                    });
                }
            }
        }
        if let Some(Value::Array(parts)) = stored.get("composed_of")
            && let Some(missing) = parts.first().and_then(Value::as_str)
        {
            // Component templates are not kept (yet): composing one would silently lose it.
            return Err(invalid(format!(
                "index template [{name}] specifies component templates [{missing}] that do not exist"
            )));
        }
        let mut state = self.state.write();
        if create && Self::map(&mut state, kind).contains_key(name) {
            return Err(IndexError::InvalidDefinition {
                es_type: "illegal_argument_exception",
                reason: format!("{} [{name}] already exists", kind.noun()),
            });
        }
        if kind == TemplateKind::Composable {
            let priority = stored.get("priority").and_then(Value::as_i64).unwrap_or(0);
            for (other, body) in &state.index_templates {
                if other == name
                    || body.get("priority").and_then(Value::as_i64).unwrap_or(0) != priority
                {
                    continue;
                }
                let theirs = patterns_of(body);
                if patterns
                    .iter()
                    .any(|p| theirs.iter().any(|q| overlap(p, q)))
                {
                    return Err(IndexError::InvalidDefinition {
                        es_type: "illegal_argument_exception",
                        reason: format!(
                            "index template [{name}] has index patterns {patterns:?} matching patterns from existing templates [{other}] with patterns ({other} => {theirs:?}) that have the same priority [{priority}], multiple index templates may not match during index creation, please use a different priority"
                        ),
                    });
                }
            }
        }
        Self::map(&mut state, kind).insert(name.to_string(), Value::Object(stored));
        self.save(&state)
    }

    /// Templates whose name matches one of the comma-separated `names` (wildcards allowed;
    /// `None`: all). A concrete name that matches nothing is an error.
    pub fn get_templates(
        &self,
        kind: TemplateKind,
        names: Option<&str>,
    ) -> Result<Vec<(String, Value)>, IndexError> {
        let state = self.state.read();
        let map = match kind {
            TemplateKind::Composable => &state.index_templates,
            TemplateKind::Legacy => &state.templates,
        };
        let Some(names) = names else {
            return Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        };
        let mut out = Vec::new();
        for part in names.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let found: Vec<_> = map
                .iter()
                .filter(|(k, _)| wildcard_match(part, k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if found.is_empty() && !part.contains('*') {
                return Err(IndexError::TemplateNotFound {
                    noun: kind.noun(),
                    name: part.to_string(),
                });
            }
            for (k, v) in found {
                if !out.iter().any(|(o, _): &(String, Value)| *o == k) {
                    out.push((k, v));
                }
            }
        }
        Ok(out)
    }

    /// Deletes the templates `names` (comma list, wildcards).
    pub fn delete_templates(&self, kind: TemplateKind, names: &str) -> Result<(), IndexError> {
        let found = self.get_templates(kind, Some(names))?;
        if found.is_empty() {
            return Err(IndexError::TemplateNotFound {
                noun: kind.noun(),
                name: names.to_string(),
            });
        }
        let mut state = self.state.write();
        for (name, _) in found {
            Self::map(&mut state, kind).remove(&name);
        }
        self.save(&state)
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
