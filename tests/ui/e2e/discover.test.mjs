// Discover against the real server: counts equal the API's, search, query errors inline, filters
// from the field list, zoom by dragging, back button, paging, rows, columns, highlights, live tail.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, openBrowser, screenshot, es, range, shownNumber, discoverReady, until } from './helpers.mjs';

let b;
let page;
before(async () => { b = await openBrowser(); page = b.page; });
after(async () => { await b.close(); });

const qs = (query) => ({ query_string: { query, analyze_wildcard: true } });

test('the hit count equals _count for the same range', async () => {
  await page.goto(`${BASE}/_ui/discover?index=web&from=now-24h&to=now`);
  const s = await discoverReady(page);
  assert.ok(s.total > 1000, `hits ${s.total}`);
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max)] } }));
  assert.equal(shownNumber(await page.textContent('#hit-count')), s.total);
  // The histogram covers the range with 50–100 buckets and is split by `response` by default.
  const buckets = Number(await page.getAttribute('.hist-chart', 'data-buckets'));
  assert.ok(buckets >= 50 && buckets <= 100, `${buckets} buckets`);
  assert.equal(await page.inputValue('select[id^="split"]'), 'response');
  assert.ok(await page.locator('.hist-legend .legend-btn').count() >= 2);
  // Rows are newest first.
  const times = await page.$$eval('tr.doc-row .col-time', (tds) => tds.map((td) => td.textContent));
  assert.equal(times.length, 50);
  assert.deepEqual([...times].sort().reverse(), times);
  await screenshot(page, 'discover');
  b.assertClean();
});

test('search with Lucene syntax; the server error reason is shown inline', async () => {
  let s = await discoverReady(page);
  await page.fill('.query-input', 'response:404 AND verb:GET');
  await page.press('.query-input', 'Enter');
  s = await discoverReady(page, s.ready);
  assert.equal(s.total, await es.count('web', { bool: { must: [qs('response:404 AND verb:GET')], filter: [range(s.min, s.max)] } }));
  assert.match(page.url(), /q=response%3A404/);

  await page.fill('.query-input', 'response:(404');
  await page.press('.query-input', 'Enter');
  await page.waitForSelector('.query-error:not([hidden])');
  const shown = await page.textContent('.query-error');
  const api = await es.call('POST', '/web/_search', { query: qs('response:(404') });
  assert.equal(api.status, 400);
  assert.ok(shown.includes(api.body.error.root_cause[0].reason), `${shown} vs ${api.body.error.root_cause[0].reason}`);
  assert.equal(await page.getAttribute('.query-input', 'aria-invalid'), 'true');
  await screenshot(page, 'discover-query-error', false);

  await page.fill('.query-input', '');
  await page.press('.query-input', 'Enter');
  await page.waitForSelector('.query-error', { state: 'hidden' });
  b.assertClean();
});

test('top values of a field, filter for and filter out, checked against the API', async () => {
  let s = await discoverReady(page);
  await page.click('li.field[data-field="verb"] .field-name');
  await page.waitForSelector('li.field[data-field="verb"] .top-value');
  const top = await page.$$eval('li.field[data-field="verb"] .top-value', (lis) => lis.map((li) => ({ value: li.dataset.value, count: Number(li.querySelector('.tv-share').dataset.count) })));
  const agg = await es.search('web', { size: 0, query: { bool: { filter: [range(s.min, s.max)] } }, aggs: { t: { terms: { field: 'verb.keyword', size: 5 } } } });
  assert.deepEqual(top, agg.aggregations.t.buckets.map((bk) => ({ value: bk.key, count: bk.doc_count })));
  await screenshot(page, 'discover-field', false);

  const value = top[0].value;
  await page.click(`button[aria-label="Filter for verb: ${value}"]`);
  s = await discoverReady(page, s.ready);
  await page.waitForSelector(`.pill[data-filter="verb: ${value}"]`);
  assert.equal(s.total, top[0].count);
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max), { term: { 'verb.keyword': value } }] } }));

  await page.click(`button[aria-label="Exclude results: verb: ${value}"]`);
  s = await discoverReady(page, s.ready);
  await page.waitForSelector(`.pill[data-filter="NOT verb: ${value}"]`);
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max)], must_not: [{ term: { 'verb.keyword': value } }] } }));

  await page.click(`button[aria-label="Remove filter: NOT verb: ${value}"]`);
  s = await discoverReady(page, s.ready);
  assert.equal(await page.locator('.pill').count(), 0);
  b.assertClean();
});

