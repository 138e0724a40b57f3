//! Pipeline aggregation requests: each type's options, read as Elasticsearch reads them.

use serde_json::{Map, Value};

use super::expr::{self, Expr};
use super::moving::MovingFn;
use crate::error::QueryError;

/// What a pipeline reads: one path, or named paths (`bucket_script`, `bucket_selector`).
#[derive(Debug, Clone)]
pub enum Paths {
    One(String),
    Named(Vec<(String, String)>),
}

/// `gap_policy`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gap {
    Skip,
    InsertZeros,
    KeepValues,
}

/// The pipeline types.
#[derive(Debug, Clone)]
pub enum Kind {
    Derivative {
        unit_ms: Option<f64>,
    },
    CumulativeSum,
    MovingFn {
        window: usize,
        shift: i64,
        func: MovingFn,
    },
    MovingAvg {
        window: usize,
        func: MovingFn,
    },
    SerialDiff {
        lag: usize,
    },
    BucketScript(Expr),
    BucketSelector(Expr),
    BucketSort {
        sort: Vec<(String, bool)>,
        from: usize,
        size: Option<usize>,
    },
    AvgBucket,
    SumBucket,
    MinBucket,
    MaxBucket,
    StatsBucket,
    ExtendedStatsBucket {
        sigma: f64,
    },
    PercentilesBucket {
        percents: Vec<f64>,
        keyed: bool,
    },
}

/// One pipeline aggregation of a request.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The request's type name.
    pub type_name: &'static str,
    pub(super) kind: Kind,
    pub(super) paths: Paths,
    pub(super) gap: Gap,
}

/// The pipeline types, by request name.
pub const TYPES: &[&str] = &[
    "derivative",
    "cumulative_sum",
    "moving_fn",
    "moving_avg",
    "serial_diff",
    "bucket_script",
    "bucket_selector",
    "bucket_sort",
    "avg_bucket",
    "sum_bucket",
    "min_bucket",
    "max_bucket",
    "stats_bucket",
    "extended_stats_bucket",
    "percentiles_bucket",
];

fn bad(t: &str, why: String) -> QueryError {
    QueryError::Parsing(format!("[{t}] {why}"))
}

