//! The event-time range a query requires: what lets a search skip the segments (and so whole
//! daily indices) whose `@timestamp` column lies outside it, from the column's min and max
//! alone, without opening a posting list. Only ranges every match must satisfy count — a
//! `range` at the top, or under a `bool`'s `must`/`filter` (and `constant_score`, `boost`) —
//! intersected; anything else leaves the time unconstrained.

use std::ops::Bound;

use hydrant_index::FieldTarget;
use tantivy::SegmentReader;
use tantivy::index::SegmentId;

use super::{Compiler, date_bound};
use crate::ast::QueryAst;
use crate::dates::DateParser;
use crate::memo::Memo;

/// A range of event times, epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    lo: Bound<i64>,
    hi: Bound<i64>,
}

/// A segment's event times: the smallest and largest `@timestamp` (epoch ms), and whether
/// every document has exactly one.
#[derive(Debug, Clone, Copy)]
struct Span {
    min: i64,
    max: i64,
    full: bool,
}

/// [`Span`]s by segment, read once: every search asks each segment's span to skip it, and
/// opening the column by name costs more than the question.
static SPANS: Memo<SegmentId, Option<Span>> = Memo::new(65_536);

/// The segment's event times (`None`: it has none).
fn span(segment: &SegmentReader) -> Option<Span> {
    SPANS.get_or(segment.segment_id(), || {
        let column = segment
            .fast_fields()
            .date(hydrant_index::mapping::TIMESTAMP_FIELD)
            .ok()?;
        if column.values.num_vals() == 0 {
            return None;
        }
        let ms = |d: tantivy::DateTime| d.into_timestamp_nanos().div_euclid(1_000_000);
        Some(Span {
            min: ms(column.min_value()),
            max: ms(column.max_value()),
            full: column.get_cardinality() == tantivy::columnar::Cardinality::Full,
        })
    })
}

fn tighter(a: Bound<i64>, b: Bound<i64>, lower: bool) -> Bound<i64> {
    use Bound::{Excluded, Included, Unbounded};
    let key = |x: &Bound<i64>| match x {
        // For a lower bound, (5 is tighter than [5; for an upper bound, 5) is tighter than 5].
        Included(v) => (*v, 0),
        Excluded(v) => (*v, if lower { 1 } else { -1 }),
        Unbounded => unreachable!(),
    };
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (x, y) => {
            let pick_x = if lower {
                key(&x) >= key(&y)
            } else {
                key(&x) <= key(&y)
            };
            if pick_x { x } else { y }
        }
    }
}

impl TimeRange {
    fn intersect(self, other: TimeRange) -> TimeRange {
        TimeRange {
            lo: tighter(self.lo, other.lo, true),
            hi: tighter(self.hi, other.hi, false),
        }
    }

    /// The range in nanoseconds as tantivy's date histogram normalizes times (f64), a
    /// millisecond wider on each side than the range itself: every time in the range is
    /// inside it, whatever the column's precision and the f64's rounding.
    pub fn nanos_hull(&self) -> (f64, f64) {
        let ns = |ms: i64| ms as f64 * 1_000_000.0;
        let lo = match self.lo {
            Bound::Included(v) | Bound::Excluded(v) => ns(v) - 1_000_000.0,
            Bound::Unbounded => f64::MIN,
        };
        let hi = match self.hi {
            Bound::Included(v) | Bound::Excluded(v) => ns(v) + 2_000_000.0,
            Bound::Unbounded => f64::MAX,
        };
        (lo, hi)
    }

    /// Whether no time in `[min, max]` (epoch ms) is in the range.
    pub fn misses(&self, min: i64, max: i64) -> bool {
        let below = match self.lo {
            Bound::Included(lo) => max < lo,
            Bound::Excluded(lo) => max <= lo,
            Bound::Unbounded => false,
        };
        let above = match self.hi {
            Bound::Included(hi) => min > hi,
            Bound::Excluded(hi) => min >= hi,
            Bound::Unbounded => false,
        };
        below || above
    }

    /// Whether no document of `segment` can be in the range: its `@timestamp` column has
    /// values and their min and max lie outside it.
    pub fn misses_segment(&self, segment: &SegmentReader) -> bool {
        span(segment).is_some_and(|s| self.misses(s.min, s.max))
    }

    /// The share of `segment`'s documents in the range if they are spread evenly over its
    /// event times: 0 for a segment it misses, 1 for one without times (an estimate of the
    /// work a search does there, never of its answer).
    pub fn share_of_segment(&self, segment: &SegmentReader) -> f64 {
        let Some(Span { min, max, .. }) = span(segment) else {
            return 1.0;
        };
        if self.misses(min, max) {
            return 0.0;
        }
        let lo = match self.lo {
            Bound::Included(v) | Bound::Excluded(v) => v.max(min),
            Bound::Unbounded => min,
        };
        let hi = match self.hi {
            Bound::Included(v) | Bound::Excluded(v) => v.min(max),
            Bound::Unbounded => max,
        };
        // In f64: a span of the whole i64 range overflows the difference.
        ((hi as f64 - lo as f64 + 1.0) / (max as f64 - min as f64 + 1.0)).clamp(0.0, 1.0)
    }

