//! Running pipeline aggregations over a rendered aggregation tree, deepest levels first.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::expr::{Val, eval};
use super::parse::{Gap, Kind, Paths, Pipeline};
use super::paths;
use crate::aggs::render::number_json;
use crate::aggs::{AggKind, AggNode};
use crate::error::QueryError;

fn path_error(why: String) -> QueryError {
    QueryError::IllegalArgument(why)
}

/// The pipelines among `nodes` that are parents (or siblings), each after those it reads.
fn ordered(nodes: &[AggNode], parents: bool) -> Vec<(&str, &Pipeline)> {
    let mut todo: Vec<(&str, &Pipeline)> = nodes
        .iter()
        .filter_map(|n| match &n.kind {
            AggKind::Pipeline(p) if p.is_parent() == parents => Some((n.name.as_str(), p)),
            _ => None,
        })
        .collect();
    let mut out: Vec<(&str, &Pipeline)> = Vec::new();
    while !todo.is_empty() {
        let ready = todo.iter().position(|(_, p)| {
            p.inputs()
                .iter()
                .all(|i| !todo.iter().any(|(name, _)| name == i))
        });
        // A cycle: take them in request order (their paths fail to resolve, with the name).
        let at = ready.unwrap_or(0);
        out.push(todo.remove(at));
    }
    out
}

fn out_key(name: &str, p: &Pipeline, typed: bool) -> String {
    if typed {
        format!("{}#{name}", p.typed_name())
    } else {
        name.to_string()
    }
}

/// The value at `path` in `bucket` under `gap`: NaN for a gap that is skipped; `None` when the
/// path leads nowhere in this bucket (a derivative's first bucket, a bucket without the key),
/// which Elasticsearch treats as no value rather than as an error.
fn value(bucket: &Map<String, Value>, path: &str, gap: Gap) -> Result<Option<f64>, QueryError> {
    let v = match paths::resolve(bucket, path) {
        Ok(v) => v,
        Err(why) if why.contains("several values") => {
            return Err(path_error(format!(
                "buckets_path must reference either a number value or a single value numeric metric aggregation, but [{path}] contains multiple values. Please specify which to use."
            )));
        }
        Err(_) => return Ok(None),
    };
    let empty = path != "_count" && bucket.get("doc_count").and_then(Value::as_u64) == Some(0);
    Ok(Some(match v {
        Some(x) if x.is_finite() && !empty => x,
        _ => match gap {
            Gap::InsertZeros => 0.0,
            Gap::KeepValues => v.filter(|x| x.is_finite()).unwrap_or(f64::NAN),
            Gap::Skip => f64::NAN,
        },
    }))
}

fn single_path(p: &Pipeline) -> Result<&str, QueryError> {
    match &p.paths {
        Paths::One(s) => Ok(s),
        Paths::Named(_) => Err(QueryError::IllegalArgument(format!(
            "[{}] takes one buckets_path",
            p.type_name
        ))),
    }
}

fn buckets_mut(agg: &mut Value) -> Vec<&mut Map<String, Value>> {
    match agg.get_mut("buckets") {
        Some(Value::Array(a)) => a.iter_mut().filter_map(Value::as_object_mut).collect(),
        Some(Value::Object(o)) => o.values_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    }
}

/// Applies the pipelines of a rendered level (`nodes` were rendered into `level`).
pub(crate) fn apply(
    nodes: &[AggNode],
    level: &mut Map<String, Value>,
    typed: bool,
) -> Result<(), QueryError> {
    for n in nodes {
        if n.subs.is_empty() || matches!(n.kind, AggKind::Pipeline(_)) {
            continue;
        }
        let Some(key) = paths::key_of(level, &n.name) else {
            continue;
        };
        let Some(agg) = level.get_mut(&key) else {
            continue;
        };
        if matches!(n.kind, AggKind::Filter(_) | AggKind::Missing(..)) {
            if let Value::Object(o) = agg {
                apply(&n.subs, o, typed)?;
            }
            continue;
        }
        for bucket in buckets_mut(agg) {
            apply(&n.subs, bucket, typed)?;
        }
        for (name, p) in ordered(&n.subs, true) {
            parent(name, p, agg, typed)?;
        }
    }
    for (name, p) in ordered(nodes, false) {
        let out = sibling(p, level)?;
        level.insert(out_key(name, p, typed), out);
    }
    Ok(())
}

