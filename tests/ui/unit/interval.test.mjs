import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoInterval, pickInterval, bucketCount, dateHistogram, niceNumericInterval, INTERVALS } from '../../../ui/assets/js/lib/interval.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;

test('the quick ranges get 50 to 100 buckets', () => {
  const cases = [
    [15 * MIN, '10s'], [30 * MIN, '30s'], [H, '1m'], [4 * H, '3m'], [24 * H, '15m'],
    [7 * D, '2h'], [30 * D, '12h'], [365 * D, '1w'],
  ];
  for (const [span, want] of cases) {
    const iv = autoInterval(0, span);
    assert.equal(iv.expr, want, `span ${span / MIN} min`);
    const n = bucketCount(iv, 0, span);
    assert.ok(n >= 50 && n <= 100, `span ${span / MIN} min: ${n} buckets`);
  }
});

test('any range gets at most 100 and (up to days) at least 40 buckets', () => {
  for (let span = 1000; span < 90 * D; span = Math.round(span * 1.13)) {
    const iv = autoInterval(0, span);
    const n = bucketCount(iv, 0, span);
    assert.ok(n <= 100, `${span}: ${n}`);
    if (iv.kind === 'fixed') assert.ok(n >= 40, `${span} ms → ${iv.expr}: ${n}`);
  }
});

test('weeks and longer are calendar intervals, the rest fixed', () => {
  assert.equal(autoInterval(0, 2 * 365 * D).kind, 'calendar');
  assert.equal(autoInterval(0, 90 * D).expr, '1d');
  assert.equal(autoInterval(0, 90 * D).kind, 'calendar');
  assert.equal(autoInterval(0, 120 * D).expr, '1w');
  assert.equal(autoInterval(0, 20 * 365 * D).expr, '1q');
  assert.equal(autoInterval(0, 500 * 365 * D).expr, '1y');
  assert.equal(autoInterval(0, 1).expr, '1ms');
  for (const [expr, kind] of INTERVALS) assert.ok(kind === 'calendar' ? /^1[dwMqy]$/.test(expr) : /^\d+(ms|s|m|h)$/.test(expr));
});

test('a chosen interval, and the automatic one when it would give too many buckets', () => {
  assert.equal(pickInterval('auto', 0, H).expr, '1m');
  assert.equal(pickInterval('', 0, H).expr, '1m');
  assert.equal(pickInterval('5m', 0, H).expr, '5m');
  assert.equal(pickInterval('1s', 0, 30 * D).expr, '12h');
  assert.throws(() => pickInterval('7m', 0, H));
});

test('the date_histogram request', () => {
  assert.deepEqual(dateHistogram('@timestamp', autoInterval(0, H), 0, H, 'Europe/Berlin'), {
    date_histogram: { field: '@timestamp', min_doc_count: 0, extended_bounds: { min: 0, max: H }, fixed_interval: '1m', time_zone: 'Europe/Berlin' },
  });
  const cal = dateHistogram('ts', autoInterval(0, 365 * D), 0, 365 * D, 'UTC').date_histogram;
  assert.equal(cal.calendar_interval, '1w');
  assert.equal(cal.time_zone, undefined);
  assert.equal(cal.fixed_interval, undefined);
});

test('numeric histogram widths are 1, 2, 2.5 or 5 times a power of ten', () => {
  assert.equal(niceNumericInterval(0, 1000), 50);
  assert.equal(niceNumericInterval(0, 1171416), 100000);
  assert.equal(niceNumericInterval(200, 504), 20);
  assert.equal(niceNumericInterval(0, 0.9), 0.05);
  assert.equal(niceNumericInterval(5, 5), 1);
});
