// Streams: per stream, what comes in (rates from successive scrapes of /_hydrant/metrics), what
// waits (buffer, WAL), what goes out per destination (deliveries, retries, error output,
// freshness); per index, documents, size, shards and period. Refreshes live.

import { api } from '../api.js';
import { h, replace, clear, newId, select, toast } from '../components/dom.js';
import { sparkline } from '../components/chart.js';
import { parsePrometheus, summarize, rates, indexRows } from '../lib/metrics.js';
import { formatNumber, formatBytes, formatDuration, formatRate, parseCatSize } from '../lib/format.js';

const HISTORY = 60;

export function mount(root) {
  let prev = null;
  let timer = null;
  let period = 2;
  let destroyed = false;
  const history = {}; // stream → [records/s]
  let lastIndices = [];
  let indicesAt = 0;

  const periodSel = select([['0', 'Paused'], ['1', '1 s'], ['2', '2 s'], ['5', '5 s'], ['10', '10 s']], String(period), { class: 'input', id: newId('sp') });
  periodSel.addEventListener('change', () => { period = Number(periodSel.value); schedule(); });
  const updated = h('span', { class: 'muted small', 'aria-live': 'off' });
  const streamsBox = h('div', { class: 'streams' });
  const indicesBox = h('div', { class: 'card' });
  const emptyBox = h('div', { hidden: true });
  const el = h('div', { class: 'page streams-page' },
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Streams'), h('p', { class: 'muted' }, 'Ingest and delivery per stream, from ', h('code', null, '/_hydrant/metrics'), '; indices from ', h('code', null, '_cat/indices'), ' and ', h('code', null, '_cat/shards'), '.')),
      h('div', { class: 'live' }, h('label', { for: periodSel.id }, 'Refresh'), periodSel, updated)),
    emptyBox,
    h('section', { 'aria-labelledby': 'streams-h', class: 'when-data' }, h('h2', { id: 'streams-h', class: 'h-sm' }, 'Delivery streams'), streamsBox),
    h('section', { 'aria-labelledby': 'indices-h', class: 'when-data' }, h('h2', { id: 'indices-h', class: 'h-sm' }, 'Indices'), indicesBox));
  root.append(el);

  async function scrape() {
    const at = Date.now();
    let text;
    try {
      text = await api.metrics();
    } catch (e) {
      toast(`Metrics: ${e.message}`, 'error');
      return;
    }
    const cur = { at, streams: summarize(parsePrometheus(text)) };
    const r = rates(prev, cur);
    prev = cur;
    for (const [name, rr] of Object.entries(r)) {
      const hs = (history[name] ||= []);
      hs.push(rr.recordsPerSecond);
      if (hs.length > HISTORY) hs.shift();
    }
    // Indices change slowly: every 5 s at most.
    if (at - indicesAt >= 5000 || !lastIndices.length) {
      try {
        const [ci, cs, res] = await Promise.all([api.catIndices(), api.catShards(), api.resolve('*').catch(() => ({ aliases: [] }))]);
        const aliasOf = {};
        for (const a of res.aliases || []) for (const ix of a.indices || []) aliasOf[ix] = a.name;
        lastIndices = indexRows(ci, cs, aliasOf);
        indicesAt = at;
      } catch (e) {
        toast(`Indices: ${e.message}`, 'error');
      }
    }
    if (destroyed) return;
    render(cur, r);
    replace(updated, `updated ${new Date(at).toLocaleTimeString()}`);
    el.dataset.scrapes = String(Number(el.dataset.scrapes || 0) + 1);
  }

  function render(cur, r) {
    const names = Object.keys(cur.streams).sort();
    const empty = names.length === 0 && lastIndices.length === 0;
    emptyBox.hidden = !empty;
    for (const sec of el.querySelectorAll('.when-data')) sec.hidden = empty;
    if (empty) {
      const cmd = `curl -XPOST '${location.host}/v1/streams/web/records' -H 'content-type: text/plain' --data-binary @access.log`;
      replace(emptyBox, h('div', { class: 'empty card' },
        h('h2', null, 'No streams yet'),
        h('p', null, 'A stream is created by its first write. Ship a log file — each line becomes a record:'),
        h('pre', { class: 'code', 'data-command': cmd }, cmd),
        h('button', { type: 'button', class: 'btn', onclick: () => navigator.clipboard.writeText(cmd).then(() => toast('Copied')).catch(() => toast('Copy it by hand: the clipboard is not available')) }, 'Copy command'),
        h('p', { class: 'muted' }, 'Or generate traffic: ', h('code', null, `hydrant loadgen --target http://${location.host} --stream web --format apache --parsed --count 10000`))));
    }
    replace(streamsBox, names.map((name) => streamCard(cur.streams[name], r[name])));
    renderIndices();
  }

  function stat(label, value, key, extra = null) {
    return h('div', { class: 'stat', 'data-metric': key }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), extra);
  }

  function streamCard(s, r) {
    const freshness = Math.max(0, ...Object.values(s.destinations).map((d) => d.freshnessSeconds || 0));
    const dests = Object.entries(s.destinations).sort(([a], [b]) => a.localeCompare(b));
    const apis = Object.entries(s.putRequests).map(([a, n]) => `${a} ${formatNumber(n)}`).join(', ');
    return h('article', { class: 'card stream-card', 'data-stream': s.name, 'aria-labelledby': `stream-${s.name}` },
      h('header', { class: 'stream-head' },
        h('h3', { id: `stream-${s.name}` }, h('a', { href: `/_ui/discover?index=${encodeURIComponent(s.name)}`, 'data-link': true, title: `Open ${s.name} in Discover` }, s.name)),
        sparkline(history[s.name] || [], { width: 160, height: 30, label: `Incoming records per second of ${s.name}, last ${HISTORY} scrapes` })),
      h('div', { class: 'stats' },
        stat('Incoming records/s', formatRate(r.recordsPerSecond), 'records-rate'),
        stat('Incoming bytes/s', formatRate(r.bytesPerSecond, true), 'bytes-rate'),
        stat('Records accepted', formatNumber(s.incomingRecords), 'incoming-records', h('div', { class: 'stat-sub muted' }, formatBytes(s.incomingBytes))),
        stat('Throttled (429)', formatNumber(s.throttledRecords), 'throttled', s.throttledRecords ? h('div', { class: 'stat-sub warn' }, formatRate(r.throttledPerSecond)) : null),
        stat('Rejected', formatNumber(s.rejectedRecords), 'rejected'),
        stat('Buffered', formatBytes(s.bufferedBytes), 'buffered'),
        stat('Data freshness', formatDuration(freshness), 'freshness'),
        stat('Write-ahead log', formatBytes(s.walBytes), 'wal')),
      apis ? h('p', { class: 'muted small' }, `Put requests: ${apis}`) : null,
      dests.length ? h('table', { class: 'dest-table' },
        h('caption', { class: 'visually-hidden' }, `Destinations of ${s.name}`),
        h('thead', null, h('tr', null, ['Destination', 'Delivered records', 'Delivered bytes', 'Records/s', 'Batches ok', 'Batches failed', 'Retries', 'Error output', 'Freshness'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : null }, c)))),
        h('tbody', null, dests.map(([dn, d]) => h('tr', { 'data-destination': dn },
          h('th', { scope: 'row' }, dn),
          h('td', { class: 'num', 'data-metric': 'delivered' }, formatNumber(d.records)),
          h('td', { class: 'num' }, formatBytes(d.bytes)),
          h('td', { class: 'num' }, formatRate(r.destinations[dn] && r.destinations[dn].recordsPerSecond)),
          h('td', { class: 'num' }, formatNumber(d.success)),
          h('td', { class: ['num', d.failed ? 'bad' : null] }, formatNumber(d.failed)),
          h('td', { class: ['num', d.retries ? 'warn' : null], 'data-metric': 'retries' }, formatNumber(d.retries)),
          h('td', { class: ['num', d.errorOutputRecords ? 'bad' : null], 'data-metric': 'error-output' }, formatNumber(d.errorOutputRecords)),
          h('td', { class: 'num' }, formatDuration(d.freshnessSeconds)))))) : null);
  }

  function renderIndices() {
    if (!lastIndices.length) { replace(indicesBox, h('p', { class: 'muted pad' }, 'No indices yet.')); return; }
    const fmtPeriod = (r) => (r.start === null ? '—' : `${new Date(r.start).toISOString().slice(0, r.period === 'OneHour' ? 13 : 10).replace('T', ' ')}${r.period === 'OneHour' ? ':00' : ''} UTC`);
    replace(indicesBox, h('div', { class: 'table-wrap' }, h('table', { class: 'list-table indices-table' },
      h('thead', null, h('tr', null, ['Index', 'Stream', 'Period', 'Starts', 'Health', 'Documents', 'Size', 'Shards'].map((c, i) => h('th', { scope: 'col', class: i >= 5 ? 'num' : null }, c)))),
      h('tbody', null, lastIndices.map((r) => h('tr', { 'data-index': r.index },
        h('th', { scope: 'row', class: 'mono' }, h('a', { href: `/_ui/discover?index=${encodeURIComponent(r.index)}`, 'data-link': true }, r.index)),
        h('td', null, r.stream),
        h('td', null, r.period),
        h('td', { class: 'mono small' }, fmtPeriod(r)),
        h('td', null, h('span', { class: `dot dot-${r.health || 'green'}`, 'aria-hidden': 'true' }), ` ${r.health || ''}`),
        h('td', { class: 'num', 'data-metric': 'docs' }, formatNumber(r.docs)),
        h('td', { class: 'num' }, formatBytes(/^\d+$/.test(String(r.size)) ? Number(r.size) : parseCatSize(r.size))),
        h('td', { class: 'num', title: `${r.shards.primaries} primaries, ${r.shards.replicas} replicas` }, String(r.shards.primaries))))))));
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!period || destroyed) return;
    timer = setTimeout(async () => {
      if (!document.hidden) await scrape();
      schedule();
    }, period * 1000);
  }

  scrape().then(schedule);
  return {
    unmount() {
      destroyed = true;
      if (timer) clearTimeout(timer);
      clear(root);
    },
  };
}
