// Queries and filters (no DOM): the query bar's Lucene text, the filter pills and the time
// range become one Elasticsearch bool query; the server does all the work.
//
// A filter pill is one of
//   {field, value, negate?, disabled?}        exact value: `term` (a text field: `match_phrase`)
//   {field, exists: true, negate?, disabled?} the field has a value
//   {query, label?, negate?, disabled?}       Lucene syntax (a series of a `filters` split)
// Positive pills go to bool.filter, negated ones to bool.must_not.

/** The clause for one pill (without its negation). */
export function filterClause(f, textFields = null) {
  if (f.query !== undefined) return { query_string: { query: String(f.query), analyze_wildcard: true } };
  if (f.exists) return { exists: { field: f.field } };
  if (f.value === null || f.value === undefined) return { bool: { must_not: { exists: { field: f.field } } } };
  if (textFields && textFields.has(f.field)) return { match_phrase: { [f.field]: f.value } };
  return { term: { [f.field]: f.value } };
}

/** The text a pill shows: `level: error`, `NOT status: 500`, `host: exists`. */
export function filterLabel(f) {
  let body;
  if (f.query !== undefined) body = f.label || f.query;
  else if (f.exists) body = `${displayField(f.field)}: exists`;
  else if (f.value === null || f.value === undefined) body = `${displayField(f.field)}: (missing)`;
  else body = `${displayField(f.field)}: ${f.value}`;
  return f.negate ? `NOT ${body}` : body;
}

/** `level.keyword` → `level` for labels. */
export function displayField(field) {
  return String(field).replace(/\.keyword$/, '');
}

/** Two pills that mean the same (so adding one twice replaces it). */
export function sameFilter(a, b) {
  if (a.query !== undefined || b.query !== undefined) return a.query === b.query;
  return a.field === b.field && !!a.exists === !!b.exists && a.value === b.value;
}

/** The filters with `f` added (an existing pill for the same value is replaced). */
export function addFilter(filters, f) {
  const out = filters.filter((g) => !sameFilter(g, f));
  out.push(f);
  return out;
}

/** The clause for the query bar's text: match_all when it is empty. */
export function queryClause(text) {
  const q = String(text ?? '').trim();
  if (!q) return { match_all: {} };
  return { query_string: { query: q, analyze_wildcard: true, default_operator: 'OR' } };
}

/** The range clause over [min, max] (epoch ms, both included). */
export function rangeClause(timeField, min, max) {
  return { range: { [timeField]: { gte: min, lte: max, format: 'epoch_millis' } } };
}

/**
 * The whole query: text AND time range AND every enabled positive pill, AND NOT every enabled
 * negated pill. `range` is {min, max} or null (no time filter).
 */
export function buildQuery({ query = '', filters = [], range = null, timeField = '@timestamp', textFields = null }) {
  const bool = { must: [queryClause(query)], filter: [], must_not: [] };
  if (range && timeField) bool.filter.push(rangeClause(timeField, range.min, range.max));
  for (const f of filters) {
    if (f.disabled) continue;
    (f.negate ? bool.must_not : bool.filter).push(filterClause(f, textFields));
  }
  if (!bool.must_not.length) delete bool.must_not;
  if (!bool.filter.length) delete bool.filter;
  return { bool };
}

/** Escapes a value for Lucene syntax (`field:"value"`). */
export function luceneValue(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `"${String(v).replace(/(["\\])/g, '\\$1')}"`;
}

/** The error reason to show from an Elasticsearch error body (root cause first). */
export function errorReason(body, status) {
  const e = body && body.error;
  if (!e) return status ? `HTTP ${status}` : 'request failed';
  if (typeof e === 'string') return e;
  const root = Array.isArray(e.root_cause) && e.root_cause[0];
  const cause = e.caused_by && e.caused_by.reason;
  return (root && root.reason) || e.reason || cause || e.type || `HTTP ${status}`;
}

