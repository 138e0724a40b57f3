//! `_mapping` and `_field_caps`: the fields of indices as Elasticsearch describes them. A
//! dynamic string is `text` with a `keyword` sub-field (as ES's default dynamic mapping makes
//! it), numbers are `long` or `float`, explicit fields keep their declared type.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hydrant_index::{DynamicFields, IndexHandle, ValueKind, dynamic_fields};
use serde_json::{Map, Value, json};

use crate::request::path_match;

/// A field as a mapping lists it.
#[derive(Debug, Clone, PartialEq)]
struct Leaf {
    path: String,
    es_type: String,
    /// Dynamic strings have `path.keyword`.
    keyword_sub: bool,
}

/// The dynamic fields of every shard of `index`.
fn index_fields(index: &IndexHandle) -> DynamicFields {
    let mut out = DynamicFields::default();
    for shard in index.shards() {
        out.merge(&dynamic_fields(&shard.searcher()));
    }
    out
}

fn leaves(index: &IndexHandle) -> Vec<Leaf> {
    let mut out = vec![Leaf {
        path: "@timestamp".to_string(),
        es_type: "date".into(),
        keyword_sub: false,
    }];
    let mut explicit = BTreeSet::new();
    for (path, _, kind) in index.mapper().explicit_fields() {
        explicit.insert(path.to_string());
        out.push(Leaf {
            path: path.to_string(),
            es_type: hydrant_index::mapping::type_name(kind).into(),
            keyword_sub: false,
        });
    }
    for (path, kinds) in &index_fields(index).paths {
        if explicit.contains(path) || path == "@timestamp" {
            continue;
        }
        let strings = kinds.contains(&ValueKind::Text) || kinds.contains(&ValueKind::Keyword);
        // Dynamic mapping's type, and the JSON type dynamic templates match on.
        // Dates win, as they do for aggregations: date detection made them dates, and other
        // values of the path (epoch millis, say) are what Elasticsearch reads as dates too.
        let (es_type, detected) = if kinds.contains(&ValueKind::Date) {
            ("date", "date")
        } else if strings {
            ("text", "string")
        } else if kinds.contains(&ValueKind::F64) {
            ("float", "double")
        } else if kinds.contains(&ValueKind::I64) || kinds.contains(&ValueKind::U64) {
            ("long", "long")
        } else if kinds.contains(&ValueKind::Bool) {
            ("boolean", "boolean")
        } else {
            continue;
        };
        let leaf = match index.mapper().dynamic_type(path, detected) {
            Some(t) => Leaf {
                path: path.clone(),
                es_type: t.to_string(),
                keyword_sub: false,
            },
            None => Leaf {
                path: path.clone(),
                es_type: es_type.into(),
                keyword_sub: es_type == "text",
            },
        };
        out.push(leaf);
    }
    out
}

fn leaf_mapping(leaf: &Leaf) -> Value {
    if leaf.keyword_sub {
        json!({"type": leaf.es_type, "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
    } else {
        json!({"type": leaf.es_type})
    }
}

/// Puts `leaf` at its dotted path, creating object `properties` on the way; an object wins
/// over a leaf of the same name (ES would have refused the second).
fn insert(props: &mut Map<String, Value>, path: &str, leaf: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = props;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            if current
                .get(part)
                .is_none_or(|v| v.get("properties").is_none())
            {
                current.insert(part.to_string(), leaf);
            }
            return;
        }
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| json!({"properties": {}}));
        if entry.get("properties").is_none() {
            *entry = json!({"properties": {}});
        }
        let Some(Value::Object(next)) = entry.get_mut("properties") else {
            return;
        };
        current = next;
    }
}

/// Whether `path` is declared in `props`, itself or under a declared leaf (a `flattened`
/// field's keys, a `text` field's sub-fields).
fn covered(props: &Map<String, Value>, path: &str) -> bool {
    let mut current = props;
    for part in path.split('.') {
        let Some(def) = current.get(part) else {
            return false;
        };
        match def.get("properties").and_then(Value::as_object) {
            Some(inner) => current = inner,
            None => return true,
        }
    }
    true
}

