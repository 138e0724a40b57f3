// The streams page against the real server: per-stream counts equal the metrics, rates appear
// when records arrive, the indices table equals _cat/indices; a fresh server shows the one
// command that ships a first log file. Also: a browser opening / lands on the UI.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { BASE, openBrowser, screenshot, es, shownNumber, until } from './helpers.mjs';

let b;
let page;
before(async () => { b = await openBrowser(); page = b.page; });
after(async () => { await b.close(); });

function metric(text, name, stream) {
  const m = new RegExp(`^${name}\\{stream="${stream}"[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

const stat = (stream, key) => page.textContent(`[data-stream="${stream}"] [data-metric="${key}"] .stat-value`);

test('per-stream counts equal the metrics and follow new records; rates appear', async () => {
  await page.goto(`${BASE}/_ui/streams`);
  await page.waitForSelector('[data-stream="web"]');
  const text = await es.metrics();
  for (const s of ['web', 'app', 'apache']) {
    assert.equal(shownNumber(await stat(s, 'incoming-records')), metric(text, 'hydrant_incoming_records_total', s), s);
    assert.equal(shownNumber(await stat(s, 'throttled')), metric(text, 'hydrant_throttled_records_total', s), s);
    const delivered = await page.textContent(`[data-stream="${s}"] tr[data-destination="index"] [data-metric="delivered"]`);
    assert.equal(shownNumber(delivered), Number(/^hydrant_delivery_records_total\{stream="STREAM",destination="index"\} (\d+)$/m.exec(text.replace(/stream="([^"]+)",destination/g, (all, n) => (n === s ? 'stream="STREAM",destination' : all)))[1]));
  }

  // Ship records for a few seconds: the page shows a rate and the new total.
  const lines = (n, k) => Array.from({ length: n }, (_, i) => JSON.stringify({ '@timestamp': new Date().toISOString(), request: `/streams-test/${k}/${i}`, response: 200, bytes: 10 })).join('\n');
  let k = 0;
  await until(async () => {
    k += 1;
    const r = await es.call('POST', '/v1/streams/web/records', lines(200, k), { 'content-type': 'application/x-ndjson' });
    assert.equal(r.status, 200);
    const rate = await stat('web', 'records-rate');
    return /[1-9]/.test(rate) ? rate : null;
  }, { interval: 300, message: 'a non-zero records/s rate for web' });
  const after = await es.metrics();
  const want = metric(after, 'hydrant_incoming_records_total', 'web');
  await until(async () => shownNumber(await stat('web', 'incoming-records')) === want, { message: `web total ${want}` });
  assert.match(await stat('web', 'bytes-rate'), /B\/s$/);
  await screenshot(page, 'streams');
  b.assertClean();
});

test('the indices table equals _cat/indices', async () => {
  await page.goto(`${BASE}/_ui/streams`);
  const cat = (await es.call('GET', '/_cat/indices?format=json')).body;
  await page.waitForSelector(`tr[data-index="${cat[0].index}"]`);
  // Delivery keeps going in the background; wait until the page's numbers caught up.
  await until(async () => {
    const now = (await es.call('GET', '/_cat/indices?format=json')).body;
    const shown = await page.$$eval('tr[data-index]', (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.index, tr.querySelector('[data-metric="docs"]').textContent])));
    return now.every((i) => shown[i.index] !== undefined && shownNumber(shown[i.index]) === Number(i['docs.count']));
  }, { timeout: 12_000, message: 'index rows equal to _cat/indices' });
  const streamsOf = await page.$$eval('tr[data-index]', (trs) => trs.map((tr) => [tr.dataset.index, tr.children[1].textContent, tr.children[2].textContent]));
  for (const [index, stream, period] of streamsOf) {
    assert.ok(index.startsWith(`${stream}-`), `${index} belongs to ${stream}`);
    assert.equal(period, 'OneDay');
  }
  b.assertClean();
});

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

test('an empty server: the streams page shows the command to ship a first log file; / opens the UI', async () => {
  const bin = process.env.HYDRANT_BIN;
  assert.ok(bin, 'HYDRANT_BIN names the binary (run.sh sets it)');
  const dir = mkdtempSync(`${tmpdir()}/hydrant-ui-empty-`);
  const port = await freePort();
  // `hydrant serve` takes HYDRANT_* variables as configuration and refuses unknown ones.
  const env = { ...process.env };
  delete env.HYDRANT_BIN;
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dir], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const exited = new Promise((r) => child.once('exit', r));
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(async () => (await fetch(`${base}/_cluster/health`)).ok, { message: 'the empty server' });
    await page.goto(`${base}/`);
    await page.waitForURL(/\/_ui\/discover/);
    await page.waitForSelector('.empty:has-text("No data yet")');
    await page.click('nav a:has-text("Streams")');
    await page.waitForURL(/\/_ui\/streams$/);
    const cmd = await page.textContent('.empty pre.code');
    assert.equal(cmd, `curl -XPOST '127.0.0.1:${port}/v1/streams/web/records' -H 'content-type: text/plain' --data-binary @access.log`);
    await screenshot(page, 'streams-empty', false);
    await page.goto(`${base}/_ui/dashboards/web-access`);
    // A dashboard over a stream that does not exist yet shows zeros, not errors.
    await page.waitForSelector('[data-panel-id="requests"] .metric-value[data-value="0"]');
    assert.equal(await page.locator('section.panel[data-error]').count(), 0);
    await screenshot(page, 'dashboard-empty-server', false);
    b.assertClean();
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
