//! Index settings as Elasticsearch takes them (`{"number_of_shards": 1}`,
//! `{"index": {"refresh_interval": "5s"}}`, `{"index.default_pipeline": "x"}`) and returns them
//! (flat `index.*` keys, string values), and the few Hydrant applies.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::IndexError;

/// Largest shard count an index may be created with.
const MAX_SHARDS: u64 = 1024;

fn illegal(reason: String) -> IndexError {
    IndexError::InvalidDefinition {
        es_type: "illegal_argument_exception",
        reason,
    }
}

/// Flattens nested settings to dotted keys with string values (`{"a": {"b": 1}}` →
/// `{"a.b": "1"}`), as Elasticsearch stores them.
pub fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => {
            out.insert(prefix.to_string(), Value::Null);
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), Value::String(s.clone()));
        }
        Value::Array(a) => {
            let items = a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Value::String(s.clone()),
                    other => Value::String(other.to_string()),
                })
                .collect();
            out.insert(prefix.to_string(), Value::Array(items));
        }
        other => {
            out.insert(prefix.to_string(), Value::String(other.to_string()));
        }
    }
}

/// Elasticsearch's time values: `-1`, or a number with a unit (`d h m s ms micros nanos`).
pub fn parse_time_value(s: &str) -> Option<Option<Duration>> {
    let s = s.trim();
    if s == "-1" {
        return Some(None);
    }
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let d = match unit {
        "d" => Duration::from_secs(n.checked_mul(86_400)?),
        "h" => Duration::from_secs(n.checked_mul(3_600)?),
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "micros" => Duration::from_micros(n),
        "nanos" => Duration::from_nanos(n),
        _ => return None,
    };
    Some(Some(d))
}

/// Flattens `settings` to `index.*` keys with string values, checking the ones Hydrant applies.
/// A `null` value stays (it resets the setting in `PUT _settings`).
pub fn normalize_settings(settings: &Value) -> Result<Map<String, Value>, IndexError> {
    if !settings.is_object() {
        return Err(IndexError::InvalidDefinition {
            es_type: "parse_exception",
            reason: format!("[settings] must be an object, got [{settings}]"),
        });
    }
    let mut flat = Map::new();
    flatten("", settings, &mut flat);
    let mut out = Map::new();
    for (key, value) in flat {
        let key = if key.starts_with("index.") {
            key
        } else {
            format!("index.{key}")
        };
        let text = value.as_str().unwrap_or_default();
        match key.as_str() {
            "index.number_of_shards" if !value.is_null() => {
                let n: u64 = text.parse().map_err(|_| {
                    illegal(format!(
                        "Failed to parse value [{text}] for setting [index.number_of_shards]"
                    ))
                })?;
                if n == 0 || n > MAX_SHARDS {
                    return Err(illegal(format!(
                        "Failed to parse value [{n}] for setting [index.number_of_shards] must be >= 1 and <= {MAX_SHARDS}"
                    )));
                }
            }
            "index.refresh_interval" if !value.is_null() && parse_time_value(text).is_none() => {
                return Err(illegal(format!(
                    "failed to parse setting [index.refresh_interval] with value [{text}] as a time value: unit is missing or unrecognized"
                )));
            }
            _ => {}
        }
        out.insert(key, value);
    }
    Ok(out)
}

/// Nests flat `index.*` settings the way `GET _settings` shows them.
pub fn nest_settings(flat: &Map<String, Value>) -> Value {
    let mut root = Map::new();
    for (key, value) in flat {
        let mut parts = key.split('.').peekable();
        let mut current = &mut root;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                current.insert(part.to_string(), value.clone());
                break;
            }
            let entry = current
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(next) = entry else { break };
            current = next;
        }
    }
    Value::Object(root)
}

/// The settings Hydrant applies to a new index and its stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexSettingsView {
    /// `index.number_of_shards`.
    pub shards: Option<usize>,
    /// `index.default_pipeline` (`_none`: none).
    pub default_pipeline: Option<String>,
    /// `index.final_pipeline`.
    pub final_pipeline: Option<String>,
    /// `index.refresh_interval` (`-1` reads as not set: Hydrant always refreshes).
    pub refresh_interval: Option<Duration>,
}

impl IndexSettingsView {
    /// Reads normalized settings.
    pub fn read(flat: &Map<String, Value>) -> IndexSettingsView {
        let text = |k: &str| flat.get(k).and_then(Value::as_str);
        IndexSettingsView {
            shards: text("index.number_of_shards").and_then(|s| s.parse().ok()),
            default_pipeline: text("index.default_pipeline").map(str::to_string),
            final_pipeline: text("index.final_pipeline").map(str::to_string),
            refresh_interval: text("index.refresh_interval")
                .and_then(|s| parse_time_value(s).flatten()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_spelling_reads_the_same() {
        let a = normalize_settings(&json!({"number_of_shards": 2, "index": {"refresh_interval": "5s"}, "index.default_pipeline": "p"})).unwrap();
        assert_eq!(a["index.number_of_shards"], "2");
        let v = IndexSettingsView::read(&a);
        assert_eq!(v.shards, Some(2));
        assert_eq!(v.refresh_interval, Some(Duration::from_secs(5)));
        assert_eq!(v.default_pipeline.as_deref(), Some("p"));
        assert_eq!(nest_settings(&a)["index"]["number_of_shards"], "2");
    }

    #[test]
    fn bad_values_are_refused_with_the_setting_named() {
        let e = normalize_settings(&json!({"number_of_shards": 0})).unwrap_err();
        assert!(e.to_string().contains("index.number_of_shards"), "{e}");
        let e = normalize_settings(&json!({"refresh_interval": "soon"})).unwrap_err();
        assert!(e.to_string().contains("index.refresh_interval"), "{e}");
        assert_eq!(parse_time_value("-1"), Some(None));
        assert_eq!(
            parse_time_value("250ms"),
            Some(Some(Duration::from_millis(250)))
        );
    }
}
