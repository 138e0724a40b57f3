// The histogram's automatic interval (no DOM), Kibana-like: the smallest "nice" interval that
// gives at most MAX_BUCKETS buckets over the range; consecutive candidates differ by at most
// 2.5x, so the histogram has between ~40 and 100 bars (50–100 for the usual quick ranges).
// Seconds to days are fixed intervals; weeks, months, quarters and years are calendar ones.

export const MAX_BUCKETS = 100;

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

// [expression, kind, approximate ms, label]
export const INTERVALS = [
  ['1ms', 'fixed', 1, 'millisecond'],
  ['2ms', 'fixed', 2, '2 milliseconds'],
  ['5ms', 'fixed', 5, '5 milliseconds'],
  ['10ms', 'fixed', 10, '10 milliseconds'],
  ['20ms', 'fixed', 20, '20 milliseconds'],
  ['50ms', 'fixed', 50, '50 milliseconds'],
  ['100ms', 'fixed', 100, '100 milliseconds'],
  ['200ms', 'fixed', 200, '200 milliseconds'],
  ['500ms', 'fixed', 500, '500 milliseconds'],
  ['1s', 'fixed', S, 'second'],
  ['2s', 'fixed', 2 * S, '2 seconds'],
  ['5s', 'fixed', 5 * S, '5 seconds'],
  ['10s', 'fixed', 10 * S, '10 seconds'],
  ['15s', 'fixed', 15 * S, '15 seconds'],
  ['30s', 'fixed', 30 * S, '30 seconds'],
  ['1m', 'fixed', M, 'minute'],
  ['2m', 'fixed', 2 * M, '2 minutes'],
  ['3m', 'fixed', 3 * M, '3 minutes'],
  ['5m', 'fixed', 5 * M, '5 minutes'],
  ['10m', 'fixed', 10 * M, '10 minutes'],
  ['15m', 'fixed', 15 * M, '15 minutes'],
  ['30m', 'fixed', 30 * M, '30 minutes'],
  ['1h', 'fixed', H, 'hour'],
  ['2h', 'fixed', 2 * H, '2 hours'],
  ['3h', 'fixed', 3 * H, '3 hours'],
  ['6h', 'fixed', 6 * H, '6 hours'],
  ['12h', 'fixed', 12 * H, '12 hours'],
  ['1d', 'calendar', D, 'day'],
  ['1w', 'calendar', 7 * D, 'week'],
  ['1M', 'calendar', 30 * D, 'month'],
  ['1q', 'calendar', 91 * D, 'quarter'],
  ['1y', 'calendar', 365 * D, 'year'],
];

function toInterval([expr, kind, ms, label]) {
  return { expr, kind, ms, label };
}

/** The interval for a range of `max - min` ms: {expr, kind: fixed|calendar, ms, label}. */
export function autoInterval(min, max, maxBuckets = MAX_BUCKETS) {
  const span = Math.max(1, max - min);
  for (const row of INTERVALS) {
    if (span / row[2] <= maxBuckets) return toInterval(row);
  }
  return toInterval(INTERVALS[INTERVALS.length - 1]);
}

/** A named interval ("5m", "1d", …) or the automatic one for "auto"/empty. */
export function pickInterval(name, min, max) {
  if (!name || name === 'auto') return autoInterval(min, max);
  const row = INTERVALS.find((r) => r[0] === name);
  if (!row) throw new Error(`unknown interval ${name}`);
  // A chosen interval that would make too many buckets falls back to the automatic one.
  if ((max - min) / row[2] > 2000) return autoInterval(min, max);
  return toInterval(row);
}

/** Number of buckets an interval gives over a range (approximate for calendar intervals). */
export function bucketCount(interval, min, max) {
  return Math.ceil((max - min) / interval.ms);
}

/**
 * The date_histogram aggregation over [min, max] in `timeZone`, empty buckets included so the
 * chart's x axis covers the whole range.
 */
export function dateHistogram(field, interval, min, max, timeZone) {
  const agg = {
    field,
    min_doc_count: 0,
    extended_bounds: { min, max },
  };
  agg[interval.kind === 'calendar' ? 'calendar_interval' : 'fixed_interval'] = interval.expr;
  if (timeZone && timeZone !== 'UTC') agg.time_zone = timeZone;
  return { date_histogram: agg };
}

/** A "nice" bucket width for a numeric histogram of `max - min` split into about `bins` bars. */
export function niceNumericInterval(min, max, bins = 20) {
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / bins;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const f of [1, 2, 2.5, 5, 10]) {
    if (raw <= f * mag) return f * mag;
  }
  return 10 * mag;
}
