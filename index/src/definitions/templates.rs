//! Index templates, composable (`/_index_template`) and legacy (`/_template`): stored, listed
//! and deleted as Elasticsearch does, overlapping patterns of equal priority refused.

use serde_json::{Map, Value, json};

use super::{Definitions, TemplateKind, index_body, nest_settings, patterns_of};
use crate::catalog::wildcard_match;
use crate::error::IndexError;

impl Definitions {
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
