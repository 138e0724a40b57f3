import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  panelSearch, dashboardMsearch, panelResult, metricAggs, metricValue, metricLabel, validateDashboard, slugify, newPanelId,
} from '../../../ui/assets/js/lib/dashboard.js';
import { autoInterval } from '../../../ui/assets/js/lib/interval.js';

const H = 3_600_000;
const ctx = { range: { min: 0, max: 24 * H }, interval: autoInterval(0, 24 * H, 60), timeZone: 'UTC', q: 'x:1', filters: [{ field: 'a', value: 'b', negate: true }], timeField: '@timestamp' };

test('metrics: aggregations, values, labels', () => {
  assert.deepEqual(metricAggs({ type: 'count' }), {});
  assert.deepEqual(metricAggs({ type: 'avg', field: 'f' }), { m: { avg: { field: 'f' } } });
  assert.deepEqual(metricAggs({ type: 'percentile', field: 'f', percent: 99 }, 'q'), { q: { percentiles: { field: 'f', percents: [99] } } });
  assert.deepEqual(metricAggs({ type: 'share', query: 'level:error' }), { m: { filter: { query_string: { query: 'level:error', analyze_wildcard: true, default_operator: 'OR' } } } });
  assert.throws(() => metricAggs({ type: 'median' }));
  assert.equal(metricValue({ type: 'count' }, { doc_count: 7 }), 7);
  assert.equal(metricValue({ type: 'sum', field: 'f' }, { doc_count: 7, m: { value: 3.5 } }), 3.5);
  assert.equal(metricValue({ type: 'avg', field: 'f' }, { doc_count: 0, m: { value: null } }), null);
  assert.equal(metricValue({ type: 'percentile', percent: 95 }, { m: { values: { '95.0': 48.5 } } }), 48.5);
  assert.equal(metricValue({ type: 'share', query: 'q' }, { doc_count: 200, m: { doc_count: 5 } }), 0.025);
  assert.equal(metricValue({ type: 'share', query: 'q' }, { doc_count: 0, m: { doc_count: 0 } }), null);
  assert.equal(metricLabel({ type: 'percentile', field: 'latency_ms', percent: 95 }), 'p95 latency_ms');
  assert.equal(metricLabel({ type: 'sum', field: 'bytes', label: 'Bytes served' }), 'Bytes served');
  assert.equal(metricLabel(undefined), 'Count');
});

test('a time series split by the top values of a field', () => {
  const body = panelSearch({ type: 'timeseries', metric: { type: 'avg', field: 'latency_ms' }, split: { field: 'service.keyword', size: 3 }, query: 'level:error' }, ctx);
  assert.equal(body.size, 0);
  assert.deepEqual(body.query.bool.must_not, [{ term: { a: 'b' } }]);
  assert.deepEqual(body.query.bool.filter.at(-1), { query_string: { query: 'level:error', analyze_wildcard: true, default_operator: 'OR' } });
  assert.deepEqual(body.aggs.s.terms, { field: 'service.keyword', size: 3 });
  assert.deepEqual(body.aggs.s.aggs.t, {
    date_histogram: { field: '@timestamp', min_doc_count: 0, extended_bounds: { min: 0, max: 24 * H }, fixed_interval: '30m' },
    aggs: { m: { avg: { field: 'latency_ms' } } },
  });
  const resp = { hits: { total: { value: 10, relation: 'eq' } }, aggregations: { s: { buckets: [
    { key: 'api', doc_count: 6, t: { buckets: [{ key: 0, doc_count: 4, m: { value: 10 } }, { key: 1800000, doc_count: 2, m: { value: 20 } }] } },
    { key: 'web', doc_count: 4, t: { buckets: [{ key: 0, doc_count: 4, m: { value: 5 } }] } },
  ] } } };
  const r = panelResult({ type: 'timeseries', metric: { type: 'avg', field: 'latency_ms' }, split: { field: 'service.keyword' } }, resp);
  assert.deepEqual(r.x, [0, 1800000]);
  assert.deepEqual(r.series.map((s) => [s.label, s.values, s.filter, s.total]), [
    ['api', [10, 20], { field: 'service.keyword', value: 'api' }, 6],
    ['web', [5, null], { field: 'service.keyword', value: 'web' }, 4],
  ]);
});

test('a time series split by filters keeps the declared order', () => {
  const panel = { type: 'timeseries', metric: { type: 'count' }, split: { filters: [{ label: '5xx', query: 'response:>=500' }, { label: '2xx', query: 'response:[200 TO 299]' }] } };
  const body = panelSearch(panel, ctx);
  assert.deepEqual(Object.keys(body.aggs.s.filters.filters), ['s0', 's1']);
  assert.equal(body.aggs.s.aggs.t.aggs, undefined);
  const resp = { hits: { total: { value: 5 } }, aggregations: { s: { buckets: {
    s1: { doc_count: 4, t: { buckets: [{ key: 0, doc_count: 3 }, { key: 1, doc_count: 1 }] } },
    s0: { doc_count: 1, t: { buckets: [{ key: 0, doc_count: 1 }, { key: 1, doc_count: 0 }] } },
  } } } };
  const r = panelResult(panel, resp);
  assert.deepEqual(r.series.map((s) => [s.label, s.values, s.total]), [['5xx', [1, 0], 1], ['2xx', [3, 1], 4]]);
  assert.deepEqual(r.series[0].filter, { query: 'response:>=500', label: '5xx' });
});