    /// Whether every document of `segment` is in the range: it is all time, or each has one
    /// `@timestamp`, inside it.
    pub fn covers_segment(&self, segment: &SegmentReader) -> bool {
        if *self == ALL_TIME {
            return true;
        }
        let Some(Span {
            min,
            max,
            full: true,
        }) = span(segment)
        else {
            return false;
        };
        let above_lo = match self.lo {
            Bound::Included(lo) => min >= lo,
            Bound::Excluded(lo) => min > lo,
            Bound::Unbounded => true,
        };
        let below_hi = match self.hi {
            Bound::Included(hi) => max <= hi,
            Bound::Excluded(hi) => max < hi,
            Bound::Unbounded => true,
        };
        above_lo && below_hi
    }
}

/// Every event time.
const ALL_TIME: TimeRange = TimeRange {
    lo: Bound::Unbounded,
    hi: Bound::Unbounded,
};

impl Compiler<'_> {
    /// The range of `@timestamp` every document `ast` matches lies in, when it requires one.
    pub fn time_range(&self, ast: &QueryAst) -> Option<TimeRange> {
        match ast {
            QueryAst::Range {
                field: Some(field),
                lower,
                upper,
                format,
                time_zone,
            } if matches!(self.mapper.resolve(field), FieldTarget::Timestamp) => {
                let dates =
                    DateParser::new(format.as_deref(), time_zone.as_deref(), self.now_ms).ok()?;
                Some(TimeRange {
                    lo: date_bound(lower, &dates, true).ok()?,
                    hi: date_bound(upper, &dates, false).ok()?,
                })
            }
            QueryAst::Bool(b) => b
                .must
                .iter()
                .chain(&b.filter)
                .filter_map(|q| self.time_range(q))
                .reduce(TimeRange::intersect),
            QueryAst::ConstantScore { filter: q, .. } | QueryAst::Boost { query: q, .. } => {
                self.time_range(q)
            }
            _ => None,
        }
    }

    /// The range within which `ast` matches every document, when it asks nothing else: it is
    /// `match_all`, a `@timestamp` range, or `bool`, `constant_score` and `boost` of those
    /// without `should` or `must_not`. A segment whose times all lie inside it (and that has
    /// no deleted documents) is matched whole.
    pub fn whole_range(&self, ast: &QueryAst) -> Option<TimeRange> {
        match ast {
            QueryAst::MatchAll => Some(ALL_TIME),
            QueryAst::Range { .. } => self.time_range(ast),
            QueryAst::Bool(b)
                if b.should.is_empty()
                    && b.must_not.is_empty()
                    && b.minimum_should_match.is_none() =>
            {
                b.must
                    .iter()
                    .chain(&b.filter)
                    .try_fold(ALL_TIME, |acc, q| Some(acc.intersect(self.whole_range(q)?)))
            }
            QueryAst::ConstantScore { filter: q, .. } | QueryAst::Boost { query: q, .. } => {
                self.whole_range(q)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Bound::{Excluded, Included, Unbounded};

    fn r(lo: Bound<i64>, hi: Bound<i64>) -> TimeRange {
        TimeRange { lo, hi }
    }

    #[test]
    fn a_range_misses_only_spans_wholly_outside_it_with_its_bounds_inclusive_or_not() {
        let closed = r(Included(10), Included(20));
        assert!(closed.misses(0, 9) && closed.misses(21, 30));
        assert!(!closed.misses(0, 10) && !closed.misses(20, 30) && !closed.misses(12, 13));
        let open = r(Excluded(10), Excluded(20));
        assert!(open.misses(0, 10) && open.misses(20, 30));
        assert!(!open.misses(0, 11) && !open.misses(19, 30));
        assert!(!r(Unbounded, Unbounded).misses(i64::MIN, i64::MAX));
    }

    #[test]
    fn intersecting_keeps_the_tighter_bound_on_each_side() {
        let a = r(Included(10), Excluded(30));
        let b = r(Excluded(10), Included(40));
        assert_eq!(a.intersect(b), r(Excluded(10), Excluded(30)));
        assert_eq!(b.intersect(a), r(Excluded(10), Excluded(30)));
        let c = r(Unbounded, Included(25));
        assert_eq!(a.intersect(c), r(Included(10), Included(25)));
    }
}
