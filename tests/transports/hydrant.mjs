// The server under test for every transport test: `hydrant serve` on a port of its own choosing
// (read back from its "listening on http://…" log line) with a temporary data directory, plus
// the few Elasticsearch calls the tests make themselves (plain fetch, not the transports' client).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';

/** Starts `$HYDRANT_BIN serve`; resolves to { url, logs, call, count, values, stop }. */
export async function startHydrant(name) {
  const bin = process.env.HYDRANT_BIN;
  assert.ok(bin, 'HYDRANT_BIN names the binary (run.sh sets it)');
  const dir = mkdtempSync(`${tmpdir()}/hydrant-transports-${name}-`);
  // `hydrant serve` takes HYDRANT_* variables as configuration and refuses unknown ones: the
  // binary's path is not configuration.
  const env = { ...process.env, HYDRANT_LOG: 'info,tantivy=warn', NO_COLOR: '1' };
  delete env.HYDRANT_BIN;
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', `${dir}/data`],
    { stdio: ['ignore', 'ignore', 'pipe'], env });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const logs = [];
  const url = await new Promise((resolve, reject) => {
    let rest = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        logs.push(line);
        const m = /listening on (https?:\/\/[0-9.:]+)/.exec(line);
        if (m) resolve(m[1]);
      }
    });
    exited.then((code) => reject(new Error(`hydrant serve exited (${code}) before listening:\n${logs.join('\n')}`)));
    setTimeout(() => reject(new Error(`hydrant serve did not listen within 60 s:\n${logs.join('\n')}`)), 60_000).unref();
  });

  async function call(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      init.headers['content-type'] = path.includes('_bulk') ? 'application/x-ndjson' : 'application/json';
    }
    const res = await fetch(url + path, init);
    const text = await res.text();
    let json = text;
    try { json = JSON.parse(text); } catch { /* not JSON (HEAD, plain text) */ }
    return { status: res.status, body: json };
  }

  /** Documents in `index` (a pattern is fine) after making every write searchable. */
  async function count(index) {
    const refreshed = await call('POST', '/_refresh');
    assert.equal(refreshed.status, 200, `POST /_refresh: ${JSON.stringify(refreshed.body)}`);
    const r = await call('GET', `/${index}/_count`);
    assert.equal(r.status, 200, `GET /${index}/_count: ${JSON.stringify(r.body)}`);
    return r.body.count;
  }

  /** The values of `field` (a dotted path) over the first `size` documents of `index`, sorted. */
  async function values(index, field, size) {
    const r = await call('POST', `/${index}/_search`, { size, _source: [field] });
    assert.equal(r.status, 200, `POST /${index}/_search: ${JSON.stringify(r.body)}`);
    return r.body.hits.hits.map((hit) => field.split('.').reduce((v, k) => v?.[k], hit._source)).sort((a, b) => a - b);
  }

  async function stop() {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }

  return { url, logs, call, count, values, stop };
}

/** Polls `fn` until it returns `want` or the deadline passes; returns the last value (no fixed sleeps). */
export async function eventually(fn, want, { timeout = 30_000, interval = 200 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = e; }
    if (last === want || Date.now() > end) return last;
    await new Promise((r) => setTimeout(r, interval));
  }
}
