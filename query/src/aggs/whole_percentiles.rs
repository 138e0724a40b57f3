//! `percentiles` over a segment the query matches whole, from its column: every value the
//! column holds goes into the sketch tantivy's collector would have built, without a document
//! visited — the collector reads each document's values a block of ids at a time and adds
//! them one by one (a logarithm each).
//!
//! Integers of a narrow range (sizes, status codes) and floats with few decimals over one
//! (latencies in ms to a tenth) are counted per value first and each distinct value added once
//! with its count, so the logarithms are per value, not per document. Other values are added
//! one by one, still without the documents.
//!
//! The sketch is tantivy's, of the same crate and configuration (DDSketch, 1 % relative
//! accuracy, 2,048 bins), and holds the same bins: a value's bin does not depend on the order
//! values come in. What could — collapsing the lowest bins when the values span more than
//! 2,048 — is ruled out first from the column's bounds (such a segment is left to tantivy). The
//! sketch's running sum, which does depend on the order, is not part of a `percentiles`
//! answer.

use serde::Deserialize;
use sketches_ddsketch::{Config, DDSketch};
use tantivy::TantivyError;
use tantivy::aggregation::intermediate_agg_result::{
    IntermediateAggregationResult, IntermediateAggregationResults, IntermediateMetricResult,
};
use tantivy::aggregation::metric::PercentilesCollector;
use tantivy::columnar::{ColumnValues, DynamicColumn};

/// Values read per call into the column.
const BLOCK: usize = 4096;

/// Integer ranges up to this wide are counted per value before they are added.
const COUNTED_RANGE: u64 = 1 << 16;

/// tantivy's sketch of every value of `column` as `name`'s intermediate result (`None`: a
/// column this path does not take; collect the segment).
pub(crate) fn segment(
    name: &str,
    column: DynamicColumn,
) -> tantivy::Result<Option<IntermediateAggregationResults>> {
    let config = Config::defaults();
    let mut sketch = DDSketch::new(config);
    let taken = match column {
        DynamicColumn::I64(c) => integers(&*c.values, &config, &mut sketch, i128::from),
        DynamicColumn::U64(c) => integers(&*c.values, &config, &mut sketch, i128::from),
        DynamicColumn::F64(c) => floats(&*c.values, &config, &mut sketch),
        _ => false,
    };
    // A sum past the largest float (values near it) has no serde form: left to tantivy, whose
    // collector keeps its results in memory.
    if !taken || !sketch.sum().is_some_and(f64::is_finite) {
        return Ok(None);
    }
    results(name, &sketch).map(Some)
}

/// Whether a sketch of values whose magnitudes lie in `lowest..=highest` keeps every bin (its
/// keys span at most the 2,048 bins; past that the store collapses its lowest ones, and which
/// it collapses depends on the order values come in).
fn no_collapse(config: &Config, lowest: f64, highest: f64) -> bool {
    let bins = i64::from(config.key(highest)) - i64::from(config.key(lowest)) + 1;
    highest.is_finite() && bins <= 2048
}

/// Adds integer values (as tantivy converts them: `as f64`); `false` if their range could
/// collapse bins or holds no value.
fn integers<T: Copy + PartialOrd + Default + Send + Sync + std::fmt::Debug + 'static>(
    values: &dyn ColumnValues<T>,
    config: &Config,
    sketch: &mut DDSketch,
    wide: impl Fn(T) -> i128,
) -> bool {
    let total = values.num_vals();
    if total == 0 {
        return false;
    }
    let (min, max) = (wide(values.min_value()), wide(values.max_value()));
    // Nonzero integers are at least 1 in magnitude.
    let highest = min.unsigned_abs().max(max.unsigned_abs()) as f64;
    if !no_collapse(config, 1.0, highest.max(1.0)) {
        return false;
    }
    let as_f64 = |v: i128| v as f64;
    let range = (max - min) as u64;
    // Counting walks the whole range once: worth it when the values are more than the slots.
    if range < COUNTED_RANGE.min(u64::from(total)) {
        let mut counts = vec![0u32; range as usize + 1];
        each_block(values, total, |block| {
            for v in block {
                counts[(wide(*v) - min) as usize] += 1;
            }
        });
        for (offset, n) in counts.into_iter().enumerate() {
            if n > 0 {
                sketch.add_with_count(as_f64(min + offset as i128), u64::from(n));
            }
        }
    } else {
        each_block(values, total, |block| {
            block.iter().for_each(|v| sketch.add(as_f64(wide(*v))));
        });
    }
    true
}

/// Adds float values one by one; `false` if their range could collapse bins.
fn floats(values: &dyn ColumnValues<f64>, config: &Config, sketch: &mut DDSketch) -> bool {
    let total = values.num_vals();
    if total == 0 {
        return false;
    }
    let (min, max) = (values.min_value(), values.max_value());
    if !(min.is_finite() && max.is_finite()) {
        return false;
    }
    let highest = min.abs().max(max.abs());
    // The smallest magnitude a value of the sketch's stores can have: the column's, when every
    // value has one sign; else the least the sketch tells from zero.
    let lowest = if min > 0.0 {
        min
    } else if max < 0.0 {
        -max
    } else {
        config.min_possible()
    };
    if !no_collapse(config, lowest.max(config.min_possible()), highest) {
        return false;
    }
    match Decimals::of(values, min, max) {
        Some(mut decimals) => {
            each_block(values, total, |block| {
                for v in block {
                    if !decimals.count(*v) {
                        sketch.add(*v);
                    }
                }
            });
            decimals.add_to(sketch);
        }
        None => each_block(values, total, |block| {
            block.iter().for_each(|v| sketch.add(*v));
        }),
    }
    true
}

