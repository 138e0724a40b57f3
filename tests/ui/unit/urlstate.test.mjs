import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeDiscover, encodeDiscover, DISCOVER_DEFAULTS, decodeFilters, encodeFilters,
  decodeDashboardView, encodeDashboardView, sameDiscover,
} from '../../../ui/assets/js/lib/urlstate.js';

test('defaults from an empty URL', () => {
  const s = decodeDiscover('');
  assert.deepEqual(s, { ...DISCOVER_DEFAULTS, filters: [], columns: [] });
  assert.equal(encodeDiscover(s), 'from=now-15m&to=now');
});

test('a full state round-trips through the URL', () => {
  const s = {
    index: 'web-*', from: '2026-11-26T10:00:00.000Z', to: 'now', q: 'message:"a b" AND status:>=500',
    filters: [{ field: 'level.keyword', value: 'error' }, { field: 'status', value: 500, negate: true },
      { field: 'host', exists: true, disabled: true }, { query: 'response:[200 TO 299]', label: '2xx' }],
    columns: ['level', 'message'], split: 'service.keyword', interval: '5m', refresh: 5,
  };
  const text = encodeDiscover(s);
  assert.deepEqual(decodeDiscover(`?${text}`), s);
  assert.ok(sameDiscover(s, decodeDiscover(text)));
  assert.match(text, /^index=web-\*&from=/);
});

test('an empty split is kept (no split), a missing one means the default', () => {
  assert.equal(decodeDiscover('split=').split, '');
  assert.equal(decodeDiscover('').split, null);
  assert.match(encodeDiscover({ ...DISCOVER_DEFAULTS, split: '' }), /split=$/);
});

test('bad filters and refresh values are dropped or clamped', () => {
  assert.deepEqual(decodeFilters('not json'), []);
  assert.deepEqual(decodeFilters('{"field":"a"}'), []);
  assert.deepEqual(decodeFilters('[{"field":"a","value":{"x":1}}, {"nope":1}, {"field":"b","value":null}, 7]'), [{ field: 'b', value: null }]);
  assert.equal(encodeFilters([]), '');
  assert.equal(decodeDiscover('refresh=-3').refresh, 0);
  assert.equal(decodeDiscover('refresh=abc').refresh, 0);
  assert.equal(decodeDiscover('refresh=99999').refresh, 3600);
  assert.equal(decodeDiscover('refresh=2.4').refresh, 2);
});

test('dashboard view: the URL overrides the saved time, query and filters', () => {
  const saved = { from: 'now-7d', to: 'now', query: 'level:error', filters: [{ field: 'service.keyword', value: 'api' }] };
  assert.deepEqual(decodeDashboardView('', saved), { from: 'now-7d', to: 'now', q: 'level:error', filters: saved.filters, refresh: 0 });
  const v = { from: 'now-1h', to: 'now', q: '', filters: [], refresh: 5 };
  assert.deepEqual(decodeDashboardView(encodeDashboardView(v), saved), v);
  const v2 = { from: 'now-1h', to: 'now', q: 'x', filters: [{ field: 'a', value: 1 }], refresh: 0 };
  assert.deepEqual(decodeDashboardView(encodeDashboardView(v2), saved), v2);
  assert.deepEqual(decodeDashboardView('', {}), { from: 'now-24h', to: 'now', q: '', filters: [], refresh: 0 });
});