test('top values, ordered by a metric; table; single metric; saved search', () => {
  const top = panelSearch({ type: 'top', field: 'request.keyword', size: 5, metric: { type: 'sum', field: 'bytes' } }, ctx);
  assert.deepEqual(top.aggs.s, { terms: { field: 'request.keyword', size: 5, order: { m: 'desc' } }, aggs: { m: { sum: { field: 'bytes' } } } });
  const topCount = panelSearch({ type: 'top', field: 'f' }, ctx);
  assert.deepEqual(topCount.aggs.s, { terms: { field: 'f', size: 10 } });
  const tr = panelResult({ type: 'top', field: 'status' }, { hits: { total: { value: 9 } }, aggregations: { s: { sum_other_doc_count: 2, buckets: [{ key: 200, doc_count: 7 }] } } });
  assert.deepEqual(tr, { total: 9, other: 2, rows: [{ key: 200, label: '200', value: 7, count: 7, filter: { field: 'status', value: 200 } }] });
  const boolTop = panelResult({ type: 'top', field: 'ok' }, { hits: { total: { value: 1 } }, aggregations: { s: { buckets: [{ key: 1, key_as_string: 'true', doc_count: 1 }] } } });
  assert.deepEqual(boolTop.rows[0].filter, { field: 'ok', value: true });

  const table = { type: 'table', field: 'clientip.keyword', metrics: [{ type: 'count' }, { type: 'sum', field: 'bytes' }, { type: 'percentile', field: 'l', percent: 50 }] };
  assert.deepEqual(panelSearch(table, ctx).aggs.s.aggs, { m1: { sum: { field: 'bytes' } }, m2: { percentiles: { field: 'l', percents: [50] } } });
  const t = panelResult(table, { hits: { total: { value: 3 } }, aggregations: { s: { buckets: [{ key: '1.2.3.4', doc_count: 3, m1: { value: 30 }, m2: { values: { '50.0': 4 } } }] } } });
  assert.deepEqual(t.columns, ['Count', 'Sum bytes', 'p50 l']);
  assert.deepEqual(t.rows[0].values, [3, 30, 4]);

  const metric = { type: 'metric', metric: { type: 'share', query: 'level:error' } };
  const mb = panelSearch(metric, ctx);
  assert.equal(mb.track_total_hits, true);
  assert.deepEqual(panelResult(metric, { hits: { total: { value: 400 } }, aggregations: { m: { doc_count: 10 } } }).value, 0.025);
  assert.equal(panelResult({ type: 'metric', metric: { type: 'count' } }, { hits: { total: { value: 12 } } }).value, 12);

  const search = panelSearch({ type: 'search', size: 3, columns: ['message'] }, ctx);
  assert.equal(search.size, 3);
  assert.deepEqual(search.sort, [{ '@timestamp': { order: 'desc', unmapped_type: 'date' } }]);
  assert.deepEqual(panelResult({ type: 'search' }, { hits: { total: { value: 1 }, hits: [{ _id: 'a' }] } }), { total: 1, hits: [{ _id: 'a' }] });
});

test('one _msearch for the whole dashboard, panel errors kept apart', () => {
  const d = { index: 'web', panels: [{ type: 'metric', metric: { type: 'count' } }, { type: 'top', field: 'f', index: 'app' }] };
  const lines = dashboardMsearch(d, ctx).trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  assert.deepEqual(lines[0], { index: 'web', ignore_unavailable: true });
  assert.deepEqual(lines[2], { index: 'app', ignore_unavailable: true });
  assert.deepEqual(panelResult(d.panels[0], { error: { root_cause: [{ reason: 'no such index [web]' }] }, status: 404 }), { error: 'no such index [web]', status: 404 });
});

test('validation of imported dashboards', () => {
  assert.deepEqual(validateDashboard({ title: 'x', panels: [] }), []);
  assert.deepEqual(validateDashboard([]), ['a dashboard is a JSON object']);
  const errs = validateDashboard({ title: ' ', panels: [{ type: 'pie' }, { type: 'top' }, { type: 'metric', metric: { type: 'avg' } }, { type: 'metric', metric: { type: 'share' } }] });
  assert.equal(errs.length, 5, errs.join('; '));
  assert.equal(slugify('Web access — copy!'), 'web-access-copy');
  assert.equal(slugify('!!!'), 'dashboard');
  assert.equal(newPanelId({ panels: [{ id: 'panel-1' }] }), 'panel-2');
});

test('the built-in dashboards are valid and their searches build', () => {
  for (const name of ['web-access', 'app-logs']) {
    const d = JSON.parse(readFileSync(new URL(`../../../ui/assets/dashboards/${name}.json`, import.meta.url)));
    assert.deepEqual(validateDashboard(d), [], name);
    assert.ok(d.panels.length >= 4, `${name} has panels`);
    const ids = new Set(d.panels.map((p) => p.id));
    assert.equal(ids.size, d.panels.length, `${name}: panel ids are unique`);
    const lines = dashboardMsearch(d, ctx).trimEnd().split('\n');
    assert.equal(lines.length, 2 * d.panels.length);
  }
});

test('a time series of several metrics (latency percentiles)', () => {
  const panel = { type: 'timeseries', metrics: [{ type: 'percentile', field: 'l', percent: 50 }, { type: 'percentile', field: 'l', percent: 95 }] };
  const body = panelSearch(panel, ctx);
  assert.deepEqual(Object.keys(body.aggs.t.aggs), ['m0', 'm1']);
  const r = panelResult(panel, { hits: { total: { value: 2 } }, aggregations: { t: { buckets: [{ key: 0, doc_count: 2, m0: { values: { '50.0': 1 } }, m1: { values: { '95.0': 9 } } }] } } });
  assert.deepEqual(r.series.map((s) => [s.label, s.values]), [['p50 l', [1]], ['p95 l', [9]]]);
});
