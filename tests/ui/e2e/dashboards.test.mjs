// Dashboards against the real server: each built-in dashboard loads with ONE _msearch and every
// panel's numbers equal the API's own answers (computed here with separately written requests);
// clicking a bar adds a filter; a dashboard is created, edited, saved, reloaded, exported and
// imported through the page.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, openBrowser, screenshot, es, range, dashboardReady } from './helpers.mjs';

let b;
let page;
// A browser in another time zone than the server's UTC: histograms carry `time_zone`.
before(async () => { b = await openBrowser({ timezoneId: 'Europe/Berlin' }); page = b.page; page.on('dialog', (d) => d.accept()); });
after(async () => { await b.close(); });

const qs = (query) => ({ query_string: { query, analyze_wildcard: true } });

function close(a, e, what) {
  if (e === null || e === undefined) { assert.ok(a === null || a === '' || a === undefined, `${what}: ${a} vs none`); return; }
  const x = Number(a);
  assert.ok(Math.abs(x - e) <= 1e-9 * Math.max(1, Math.abs(e)), `${what}: page ${a} vs API ${e}`);
}

/** The metric's aggregation and reader, written independently of the page's code. */
function oracleMetric(m) {
  switch (m.type) {
    case 'count': return { aggs: {}, read: (bk) => bk.doc_count };
    case 'percentile': return { aggs: { v: { percentiles: { field: m.field, percents: [m.percent] } } }, read: (bk) => (bk.doc_count ? Object.values(bk.v.values)[0] : null) };
    case 'share': return { aggs: { v: { filter: qs(m.query) } }, read: (bk) => (bk.doc_count ? bk.v.doc_count / bk.doc_count : null) };
    default: return { aggs: { v: { [m.type]: { field: m.field } } }, read: (bk) => bk.v.value };
  }
}

function histogram(d) {
  const h = { field: '@timestamp', min_doc_count: 0, extended_bounds: { min: d.min, max: d.max } };
  h[d.intervalKind === 'calendar' ? 'calendar_interval' : 'fixed_interval'] = d.interval;
  if (d.timeZone && d.timeZone !== 'UTC') h.time_zone = d.timeZone;
  return h;
}

async function panelData(panelId) {
  return page.evaluate((id) => {
    const card = document.querySelector(`[data-panel-id="${id}"]`);
    const table = card.querySelector('table.data-table');
    return {
      error: card.dataset.error || null,
      total: card.dataset.total,
      metric: card.querySelector('.metric-value')?.dataset.value,
      metricText: card.querySelector('.metric-value')?.textContent,
      head: table ? [...table.querySelectorAll('thead th')].map((th) => th.textContent) : null,
      rows: table ? [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.dataset.value)) : null,
      hits: [...card.querySelectorAll('table.hits tbody tr')].map((tr) => tr.dataset.id),
      searchTotal: card.querySelector('[data-total]:not(section)')?.dataset.total,
    };
  }, panelId);
}

