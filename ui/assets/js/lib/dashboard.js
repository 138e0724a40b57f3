// Dashboards (no DOM): a dashboard's panels become ONE `_msearch` (one search per panel, all
// aggregating on the server), and each answer becomes the numbers its panel draws.
//
// A dashboard:
//   {title, description?, index, timeField?, time?: {from, to}, query?, filters?, panels: [panel]}
// A panel: {id, type, title, width?: 3|4|6|8|12, index?, query?, …} with, per type,
//   timeseries  metric, split?: {field, size} | {filters: [{label, query}]}, chart?: line|bars
//               (or metrics: [metric] without a split: one line per metric)
//   top         field, size?, metric?                     (horizontal bars)
//   metric      metric, format?                           (one number)
//   table       field, size?, metrics: [metric]           (a row per top value of `field`)
//   search      columns?, size?, sort?                    (the newest matching documents)
// A metric: {type: count|avg|sum|min|max|cardinality|percentile|share, field?, percent?,
//            query? (share: the fraction of documents matching it), format?: bytes|ms|percent}

import { buildQuery, queryClause } from './query.js';
import { dateHistogram } from './interval.js';

export const PANEL_TYPES = ['timeseries', 'top', 'metric', 'table', 'search'];
export const METRIC_TYPES = ['count', 'avg', 'sum', 'min', 'max', 'cardinality', 'percentile', 'share'];
export const DASHBOARD_MAX_BUCKETS = 60;

const METRIC_NAMES = {
  count: 'Count', avg: 'Average', sum: 'Sum', min: 'Min', max: 'Max', cardinality: 'Unique count', percentile: 'Percentile', share: 'Share',
};

/** "Average bytes", "95th percentile of latency_ms", "Count". */
export function metricLabel(m) {
  if (!m || m.type === 'count') return 'Count';
  if (m.label) return m.label;
  if (m.type === 'percentile') return `p${m.percent ?? 95} ${m.field}`;
  if (m.type === 'share') return `Share of ${m.query}`;
  return `${METRIC_NAMES[m.type] || m.type} ${m.field}`;
}

/** The sub-aggregations computing a metric (none for a count). */
export function metricAggs(m, name = 'm') {
  if (!m || m.type === 'count') return {};
  switch (m.type) {
    case 'avg': case 'sum': case 'min': case 'max': case 'cardinality':
      return { [name]: { [m.type]: { field: m.field } } };
    case 'percentile':
      return { [name]: { percentiles: { field: m.field, percents: [Number(m.percent ?? 95)] } } };
    case 'share':
      return { [name]: { filter: queryClause(m.query) } };
    default:
      throw new Error(`unknown metric type ${m.type}`);
  }
}

/** A metric's value in a bucket (or in the root answer, as {doc_count, …aggregations}). */
export function metricValue(m, bucket, name = 'm') {
  if (!bucket) return null;
  if (!m || m.type === 'count') return bucket.doc_count ?? 0;
  const a = bucket[name];
  if (!a) return null;
  switch (m.type) {
    case 'percentile': {
      const vals = a.values || {};
      const want = Number(m.percent ?? 95);
      for (const [k, v] of Object.entries(vals)) if (Number(k) === want) return v;
      const first = Object.values(vals)[0];
      return first === undefined ? null : first;
    }
    case 'share':
      return bucket.doc_count ? a.doc_count / bucket.doc_count : null;
    default:
      return a.value ?? null;
  }
}

/** The format of a metric's numbers. */
export function metricFormat(m, panel = {}) {
  if (m && m.type === 'share') return 'percent';
  return (m && m.format) || panel.format || null;
}

/** The query of one panel: the dashboard's query, filters and range, AND the panel's own query. */
export function panelQuery(panel, ctx) {
  const q = buildQuery({ query: ctx.q, filters: ctx.filters, range: ctx.range, timeField: ctx.timeField, textFields: ctx.textFields });
  if (panel.query && String(panel.query).trim()) {
    (q.bool.filter ||= []).push(queryClause(panel.query));
  }
  return q;
}

function keyOf(bucket) {
  if (bucket.key_as_string === 'true' || bucket.key_as_string === 'false') return bucket.key_as_string === 'true';
  return bucket.key;
}

function labelOf(bucket) {
  return bucket.key_as_string !== undefined && typeof bucket.key !== 'number' ? bucket.key_as_string : String(bucket.key_as_string ?? bucket.key);
}

