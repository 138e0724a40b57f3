// Dashboards: the list (create, import, delete) and one dashboard (panels sharing its time range,
// query and filters, loaded with ONE _msearch; edit panels in the page, save, save as, export).

import { api } from '../api.js';
import { h, replace, clear, newId, select, toast, labelled } from '../components/dom.js';
import { timePicker } from '../components/timepicker.js';
import { queryBar, filterBar } from '../components/filterbar.js';
import { timeChart, legend, barList, colorFor, PALETTE } from '../components/chart.js';
import { decodeDashboardView, encodeDashboardView } from '../lib/urlstate.js';
import { resolveRange, localTimeZone } from '../lib/timerange.js';
import { autoInterval } from '../lib/interval.js';
import { addFilter, fieldsFromCaps, textFieldSet, getPath, flatten } from '../lib/query.js';
import {
  dashboardMsearch, panelResult, metricLabel, metricFormat, validateDashboard, slugify, newPanelId, PANEL_TYPES, METRIC_TYPES, DASHBOARD_MAX_BUCKETS,
} from '../lib/dashboard.js';
import { formatNumber, formatTime, formatValue } from '../lib/format.js';

const TYPE_NAMES = { timeseries: 'Time series', top: 'Top values', metric: 'Single metric', table: 'Table', search: 'Saved search' };
const WIDTHS = [['3', 'Quarter'], ['4', 'Third'], ['6', 'Half'], ['8', 'Two thirds'], ['12', 'Full width']];

