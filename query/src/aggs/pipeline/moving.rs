//! The functions of `moving_fn` (Elasticsearch's `MovingFunctions`, written as the script
//! string Grafana and Kibana send: `MovingFunctions.unweightedAvg(values)`,
//! `MovingFunctions.ewma(values, 0.3)`, `MovingFunctions.holt(values, 0.3, 0.1)`,
//! `MovingFunctions.stdDev(values, MovingFunctions.unweightedAvg(values))`) and the models of
//! the older `moving_avg`.

use crate::error::QueryError;

/// One moving function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MovingFn {
    UnweightedAvg,
    LinearWeightedAvg,
    Ewma(f64),
    Holt(f64, f64),
    Max,
    Min,
    Sum,
    StdDev,
}

fn unsupported(script: &str) -> QueryError {
    QueryError::IllegalArgument(format!(
        "moving_fn script [{script}] is not supported: Hydrant runs `MovingFunctions.<fn>(values[, …])` with max, min, sum, unweightedAvg, linearWeightedAvg, ewma, holt and stdDev"
    ))
}

impl MovingFn {
    /// Reads a `moving_fn` script.
    pub fn parse(script: &str) -> Result<MovingFn, QueryError> {
        let s: String = script
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .trim_start_matches("return")
            .trim_end_matches(';')
            .to_string();
        let Some(call) = s.strip_prefix("MovingFunctions.") else {
            return Err(unsupported(script));
        };
        let (name, args) = call.split_once('(').ok_or_else(|| unsupported(script))?;
        let args = args.strip_suffix(')').ok_or_else(|| unsupported(script))?;
        let rest: Vec<&str> = args.splitn(2, ',').collect();
        if rest.first() != Some(&"values") {
            return Err(unsupported(script));
        }
        let numbers = |n: usize| -> Result<Vec<f64>, QueryError> {
            let list: Vec<f64> = rest
                .get(1)
                .map(|r| {
                    r.split(',')
                        .map(|x| x.trim_end_matches(['d', 'D', 'f', 'F']).parse::<f64>())
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()
                .map_err(|_| unsupported(script))?
                .unwrap_or_default();
            if list.len() == n {
                Ok(list)
            } else {
                Err(unsupported(script))
            }
        };
        Ok(match name {
            "unweightedAvg" => MovingFn::UnweightedAvg,
            "linearWeightedAvg" => MovingFn::LinearWeightedAvg,
            "max" => MovingFn::Max,
            "min" => MovingFn::Min,
            "sum" => MovingFn::Sum,
            // The mean argument is always the window's average in what dashboards send.
            "stdDev" => MovingFn::StdDev,
            "ewma" => MovingFn::Ewma(numbers(1)?[0]),
            "holt" => {
                let ab = numbers(2)?;
                MovingFn::Holt(ab[0], ab[1])
            }
            _ => return Err(unsupported(script)),
        })
    }

    /// The function over `values` (gaps already left out), as `MovingFunctions` computes it.
    pub fn compute(self, values: &[f64]) -> f64 {
        let finite: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        match self {
            MovingFn::Max => finite.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
            MovingFn::Min => finite.iter().copied().reduce(f64::min).unwrap_or(f64::NAN),
            MovingFn::Sum => finite.iter().sum(),
            MovingFn::UnweightedAvg => {
                if finite.is_empty() {
                    f64::NAN
                } else {
                    finite.iter().sum::<f64>() / finite.len() as f64
                }
            }
            MovingFn::StdDev => {
                if finite.is_empty() {
                    return f64::NAN;
                }
                let avg = finite.iter().sum::<f64>() / finite.len() as f64;
                let var =
                    finite.iter().map(|v| (v - avg).powi(2)).sum::<f64>() / finite.len() as f64;
                var.sqrt()
            }
            MovingFn::LinearWeightedAvg => {
                if finite.is_empty() {
                    return f64::NAN;
                }
                // As `MovingFunctions.linearWeightedAvg`: weights 1, 2, … from the oldest, and a
                // total weight that starts at 1.
                let (mut sum, mut weights) = (0.0, 1.0);
                for (i, v) in finite.iter().enumerate() {
                    let w = (i + 1) as f64;
                    sum += v * w;
                    weights += w;
                }
                sum / weights
            }
            MovingFn::Ewma(alpha) => {
                let mut avg = f64::NAN;
                for v in &finite {
                    avg = if avg.is_nan() {
                        *v
                    } else {
                        v * alpha + avg * (1.0 - alpha)
                    };
                }
                avg
            }
            MovingFn::Holt(alpha, beta) => holt(&finite, alpha, beta),
        }
    }
}

/// Double exponential smoothing, as `MovingFunctions.holt`: the smoothed level after the last
/// value (its forecast for no steps ahead).
fn holt(values: &[f64], alpha: f64, beta: f64) -> f64 {
    let Some((first, rest)) = values.split_first() else {
        return f64::NAN;
    };
    let (mut s, mut b) = (*first, 0.0);
    for v in rest {
        let last_s = s;
        s = alpha * v + (1.0 - alpha) * (last_s + b);
        b = beta * (s - last_s) + (1.0 - beta) * b;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_parse_and_functions_compute() {
        assert_eq!(
            MovingFn::parse("MovingFunctions.unweightedAvg(values)").unwrap(),
            MovingFn::UnweightedAvg
        );
        assert_eq!(
            MovingFn::parse("return MovingFunctions.ewma(values, 0.5);").unwrap(),
            MovingFn::Ewma(0.5)
        );
        assert_eq!(
            MovingFn::parse("MovingFunctions.holt(values, 0.3, 0.1)").unwrap(),
            MovingFn::Holt(0.3, 0.1)
        );
        assert_eq!(
            MovingFn::parse(
                "MovingFunctions.stdDev(values, MovingFunctions.unweightedAvg(values))"
            )
            .unwrap(),
            MovingFn::StdDev
        );
        assert!(MovingFn::parse("values[0] * 2").is_err());
        let v = [1.0, 2.0, 3.0, 6.0];
        assert_eq!(MovingFn::UnweightedAvg.compute(&v), 3.0);
        assert_eq!(
            MovingFn::LinearWeightedAvg.compute(&v),
            // Elasticsearch's total weight starts at 1: 38 / (1 + 10).
            (1.0 + 4.0 + 9.0 + 24.0) / 11.0
        );
        // Holt's answer is the smoothed level: 1, then 0.5·3 + 0.5·(1 + 0) = 2.
        assert_eq!(MovingFn::Holt(0.5, 0.5).compute(&[1.0, 3.0]), 2.0);
        assert_eq!(MovingFn::Max.compute(&v), 6.0);
        assert_eq!(MovingFn::Sum.compute(&[]), 0.0);
        assert!(MovingFn::UnweightedAvg.compute(&[]).is_nan());
        assert_eq!(MovingFn::Ewma(0.5).compute(&[2.0, 4.0]), 3.0);
        assert!((MovingFn::StdDev.compute(&[2.0, 4.0]) - 1.0).abs() < 1e-12);
    }
}
