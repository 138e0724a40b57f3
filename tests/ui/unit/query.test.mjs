import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildQuery, filterClause, filterLabel, addFilter, queryClause, errorReason, fieldsFromCaps, pickTimeField,
  defaultSplitField, getPath, flatten, highlightParts, HL_PRE, HL_POST, luceneValue, textFieldSet,
} from '../../../ui/assets/js/lib/query.js';

test('empty query: match_all with the time range', () => {
  assert.deepEqual(buildQuery({ query: '  ', range: { min: 1, max: 2 } }), {
    bool: { must: [{ match_all: {} }], filter: [{ range: { '@timestamp': { gte: 1, lte: 2, format: 'epoch_millis' } } }] },
  });
  assert.deepEqual(buildQuery({}), { bool: { must: [{ match_all: {} }] } });
});

test('Lucene text and pills: filter, must_not, disabled ones left out', () => {
  const q = buildQuery({
    query: 'status:>=500',
    range: { min: 10, max: 20 },
    timeField: 'ts',
    filters: [
      { field: 'level.keyword', value: 'error' },
      { field: 'service.keyword', value: 'api', negate: true },
      { field: 'host', exists: true, disabled: true },
      { query: 'response:[500 TO 599]', label: '5xx' },
      { field: 'message', value: 'disk full' },
    ],
    textFields: new Set(['message']),
  });
  assert.deepEqual(q, {
    bool: {
      must: [{ query_string: { query: 'status:>=500', analyze_wildcard: true, default_operator: 'OR' } }],
      filter: [
        { range: { ts: { gte: 10, lte: 20, format: 'epoch_millis' } } },
        { term: { 'level.keyword': 'error' } },
        { query_string: { query: 'response:[500 TO 599]', analyze_wildcard: true } },
        { match_phrase: { message: 'disk full' } },
      ],
      must_not: [{ term: { 'service.keyword': 'api' } }],
    },
  });
});

test('pill clauses and labels', () => {
  assert.deepEqual(filterClause({ field: 'a', exists: true }), { exists: { field: 'a' } });
  assert.deepEqual(filterClause({ field: 'a', value: null }), { bool: { must_not: { exists: { field: 'a' } } } });
  assert.deepEqual(filterClause({ field: 'n', value: 0 }), { term: { n: 0 } });
  assert.equal(filterLabel({ field: 'level.keyword', value: 'error' }), 'level: error');
  assert.equal(filterLabel({ field: 'status', value: 500, negate: true }), 'NOT status: 500');
  assert.equal(filterLabel({ field: 'h', exists: true }), 'h: exists');
  assert.equal(filterLabel({ query: 'x:1', label: 'one' }), 'one');
  assert.equal(filterLabel({ query: 'x:1' }), 'x:1');
});

test('adding a pill twice replaces it (filter for, then out)', () => {
  let fs = addFilter([], { field: 'a', value: 1 });
  fs = addFilter(fs, { field: 'b', value: 'x' });
  fs = addFilter(fs, { field: 'a', value: 1, negate: true });
  assert.deepEqual(fs, [{ field: 'b', value: 'x' }, { field: 'a', value: 1, negate: true }]);
});

test('query clause and Lucene escaping', () => {
  assert.deepEqual(queryClause(''), { match_all: {} });
  assert.equal(luceneValue('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
  assert.equal(luceneValue(42), '42');
});

test('error reasons from Elasticsearch bodies', () => {
  const body = { error: { type: 'query_shard_exception', reason: 'outer', root_cause: [{ type: 'x', reason: 'Failed to parse query [a:(]' }] }, status: 400 };
  assert.equal(errorReason(body, 400), 'Failed to parse query [a:(]');
  assert.equal(errorReason({ error: { type: 't', reason: 'r' } }, 400), 'r');
  assert.equal(errorReason({ error: 'plain' }, 500), 'plain');
  assert.equal(errorReason(null, 502), 'HTTP 502');
});

const CAPS = { fields: {
  '@timestamp': { date: { type: 'date', aggregatable: true, searchable: true, metadata_field: false } },
  _id: { _id: { type: '_id', aggregatable: false, searchable: true, metadata_field: true } },
  level: { text: { type: 'text', aggregatable: false, searchable: true, metadata_field: false } },
  'level.keyword': { keyword: { type: 'keyword', aggregatable: true, searchable: true, metadata_field: false } },
  status: { long: { type: 'long', aggregatable: true, searchable: true, metadata_field: false } },
  mixed: { long: { type: 'long', aggregatable: true, searchable: true }, keyword: { type: 'keyword', aggregatable: true, searchable: true } },
  'orphan.keyword': { keyword: { type: 'keyword', aggregatable: true, searchable: true, metadata_field: false } },
} };

test('fields from _field_caps: text paired with .keyword, metadata left out', () => {
  const fields = fieldsFromCaps(CAPS);
  assert.deepEqual(fields.map((f) => [f.name, f.type, f.agg]), [
    ['@timestamp', 'date', '@timestamp'], ['level', 'text', 'level.keyword'], ['mixed', 'conflict', 'mixed'],
    ['orphan.keyword', 'keyword', 'orphan.keyword'], ['status', 'long', 'status'],
  ]);
  assert.equal(pickTimeField(fields), '@timestamp');
  assert.equal(pickTimeField(fields.filter((f) => f.name !== '@timestamp')), null);
  assert.equal(defaultSplitField(fields), 'level.keyword');
  assert.equal(defaultSplitField(fields.filter((f) => f.name !== 'level')), 'status');
  assert.equal(defaultSplitField([]), '');
  assert.deepEqual([...textFieldSet(fields)], ['level']);
});

test('document paths and flattening', () => {
  const doc = { a: { b: 1, 'c.d': 2 }, 'x.y': 3, arr: [1, 2], n: null };
  assert.equal(getPath(doc, 'a.b'), 1);
  assert.equal(getPath(doc, 'a.c.d'), 2);
  assert.equal(getPath(doc, 'x.y'), 3);
  assert.equal(getPath(doc, 'a.z'), undefined);
  assert.deepEqual(flatten(doc), [['a.b', 1], ['a.c.d', 2], ['arr', [1, 2]], ['n', null], ['x.y', 3]]);
});

test('highlight markers split into parts', () => {
  assert.deepEqual(highlightParts(`GET /a/${HL_PRE}cart${HL_POST} x ${HL_PRE}y${HL_POST}`), [
    { text: 'GET /a/', hit: false }, { text: 'cart', hit: true }, { text: ' x ', hit: false }, { text: 'y', hit: true },
  ]);
  assert.deepEqual(highlightParts('plain'), [{ text: 'plain', hit: false }]);
});
