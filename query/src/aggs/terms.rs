//! `terms`: one bucket per distinct value, ordered by count, key or a sub-aggregation's metric,
//! with ES's `doc_count_error_upper_bound` and `sum_other_doc_count`.

use serde_json::{Map, Value, json};
use tantivy::aggregation::Key;
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{AggregationResult, AggregationResults, BucketResult};
use tantivy::aggregation::bucket::{
    CustomOrder, IncludeExcludeParam, Order, OrderTarget, TermsAggregation,
};

use super::AggNode;
use super::args::{Args, number};
use super::date_histogram::MAX_BUCKETS;
use super::fields::FieldKind;
use super::filters::{Filters, keyed};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, key_json};
use crate::ast::QueryAst;
use crate::error::QueryError;

/// Distinct values per segment up to which a `terms` aggregation counts every value of every
/// segment (see [`Terms::plan`]).
pub(super) const EXACT_UP_TO: u64 = 2_000;

/// Whether tantivy's `terms` request `t` is one Hydrant's own passes can count: no `missing`,
/// `include`/`exclude` or order by a sub-aggregation, on a physical column.
pub(super) fn plain_terms(t: &tantivy::aggregation::bucket::TermsAggregation) -> bool {
    let by_sub = t.order.as_ref().is_some_and(|o| {
        matches!(
            o.target,
            tantivy::aggregation::bucket::OrderTarget::SubAggregation(_)
        )
    });
    !by_sub
        && t.missing.is_none()
        && t.include.is_none()
        && t.exclude.is_none()
        && !super::sources::is_computed(&t.field)
}

/// A parsed `terms` aggregation.
#[derive(Debug, Clone)]
pub struct Terms {
    /// The field.
    pub field: String,
    size: u32,
    shard_size: Option<u32>,
    min_doc_count: u64,
    order: Option<(String, bool)>,
    missing: Option<Value>,
    include: Option<Value>,
    exclude: Option<Value>,
    format: Option<String>,
    /// Ordered by a percentile of a sub-aggregation, which tantivy cannot order by: the buckets
    /// are fetched by count (a `shard_size`'s worth) and ordered when rendered.
    order_in_render: bool,
    /// Ordered by a sub-aggregation's value: a few more buckets are fetched, so that ties at
    /// the cut are broken by key, ascending, as Elasticsearch breaks them (tantivy keeps either).
    resort: bool,
    /// `terms` on `_index`, which is the shard's and not a column: one filter bucket per index of
    /// the request (a `term` on `_index` matches all of a shard or none of it), ordered and cut
    /// when rendered. Set by [`bind_index_names`].
    index_cells: Option<Filters>,
}

/// Gives every `terms` aggregation on `_index` in `nodes` the indices the request searches.
pub fn bind_index_names(nodes: &mut [AggNode], names: &[String]) {
    for n in nodes {
        if let super::AggKind::Terms(t) = &mut n.kind
            && t.field == "_index"
        {
            let cells = names
                .iter()
                .map(|name| {
                    let q = QueryAst::Term {
                        field: "_index".to_string(),
                        value: name.clone(),
                    };
                    (name.clone(), q)
                })
                .collect();
            t.index_cells = Some(Filters::named(cells));
        }
        bind_index_names(&mut n.subs, names);
    }
}

impl Terms {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Terms, QueryError> {
        let a = Args::new("terms", v)?;
        a.allow(&[
            "field",
            "size",
            "shard_size",
            "min_doc_count",
            "shard_min_doc_count",
            "order",
            "missing",
            "include",
            "exclude",
            "show_term_doc_count_error",
            "execution_hint",
            "collect_mode",
            "value_type",
            "format",
        ])?;
        let size = a.u64("size")?.unwrap_or(10);
        if size == 0 {
            return Err(QueryError::XContentParse(
                "[terms] failed to parse field [size]: [size] must be greater than 0. Found [0] in [terms]".to_string(),
            ));
        }
        let shard_size = a.u64("shard_size")?;
        for (key, n) in [("size", Some(size)), ("shard_size", shard_size)] {
            if let Some(n) = n.filter(|n| *n > i32::MAX as u64) {
                return Err(QueryError::XContentParse(format!(
                    "[terms] failed to parse field [{key}]: Numeric value ({n}) out of range of int"
                )));
            }
        }
        // More buckets than the bucket limit can never be answered, so asking for more is asking
        // for all: capped there, which also keeps tantivy's `size × 10` per segment in range.
        let clamp = |n: u64| n.min(MAX_BUCKETS + 1) as u32;
        Ok(Terms {
            field: a.field()?,
            size: clamp(size),
            shard_size: shard_size.map(clamp),
            min_doc_count: a.u64("min_doc_count")?.unwrap_or(1),
            order: a.get("order").map(parse_order).transpose()?,
            missing: a.get("missing").cloned(),
            include: a.get("include").cloned(),
            exclude: a.get("exclude").cloned(),
            order_in_render: false,
            resort: false,
            index_cells: None,
            format: a.str("format")?,
        })
    }

