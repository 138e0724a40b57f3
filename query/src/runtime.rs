//! `runtime_mappings` of a search request: fields defined for one request, computed from the
//! document. Hydrant runs no Painless; it reads the forms a data view's runtime field takes when
//! it exposes another field under a new name (Kibana's runtime fields over an existing field,
//! a renamed field for a dashboard), and refuses any other script by name:
//!
//! - no `script`: the field of the same name, as Elasticsearch reads it then;
//! - `emit(doc['field'].value)`, optionally guarded by `if (doc['field'].size() != 0)` (or
//!   `> 0`, `!doc['field'].empty`, `doc.containsKey('field')`, joined with `&&`), in braces or
//!   not, with or without the final `;`.
//!
//! Such a field is the field it reads everywhere a request names it — queries, aggregations,
//! sorts, `fields` and `docvalue_fields` — through the index mapper's aliases
//! ([`hydrant_index::DocMapper::with_aliases`]).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::error::QueryError;

/// The types a runtime field may declare (Elasticsearch 8's).
const TYPES: &[&str] = &[
    "boolean",
    "composite",
    "date",
    "double",
    "geo_point",
    "ip",
    "keyword",
    "long",
    "lookup",
];

/// `emit(doc['f'].value)` with an optional guard on the same field. Written out here: the
/// script language is Painless, and these few shapes are all Hydrant reads of it.
static ALIAS: LazyLock<Regex> = LazyLock::new(|| {
    let field = r#"doc\s*\[\s*(?:'([^']+)'|"([^"]+)")\s*\]"#;
    let key = r#"doc\s*\.\s*containsKey\s*\(\s*(?:'[^']+'|"[^"]+")\s*\)"#;
    let check =
        format!(r"(?:{field}\s*\.\s*size\s*\(\s*\)\s*(?:!=|>)\s*0|!\s*{field}\s*\.\s*empty|{key})");
    let guard = format!(r"if\s*\(\s*{check}(?:\s*&&\s*{check})*\s*\)\s*\{{?");
    Regex::new(&format!(
        r"^\s*(?:{guard})?\s*emit\s*\(\s*{field}\s*\.\s*value\s*\)\s*;?\s*\}}?\s*;?\s*$"
    ))
    .expect("runtime field pattern")
});

/// Parses `runtime_mappings`: each field's name and the field it reads.
pub fn parse(value: &Value) -> Result<BTreeMap<String, String>, QueryError> {
    let Some(fields) = value.as_object() else {
        return Err(QueryError::Parsing(
            "[runtime_mappings] must be an object".to_string(),
        ));
    };
    let mut out = BTreeMap::new();
    for (name, def) in fields {
        let Some(def) = def.as_object() else {
            return Err(QueryError::Parsing(format!(
                "Expected map for runtime field [{name}] definition but got a {}",
                match def {
                    Value::String(_) => "String",
                    Value::Number(_) => "Number",
                    Value::Bool(_) => "Boolean",
                    Value::Array(_) => "List",
                    _ => "null",
                }
            )));
        };
        let ty = def.get("type").and_then(Value::as_str).ok_or_else(|| {
            QueryError::Parsing(format!("No type specified for runtime field [{name}]"))
        })?;
        if !TYPES.contains(&ty) {
            return Err(QueryError::Parsing(format!(
                "No handler for type [{ty}] declared on runtime field [{name}]"
            )));
        }
        for key in def.keys() {
            if !["type", "script", "format", "locale"].contains(&key.as_str()) {
                return Err(QueryError::Parsing(format!(
                    "unknown parameter [{key}] on runtime field [{name}] of type [{ty}]"
                )));
            }
        }
        let source = match def.get("script") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(o)) => o.get("source").and_then(Value::as_str),
            Some(_) => None,
        };
        let target = match source {
            None => name.clone(),
            Some(src) => alias_of(src).ok_or_else(|| QueryError::Unsupported {
                what: format!(
                    "the script of runtime field [{name}] ([{src}]): Hydrant runs no Painless and reads only emit(doc['field'].value)"
                ),
            })?,
        };
        out.insert(name.clone(), target);
    }
    Ok(out)
}

/// The field `emit(doc['field'].value)` reads.
fn alias_of(source: &str) -> Option<String> {
    let caps = ALIAS.captures(source)?;
    // The emitted field is in the last pair of alternatives (single or double quotes).
    let n = caps.len();
    caps.get(n - 2)
        .or_else(|| caps.get(n - 1))
        .map(|m| m.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_alias_forms_read_their_field() {
        for (script, field) in [
            ("emit(doc['service.keyword'].value)", "service.keyword"),
            ("emit(doc[\"status\"].value);", "status"),
            (
                "if (doc['bytes'].size() != 0) { emit(doc['bytes'].value); }",
                "bytes",
            ),
            (
                "if (doc['bytes'].size() > 0) emit(doc['bytes'].value)",
                "bytes",
            ),
            (
                "if (doc.containsKey('a') && !doc['a'].empty) { emit(doc['a'].value) }",
                "a",
            ),
        ] {
            assert_eq!(alias_of(script).as_deref(), Some(field), "{script}");
        }
        for other in [
            "emit(doc['a'].value * 2)",
            "emit(doc['a'].value + doc['b'].value)",
            "emit(params._source['a'])",
            "emit(doc['@timestamp'].value.getHour())",
            "emit(doc['a'].value); emit(doc['b'].value)",
        ] {
            assert_eq!(alias_of(other), None, "{other}");
        }
    }

    #[test]
    fn definitions_are_checked_as_elasticsearch_checks_them() {
        let ok = parse(&json!({
            "svc": {"type": "keyword", "script": {"source": "emit(doc['service.keyword'].value)"}},
            "status": {"type": "long"},
        }))
        .unwrap();
        assert_eq!(ok["svc"], "service.keyword");
        assert_eq!(ok["status"], "status");
        let err = |v: Value| parse(&v).unwrap_err().to_string();
        assert!(err(json!({"x": {"script": "emit(doc['a'].value)"}})).contains("No type"));
        assert!(err(json!({"x": {"type": "text"}})).contains("No handler for type [text]"));
        assert!(err(json!({"x": {"type": "long", "script": "emit(1)"}})).contains("Painless"));
        assert!(err(json!({"x": {"type": "long", "boost": 2}})).contains("unknown parameter"));
    }
}
