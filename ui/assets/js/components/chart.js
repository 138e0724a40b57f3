// Charts over uPlot (vendored, unmodified): time series as lines or (stacked) bars, with drag
// to select a time range, a tooltip, and an HTML legend whose entries are buttons.

import uPlot from '../../vendor/uplot/uPlot.esm.js';
import { h, replace } from './dom.js';
import { formatCompact, formatTime, formatValue } from '../lib/format.js';

export const PALETTE = ['#54b399', '#6092c0', '#d36086', '#9170b8', '#ca8eae', '#d6bf57', '#b9a888', '#da8b45', '#aa6556', '#e7664c'];

const SEMANTIC = {
  error: '#e7664c', err: '#e7664c', fatal: '#bd271e', critical: '#bd271e', crit: '#bd271e',
  warn: '#d6bf57', warning: '#d6bf57', info: '#6092c0', debug: '#b9a888', trace: '#aaa',
  '2xx': '#54b399', '3xx': '#6092c0', '4xx': '#d6bf57', '5xx': '#e7664c', other: '#c5c9d1',
};

/** A series color: by meaning for levels and status classes (and HTTP codes), else the palette. */
export function colorFor(key, i) {
  const k = String(key).toLowerCase();
  if (SEMANTIC[k]) return SEMANTIC[k];
  if (/^[1-5]\d\d$/.test(k)) return SEMANTIC[`${k[0]}xx`] || PALETTE[i % PALETTE.length];
  return PALETTE[i % PALETTE.length];
}

const AXIS = { stroke: '#535966', grid: { stroke: '#eef0f3', width: 1 }, ticks: { stroke: '#d3dae6', width: 1, size: 4 }, font: '11px system-ui, sans-serif' };

/**
 * A time chart in `container`: {x: [ms], series: [{label, values, color}]}.
 * Options: bars, stacked, height, range: [minMs, maxMs], format (values), onSelect(minMs, maxMs),
 * onSeriesClick(i), ariaLabel.
 */
