//! `histogram`: fixed-width numeric buckets, with `offset`, `min_doc_count` (0 fills the gaps),
//! `extended_bounds`, `hard_bounds`, `keyed` and `order` by key or count.

use serde_json::{Map, Value, json};
use tantivy::aggregation::agg_req::{Aggregation, AggregationVariants, Aggregations};
use tantivy::aggregation::agg_result::{
    AggregationResult, BucketEntries, BucketEntry, BucketResult,
};
use tantivy::aggregation::bucket::{HistogramAggregation, HistogramBounds};

use super::AggNode;
use super::args::{Args, number};
use super::plan::{Planner, Want, node};
use super::render::{Renderer, buckets_json, key_json};
use super::sources::{self, Target};
use crate::error::QueryError;
use tantivy::columnar::MonotonicallyMappableToU64;

/// How buckets are ordered in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BucketOrder {
    /// By key, ascending (the default).
    KeyAsc,
    /// By key, descending.
    KeyDesc,
    /// By count, ascending.
    CountAsc,
    /// By count, descending.
    CountDesc,
}

impl BucketOrder {
    /// Parses a histogram `order` (`_key` or `_count`).
    pub fn parse(v: Option<&Value>, agg: &str) -> Result<BucketOrder, QueryError> {
        let Some(v) = v else {
            return Ok(BucketOrder::KeyAsc);
        };
        let first = match v {
            Value::Array(a) => a.first().unwrap_or(v),
            other => other,
        };
        let Some((target, dir)) = first.as_object().and_then(|o| o.iter().next()) else {
            return Err(QueryError::Parsing(format!(
                "[{agg}] order must be an object, got [{v}]"
            )));
        };
        let desc = dir.as_str() == Some("desc");
        match (target.as_str(), desc) {
            ("_key", false) => Ok(BucketOrder::KeyAsc),
            ("_key", true) => Ok(BucketOrder::KeyDesc),
            ("_count", false) => Ok(BucketOrder::CountAsc),
            ("_count", true) => Ok(BucketOrder::CountDesc),
            (other, _) => Err(QueryError::Unsupported {
                what: format!("ordering [{agg}] buckets by [{other}]"),
            }),
        }
    }

    /// Orders rendered buckets (tantivy returns them by key, ascending).
    pub fn apply(self, buckets: &mut [(String, Map<String, Value>)]) {
        let count = |b: &Map<String, Value>| b.get("doc_count").and_then(Value::as_u64);
        match self {
            BucketOrder::KeyAsc => {}
            BucketOrder::KeyDesc => buckets.reverse(),
            BucketOrder::CountAsc => buckets.sort_by_key(|(_, b)| count(b)),
            BucketOrder::CountDesc => buckets.sort_by_key(|(_, b)| std::cmp::Reverse(count(b))),
        }
    }
}

/// A parsed `histogram` aggregation.
#[derive(Debug, Clone)]
pub struct Histogram {
    /// The field.
    pub field: String,
    interval: f64,
    offset: Option<f64>,
    /// Buckets with fewer documents are left out (0: empty buckets fill the gaps).
    pub min_doc_count: u64,
    extended_bounds: Option<HistogramBounds>,
    hard_bounds: Option<HistogramBounds>,
    keyed: bool,
    order: BucketOrder,
    /// The value of documents without one.
    missing: Option<f64>,
    /// A `DecimalFormat` pattern for `key_as_string`.
    format: Option<String>,
}

/// `{"min": …, "max": …}` with numbers (or numbers as strings).
fn bounds(v: Option<&Value>, what: &str) -> Result<Option<HistogramBounds>, QueryError> {
    let Some(v) = v else { return Ok(None) };
    let get = |k: &str| v.get(k).and_then(number);
    match (get("min"), get("max")) {
        (Some(min), Some(max)) if min > max => Err(QueryError::IllegalArgument(format!(
            "[{what}.min][{min}] cannot be greater than [{what}.max][{max}] for histogram"
        ))),
        (Some(min), Some(max)) => Ok(Some(HistogramBounds { min, max })),
        _ => Err(QueryError::Parsing(format!(
            "[{what}] needs numeric [min] and [max], got [{v}]"
        ))),
    }
}

impl Histogram {
    /// Parses the options.
    pub fn parse(v: &Value) -> Result<Histogram, QueryError> {
        let a = Args::new("histogram", v)?;
        a.allow(&[
            "field",
            "interval",
            "offset",
            "min_doc_count",
            "extended_bounds",
            "hard_bounds",
            "keyed",
            "order",
            "format",
            "missing",
        ])?;
        let interval = a.f64("interval")?.ok_or_else(|| {
            QueryError::IllegalArgument(
                "[interval] must be >0 for histogram aggregation [histogram]".to_string(),
            )
        })?;
        if interval <= 0.0 {
            return Err(QueryError::XContentParse(format!(
                "[histogram] failed to parse field [interval]: [interval] must be >0 for histogram aggregation, got [{interval}]"
            )));
        }
        Ok(Histogram {
            field: a.field()?,
            interval,
            offset: a.f64("offset")?,
            min_doc_count: a.u64("min_doc_count")?.unwrap_or(0),
            extended_bounds: bounds(a.get("extended_bounds"), "extended_bounds")?,
            hard_bounds: bounds(a.get("hard_bounds"), "hard_bounds")?,
            keyed: a.bool("keyed")?.unwrap_or(false),
            order: BucketOrder::parse(a.get("order"), "histogram")?,
            missing: a.f64("missing")?,
            format: a.str("format")?,
        })
    }