/**
 * Fields from a `_field_caps` answer: [{name, type, aggregatable, searchable, agg, keyword}],
 * text fields paired with their `.keyword` sub-field (`agg` is the field to aggregate on, or
 * null), metadata fields left out, sorted by name.
 */
export function fieldsFromCaps(caps) {
  const all = caps && caps.fields ? caps.fields : {};
  const out = new Map();
  for (const [name, byType] of Object.entries(all)) {
    const types = Object.keys(byType);
    const info = byType[types[0]];
    if (info.metadata_field || name.startsWith('_')) continue;
    const type = types.length > 1 ? 'conflict' : info.type;
    out.set(name, {
      name,
      type,
      aggregatable: types.every((t) => byType[t].aggregatable),
      searchable: types.some((t) => byType[t].searchable),
    });
  }
  const fields = [];
  for (const f of out.values()) {
    const parent = f.name.endsWith('.keyword') ? f.name.slice(0, -8) : null;
    if (parent && out.has(parent)) continue; // shown through its parent
    const kw = out.get(`${f.name}.keyword`);
    fields.push({
      ...f,
      keyword: kw ? kw.name : null,
      agg: f.aggregatable ? f.name : (kw && kw.aggregatable ? kw.name : null),
    });
  }
  fields.sort((a, b) => a.name.localeCompare(b.name));
  return fields;
}

export const NUMERIC_TYPES = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);

/** The time field: `@timestamp` when it is a date, else the first date field. */
export function pickTimeField(fields) {
  const dates = fields.filter((f) => f.type === 'date' || f.type === 'date_nanos');
  const ts = dates.find((f) => f.name === '@timestamp');
  return ts ? ts.name : (dates[0] ? dates[0].name : null);
}

/** The default split field of the histogram: level, then status-like fields, when present. */
export function defaultSplitField(fields) {
  const byName = new Map(fields.map((f) => [f.name, f]));
  for (const name of ['level', 'log.level', 'severity', 'status', 'response', 'status_code', 'elb_status_code']) {
    const f = byName.get(name);
    if (f && f.agg) return f.agg;
  }
  return '';
}

/** The set of text fields (filters on them use match_phrase). */
export function textFieldSet(fields) {
  return new Set(fields.filter((f) => f.type === 'text').map((f) => f.name));
}

/** The value of a dotted path in a document's `_source` (flattened keys too). */
export function getPath(obj, path) {
  if (obj == null) return undefined;
  if (Object.prototype.hasOwnProperty.call(obj, path)) return obj[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  for (let i = path.indexOf('.'); i >= 0; i = path.indexOf('.', i + 1)) {
    const head = path.slice(0, i);
    if (obj[head] !== undefined && typeof obj[head] === 'object') {
      const v = getPath(obj[head], path.slice(i + 1));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** A document flattened to [[dotted path, value]], sorted by path. */
export function flatten(obj, prefix = '', out = []) {
  if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, path, out);
      else out.push([path, v]);
    }
  }
  if (!prefix) out.sort((a, b) => a[0].localeCompare(b[0]));
  return out;
}

export const HL_PRE = '\u0001hl\u0002';
export const HL_POST = '\u0001/hl\u0002';

/** The highlight part of a search request: every field, whole values, marked with tags. */
export function highlightRequest() {
  return { pre_tags: [HL_PRE], post_tags: [HL_POST], fields: { '*': {} }, fragment_size: 2147483647, number_of_fragments: 0 };
}

/** Splits highlighted text into [{text, hit}] parts. */
export function highlightParts(text) {
  const parts = [];
  let rest = String(text);
  while (rest.length) {
    const a = rest.indexOf(HL_PRE);
    if (a < 0) { parts.push({ text: rest, hit: false }); break; }
    if (a > 0) parts.push({ text: rest.slice(0, a), hit: false });
    const b = rest.indexOf(HL_POST, a);
    if (b < 0) { parts.push({ text: rest.slice(a + HL_PRE.length), hit: true }); break; }
    parts.push({ text: rest.slice(a + HL_PRE.length, b), hit: true });
    rest = rest.slice(b + HL_POST.length);
  }
  return parts;
}