test('a numeric field shows min, avg, max and a distribution', async () => {
  const s = await discoverReady(page);
  await page.click('li.field[data-field="bytes"] .field-name');
  await page.waitForSelector('li.field[data-field="bytes"] .dist-bar');
  const stats = (await es.search('web', { size: 0, query: { bool: { filter: [range(s.min, s.max)] } }, aggs: { s: { stats: { field: 'bytes' } } } })).aggregations.s;
  for (const k of ['min', 'max']) {
    assert.equal(shownNumber(await page.textContent(`li.field[data-field="bytes"] [data-stat="${k}"]`)), stats[k], k);
  }
  const avg = shownNumber(await page.textContent('li.field[data-field="bytes"] [data-stat="avg"]'));
  assert.ok(Math.abs(avg - stats.avg) < 0.1, `avg ${avg} vs ${stats.avg}`);
  await page.click('li.field[data-field="bytes"] .field-name'); // close
  b.assertClean();
});

test('dragging on the histogram zooms; the back button undoes it', async () => {
  let s = await discoverReady(page);
  const before = { url: page.url(), total: s.total };
  const box = await page.locator('.hist-chart .u-over').boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.40, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.50, y, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.60, y, { steps: 4 });
  await page.mouse.up();
  s = await discoverReady(page, s.ready);
  assert.match(page.url(), /from=20\d\d-/);
  const width = s.max - s.min;
  assert.ok(width > 0.15 * 86_400_000 && width < 0.25 * 86_400_000, `zoomed to ${width / 3_600_000} h`);
  assert.ok(s.total < before.total);
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max)] } }));
  await screenshot(page, 'discover-zoomed', false);

  await page.goBack();
  s = await discoverReady(page, s.ready);
  assert.equal(page.url(), before.url);
  assert.equal(s.max - s.min, 86_400_000);
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max)] } }));
  b.assertClean();
});

test('paging with search_after in a point in time, rows expand to a field table and JSON', async () => {
  let s = await discoverReady(page);
  const page1 = await page.$$eval('tr.doc-row', (rows) => rows.map((r) => r.dataset.id));
  const lastTime = await page.locator('tr.doc-row .col-time').last().textContent();
  await page.click('button[aria-label="Older documents"]');
  await page.waitForSelector('.pager [data-page="1"]');
  const page2 = await page.$$eval('tr.doc-row', (rows) => rows.map((r) => r.dataset.id));
  assert.equal(page2.length, 50);
  assert.equal(page2.filter((id) => page1.includes(id)).length, 0, 'pages do not overlap');
  const firstTime2 = await page.locator('tr.doc-row .col-time').first().textContent();
  assert.ok(firstTime2 <= lastTime, `${firstTime2} <= ${lastTime}`);
  assert.match(await page.textContent('.pager'), /51–100 of/);
  // The same documents as the API's own search_after paging over the same range.
  const api1 = await es.search('web', { size: 50, sort: [{ '@timestamp': 'desc' }], query: { bool: { filter: [range(s.min, s.max)] } }, _source: false });
  const api2 = await es.search('web', { size: 50, sort: [{ '@timestamp': 'desc' }], search_after: api1.hits.hits.at(-1).sort, query: { bool: { filter: [range(s.min, s.max)] } }, _source: false });
  assert.deepEqual(new Set(page1), new Set(api1.hits.hits.map((h) => h._id)));
  assert.deepEqual(new Set(page2), new Set(api2.hits.hits.map((h) => h._id)));
  await page.click('button[aria-label="Newer documents"]');
  await page.waitForSelector('.pager [data-page="0"]');

  const id = await page.getAttribute('tr.doc-row >> nth=0', 'data-id');
  await page.click('tr.doc-row >> nth=0 >> button.expand');
  const details = page.locator('tr.doc-details:not([hidden])');
  await details.locator('.field-table').waitFor();
  assert.ok(await details.locator('.field-table tbody tr').count() >= 10);
  await details.locator('button[role="tab"]:has-text("JSON")').click();
  const json = JSON.parse(await details.locator('pre.json').textContent());
  assert.equal(json._id, id);
  assert.ok(json._source.request);
  await screenshot(page, 'discover-document', false);
  b.assertClean();
});

test('columns, highlighted matches, and the whole state in the URL', async () => {
  let s = await discoverReady(page);
  await page.click('button[aria-label="Add column request"]');
  await page.waitForSelector('table.docs thead th:has-text("request")');
  await page.click('button[aria-label="Add column response"]');
  await page.waitForSelector('table.docs thead th:has-text("response")');
  assert.match(page.url(), /columns=request%2Cresponse/);

  await page.fill('.query-input', 'request:cart');
  await page.press('.query-input', 'Enter');
  s = await discoverReady(page, s.ready);
  const marks = await page.$$eval('table.docs mark', (ms) => ms.map((m) => m.textContent.toLowerCase()));
  assert.ok(marks.length > 0, 'highlighted');
  assert.ok(marks.every((m) => m === 'cart'), marks.join());
  assert.equal(s.total, await es.count('web', { bool: { must: [qs('request:cart')], filter: [range(s.min, s.max)] } }));

  await page.click('li.field[data-field="verb"] .field-name');
  await page.waitForSelector('li.field[data-field="verb"] .top-value');
  const v = await page.getAttribute('li.field[data-field="verb"] .top-value >> nth=0', 'data-value');
  await page.click(`button[aria-label="Filter for verb: ${v}"]`);
  s = await discoverReady(page, s.ready);
  const url = page.url();
  await page.reload();
  const r = await discoverReady(page);
  assert.equal(page.url(), url);
  assert.equal(await page.inputValue('.query-input'), 'request:cart');
  await page.waitForSelector(`.pill[data-filter="verb: ${v}"]`);
  assert.deepEqual(await page.$$eval('table.docs thead th .mono', (ths) => ths.map((t) => t.textContent)), ['request', 'response']);
  assert.equal(r.total, await es.count('web', { bool: { must: [qs('request:cart')], filter: [range(r.min, r.max), { term: { 'verb.keyword': v } }] } }));
  await screenshot(page, 'discover-columns', false);
  b.assertClean();
});