    /// Notes an order tantivy cannot order by: a path through a single-bucket aggregation
    /// (`slow>lat`), a filter's document count, or a metric tantivy does not compute itself
    /// (a percentile, `weighted_avg`, …).
    pub(crate) fn check_order(&mut self, subs: &[AggNode]) {
        use super::AggKind;
        let Some((target, _)) = &self.order else {
            return;
        };
        let name = target.split(['[', '.', '>']).next().unwrap_or(target);
        let tantivy_orders =
            |k: &AggKind| matches!(k, AggKind::Metric(_) | AggKind::Cardinality(_));
        let multi_bucket =
            |k: &AggKind| k.is_bucket() && !matches!(k, AggKind::Filter(_) | AggKind::Missing(..));
        self.order_in_render = subs.iter().any(|s| {
            s.name == name
                && !multi_bucket(&s.kind)
                && (target.contains('>') || !tantivy_orders(&s.kind))
        });
        self.resort = !matches!(target.as_str(), "_count" | "_key" | "_term");
    }

    /// The tantivy aggregations of this one, under `name` (several for `_index`).
    pub(crate) fn plan_all(
        &self,
        p: &mut Planner<'_>,
        name: String,
        subs: Aggregations,
    ) -> Result<Vec<(String, Aggregation)>, QueryError> {
        match &self.index_cells {
            Some(cells) => {
                if self.include.is_some() || self.exclude.is_some() {
                    return Err(QueryError::Unsupported {
                        what: "[include]/[exclude] in [terms] on [_index]".to_string(),
                    });
                }
                cells.plan(p, &name, subs)
            }
            None => Ok(vec![(name, self.plan(p, subs)?)]),
        }
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let field = p.column(&self.field, Want::Any, "terms")?;
        let order = self.order.as_ref().map(|(target, desc)| CustomOrder {
            target: match target.as_str() {
                "_count" => OrderTarget::Count,
                "_key" | "_term" => OrderTarget::Key,
                // ES's `agg[property]` (`"1[50.0]"`, as Grafana orders by a percentile) is
                // tantivy's `agg.property`.
                other => OrderTarget::SubAggregation(match other.split_once('[') {
                    Some((name, rest)) => {
                        let key = rest.trim_end_matches(']').trim_matches(['\'', '"']);
                        format!("{name}.{key}")
                    }
                    None => other.to_string(),
                }),
            },
            order: if *desc { Order::Desc } else { Order::Asc },
        });
        let missing = self.missing.as_ref().map(|m| match m {
            Value::Number(_) => number(m).map_or(Key::Str(m.to_string()), Key::F64),
            Value::String(s) => Key::Str(s.clone()),
            other => Key::Str(other.to_string()),
        });
        let (order, size) = if self.order_in_render {
            let fetched = self
                .shard_size
                .unwrap_or(self.size.saturating_mul(10))
                .max(self.size);
            (None, fetched.min(MAX_BUCKETS as u32))
        } else if self.resort {
            let fetched = self.size.saturating_add(self.size / 2 + 10);
            (order, fetched.min(MAX_BUCKETS as u32))
        } else {
            (order, self.size)
        };
        // Each segment's counts are cut to its `segment_size` best before they merge, so with
        // many segments (a live index, rotated indices) the buckets and counts drift from the
        // exact ones Elasticsearch gets from a shard's global ordinals. When no segment holds
        // more than EXACT_UP_TO distinct values, every segment keeps all of them: exact counts,
        // `doc_count_error_upper_bound` 0, at a bounded cost per segment.
        let default_cut = self.shard_size.unwrap_or(size.saturating_mul(10)).max(size);
        let segment_size = match p.distinct_at_most(&field, EXACT_UP_TO) {
            Some(n) if n > u64::from(default_cut) => Some(n as u32),
            _ => self.shard_size,
        };
        let req = TermsAggregation {
            field,
            size: Some(size),
            segment_size,
            show_term_doc_count_error: Some(true),
            min_doc_count: Some(self.min_doc_count),
            order,
            missing,
            include: self.include.as_ref().map(include_exclude).transpose()?,
            exclude: self.exclude.as_ref().map(include_exclude).transpose()?,
        };
        Ok(node(AggregationVariants::Terms(req), subs))
    }

    /// Renders the buckets of `terms` on `_index` (`None`: not on `_index`).
    pub(crate) fn render_index(
        &self,
        n: &AggNode,
        results: &mut AggregationResults,
        r: &Renderer<'_>,
    ) -> Option<Result<Value, QueryError>> {
        let cells = self.index_cells.as_ref()?;
        let named = match cells.render_named(n, results, r) {
            Ok(named) => named,
            Err(e) => return Some(Err(e)),
        };
        let mut out: Vec<Value> = named
            .into_iter()
            .filter(|(_, b)| b["doc_count"].as_u64().unwrap_or(0) >= self.min_doc_count)
            .map(keyed)
            .collect();
        let (target, desc) = self.order.clone().unwrap_or(("_count".to_string(), true));
        let sum_other_doc_count = self.order_and_cut(&mut out, &target, desc);
        Some(Ok(json!({
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": sum_other_doc_count,
            "buckets": out,
        })))
    }