/// `GET /{target}/_mapping`.
pub fn mapping(indices: &[Arc<IndexHandle>]) -> Value {
    let mut out = Map::new();
    for index in indices {
        // What was declared (templates, `PUT /{index}`) is shown as declared; what documents
        // brought on their own is added as ES's dynamic mapping would have it.
        let declared = index.meta().declared.as_ref().and_then(Value::as_object);
        let mut props = declared
            .and_then(|d| d.get("properties"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for leaf in leaves(index) {
            if !covered(&props, &leaf.path) {
                insert(&mut props, &leaf.path, leaf_mapping(&leaf));
            }
        }
        let mut mappings = Map::new();
        for (key, value) in declared.into_iter().flatten() {
            if key != "properties" {
                mappings.insert(key.clone(), value.clone());
            }
        }
        // A strict mapping configured in Hydrant's own config says so, as a declared one does.
        if index.mapper().mapping().mode == hydrant_config::MappingMode::Strict {
            mappings
                .entry("dynamic")
                .or_insert_with(|| Value::from("strict"));
        }
        mappings.insert("properties".into(), Value::Object(props));
        out.insert(index.name().to_string(), json!({ "mappings": mappings }));
    }
    Value::Object(out)
}

/// `GET /{target}/_mapping/field/{fields}`: from a `_mapping` answer, the leaf fields (and
/// multi-fields such as `message.keyword`) whose full names match one of `patterns`, each as
/// `{"full_name": …, "mapping": {"<leaf name>": {…}}}`.
pub fn field_mapping(mapping: &Value, patterns: &[&str]) -> Value {
    fn walk(
        props: &Map<String, Value>,
        prefix: &str,
        patterns: &[&str],
        out: &mut Map<String, Value>,
    ) {
        for (name, def) in props {
            let full = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            if let Some(inner) = def.get("properties").and_then(Value::as_object) {
                walk(inner, &full, patterns, out);
                continue;
            }
            let mut found = |full: String, leaf: &str, def: &Value| {
                if patterns
                    .iter()
                    .any(|p| crate::request::path_match(p, &full))
                {
                    let mut mapping = Map::new();
                    mapping.insert(leaf.to_string(), def.clone());
                    out.insert(full.clone(), json!({"full_name": full, "mapping": mapping}));
                }
            };
            found(full.clone(), name, def);
            for (sub, subdef) in def
                .get("fields")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                found(format!("{full}.{sub}"), sub, subdef);
            }
        }
    }
    let mut out = Map::new();
    for (index, body) in mapping.as_object().into_iter().flatten() {
        let mut fields = Map::new();
        if let Some(props) = body["mappings"]
            .get("properties")
            .and_then(Value::as_object)
        {
            walk(props, "", patterns, &mut fields);
        }
        out.insert(index.clone(), json!({ "mappings": fields }));
    }
    Value::Object(out)
}

/// One capability entry: type, searchable, aggregatable, metadata.
type Cap = (String, bool, bool, bool);

fn caps_of(index: &IndexHandle) -> BTreeMap<String, Cap> {
    let mut out: BTreeMap<String, Cap> = BTreeMap::new();
    out.insert("_id".into(), ("_id".into(), true, false, true));
    out.insert("_index".into(), ("_index".into(), false, false, true));
    out.insert("_source".into(), ("_source".into(), false, false, true));
    for leaf in leaves(index) {
        let aggregatable = leaf.es_type != "text";
        out.insert(
            leaf.path.clone(),
            (leaf.es_type.clone(), true, aggregatable, false),
        );
        if leaf.keyword_sub {
            out.insert(
                format!("{}.keyword", leaf.path),
                ("keyword".into(), true, true, false),
            );
        }
        let mut prefix = String::new();
        for part in leaf
            .path
            .split('.')
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .skip(1)
            .rev()
        {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            out.entry(prefix.clone())
                .or_insert(("object".into(), false, false, false));
        }
    }
    out
}

/// One type of a field across indices: searchable, aggregatable, metadata, the indices.
type Merged = (bool, bool, bool, Vec<String>);

/// `GET /{target}/_field_caps?fields=…`.
pub fn field_caps(
    indices: &[Arc<IndexHandle>],
    patterns: &[String],
    include_unmapped: bool,
) -> Value {
    let names: Vec<String> = indices.iter().map(|i| i.name().to_string()).collect();
    let mut merged: BTreeMap<String, BTreeMap<String, Merged>> = BTreeMap::new();
    for index in indices {
        let caps = caps_of(index);
        // A matched field brings its parent objects along, as in Elasticsearch.
        let mut wanted: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for field in caps.keys() {
            if patterns.iter().any(|p| path_match(p, field)) {
                wanted.insert(field);
                let mut at = field.as_str();
                while let Some((parent, _)) = at.rsplit_once('.') {
                    if caps.contains_key(parent) {
                        wanted.insert(parent);
                    }
                    at = parent;
                }
            }
        }
        let wanted: std::collections::BTreeSet<String> =
            wanted.into_iter().map(str::to_string).collect();
        for (field, (ty, s, a, m)) in caps {
            if !wanted.contains(&field) {
                continue;
            }
            let e =
                merged
                    .entry(field)
                    .or_default()
                    .entry(ty)
                    .or_insert((true, true, m, Vec::new()));
            e.0 &= s;
            e.1 &= a;
            e.3.push(index.name().to_string());
        }
    }
    let mut fields = Map::new();
    for (field, types) in merged {
        let present: usize = types.values().map(|t| t.3.len()).sum();
        let several = types.len() > 1 || (include_unmapped && present < names.len());
        let mut entry = Map::new();
        for (ty, (s, a, m, on)) in &types {
            let mut cap =
                json!({"type": ty, "metadata_field": m, "searchable": s, "aggregatable": a});
            if several {
                cap["indices"] = json!(on);
            }
            entry.insert(ty.clone(), cap);
        }
        if include_unmapped && present < names.len() {
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| !types.values().any(|t| t.3.contains(n)))
                .collect();
            entry.insert(
                "unmapped".into(),
                json!({"type": "unmapped", "metadata_field": false, "searchable": false, "aggregatable": false, "indices": missing}),
            );
        }
        fields.insert(field, Value::Object(entry));
    }
    json!({"indices": names, "fields": fields})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_nest_and_objects_win_over_leaves() {
        let mut props = Map::new();
        insert(&mut props, "user.name", json!({"type": "text"}));
        insert(&mut props, "user", json!({"type": "long"}));
        insert(&mut props, "a.b.c", json!({"type": "long"}));
        assert_eq!(
            Value::Object(props),
            json!({
                "user": {"properties": {"name": {"type": "text"}}},
                "a": {"properties": {"b": {"properties": {"c": {"type": "long"}}}}}
            })
        );
    }
}
