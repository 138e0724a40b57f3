//! `fields` and `docvalue_fields` of a hit: the document's values flattened to dotted paths,
//! every value in an array, dates in the requested format — as ES's fields API returns them.

use hydrant_config::FieldType;
use hydrant_index::{DocMapper, DynamicFields, FieldTarget, ValueKind, mapping::IGNORE_ABOVE};
use serde_json::{Map, Value, json};

use crate::dates::{DateParser, Zone, format_date};
use crate::request::{FieldSpec, path_match};

/// Every leaf of `source` with its dotted path, in document order (arrays flattened).
pub fn flatten(source: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    walk(source, String::new(), &mut out);
    out
}

fn walk(v: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(child, p, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, path.clone(), out);
            }
        }
        Value::Null => {}
        leaf => out.push((path, leaf.clone())),
    }
}

/// What values of a hit the fields API reads.
pub struct HitValues<'a> {
    /// The document's source.
    pub source: &'a Value,
    /// Its event time, epoch ms.
    pub timestamp_ms: Option<i64>,
    /// Its index's mapper.
    pub mapper: &'a DocMapper,
    /// The dynamic fields of its shard (a path holding dates shows every value as a date).
    pub fields: &'a DynamicFields,
}

/// `fields` (or, with `exact_only`, `docvalue_fields`) of one hit.
pub fn hit_fields(
    specs: &[FieldSpec],
    hit: &HitValues<'_>,
    exact_only: bool,
) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    if specs.is_empty() {
        return out;
    }
    let push = |out: &mut Map<String, Value>, name: &str, v: Value| {
        if let Value::Array(list) = out.entry(name.to_string()).or_insert_with(|| json!([])) {
            list.push(v);
        }
    };
    if let Some(ms) = hit.timestamp_ms {
        // The event time once per `docvalue_fields` entry naming it (each in its format), as
        // ES lists them; `fields` shows it once, in the last entry's format.
        let mut naming = specs
            .iter()
            .filter(|spec| path_match(&spec.pattern, "@timestamp"));
        let shown: Vec<&FieldSpec> = if exact_only {
            naming.collect()
        } else {
            naming.next_back().into_iter().collect()
        };
        for spec in shown {
            push(
                &mut out,
                "@timestamp",
                json!(format_date(ms, spec.format.as_deref(), Zone::Utc)),
            );
        }
    }
    for (path, value) in flatten(hit.source) {
        if path == "@timestamp" {
            // Read from the event-time column above, whatever form the source spelled it in.
            continue;
        }
        let keyword = format!("{path}.keyword");
        for spec in specs {
            let target = hit.mapper.resolve(&path);
            if path_match(&spec.pattern, &path) {
                let dates = matches!(target, FieldTarget::Dynamic { .. })
                    && hit
                        .fields
                        .paths
                        .get(&path)
                        .is_some_and(|k| k.contains(&ValueKind::Date));
                if let Some(v) = field_value(&value, &target, spec, exact_only, dates) {
                    push(&mut out, &path, v);
                }
                break;
            }
        }
        let dynamic_string = matches!(hit.mapper.resolve(&path), FieldTarget::Dynamic { .. })
            && value.as_str().is_some_and(|s| s.len() <= IGNORE_ABOVE);
        if dynamic_string && specs.iter().any(|s| path_match(&s.pattern, &keyword)) {
            push(&mut out, &keyword, value.clone());
        }
    }
    runtime_fields(specs, hit, exact_only, &mut out);
    out
}

/// The request's runtime fields that `specs` name: the values of the field each reads, under
/// its own name (shadowing a field of the document by that name, as in ES).
fn runtime_fields(
    specs: &[FieldSpec],
    hit: &HitValues<'_>,
    exact_only: bool,
    out: &mut Map<String, Value>,
) {
    let mut plain = None;
    for (name, target) in hit.mapper.aliases() {
        // No script: the field itself, already there.
        if name == target {
            continue;
        }
        let Some(spec) = specs.iter().rev().find(|s| path_match(&s.pattern, name)) else {
            continue;
        };
        out.remove(name);
        // The field as the index maps it: the same mapper without the request's aliases.
        let mapper: &DocMapper =
            plain.get_or_insert_with(|| hit.mapper.with_aliases(Default::default()));
        let read = FieldSpec {
            pattern: target.to_string(),
            format: spec.format.clone(),
            include_unmapped: false,
        };
        let values = HitValues { mapper, ..*hit };
        if let Some(v) = hit_fields(std::slice::from_ref(&read), &values, exact_only).remove(target)
        {
            out.insert(name.to_string(), v);
        }
    }
}

/// One value as the fields API shows it, or `None` when it has no such form.
/// `dates`: the value is on a dynamic path date detection made a date field.
fn field_value(
    value: &Value,
    target: &FieldTarget,
    spec: &FieldSpec,
    exact_only: bool,
    dates: bool,
) -> Option<Value> {
    let date = |value: &Value| {
        let ms = match value {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => DateParser::new(None, None, 0).ok()?.parse(s, false).ok()?,
            _ => return None,
        };
        Some(json!(format_date(ms, spec.format.as_deref(), Zone::Utc)))
    };
    match target {
        FieldTarget::Explicit {
            kind: FieldType::Date,
            ..
        } => date(value),
        FieldTarget::Dynamic { .. } if dates => date(value).or_else(|| Some(value.clone())),
        FieldTarget::Explicit {
            kind: FieldType::Text,
            ..
        } if exact_only => None,
        FieldTarget::Dynamic { .. } if exact_only => match value {
            Value::String(s) if s.len() > IGNORE_ABOVE => None,
            other => Some(other.clone()),
        },
        FieldTarget::Missing => None,
        _ => Some(value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_walks_objects_and_arrays() {
        let src = json!({"a": {"b": 1, "c": [2, {"d": "x"}]}, "e": null, "f": [true]});
        assert_eq!(
            flatten(&src),
            vec![
                ("a.b".to_string(), json!(1)),
                ("a.c".to_string(), json!(2)),
                ("a.c.d".to_string(), json!("x")),
                ("f".to_string(), json!(true)),
            ]
        );
    }

    #[test]
    fn kibana_star_returns_every_field_with_keyword_forms_and_the_timestamp() {
        let mapper = DocMapper::new();
        let src = json!({"message": "hello", "status": 200, "user": {"name": "bob"}});
        let hit = HitValues {
            source: &src,
            timestamp_ms: Some(1_431_857_103_000),
            mapper: &mapper,
            fields: &DynamicFields::default(),
        };
        let specs = vec![FieldSpec {
            pattern: "*".into(),
            format: None,
            include_unmapped: true,
        }];
        let f = hit_fields(&specs, &hit, false);
        assert_eq!(f["message"], json!(["hello"]));
        assert_eq!(f["message.keyword"], json!(["hello"]));
        assert_eq!(f["status"], json!([200]));
        assert_eq!(f["user.name"], json!(["bob"]));
        assert_eq!(f["@timestamp"], json!(["2015-05-17T10:05:03.000Z"]));
        assert!(f.get("status.keyword").is_none());
    }
}