/** Checks one panel's numbers against the API. */
async function checkPanel(doc, p, d, extraFilters = []) {
  const index = p.index || d.index;
  const filter = [range(d.min, d.max), ...extraFilters];
  if (p.query) filter.push(qs(p.query));
  const query = { bool: { filter } };
  const shown = await panelData(p.id);
  assert.equal(shown.error, null, `${p.id}: ${shown.error}`);
  const what = `${doc.title} / ${p.title}`;
  switch (p.type) {
    case 'metric': {
      const o = oracleMetric(p.metric);
      const r = await es.search(index, { size: 0, track_total_hits: true, query, aggs: o.aggs });
      close(shown.metric, o.read({ doc_count: r.hits.total.value, ...r.aggregations }), what);
      assert.notEqual(shown.metricText, '—', what);
      break;
    }
    case 'top': {
      const m = p.metric || { type: 'count' };
      const o = oracleMetric(m);
      const terms = { field: p.field, size: p.size || 10 };
      if (m.type !== 'count') terms.order = { v: 'desc' };
      const r = await es.search(index, { size: 0, query, aggs: { t: { terms, aggs: o.aggs } } });
      const want = r.aggregations.t.buckets;
      assert.deepEqual(shown.rows.map((row) => row[0]), want.map((bk) => String(bk.key)), `${what}: keys`);
      want.forEach((bk, i) => close(shown.rows[i][1], o.read(bk), `${what}: ${bk.key}`));
      break;
    }
    case 'table': {
      const ms = p.metrics.map(oracleMetric);
      const aggs = {};
      ms.forEach((o, i) => { for (const [k, v] of Object.entries(o.aggs)) aggs[`${k}${i}`] = v; });
      const r = await es.search(index, { size: 0, query, aggs: { t: { terms: { field: p.field, size: p.size || 10 }, aggs } } });
      const want = r.aggregations.t.buckets;
      assert.deepEqual(shown.rows.map((row) => row[0]), want.map((bk) => String(bk.key)), `${what}: keys`);
      want.forEach((bk, i) => ms.forEach((o, j) => {
        const renamed = { doc_count: bk.doc_count, v: bk[`v${j}`] };
        close(shown.rows[i][j + 1], o.read(renamed), `${what}: ${bk.key} column ${j}`);
      }));
      break;
    }
    case 'timeseries': {
      // series: [{label, filter clause or null, metric}]
      let series;
      if (p.split && p.split.filters) series = p.split.filters.map((f) => ({ label: f.label, clause: qs(f.query), metric: p.metric }));
      else if (p.split && p.split.field) {
        const r = await es.search(index, { size: 0, query, aggs: { t: { terms: { field: p.split.field, size: p.split.size || 5 } } } });
        series = r.aggregations.t.buckets.map((bk) => ({ label: String(bk.key), clause: { term: { [p.split.field]: bk.key } }, metric: p.metric }));
      } else if (p.metrics) series = p.metrics.map((m) => ({ label: null, clause: null, metric: m }));
      else series = [{ label: null, clause: null, metric: p.metric }];
      assert.equal(shown.head.length, series.length + 1, `${what}: series`);
      series.forEach((s, i) => { if (s.label !== null) assert.equal(shown.head[i + 1], s.label, `${what}: series ${i}`); });
      for (const [i, s] of series.entries()) {
        const o = oracleMetric(s.metric);
        const q = s.clause ? { bool: { filter: [...filter, s.clause] } } : query;
        const r = await es.search(index, { size: 0, query: q, aggs: { h: { date_histogram: histogram(d), aggs: o.aggs } } });
        const want = r.aggregations.h.buckets;
        assert.equal(shown.rows.length, want.length, `${what}: buckets`);
        want.forEach((bk, j) => {
          assert.equal(Date.parse(shown.rows[j][0]), bk.key, `${what}: bucket ${j} key`);
          close(shown.rows[j][i + 1], o.read(bk), `${what}: ${s.label || i} bucket ${j}`);
        });
      }
      break;
    }
    case 'search': {
      const total = await es.count(index, query);
      assert.equal(Number(shown.searchTotal), total, `${what}: total`);
      const r = await es.search(index, { size: p.size || 10, sort: [{ '@timestamp': 'desc' }], query, _source: false });
      assert.deepEqual(shown.hits, r.hits.hits.map((h) => h._id), `${what}: hits`);
      break;
    }
    default:
      assert.fail(`unknown panel type ${p.type}`);
  }
}

for (const id of ['web-access', 'app-logs']) {
  test(`built-in dashboard ${id}: one _msearch, every panel equals the API`, async () => {
    const searches = [];
    const onRequest = (r) => { if (/\/_(m?search|count)\b/.test(r.url())) searches.push(r.url()); };
    page.on('request', onRequest);
    await page.goto(`${BASE}/_ui/dashboards/${id}?from=now-24h&to=now`);
    const d = await dashboardReady(page);
    page.off('request', onRequest);
    assert.deepEqual(searches.map((u) => new URL(u).pathname), ['/_msearch'], 'the dashboard loads with one _msearch');
    const doc = (await es.call('GET', `/_hydrant/ui/dashboards/${id}`)).body;
    assert.ok(doc.panels.length >= 8);
    assert.equal(await page.locator('section.panel').count(), doc.panels.length);
    for (const p of doc.panels) await checkPanel(doc, p, d);
    await screenshot(page, `dashboard-${id}`);
    b.assertClean();
  });
}

test('a long range: calendar days in the browser\'s time zone, still equal to the API', async () => {
  await page.goto(`${BASE}/_ui/dashboards/app-logs?from=now-45d&to=now`);
  const d = await dashboardReady(page);
  assert.deepEqual([d.interval, d.intervalKind, d.timeZone], ['1d', 'calendar', 'Europe/Berlin']);
  const doc = (await es.call('GET', '/_hydrant/ui/dashboards/app-logs')).body;
  for (const p of doc.panels.filter((x) => x.type === 'timeseries')) await checkPanel(doc, p, d);
  b.assertClean();
});

test('clicking a bar or a legend entry adds a filter that every panel applies', async () => {
  await page.goto(`${BASE}/_ui/dashboards/web-access?from=now-24h&to=now`);
  let d = await dashboardReady(page);
  const doc = (await es.call('GET', '/_hydrant/ui/dashboards/web-access')).body;
  const key = await page.getAttribute('[data-panel-id="top-paths"] .bars li >> nth=0', 'data-key');
  await page.click('[data-panel-id="top-paths"] .bars li >> nth=0 >> button');
  d = await dashboardReady(page, d.ready);
  await page.waitForSelector(`.pill[data-filter="request: ${key}"]`);
  assert.match(page.url(), /filters=/);
  const extra = [{ term: { 'request.keyword': key } }];
  for (const p of doc.panels) await checkPanel(doc, p, d, extra);

  await page.click('button[aria-label="Remove filter: request: ' + key + '"]');
  d = await dashboardReady(page, d.ready);
  await page.click('[data-panel-id="status-classes"] .legend li[data-label="4xx"] button');
  d = await dashboardReady(page, d.ready);
  await page.waitForSelector('.pill[data-filter="4xx"]');
  const requests = doc.panels.find((p) => p.id === 'requests');
  await checkPanel(doc, requests, d, [qs('response:[400 TO 499]')]);
  await checkPanel(doc, doc.panels.find((p) => p.id === 'top-clients'), d, [qs('response:[400 TO 499]')]);
  await screenshot(page, 'dashboard-filtered', false);

  // The back button removes the filter again.
  await page.goBack();
  d = await dashboardReady(page, d.ready);
  assert.equal(await page.locator('.pill').count(), 0);
  await checkPanel(doc, requests, d);
  b.assertClean();
});