test('live tail shows new records', async () => {
  await page.goto(`${BASE}/_ui/discover?index=web&from=now-1h&to=now&split=level&refresh=1`);
  let s = await discoverReady(page);
  const before = s.total;
  const now = new Date().toISOString();
  const lines = Array.from({ length: 7 }, (_, i) => JSON.stringify({ '@timestamp': now, request: `/live-tail/${i}`, response: 200, verb: 'GET', bytes: 1 })).join('\n');
  const r = await es.call('POST', '/v1/streams/web/records?refresh=wait_for', lines, { 'content-type': 'application/x-ndjson' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until(async () => { s = await discoverReady(page, s.ready); return s.total >= before + 7; }, { message: 'live tail to show 7 new records' });
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max)] } }));
  await page.waitForSelector('table.docs mark, table.docs td:has-text("/live-tail/")');
  await page.selectOption('select[id^="live"]', '0');
  b.assertClean();
});

test('text lines (the Apache sample): counts and full-text search', async () => {
  await page.goto(`${BASE}/_ui/discover?index=apache&from=now-7d&to=now`);
  let s = await discoverReady(page);
  assert.equal(s.total, 10000);
  assert.equal(s.total, await es.count('apache', { bool: { filter: [range(s.min, s.max)] } }));
  assert.equal(await page.inputValue('select[id^="split"]'), '');
  await page.fill('.query-input', 'message:Googlebot');
  await page.press('.query-input', 'Enter');
  s = await discoverReady(page, s.ready);
  assert.ok(s.total > 0);
  assert.equal(s.total, await es.count('apache', { bool: { must: [qs('message:Googlebot')], filter: [range(s.min, s.max)] } }));
  assert.ok(await page.locator('table.docs mark').count() > 0);
  await screenshot(page, 'discover-apache-text', false);
  b.assertClean();
});

test('the index chooser lists the streams; an unknown one shows an empty state', async () => {
  const options = await page.$$eval('datalist option', (os) => os.map((o) => o.value));
  for (const name of ['web', 'app', 'apache']) assert.ok(options.includes(name), `${name} in ${options}`);
  let s = await discoverReady(page);
  await page.fill('.index-input', 'no-such-stream');
  await page.press('.index-input', 'Enter');
  s = await discoverReady(page, s.ready);
  await page.waitForSelector('.empty:has-text("No stream or index matches")');
  assert.equal(s.total, 0);
  b.assertClean();
});

test('keyboard: the time picker and the field list work without a mouse', async () => {
  await page.goto(`${BASE}/_ui/discover?index=web&from=now-24h&to=now`);
  let s = await discoverReady(page);
  await page.focus('.tp-button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.tp-popover:not([hidden])');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('tp-n')), true, 'focus moves into the picker');
  await page.keyboard.press('Escape');
  await page.waitForSelector('.tp-popover', { state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('tp-button')), true, 'focus returns to the button');
  // Last 2 hours through the relative form, by keyboard only.
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+A');
  await page.keyboard.type('2');
  await page.keyboard.press('Tab');
  await page.keyboard.press('h'); // the unit select: hours
  await page.keyboard.press('Tab'); // the Apply button
  await page.keyboard.press('Enter');
  s = await discoverReady(page, s.ready);
  assert.match(page.url(), /from=now-2h&to=now/);
  assert.equal(s.max - s.min, 2 * 3_600_000);
  assert.equal(s.total, await es.count('web', { bool: { filter: [range(s.min, s.max)] } }));
  assert.equal(await page.textContent('.tp-label'), 'Last 2 hours');
  await page.focus('li.field[data-field="verb"] .field-name');
  await page.keyboard.press('Enter');
  await page.waitForSelector('li.field[data-field="verb"] .top-value');
  assert.equal(await page.getAttribute('li.field[data-field="verb"] .field-name', 'aria-expanded'), 'true');
  b.assertClean();
});
