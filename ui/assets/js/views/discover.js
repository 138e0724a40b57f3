// Discover: pick a stream or index pattern, a time range and a query; see the matches over
// time (split by a field), the newest documents (paged with search_after in a point in time),
// and the fields with their top values. The whole state lives in the URL.

import { api, listTargets } from '../api.js';
import { h, replace, clear, newId, select, toast, dismissable } from '../components/dom.js';
import { timePicker } from '../components/timepicker.js';
import { queryBar, filterBar } from '../components/filterbar.js';
import { timeChart, legend, colorFor } from '../components/chart.js';
import { decodeDiscover, encodeDiscover } from '../lib/urlstate.js';
import { resolveRange, absoluteRange } from '../lib/timerange.js';
import { pickInterval, dateHistogram, niceNumericInterval, INTERVALS } from '../lib/interval.js';
import {
  buildQuery, addFilter, fieldsFromCaps, pickTimeField, defaultSplitField, textFieldSet, getPath, flatten,
  highlightRequest, highlightParts, NUMERIC_TYPES, displayField,
} from '../lib/query.js';
import { formatNumber, formatPercent, formatTime, formatValue } from '../lib/format.js';

const PAGE_SIZE = 50;
const SPLIT_SIZE = 5;
const TYPE_BADGE = {
  text: ['t', 'Text'], keyword: ['k', 'Keyword'], long: ['#', 'Number'], integer: ['#', 'Number'], double: ['#', 'Number'],
  float: ['#', 'Number'], date: ['d', 'Date'], boolean: ['b', 'Boolean'], ip: ['ip', 'IP address'], conflict: ['!', 'Conflicting types'],
};

