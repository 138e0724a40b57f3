//! `dynamic_templates`: how fields no mapping names are typed, by name, path and JSON type —
//! the shape Beats, Logstash and Elastic Agent templates rely on (`"strings_as_keyword":
//! {"match_mapping_type": "string", "mapping": {"type": "keyword"}}`).
//!
//! Hydrant's schema is fixed when an index is created, and its dynamic part already keeps each
//! string both as full text and as an exact value. So a template decides what a dynamic field
//! *is* for queries and for `GET _mapping`: a string field a template makes `keyword` (or
//! `wildcard`, `constant_keyword`) is matched as one exact value, as Elasticsearch matches a
//! keyword; `text` stays full text; any other type is the type `_mapping` reports.

use serde_json::Value;

/// One template, as Elasticsearch reads it: the first that matches a new field applies.
#[derive(Debug, Clone)]
pub struct DynamicTemplate {
    matches: Vec<Pattern>,
    unmatches: Vec<Pattern>,
    path_matches: Vec<Pattern>,
    path_unmatches: Vec<Pattern>,
    mapping_types: Vec<String>,
    /// The `type` of its `mapping` (`{dynamic_type}` or none: the detected type).
    mapping_type: Option<String>,
}

#[derive(Debug, Clone)]
enum Pattern {
    Simple(String),
    Regex(regex::Regex),
}

impl Pattern {
    fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Simple(p) => crate::catalog::wildcard_match(p, s),
            Pattern::Regex(r) => r.is_match(s),
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The templates of a `mappings` body, in order; ones that cannot be read (a bad regex) are
/// left out.
pub fn dynamic_templates(mappings: &Value) -> Vec<DynamicTemplate> {
    let Some(list) = mappings.get("dynamic_templates").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in list {
        // Each entry is `{"<name>": {...}}`.
        let Some(def) = entry.as_object().and_then(|o| o.values().next()) else {
            continue;
        };
        let regex = def.get("match_pattern").and_then(Value::as_str) == Some("regex");
        let patterns = |key: &str| -> Option<Vec<Pattern>> {
            strings(def.get(key))
                .into_iter()
                .map(|p| {
                    if regex {
                        regex::Regex::new(&p).ok().map(Pattern::Regex)
                    } else {
                        Some(Pattern::Simple(p))
                    }
                })
                .collect()
        };
        let (Some(matches), Some(unmatches), Some(path_matches), Some(path_unmatches)) = (
            patterns("match"),
            patterns("unmatch"),
            patterns("path_match"),
            patterns("path_unmatch"),
        ) else {
            continue;
        };
        out.push(DynamicTemplate {
            matches,
            unmatches,
            path_matches,
            path_unmatches,
            mapping_types: strings(def.get("match_mapping_type")),
            mapping_type: def
                .get("mapping")
                .and_then(|m| m.get("type"))
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
    out
}

impl DynamicTemplate {
    /// Whether it applies to the field at `path` whose value has JSON type `detected`
    /// (`string`, `long`, `double`, `boolean`, `date`, `object`).
    pub fn applies(&self, path: &str, detected: &str) -> bool {
        let name = path.rsplit('.').next().unwrap_or(path);
        let any = |ps: &[Pattern], s: &str| ps.iter().any(|p| p.matches(s));
        (self.mapping_types.is_empty()
            || self.mapping_types.iter().any(|t| t == "*" || t == detected))
            && (self.matches.is_empty() || any(&self.matches, name))
            && !any(&self.unmatches, name)
            && (self.path_matches.is_empty() || any(&self.path_matches, path))
            && !any(&self.path_unmatches, path)
    }

    /// Whether it applies to string values only (`match_mapping_type: "string"`): what decides
    /// how a query reads a field, before any value is seen.
    pub fn types_strings_only(&self) -> bool {
        self.mapping_types.len() == 1 && self.mapping_types[0] == "string"
    }

    /// Whether it makes fields exact values (`keyword`, `constant_keyword`, `wildcard`).
    pub fn is_exact(&self) -> bool {
        matches!(
            self.es_type(),
            Some("keyword" | "constant_keyword" | "wildcard")
        )
    }

    /// The type a field it applies to gets (`None`: what dynamic mapping would give).
    pub fn es_type(&self) -> Option<&str> {
        self.mapping_type
            .as_deref()
            .filter(|t| !t.contains("{dynamic_type}"))
    }
}

/// The type the first of `templates` that applies gives the field at `path` of JSON type
/// `detected`; `None` when none applies or it keeps the detected type.
pub fn template_type<'t>(
    templates: &'t [DynamicTemplate],
    path: &str,
    detected: &str,
) -> Option<&'t str> {
    templates
        .iter()
        .find(|t| t.applies(path, detected))
        .and_then(DynamicTemplate::es_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_matching_template_types_the_field() {
        let t = dynamic_templates(&json!({"dynamic_templates": [
            {"labels": {"path_match": "labels.*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
            {"messages": {"match": "*message", "mapping": {"type": "text"}}},
            {"ids": {"match": "^id_[0-9]+$", "match_pattern": "regex", "mapping": {"type": "keyword"}}},
            {"nums": {"match_mapping_type": ["long", "double"], "mapping": {"type": "{dynamic_type}"}}},
            {"strings": {"match_mapping_type": "string", "unmatch": "raw_*", "mapping": {"type": "keyword", "ignore_above": 1024}}}
        ]}));
        assert_eq!(t.len(), 5);
        assert_eq!(template_type(&t, "labels.env", "string"), Some("keyword"));
        assert_eq!(template_type(&t, "error.message", "string"), Some("text"));
        assert_eq!(template_type(&t, "id_42", "string"), Some("keyword"));
        assert_eq!(template_type(&t, "bytes", "long"), None);
        assert_eq!(template_type(&t, "service", "string"), Some("keyword"));
        assert_eq!(template_type(&t, "raw_line", "string"), None);
        assert_eq!(template_type(&t, "ok", "boolean"), None);
    }
}