    pub(crate) fn plan(
        &self,
        p: &mut Planner<'_>,
        subs: Aggregations,
    ) -> Result<Aggregation, QueryError> {
        let field = match self.missing {
            Some(m) => {
                let column = p.source_column(&self.field, "histogram")?;
                sources::register_with_missing(
                    &mut p.registry,
                    &column,
                    Target::Numbers,
                    m.to_u64(),
                )
            }
            None => p.column(&self.field, Want::Numbers, "histogram")?,
        };
        let req = HistogramAggregation {
            field,
            interval: self.interval,
            offset: self.offset.map(|o| o.rem_euclid(self.interval)),
            min_doc_count: Some(self.min_doc_count),
            hard_bounds: self.hard_bounds,
            // tantivy refuses the pair; ES ignores the bounds when empty buckets are dropped.
            extended_bounds: self.extended_bounds.filter(|_| self.min_doc_count == 0),
            keyed: false,
            is_normalized_to_ns: false,
        };
        Ok(node(AggregationVariants::Histogram(req), subs))
    }

    pub(crate) fn render(
        &self,
        n: &AggNode,
        result: AggregationResult,
        r: &Renderer<'_>,
    ) -> Result<Value, QueryError> {
        let buckets = histogram_buckets(n, result, r)?;
        let mut out = Vec::with_capacity(buckets.len());
        for b in buckets {
            let mut bucket = Map::new();
            let key = key_json(&b.key);
            let name = match key.as_f64() {
                Some(x) => format!("{x:?}"),
                None => key.to_string(),
            };
            if let (Some(pattern), Some(x)) = (&self.format, key.as_f64())
                && let Some(text) = decimal_format(x, pattern)
            {
                bucket.insert("key_as_string".into(), json!(text));
            }
            bucket.insert("key".into(), key);
            bucket.insert("doc_count".into(), json!(b.doc_count));
            r.subs(&n.subs, b.sub_aggregation, &mut bucket)?;
            out.push((name, bucket));
        }
        self.order.apply(&mut out);
        Ok(json!({ "buckets": buckets_json(out, self.keyed) }))
    }
}

/// `x` in a Java `DecimalFormat` pattern of digits only (`0.0`, `#,##0.00`, `0`), as ES
/// prints numeric keys with `format`; `None` for other patterns (no `key_as_string` then).
fn decimal_format(x: f64, pattern: &str) -> Option<String> {
    let (int_part, frac_part) = pattern.split_once('.').unwrap_or((pattern, ""));
    if !int_part.chars().all(|c| matches!(c, '#' | '0' | ','))
        || !frac_part.chars().all(|c| matches!(c, '#' | '0'))
    {
        return None;
    }
    let min_frac = frac_part.chars().take_while(|c| *c == '0').count();
    let max_frac = frac_part.len();
    let min_int = int_part.chars().filter(|c| *c == '0').count();
    let group = int_part.rfind(',').map(|i| int_part.len() - i - 1);
    let mut text = format!("{:.*}", max_frac, x.abs());
    if let Some(dot) = text.find('.') {
        let keep = text.trim_end_matches('0').len().max(dot + 1 + min_frac);
        text.truncate(keep);
        if text.ends_with('.') {
            text.pop();
        }
    }
    let (int_digits, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut int_digits = int_digits.trim_start_matches('0').to_string();
    while int_digits.len() < min_int {
        int_digits.insert(0, '0');
    }
    if let Some(g) = group.filter(|g| *g > 0) {
        let digits: Vec<char> = int_digits.chars().collect();
        let mut grouped = String::new();
        for (i, c) in digits.iter().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(g) {
                grouped.push(',');
            }
            grouped.push(*c);
        }
        int_digits = grouped;
    }
    let sign = if x < 0.0
        && (int_digits.chars().any(|c| c.is_ascii_digit() && c != '0')
            || frac.chars().any(|c| c != '0'))
    {
        "-"
    } else {
        ""
    };
    Some(if frac.is_empty() {
        format!("{sign}{int_digits}")
    } else {
        format!("{sign}{int_digits}.{frac}")
    })
}

/// The buckets of a tantivy histogram result.
pub(crate) fn histogram_buckets(
    n: &AggNode,
    result: AggregationResult,
    r: &Renderer<'_>,
) -> Result<Vec<BucketEntry>, QueryError> {
    match result {
        AggregationResult::BucketResult(BucketResult::Histogram { buckets }) => Ok(match buckets {
            BucketEntries::Vec(v) => v,
            BucketEntries::HashMap(m) => m.into_values().collect(),
        }),
        _ => Err(r.mismatch(n)),
    }
}

#[cfg(test)]
mod format_tests {
    use super::decimal_format;

    #[test]
    fn decimal_patterns_of_digits() {
        assert_eq!(decimal_format(200.0, "0.0").as_deref(), Some("200.0"));
        assert_eq!(
            decimal_format(1234567.891, "#,##0.00").as_deref(),
            Some("1,234,567.89")
        );
        assert_eq!(decimal_format(0.5, "#.##").as_deref(), Some(".5"));
        assert_eq!(decimal_format(3.0, "0.###").as_deref(), Some("3"));
        assert_eq!(decimal_format(-2.5, "0").as_deref(), Some("-2"));
        assert_eq!(decimal_format(7.0, "000").as_deref(), Some("007"));
        assert_eq!(decimal_format(1.0, "0.0 ms"), None);
    }
}
