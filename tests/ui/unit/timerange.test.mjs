import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseDateMath, resolveRange, describeRange, isRelative, parseAbsolute, roundDate, zoomOut,
  relativeRange, absoluteRange, toLocalInput, fromLocalInput, QUICK_RANGES,
} from '../../../ui/assets/js/lib/timerange.js';

// The unit tests run with TZ=UTC (run.sh and the npm script set it) unless said otherwise.
const NOW = Date.UTC(2026, 10, 26, 13, 37, 42, 123); // Thu 2026-11-26 13:37:42.123Z

test('now and offsets', () => {
  assert.equal(parseDateMath('now', NOW), NOW);
  assert.equal(parseDateMath('now-15m', NOW), NOW - 15 * 60_000);
  assert.equal(parseDateMath('now+1h', NOW), NOW + 3_600_000);
  assert.equal(parseDateMath('now-7d', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseDateMath('now-1w', NOW), NOW - 7 * 86_400_000);
  assert.equal(parseDateMath('now-1M', NOW), Date.UTC(2026, 9, 26, 13, 37, 42, 123));
  assert.equal(parseDateMath('now-1y', NOW), Date.UTC(2025, 10, 26, 13, 37, 42, 123));
  assert.equal(parseDateMath('now-1d-2h', NOW), NOW - 26 * 3_600_000);
});

test('rounding down and up', () => {
  assert.equal(parseDateMath('now/d', NOW), Date.UTC(2026, 10, 26));
  assert.equal(parseDateMath('now/d', NOW, true), Date.UTC(2026, 10, 27) - 1);
  assert.equal(parseDateMath('now-1d/d', NOW), Date.UTC(2026, 10, 25));
  assert.equal(parseDateMath('now/h', NOW), Date.UTC(2026, 10, 26, 13));
  assert.equal(parseDateMath('now/m', NOW), Date.UTC(2026, 10, 26, 13, 37));
  assert.equal(parseDateMath('now/w', NOW), Date.UTC(2026, 10, 23)); // Monday
  assert.equal(parseDateMath('now/w', NOW, true), Date.UTC(2026, 10, 30) - 1);
  assert.equal(parseDateMath('now/M', NOW), Date.UTC(2026, 10, 1));
  assert.equal(parseDateMath('now/y', NOW, true), Date.UTC(2027, 0, 1) - 1);
  assert.equal(roundDate(new Date(NOW), 's').getTime(), NOW - 123);
});

test('absolute times and anchored math', () => {
  assert.equal(parseDateMath('2026-11-26T10:00:00Z', NOW), Date.UTC(2026, 10, 26, 10));
  assert.equal(parseDateMath('2026-11-26T10:00:00.500+01:00', NOW), Date.UTC(2026, 10, 26, 9, 0, 0, 500));
  assert.equal(parseDateMath('2026-11-26', NOW), Date.UTC(2026, 10, 26));
  assert.equal(parseDateMath('2026-11-26||+1d/d', NOW), Date.UTC(2026, 10, 27));
  assert.equal(parseDateMath('1796277112795', NOW), 1796277112795);
  assert.equal(parseAbsolute('yesterday'), null);
});

test('invalid text is null', () => {
  for (const bad of ['', 'nowish', 'now-', 'now-5x', 'now-m', 'last week', '2026-13-45T99:99', null]) {
    assert.equal(parseDateMath(bad, NOW), null, String(bad));
  }
});

test('resolveRange checks order and validity', () => {
  assert.deepEqual(resolveRange({ from: 'now-15m', to: 'now' }, NOW), { min: NOW - 900_000, max: NOW });
  assert.deepEqual(resolveRange({ from: 'now/d', to: 'now/d' }, NOW), { min: Date.UTC(2026, 10, 26), max: Date.UTC(2026, 10, 27) - 1 });
  assert.throws(() => resolveRange({ from: 'now', to: 'now-1h' }, NOW), /after its start/);
  assert.throws(() => resolveRange({ from: 'bogus', to: 'now' }, NOW), /invalid start/);
});

test('labels', () => {
  assert.equal(describeRange({ from: 'now-15m', to: 'now' }), 'Last 15 minutes');
  assert.equal(describeRange({ from: 'now-3h', to: 'now' }), 'Last 3 hours');
  assert.equal(describeRange({ from: 'now-1d', to: 'now' }), 'Last 1 day');
  assert.equal(describeRange({ from: 'now/d', to: 'now/d' }), 'Today');
  assert.equal(describeRange({ from: '2026-11-26T10:00:00.000Z', to: '2026-11-26T11:00:00.000Z' }),
    '2026-11-26 10:00:00.000 → 2026-11-26 11:00:00.000');
  assert.equal(describeRange({ from: 'now-2h/h', to: 'now' }), 'now-2h/h → now');
  for (const q of QUICK_RANGES) assert.doesNotThrow(() => resolveRange(q, NOW), q.label);
});

test('relative, absolute and zoom out', () => {
  assert.ok(isRelative({ from: 'now-1h', to: 'now' }));
  assert.ok(!isRelative(absoluteRange(NOW - 1000, NOW)));
  assert.deepEqual(relativeRange(5, 'h'), { from: 'now-5h', to: 'now' });
  assert.throws(() => relativeRange(0, 'h'));
  assert.throws(() => relativeRange(1, 'x'));
  assert.deepEqual(absoluteRange(Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 2) + 0.4),
    { from: '2026-01-01T00:00:00.000Z', to: '2026-01-02T00:00:00.000Z' });
  const z = resolveRange(zoomOut({ from: 'now-2h', to: 'now-1h' }, NOW), NOW);
  assert.equal(z.max - z.min, 2 * 3_600_000);
  const capped = resolveRange(zoomOut({ from: 'now-1h', to: 'now' }, NOW), NOW);
  assert.equal(capped.max, NOW);
});

test('datetime-local inputs round trip', () => {
  const t = Date.UTC(2026, 10, 26, 8, 5, 9);
  assert.equal(toLocalInput(t), '2026-11-26T08:05:09');
  assert.equal(fromLocalInput('2026-11-26T08:05:09'), t);
  assert.equal(fromLocalInput('2026-11-26T08:05'), t - 9000);
  assert.equal(fromLocalInput('garbage'), null);
});
