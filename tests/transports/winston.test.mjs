// winston-elasticsearch (its own @elastic/elasticsearch 8 client, buffering, bulk every 2 s)
// with its defaults but the index prefix: 1,000 records arrive, every one counted by Hydrant, and
// the transport reports no 'error' and no 'warning' (it warns on a failed bulk or template check).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import winston from 'winston';
import { ElasticsearchTransport } from 'winston-elasticsearch';
import { startHydrant, eventually } from './hydrant.mjs';

const RECORDS = 1000;
const TEMPLATE = 'template_winston-logs'; // 'template_' + indexPrefix (bulk_writer.js)
// The template the transport would PUT, as shipped in the package.
const require = createRequire(import.meta.url);
const shipped = JSON.parse(readFileSync(require.resolve('winston-elasticsearch/index-template-mapping.json'), 'utf8'));

let h;
before(async () => { h = await startHydrant('winston'); });
after(async () => { await h?.stop(); });

test('winston-elasticsearch: 1,000 records, all counted, no error or warning', async () => {
  const errors = [];
  const warnings = [];
  const transport = new ElasticsearchTransport({ indexPrefix: 'winston-logs', clientOpts: { node: h.url } });
  transport.on('error', (e) => errors.push(e));
  transport.on('warning', (e) => warnings.push(e));
  const logger = winston.createLogger({ transports: [transport] });
  logger.on('error', () => {}); // winston re-emits the transport's errors; counted above
  try {
    for (let seq = 0; seq < RECORDS; seq++) logger.info(`winston record ${seq}`, { seq });
    // logger.end() ends the transport, whose end() flushes its buffer before 'finish'.
    const finished = new Promise((resolve) => transport.once('finish', resolve));
    logger.end();
    await finished;

    // A bulk still in flight when 'finish' fires lands shortly after: poll, with a deadline.
    const counted = await eventually(() => h.count('winston-logs-*'), RECORDS);
    assert.equal(counted, RECORDS, 'records counted in winston-logs-*');
    // Each record once: no loss hidden by a duplicate.
    const seqs = await h.values('winston-logs-*', 'fields.seq', RECORDS);
    assert.deepEqual(seqs, Array.from({ length: RECORDS }, (_, i) => i), 'sequence numbers');
    assert.deepEqual(errors.map(String), [], 'error events');
    assert.deepEqual(warnings.map(String), [], 'warning events');
  } finally {
    await transport.client.close();
  }

  // The transport asked HEAD /_index_template/template_winston-logs. 0.19.0 reads the client 8's
  // boolean answer as "exists" (vanthome/winston-elasticsearch#239), so against Elasticsearch it
  // never PUTs the template: the same request finds none.
  const head = await h.call('HEAD', `/_index_template/${TEMPLATE}`);
  assert.equal(head.status, 404, `HEAD /_index_template/${TEMPLATE}`);
  const get = await h.call('GET', `/_index_template/${TEMPLATE}`);
  assert.equal(get.status, 404, JSON.stringify(get.body));
  assert.equal(get.body.error?.type, 'resource_not_found_exception', JSON.stringify(get.body));
});

test('winston-elasticsearch: its index template, PUT as the transport sends it, reads back', async () => {
  // What ensureIndexTemplate sends when it does create the template (create=true: never replace).
  const put = await h.call('PUT', `/_index_template/${TEMPLATE}?create=true`, shipped);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.deepEqual(put.body, { acknowledged: true });
  assert.equal((await h.call('HEAD', `/_index_template/${TEMPLATE}`)).status, 200);
  const again = await h.call('PUT', `/_index_template/${TEMPLATE}?create=true`, shipped);
  assert.equal(again.status, 400, `a second create=true: ${JSON.stringify(again.body)}`);

  const get = await h.call('GET', `/_index_template/${TEMPLATE}`);
  assert.equal(get.status, 200, JSON.stringify(get.body));
  const [t] = get.body.index_templates;
  assert.equal(t.name, TEMPLATE);
  assert.deepEqual(t.index_template.index_patterns, shipped.index_patterns);
  assert.equal(t.index_template.priority, shipped.priority);
  assert.equal(t.index_template.template.mappings.properties.severity.type, 'keyword');
  assert.equal(t.index_template.template.mappings.properties['@timestamp'].type, 'date');
});
