// pino-elasticsearch (the @elastic/elasticsearch 8 client's bulk helper, 1,000-byte bulks, a
// refresh of the index once the stream ends): 2,000 records into pino-logs, all counted by
// Hydrant, no document dropped and no error from the stream.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import pinoElastic from 'pino-elasticsearch';
import { startHydrant, eventually } from './hydrant.mjs';

const RECORDS = 2000;

let h;
before(async () => { h = await startHydrant('pino'); });
after(async () => { await h?.stop(); });

test('pino-elasticsearch: 2,000 records, all counted, no error', async () => {
  const stream = pinoElastic({ index: 'pino-logs', node: h.url });
  const errors = [];
  const dropped = [];
  stream.on('error', (e) => errors.push(e));
  stream.on('insertError', (e) => dropped.push(e.document)); // the bulk helper's onDrop
  // The bulk helper settles (after GET /pino-logs/_refresh) once the stream has ended.
  const settled = new Promise((resolve) => {
    stream.once('insert', resolve);
    stream.once('error', () => resolve(null));
  });
  const logger = pino({ level: 'info' }, stream);
  for (let seq = 0; seq < RECORDS; seq++) logger.info({ seq }, `pino record ${seq}`);
  stream.end();
  const stats = await settled;

  assert.deepEqual(errors.map(String), [], 'error events');
  assert.deepEqual(dropped.slice(0, 3), [], `dropped documents (${dropped.length})`);
  assert.equal(stats?.successful, RECORDS, `bulk helper stats ${JSON.stringify(stats)}`);
  assert.equal(stats.failed, 0);
  const counted = await eventually(() => h.count('pino-logs'), RECORDS);
  assert.equal(counted, RECORDS, 'records counted in pino-logs');
  const seqs = await h.values('pino-logs', 'seq', RECORDS);
  assert.deepEqual(seqs, Array.from({ length: RECORDS }, (_, i) => i), 'sequence numbers');
});
