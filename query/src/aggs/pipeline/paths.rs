//! `buckets_path`: where a pipeline aggregation reads its input in a rendered bucket —
//! `_count`, `_key`, `metric`, `stats.max`, `percentiles[99.0]` / `percentiles.99`,
//! `single_bucket>metric`, `multi_bucket['key']>metric`, `agg._bucket_count`.

use serde_json::{Map, Value};

/// The aggregation `name` of a rendered level (also under `typed_keys`' `type#name`).
pub fn find<'a>(level: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    level.get(name).or_else(|| {
        level
            .iter()
            .find(|(k, _)| k.split_once('#').is_some_and(|(_, n)| n == name))
            .map(|(_, v)| v)
    })
}

/// The key a `type#name` or plain `name` is stored under in `level`.
pub fn key_of(level: &Map<String, Value>, name: &str) -> Option<String> {
    if level.contains_key(name) {
        return Some(name.to_string());
    }
    level
        .keys()
        .find(|k| k.split_once('#').is_some_and(|(_, n)| n == name))
        .cloned()
}

/// The buckets of a rendered multi-bucket aggregation, in order (`buckets` as a list, or keyed).
pub fn buckets(agg: &Value) -> Vec<&Map<String, Value>> {
    match agg.get("buckets") {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(o)) => o.values().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// `name[key]` → (`name`, `Some(key)`), quotes removed.
fn bracket(segment: &str) -> (&str, Option<&str>) {
    match segment.split_once('[') {
        Some((name, rest)) => {
            let key = rest.trim_end_matches(']').trim_matches(['\'', '"']);
            (name, Some(key))
        }
        None => (segment, None),
    }
}

/// A value of a metric result: `value`, a named property (`max`, `std_deviation`), or a
/// percentile (`values` keyed or as a list).
fn metric_value(agg: &Value, prop: Option<&str>) -> Result<Option<f64>, String> {
    let Some(prop) = prop else {
        if let Some(v) = agg.get("value") {
            return Ok(number(Some(v)));
        }
        if let Some(n) = agg.get("doc_count") {
            return Ok(number(Some(n)));
        }
        return Err("it has several values: name one".into());
    };
    if prop == "_count" {
        return Ok(number(agg.get("doc_count")));
    }
    if prop == "_bucket_count" {
        return Ok(Some(buckets(agg).len() as f64));
    }
    if let Some(v) = agg.get(prop) {
        return Ok(number(Some(v)));
    }
    // `top_metrics`: a metric of the first document (ES resolves paths only with `size: 1`).
    if let Some(top) = agg.get("top").and_then(Value::as_array) {
        return match top.first() {
            None => Ok(None),
            Some(first) => match first.get("metrics").and_then(|m| m.get(prop)) {
                Some(v) => Ok(number(Some(v))),
                None => Err(format!("it has no metric [{prop}]")),
            },
        };
    }
    let wanted: Option<f64> = prop.parse().ok();
    let same = |k: &str| k == prop || (wanted.is_some() && k.parse::<f64>().ok() == wanted);
    match agg.get("values") {
        Some(Value::Object(values)) => {
            if let Some((_, v)) = values.iter().find(|(k, _)| same(k)) {
                return Ok(number(Some(v)));
            }
        }
        Some(Value::Array(values)) => {
            for v in values {
                let key = v.get("key").map(|k| match k {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
                if key.is_some_and(|k| same(&k)) {
                    return Ok(number(v.get("value")));
                }
            }
        }
        _ => {}
    }
    Err(format!("it has no value [{prop}]"))
}

/// Resolves `path` in `bucket`. `Ok(None)`: the path exists and holds no number (an empty
/// bucket's `avg`); `Err`: it names nothing.
pub fn resolve(bucket: &Map<String, Value>, path: &str) -> Result<Option<f64>, String> {
    match path {
        "_count" => return Ok(number(bucket.get("doc_count"))),
        "_key" => return Ok(number(bucket.get("key"))),
        _ => {}
    }
    let segments: Vec<&str> = path.split('>').collect();
    let mut level = bucket;
    for segment in &segments[..segments.len() - 1] {
        let (name, key) = bracket(segment);
        let agg =
            find(level, name).ok_or_else(|| format!("No aggregation found for path [{path}]"))?;
        level = match key {
            None => agg
                .as_object()
                .ok_or_else(|| format!("No aggregation found for path [{path}]"))?,
            Some(key) => buckets(agg)
                .into_iter()
                .find(|b| {
                    b.get("key_as_string").and_then(Value::as_str) == Some(key)
                        || match b.get("key") {
                            Some(Value::String(s)) => s == key,
                            Some(other) => {
                                other.as_f64().is_some_and(|k| key.parse::<f64>() == Ok(k))
                            }
                            None => false,
                        }
                })
                .ok_or_else(|| format!("No bucket with key [{key}] for path [{path}]"))?,
        };
    }
    let last = segments[segments.len() - 1];
    let (name, prop) = match bracket(last) {
        (name, Some(key)) => (name, Some(key)),
        (plain, None) => match plain.split_once('.') {
            Some((name, prop)) => (name, Some(prop)),
            None => (plain, None),
        },
    };
    match name {
        "_count" => return Ok(number(level.get("doc_count"))),
        "_key" => return Ok(number(level.get("key"))),
        _ => {}
    }
    let agg = find(level, name).ok_or_else(|| format!("No aggregation found for path [{path}]"))?;
    metric_value(agg, prop).map_err(|why| format!("path [{path}]: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_path_form_resolves() {
        let b = json!({
            "key": 1000, "doc_count": 7,
            "avg": {"value": 2.5},
            "empty": {"value": null},
            "st": {"count": 3, "min": 1.0, "max": 9.0, "avg": 4.0, "sum": 12.0},
            "p": {"values": {"50.0": 3.0, "99.0": 8.0}},
            "pl": {"values": [{"key": 95.0, "value": 7.0}]},
            "f": {"doc_count": 2, "m": {"value": 4.0}},
            "t": {"buckets": [{"key": "hat", "doc_count": 1, "s": {"value": 5.0}}]},
            "typed": {},
            "max#m2": {"value": 11.0}
        });
        let b = b.as_object().unwrap();
        let r = |p: &str| resolve(b, p);
        assert_eq!(r("_count"), Ok(Some(7.0)));
        assert_eq!(r("_key"), Ok(Some(1000.0)));
        assert_eq!(r("avg"), Ok(Some(2.5)));
        assert_eq!(r("empty"), Ok(None));
        assert_eq!(r("st.max"), Ok(Some(9.0)));
        assert_eq!(r("st[avg]"), Ok(Some(4.0)));
        assert_eq!(r("p[99.0]"), Ok(Some(8.0)));
        assert_eq!(r("p.50"), Ok(Some(3.0)));
        assert_eq!(r("pl[95.0]"), Ok(Some(7.0)));
        assert_eq!(r("f>m"), Ok(Some(4.0)));
        assert_eq!(r("f"), Ok(Some(2.0)));
        assert_eq!(r("f._count"), Ok(Some(2.0)));
        assert_eq!(r("t['hat']>s"), Ok(Some(5.0)));
        assert_eq!(r("t._bucket_count"), Ok(Some(1.0)));
        assert_eq!(r("m2"), Ok(Some(11.0)));
        assert!(r("nope").is_err());
        assert!(r("st").is_err());
    }
}
