//! `sort` in a search request: ES's string, object and array forms, and the URL's
//! `field:order` list.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::ast::GeoPoint;
use crate::error::QueryError;

/// What a sort key orders by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortTarget {
    /// Relevance.
    Score,
    /// Index order within a shard (`_doc`).
    Doc,
    /// Index order across the shards of a point in time (`_shard_doc`).
    ShardDoc,
    /// The name of the document's index (`_index`), constant within a shard.
    Index,
    /// A field's values (a fast field).
    Field(String),
    /// The distance of a `geo_point` field's points from a point (`_geo_distance`).
    GeoDistance(GeoSort),
}

/// `_geo_distance` sort: from where, in what unit, by which formula.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoSort {
    /// The `geo_point` field.
    pub field: String,
    /// The point distances are measured from.
    pub origin: GeoPoint,
    /// Metres per unit of the sort values (`unit`, metres by default).
    pub unit_m: f64,
    /// ES's flat-earth formula (`distance_type: plane`) instead of the arc.
    pub plane: bool,
    /// A shard without the field sorts every document as missing instead of failing.
    pub ignore_unmapped: bool,
}

/// Where documents without a value go, or the value they sort as.
#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    /// Before every value.
    First,
    /// After every value (ES's default).
    Last,
    /// As if they had this value.
    Value(Value),
}

/// Which of a document's values counts when it has several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortMode {
    /// The smallest (ES's default for ascending order).
    Min,
    /// The largest (ES's default for descending order).
    Max,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    /// What to sort by.
    pub target: SortTarget,
    /// Largest first.
    pub desc: bool,
    /// Documents without a value.
    pub missing: Missing,
    /// The type to assume where the field is not mapped (then every document is missing it).
    pub unmapped_type: Option<String>,
    /// Date format of the sort values in the response (date fields only).
    pub format: Option<String>,
    /// Which value of a multi-valued field counts.
    pub mode: SortMode,
}

impl SortSpec {
    /// A key with ES's default order for `target` (`_score` descending, others ascending).
    pub fn new(target: SortTarget) -> SortSpec {
        let desc = target == SortTarget::Score;
        SortSpec {
            target,
            desc,
            missing: Missing::Last,
            unmapped_type: None,
            format: None,
            mode: if desc { SortMode::Max } else { SortMode::Min },
        }
    }

    /// The field name of a field sort.
    pub fn field(&self) -> Option<&str> {
        match &self.target {
            SortTarget::Field(f) => Some(f),
            _ => None,
        }
    }
}

fn target(name: &str) -> SortTarget {
    match name {
        "_score" => SortTarget::Score,
        "_doc" => SortTarget::Doc,
        "_shard_doc" => SortTarget::ShardDoc,
        "_index" => SortTarget::Index,
        other => SortTarget::Field(other.to_string()),
    }
}

fn order(text: &str) -> Result<bool, QueryError> {
    match text.to_ascii_lowercase().as_str() {
        "desc" => Ok(true),
        "asc" => Ok(false),
        other => Err(QueryError::IllegalArgument(format!(
            "Unknown SortOrder [{other}], use [asc] or [desc]"
        ))),
    }
}

/// JSON that keeps the order of object keys (`serde_json::Map` sorts them, and the keys of a
/// `sort` object are sort keys in order: Grafana sends `{"time": …, "_doc": …}`).
#[derive(Debug, Clone)]
enum Ordered {
    Scalar(Value),
    Array(Vec<Ordered>),
    Object(Vec<(String, Value)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sort value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::String(v.to_string())))
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(Ordered::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses `sort` from its raw JSON text, keeping the order of the keys of sort objects.
pub fn parse_sort_raw(raw: &str) -> Result<Vec<SortSpec>, QueryError> {
    let ordered: Ordered = serde_json::from_str(raw)
        .map_err(|e| QueryError::XContentParse(format!("[sort] is not valid JSON: {e}")))?;
    let items = match ordered {
        Ordered::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Ordered::Scalar(Value::String(name)) => out.push(SortSpec::new(target(&name))),
            Ordered::Object(entries) => {
                for (name, spec) in entries {
                    out.push(parse_one(&name, &spec)?);
                }
            }
            other => {
                return Err(QueryError::Parsing(format!(
                    "[sort] expects a field name, an object or an array, got [{other:?}]"
                )));
            }
        }
    }
    Ok(out)
}