    /// Orders rendered buckets by `target` (ties by key, ascending, as Elasticsearch breaks
    /// them), keeps `size` of them and returns the documents of those dropped.
    fn order_and_cut(&self, out: &mut Vec<Value>, target: &str, desc: bool) -> u64 {
        let value = |b: &Value| match target {
            "_count" => b["doc_count"].as_f64().unwrap_or(0.0),
            _ => b
                .as_object()
                .and_then(|o| super::pipeline::paths::resolve(o, target).ok().flatten())
                .unwrap_or(f64::NEG_INFINITY),
        };
        out.sort_by(|a, b| {
            let ord = if matches!(target, "_key" | "_term") {
                key_order(a, b)
            } else {
                value(a).total_cmp(&value(b))
            };
            let ord = if desc { ord.reverse() } else { ord };
            ord.then_with(|| key_order(a, b))
        });
        out.drain((self.size as usize).min(out.len())..)
            .map(|dropped| dropped["doc_count"].as_u64().unwrap_or(0))
            .sum()
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let AggregationResult::BucketResult(BucketResult::Terms {
            buckets,
            sum_other_doc_count,
            doc_count_error_upper_bound,
        }) = result
        else {
            return Err(r.mismatch(n));
        };
        let kind = r.kinds.get(&self.field);
        let mut out = Vec::with_capacity(buckets.len());
        for b in buckets {
            let mut bucket = Map::new();
            render_key(&mut bucket, b.key, kind, self.format.as_deref(), r);
            bucket.insert("doc_count".into(), json!(b.doc_count));
            r.subs(&n.subs, b.sub_aggregation, &mut bucket)?;
            out.push(Value::Object(bucket));
        }
        let mut sum_other_doc_count = sum_other_doc_count;
        if self.resort
            && let Some((target, desc)) = &self.order
        {
            sum_other_doc_count += self.order_and_cut(&mut out, target, *desc);
        }
        Ok(json!({
            "doc_count_error_upper_bound": doc_count_error_upper_bound.unwrap_or(0),
            "sum_other_doc_count": sum_other_doc_count,
            "buckets": out,
        }))
    }
}

/// Two rendered buckets by key, ascending (numbers as numbers).
pub(super) fn key_order(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a["key"].as_f64(), b["key"].as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a["key"].as_str().cmp(&b["key"].as_str()),
    }
}

/// `key` (and `key_as_string` for dates and booleans) of a terms bucket.
fn render_key(
    bucket: &mut Map<String, Value>,
    key: Key,
    kind: FieldKind,
    format: Option<&str>,
    r: &Renderer<'_>,
) {
    match (kind, key) {
        (FieldKind::Date, Key::Str(s)) => match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(d) => {
                let ms = d.timestamp_millis();
                bucket.insert("key".into(), json!(ms));
                bucket.insert("key_as_string".into(), json!(r.date(ms, format)));
            }
            Err(_) => {
                bucket.insert("key".into(), json!(s));
            }
        },
        (FieldKind::Date, k @ (Key::I64(_) | Key::U64(_) | Key::F64(_))) => {
            let ms = key_json(&k).as_f64().unwrap_or(0.0) as i64;
            bucket.insert("key".into(), json!(ms));
            bucket.insert("key_as_string".into(), json!(r.date(ms, format)));
        }
        (FieldKind::Bool, Key::U64(b)) => {
            bucket.insert("key".into(), json!(b));
            bucket.insert(
                "key_as_string".into(),
                json!(if b != 0 { "true" } else { "false" }),
            );
        }
        (_, k) => {
            bucket.insert("key".into(), key_json(&k));
        }
    }
}

pub(super) fn parse_order(v: &Value) -> Result<(String, bool), QueryError> {
    let first = match v {
        Value::Array(items) => items
            .first()
            .ok_or_else(|| QueryError::Parsing("[terms] order must not be empty".to_string()))?,
        other => other,
    };
    let o = first.as_object().ok_or_else(|| {
        QueryError::Parsing(format!("[terms] order must be an object, got [{first}]"))
    })?;
    let (target, dir) = o
        .iter()
        .next()
        .ok_or_else(|| QueryError::Parsing("[terms] order must not be empty".to_string()))?;
    let desc = match dir.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("desc") => true,
        Some("asc") => false,
        _ => {
            return Err(QueryError::Parsing(format!(
                "Unknown terms order direction [{dir}]"
            )));
        }
    };
    Ok((target.clone(), desc))
}

fn include_exclude(v: &Value) -> Result<IncludeExcludeParam, QueryError> {
    match v {
        Value::String(s) => Ok(IncludeExcludeParam::Regex(s.clone())),
        Value::Array(items) => Ok(IncludeExcludeParam::Values(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        )),
        _ => Err(QueryError::Unsupported {
            what: "[include]/[exclude] partitions in [terms]".to_string(),
        }),
    }
}
