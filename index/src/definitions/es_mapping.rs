//! Elasticsearch mapping bodies (`mappings` of `PUT /{index}`, `_mapping` and templates) read
//! into what Hydrant indexes: the explicit fields of an index's schema and its dynamic mode.
//!
//! A declared field becomes an explicit tantivy field when Hydrant has a type that behaves as
//! Elasticsearch's does (`keyword`, `text`, integer and floating-point types, `boolean`, `date`
//! in the formats Hydrant reads, `ip`). Every other type Elasticsearch knows is accepted and
//! indexed by the dynamic part of the schema, which already gives a string both its full-text
//! and its exact form: `text` with a `keyword` sub-field (the shape Beats and Logstash send),
//! `flattened`, `geo_point`, `nested` (as an object), … — the declared mapping is still what
//! `GET _mapping` shows. An unknown type is refused with Elasticsearch's error.

use hydrant_config::{FieldType, MappingMode};
use serde_json::{Map, Value};

use crate::error::IndexError;
use crate::mapping::TIMESTAMP_FIELD;

/// What a mapping body means for the schema of a new index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Translated {
    /// `dynamic: strict` at the root.
    pub strict: bool,
    /// Explicit fields by dotted path, in declaration order.
    pub fields: Vec<(String, FieldType)>,
}

impl Translated {
    /// The mode of an index created with this mapping.
    pub fn mode(&self) -> MappingMode {
        if self.strict {
            MappingMode::Strict
        } else {
            MappingMode::Dynamic
        }
    }
}

fn parse_error(reason: String) -> IndexError {
    IndexError::InvalidDefinition {
        es_type: "mapper_parsing_exception",
        reason,
    }
}

/// Keys a root mapping may have besides `properties` (accepted, kept for `GET`, not applied
/// unless named in [`translate`]).
const ROOT_KEYS: &[&str] = &[
    "properties",
    "dynamic",
    "dynamic_templates",
    "_source",
    "_meta",
    "_routing",
    "_field_names",
    "_data_stream_timestamp",
    "_size",
    "date_detection",
    "numeric_detection",
    "dynamic_date_formats",
    "runtime",
    "subobjects",
    "enabled",
];

/// Removes the `_doc` wrapper of typed mappings (`{"_doc": {"properties": …}}`), which legacy
/// templates of older shippers still send.
pub fn untyped(mappings: &Value) -> &Value {
    match mappings.as_object() {
        Some(m) if m.len() == 1 && m.contains_key("_doc") => &m["_doc"],
        _ => mappings,
    }
}

/// Reads a `mappings` body. Errors are Elasticsearch's `mapper_parsing_exception` naming the
/// field and parameter.
pub fn translate(mappings: &Value) -> Result<Translated, IndexError> {
    let root = match untyped(mappings) {
        Value::Object(m) => m,
        Value::Null => return Ok(Translated::default()),
        other => {
            return Err(parse_error(format!(
                "Failed to parse mapping: Expected map for [mappings] but got [{other}]"
            )));
        }
    };
    let unsupported: Vec<String> = root
        .iter()
        .filter(|(k, _)| !ROOT_KEYS.contains(&k.as_str()))
        .map(|(k, v)| format!("{k} : {v}"))
        .collect();
    if !unsupported.is_empty() {
        return Err(parse_error(format!(
            "Root mapping definition has unsupported parameters:  [{}]",
            unsupported.join("] [")
        )));
    }
    let strict = dynamic_strict("_doc", root.get("dynamic"))?;
    let mut out = Translated {
        strict,
        fields: Vec::new(),
    };
    if let Some(props) = root.get("properties") {
        walk("", props, strict, &mut out.fields)?;
    }
    Ok(out)
}

/// `dynamic`: `true`, `false`, `"strict"` or `"runtime"`. Only strict changes what Hydrant does:
/// under `false` and `runtime` unmapped fields stay searchable (a superset of ES).
fn dynamic_strict(at: &str, v: Option<&Value>) -> Result<bool, IndexError> {
    match v {
        None | Some(Value::Bool(_)) => Ok(false),
        Some(Value::String(s)) => match s.as_str() {
            "true" | "false" | "runtime" => Ok(false),
            "strict" => Ok(true),
            _ => Err(parse_error(format!(
                "Could not convert [{at}.dynamic] to boolean, strict or runtime: [{s}]"
            ))),
        },
        Some(other) => Err(parse_error(format!(
            "Could not convert [{at}.dynamic] to boolean, strict or runtime: [{other}]"
        ))),
    }
}

/// How Hydrant indexes one declared type: explicitly, or with the dynamic part of the schema.
enum Kind {
    Explicit(FieldType),
    Dynamic,
    Object,
}