/** The search body of one panel. */
export function panelSearch(panel, ctx) {
  const query = panelQuery(panel, ctx);
  const tf = ctx.timeField;
  const hist = () => ({
    ...dateHistogram(tf, ctx.interval, ctx.range.min, ctx.range.max, ctx.timeZone),
    aggs: metricAggs(panel.metric),
  });
  switch (panel.type) {
    case 'timeseries': {
      const t = hist();
      if (!Object.keys(t.aggs).length) delete t.aggs;
      let aggs;
      const split = panel.split;
      if (multiMetrics(panel)) {
        const sub = {};
        panel.metrics.forEach((m, i) => Object.assign(sub, metricAggs(m, `m${i}`)));
        aggs = { t: { ...dateHistogram(tf, ctx.interval, ctx.range.min, ctx.range.max, ctx.timeZone), aggs: sub } };
        if (!Object.keys(sub).length) delete aggs.t.aggs;
      } else if (split && split.filters && split.filters.length) {
        const filters = {};
        split.filters.forEach((f, i) => { filters[`s${i}`] = queryClause(f.query); });
        aggs = { s: { filters: { filters }, aggs: { t } } };
      } else if (split && split.field) {
        aggs = { s: { terms: { field: split.field, size: Number(split.size || 5) }, aggs: { t } } };
      } else {
        aggs = { t };
      }
      return { size: 0, track_total_hits: true, query, aggs };
    }
    case 'top': {
      const terms = { field: panel.field, size: Number(panel.size || 10) };
      const m = panel.metric;
      const single = m && ['avg', 'sum', 'min', 'max', 'cardinality'].includes(m.type);
      if (single) terms.order = { m: 'desc' };
      const s = { terms };
      const sub = metricAggs(m);
      if (Object.keys(sub).length) s.aggs = sub;
      return { size: 0, track_total_hits: true, query, aggs: { s } };
    }
    case 'metric':
      return { size: 0, track_total_hits: true, query, aggs: metricAggs(panel.metric) };
    case 'table': {
      const sub = {};
      (panel.metrics || [{ type: 'count' }]).forEach((m, i) => Object.assign(sub, metricAggs(m, `m${i}`)));
      const s = { terms: { field: panel.field, size: Number(panel.size || 10) } };
      if (Object.keys(sub).length) s.aggs = sub;
      return { size: 0, track_total_hits: true, query, aggs: { s } };
    }
    case 'search': {
      const body = {
        size: Number(panel.size || 10),
        track_total_hits: true,
        query,
        sort: [{ [tf]: { order: 'desc', unmapped_type: 'date' } }],
      };
      if (tf) body.fields = [tf];
      return body;
    }
    default:
      throw new Error(`unknown panel type ${panel.type}`);
  }
}

/** The `_msearch` body (NDJSON text) for all the panels, in panel order. */
export function dashboardMsearch(dashboard, ctx) {
  const lines = [];
  for (const panel of dashboard.panels || []) {
    lines.push(JSON.stringify({ index: panel.index || dashboard.index || ctx.index || '*', ignore_unavailable: true }));
    lines.push(JSON.stringify(panelSearch(panel, ctx)));
  }
  return `${lines.join('\n')}\n`;
}

function totalOf(resp) {
  const t = resp.hits && resp.hits.total;
  return typeof t === 'number' ? t : (t && t.value) || 0;
}

function seriesFromHistogram(m, hist) {
  const buckets = (hist && hist.buckets) || [];
  return { x: buckets.map((b) => b.key), values: buckets.map((b) => metricValue(m, b)) };
}

/**
 * What a panel shows, from its answer in the `_msearch`:
 *   timeseries {x: [ms], series: [{key, label, values, filter}]}
 *   top        {rows: [{key, label, value, filter}], other}
 *   metric     {value}
 *   table      {columns: [label], rows: [{key, label, values, filter}]}
 *   search     {total, hits}
 * and for all: {total} (documents matching), or {error} when the search failed.
 */
