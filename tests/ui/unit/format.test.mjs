import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNumber, formatBytes, parseCatSize, formatDuration, formatRate, formatPercent, formatValue, formatCompact, formatTime } from '../../../ui/assets/js/lib/format.js';

test('numbers', () => {
  assert.equal(formatNumber(20000), '20,000');
  assert.equal(formatNumber(42.33915), '42.34');
  assert.equal(formatNumber(12710.0547), '12,710.1');
  assert.equal(formatNumber(null), '—');
  assert.equal(formatCompact(25300), '25.3k');
  assert.equal(formatCompact(2_500_000), '2.5M');
});

test('bytes, sizes from _cat', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(254201094), '242 MB');
  assert.equal(parseCatSize('2.8mb'), Math.round(2.8 * 1024 * 1024));
  assert.equal(parseCatSize('12b'), 12);
  assert.equal(parseCatSize('x'), null);
});

test('durations, rates, percents, metric values', () => {
  assert.equal(formatDuration(0.25), '250 ms');
  assert.equal(formatDuration(12.34), '12.3 s');
  assert.equal(formatDuration(250), '4m 10s');
  assert.equal(formatDuration(7500), '2h 5m');
  assert.equal(formatRate(1234.56), '1,234.6/s');
  assert.equal(formatRate(2048, true), '2.0 KB/s');
  assert.equal(formatRate(null), '—');
  assert.equal(formatPercent(0.0165), '1.7 %');
  assert.equal(formatValue(0.5, 'percent'), '50.0 %');
  assert.equal(formatValue(99.94, 'ms'), '99.9 ms');
  assert.equal(formatValue(1.234567), '1.23');
  assert.equal(formatTime(Date.UTC(2026, 11, 3, 5, 53, 23, 451)), 'Dec 3, 2026 @ 05:53:23.451');
});
