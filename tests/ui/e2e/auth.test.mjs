// The UI behind sign-in, against a server of its own with users ([auth.users]): without
// credentials the page answers 401 with `WWW-Authenticate: Basic` (a browser asks for the
// password); a reader signs in and Discover shows the records a writer shipped; a writer alone
// is refused the page and the UI's searches with 403, and the page shows the server's reason.
// No console errors but the 401/403 answers expected here, each matched by status and URL.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { openBrowser, screenshot, until, discoverReady } from './helpers.mjs';

const bin = process.env.HYDRANT_BIN;
const USERS = {
  rita: { password: 'reader-pass-1', roles: ['reader'] },
  walt: { password: 'writer-pass-2', roles: ['writer'] },
};
const RECORDS = 25;
const MARK = `auth-e2e-${Date.now()}`;
const basic = (user) => `Basic ${Buffer.from(`${user}:${USERS[user].password}`).toString('base64')}`;
const FORBIDDEN = /this action needs role \[reader\]/;

let dir;
let child;
let exited;
let base;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function hashPassword(password) {
  const r = spawnSync(bin, ['auth', 'hash-password'], { input: password, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const hash = r.stdout.trim();
  assert.match(hash, /^\$argon2id\$/);
  return hash;
}

async function call(method, path, { user, body, type } = {}) {
  const headers = {};
  if (user) headers.authorization = basic(user);
  if (body !== undefined) headers['content-type'] = type || 'application/json';
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let json = text;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json };
}

before(async () => {
  assert.ok(bin, 'HYDRANT_BIN names the binary (run.sh sets it)');
  dir = mkdtempSync(`${tmpdir()}/hydrant-ui-auth-`);
  const config = Object.entries(USERS).map(([name, u]) => [
    `[auth.users.${name}]`,
    `password_hash = "${hashPassword(u.password)}"`,
    `roles = ${JSON.stringify(u.roles)}`,
    '',
  ].join('\n')).join('\n');
  writeFileSync(`${dir}/hydrant.toml`, config);
  const port = await freePort();
  // `hydrant serve` takes HYDRANT_* variables as configuration and refuses unknown ones.
  const env = { ...process.env };
  delete env.HYDRANT_BIN;
  child = spawn(bin, ['serve', '--config', `${dir}/hydrant.toml`, '--listen', `127.0.0.1:${port}`, '--data-dir', `${dir}/data`],
    { stdio: ['ignore', 'ignore', 'inherit'], env });
  exited = new Promise((r) => child.once('exit', r));
  base = `http://127.0.0.1:${port}`;
  await until(async () => (await call('GET', '/_cluster/health', { user: 'rita' })).status === 200, { message: 'the server with users' });

  // The writer ships records (the reader may not).
  const now = Date.now();
  const lines = Array.from({ length: RECORDS }, (_, i) => JSON.stringify({
    '@timestamp': new Date(now - (RECORDS - i) * 60_000).toISOString(),
    clientip: `10.0.0.${i + 1}`, verb: 'GET', request: `/${MARK}/${i}`, response: 200, bytes: 100 + i,
  })).join('\n');
  const refused = await call('POST', '/v1/streams/web/records', { user: 'rita', body: lines, type: 'application/x-ndjson' });
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  const shipped = await call('POST', '/v1/streams/web/records?refresh=wait_for', { user: 'walt', body: lines, type: 'application/x-ndjson' });
  assert.equal(shipped.status, 200, JSON.stringify(shipped.body));
  await until(async () => {
    const r = await call('POST', '/web/_count', { user: 'rita', body: JSON.stringify({ query: { match_all: {} } }) });
    return r.status === 200 && r.body.count === RECORDS;
  }, { message: `${RECORDS} searchable records` });
});

after(async () => {
  if (child) {
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A browser with these credentials whose console is checked: `expected` lists the refusals the
 * test causes on purpose ({status, url: RegExp}); every other console error or page error fails.
 */
async function browserAs(user, expected = []) {
  const b = await openBrowser({ context: user ? { httpCredentials: { username: user, password: USERS[user].password } } : {} });
  const consoleErrors = [];
  b.page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push({ text: m.text(), url: m.location().url || '' }); });
  const unexpected = () => {
    const fromConsole = consoleErrors.filter((e) => !expected.some((x) => {
      const m = /^Failed to load resource: the server responded with a status of (\d{3})\b/.exec(e.text);
      return m && Number(m[1]) === x.status && x.url.test(e.url);
    })).map((e) => `console: ${e.text} (${e.url})`);
    // Page errors and failed requests (the helper collects them; its console entries are checked above).
    return fromConsole.concat(b.errors.filter((e) => !e.startsWith('console: ')));
  };
  return {
    ...b,
    consoleErrors,
    assertClean() { assert.deepEqual(unexpected(), [], 'browser console errors beyond the expected refusals'); },
  };
}

test('without credentials the UI answers 401 with WWW-Authenticate: Basic', async () => {
  for (const path of ['/', '/_ui/discover', '/_ui/assets/js/app.js', '/_msearch']) {
    const r = await call(path === '/_msearch' ? 'POST' : 'GET', path);
    assert.equal(r.status, 401, path);
    assert.match(r.headers.get('www-authenticate') || '', /^Basic realm="[^"]+"/, path);
    assert.equal(r.body.error.type, 'security_exception', path);
  }
  // A browser takes the challenge as one it can answer (it would ask the user for a password
  // here); with none to give, the navigation ends in the browser's auth error, and no page.
  const b = await browserAs(null, [{ status: 401, url: new RegExp(`^${base}/`) }]);
  try {
    await assert.rejects(b.page.goto(`${base}/_ui/discover`), /ERR_INVALID_AUTH_CREDENTIALS/);
    assert.equal(await b.page.locator('.discover').count(), 0, 'no page is served');
  } finally {
    await b.close();
  }
});

test('a reader signs in; Discover shows the records the writer shipped', async () => {
  const b = await browserAs('rita');
  try {
    const res = await b.page.goto(`${base}/_ui/discover?index=web&from=now-2h&to=now`);
    assert.equal(res.status(), 200);
    const shown = await discoverReady(b.page);
    assert.equal(shown.total, RECORDS);
    const rows = await b.page.$$eval('tr.doc-row', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, RECORDS);
    for (let i = 0; i < RECORDS; i += 1) assert.ok(rows.some((t) => t.includes(`/${MARK}/${i}`)), `record ${i} shown`);
    // A query narrows it (the search goes out with the reader's credentials too).
    await b.page.fill('.query-input', 'clientip:"10.0.0.7"');
    await b.page.keyboard.press('Enter');
    const narrowed = await discoverReady(b.page, shown.ready);
    assert.equal(narrowed.total, 1);
    assert.match(await b.page.textContent('tr.doc-row'), new RegExp(`/${MARK}/6\\b`));
    // The other views load as well.
    await b.page.goto(`${base}/_ui/dashboards/web-access?from=now-2h&to=now`);
    await b.page.waitForSelector(`[data-panel-id="requests"] .metric-value[data-value="${RECORDS}"]`);
    assert.equal(await b.page.locator('section.panel[data-error]').count(), 0);
    await screenshot(b.page, 'auth-reader-dashboard', false);
    await b.page.goto(`${base}/_ui/streams`);
    await b.page.waitForSelector('[data-stream="web"]');
    b.assertClean();
  } finally {
    await b.close();
  }
});

test('a writer alone is refused the page with 403 and sees the server\'s reason', async () => {
  const b = await browserAs('walt', [
    { status: 403, url: new RegExp(`^${base}/_ui/discover$`) },
    { status: 403, url: new RegExp(`^${base}/_msearch$`) },
    { status: 403, url: new RegExp(`^${base}/favicon.ico$`) }, // the browser's own request
  ]);
  try {
    const res = await b.page.goto(`${base}/_ui/discover`);
    assert.equal(res.status(), 403);
    const text = await b.page.textContent('body');
    assert.match(text, FORBIDDEN);
    assert.match(text, /user \[walt\]/);
    // The UI's searches are refused the same way.
    const r = await b.page.evaluate(async () => {
      const res = await fetch('/_msearch', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"index":"web"}\n{"size":1}\n' });
      return { status: res.status, body: await res.json() };
    });
    assert.equal(r.status, 403);
    assert.match(r.body.error.reason, FORBIDDEN);
    await screenshot(b.page, 'auth-writer-refused', false);
    b.assertClean();
  } finally {
    await b.close();
  }
});

test('the page shows the 403 reason when its searches are refused, without crashing', async () => {
  // The page is loaded by the reader; every API request goes out as the writer (a session whose
  // reading rights are gone): the server refuses each with 403, and the page says why.
  const api = (url) => { const p = new URL(url).pathname; return !p.startsWith('/_ui/'); };
  const b = await browserAs('rita', [{ status: 403, url: new RegExp(`^${base}/(?!_ui/)`) }]);
  try {
    await b.context.route(api, (route) => route.continue({ headers: { ...route.request().headers(), authorization: basic('walt') } }));
    const seen = [];
    b.page.on('response', (r) => { if (api(r.url())) seen.push(r.status()); });
    await b.page.goto(`${base}/_ui/discover?index=web&from=now-2h&to=now`);
    const alert = b.page.locator('.toast-error', { hasText: FORBIDDEN });
    await alert.first().waitFor();
    assert.ok(seen.length > 0 && seen.every((s) => s === 403), `the API answered ${seen.join(', ')}`);
    assert.match(await alert.first().textContent(), /user \[walt\]/);
    assert.equal(await b.page.locator('tr.doc-row').count(), 0, 'no documents shown');
    assert.match(await b.page.textContent('.discover'), FORBIDDEN, 'the reason is in the view, not only in a toast');
    await screenshot(b.page, 'auth-discover-refused', false);

    await b.page.goto(`${base}/_ui/dashboards/web-access?from=now-2h&to=now`);
    const refused = b.page.locator('[role="alert"]', { hasText: FORBIDDEN }).first();
    await refused.waitFor();
    assert.match(await refused.textContent(), /Not allowed to open this dashboard/);
    await screenshot(b.page, 'auth-dashboard-refused', false);
    b.assertClean();
  } finally {
    await b.close();
  }
});
