// Accessibility: axe-core's WCAG 2 A/AA rules (labels, names, contrast, ARIA) on every view,
// with menus, rows and dialogs open. Runs in a context that lets the test inject axe (the
// page's own Content-Security-Policy forbids injected scripts; the other tests keep it).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { BASE, CHROMIUM } from './helpers.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

let browser;
let page;
before(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, bypassCSP: true, timezoneId: 'UTC' })).newPage();
});
after(async () => { await browser.close(); });

async function audit(what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const problems = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')} — ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n    ')}`);
  assert.deepEqual(problems, [], `${what}:\n  ${problems.join('\n  ')}`);
}

test('Discover', async () => {
  await page.goto(`${BASE}/_ui/discover?index=web&from=now-24h&to=now&filters=${encodeURIComponent('[{"field":"verb.keyword","value":"GET","negate":true}]')}`);
  await page.waitForSelector('.discover[data-ready] tr.doc-row');
  await page.click('li.field[data-field="bytes"] .field-name');
  await page.waitForSelector('.dist-bar');
  await page.click('tr.doc-row >> nth=0 >> button.expand');
  await audit('Discover');
  await page.click('.tp-button');
  await audit('Discover, time picker open');
});

test('Dashboards', async () => {
  await page.goto(`${BASE}/_ui/dashboards`);
  await page.waitForSelector('tr[data-dashboard]');
  await audit('Dashboards list');
  await page.goto(`${BASE}/_ui/dashboards/app-logs?edit=1`);
  await page.waitForSelector('.dashboard[data-ready] .chart');
  await audit('Dashboard');
  await page.click('button:has-text("+ Add panel")');
  await page.waitForSelector('dialog[open]');
  await audit('Panel editor');
});

test('Streams', async () => {
  await page.goto(`${BASE}/_ui/streams`);
  await page.waitForSelector('[data-stream] .stat');
  await audit('Streams');
});
