// Shared pieces of the end-to-end tests: the server under test (UI_HYDRANT_URL, started by run.sh),
// a browser page that fails the test on any console error, API calls, screenshots.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import assert from 'node:assert/strict';

export const BASE = process.env.UI_HYDRANT_URL || 'http://127.0.0.1:9200';
export const SHOTS = process.env.UI_SCREENSHOTS || new URL('../../../target/ui-screenshots/', import.meta.url).pathname;
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(SHOTS, { recursive: true });

/**
 * A headless Chromium page at 1440×900 collecting console errors and page errors.
 * `context`: more options of the browser context (e.g. `httpCredentials`).
 */
export async function openBrowser({ timezoneId = process.env.UI_TZ || 'UTC', context: more = {} } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true, timezoneId, ...more });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => { if (!/net::ERR_ABORTED/.test(r.failure()?.errorText || '')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`); });
  return {
    browser,
    context,
    page,
    errors,
    /** Asserts no console error happened so far. */
    assertClean() { assert.deepEqual(errors, [], `browser console errors:\n${errors.join('\n')}`); },
    async close() { await browser.close(); },
  };
}

export async function screenshot(page, name, fullPage = true) {
  const path = `${SHOTS}${name}.png`;
  await page.screenshot({ path, fullPage });
  return path;
}

async function call(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string') init.body = body;
    else { init.body = JSON.stringify(body); init.headers['content-type'] = 'application/json'; }
  }
  const res = await fetch(BASE + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json };
}

export const es = {
  call,
  async count(index, query) {
    const r = await call('POST', `/${index}/_count`, { query });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.count;
  },
  async search(index, body) {
    const r = await call('POST', `/${index}/_search`, body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  },
  async metrics() {
    const r = await fetch(`${BASE}/_hydrant/metrics`);
    return r.text();
  },
};

/** The range clause the tests build themselves (independently of the page's code). */
export function range(min, max, field = '@timestamp') {
  return { range: { [field]: { gte: min, lte: max, format: 'epoch_millis' } } };
}

/** A number shown by the page ("19,939", "1.6 %", "242 MB") → its digits. */
export function shownNumber(text) {
  return Number(String(text).replace(/[^0-9.-]/g, ''));
}

/** Waits until `fn()` (in the test) returns a truthy value; polls, no fixed sleeps. */
export async function until(fn, { timeout = 15_000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${message}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Waits for the Discover view to finish a search newer than `after` (its data-ready counter). */
export async function discoverReady(page, after = 0) {
  await page.waitForFunction((a) => {
    const el = document.querySelector('.discover');
    return el && Number(el.dataset.ready || 0) > a && !el.classList.contains('loading');
  }, after);
  return page.evaluate(() => ({
    ready: Number(document.querySelector('.discover').dataset.ready),
    total: Number(document.querySelector('#hit-count').dataset.total),
    min: Number(document.querySelector('.discover').dataset.rangeMin),
    max: Number(document.querySelector('.discover').dataset.rangeMax),
  }));
}

export async function dashboardReady(page, after = 0) {
  await page.waitForFunction((a) => {
    const el = document.querySelector('.dashboard');
    return el && Number(el.dataset.ready || 0) > a && !el.classList.contains('loading');
  }, after);
  return page.evaluate(() => {
    const d = document.querySelector('.dashboard').dataset;
    return { ready: Number(d.ready), min: Number(d.rangeMin), max: Number(d.rangeMax), interval: d.interval, intervalKind: d.intervalKind, timeZone: d.timeZone, index: d.index };
  });
}