export function panelResult(panel, resp) {
  if (!resp) return { error: 'no answer' };
  if (resp.error) {
    const e = resp.error;
    const root = e.root_cause && e.root_cause[0];
    return { error: (root && root.reason) || e.reason || e.type || 'search failed', status: resp.status };
  }
  const aggs = resp.aggregations || {};
  const total = totalOf(resp);
  switch (panel.type) {
    case 'timeseries': {
      const m = panel.metric;
      const split = panel.split;
      if (multiMetrics(panel)) {
        const buckets = (aggs.t && aggs.t.buckets) || [];
        return {
          total,
          x: buckets.map((b) => b.key),
          series: panel.metrics.map((mm, i) => ({
            key: `m${i}`, label: metricLabel(mm), values: buckets.map((b) => metricValue(mm, b, `m${i}`)), filter: null, total,
          })),
        };
      }
      if (split && split.filters && split.filters.length) {
        const buckets = (aggs.s && aggs.s.buckets) || {};
        let x = [];
        const series = split.filters.map((f, i) => {
          const b = buckets[`s${i}`] || {};
          const s = seriesFromHistogram(m, b.t);
          if (s.x.length > x.length) x = s.x;
          return { key: f.label, label: f.label, values: s.values, filter: { query: f.query, label: f.label }, total: b.doc_count ?? 0 };
        });
        return { total, x, series: series.map((s) => ({ ...s, values: padTo(s.values, x.length) })) };
      }
      if (split && split.field) {
        const buckets = (aggs.s && aggs.s.buckets) || [];
        let x = [];
        const series = buckets.map((b) => {
          const s = seriesFromHistogram(m, b.t);
          if (s.x.length > x.length) x = s.x;
          return { key: keyOf(b), label: labelOf(b), values: s.values, filter: { field: split.field, value: keyOf(b) }, total: b.doc_count };
        });
        return { total, x, series: series.map((s) => ({ ...s, values: padTo(s.values, x.length) })) };
      }
      const s = seriesFromHistogram(m, aggs.t);
      return { total, x: s.x, series: [{ key: 'all', label: metricLabel(m), values: s.values, filter: null, total }] };
    }
    case 'top': {
      const s = aggs.s || { buckets: [] };
      return {
        total,
        other: s.sum_other_doc_count || 0,
        rows: s.buckets.map((b) => ({ key: keyOf(b), label: labelOf(b), value: metricValue(panel.metric, b), count: b.doc_count, filter: { field: panel.field, value: keyOf(b) } })),
      };
    }
    case 'metric':
      return { total, value: metricValue(panel.metric, { doc_count: total, ...aggs }) };
    case 'table': {
      const metrics = panel.metrics || [{ type: 'count' }];
      const s = aggs.s || { buckets: [] };
      return {
        total,
        columns: metrics.map(metricLabel),
        rows: s.buckets.map((b) => ({
          key: keyOf(b), label: labelOf(b), filter: { field: panel.field, value: keyOf(b) },
          values: metrics.map((m, i) => metricValue(m, b, `m${i}`)),
        })),
      };
    }
    case 'search':
      return { total, hits: (resp.hits && resp.hits.hits) || [] };
    default:
      return { error: `unknown panel type ${panel.type}` };
  }
}

function multiMetrics(panel) {
  return Array.isArray(panel.metrics) && panel.metrics.length > 0 && !(panel.split && (panel.split.field || (panel.split.filters && panel.split.filters.length)));
}

function padTo(values, n) {
  if (values.length >= n) return values;
  return values.concat(new Array(n - values.length).fill(null));
}

/** Problems of a dashboard document (an import): [] when it can be saved. */
export function validateDashboard(d) {
  const errors = [];
  if (!d || typeof d !== 'object' || Array.isArray(d)) return ['a dashboard is a JSON object'];
  if (typeof d.title !== 'string' || !d.title.trim()) errors.push('`title` must be a non-empty string');
  if (d.panels !== undefined && !Array.isArray(d.panels)) errors.push('`panels` must be an array');
  (Array.isArray(d.panels) ? d.panels : []).forEach((p, i) => {
    const where = `panel ${i + 1}`;
    if (!p || typeof p !== 'object') { errors.push(`${where} is not an object`); return; }
    if (!PANEL_TYPES.includes(p.type)) errors.push(`${where}: type must be one of ${PANEL_TYPES.join(', ')}`);
    if ((p.type === 'top' || p.type === 'table') && !p.field) errors.push(`${where}: needs a field`);
    const ms = Array.isArray(p.metrics) ? p.metrics : (p.metric ? [p.metric] : []);
    for (const m of ms) {
      if (!METRIC_TYPES.includes(m.type)) errors.push(`${where}: metric type must be one of ${METRIC_TYPES.join(', ')}`);
      else if (!['count', 'share'].includes(m.type) && !m.field) errors.push(`${where}: metric ${m.type} needs a field`);
      else if (m.type === 'share' && !m.query) errors.push(`${where}: metric share needs a query`);
    }
  });
  return errors;
}

/** An id for a new dashboard from its title: `my-dashboard`, within [A-Za-z0-9_-]{1,64}. */
export function slugify(title) {
  const s = String(title).toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 56);
  return s || 'dashboard';
}

/** A fresh panel id not used in the dashboard. */
export function newPanelId(dashboard, base = 'panel') {
  const used = new Set((dashboard.panels || []).map((p) => p.id));
  for (let i = 1; ; i += 1) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}