fn kind_of(path: &str, def: &Map<String, Value>) -> Result<Kind, IndexError> {
    let Some(ty) = def.get("type") else {
        return Ok(Kind::Object);
    };
    let Some(ty) = ty.as_str() else {
        return Err(parse_error(format!("No type specified for field [{path}]")));
    };
    Ok(match ty {
        "object" | "nested" => Kind::Object,
        "keyword" | "constant_keyword" | "wildcard" | "version" => {
            Kind::Explicit(FieldType::Keyword)
        }
        "text" | "match_only_text" | "search_as_you_type" | "annotated_text" => {
            if has_keyword_subfield(def) {
                // Hydrant's dynamic strings are exactly this: full text plus `.keyword`.
                Kind::Dynamic
            } else {
                Kind::Explicit(FieldType::Text)
            }
        }
        "long" | "integer" | "short" | "byte" | "unsigned_long" | "token_count" => {
            Kind::Explicit(FieldType::Long)
        }
        "double" | "float" | "half_float" | "scaled_float" => Kind::Explicit(FieldType::Double),
        "boolean" => Kind::Explicit(FieldType::Boolean),
        "date" | "date_nanos" => {
            if def.get("format").is_none_or(readable_date_format) {
                Kind::Explicit(FieldType::Date)
            } else {
                // Formats Hydrant does not parse: the value stays a string, never refused.
                Kind::Dynamic
            }
        }
        "ip" => Kind::Explicit(FieldType::Ip),
        "geo_point" => Kind::Explicit(FieldType::GeoPoint),
        "flattened"
        | "flat_object"
        | "geo_shape"
        | "point"
        | "shape"
        | "binary"
        | "alias"
        | "histogram"
        | "dense_vector"
        | "sparse_vector"
        | "rank_feature"
        | "rank_features"
        | "completion"
        | "percolator"
        | "join"
        | "integer_range"
        | "long_range"
        | "float_range"
        | "double_range"
        | "date_range"
        | "ip_range"
        | "murmur3"
        | "aggregate_metric_double"
        | "knn_vector" => Kind::Dynamic,
        other => {
            return Err(parse_error(format!(
                "No handler for type [{other}] declared on field [{path}]"
            )));
        }
    })
}

fn has_keyword_subfield(def: &Map<String, Value>) -> bool {
    def.get("fields")
        .and_then(Value::as_object)
        .is_some_and(|f| {
            f.values()
                .any(|sub| sub.get("type").and_then(Value::as_str) == Some("keyword"))
        })
}

/// Date formats whose values Hydrant's date parsing reads the same way (RFC 3339 / ISO 8601
/// strings and epoch milliseconds).
fn readable_date_format(format: &Value) -> bool {
    const READABLE: &[&str] = &[
        "strict_date_optional_time",
        "date_optional_time",
        "strict_date_optional_time_nanos",
        "strict_date_time",
        "date_time",
        "strict_date_time_no_millis",
        "date_time_no_millis",
        "epoch_millis",
    ];
    format
        .as_str()
        .is_some_and(|f| f.split("||").all(|one| READABLE.contains(&one.trim())))
}

fn walk(
    prefix: &str,
    props: &Value,
    strict: bool,
    out: &mut Vec<(String, FieldType)>,
) -> Result<(), IndexError> {
    let Some(props) = props.as_object() else {
        return Err(parse_error(format!(
            "Expected map for property [properties] on field [{}] but got [{props}]",
            if prefix.is_empty() { "_doc" } else { prefix }
        )));
    };
    for (name, def) in props {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let Some(def) = def.as_object() else {
            return Err(parse_error(format!(
                "Expected map for property [fields] on field [{path}] but got [{def}]"
            )));
        };
        match kind_of(&path, def)? {
            Kind::Object => {
                let strict = match def.get("dynamic") {
                    None => strict,
                    v => dynamic_strict(&path, v)?,
                };
                if let Some(inner) = def.get("properties") {
                    walk(&path, inner, strict, out)?;
                }
            }
            // The event time is always a date in Hydrant's schema.
            _ if path == TIMESTAMP_FIELD => {}
            Kind::Explicit(kind) => {
                out.retain(|(p, _)| *p != path);
                out.push((path, kind));
            }
            Kind::Dynamic if strict => {
                // Strict mode refuses every field that is not explicit in the schema, so a
                // field Hydrant can only index dynamically would refuse every record with it.
                let ty = def.get("type").and_then(Value::as_str).unwrap_or("object");
                return Err(IndexError::InvalidDefinition {
                    es_type: "illegal_argument_exception",
                    reason: format!(
                        "field [{path}] of type [{ty}] cannot be used with [dynamic: strict] in Hydrant: it is indexed dynamically"
                    ),
                });
            }
            Kind::Dynamic => {}
        }
    }
    Ok(())
}