/// Parses a body's `sort`: a name, an object (one or more keys) or an array of these. The keys
/// of one object come in `serde_json`'s order; [`parse_sort_raw`] keeps the client's.
pub fn parse_sort(v: &Value) -> Result<Vec<SortSpec>, QueryError> {
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Value::String(name) => out.push(SortSpec::new(target(name))),
            Value::Object(o) => {
                for (name, spec) in o {
                    out.push(parse_one(name, spec)?);
                }
            }
            other => {
                return Err(QueryError::Parsing(format!(
                    "[sort] expects a field name, an object or an array, got [{other}]"
                )));
            }
        }
    }
    Ok(out)
}

fn parse_one(name: &str, spec: &Value) -> Result<SortSpec, QueryError> {
    if name == "_geo_distance" {
        return parse_geo(spec);
    }
    let mut s = SortSpec::new(target(name));
    match spec {
        Value::String(o) => set_order(&mut s, order(o)?),
        Value::Object(o) => parse_options(&mut s, name, o)?,
        other => {
            return Err(QueryError::Parsing(format!(
                "[sort] option of [{name}] must be a string or an object, got [{other}]"
            )));
        }
    }
    Ok(s)
}

/// `{"_geo_distance": {"<field>": point or [points], "order", "unit", "mode", "distance_type",
/// "ignore_unmapped"}}`: of several points, the first is the origin.
fn parse_geo(spec: &Value) -> Result<SortSpec, QueryError> {
    let o = spec
        .as_object()
        .ok_or_else(|| QueryError::Parsing("[_geo_distance] sort must be an object".to_string()))?;
    let (mut field, mut origin) = (None, None);
    let (mut unit_m, mut plane, mut ignore_unmapped, mut desc, mut mode) =
        (1.0, false, false, false, None);
    for (k, v) in o {
        match k.as_str() {
            "order" => desc = order(v.as_str().unwrap_or_default())?,
            "unit" => {
                let u = v.as_str().unwrap_or_default();
                unit_m = hydrant_index::geo::unit_m(u).ok_or_else(|| {
                    QueryError::IllegalArgument(format!("No distance unit match [{u}]"))
                })?;
            }
            "distance_type" => {
                plane = match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                    Some("arc") => false,
                    Some("plane") => true,
                    _ => {
                        return Err(QueryError::IllegalArgument(format!(
                            "No geo distance for [{v}]"
                        )));
                    }
                }
            }
            "mode" => {
                mode = Some(match v.as_str() {
                    Some("min") => SortMode::Min,
                    Some("max") => SortMode::Max,
                    _ => {
                        return Err(QueryError::Unsupported {
                            what: format!("sort mode [{v}] in [_geo_distance]"),
                        });
                    }
                })
            }
            "ignore_unmapped" => ignore_unmapped = v.as_bool().unwrap_or(false),
            "validation_method" | "nested" => {}
            name => {
                if field.is_some() {
                    return Err(QueryError::Parsing(format!(
                        "[_geo_distance] sort takes one field, found a second: [{name}]"
                    )));
                }
                let first = match v {
                    Value::Array(items) if items.first().is_some_and(|f| !f.is_number()) => {
                        &items[0]
                    }
                    other => other,
                };
                origin = Some(hydrant_index::geo::parse_point(first).map_err(|why| {
                    QueryError::Parsing(format!("[_geo_distance] failed to parse [{name}]: {why}"))
                })?);
                field = Some(name.to_string());
            }
        }
    }
    let (Some(field), Some(origin)) = (field, origin) else {
        return Err(QueryError::IllegalArgument(
            "No points provided for _geo_distance sort.".to_string(),
        ));
    };
    let mut s = SortSpec::new(SortTarget::GeoDistance(GeoSort {
        field,
        origin,
        unit_m,
        plane,
        ignore_unmapped,
    }));
    set_order(&mut s, desc);
    if let Some(m) = mode {
        s.mode = m;
    }
    Ok(s)
}

