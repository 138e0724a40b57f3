import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheus, summarize, rates, counterRate, indexPeriod, indexRows } from '../../../ui/assets/js/lib/metrics.js';

const TEXT = `# HELP hydrant_incoming_records Records accepted (Firehose IncomingRecords).
# TYPE hydrant_incoming_records counter
hydrant_incoming_records_total{stream="web"} 20000
hydrant_incoming_records_total{stream="app"} 5
hydrant_incoming_bytes_total{stream="web"} 7014077
hydrant_incoming_put_requests_total{stream="web",api="ndjson"} 40
hydrant_incoming_put_requests_total{stream="web",api="bulk"} 2
hydrant_throttled_records_total{stream="web"} 3
hydrant_delivery_records_total{stream="web",destination="index"} 19990
hydrant_delivery_retries_total{stream="web",destination="elasticsearch"} 7
hydrant_delivery_data_freshness_seconds{stream="web",destination="index"} 1.5
hydrant_error_output_records_total{stream="web",destination="index"} 2
hydrant_wal_bytes{stream="web"} 7334085
hydrant_buffered_bytes{stream="web"} 1024
weird_metric{label="a \\"quoted\\" value",other="x"} 1e3
no_labels 42
# EOF
`;

test('parses samples, labels with escapes, exponents', () => {
  const s = parsePrometheus(TEXT);
  assert.equal(s.length, 14);
  assert.deepEqual(s[0], { name: 'hydrant_incoming_records_total', labels: { stream: 'web' }, value: 20000 });
  assert.deepEqual(s[12], { name: 'weird_metric', labels: { label: 'a "quoted" value', other: 'x' }, value: 1000 });
  assert.deepEqual(s[13], { name: 'no_labels', labels: {}, value: 42 });
});

test('folds samples per stream and destination', () => {
  const st = summarize(parsePrometheus(TEXT));
  assert.deepEqual(Object.keys(st).sort(), ['app', 'web']);
  const w = st.web;
  assert.equal(w.incomingRecords, 20000);
  assert.equal(w.incomingBytes, 7014077);
  assert.equal(w.throttledRecords, 3);
  assert.equal(w.walBytes, 7334085);
  assert.equal(w.bufferedBytes, 1024);
  assert.deepEqual(w.putRequests, { ndjson: 40, bulk: 2 });
  assert.equal(w.destinations.index.records, 19990);
  assert.equal(w.destinations.index.freshnessSeconds, 1.5);
  assert.equal(w.destinations.index.errorOutputRecords, 2);
  assert.equal(w.destinations.elasticsearch.retries, 7);
  assert.equal(st.app.incomingBytes, 0);
});

test('rates from successive scrapes; a reset counts from zero; new streams have none yet', () => {
  const a = { at: 1000, streams: summarize(parsePrometheus('hydrant_incoming_records_total{stream="web"} 100\nhydrant_incoming_bytes_total{stream="web"} 1000\nhydrant_delivery_records_total{stream="web",destination="index"} 50')) };
  const b = { at: 3000, streams: summarize(parsePrometheus('hydrant_incoming_records_total{stream="web"} 300\nhydrant_incoming_bytes_total{stream="web"} 5000\nhydrant_delivery_records_total{stream="web",destination="index"} 250\nhydrant_incoming_records_total{stream="new"} 9')) };
  const r = rates(a, b);
  assert.equal(r.web.recordsPerSecond, 100);
  assert.equal(r.web.bytesPerSecond, 2000);
  assert.equal(r.web.destinations.index.recordsPerSecond, 100);
  assert.equal(r.new.recordsPerSecond, null);
  assert.equal(rates(null, b).web.recordsPerSecond, null);
  assert.equal(counterRate(500, 20, 2), 10);
  assert.equal(counterRate(1, 2, 0), null);
});

test('index periods from Firehose suffixes', () => {
  assert.deepEqual(indexPeriod('web-2026-11-26-13'), { period: 'OneHour', start: Date.UTC(2026, 10, 26, 13), end: Date.UTC(2026, 10, 26, 14), stream: 'web' });
  assert.deepEqual(indexPeriod('my-app-2026-11-26'), { period: 'OneDay', start: Date.UTC(2026, 10, 26), end: Date.UTC(2026, 10, 27), stream: 'my-app' });
  const w = indexPeriod('web-2026-w47');
  assert.equal(w.period, 'OneWeek');
  assert.equal(new Date(w.start).toISOString(), '2026-11-16T00:00:00.000Z'); // Monday of ISO week 47
  assert.equal(w.end - w.start, 7 * 86_400_000);
  assert.equal(new Date(indexPeriod('x-2026-w01').start).toISOString(), '2025-12-29T00:00:00.000Z');
  assert.deepEqual(indexPeriod('web-2026-12'), { period: 'OneMonth', start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1), stream: 'web' });
  assert.deepEqual(indexPeriod('plain'), { period: 'NoRotation', start: null, end: null, stream: 'plain' });
});

test('index rows join _cat/indices and _cat/shards', () => {
  const rows = indexRows(
    [{ index: 'web-2026-12-02', 'docs.count': '14143', 'store.size': '2.2mb', pri: '1', health: 'green', status: 'open' },
      { index: 'web-2026-12-03', 'docs.count': '5857', 'store.size': '1005.3kb', pri: '2', health: 'green', status: 'open' },
      { index: 'app', 'docs.count': '1', 'store.size': '1kb', pri: '1' }],
    [{ index: 'web-2026-12-03', prirep: 'p', shard: '0', state: 'STARTED' }, { index: 'web-2026-12-03', prirep: 'p', shard: '1', state: 'STARTED' },
      { index: 'web-2026-12-02', prirep: 'p', shard: '0', state: 'STARTED' }],
  );
  assert.deepEqual(rows.map((r) => [r.index, r.stream, r.docs, r.shards.primaries, r.period]), [
    ['app', 'app', 1, 1, 'NoRotation'],
    ['web-2026-12-03', 'web', 5857, 2, 'OneDay'],
    ['web-2026-12-02', 'web', 14143, 1, 'OneDay'],
  ]);
});
