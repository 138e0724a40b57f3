// The page's only way to the server: the public Elasticsearch-compatible API, the metrics and
// the dashboards API, all on the page's own origin.

import { errorReason } from './lib/query.js';

export class ApiError extends Error {
  constructor(status, body, reason) {
    super(reason);
    this.status = status;
    this.body = body;
    this.reason = reason;
  }
}

/** An index expression in a path: `*` and `,` kept, the rest escaped. */
export function target(index) {
  return String(index || '*').split(',').map((p) => encodeURIComponent(p.trim()).replace(/%2A/g, '*')).join(',');
}

async function request(method, path, { json, ndjson, text: asText, signal } = {}) {
  const init = { method, headers: {}, signal };
  if (json !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(json);
  } else if (ndjson !== undefined) {
    init.headers['content-type'] = 'application/x-ndjson';
    init.body = ndjson;
  }
  const res = await fetch(path, init);
  const raw = await res.text();
  if (asText && res.ok) return raw;
  let body = null;
  try { body = raw ? JSON.parse(raw) : null; } catch { body = { error: raw.slice(0, 500) }; }
  if (!res.ok) throw new ApiError(res.status, body, errorReason(body, res.status));
  return body;
}

/**
 * One search, sent as a one-item `_msearch`: a query the server refuses comes back inside a 200
 * (so the browser logs no failed request) and is thrown here as an ApiError with its reason.
 * `index` null: the body names a point in time.
 */
async function search(index, body, signal) {
  const header = index ? { index, ignore_unavailable: true, allow_no_indices: true } : {};
  const r = await request('POST', '/_msearch', { ndjson: `${JSON.stringify(header)}\n${JSON.stringify(body)}\n`, signal });
  const item = r.responses && r.responses[0];
  if (!item) throw new ApiError(500, r, 'empty _msearch answer');
  if (item.error) throw new ApiError(item.status || 500, item, errorReason(item, item.status));
  return item;
}

export const api = {
  search,
  count: (index, query, signal) => request('POST', `/${target(index)}/_count?ignore_unavailable=true&allow_no_indices=true`, { json: { query }, signal }),
  msearch: (ndjson, signal) => request('POST', '/_msearch', { ndjson, signal }),
  fieldCaps: (index, signal) => request('GET', `/${target(index)}/_field_caps?fields=*&ignore_unavailable=true&allow_no_indices=true`, { signal }),
  openPit: (index, keepAlive = '5m') => request('POST', `/${target(index)}/_pit?keep_alive=${keepAlive}`),
  closePit: (id) => request('DELETE', '/_pit', { json: { id } }),
  resolve: (expr = '*') => request('GET', `/_resolve/index/${target(expr)}`),
  catIndices: () => request('GET', '/_cat/indices?format=json&bytes=b'),
  catShards: () => request('GET', '/_cat/shards?format=json&bytes=b'),
  health: () => request('GET', '/_cluster/health'),
  metrics: () => request('GET', '/_hydrant/metrics', { text: true }),
  dashboards: () => request('GET', '/_hydrant/ui/dashboards'),
  dashboard: (id) => request('GET', `/_hydrant/ui/dashboards/${encodeURIComponent(id)}`),
  saveDashboard: (id, doc) => request('PUT', `/_hydrant/ui/dashboards/${encodeURIComponent(id)}`, { json: doc }),
  deleteDashboard: (id) => request('DELETE', `/_hydrant/ui/dashboards/${encodeURIComponent(id)}`),
};

/** Streams (aliases) and indices known to the server, for the index chooser. */
export async function listTargets() {
  try {
    const r = await api.resolve('*');
    const aliases = (r.aliases || []).map((a) => a.name).sort();
    const indices = (r.indices || []).map((i) => i.name).sort();
    return { streams: aliases, indices };
  } catch (e) {
    if (e.status === 404) return { streams: [], indices: [] };
    throw e;
  }
}
