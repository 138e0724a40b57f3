//! What a hit carries besides its id: `_source` filtering, `fields`, `docvalue_fields` and
//! `highlight` options.

use serde_json::{Map, Value};

use crate::error::QueryError;

/// `_source`: whether hits carry it, and which parts.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFilter {
    /// Hits carry `_source`.
    pub enabled: bool,
    /// Only these paths (wildcards allowed); empty means everything.
    pub includes: Vec<String>,
    /// Never these paths.
    pub excludes: Vec<String>,
}

impl Default for SourceFilter {
    fn default() -> Self {
        SourceFilter {
            enabled: true,
            includes: Vec::new(),
            excludes: Vec::new(),
        }
    }
}

fn string_list(v: &Value, what: &str) -> Result<Vec<String>, QueryError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str().map(str::to_string).ok_or_else(|| {
                    QueryError::Parsing(format!("[{what}] must be a list of strings"))
                })
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        _ => Err(QueryError::Parsing(format!(
            "[{what}] must be a string or a list of strings"
        ))),
    }
}

impl SourceFilter {
    /// Parses `_source` from a body: a boolean, a pattern, a list of patterns, or
    /// `{"includes": …, "excludes": …}`.
    pub fn parse(v: &Value) -> Result<SourceFilter, QueryError> {
        let mut f = SourceFilter::default();
        match v {
            Value::Bool(b) => f.enabled = *b,
            Value::String(_) | Value::Array(_) => f.includes = string_list(v, "_source")?,
            Value::Object(o) => {
                for (k, val) in o {
                    match k.as_str() {
                        "includes" | "include" => f.includes = string_list(val, k)?,
                        "excludes" | "exclude" => f.excludes = string_list(val, k)?,
                        other => {
                            return Err(QueryError::Parsing(format!(
                                "Unknown key for a START_OBJECT in [{other}] of [_source]"
                            )));
                        }
                    }
                }
            }
            Value::Null => {}
            Value::Number(_) => {
                return Err(QueryError::Parsing(
                    "[_source] must be a boolean, a string, an array or an object".to_string(),
                ));
            }
        }
        Ok(f)
    }

    /// Whether the source comes back untouched.
    pub fn is_whole(&self) -> bool {
        self.enabled && self.includes.is_empty() && self.excludes.is_empty()
    }

    /// The parts of `source` this filter keeps.
    pub fn apply(&self, source: &Value) -> Value {
        match source {
            Value::Object(o) => Value::Object(self.filter_object(o, "")),
            other => other.clone(),
        }
    }

    fn filter_object(&self, o: &Map<String, Value>, prefix: &str) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in o {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if let Some(kept) = self.filter_value(v, &path, false) {
                out.insert(k.clone(), kept);
            }
        }
        out
    }

    fn filter_value(&self, v: &Value, path: &str, included: bool) -> Option<Value> {
        if self.excludes.iter().any(|p| path_match(p, path)) {
            return None;
        }
        let included = included
            || self.includes.is_empty()
            || self.includes.iter().any(|p| path_match(p, path));
        match v {
            Value::Object(o) => {
                if !included && !self.includes.iter().any(|p| may_match_below(p, path)) {
                    return None;
                }
                let mut out = Map::new();
                for (k, child) in o {
                    let child_path = format!("{path}.{k}");
                    if let Some(kept) = self.filter_value(child, &child_path, included) {
                        out.insert(k.clone(), kept);
                    }
                }
                (included || !out.is_empty()).then_some(Value::Object(out))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|i| match i {
                        Value::Object(_) => self.filter_value(i, path, included),
                        _ if included => Some(i.clone()),
                        _ => None,
                    })
                    .collect();
                (included || !kept.is_empty()).then_some(Value::Array(kept))
            }
            _ => included.then(|| v.clone()),
        }
    }
}

/// Whether a field pattern (with `*` wildcards) matches a dotted path.
pub fn path_match(pattern: &str, path: &str) -> bool {
    hydrant_index::wildcard_match(pattern, path)
}

/// Whether a pattern can match something below `path`.
fn may_match_below(pattern: &str, path: &str) -> bool {
    let literal = pattern.split('*').next().unwrap_or("");
    let below = format!("{path}.");
    below.starts_with(literal) || literal.starts_with(&below)
}

/// One entry of `fields` or `docvalue_fields`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Field name or pattern.
    pub pattern: String,
    /// Date format for date values.
    pub format: Option<String>,
    /// Whether unmapped fields matching a pattern are returned too.
    pub include_unmapped: bool,
}

/// Parses `fields` / `docvalue_fields`: names, or `{"field": …, "format": …}` objects.
pub fn parse_field_specs(v: &Value, what: &str) -> Result<Vec<FieldSpec>, QueryError> {
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(FieldSpec {
                pattern: s.clone(),
                format: None,
                include_unmapped: false,
            }),
            Value::Object(o) => {
                let pattern = o.get("field").and_then(Value::as_str).ok_or_else(|| {
                    QueryError::Parsing(format!("[{what}] entries need a [field]"))
                })?;
                Ok(FieldSpec {
                    pattern: pattern.to_string(),
                    format: o.get("format").and_then(Value::as_str).map(str::to_string),
                    include_unmapped: match o.get("include_unmapped") {
                        Some(Value::Bool(b)) => *b,
                        Some(Value::String(s)) => s == "true",
                        _ => false,
                    },
                })
            }
            other => Err(QueryError::Parsing(format!(
                "[{what}] entries must be strings or objects, got [{other}]"
            ))),
        })
        .collect()
}

