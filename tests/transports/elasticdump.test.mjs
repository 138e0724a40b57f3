// elasticdump (its CLI, as users run it): an index with an explicit mapping and 500 documents
// copied to another index, mapping first, then data (scroll search → bulk); and dumped to a file
// and loaded back. Every copy counted by Hydrant.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startHydrant, eventually } from './hydrant.mjs';

const DOCS = 500;
const ELASTICDUMP = new URL('node_modules/.bin/elasticdump', import.meta.url).pathname;
const MAPPING = { properties: { status: { type: 'keyword' }, bytes: { type: 'long' }, message: { type: 'text' } } };

let h;
let dir;
let created; // Hydrant's answer to PUT /copyindex, asserted by the first test
before(async () => {
  h = await startHydrant('elasticdump');
  dir = mkdtempSync(`${tmpdir()}/hydrant-elasticdump-`);
  // The source index; its documents are loaded whatever the PUT answers, so that a missing
  // index API fails one test, not every elasticdump test after it.
  created = await h.call('PUT', '/copyindex', { mappings: MAPPING });
  const lines = [];
  for (let i = 0; i < DOCS; i++) {
    lines.push(JSON.stringify({ index: { _index: 'copyindex', _id: String(i) } }));
    lines.push(JSON.stringify({ status: String(200 + (i % 5)), bytes: 1000 + i, message: `document ${i}` }));
  }
  const bulk = await h.call('POST', '/_bulk', `${lines.join('\n')}\n`);
  assert.equal(bulk.status, 200, JSON.stringify(bulk.body).slice(0, 500));
  assert.equal(bulk.body.errors, false, JSON.stringify(bulk.body.items.find((i) => i.index.error)));
  assert.equal(await h.count('copyindex'), DOCS);
});
after(async () => {
  await h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the elasticdump CLI; resolves to { code, output } (stdout and stderr interleaved). */
function elasticdump(...args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ELASTICDUMP, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('close', (code) => resolve({ code, output }));
  });
}

async function assertDump(...args) {
  const r = await elasticdump(...args);
  assert.equal(r.code, 0, `elasticdump ${args.join(' ')} exited ${r.code}:\n${r.output}`);
  // Neither is enough: a write refused in the last batch (a refused PUT /{index}/_mapping, say)
  // is neither logged nor in the exit code, hence the checks of Hydrant's state after each run.
  assert.doesNotMatch(r.output, /Error Emitted/, `elasticdump ${args.join(' ')}:\n${r.output}`);
  return r;
}

/**
 * Asserts the explicit types of MAPPING in GET /{index}/_mapping. Its keys are the index's
 * time-rotated indices in Hydrant (docs/known-differences.md), the index itself in
 * Elasticsearch: every one of them must have the types.
 */
async function assertMapping(index) {
  const r = await h.call('GET', `/${index}/_mapping`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const all = Object.values(r.body).map((m) => m.mappings?.properties ?? {});
  assert.ok(all.length > 0, JSON.stringify(r.body));
  for (const props of all) {
    for (const field of ['status', 'bytes']) {
      assert.equal(props[field]?.type, MAPPING.properties[field].type, `${index}.${field}: ${JSON.stringify(r.body)}`);
    }
  }
}

test('PUT /copyindex with an explicit mapping creates the index with it', async () => {
  assert.equal(created.status, 200, `PUT /copyindex: ${JSON.stringify(created.body)}`);
  assert.deepEqual(created.body, { acknowledged: true, shards_acknowledged: true, index: 'copyindex' });
  await assertMapping('copyindex');
});

test('elasticdump --type=mapping copies the mapping to copyindex2', async () => {
  await assertDump(`--input=${h.url}/copyindex`, `--output=${h.url}/copyindex2`, '--type=mapping');
  await assertMapping('copyindex2');
});

test('elasticdump --type=data copies the 500 documents to copyindex2', async () => {
  await assertDump(`--input=${h.url}/copyindex`, `--output=${h.url}/copyindex2`, '--type=data');
  assert.equal(await eventually(() => h.count('copyindex2'), DOCS), DOCS, 'documents in copyindex2');
  await assertMapping('copyindex2'); // the data did not change the copied mapping
});

test('elasticdump dumps the data to a file and loads it back', async () => {
  const file = `${dir}/copyindex.ndjson`;
  await assertDump(`--input=${h.url}/copyindex`, `--output=${file}`, '--type=data');
  const dumped = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.equal(dumped.length, DOCS, 'lines in the dump file');
  await assertDump(`--input=${file}`, `--output=${h.url}/copyindex3`, '--type=data');
  assert.equal(await eventually(() => h.count('copyindex3'), DOCS), DOCS, 'documents in copyindex3');
});