/// Floats with few decimals (a latency of `33.6` ms), counted per value: each is `n / 10^d`
/// for an integer `n` of a narrow range, and counted at `n`; a value that is not is added to
/// the sketch as it is. Counted values are added back as `n / 10^d`, the same float bit for
/// bit (checked for each value), so the sketch sees exactly the column's values.
///
/// Order matters in one place: the sketch keeps the first of equal minima (or maxima), and
/// `0.0` and `-0.0` are equal. The zeros are counted apart and the one the column holds first
/// is added first, as the collector would meet it.
struct Decimals {
    scale: f64,
    lo: i64,
    counts: Vec<u32>,
    negative_zeros: u32,
    /// Whether the first zero met was `-0.0`.
    negative_zero_first: Option<bool>,
}

impl Decimals {
    /// Counting by the fewest decimals (up to 3) that the column's first values all have and
    /// whose integers over `min..=max` span a narrow range; `None` if none does.
    fn of(values: &dyn ColumnValues<f64>, min: f64, max: f64) -> Option<Decimals> {
        let mut first = [0f64; 256];
        let n = (values.num_vals() as usize).min(first.len());
        values.get_range(0, &mut first[..n]);
        let slots = COUNTED_RANGE.min(u64::from(values.num_vals())) as f64;
        (0..=3).find_map(|d| {
            let scale = 10f64.powi(d);
            let (lo, hi) = ((min * scale).round(), (max * scale).round());
            let narrow = hi - lo < slots;
            let exact = |v: f64| ((v * scale).round() / scale).to_bits() == v.to_bits();
            (narrow && first[..n].iter().all(|v| exact(*v))).then(|| Decimals {
                scale,
                lo: lo as i64,
                counts: vec![0; (hi - lo) as usize + 1],
                negative_zeros: 0,
                negative_zero_first: None,
            })
        })
    }

    /// Counts `v`; `false` if it is not one of the counted values.
    #[inline]
    fn count(&mut self, v: f64) -> bool {
        if v == 0.0 {
            let negative = v.is_sign_negative();
            self.negative_zero_first.get_or_insert(negative);
            if negative {
                self.negative_zeros += 1;
                return true;
            }
        }
        // Rounded half away from zero by a conversion (`f64::round` is a call into libm on
        // x86-64's baseline); a wrong `n` only fails the check below.
        let x = v * self.scale;
        let n = (x + 0.5f64.copysign(x)) as i64;
        if (n as f64 / self.scale).to_bits() != v.to_bits() {
            return false;
        }
        match self.counts.get_mut(n.wrapping_sub(self.lo) as usize) {
            Some(c) => {
                *c += 1;
                true
            }
            None => false,
        }
    }

    fn add_to(self, sketch: &mut DDSketch) {
        let negative_zeros = u64::from(self.negative_zeros);
        if self.negative_zero_first == Some(true) {
            sketch.add_with_count(-0.0, negative_zeros);
        }
        for (i, c) in self.counts.into_iter().enumerate() {
            if c > 0 {
                let n = self.lo + i as i64;
                sketch.add_with_count(n as f64 / self.scale, u64::from(c));
            }
        }
        if self.negative_zero_first == Some(false) {
            sketch.add_with_count(-0.0, negative_zeros);
        }
    }
}

fn each_block<T: Copy + Default + PartialOrd + Send + Sync + std::fmt::Debug + 'static>(
    values: &dyn ColumnValues<T>,
    total: u32,
    mut f: impl FnMut(&[T]),
) {
    let mut block = [T::default(); BLOCK];
    let mut start = 0u32;
    while start < total {
        let len = (total - start).min(BLOCK as u32) as usize;
        values.get_range(u64::from(start), &mut block[..len]);
        f(&block[..len]);
        start += len as u32;
    }
}

/// tantivy's intermediate results holding one `percentiles` result named `name`. The
/// collector has no public constructor from a sketch; its serde form is public (one field,
/// the sketch).
fn results(name: &str, sketch: &DDSketch) -> tantivy::Result<IntermediateAggregationResults> {
    let invalid = |e: serde_json::Error| {
        TantivyError::InternalError(format!("percentiles of a whole segment: {e}"))
    };
    let form = serde_json::json!({ "sketch": serde_json::to_value(sketch).map_err(invalid)? });
    let collector = PercentilesCollector::deserialize(form).map_err(invalid)?;
    let mut out = IntermediateAggregationResults::default();
    out.push(
        name.to_string(),
        IntermediateAggregationResult::Metric(IntermediateMetricResult::Percentiles(collector)),
    )?;
    Ok(out)
}