function download(name, doc) {
  const blob = new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, class: 'visually-hidden' }, 'download');
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function uniqueId(base) {
  const { dashboards } = await api.dashboards();
  const used = new Set(dashboards.map((d) => d.id));
  if (!used.has(base)) return base;
  for (let i = 2; ; i += 1) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** A modal dialog with a form; resolves with the form's values or null. */
function formDialog(title, build, submitLabel = 'Save') {
  return new Promise((resolve) => {
    const err = h('div', { class: 'form-error', role: 'alert' });
    const body = build();
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': (title.id = newId('dlg')) });
    const form = h('form', {
      method: 'dialog', class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const v = await body.values();
          dlg.close();
          dlg.remove();
          resolve(v);
        } catch (x) {
          replace(err, x.message);
        }
      },
    }, h('h2', { id: title.id }, title.text), body.el, err,
    h('div', { class: 'row-end' }, h('button', { type: 'button', class: 'btn', onclick: () => { dlg.close(); dlg.remove(); resolve(null); } }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-primary' }, submitLabel)));
    dlg.append(form);
    dlg.addEventListener('cancel', () => { dlg.remove(); resolve(null); });
    document.body.append(dlg);
    dlg.showModal();
    const first = dlg.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

function titleForm(initial) {
  const title = h('input', { class: 'input', required: true, value: initial.title || '' });
  const id = h('input', { class: 'input mono', required: true, pattern: '[A-Za-z0-9_\\-]{1,64}', value: initial.id || '', title: '1 to 64 letters, digits, - or _' });
  const index = h('input', { class: 'input mono', value: initial.index || '', placeholder: 'web' });
  let idEdited = !!initial.id;
  id.addEventListener('input', () => { idEdited = true; });
  title.addEventListener('input', () => { if (!idEdited) id.value = slugify(title.value); });
  if (!initial.id) id.value = slugify(initial.title || '');
  return {
    el: h('div', { class: 'stack' }, labelled('Title', title), labelled('Id (in the URL)', id), labelled('Stream or index pattern', index)),
    values: async () => {
      if (!title.value.trim()) throw new Error('A title is needed');
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id.value)) throw new Error('The id must be 1 to 64 letters, digits, - or _');
      return { title: title.value.trim(), id: id.value, index: index.value.trim() };
    },
  };
}

// ---- the list ------------------------------------------------------------------------------

export const list = {
  mount(root, { navigate }) {
    const tbody = h('tbody');
    const fileId = newId('import');
    const file = h('input', { type: 'file', id: fileId, accept: 'application/json,.json', class: 'visually-hidden' });
    const el = h('div', { class: 'page' },
      h('div', { class: 'page-head' },
        h('div', null, h('h1', null, 'Dashboards'), h('p', { class: 'muted' }, 'Panels over your streams, each a server-side aggregation. Built-in dashboards match what ', h('code', null, 'hydrant loadgen'), ' sends.')),
        h('div', { class: 'row-gap' },
          h('label', { for: fileId, class: 'btn', tabindex: '0', role: 'button', onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); file.click(); } } }, 'Import…'), file,
          h('button', { type: 'button', class: 'btn btn-primary', onclick: create }, 'Create dashboard'))),
      h('div', { class: 'card' }, h('table', { class: 'list-table' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Title'), h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        tbody)));
    root.append(el);

    async function load() {
      try {
        const { dashboards } = await api.dashboards();
        replace(tbody, dashboards.length ? dashboards.map((d) => h('tr', { 'data-dashboard': d.id },
          h('td', null, h('a', { href: `/_ui/dashboards/${d.id}`, 'data-link': true }, d.title || d.id)),
          h('td', { class: 'muted' }, d.description || ''),
          h('td', null, h('span', { class: ['badge', d.builtin ? 'badge-builtin' : null] }, d.builtin ? 'Built-in' : 'Saved')),
          h('td', { class: 'actions' }, d.builtin ? null : h('button', {
            type: 'button', class: 'link-btn danger', 'aria-label': `Delete dashboard ${d.title}`,
            onclick: async () => {
              if (!window.confirm(`Delete the dashboard “${d.title}”?`)) return;
              try { await api.deleteDashboard(d.id); toast(`Deleted ${d.title}`); load(); } catch (e) { toast(e.message, 'error'); }
            },
          }, 'Delete')))) : h('tr', null, h('td', { colspan: '4', class: 'muted' }, 'No dashboards.')));
        el.dataset.ready = '1';
      } catch (e) {
        toast(`Could not list dashboards: ${e.message}`, 'error');
      }
    }

    async function create() {
      const v = await formDialog({ text: 'Create a dashboard' }, () => titleForm({ title: 'New dashboard', index: 'web' }), 'Create');
      if (!v) return;
      try {
        const id = await uniqueId(v.id);
        await api.saveDashboard(id, { title: v.title, description: '', index: v.index || '*', timeField: '@timestamp', time: { from: 'now-24h', to: 'now' }, query: '', filters: [], panels: [] });
        navigate(`/_ui/dashboards/${id}?edit=1`);
      } catch (e) { toast(e.message, 'error'); }
    }

    file.addEventListener('change', async () => {
      const f = file.files && file.files[0];
      file.value = '';
      if (!f) return;
      try {
        const doc = JSON.parse(await f.text());
        const errors = validateDashboard(doc);
        if (errors.length) throw new Error(`Not a dashboard: ${errors.join('; ')}`);
        const base = typeof doc.id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(doc.id) && !doc.builtin ? doc.id : slugify(doc.title);
        const id = await uniqueId(base);
        delete doc.id;
        delete doc.builtin;
        await api.saveDashboard(id, doc);
        toast(`Imported “${doc.title}” as ${id}`);
        navigate(`/_ui/dashboards/${id}`);
      } catch (e) {
        toast(`Import failed: ${e.message}`, 'error');
      }
    });

    load();
    return { unmount() { clear(root); } };
  },
};

// ---- one dashboard ---------------------------------------------------------------------------------

export const board = {
  mount(root, { params, navigate }) {
    const id = params[0];
    let doc = null; // the dashboard as saved (+ edits)
    let view = null; // {from, to, q, filters, refresh}
    let index = '';
    let dirty = false;
    let editing = new URLSearchParams(location.search).get('edit') === '1';
    let fields = [];
    let token = 0;
    let timer = null;
    let charts = [];
    let destroyed = false;

    const titleEl = h('h1', null, '…');
    const descEl = h('p', { class: 'muted desc' });
    const actions = h('div', { class: 'row-gap dash-actions' });
    const indexInput = h('input', { class: 'input index-input mono', id: newId('dix'), autocomplete: 'off', spellcheck: 'false' });
    const indexForm = h('form', { class: 'index-form', onsubmit: (e) => { e.preventDefault(); setIndex(indexInput.value.trim()); } },
      h('label', { for: indexInput.id }, 'Stream'), indexInput);
    indexInput.addEventListener('change', () => setIndex(indexInput.value.trim()));
    const qbar = queryBar({ value: '', onSubmit: (q) => go({ ...view, q }) });
    const tp = timePicker({ range: { from: 'now-24h', to: 'now' }, onChange: (r) => go({ ...view, ...r }) });
    const refreshSel = select([['0', 'Off'], ['5', '5 s'], ['10', '10 s'], ['30', '30 s'], ['60', '1 min']], '0', { class: 'input', id: newId('dref') });
    refreshSel.addEventListener('change', () => go({ ...view, refresh: Number(refreshSel.value) }, true));
    const fbar = filterBar({ filters: [], onChange: (filters) => go({ ...view, filters }), fields: () => fields });
    const grid = h('div', { class: 'grid' });
    const rangeNote = h('p', { class: 'muted small range-note' });
    const el = h('div', { class: 'page dashboard' },
      h('div', { class: 'page-head' }, h('div', null, h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/_ui/dashboards', 'data-link': true }, 'Dashboards'), ' / '), titleEl, descEl), actions),
      h('div', { class: 'toolbar' }, indexForm, qbar.el, tp.el,
        h('button', { type: 'button', class: 'btn', onclick: () => load() }, 'Refresh'),
        h('div', { class: 'live' }, h('label', { for: refreshSel.id }, 'Auto-refresh'), refreshSel)),
      qbar.errorEl, fbar.el, rangeNote, grid);
    root.append(el);

    function url() {
      const p = new URLSearchParams(encodeDashboardView(view));
      if (index && index !== doc.index) p.set('index', index);
      if (editing) p.set('edit', '1');
      return `/_ui/dashboards/${id}?${p}`;
    }

    function go(next, rep = false) {
      view = next;
      if (rep) history.replaceState(null, '', url()); else history.pushState(null, '', url());
      sync();
      load();
    }

    function setIndex(ix) {
      if (!ix || ix === index) return;
      index = ix;
      history.pushState(null, '', url());
      loadFields();
      load();
    }

    function sync() {
      qbar.set(view.q);
      tp.set(view);
      fbar.set(view.filters);
      indexInput.value = index;
      refreshSel.value = String(view.refresh || 0);
      schedule();
    }

    function renderActions() {
      const b = (label, onclick, cls = 'btn', extra = {}) => h('button', { type: 'button', class: cls, onclick, ...extra }, label);
      replace(actions,
        editing ? b('+ Add panel', () => editPanel(null), 'btn') : null,
        b(editing ? 'Done editing' : 'Edit', () => { editing = !editing; history.replaceState(null, '', url()); renderActions(); renderGrid(lastResults); }, 'btn', { 'aria-pressed': String(editing) }),
        doc.builtin ? null : b('Save', save, dirty ? 'btn btn-primary' : 'btn', { 'data-action': 'save' }),
        b('Save as…', saveAs),
        b('Export', () => download(`${id}.json`, exportDoc())),
        doc.builtin ? null : b('Delete', remove, 'btn danger'));
    }

    function exportDoc() {
      const out = { ...currentDoc(), id: doc.builtin ? `${id}-copy` : id };
      delete out.builtin;
      return out;
    }

    function currentDoc() {
      const d = { ...doc, index: index || doc.index, time: { from: view.from, to: view.to }, query: view.q, filters: view.filters };
      delete d.id;
      delete d.builtin;
      return d;
    }

    async function save() {
      try {
        await api.saveDashboard(id, currentDoc());
        doc = { ...currentDoc(), id, builtin: false };
        dirty = false;
        renderActions();
        toast(`Saved “${doc.title}”`);
      } catch (e) { toast(`Save failed: ${e.message}`, 'error'); }
    }

    async function saveAs() {
      const v = await formDialog({ text: 'Save as a new dashboard' }, () => titleForm({ title: `${doc.title} (copy)`, index: index || doc.index }));
      if (!v) return;
      try {
        const newId = await uniqueId(v.id);
        await api.saveDashboard(newId, { ...currentDoc(), title: v.title, index: v.index || index || doc.index });
        toast(`Saved as “${v.title}”`);
        navigate(`/_ui/dashboards/${newId}?${encodeDashboardView(view)}`);
      } catch (e) { toast(`Save failed: ${e.message}`, 'error'); }
    }

    async function remove() {
      if (!window.confirm(`Delete the dashboard “${doc.title}”?`)) return;
      try { await api.deleteDashboard(id); navigate('/_ui/dashboards'); } catch (e) { toast(e.message, 'error'); }
    }

    function markDirty() {
      dirty = true;
      renderActions();
    }

    // The field list matters to a search only for value pills (a text field's value is a
    // phrase): `load` waits for it then.
    let fieldsLoaded = Promise.resolve();
    const needsFields = (filters) => (filters || []).some((f) => !f.disabled && f.query === undefined && !f.exists && f.value != null);

    async function loadFields() {
      try {
        fields = fieldsFromCaps(await api.fieldCaps(index || doc.index || '*'));
      } catch { fields = []; }
    }

    // ---- loading: ONE _msearch for every panel ---------------------------------------------------
    let lastResults = [];
    async function load() {
      if (!doc) return;
      const my = ++token;
      if (needsFields(view.filters)) {
        await fieldsLoaded;
        if (my !== token || destroyed) return;
      }
      let range;
      try { range = resolveRange(view); } catch (e) { qbar.showError(e.message); return; }
      const interval = autoInterval(range.min, range.max, DASHBOARD_MAX_BUCKETS);
      const ctx = {
        range, interval, timeZone: localTimeZone(), q: view.q, filters: view.filters, timeField: doc.timeField || '@timestamp',
        textFields: textFieldSet(fields), index: index || doc.index,
      };
      const panels = doc.panels || [];
      el.dataset.rangeMin = String(range.min);
      el.dataset.rangeMax = String(range.max);
      el.dataset.interval = interval.expr;
      el.dataset.intervalKind = interval.kind;
      el.dataset.timeZone = ctx.timeZone;
      el.dataset.index = ctx.index;
      replace(rangeNote, `${formatTime(range.min)} – ${formatTime(range.max)} · ${panels.length} panels · time series per ${interval.label}`);
      if (!panels.length) {
        lastResults = [];
        renderGrid([]);
        el.dataset.ready = String(my);
        return;
      }
      el.classList.add('loading');
      const resolved = { ...doc, index: ctx.index, panels };
      try {
        const r = await api.msearch(dashboardMsearch(resolved, ctx));
        if (my !== token || destroyed) return;
        const results = panels.map((p, i) => panelResult(p, r.responses[i]));
        // A query the server cannot parse fails every panel the same way: show it at the bar.
        const bad = results.find((x) => x.error && x.status === 400);
        qbar.showError(bad && results.every((x) => x.error) ? bad.error : '');
        lastResults = results.map((x) => ({ ...x, range, interval }));
        renderGrid(lastResults);
        el.dataset.ready = String(my);
      } catch (e) {
        if (my !== token) return;
        toast(`Dashboard search failed: ${e.message}`, 'error');
      } finally {
        el.classList.remove('loading');
      }
    }

    function schedule() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (!view || !view.refresh || destroyed) return;
      const tick = async () => {
        if (destroyed || !view.refresh) return;
        if (!document.hidden) await load();
        if (!destroyed && view.refresh) timer = setTimeout(tick, view.refresh * 1000);
      };
      timer = setTimeout(tick, view.refresh * 1000);
    }

    function addFilterFromPanel(f) {
      if (!f) return;
      go({ ...view, filters: addFilter(view.filters, f) });
    }

    // ---- panels ----------------------------------------------------------------------------------
    function renderGrid(results) {
      for (const c of charts) c.destroy();
      charts = [];
      const panels = doc.panels || [];
      if (!panels.length) {
        replace(grid, h('div', { class: 'empty span-12' }, h('p', null, 'This dashboard has no panels yet.'),
          h('button', { type: 'button', class: 'btn btn-primary', onclick: () => { editing = true; renderActions(); editPanel(null); } }, '+ Add panel')));
        return;
      }
      replace(grid, panels.map((p, i) => panelCard(p, results[i], i)));
    }

    function panelCard(p, res, i) {
      const headId = newId('ph');
      const body = h('div', { class: `panel-body panel-${p.type}` });
      const data = h('details', { class: 'panel-data' }, h('summary', null, 'Data'));
      const editBtns = editing ? h('div', { class: 'panel-edit' },
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Edit panel ${p.title}`, title: 'Edit', onclick: () => editPanel(i) }, '✎'),
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Move panel ${p.title} earlier`, title: 'Move earlier', disabled: i === 0, onclick: () => movePanel(i, -1) }, '↑'),
        h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Move panel ${p.title} later`, title: 'Move later', disabled: i === doc.panels.length - 1, onclick: () => movePanel(i, 1) }, '↓'),
        h('button', { type: 'button', class: 'icon-btn danger', 'aria-label': `Remove panel ${p.title}`, title: 'Remove', onclick: () => removePanel(i) }, '×')) : null;
      const sub = panelSubtitle(p);
      const card = h('section', { class: ['panel', 'card', `span-${p.width || 6}`], 'data-panel-id': p.id || `panel-${i}`, 'data-panel-type': p.type, 'aria-labelledby': headId },
        h('header', { class: 'panel-head' }, h('div', null, h('h2', { id: headId }, p.title || TYPE_NAMES[p.type]), sub ? h('p', { class: 'muted small' }, sub) : null), editBtns),
        body, p.type === 'metric' || p.type === 'search' ? null : data);
      if (!res) {
        body.append(h('p', { class: 'muted' }, 'Loading…'));
        return card;
      }
      if (res.error) {
        card.dataset.error = res.error;
        body.append(h('p', { class: 'form-error' }, res.error));
        return card;
      }
      card.dataset.total = String(res.total);
      try {
        renderPanel(p, res, body, data);
      } catch (e) {
        body.append(h('p', { class: 'form-error' }, `Cannot draw this panel: ${e.message}`));
      }
      return card;
    }

    function panelSubtitle(p) {
      const parts = [];
      if (p.type === 'timeseries') parts.push(Array.isArray(p.metrics) && p.metrics.length && !p.split ? p.metrics.map(metricLabel).join(', ') : metricLabel(p.metric));
      if (p.type === 'top') parts.push(`${metricLabel(p.metric)} by ${p.field}`);
      if (p.type === 'table') parts.push(`by ${p.field}`);
      if (p.split && p.split.field) parts.push(`split by ${p.split.field}`);
      if (p.query) parts.push(p.query);
      if (p.index) parts.push(p.index);
      return parts.join(' · ');
    }

    function renderPanel(p, res, body, data) {
      switch (p.type) {
        case 'metric': {
          const fmt = metricFormat(p.metric, p);
          body.append(h('div', { class: 'metric-value', 'data-value': res.value ?? '' }, formatValue(res.value, fmt)),
            h('div', { class: 'muted small' }, `${metricLabel(p.metric)} · ${formatNumber(res.total)} documents`));
          break;
        }
        case 'top': {
          const fmt = metricFormat(p.metric, p);
          const rows = res.rows.map((r, i) => ({ ...r, color: colorFor(r.label, i) === PALETTE[i % PALETTE.length] ? PALETTE[1] : colorFor(r.label, i) }));
          body.append(rows.length ? barList(rows, { format: fmt, onClick: (i) => addFilterFromPanel(rows[i].filter) }) : h('p', { class: 'muted' }, 'No values.'));
          data.append(dataTable([p.field, metricLabel(p.metric)], res.rows.map((r) => [r.label, r.value]), [null, fmt]));
          break;
        }
        case 'table': {
          const metrics = p.metrics || [{ type: 'count' }];
          const fmts = metrics.map((m) => metricFormat(m, p));
          body.append(res.rows.length ? h('table', { class: 'panel-table' },
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, p.field.replace(/\.keyword$/, '')), res.columns.map((c, i) => h('th', { scope: 'col', class: 'num' }, metrics[i].label || c)))),
            h('tbody', null, res.rows.map((r) => h('tr', { 'data-key': String(r.key) },
              h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link-btn mono', title: `Filter for ${r.label}`, onclick: () => addFilterFromPanel(r.filter) }, r.label)),
              r.values.map((v, i) => h('td', { class: 'num', 'data-value': v ?? '' }, formatValue(v, fmts[i]))))))) : h('p', { class: 'muted' }, 'No values.'));
          data.append(dataTable([p.field].concat(metrics.map((m, i) => m.label || res.columns[i])), res.rows.map((r) => [r.label, ...r.values]), [null, ...fmts]));
          break;
        }
        case 'timeseries': {
          const multi = Array.isArray(p.metrics) && p.metrics.length && !(p.split && (p.split.field || p.split.filters));
          const fmt = multi ? metricFormat(p.metrics[0], p) : metricFormat(p.metric, p);
          const series = res.series.map((s, i) => ({ ...s, color: colorFor(s.label, i) }));
          const countLike = !multi && (!p.metric || p.metric.type === 'count');
          const bars = p.chart === 'bars';
          const box = h('div', { class: 'ts-chart' });
          body.append(box);
          const legendSeries = series.map((s) => ({ ...s, total: countLike ? s.total : undefined }));
          if (series.length > 1 || p.split) body.append(legend(legendSeries, { format: fmt, title: `Series of ${p.title}`, onClick: series.some((s) => s.filter) ? (i) => addFilterFromPanel(series[i].filter) : null }));
          if (!series.length) { box.append(h('p', { class: 'muted' }, 'No data.')); break; }
          // Charts need layout: draw after the card is in the page.
          requestAnimationFrame(() => {
            if (!box.isConnected) return;
            charts.push(timeChart(box, { x: res.x, series }, {
              bars, stacked: bars && countLike, height: 200, format: fmt, range: [res.range.min, res.range.max], ariaLabel: `${p.title}: chart`,
              onSelect: (a, b) => go({ ...view, from: new Date(a).toISOString(), to: new Date(b).toISOString() }),
              onSeriesClick: series.some((s) => s.filter) ? (i) => addFilterFromPanel(series[i].filter) : null,
            }));
          });
          const head = ['time'].concat(series.map((s) => s.label));
          const rows = res.x.map((t, j) => [new Date(t).toISOString(), ...series.map((s) => s.values[j])]);
          data.append(dataTable(head, rows, [null, ...series.map(() => fmt)], { interval: res.interval.expr, totals: countLike ? series.map((s) => s.total) : null }));
          break;
        }
        case 'search': {
          const cols = p.columns && p.columns.length ? p.columns : null;
          const tf = doc.timeField || '@timestamp';
          body.append(h('div', { class: 'muted small', 'data-total': res.total }, `${formatNumber(res.total)} matching documents, newest first`),
            res.hits.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'panel-table hits' },
              h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Time'), cols ? cols.map((c) => h('th', { scope: 'col' }, c)) : h('th', { scope: 'col' }, 'Document'))),
              h('tbody', null, res.hits.map((hit) => {
                const t = hit.fields && hit.fields[tf] ? Date.parse(hit.fields[tf][0]) : Date.parse(getPath(hit._source, tf));
                return h('tr', { 'data-id': hit._id }, h('td', { class: 'mono nowrap' }, Number.isNaN(t) ? '—' : formatTime(t)),
                  cols ? cols.map((c) => { const v = getPath(hit._source, c); return h('td', { class: 'mono' }, v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)); })
                    : h('td', { class: 'mono' }, flatten(hit._source).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('  ')));
              })))) : h('p', { class: 'muted' }, 'No documents.'),
            h('a', { href: discoverLink(p), 'data-link': true, class: 'small' }, 'Open in Discover →'));
          break;
        }
        default:
          body.append(h('p', { class: 'form-error' }, `Unknown panel type ${p.type}`));
      }
    }

    function discoverLink(p) {
      const params = new URLSearchParams();
      params.set('index', p.index || index || doc.index);
      params.set('from', view.from);
      params.set('to', view.to);
      const q = [view.q, p.query].filter((x) => x && x.trim()).map((x) => `(${x})`).join(' AND ');
      if (q) params.set('q', q);
      if (view.filters.length) params.set('filters', JSON.stringify(view.filters));
      if (p.columns && p.columns.length) params.set('columns', p.columns.join(','));
      return `/_ui/discover?${params}`;
    }

    function dataTable(head, rows, fmts, extra = {}) {
      return h('table', { class: 'data-table', 'data-interval': extra.interval || null },
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((v, i) => (i === 0 ? h('th', { scope: 'row', 'data-value': v }, v) : h('td', { class: 'num', 'data-value': v ?? '' }, formatValue(v, fmts[i]))))))),
        extra.totals ? h('tfoot', null, h('tr', null, h('th', { scope: 'row' }, 'total'), extra.totals.map((t) => h('td', { class: 'num', 'data-value': t }, formatNumber(t))))) : null);
    }

    // ---- editing -----------------------------------------------------------------------------------
    function movePanel(i, d) {
      const ps = doc.panels.slice();
      [ps[i], ps[i + d]] = [ps[i + d], ps[i]];
      doc = { ...doc, panels: ps };
      markDirty();
      renderGrid(lastResults.length === ps.length ? (() => { const r = lastResults.slice(); [r[i], r[i + d]] = [r[i + d], r[i]]; lastResults = r; return r; })() : []);
    }

    function removePanel(i) {
      if (!window.confirm(`Remove the panel “${doc.panels[i].title}”?`)) return;
      doc = { ...doc, panels: doc.panels.filter((_, j) => j !== i) };
      lastResults = lastResults.filter((_, j) => j !== i);
      markDirty();
      renderGrid(lastResults);
    }

    async function editPanel(i) {
      const existing = i === null ? null : doc.panels[i];
      const p = await formDialog({ text: existing ? `Edit panel “${existing.title}”` : 'Add a panel' }, () => panelForm(existing, fields), existing ? 'Apply' : 'Add panel');
      if (!p) return;
      const panels = (doc.panels || []).slice();
      if (existing) panels[i] = { ...p, id: existing.id };
      else panels.push({ ...p, id: newPanelId(doc, p.type) });
      doc = { ...doc, panels };
      markDirty();
      load();
    }

    // ---- start ---------------------------------------------------------------------------------------
    async function start() {
      try {
        doc = await api.dashboard(id);
      } catch (e) {
        const title = e.status === 401 || e.status === 403 ? 'Not allowed to open this dashboard' : e.status === 404 ? 'Dashboard not found' : 'Could not open this dashboard';
        replace(el, h('div', { class: 'empty', role: 'alert' }, h('h1', null, title), h('p', null, e.message, ' ', h('a', { href: '/_ui/dashboards', 'data-link': true }, 'All dashboards'))));
        return;
      }
      if (destroyed) return;
      document.title = `${doc.title} · Hydrant`;
      replace(titleEl, doc.title);
      replace(descEl, doc.description || '');
      const saved = { from: doc.time && doc.time.from, to: doc.time && doc.time.to, query: doc.query, filters: doc.filters };
      view = decodeDashboardView(location.search, saved);
      index = new URLSearchParams(location.search).get('index') || doc.index || '*';
      history.replaceState(null, '', url());
      renderActions();
      sync();
      // The panels' search goes out at once, beside the field list's (see `load`).
      fieldsLoaded = loadFields();
      load();
    }

    start();
    return {
      update() {
        if (!doc) return;
        const saved = { from: doc.time && doc.time.from, to: doc.time && doc.time.to, query: doc.query, filters: doc.filters };
        view = decodeDashboardView(location.search, saved);
        index = new URLSearchParams(location.search).get('index') || doc.index || '*';
        sync();
        load();
      },
      unmount() {
        destroyed = true;
        token += 1;
        if (timer) clearTimeout(timer);
        for (const c of charts) c.destroy();
        clear(root);
      },
    };
  },
};

// ---- the panel editor form --------------------------------------------------------------------------

function metricRow(m, fields, onRemove) {
  const numeric = fields.filter((f) => ['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float'].includes(f.type)).map((f) => f.name);
  const aggregatable = fields.filter((f) => f.agg).map((f) => f.agg);
  const type = select(METRIC_TYPES.map((t) => [t, t === 'percentile' ? 'percentile' : t === 'share' ? 'share of documents matching' : t]), m.type || 'count', { class: 'input' });
  const listId = newId('mf');
  const field = h('input', { class: 'input mono', list: listId, value: m.field || '', placeholder: 'field' });
  const dl = h('datalist', { id: listId });
  const percent = h('input', { class: 'input', type: 'number', min: '0', max: '100', step: 'any', value: String(m.percent ?? 95) });
  const query = h('input', { class: 'input mono', value: m.query || '', placeholder: 'level:error' });
  const format = select([['', 'number'], ['bytes', 'bytes'], ['ms', 'milliseconds'], ['percent', 'percent']], m.format || '', { class: 'input' });
  const label = h('input', { class: 'input', value: m.label || '', placeholder: 'label (optional)' });
  const wrapField = labelled('Metric field', field, 'field-row');
  const wrapPercent = labelled('Percentile', percent, 'field-row');
  const wrapQuery = labelled('Matching (Lucene)', query, 'field-row');
  const refresh = () => {
    const t = type.value;
    wrapField.hidden = t === 'count' || t === 'share';
    wrapPercent.hidden = t !== 'percentile';
    wrapQuery.hidden = t !== 'share';
    replace(dl, (t === 'cardinality' ? aggregatable : numeric).map((n) => h('option', { value: n })));
  };
  type.addEventListener('change', refresh);
  refresh();
  const el = h('fieldset', { class: 'metric-row' }, h('legend', null, 'Metric'),
    h('div', { class: 'row-wrap' }, labelled('Aggregation', type), wrapField, dl, wrapPercent, wrapQuery, labelled('Format', format), labelled('Label', label),
      onRemove ? h('button', { type: 'button', class: 'link-btn danger', onclick: () => { el.remove(); onRemove(); } }, 'Remove metric') : null));
  return {
    el,
    value() {
      const out = { type: type.value };
      if (!['count', 'share'].includes(out.type)) {
        if (!field.value.trim()) throw new Error(`The ${out.type} metric needs a field`);
        out.field = field.value.trim();
      }
      if (out.type === 'percentile') out.percent = Number(percent.value);
      if (out.type === 'share') {
        if (!query.value.trim()) throw new Error('The share metric needs a query');
        out.query = query.value.trim();
      }
      if (format.value) out.format = format.value;
      if (label.value.trim()) out.label = label.value.trim();
      return out;
    },
  };
}

function panelForm(existing, fields) {
  const p = existing || { type: 'timeseries', title: '', width: 6, metric: { type: 'count' } };
  const title = h('input', { class: 'input', required: true, value: p.title || '' });
  const type = select(PANEL_TYPES.map((t) => [t, TYPE_NAMES[t]]), p.type, { class: 'input' });
  const width = select(WIDTHS, String(p.width || 6), { class: 'input' });
  const index = h('input', { class: 'input mono', value: p.index || '', placeholder: 'the dashboard’s' });
  const query = h('input', { class: 'input mono', value: p.query || '', placeholder: 'optional, e.g. response:>=500' });
  const aggNames = fields.filter((f) => f.agg).map((f) => f.agg);
  const fieldsId = newId('pf');
  const dl = h('datalist', { id: fieldsId }, aggNames.map((n) => h('option', { value: n })));
  const field = h('input', { class: 'input mono', list: fieldsId, value: p.field || '', placeholder: 'e.g. request.keyword' });
  const size = h('input', { class: 'input', type: 'number', min: '1', max: '100', value: String(p.size || 10) });
  const splitKind = select([['none', 'none'], ['field', 'top values of a field'], ['filters', 'queries (kept as saved)']],
    p.split && p.split.filters ? 'filters' : p.split && p.split.field ? 'field' : 'none', { class: 'input' });
  const splitField = h('input', { class: 'input mono', list: fieldsId, value: (p.split && p.split.field) || '', placeholder: 'e.g. level.keyword' });
  const splitSize = h('input', { class: 'input', type: 'number', min: '1', max: '20', value: String((p.split && p.split.size) || 5) });
  const chart = select([['line', 'lines'], ['bars', 'bars (stacked for counts)']], p.chart || 'line', { class: 'input' });
  const columns = h('input', { class: 'input mono', value: (p.columns || []).join(', '), placeholder: 'message, level' });
  const metricsBox = h('div', { class: 'stack' });
  let rows = [];
  const addMetric = (m) => {
    const row = metricRow(m, fields, () => { rows = rows.filter((r) => r !== row); });
    rows.push(row);
    metricsBox.append(row.el);
  };
  const initialMetrics = Array.isArray(p.metrics) && p.metrics.length ? p.metrics : [p.metric || { type: 'count' }];
  initialMetrics.forEach(addMetric);
  const addMetricBtn = h('button', { type: 'button', class: 'link-btn', onclick: () => addMetric({ type: 'count' }) }, '+ Add metric');

  const rowsFor = {
    field: labelled('Values of field', field), size: labelled('Number of values', size), split: labelled('Split series by', splitKind),
    splitField: labelled('Split field', splitField), splitSize: labelled('Top', splitSize), chart: labelled('Chart', chart), columns: labelled('Columns (comma separated)', columns),
  };
  const refresh = () => {
    const t = type.value;
    rowsFor.field.hidden = !['top', 'table'].includes(t);
    rowsFor.size.hidden = !['top', 'table', 'search'].includes(t);
    rowsFor.split.hidden = t !== 'timeseries';
    rowsFor.splitField.hidden = t !== 'timeseries' || splitKind.value !== 'field';
    rowsFor.splitSize.hidden = rowsFor.splitField.hidden;
    rowsFor.chart.hidden = t !== 'timeseries';
    rowsFor.columns.hidden = t !== 'search';
    metricsBox.hidden = t === 'search';
    addMetricBtn.hidden = !(t === 'table' || (t === 'timeseries' && splitKind.value === 'none'));
  };
  type.addEventListener('change', refresh);
  splitKind.addEventListener('change', refresh);
  refresh();

  return {
    el: h('div', { class: 'stack panel-form' },
      h('div', { class: 'row-wrap' }, labelled('Title', title), labelled('Type', type), labelled('Width', width)),
      h('div', { class: 'row-wrap' }, labelled('Stream (optional)', index), labelled('Panel query (optional)', query)),
      h('div', { class: 'row-wrap' }, rowsFor.field, dl, rowsFor.size, rowsFor.split, rowsFor.splitField, rowsFor.splitSize, rowsFor.chart, rowsFor.columns),
      metricsBox, addMetricBtn),
    values: async () => {
      const t = type.value;
      if (!title.value.trim()) throw new Error('A title is needed');
      const out = { type: t, title: title.value.trim(), width: Number(width.value) };
      if (index.value.trim()) out.index = index.value.trim();
      if (query.value.trim()) out.query = query.value.trim();
      const metrics = rows.map((r) => r.value());
      if (t === 'top' || t === 'table') {
        if (!field.value.trim()) throw new Error('Choose a field');
        out.field = field.value.trim();
        out.size = Number(size.value) || 10;
      }
      if (t === 'top' || t === 'metric') out.metric = metrics[0] || { type: 'count' };
      if (t === 'table') out.metrics = metrics.length ? metrics : [{ type: 'count' }];
      if (t === 'timeseries') {
        out.chart = chart.value;
        if (splitKind.value === 'field') {
          if (!splitField.value.trim()) throw new Error('Choose the split field');
          out.split = { field: splitField.value.trim(), size: Number(splitSize.value) || 5 };
          out.metric = metrics[0] || { type: 'count' };
        } else if (splitKind.value === 'filters' && p.split && p.split.filters) {
          out.split = p.split;
          out.metric = metrics[0] || { type: 'count' };
        } else if (metrics.length > 1) {
          out.metrics = metrics;
        } else {
          out.metric = metrics[0] || { type: 'count' };
        }
      }
      if (t === 'search') {
        out.size = Number(size.value) || 10;
        out.columns = columns.value.split(',').map((c) => c.trim()).filter(Boolean);
      }
      const errors = validateDashboard({ title: 'x', panels: [out] });
      if (errors.length) throw new Error(errors.join('; '));
      return out;
    },
  };
}