/// Merges mapping `add` into `base` (both `mappings` bodies): properties are merged field by
/// field, other keys replaced. With `refuse_changes`, a field whose type would change is
/// Elasticsearch's `illegal_argument_exception` (`PUT _mapping`); without, the later wins (how
/// templates compose).
pub fn merge(base: &mut Value, add: &Value, refuse_changes: bool) -> Result<(), IndexError> {
    let add = untyped(add);
    let Some(add) = add.as_object() else {
        return Ok(());
    };
    if !base.is_object() {
        *base = Value::Object(Map::new());
    }
    let Some(base) = base.as_object_mut() else {
        return Ok(());
    };
    for (key, value) in add {
        if key == "properties" {
            let props = base
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            merge_properties("", props, value, refuse_changes)?;
        } else if key == "dynamic_templates" {
            // Templates compose by appending, the later first to match.
            let list = base
                .entry("dynamic_templates")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let (Some(list), Some(more)) = (list.as_array_mut(), value.as_array()) {
                list.extend(more.iter().cloned());
            }
        } else {
            base.insert(key.clone(), value.clone());
        }
    }
    Ok(())
}

fn merge_properties(
    prefix: &str,
    base: &mut Value,
    add: &Value,
    refuse_changes: bool,
) -> Result<(), IndexError> {
    let (Some(base), Some(add)) = (base.as_object_mut(), add.as_object()) else {
        return Ok(());
    };
    for (name, def) in add {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let Some(existing) = base.get_mut(name) else {
            base.insert(name.clone(), def.clone());
            continue;
        };
        let type_of = |v: &Value| {
            v.get("type")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| "object".to_string())
        };
        let (old, new) = (type_of(existing), type_of(def));
        if old == "object" && new == "object" {
            let inner = existing.as_object_mut().map(|o| {
                o.entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()))
            });
            if let (Some(inner), Some(more)) = (inner, def.get("properties")) {
                merge_properties(&path, inner, more, refuse_changes)?;
            }
            continue;
        }
        if old != new && refuse_changes {
            return Err(IndexError::InvalidDefinition {
                es_type: "illegal_argument_exception",
                reason: format!("mapper [{path}] cannot be changed from type [{old}] to [{new}]"),
            });
        }
        *existing = def.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn beats_shapes_become_explicit_or_dynamic_fields() {
        let t = translate(&json!({
            "dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
            "properties": {
                "@timestamp": {"type": "date"},
                "status": {"type": "short"},
                "bytes": {"type": "unsigned_long"},
                "took": {"type": "scaled_float", "scaling_factor": 100},
                "message": {"type": "match_only_text"},
                "url": {"properties": {"original": {"type": "wildcard"}, "path": {"type": "text", "fields": {"keyword": {"type": "keyword"}}}}},
                "client": {"properties": {"ip": {"type": "ip"}, "geo": {"properties": {"location": {"type": "geo_point"}}}}},
                "labels": {"type": "flattened"},
                "seen": {"type": "date", "format": "yyyy-MM-dd"},
                "ok": {"type": "boolean"}
            }
        }))
        .unwrap();
        assert!(!t.strict);
        assert_eq!(
            t.fields,
            vec![
                ("bytes".to_string(), FieldType::Long),
                ("client.geo.location".to_string(), FieldType::GeoPoint),
                ("client.ip".to_string(), FieldType::Ip),
                ("message".to_string(), FieldType::Text),
                ("ok".to_string(), FieldType::Boolean),
                ("status".to_string(), FieldType::Long),
                ("took".to_string(), FieldType::Double),
                ("url.original".to_string(), FieldType::Keyword),
            ]
        );
    }

    #[test]
    fn unknown_types_and_root_keys_are_elasticsearch_errors() {
        let e = translate(&json!({"properties": {"a": {"type": "strnig"}}})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "No handler for type [strnig] declared on field [a]"
        );
        let e = translate(&json!({"propertes": {}})).unwrap_err();
        assert!(
            e.to_string()
                .contains("Root mapping definition has unsupported parameters"),
            "{e}"
        );
        let e =
            translate(&json!({"dynamic": "strict", "properties": {"g": {"type": "geo_shape"}}}))
                .unwrap_err();
        assert!(e.to_string().contains("[g]"), "{e}");
        assert!(
            translate(
                &json!({"_doc": {"dynamic": "strict", "properties": {"a": {"type": "keyword"}}}})
            )
            .unwrap()
            .strict
        );
    }

    #[test]
    fn merging_adds_fields_and_refuses_type_changes_when_asked() {
        let mut base = json!({"properties": {"a": {"type": "long"}, "o": {"properties": {"x": {"type": "keyword"}}}}});
        merge(&mut base, &json!({"properties": {"b": {"type": "ip"}, "o": {"properties": {"y": {"type": "long"}}}}}), true).unwrap();
        assert_eq!(base["properties"]["o"]["properties"]["y"]["type"], "long");
        assert_eq!(base["properties"]["b"]["type"], "ip");
        let e = merge(
            &mut base,
            &json!({"properties": {"a": {"type": "keyword"}}}),
            true,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "mapper [a] cannot be changed from type [long] to [keyword]"
        );
        merge(
            &mut base,
            &json!({"properties": {"a": {"type": "keyword"}}}),
            false,
        )
        .unwrap();
        assert_eq!(base["properties"]["a"]["type"], "keyword");
    }
}
