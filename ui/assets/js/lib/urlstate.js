// The page's state in the URL's query string (no DOM), so that a link reproduces the view and
// the back button undoes a change. Values left at their defaults are left out of the URL.
//
//   /_ui/discover?index=web&from=now-15m&to=now&q=level:error&filters=[…]&columns=a,b
//                &split=level.keyword&interval=auto&refresh=5
//   /_ui/dashboards/web-access?from=…&to=…&q=…&filters=[…]

import { DEFAULT_RANGE } from './timerange.js';

export const DISCOVER_DEFAULTS = Object.freeze({
  index: '',
  from: DEFAULT_RANGE.from,
  to: DEFAULT_RANGE.to,
  q: '',
  filters: [],
  columns: [],
  split: null, // null: the default split field; '' : no split
  interval: 'auto',
  refresh: 0, // live tail period in seconds, 0: off
});

function cleanFilter(f) {
  if (!f || typeof f !== 'object') return null;
  const out = {};
  if (typeof f.query === 'string') {
    out.query = f.query;
    if (typeof f.label === 'string') out.label = f.label;
  } else if (typeof f.field === 'string' && f.field) {
    out.field = f.field;
    if (f.exists) out.exists = true;
    else if (['string', 'number', 'boolean'].includes(typeof f.value) || f.value === null) out.value = f.value;
    else return null;
  } else {
    return null;
  }
  if (f.negate) out.negate = true;
  if (f.disabled) out.disabled = true;
  return out;
}

/** Filters from their URL form (a JSON array); invalid entries are dropped. */
export function decodeFilters(text) {
  if (!text) return [];
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.map(cleanFilter).filter(Boolean) : [];
  } catch {
    return [];
  }
}

export function encodeFilters(filters) {
  const clean = (filters || []).map(cleanFilter).filter(Boolean);
  return clean.length ? JSON.stringify(clean) : '';
}

/** Discover's state from a query string ("?a=b" or "a=b"). */
export function decodeDiscover(search) {
  const p = new URLSearchParams(search);
  const s = { ...DISCOVER_DEFAULTS, filters: [], columns: [] };
  if (p.has('index')) s.index = p.get('index');
  if (p.get('from')) s.from = p.get('from');
  if (p.get('to')) s.to = p.get('to');
  if (p.has('q')) s.q = p.get('q');
  s.filters = decodeFilters(p.get('filters'));
  if (p.get('columns')) s.columns = p.get('columns').split(',').filter(Boolean);
  if (p.has('split')) s.split = p.get('split');
  if (p.get('interval')) s.interval = p.get('interval');
  const r = Number(p.get('refresh'));
  if (Number.isFinite(r) && r > 0) s.refresh = Math.min(3600, Math.max(1, Math.round(r)));
  return s;
}

/** The query string (without "?") for Discover's state. */
export function encodeDiscover(state) {
  const p = new URLSearchParams();
  const d = DISCOVER_DEFAULTS;
  if (state.index) p.set('index', state.index);
  p.set('from', state.from || d.from);
  p.set('to', state.to || d.to);
  if (state.q) p.set('q', state.q);
  const f = encodeFilters(state.filters);
  if (f) p.set('filters', f);
  if (state.columns && state.columns.length) p.set('columns', state.columns.join(','));
  if (state.split !== null && state.split !== undefined) p.set('split', state.split);
  if (state.interval && state.interval !== 'auto') p.set('interval', state.interval);
  if (state.refresh) p.set('refresh', String(state.refresh));
  return p.toString();
}

/** A dashboard's view state (overrides of its saved time range, query and filters). */
export function decodeDashboardView(search, saved = {}) {
  const p = new URLSearchParams(search);
  return {
    from: p.get('from') || saved.from || 'now-24h',
    to: p.get('to') || saved.to || 'now',
    q: p.has('q') ? p.get('q') : (saved.query || ''),
    filters: p.has('filters') ? decodeFilters(p.get('filters')) : (saved.filters || []).map(cleanFilter).filter(Boolean),
    refresh: Math.max(0, Math.round(Number(p.get('refresh')) || 0)),
  };
}

export function encodeDashboardView(view) {
  const p = new URLSearchParams();
  p.set('from', view.from);
  p.set('to', view.to);
  // Always written, even empty: an empty query in the URL overrides the dashboard's saved one.
  p.set('q', view.q || '');
  p.set('filters', encodeFilters(view.filters) || '[]');
  if (view.refresh) p.set('refresh', String(view.refresh));
  return p.toString();
}

/** Two states that give the same URL. */
export function sameDiscover(a, b) {
  return encodeDiscover(a) === encodeDiscover(b);
}