fn script_source(t: &str, v: Option<&Value>) -> Result<(String, Map<String, Value>), QueryError> {
    match v {
        Some(Value::String(s)) => Ok((s.clone(), Map::new())),
        Some(Value::Object(o)) => {
            let source = o
                .get("source")
                .or_else(|| o.get("inline"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad(t, "script needs [source]".into()))?;
            let params = o
                .get("params")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            Ok((source.to_string(), params))
        }
        _ => Err(bad(t, "Required [script]".into())),
    }
}

/// `unit` as milliseconds: a calendar unit (`1d`, `month`, …, at their fixed lengths) or a time
/// value (`10s`, `5m`, `250ms`), as Elasticsearch reads it.
fn unit_ms(t: &str, unit: &str) -> Result<f64, QueryError> {
    let calendar = match unit {
        "year" | "1y" => Some(31_556_952_000.0),
        "quarter" | "1q" => Some(7_889_238_000.0),
        "month" | "1M" => Some(2_629_746_000.0),
        "week" | "1w" => Some(604_800_000.0),
        "day" | "1d" => Some(86_400_000.0),
        "hour" | "1h" => Some(3_600_000.0),
        "minute" | "1m" => Some(60_000.0),
        "second" | "1s" => Some(1_000.0),
        _ => None,
    };
    if let Some(ms) = calendar {
        return Ok(ms);
    }
    let refused = || {
        QueryError::IllegalArgument(format!(
            "failed to parse setting [{t}.unit] with value [{unit}] as a time value: unit is missing or unrecognized"
        ))
    };
    let lower = unit.trim().to_lowercase();
    let (n, per) = [
        ("nanos", 1e-6),
        ("micros", 1e-3),
        ("ms", 1.0),
        ("s", 1_000.0),
        ("m", 60_000.0),
        ("h", 3_600_000.0),
        ("d", 86_400_000.0),
    ]
    .iter()
    .find_map(|(suffix, per)| lower.strip_suffix(suffix).map(|n| (n.trim(), *per)))
    .ok_or_else(refused)?;
    let n: i64 = n.parse().map_err(|_| refused())?;
    Ok(n as f64 * per)
}

impl Pipeline {
    /// Parses the body of a pipeline aggregation of type `t` (one of [`TYPES`]).
    pub fn parse(t: &str, v: &Value) -> Result<Pipeline, QueryError> {
        let o = v
            .as_object()
            .ok_or_else(|| bad(t, format!("expected an object, got [{v}]")))?;
        let type_name = TYPES
            .iter()
            .copied()
            .find(|n| *n == t)
            .ok_or_else(|| bad(t, "is not a pipeline aggregation".into()))?;
        let gap = match o.get("gap_policy").and_then(Value::as_str) {
            None | Some("skip") => Gap::Skip,
            Some("insert_zeros") => Gap::InsertZeros,
            Some("keep_values") => Gap::KeepValues,
            Some(other) => return Err(bad(t, format!("Unknown gap_policy [{other}]"))),
        };
        let paths = match o.get("buckets_path") {
            Some(Value::String(s)) => Paths::One(s.clone()),
            Some(Value::Array(a))
                if a.len() == 1 && !matches!(t, "bucket_script" | "bucket_selector") =>
            {
                Paths::One(a[0].as_str().unwrap_or_default().to_string())
            }
            Some(Value::Array(a)) => Paths::Named(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| {
                        (
                            format!("_value{i}"),
                            v.as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            ),
            Some(Value::Object(m)) => Paths::Named(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect(),
            ),
            None if t == "bucket_sort" => Paths::Named(Vec::new()),
            _ => return Err(bad(t, "Required [buckets_path]".into())),
        };
        let usize_of = |key: &str, default: usize| -> Result<usize, QueryError> {
            match o.get(key) {
                None => Ok(default),
                Some(v) => v.as_u64().map(|n| n as usize).ok_or_else(|| {
                    bad(
                        t,
                        format!("[{key}] must be a non-negative integer, got [{v}]"),
                    )
                }),
            }
        };
        let kind = match t {
            "derivative" => Kind::Derivative {
                unit_ms: o
                    .get("unit")
                    .and_then(Value::as_str)
                    .map(|u| unit_ms(t, u))
                    .transpose()?,
            },
            "cumulative_sum" => {
                if o.contains_key("gap_policy") {
                    return Err(QueryError::XContentParse(
                        "[cumulative_sum] unknown field [gap_policy]".into(),
                    ));
                }
                Kind::CumulativeSum
            }
            "moving_fn" => {
                let window = usize_of("window", 0)?;
                if window == 0 {
                    return Err(bad(
                        t,
                        "[window] must be a positive, non-zero integer.".into(),
                    ));
                }
                let (source, _) = script_source(t, o.get("script"))?;
                Kind::MovingFn {
                    window,
                    shift: o.get("shift").and_then(Value::as_i64).unwrap_or(0),
                    func: MovingFn::parse(&source)?,
                }
            }
            "moving_avg" => {
                let settings = o.get("settings");
                let num = |k: &str, d: f64| {
                    settings
                        .and_then(|s| s.get(k))
                        .and_then(Value::as_f64)
                        .unwrap_or(d)
                };
                if o.get("predict")
                    .and_then(Value::as_u64)
                    .is_some_and(|n| n > 0)
                {
                    return Err(bad(t, "[predict] is not supported: use moving_fn".into()));
                }
                let func = match o.get("model").and_then(Value::as_str).unwrap_or("simple") {
                    "simple" => MovingFn::UnweightedAvg,
                    "linear" => MovingFn::LinearWeightedAvg,
                    "ewma" => MovingFn::Ewma(num("alpha", 0.3)),
                    "holt" => MovingFn::Holt(num("alpha", 0.3), num("beta", 0.1)),
                    other => return Err(bad(t, format!("model [{other}] is not supported"))),
                };
                Kind::MovingAvg {
                    window: usize_of("window", 5)?.max(1),
                    func,
                }
            }
            "serial_diff" => Kind::SerialDiff {
                lag: usize_of("lag", 1)?.max(1),
            },
            "bucket_script" | "bucket_selector" => {
                let (source, params) = script_source(t, o.get("script"))?;
                let mut e = expr::parse(&source)?;
                // Constant `params` of the script object are values like the paths' variables.
                for (k, v) in params.iter().rev() {
                    if let Some(x) = v.as_f64() {
                        e = substitute(e, k, x);
                    }
                }
                if t == "bucket_script" {
                    Kind::BucketScript(e)
                } else {
                    Kind::BucketSelector(e)
                }
            }
            "bucket_sort" => {
                let mut sort = Vec::new();
                for s in o
                    .get("sort")
                    .map(|s| match s {
                        Value::Array(a) => a.clone(),
                        other => vec![other.clone()],
                    })
                    .unwrap_or_default()
                {
                    match s {
                        Value::String(path) => sort.push((path, false)),
                        Value::Object(m) => {
                            for (path, how) in m {
                                let order = how
                                    .get("order")
                                    .and_then(Value::as_str)
                                    .or(how.as_str())
                                    .unwrap_or("asc");
                                sort.push((path, order == "desc"));
                            }
                        }
                        other => return Err(bad(t, format!("cannot sort by [{other}]"))),
                    }
                }
                let from = usize_of("from", 0)?;
                let size = o.get("size").map(|_| usize_of("size", 0)).transpose()?;
                if size == Some(0) {
                    return Err(QueryError::IllegalArgument(format!(
                        "[size] must be a positive integer: [{t}]"
                    )));
                }
                if sort.is_empty() && from == 0 && size.is_none() {
                    return Err(QueryError::Validation(format!(
                        "[{t}] is configured to perform nothing. Please set either of [sort, size, from] to use bucket_sort"
                    )));
                }
                Kind::BucketSort { sort, from, size }
            }
            "avg_bucket" => Kind::AvgBucket,
            "sum_bucket" => Kind::SumBucket,
            "min_bucket" => Kind::MinBucket,
            "max_bucket" => Kind::MaxBucket,
            "stats_bucket" => Kind::StatsBucket,
            "extended_stats_bucket" => Kind::ExtendedStatsBucket {
                sigma: o.get("sigma").and_then(Value::as_f64).unwrap_or(2.0),
            },
            "percentiles_bucket" => Kind::PercentilesBucket {
                percents: match o.get("percents") {
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_f64).collect(),
                    _ => vec![1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0],
                },
                keyed: o.get("keyed").and_then(Value::as_bool) != Some(false),
            },
            _ => return Err(bad(t, "is not a pipeline aggregation".into())),
        };
        Ok(Pipeline {
            type_name,
            kind,
            paths,
            gap,
        })
    }

    /// Whether it works on the buckets of its parent (else: beside its sibling).
    pub fn is_parent(&self) -> bool {
        !matches!(
            self.kind,
            Kind::AvgBucket
                | Kind::SumBucket
                | Kind::MinBucket
                | Kind::MaxBucket
                | Kind::StatsBucket
                | Kind::ExtendedStatsBucket { .. }
                | Kind::PercentilesBucket { .. }
        )
    }

    /// Whether it needs a histogram as its parent (rather than any multi-bucket aggregation).
    pub fn needs_histogram(&self) -> bool {
        matches!(
            self.kind,
            Kind::Derivative { .. }
                | Kind::CumulativeSum
                | Kind::MovingFn { .. }
                | Kind::MovingAvg { .. }
                | Kind::SerialDiff { .. }
        )
    }

    /// The name `typed_keys` shows its result under.
    pub fn typed_name(&self) -> &'static str {
        match self.kind {
            Kind::Derivative { .. } => "derivative",
            Kind::MinBucket | Kind::MaxBucket => "bucket_metric_value",
            Kind::StatsBucket => "stats_bucket",
            Kind::ExtendedStatsBucket { .. } => "extended_stats_bucket",
            Kind::PercentilesBucket { .. } => "percentiles_bucket",
            _ => "simple_value",
        }
    }

    /// The whole path whose first aggregation is `input`.
    pub fn path_of<'a>(&'a self, input: &'a str) -> &'a str {
        match &self.paths {
            Paths::One(p) => p,
            Paths::Named(v) => v
                .iter()
                .map(|(_, p)| p.as_str())
                .find(|p| p.starts_with(input))
                .unwrap_or(input),
        }
    }

    /// The first aggregation name of each path (what must be computed before it).
    pub fn inputs(&self) -> Vec<&str> {
        fn first(p: &str) -> &str {
            let head = p.split('>').next().unwrap_or(p);
            let head = head.split('[').next().unwrap_or(head);
            head.split('.').next().unwrap_or(head)
        }
        match &self.paths {
            Paths::One(p) => vec![first(p)],
            Paths::Named(v) => v.iter().map(|(_, p)| first(p)).collect(),
        }
    }
}

/// `e` with variable `name` replaced by the constant `x`.
fn substitute(e: Expr, name: &str, x: f64) -> Expr {
    let sub = |b: Box<Expr>| Box::new(substitute(*b, name, x));
    match e {
        Expr::Var(v) if v == name => Expr::Num(x),
        Expr::Neg(a) => Expr::Neg(sub(a)),
        Expr::Not(a) => Expr::Not(sub(a)),
        Expr::Bin(op, a, b) => Expr::Bin(op, sub(a), sub(b)),
        Expr::Cond(c, a, b) => Expr::Cond(sub(c), sub(a), sub(b)),
        Expr::Call(f, args) => Expr::Call(
            f,
            args.into_iter().map(|a| substitute(a, name, x)).collect(),
        ),
        other => other,
    }
}