/// A parent pipeline over the buckets of `agg`.
fn parent(name: &str, p: &Pipeline, agg: &mut Value, typed: bool) -> Result<(), QueryError> {
    let key = out_key(name, p, typed);
    match &p.kind {
        Kind::BucketSelector(e) => return select(p, e, agg),
        Kind::BucketSort { sort, from, size } => {
            return sort_buckets(sort, *from, *size, p.gap, agg);
        }
        _ => {}
    }
    let mut buckets = buckets_mut(agg);
    match &p.kind {
        Kind::Derivative { unit_ms } => {
            let path = single_path(p)?;
            let mut last: (Option<f64>, f64) = (None, f64::NAN);
            for b in buckets.iter_mut() {
                let this = value(b, path, p.gap)?;
                let bucket_key = b.get("key").and_then(Value::as_f64).unwrap_or(f64::NAN);
                if let (Some(last_value), Some(this_value)) = (last.0, this) {
                    let d = this_value - last_value;
                    let mut out = json!({ "value": number_json(d) });
                    if let Some(unit) = unit_ms {
                        let units = (bucket_key - last.1) / unit;
                        if units > 0.0 {
                            out["normalized_value"] = number_json(d / units);
                        }
                    }
                    b.insert(key.clone(), out);
                }
                last = (this, bucket_key);
            }
        }
        Kind::CumulativeSum => {
            let path = single_path(p)?;
            let mut sum = 0.0;
            for b in buckets.iter_mut() {
                if let Some(v) = value(b, path, Gap::InsertZeros)?.filter(|v| v.is_finite()) {
                    sum += v;
                }
                b.insert(key.clone(), json!({ "value": number_json(sum) }));
            }
        }
        Kind::MovingFn {
            window,
            shift,
            func,
        } => {
            let path = single_path(p)?;
            let resolved: Vec<Option<f64>> = buckets
                .iter()
                .map(|b| Ok(value(b, path, p.gap)?.filter(|v| !v.is_nan())))
                .collect::<Result<_, QueryError>>()?;
            // The window runs over the buckets that have a value; gaps get nothing.
            let values: Vec<f64> = resolved.iter().flatten().copied().collect();
            let mut index = 0i64;
            for (b, v) in buckets.iter_mut().zip(&resolved) {
                if v.is_none() {
                    continue;
                }
                let len = values.len() as i64;
                let to = (index + shift).clamp(0, len) as usize;
                let from = (index - *window as i64 + shift).clamp(0, to as i64) as usize;
                let x = func.compute(&values[from..to]);
                b.insert(key.clone(), json!({ "value": number_json(x) }));
                index += 1;
            }
        }
        Kind::MovingAvg { window, func } => {
            let path = single_path(p)?;
            let mut previous: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
            for b in buckets.iter_mut() {
                let Some(v) = value(b, path, p.gap)?.filter(|v| !v.is_nan()) else {
                    continue;
                };
                if !previous.is_empty() {
                    let window_values: Vec<f64> = previous.iter().copied().collect();
                    b.insert(
                        key.clone(),
                        json!({ "value": number_json(func.compute(&window_values)) }),
                    );
                }
                previous.push_back(v);
                if previous.len() > *window {
                    previous.pop_front();
                }
            }
        }
        Kind::SerialDiff { lag } => {
            let path = single_path(p)?;
            let values: Vec<f64> = buckets
                .iter()
                .map(|b| Ok(value(b, path, p.gap)?.unwrap_or(f64::NAN)))
                .collect::<Result<_, QueryError>>()?;
            for (i, b) in buckets.iter_mut().enumerate() {
                if i < *lag {
                    continue;
                }
                let (this, then) = (values[i], values[i - lag]);
                if this.is_nan() || then.is_nan() {
                    continue;
                }
                b.insert(key.clone(), json!({ "value": number_json(this - then) }));
            }
        }
        Kind::BucketScript(e) => {
            for b in buckets.iter_mut() {
                let Some(vars) = variables(p, b, true)? else {
                    continue;
                };
                let result = eval(e, &vars).map_err(QueryError::IllegalArgument)?;
                if let Val::Num(x) = result {
                    b.insert(key.clone(), json!({ "value": number_json(x) }));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The paths' values in `bucket` as script variables (one path is `_value`). With
/// `skip_gaps`, a skipped gap (or a path leading nowhere) skips the bucket: `None`.
fn variables(
    p: &Pipeline,
    bucket: &Map<String, Value>,
    skip_gaps: bool,
) -> Result<Option<HashMap<String, Val>>, QueryError> {
    let named: Vec<(String, String)> = match &p.paths {
        Paths::One(path) => vec![("_value".to_string(), path.clone())],
        Paths::Named(v) => v.clone(),
    };
    let mut vars = HashMap::new();
    for (var, path) in named {
        let v = value(bucket, &path, p.gap)?;
        if skip_gaps && p.gap == Gap::Skip && v.is_none_or(f64::is_nan) {
            return Ok(None);
        }
        vars.insert(var, v.map_or(Val::Null, Val::Num));
    }
    Ok(Some(vars))
}

fn select(p: &Pipeline, e: &super::expr::Expr, agg: &mut Value) -> Result<(), QueryError> {
    let keep = |b: &Map<String, Value>| -> Result<bool, QueryError> {
        Ok(match variables(p, b, false)? {
            None => true,
            Some(vars) => eval(e, &vars)
                .map_err(QueryError::IllegalArgument)?
                .truthy(),
        })
    };
    match agg.get_mut("buckets") {
        Some(Value::Array(a)) => {
            let mut kept = Vec::with_capacity(a.len());
            for b in a.drain(..) {
                if b.as_object().map(keep).transpose()? != Some(false) {
                    kept.push(b);
                }
            }
            *a = kept;
        }
        Some(Value::Object(o)) => {
            let mut dropped = Vec::new();
            for (k, b) in o.iter() {
                if b.as_object().map(keep).transpose()? == Some(false) {
                    dropped.push(k.clone());
                }
            }
            for k in dropped {
                o.remove(&k);
            }
        }
        _ => {}
    }
    Ok(())
}

/// A value buckets sort by: a number, or a key that is text.
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Num(f64),
    Text(String),
}

fn compare(x: &SortValue, y: &SortValue) -> std::cmp::Ordering {
    match (x, y) {
        (SortValue::Num(a), SortValue::Num(b)) => a.total_cmp(b),
        (SortValue::Text(a), SortValue::Text(b)) => a.cmp(b),
        (SortValue::Num(_), SortValue::Text(_)) => std::cmp::Ordering::Less,
        (SortValue::Text(_), SortValue::Num(_)) => std::cmp::Ordering::Greater,
    }
}

fn sort_buckets(
    sort: &[(String, bool)],
    from: usize,
    size: Option<usize>,
    gap: Gap,
    agg: &mut Value,
) -> Result<(), QueryError> {
    let Some(Value::Array(a)) = agg.get_mut("buckets") else {
        return Ok(());
    };
    if !sort.is_empty() {
        let mut keyed: Vec<(Vec<Option<SortValue>>, Value)> = Vec::with_capacity(a.len());
        for b in a.drain(..) {
            let Some(o) = b.as_object() else { continue };
            let mut keys = Vec::new();
            for (path, _) in sort {
                let v = if path == "_key" {
                    match o.get("key") {
                        Some(Value::String(s)) => Some(SortValue::Text(s.clone())),
                        Some(k) => k.as_f64().map(SortValue::Num),
                        None => None,
                    }
                } else {
                    // A skipped gap has no value to sort by.
                    value(o, path, gap)?
                        .filter(|v| !v.is_nan())
                        .map(SortValue::Num)
                };
                keys.push(v);
            }
            // A bucket with nothing to sort by is left out, as Elasticsearch leaves it out.
            if keys.iter().any(Option::is_some) {
                keyed.push((keys, b));
            }
        }
        keyed.sort_by(|(x, _), (y, _)| {
            for (i, (_, desc)) in sort.iter().enumerate() {
                let ord = match (&x[i], &y[i]) {
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (Some(a), Some(b)) if *desc => compare(b, a),
                    (Some(a), Some(b)) => compare(a, b),
                };
                if ord.is_ne() {
                    return ord;
                }
            }
            std::cmp::Ordering::Equal
        });
        *a = keyed.into_iter().map(|(_, b)| b).collect();
    }
    let kept: Vec<Value> = a
        .drain(..)
        .skip(from)
        .take(size.unwrap_or(usize::MAX))
        .collect();
    *a = kept;
    Ok(())
}

/// A bucket's key as sibling `keys` show it.
fn key_text(b: &Map<String, Value>) -> String {
    match b.get("key_as_string").or_else(|| b.get("key")) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A sibling pipeline's result from the buckets of the aggregation its path starts with.
fn sibling(p: &Pipeline, level: &Map<String, Value>) -> Result<Value, QueryError> {
    let path = single_path(p)?;
    // `agg>metric`, `agg.metric` (`agg._count`), or the aggregation alone (its buckets' counts).
    let (agg_name, rest) = match path.find(['>', '.']) {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (path, "_count"),
    };
    let agg = paths::find(level, agg_name)
        .ok_or_else(|| path_error(format!("No aggregation found for path [{path}]")))?;
    let mut values: Vec<(f64, String)> = Vec::new();
    for b in paths::buckets(agg) {
        if let Some(v) = value(b, rest, p.gap)?.filter(|v| !v.is_nan()) {
            values.push((v, key_text(b)));
        }
    }
    let xs: Vec<f64> = values.iter().map(|(v, _)| *v).collect();
    let count = xs.len() as f64;
    let sum: f64 = xs.iter().sum();
    let avg = if xs.is_empty() { f64::NAN } else { sum / count };
    let min = xs.iter().copied().reduce(f64::min);
    let max = xs.iter().copied().reduce(f64::max);
    let extreme = |x: Option<f64>| {
        let keys: Vec<&String> = values
            .iter()
            .filter(|(v, _)| Some(*v) == x)
            .map(|(_, k)| k)
            .collect();
        json!({ "value": x.map_or(Value::Null, number_json), "keys": keys })
    };
    Ok(match &p.kind {
        Kind::AvgBucket => json!({ "value": number_json(avg) }),
        Kind::SumBucket => json!({ "value": number_json(sum) }),
        Kind::MinBucket => extreme(min),
        Kind::MaxBucket => extreme(max),
        Kind::StatsBucket => json!({
            "count": xs.len(), "min": min.map_or(Value::Null, number_json),
            "max": max.map_or(Value::Null, number_json), "avg": number_json(avg), "sum": number_json(sum),
        }),
        Kind::ExtendedStatsBucket { sigma } => {
            let squares: f64 = xs.iter().map(|x| x * x).sum();
            let (var_pop, var_sample) = if xs.is_empty() {
                (f64::NAN, f64::NAN)
            } else {
                let pop = ((squares - sum * sum / count) / count).max(0.0);
                let sample = ((squares - sum * sum / count) / (count - 1.0)).max(0.0);
                (pop, if count > 1.0 { sample } else { f64::NAN })
            };
            let (sd_pop, sd_sample) = (var_pop.sqrt(), var_sample.sqrt());
            let n = |x: f64| number_json(x);
            json!({
                "count": xs.len(), "min": min.map_or(Value::Null, number_json),
                "max": max.map_or(Value::Null, number_json), "avg": n(avg), "sum": n(sum),
                "sum_of_squares": if xs.is_empty() { Value::Null } else { n(squares) },
                "variance": n(var_pop), "variance_population": n(var_pop),
                "variance_sampling": n(var_sample),
                "std_deviation": n(sd_pop), "std_deviation_population": n(sd_pop),
                "std_deviation_sampling": n(sd_sample),
                "std_deviation_bounds": {
                    "upper": n(avg + sigma * sd_pop), "lower": n(avg - sigma * sd_pop),
                    "upper_population": n(avg + sigma * sd_pop), "lower_population": n(avg - sigma * sd_pop),
                    "upper_sampling": n(avg + sigma * sd_sample), "lower_sampling": n(avg - sigma * sd_sample),
                },
            })
        }
        Kind::PercentilesBucket { percents, keyed } => {
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            let at = |pct: f64| -> Value {
                if sorted.is_empty() {
                    return Value::Null;
                }
                let i = ((pct / 100.0) * (sorted.len() - 1) as f64).round() as usize;
                number_json(sorted[i.min(sorted.len() - 1)])
            };
            if *keyed {
                let values: Map<String, Value> = percents
                    .iter()
                    .map(|pct| (format!("{pct:?}"), at(*pct)))
                    .collect();
                json!({ "values": values })
            } else {
                let values: Vec<Value> = percents
                    .iter()
                    .map(|pct| json!({"key": pct, "value": at(*pct)}))
                    .collect();
                json!({ "values": values })
            }
        }
        _ => Value::Null,
    })
}