export function mount(root) {
  let state = decodeDiscover(location.search);
  let fields = [];
  let timeField = '@timestamp';
  let textFields = new Set();
  let loadedIndex = null;
  let indexExists = true;
  let fieldsError = null; // why the fields could not be read (refused or failed), if so
  let pit = null;
  let pages = []; // search_after cursor of each page (page 0: none)
  let page = 0;
  let lastRange = null;
  let total = 0;
  let token = 0;
  let liveTimer = null;
  let chart = null;
  let expandedField = null;
  let destroyed = false;

  // ---- layout ---------------------------------------------------------------------------
  const indexId = newId('index');
  const indexList = newId('indices');
  const indexInput = h('input', { id: indexId, class: 'input index-input mono', list: indexList, value: state.index, autocomplete: 'off', spellcheck: 'false', placeholder: 'stream or pattern' });
  const indexData = h('datalist', { id: indexList });
  const indexForm = h('form', { class: 'index-form', onsubmit: (e) => { e.preventDefault(); setIndex(indexInput.value.trim()); } },
    h('label', { for: indexId }, 'Stream'), indexInput, indexData);
  indexInput.addEventListener('change', () => setIndex(indexInput.value.trim()));

  const qbar = queryBar({ value: state.q, onSubmit: (q) => go({ ...state, q }) });
  const tp = timePicker({ range: { from: state.from, to: state.to }, onChange: (r) => go({ ...state, ...r }) });
  const refreshBtn = h('button', { type: 'button', class: 'btn', onclick: () => run(), title: 'Refresh' }, 'Refresh');
  const liveSel = select([['0', 'Off'], ['1', '1 s'], ['2', '2 s'], ['5', '5 s'], ['10', '10 s'], ['30', '30 s']], String(state.refresh), { class: 'input', id: newId('live') });
  liveSel.addEventListener('change', () => go({ ...state, refresh: Number(liveSel.value) }, { replace: true }));
  const liveBox = h('div', { class: 'live' }, h('label', { for: liveSel.id }, 'Live tail'), liveSel, h('span', { class: 'live-dot', 'aria-hidden': 'true' }));

  const fbar = filterBar({ filters: state.filters, onChange: (filters) => go({ ...state, filters }), fields: () => fields });

  const fieldSearch = h('input', { class: 'input', type: 'search', placeholder: 'Search field names', 'aria-label': 'Search field names' });
  fieldSearch.addEventListener('input', () => renderFields());
  const fieldList = h('div', { class: 'field-list' });
  const sidebar = h('aside', { class: 'sidebar', 'aria-label': 'Fields' }, h('h2', { class: 'sidebar-title' }, 'Fields'), fieldSearch, fieldList);

  const hitCount = h('strong', { class: 'hit-count', id: 'hit-count', 'aria-live': 'polite' }, '…');
  const rangeNote = h('span', { class: 'muted range-note' });
  const intervalSel = select([['auto', 'Auto']].concat(INTERVALS.filter((r) => !r[0].endsWith('ms')).map((r) => [r[0], r[3]])), state.interval, { class: 'input input-sm', id: newId('iv') });
  intervalSel.addEventListener('change', () => go({ ...state, interval: intervalSel.value }));
  const splitSel = h('select', { class: 'input input-sm', id: newId('split') });
  splitSel.addEventListener('change', () => go({ ...state, split: splitSel.value }));
  const histHead = h('div', { class: 'hist-head' },
    h('div', null, hitCount, ' ', h('span', { class: 'muted' }, 'hits'), ' ', rangeNote),
    h('div', { class: 'hist-controls' },
      h('label', { for: intervalSel.id }, 'Interval'), intervalSel,
      h('label', { for: splitSel.id }, 'Split by'), splitSel));
  const chartBox = h('div', { class: 'hist-chart' });
  const legendBox = h('div', { class: 'hist-legend' });
  const histogram = h('section', { class: 'histogram card', 'aria-label': 'Matches over time' }, histHead, chartBox, legendBox);

  const columnsBtn = h('button', { type: 'button', class: 'btn btn-sm', 'aria-haspopup': 'true', 'aria-expanded': 'false' }, 'Columns');
  const columnsPop = h('div', { class: 'popover columns-pop', hidden: true, role: 'dialog', 'aria-label': 'Choose columns' });
  columnsBtn.addEventListener('click', () => toggleColumns());
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of documents' });
  const tableHead = h('div', { class: 'table-head' }, h('h2', { class: 'h-sm' }, 'Documents'), h('div', { class: 'row-gap' }, h('div', { class: 'columns-wrap' }, columnsBtn, columnsPop), pager));
  const table = h('table', { class: 'docs' });
  const tableWrap = h('div', { class: 'table-wrap' }, table);
  const docs = h('section', { class: 'docs-section card', 'aria-label': 'Documents' }, tableHead, tableWrap);
  const emptyBox = h('div', { class: 'empty', hidden: true });

  const main = h('section', { class: 'discover-main' }, histogram, emptyBox, docs);
  const el = h('div', { class: 'discover' },
    h('h1', { class: 'visually-hidden' }, 'Discover'),
    h('div', { class: 'toolbar' }, indexForm, qbar.el, tp.el, refreshBtn, liveBox),
    qbar.errorEl,
    fbar.el,
    h('div', { class: 'discover-body' }, sidebar, main));
  root.append(el);

  // ---- state and URL ----------------------------------------------------------------------
  function go(next, { replace: rep = false } = {}) {
    state = next;
    const url = `/_ui/discover?${encodeDiscover(state)}`;
    if (rep) history.replaceState(null, '', url); else history.pushState(null, '', url);
    sync();
    run();
  }

  function sync() {
    indexInput.value = state.index;
    qbar.set(state.q);
    tp.set({ from: state.from, to: state.to });
    fbar.set(state.filters);
    liveSel.value = String(state.refresh);
    intervalSel.value = state.interval;
    renderSplitOptions();
    scheduleLive();
  }

  function setIndex(index) {
    if (!index || index === state.index) return;
    go({ ...state, index, split: null, columns: [] });
  }

  // ---- fields -------------------------------------------------------------------------------
  async function loadFields() {
    if (loadedIndex === state.index) return;
    loadedIndex = state.index;
    fieldsError = null;
    expandedField = null;
    try {
      const caps = await api.fieldCaps(state.index);
      indexExists = !Array.isArray(caps.indices) || caps.indices.length > 0;
      fields = fieldsFromCaps(caps);
    } catch (e) {
      indexExists = false;
      fields = [];
      if (e.status !== 404) {
        // Refused (401/403) or failed: say why in the view, and ask again on the next run.
        fieldsError = e;
        loadedIndex = null;
        toast(`Fields of ${state.index}: ${e.message}`, 'error');
      }
    }
    timeField = pickTimeField(fields);
    textFields = textFieldSet(fields);
    renderSplitOptions();
    renderFields();
  }

  function splitField() {
    if (state.split === null || state.split === undefined) return defaultSplitField(fields);
    return state.split;
  }

  function renderSplitOptions() {
    const opts = [['', 'None']].concat(fields.filter((f) => f.agg && f.type !== 'date' && f.name !== timeField).map((f) => [f.agg, displayField(f.name)]));
    replace(splitSel, opts.map(([v, l]) => h('option', { value: v, selected: v === splitField() }, l)));
  }

  function renderFields() {
    const needle = fieldSearch.value.trim().toLowerCase();
    const shown = fields.filter((f) => !needle || f.name.toLowerCase().includes(needle));
    const selected = shown.filter((f) => state.columns.includes(f.name));
    const rest = shown.filter((f) => !state.columns.includes(f.name));
    const group = (title, list) => (list.length ? [h('h3', { class: 'field-group' }, title, ' ', h('span', { class: 'count' }, list.length)), h('ul', { class: 'fields' }, list.map(fieldItem))] : []);
    replace(fieldList,
      fields.length === 0 ? h('p', { class: 'muted pad' }, 'No fields.') : null,
      group('Selected fields', selected),
      group('Available fields', rest));
  }

  function typeBadge(type) {
    const [b, name] = TYPE_BADGE[type] || (NUMERIC_TYPES.has(type) ? ['#', 'Number'] : ['?', type]);
    return h('span', { class: `type type-${b === '#' ? 'num' : b}`, title: name }, h('span', { 'aria-hidden': 'true' }, b), h('span', { class: 'visually-hidden' }, `${name} field `));
  }

  function fieldItem(f) {
    const isCol = state.columns.includes(f.name);
    const open = expandedField === f.name;
    const detailsId = `fd-${f.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const li = h('li', { class: ['field', open ? 'open' : null], 'data-field': f.name },
      h('div', { class: 'field-line' },
        h('button', {
          type: 'button', class: 'field-name', 'aria-expanded': open ? 'true' : 'false', 'aria-controls': detailsId,
          title: f.agg ? `Show top values of ${f.name}` : `${f.name} (not aggregatable)`,
          onclick: () => { expandedField = open ? null : f.name; renderFields(); },
        }, typeBadge(f.type), h('span', { class: 'mono' }, f.name)),
        h('button', {
          type: 'button', class: ['icon-btn', 'field-add', isCol ? 'on' : null], 'aria-pressed': isCol ? 'true' : 'false',
          'aria-label': `${isCol ? 'Remove' : 'Add'} column ${f.name}`, title: isCol ? 'Remove column' : 'Add column',
          onclick: () => toggleColumn(f.name),
        }, isCol ? '−' : '+')),
      open ? h('div', { class: 'field-details', id: detailsId }, h('p', { class: 'muted' }, 'Loading…')) : null);
    if (open) loadFieldDetails(f, li.querySelector('.field-details'));
    return li;
  }

  async function loadFieldDetails(f, box) {
    if (!f.agg) {
      replace(box, h('p', { class: 'muted' }, `${f.name} is not aggregatable (no keyword sub-field); search it with the query bar.`),
        h('button', { type: 'button', class: 'link-btn', onclick: () => go({ ...state, filters: addFilter(state.filters, { field: f.name, exists: true }) }) }, 'Filter: exists'));
      return;
    }
    let range;
    try { range = lastRange || resolveRange(state); } catch { return; }
    const query = buildQuery({ query: state.q, filters: state.filters, range: timeField ? range : null, timeField, textFields });
    const numeric = NUMERIC_TYPES.has(f.type);
    const aggs = { top: { terms: { field: f.agg, size: 5 } }, has: { filter: { exists: { field: f.agg } } } };
    if (numeric) aggs.stats = { stats: { field: f.name } };
    try {
      const r = await api.search(state.index, { size: 0, track_total_hits: true, query, aggs });
      if (!box.isConnected) return;
      const all = r.hits.total.value;
      const has = r.aggregations.has.doc_count;
      const buckets = r.aggregations.top.buckets;
      const parts = [
        h('h4', null, 'Top 5 values'),
        buckets.length === 0 ? h('p', { class: 'muted' }, 'No values in the matching documents.') : null,
        h('ul', { class: 'top-values' }, buckets.map((b) => {
          const value = b.key_as_string === 'true' || b.key_as_string === 'false' ? b.key_as_string === 'true' : b.key;
          const label = b.key_as_string ?? String(b.key);
          const share = all ? b.doc_count / all : 0;
          const bar = h('span', { class: 'share-fill' });
          bar.style.width = `${share * 100}%`;
          return h('li', { class: 'top-value', 'data-value': label },
            h('div', { class: 'tv-line' },
              h('span', { class: 'tv-label mono', title: label }, label),
              h('span', { class: 'tv-share', 'data-count': b.doc_count }, formatPercent(share)),
              h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Filter for ${f.name}: ${label}`, title: 'Filter for value', onclick: () => go({ ...state, filters: addFilter(state.filters, { field: f.agg, value }) }) }, '⊕'),
              h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Filter out ${f.name}: ${label}`, title: 'Filter out value', onclick: () => go({ ...state, filters: addFilter(state.filters, { field: f.agg, value, negate: true }) }) }, '⊖')),
            h('span', { class: 'share-track', 'aria-hidden': 'true' }, bar));
        })),
        h('p', { class: 'muted small' }, `Exists in ${formatNumber(has)} of ${formatNumber(all)} documents (${formatPercent(all ? has / all : 0)}).`),
      ];
      if (numeric && r.aggregations.stats.count > 0) {
        const s = r.aggregations.stats;
        parts.push(h('h4', null, 'Distribution'),
          h('dl', { class: 'stats' }, h('dt', null, 'min'), h('dd', { 'data-stat': 'min' }, formatValue(s.min)), h('dt', null, 'avg'), h('dd', { 'data-stat': 'avg' }, formatValue(s.avg)), h('dt', null, 'max'), h('dd', { 'data-stat': 'max' }, formatValue(s.max))));
        const distBox = h('div', { class: 'dist' });
        parts.push(distBox);
        const interval = niceNumericInterval(s.min, s.max, 20);
        api.search(state.index, { size: 0, query, aggs: { d: { histogram: { field: f.name, interval, min_doc_count: 0 } } } }).then((hr) => {
          if (!distBox.isConnected) return;
          const bs = hr.aggregations.d.buckets;
          const max = Math.max(1, ...bs.map((b) => b.doc_count));
          replace(distBox, h('div', { class: 'dist-bars', role: 'img', 'aria-label': `Distribution of ${f.name}, ${bs.length} bars of width ${interval}` }, bs.map((b) => {
            const bar = h('span', { class: 'dist-bar', title: `${formatValue(b.key)} – ${formatValue(b.key + interval)}: ${formatNumber(b.doc_count)}` });
            bar.style.height = `${Math.max(b.doc_count ? 4 : 0, (b.doc_count / max) * 100)}%`;
            return bar;
          })), h('div', { class: 'dist-axis muted small' }, h('span', null, formatValue(s.min)), h('span', null, formatValue(s.max))));
        }).catch((e) => replace(distBox, h('p', { class: 'form-error' }, e.message)));
      }
      parts.push(h('div', { class: 'row-gap' },
        h('button', { type: 'button', class: 'link-btn', onclick: () => go({ ...state, filters: addFilter(state.filters, { field: f.agg, exists: true }) }) }, 'Filter: exists'),
        h('button', { type: 'button', class: 'link-btn', onclick: () => go({ ...state, split: f.agg }) }, 'Split histogram')));
      replace(box, parts);
    } catch (e) {
      replace(box, h('p', { class: 'form-error' }, e.message));
    }
  }

  function toggleColumn(name) {
    const columns = state.columns.includes(name) ? state.columns.filter((c) => c !== name) : state.columns.concat([name]);
    state = { ...state, columns };
    history.pushState(null, '', `/_ui/discover?${encodeDiscover(state)}`);
    renderFields();
    renderTable(lastHits);
    if (!columnsPop.hidden) buildColumnsPop();
  }

  function buildColumnsPop() {
    replace(columnsPop, h('fieldset', null, h('legend', null, 'Columns'),
      fields.length === 0 ? h('p', { class: 'muted' }, 'No fields') : null,
      h('div', { class: 'checks' }, fields.filter((f) => f.name !== timeField).map((f) => {
        const id = newId('col');
        return h('div', { class: 'check' }, h('input', { type: 'checkbox', id, checked: state.columns.includes(f.name), onchange: () => toggleColumn(f.name) }), h('label', { for: id, class: 'mono' }, f.name));
      }))));
  }

  let columnsClose = null;
  function toggleColumns() {
    if (columnsPop.hidden) {
      buildColumnsPop();
      columnsPop.hidden = false;
      columnsBtn.setAttribute('aria-expanded', 'true');
      const close = (refocus) => { columnsPop.hidden = true; columnsBtn.setAttribute('aria-expanded', 'false'); if (columnsClose) columnsClose(); columnsClose = null; if (refocus) columnsBtn.focus(); };
      columnsClose = dismissable(columnsBtn.parentElement, close);
      const first = columnsPop.querySelector('input');
      if (first) first.focus();
    } else {
      columnsPop.hidden = true;
      columnsBtn.setAttribute('aria-expanded', 'false');
      if (columnsClose) columnsClose();
    }
  }

  // ---- search --------------------------------------------------------------------------------
  let lastHits = [];

  async function closePit() {
    if (!pit) return;
    const id = pit;
    pit = null;
    try { await api.closePit(id); } catch { /* expired already */ }
  }

  function mainQuery(range) {
    return buildQuery({ query: state.q, filters: state.filters, range: timeField ? range : null, timeField, textFields });
  }

  function sortClause() {
    return timeField ? [{ [timeField]: { order: 'desc', unmapped_type: 'date' } }] : ['_doc'];
  }

  async function run({ live = false } = {}) {
    const my = ++token;
    if (!state.index) {
      await chooseDefaultIndex();
      if (my !== token) return;
      if (!state.index) return;
    }
    await loadFields();
    if (my !== token || destroyed) return;
    let range;
    try {
      range = resolveRange(state);
    } catch (e) {
      qbar.showError(e.message);
      return;
    }
    lastRange = range;
    if (fieldsError) {
      qbar.showError('');
      showFailure(fieldsError);
      el.dataset.ready = String(my);
      return;
    }
    if (!indexExists) {
      qbar.showError('');
      total = 0;
      hitCount.textContent = '0';
      hitCount.dataset.total = '0';
      if (chart) { chart.destroy(); chart = null; }
      histogram.hidden = true;
      showEmpty(`No stream or index matches “${state.index}”.`);
      histogram.hidden = true;
      el.dataset.ready = String(my);
      return;
    }
    const interval = pickInterval(state.interval, range.min, range.max);
    const query = mainQuery(range);
    const split = splitField();
    const aggs = {};
    if (timeField) {
      aggs.hist = dateHistogram(timeField, interval, range.min, range.max, Intl.DateTimeFormat().resolvedOptions().timeZone);
      if (split) aggs.split = { terms: { field: split, size: SPLIT_SIZE }, aggs: { hist: dateHistogram(timeField, interval, range.min, range.max, Intl.DateTimeFormat().resolvedOptions().timeZone) } };
    }
    el.classList.add('loading');
    const oldPit = pit;
    pit = null;
    let r;
    try {
      const opened = await api.openPit(state.index);
      if (my !== token) { api.closePit(opened.id).catch(() => {}); return; }
      pit = opened.id;
      if (oldPit) api.closePit(oldPit).catch(() => {});
      r = await api.search(null, {
        size: PAGE_SIZE, pit: { id: pit, keep_alive: '5m' }, sort: sortClause(), query, track_total_hits: true,
        highlight: highlightRequest(), fields: timeField ? [timeField] : undefined, aggs,
      });
    } catch (e) {
      if (my !== token) return;
      el.classList.remove('loading');
      if (e.status === 400) {
        qbar.showError(e.reason);
        el.classList.add('stale'); // the results below are the previous query's
      } else if (e.status === 404) {
        qbar.showError('');
        showEmpty(`No stream or index matches “${state.index}”.`);
      } else {
        qbar.showError('');
        showFailure(e);
        toast(`Search failed: ${e.message}`, 'error');
      }
      return;
    }
    if (my !== token || destroyed) return;
    el.classList.remove('loading', 'stale');
    qbar.showError('');
    total = r.hits.total.value;
    pages = [null];
    page = 0;
    hitCount.textContent = formatNumber(total);
    hitCount.dataset.total = String(total);
    el.dataset.rangeMin = String(range.min);
    el.dataset.rangeMax = String(range.max);
    el.dataset.query = JSON.stringify(query);
    replace(rangeNote, `${formatTime(range.min)} – ${formatTime(range.max)}`, timeField ? ` · per ${interval.label}` : ' · no time field');
    renderHistogram(r.aggregations, split, interval, range);
    lastHits = r.hits.hits;
    if (lastHits.length) pages[1] = lastHits[lastHits.length - 1].sort;
    showEmpty(total === 0 ? 'No documents match this query in this time range.' : null);
    renderTable(lastHits);
    renderPager();
    if (expandedField && !live) renderFields();
    else if (expandedField && live) {
      const f = fields.find((x) => x.name === expandedField);
      const box = fieldList.querySelector('.field.open .field-details');
      if (f && box) loadFieldDetails(f, box);
    }
    el.dataset.ready = String(my);
  }

  async function chooseDefaultIndex() {
    try {
      const t = await listTargets();
      fillIndexList(t);
      const index = t.streams[0] || t.indices[0];
      if (index) {
        state = { ...state, index };
        history.replaceState(null, '', `/_ui/discover?${encodeDiscover(state)}`);
        indexInput.value = index;
      } else {
        showEmpty(null, true);
      }
    } catch (e) {
      toast(`Could not list streams: ${e.message}`, 'error');
    }
  }

  function fillIndexList(t) {
    const opts = [];
    for (const s of t.streams) { opts.push(h('option', { value: s }, 'stream')); opts.push(h('option', { value: `${s}-*` }, 'pattern')); }
    for (const i of t.indices) opts.push(h('option', { value: i }, 'index'));
    opts.push(h('option', { value: '*' }, 'everything'));
    replace(indexData, opts);
  }

  /** A search that could not run (refused or failed): the server's reason in place of results. */
  function showFailure(e) {
    total = 0;
    hitCount.textContent = '0';
    hitCount.dataset.total = '0';
    if (chart) { chart.destroy(); chart = null; }
    histogram.hidden = true;
    docs.hidden = true;
    emptyBox.hidden = false;
    const what = e.status === 401 || e.status === 403 ? 'Not allowed to search' : 'Could not search';
    replace(emptyBox, h('p', { class: 'bad', role: 'alert' }, `${what} “${state.index}”: ${e.message}`));
  }

  function showEmpty(message, nothingYet = false) {
    if (!message && !nothingYet) { emptyBox.hidden = true; docs.hidden = false; return; }
    emptyBox.hidden = false;
    if (nothingYet) {
      docs.hidden = true;
      histogram.hidden = true;
      replace(emptyBox, h('h2', null, 'No data yet'), h('p', null, 'Ship a first log file, then come back:'),
        h('pre', { class: 'code' }, `curl -XPOST '${location.host}/v1/streams/web/records' -H 'content-type: text/plain' --data-binary @access.log`));
      return;
    }
    histogram.hidden = false;
    docs.hidden = total === 0;
    replace(emptyBox, h('p', null, message), h('p', { class: 'muted' }, 'Try a longer time range, fewer filters, or another query.'));
  }

  async function goPage(n) {
    if (n < 0 || n === page || !pit) return;
    const after = pages[n];
    if (n > 0 && !after) return;
    const my = ++token;
    el.classList.add('loading');
    try {
      const r = await api.search(null, {
        size: PAGE_SIZE, pit: { id: pit, keep_alive: '5m' }, sort: sortClause(), query: mainQuery(lastRange), track_total_hits: false,
        highlight: highlightRequest(), fields: timeField ? [timeField] : undefined, search_after: after || undefined,
      });
      if (my !== token) return;
      page = n;
      lastHits = r.hits.hits;
      if (lastHits.length) pages[n + 1] = lastHits[lastHits.length - 1].sort;
      renderTable(lastHits);
      renderPager();
      tableWrap.scrollTop = 0;
      el.dataset.ready = String(my);
    } catch (e) {
      if (e.status === 404 || /pit|point in time/i.test(e.message)) { toast('The point in time expired; searching again.'); run(); return; }
      toast(`Paging failed: ${e.message}`, 'error');
    } finally {
      el.classList.remove('loading');
    }
  }

  function renderPager() {
    const first = page * PAGE_SIZE + 1;
    const last = page * PAGE_SIZE + lastHits.length;
    replace(pager,
      h('span', { class: 'muted', 'data-page': page }, total ? `${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(total)}` : ''),
      h('button', { type: 'button', class: 'btn btn-sm', disabled: page === 0, onclick: () => goPage(page - 1), 'aria-label': 'Newer documents' }, '‹ Newer'),
      h('button', { type: 'button', class: 'btn btn-sm', disabled: last >= total || lastHits.length < PAGE_SIZE, onclick: () => goPage(page + 1), 'aria-label': 'Older documents' }, 'Older ›'));
  }

  function renderHistogram(aggs, split, interval, range) {
    if (!timeField || !aggs || !aggs.hist) {
      histogram.hidden = true;
      return;
    }
    histogram.hidden = false;
    const totalBuckets = aggs.hist.buckets;
    const x = totalBuckets.map((b) => b.key);
    let series;
    if (split && aggs.split) {
      const splits = aggs.split.buckets;
      series = splits.map((b, i) => {
        const byKey = new Map(b.hist.buckets.map((hb) => [hb.key, hb.doc_count]));
        const value = b.key_as_string === 'true' || b.key_as_string === 'false' ? b.key_as_string === 'true' : b.key;
        return { label: b.key_as_string ?? String(b.key), values: x.map((k) => byKey.get(k) || 0), color: colorFor(b.key_as_string ?? b.key, i), total: b.doc_count, filter: { field: split, value } };
      });
      const other = x.map((k, j) => totalBuckets[j].doc_count - series.reduce((a, s) => a + s.values[j], 0));
      const otherTotal = other.reduce((a, v) => a + v, 0);
      if (otherTotal > 0) series.push({ label: splits.length ? 'Other' : 'No value', values: other, color: '#c5c9d1', total: otherTotal, filter: null });
    } else {
      series = [{ label: 'Count', values: totalBuckets.map((b) => b.doc_count), color: '#6092c0', total, filter: null }];
    }
    const data = { x, series };
    const chartOpts = {
      bars: true, stacked: true, height: 160, range: [range.min, range.max], ariaLabel: `Histogram of ${formatNumber(total)} matches per ${interval.label}`,
      onSelect: (a, b) => {
        const lo = Math.max(range.min, a);
        const hi = Math.min(range.max, b);
        if (hi - lo >= 1) go({ ...state, ...absoluteRange(lo, hi) });
      },
      onSeriesClick: (i) => { const s = chart.series[i]; if (s && s.filter) go({ ...state, filters: addFilter(state.filters, s.filter) }); },
    };
    if (chart && chart.splitKey === `${split}|${interval.expr}`) {
      chart.update(data, { ...chartOpts, rebuild: true });
    } else {
      if (chart) chart.destroy();
      chart = timeChart(chartBox, data, chartOpts);
      chart.splitKey = `${split}|${interval.expr}`;
    }
    chart.series = series;
    chartBox.dataset.buckets = String(x.length);
    chartBox.dataset.interval = interval.expr;
    replace(legendBox, series.length > 1 || split ? legend(series, {
      title: `Split by ${displayField(split)}`,
      onClick: (i) => { if (series[i].filter) go({ ...state, filters: addFilter(state.filters, series[i].filter) }); },
    }) : null);
  }

  // ---- documents -------------------------------------------------------------------------------
  function renderTable(hits) {
    const cols = state.columns;
    const head = h('thead', null, h('tr', null,
      h('th', { class: 'col-expand' }, h('span', { class: 'visually-hidden' }, 'Details')),
      timeField ? h('th', { class: 'col-time', scope: 'col', 'aria-sort': 'descending' }, `${timeField} ↓`) : null,
      cols.length === 0 ? h('th', { scope: 'col' }, 'Document') : cols.map((c) => h('th', { scope: 'col' },
        h('span', { class: 'mono' }, c),
        h('button', { type: 'button', class: 'icon-btn th-remove', 'aria-label': `Remove column ${c}`, title: 'Remove column', onclick: () => toggleColumn(c) }, '×')))));
    const body = h('tbody');
    hits.forEach((hit) => body.append(...docRows(hit, cols)));
    replace(table, head, body);
  }

  function hitTime(hit) {
    const v = hit.fields && timeField && hit.fields[timeField] ? hit.fields[timeField][0] : getPath(hit._source, timeField);
    const t = typeof v === 'number' ? v : Date.parse(v);
    return Number.isNaN(t) ? null : t;
  }

  function valueNode(hit, field, raw) {
    const hl = hit.highlight && (hit.highlight[field] || hit.highlight[`${field}.keyword`]);
    if (hl && hl.length) {
      return h('span', null, highlightParts(hl.join(' … ')).map((p) => (p.hit ? h('mark', null, p.text) : p.text)));
    }
    if (raw === undefined) return h('span', { class: 'muted' }, '—');
    if (raw === null) return h('span', { class: 'muted' }, 'null');
    return typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
  }

  function docRows(hit, cols) {
    const t = hitTime(hit);
    const detailsRow = h('tr', { class: 'doc-details', hidden: true });
    const toggle = h('button', { type: 'button', class: 'icon-btn expand', 'aria-expanded': 'false', 'aria-label': `Show document ${hit._id}`, title: 'Show details' }, '▸');
    const summary = () => h('div', { class: 'doc-summary' }, flatten(hit._source).slice(0, 40).map(([k, v]) => [h('span', { class: 'kv-key' }, k), ' ', h('span', { class: 'kv-value' }, valueNode(hit, k, v)), ' ']));
    const row = h('tr', { class: 'doc-row', 'data-id': hit._id },
      h('td', { class: 'col-expand' }, toggle),
      timeField ? h('td', { class: 'col-time mono' }, t === null ? '—' : formatTime(t)) : null,
      cols.length === 0 ? h('td', { class: 'col-doc' }, summary()) : cols.map((c) => h('td', { class: 'col-val' }, valueNode(hit, c, getPath(hit._source, c)))));
    toggle.addEventListener('click', () => {
      const open = detailsRow.hidden;
      detailsRow.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      toggle.textContent = open ? '▾' : '▸';
      if (open && !detailsRow.firstChild) detailsRow.append(h('td', { colspan: String(2 + Math.max(1, cols.length)) }, docDetails(hit)));
    });
    return [row, detailsRow];
  }

  function docDetails(hit) {
    const tabs = newId('tabs');
    const tableTab = h('button', { type: 'button', role: 'tab', id: `${tabs}-t`, 'aria-selected': 'true', 'aria-controls': `${tabs}-tp`, class: 'tab' }, 'Table');
    const jsonTab = h('button', { type: 'button', role: 'tab', id: `${tabs}-j`, 'aria-selected': 'false', 'aria-controls': `${tabs}-jp`, class: 'tab', tabindex: '-1' }, 'JSON');
    const rows = flatten(hit._source);
    if (timeField && !getPath(hit._source, timeField) && hit.fields && hit.fields[timeField]) rows.unshift([timeField, hit.fields[timeField][0]]);
    const fieldTable = h('table', { class: 'field-table' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Actions'), h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
      h('tbody', null, rows.map(([k, v]) => {
        const meta = fields.find((f) => f.name === k);
        const aggField = meta ? meta.agg : null;
        const scalar = v === null || ['string', 'number', 'boolean'].includes(typeof v);
        return h('tr', null,
          h('td', { class: 'actions' },
            aggField && scalar ? h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Filter for ${k}: ${v}`, title: 'Filter for value', onclick: () => go({ ...state, filters: addFilter(state.filters, { field: aggField, value: v }) }) }, '⊕') : null,
            aggField && scalar ? h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Filter out ${k}: ${v}`, title: 'Filter out value', onclick: () => go({ ...state, filters: addFilter(state.filters, { field: aggField, value: v, negate: true }) }) }, '⊖') : null,
            meta ? h('button', { type: 'button', class: 'icon-btn', 'aria-label': `Toggle column ${k}`, title: 'Toggle column', onclick: () => toggleColumn(k) }, '▥') : null),
          h('th', { scope: 'row', class: 'mono' }, k),
          h('td', { class: 'mono wrap' }, valueNode(hit, k, v)));
      })));
    const tablePanel = h('div', { role: 'tabpanel', id: `${tabs}-tp`, 'aria-labelledby': tableTab.id }, fieldTable);
    const doc = { _index: hit._index, _id: hit._id, _source: hit._source };
    if (hit.fields) doc.fields = hit.fields;
    const jsonPanel = h('div', { role: 'tabpanel', id: `${tabs}-jp`, 'aria-labelledby': jsonTab.id, hidden: true }, h('pre', { class: 'code json' }, JSON.stringify(doc, null, 2)));
    const select = (json) => {
      tableTab.setAttribute('aria-selected', String(!json)); jsonTab.setAttribute('aria-selected', String(json));
      tableTab.tabIndex = json ? -1 : 0; jsonTab.tabIndex = json ? 0 : -1;
      tablePanel.hidden = json; jsonPanel.hidden = !json;
      (json ? jsonTab : tableTab).focus();
    };
    tableTab.addEventListener('click', () => select(false));
    jsonTab.addEventListener('click', () => select(true));
    const list = h('div', { role: 'tablist', class: 'tabs', 'aria-label': 'Document view' }, tableTab, jsonTab);
    list.addEventListener('keydown', (e) => { if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') select(jsonTab.getAttribute('aria-selected') !== 'true'); });
    return h('div', { class: 'doc-detail-box' }, h('div', { class: 'muted small' }, `${hit._index} · ${hit._id}`), list, tablePanel, jsonPanel);
  }

  // ---- live tail ----------------------------------------------------------------------------------
  function scheduleLive() {
    if (liveTimer) clearTimeout(liveTimer);
    liveTimer = null;
    el.classList.toggle('is-live', state.refresh > 0);
    if (!state.refresh || destroyed) return;
    const tick = async () => {
      if (destroyed || !state.refresh) return;
      if (page === 0 && !document.hidden) await run({ live: true });
      if (!destroyed && state.refresh) liveTimer = setTimeout(tick, state.refresh * 1000);
    };
    liveTimer = setTimeout(tick, state.refresh * 1000);
  }

  listTargets().then(fillIndexList).catch(() => {});
  sync();
  run();

  return {
    update() {
      // Back/forward: the URL changed under us.
      state = decodeDiscover(location.search);
      sync();
      run();
    },
    unmount() {
      destroyed = true;
      token += 1;
      if (liveTimer) clearTimeout(liveTimer);
      if (chart) chart.destroy();
      closePit();
      clear(root);
    },
  };
}