export function timeChart(container, data, opts = {}) {
  const height = opts.height || 180;
  const wrap = h('div', { class: 'chart', role: 'img', 'aria-label': opts.ariaLabel || 'Chart' });
  const tip = h('div', { class: 'chart-tip', hidden: true });
  container.append(wrap);
  let cur = data;
  let u = null;
  let dragged = false;

  function uData(d) {
    const n = d.series.length;
    if (!opts.stacked) return [d.x, ...d.series.map((s) => s.values)];
    // Overdraw stacking: series k is drawn at the sum of series k..n-1's... drawn from the
    // tallest (all series) to the shortest (the first), each on top of the previous one.
    const cum = [];
    let acc = d.x.map(() => 0);
    for (let i = 0; i < n; i += 1) {
      acc = acc.map((a, j) => a + (d.series[i].values[j] || 0));
      cum.push(acc);
    }
    return [d.x, ...cum.reverse()];
  }

  function order(d) {
    // uPlot series index (1-based) → our series index
    const n = d.series.length;
    return (k) => (opts.stacked ? n - k : k - 1);
  }

  function build() {
    const d = cur;
    const idx = order(d);
    const n = d.series.length;
    const series = [{}];
    for (let k = 1; k <= n; k += 1) {
      const s = d.series[idx(k)];
      const color = s.color;
      series.push({
        label: s.label,
        stroke: color,
        width: opts.bars ? 0 : 1.6,
        fill: opts.bars ? color : null,
        paths: opts.bars ? uPlot.paths.bars({ size: [0.86, 60, 1], align: 1 }) : undefined,
        points: { show: !opts.bars && d.x.length < 3, size: 4 },
        spanGaps: false,
      });
    }
    const width = Math.max(200, wrap.clientWidth || container.clientWidth || 600);
    const fmt = (v) => (opts.format ? formatValue(v, opts.format) : formatCompact(v));
    const o = {
      width,
      height,
      ms: 1,
      series,
      legend: { show: false },
      padding: [8, 8, 0, 0],
      scales: {
        x: { time: true, range: opts.range ? () => opts.range : undefined },
        y: { range: (self, min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        { ...AXIS },
        { ...AXIS, size: (self, values) => (values && values.length ? Math.max(36, 16 + Math.max(...values.map((v) => String(v).length)) * 6.6) : 40), values: (self, ticks) => ticks.map((t) => (opts.format ? formatValue(t, opts.format) : formatCompact(t))) },
      ],
      cursor: {
        drag: { x: !!opts.onSelect, y: false, setScale: false },
        points: { show: !opts.bars },
        focus: { prox: 24 },
      },
      focus: { alpha: 1 },
      hooks: {
        setSelect: [(self) => {
          if (!opts.onSelect || self.select.width < 3) return;
          const a = self.posToVal(self.select.left, 'x');
          const b = self.posToVal(self.select.left + self.select.width, 'x');
          dragged = true;
          self.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          opts.onSelect(Math.round(a), Math.round(b));
        }],
        setCursor: [(self) => showTip(self, fmt)],
      },
    };
    if (u) u.destroy();
    u = new uPlot(o, uData(d), wrap);
    u.over.append(tip);
    u.over.addEventListener('mouseleave', () => { tip.hidden = true; });
    if (opts.onSeriesClick) {
      u.over.classList.add('clickable');
      u.over.addEventListener('click', (e) => {
        if (dragged) { dragged = false; return; }
        const i = seriesAt(u, e);
        if (i !== null) opts.onSeriesClick(i);
      });
    }
  }

  function seriesAt(self, e) {
    const d = cur;
    const i = self.cursor.idx;
    if (i === null || i === undefined) return null;
    const rect = self.over.getBoundingClientRect();
    const yVal = self.posToVal(e.clientY - rect.top, 'y');
    const n = d.series.length;
    if (opts.stacked) {
      let acc = 0;
      for (let s = 0; s < n; s += 1) {
        const v = d.series[s].values[i] || 0;
        if (v > 0 && yVal >= acc && yVal <= acc + v) return s;
        acc += v;
      }
      return null;
    }
    let best = null;
    let bestDist = Infinity;
    for (let s = 0; s < n; s += 1) {
      const v = d.series[s].values[i];
      if (v === null || v === undefined) continue;
      const dist = Math.abs(self.valToPos(v, 'y') - (e.clientY - rect.top));
      if (dist < bestDist) { bestDist = dist; best = s; }
    }
    return bestDist < 30 ? best : null;
  }

  function showTip(self, fmt) {
    const i = self.cursor.idx;
    if (i === null || i === undefined || self.cursor.left < 0) { tip.hidden = true; return; }
    const d = cur;
    const rows = d.series.map((s, k) => [s, s.values[i], k]).filter(([, v]) => v !== null && v !== undefined);
    replace(tip,
      h('div', { class: 'chart-tip-time' }, formatTime(d.x[i])),
      rows.slice(0, 12).map(([s, v]) => h('div', { class: 'chart-tip-row' },
        h('span', { class: 'swatch', 'data-color': s.color }), h('span', { class: 'chart-tip-label' }, s.label), h('strong', null, fmt(v)))));
    for (const sw of tip.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
    tip.hidden = false;
    const left = self.cursor.left;
    const w = self.over.clientWidth;
    tip.style.left = `${left > w / 2 ? left - tip.offsetWidth - 12 : left + 12}px`;
    tip.style.top = '4px';
  }

  build();
  const ro = new ResizeObserver(() => {
    if (!u) return;
    const w = Math.max(200, wrap.clientWidth);
    if (Math.abs(w - u.width) > 2) u.setSize({ width: w, height });
  });
  ro.observe(wrap);

  return {
    el: wrap,
    update(next, nextOpts = {}) {
      Object.assign(opts, nextOpts);
      const sameShape = next.series.length === cur.series.length && next.series.every((s, i) => s.label === cur.series[i].label && s.color === cur.series[i].color);
      cur = next;
      if (sameShape && u && !nextOpts.rebuild) {
        if (opts.range) u.setScale('x', { min: opts.range[0], max: opts.range[1] });
        u.setData(uData(next), !opts.range);
      } else build();
    },
    destroy() { ro.disconnect(); if (u) u.destroy(); u = null; wrap.remove(); },
  };
}

/** An HTML legend: swatch, label, optional value; `onClick(i)` makes each entry a button. */
export function legend(series, { onClick, format, title } = {}) {
  const ul = h('ul', { class: 'legend', 'aria-label': title || 'Legend' }, series.map((s, i) => {
    const sw = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.background = s.color;
    const inner = [sw, h('span', { class: 'legend-label' }, s.label), s.total !== undefined ? h('span', { class: 'legend-value' }, formatValue(s.total, format)) : null];
    return h('li', { 'data-label': s.label }, onClick
      ? h('button', { type: 'button', class: 'legend-btn', title: `Filter for ${s.label}`, onclick: () => onClick(i) }, h('span', { class: 'visually-hidden' }, 'Filter for '), inner)
      : h('span', { class: 'legend-item' }, inner));
  }));
  return ul;
}

/** Horizontal bars (top values) as HTML: each row a button when `onClick` is given. */
export function barList(rows, { onClick, format, max } = {}) {
  const top = max ?? Math.max(1, ...rows.map((r) => r.value || 0));
  return h('ol', { class: 'bars' }, rows.map((r, i) => {
    const fill = h('span', { class: 'bar-fill' });
    fill.style.width = `${Math.max(0.5, ((r.value || 0) / top) * 100)}%`;
    fill.style.background = r.color || PALETTE[1];
    const content = [
      h('span', { class: 'bar-label', title: r.label }, r.label),
      h('span', { class: 'bar-track', 'aria-hidden': 'true' }, fill),
      h('span', { class: 'bar-value', 'data-value': r.value ?? '' }, formatValue(r.value, format)),
    ];
    return h('li', { 'data-key': String(r.key) }, onClick
      ? h('button', { type: 'button', class: 'bar-row', title: `Filter for ${r.label}`, onclick: () => onClick(i) }, content)
      : h('div', { class: 'bar-row' }, content));
  }));
}

/** A small inline SVG sparkline of `values` (no chart library needed). */
export function sparkline(values, { width = 120, height = 28, color = '#0b64dd', label = '' } = {}) {
  const svg = h('svg:svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, class: 'sparkline' });
  const vals = values.filter((v) => v !== null && v !== undefined);
  if (vals.length < 2) return svg;
  const max = Math.max(...vals, 1e-9);
  const step = width / Math.max(1, values.length - 1);
  let d = '';
  values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    const x = (i * step).toFixed(1);
    const y = (height - 2 - ((v / max) * (height - 4))).toFixed(1);
    d += `${d ? 'L' : 'M'}${x},${y}`;
  });
  svg.append(h('svg:path', { d, fill: 'none', stroke: color, 'stroke-width': '1.5' }));
  return svg;
}