/// `highlight`: the fields to highlight, each with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct HighlightSpec {
    /// Field patterns in the request's order, each with the request's options under its own.
    pub fields: Vec<(String, HighlightOptions)>,
}

/// How one field is highlighted (ES's options at the top of `highlight`, or in a field's
/// object, which wins).
#[derive(Debug, Clone, PartialEq)]
pub struct HighlightOptions {
    /// Inserted before a match.
    pub pre_tag: String,
    /// Inserted after a match.
    pub post_tag: String,
    /// Characters per fragment.
    pub fragment_size: usize,
    /// Fragments per field (0: the whole value).
    pub number_of_fragments: usize,
    /// Only fields the query names are highlighted (ES's default).
    pub require_field_match: bool,
    /// `html` escapes the text around the tags.
    pub html_encode: bool,
}

impl Default for HighlightOptions {
    fn default() -> HighlightOptions {
        HighlightOptions {
            pre_tag: "<em>".to_string(),
            post_tag: "</em>".to_string(),
            fragment_size: 100,
            number_of_fragments: 5,
            require_field_match: true,
            html_encode: false,
        }
    }
}

impl HighlightOptions {
    /// `base` with the options `o` sets.
    fn with(base: &HighlightOptions, o: &Map<String, Value>) -> HighlightOptions {
        let tag = |k: &str| {
            o.get(k).and_then(|t| match t {
                Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
        };
        let number = |k: &str| {
            o.get(k)
                .and_then(|n| {
                    n.as_u64()
                        .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
                })
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        };
        HighlightOptions {
            pre_tag: tag("pre_tags").unwrap_or_else(|| base.pre_tag.clone()),
            post_tag: tag("post_tags").unwrap_or_else(|| base.post_tag.clone()),
            fragment_size: number("fragment_size").unwrap_or(base.fragment_size),
            number_of_fragments: number("number_of_fragments").unwrap_or(base.number_of_fragments),
            require_field_match: o
                .get("require_field_match")
                .and_then(Value::as_bool)
                .unwrap_or(base.require_field_match),
            html_encode: match o.get("encoder").and_then(Value::as_str) {
                Some(e) => e == "html",
                None => base.html_encode,
            },
        }
    }
}

impl HighlightSpec {
    /// Parses `highlight`.
    pub fn parse(v: &Value) -> Result<HighlightSpec, QueryError> {
        let o = v
            .as_object()
            .ok_or_else(|| QueryError::Parsing("[highlight] must be an object".to_string()))?;
        let top = HighlightOptions::with(&HighlightOptions::default(), o);
        let field = |(name, opts): (&String, &Value)| {
            let own = match opts.as_object() {
                Some(f) => HighlightOptions::with(&top, f),
                None => top.clone(),
            };
            (name.clone(), own)
        };
        let fields = match o.get("fields") {
            Some(Value::Object(f)) => f.iter().map(field).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|f| f.iter().map(field))
                .collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err(QueryError::XContentParse(format!(
                    "[highlight] fields doesn't support values of type: {}",
                    crate::dsl::kind(other)
                )));
            }
        };
        Ok(HighlightSpec { fields })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn includes_and_excludes_walk_dotted_paths() {
        let src = json!({"a": 1, "user": {"name": "x", "id": 7, "tags": [{"k": 1, "v": 2}]}, "b": [1, 2]});
        let f = SourceFilter::parse(&json!({"includes": ["user.*", "b"], "excludes": ["user.id"]}))
            .unwrap();
        assert_eq!(
            f.apply(&src),
            json!({"user": {"name": "x", "tags": [{"k": 1, "v": 2}]}, "b": [1, 2]})
        );
        let only = SourceFilter::parse(&json!("user.tags.k")).unwrap();
        assert_eq!(only.apply(&src), json!({"user": {"tags": [{"k": 1}]}}));
        let off = SourceFilter::parse(&json!(false)).unwrap();
        assert!(!off.enabled);
    }

    #[test]
    fn kibana_fields_entries_parse() {
        let specs = parse_field_specs(
            &json!([{"field": "*", "include_unmapped": "true"}, {"field": "@timestamp", "format": "strict_date_optional_time"}, "status"]),
            "fields",
        )
        .unwrap();
        assert!(specs[0].include_unmapped);
        assert_eq!(
            specs[1].format.as_deref(),
            Some("strict_date_optional_time")
        );
        assert_eq!(specs[2].pattern, "status");
    }

    #[test]
    fn highlight_options_with_defaults() {
        let h = HighlightSpec::parse(&json!({
            "pre_tags": ["@kibana-highlighted-field@"], "post_tags": ["@/kibana-highlighted-field@"],
            "fields": {"*": {}}, "fragment_size": 2147483647
        }))
        .unwrap();
        let (name, o) = &h.fields[0];
        assert_eq!(name, "*");
        assert_eq!(o.pre_tag, "@kibana-highlighted-field@");
        assert_eq!(o.fragment_size, 2_147_483_647);
        assert_eq!(o.number_of_fragments, 5);
        let h = HighlightSpec::parse(&json!({
            "number_of_fragments": 3, "fields": {"message": {"fragment_size": 40}, "agent": {}}
        }))
        .unwrap();
        let of = |name: &str| {
            let (_, o) = h.fields.iter().find(|(n, _)| n == name).unwrap();
            (o.fragment_size, o.number_of_fragments)
        };
        assert_eq!(of("message"), (40, 3));
        assert_eq!(of("agent"), (100, 3));
    }
}