fn set_order(s: &mut SortSpec, desc: bool) {
    s.desc = desc;
    s.mode = if desc { SortMode::Max } else { SortMode::Min };
}

fn parse_options(s: &mut SortSpec, name: &str, o: &Map<String, Value>) -> Result<(), QueryError> {
    if let Some(v) = o.get("order") {
        let text = v.as_str().ok_or_else(|| {
            QueryError::Parsing(format!("[sort] order of [{name}] must be a string"))
        })?;
        set_order(s, order(text)?);
    }
    for (key, v) in o {
        match key.as_str() {
            "order" | "numeric_type" | "nested" => {}
            "missing" => {
                s.missing = match v {
                    Value::String(m) if m == "_last" => Missing::Last,
                    Value::String(m) if m == "_first" => Missing::First,
                    Value::Null => Missing::Last,
                    other => Missing::Value(other.clone()),
                }
            }
            "unmapped_type" => s.unmapped_type = v.as_str().map(str::to_string),
            "format" => s.format = v.as_str().map(str::to_string),
            "mode" => {
                s.mode = match v.as_str() {
                    Some("min") => SortMode::Min,
                    Some("max") => SortMode::Max,
                    Some(other) => {
                        return Err(QueryError::Unsupported {
                            what: format!("sort mode [{other}]"),
                        });
                    }
                    None => {
                        return Err(QueryError::Parsing(
                            "[sort] mode must be a string".to_string(),
                        ));
                    }
                }
            }
            "script" => {
                return Err(QueryError::Unsupported {
                    what: format!("[{key}] in sort"),
                });
            }
            other => {
                return Err(QueryError::Parsing(format!(
                    "[field_sort] unknown field [{other}]"
                )));
            }
        }
    }
    Ok(())
}

/// Parses the URL's `sort=field:order,field2` list.
pub fn parse_sort_param(text: &str) -> Result<Vec<SortSpec>, QueryError> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (name, ord) = match s.rsplit_once(':') {
                Some((n, o)) => (n, Some(o)),
                None => (s, None),
            };
            let mut spec = SortSpec::new(target(name));
            if let Some(o) = ord {
                set_order(&mut spec, order(o)?);
            }
            Ok(spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn grafana_object_with_two_keys_keeps_their_order() {
        let s = parse_sort_raw(
            r#"{"testtime": {"order": "desc", "unmapped_type": "boolean"}, "_doc": {"order": "desc"}}"#,
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].target, SortTarget::Field("testtime".into()));
        assert!(s[0].desc);
        assert_eq!(s[0].unmapped_type.as_deref(), Some("boolean"));
        assert_eq!(s[1].target, SortTarget::Doc);
    }

    #[test]
    fn defaults_follow_elasticsearch() {
        let s = parse_sort(&json!(["_score", "status", {"bytes": "desc"}])).unwrap();
        assert!(s[0].desc);
        assert!(!s[1].desc);
        assert!(s[2].desc);
        assert_eq!(s[2].mode, SortMode::Max);
        assert_eq!(s[1].missing, Missing::Last);
    }

    #[test]
    fn url_sort_and_bad_order() {
        let s = parse_sort_param("@timestamp:desc,_id").unwrap();
        assert!(s[0].desc);
        assert_eq!(s[1].target, SortTarget::Field("_id".into()));
        let err = parse_sort(&json!({"a": "sideways"})).unwrap_err();
        assert_eq!(err.es_type(), "illegal_argument_exception");
    }

    #[test]
    fn missing_first_and_custom_value() {
        let s = parse_sort(&json!([
            {"a": {"missing": "_first"}},
            {"b": {"missing": 0}}
        ]))
        .unwrap();
        assert_eq!(s[0].missing, Missing::First);
        assert_eq!(s[1].missing, Missing::Value(json!(0)));
    }
}