test('create, edit, save, reload, export and import a dashboard', async () => {
  for (const id of ['e2e-board', 'e2e-board-2']) await es.call('DELETE', `/_hydrant/ui/dashboards/${id}`);
  await page.goto(`${BASE}/_ui/dashboards`);
  await page.waitForSelector('tr[data-dashboard="web-access"]');
  await page.click('button:has-text("Create dashboard")');
  const dlg = page.locator('dialog[open]');
  await dlg.getByLabel('Title').fill('E2E board');
  await dlg.getByLabel('Stream or index pattern').fill('app');
  await dlg.locator('button[type="submit"]').click();
  await page.waitForURL(/\/_ui\/dashboards\/e2e-board\?/);
  let d = await dashboardReady(page);

  await page.click('button:has-text("+ Add panel")');
  await dlg.getByLabel('Title').fill('Levels');
  await dlg.getByLabel('Type').selectOption('top');
  await dlg.getByLabel('Values of field').fill('level.keyword');
  await dlg.locator('button[type="submit"]').click();
  d = await dashboardReady(page, d.ready);
  await page.waitForSelector('section.panel[data-panel-type="top"] .bars li');

  await page.click('button:has-text("+ Add panel")');
  await dlg.getByLabel('Title').fill('Latency by service');
  await dlg.getByLabel('Type').selectOption('timeseries');
  await dlg.getByLabel('Split series by').selectOption('field');
  await dlg.getByLabel('Split field').fill('service.keyword');
  await dlg.getByLabel('Aggregation').selectOption('percentile');
  await dlg.getByLabel('Metric field').fill('latency_ms');
  await dlg.getByLabel('Percentile').fill('90');
  await dlg.locator('button[type="submit"]').click();
  d = await dashboardReady(page, d.ready);
  await page.waitForSelector('section.panel[data-panel-type="timeseries"] .chart');

  await page.click('button[data-action="save"]');
  await page.waitForSelector('.toast:has-text("Saved")');
  const saved = (await es.call('GET', '/_hydrant/ui/dashboards/e2e-board')).body;
  assert.equal(saved.title, 'E2E board');
  assert.equal(saved.index, 'app');
  assert.deepEqual(saved.panels.map((p) => [p.type, p.title]), [['top', 'Levels'], ['timeseries', 'Latency by service']]);
  assert.deepEqual(saved.panels[1].metric, { type: 'percentile', field: 'latency_ms', percent: 90 });
  assert.deepEqual(saved.panels[1].split, { field: 'service.keyword', size: 5 });

  await page.goto(`${BASE}/_ui/dashboards/e2e-board?from=now-24h&to=now`);
  d = await dashboardReady(page);
  for (const p of saved.panels) await checkPanel(saved, p, d);
  await screenshot(page, 'dashboard-created');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button:has-text("Export")')]);
  const file = await download.path();
  const exported = JSON.parse(readFileSync(file, 'utf8'));
  assert.equal(exported.id, 'e2e-board');
  assert.equal(exported.title, 'E2E board');
  assert.deepEqual(exported.panels, saved.panels);

  await page.goto(`${BASE}/_ui/dashboards`);
  await page.waitForSelector('tr[data-dashboard="e2e-board"]');
  await page.setInputFiles('input[type="file"]', file);
  await page.waitForURL(/\/_ui\/dashboards\/e2e-board-2/);
  d = await dashboardReady(page);
  const imported = (await es.call('GET', '/_hydrant/ui/dashboards/e2e-board-2')).body;
  assert.deepEqual(imported.panels, saved.panels);
  for (const p of imported.panels) await checkPanel(imported, p, d);

  // Delete both through the page.
  await page.click('button:has-text("Delete")');
  await page.waitForURL(/\/_ui\/dashboards$/);
  await page.waitForSelector('tr[data-dashboard="e2e-board"]');
  await page.click('button[aria-label="Delete dashboard E2E board"]');
  await page.waitForSelector('tr[data-dashboard="e2e-board"]', { state: 'detached' });
  assert.equal((await es.call('GET', '/_hydrant/ui/dashboards/e2e-board')).status, 404);
  await screenshot(page, 'dashboards-list', false);
  b.assertClean();
});
