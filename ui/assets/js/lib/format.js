// Number, byte, duration and time formatting (no DOM).

const nf = new Intl.NumberFormat('en-US');
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const nf2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** 12,345 — integers grouped; other numbers with up to 2 decimals. */
export function formatNumber(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return nf.format(n);
  return Math.abs(n) >= 100 ? nf1.format(n) : nf2.format(n);
}

/** 1.2k, 3.4M — short numbers for axes. */
export function formatCompact(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '';
  const a = Math.abs(n);
  if (a >= 1e9) return `${nf1.format(n / 1e9)}G`;
  if (a >= 1e6) return `${nf1.format(n / 1e6)}M`;
  if (a >= 1e4) return `${nf1.format(n / 1e3)}k`;
  return formatNumber(n);
}

/** 1.5 MB (powers of 1024, as Elasticsearch's `_cat` prints sizes). */
export function formatBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  const s = i === 0 ? String(Math.round(v)) : (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  return `${n < 0 ? '-' : ''}${s} ${units[i]}`;
}

/** Parses `_cat` sizes ("2.8mb", "1005.3kb", "12b") to bytes. */
export function parseCatSize(text) {
  const m = /^([\d.]+)\s*(b|kb|mb|gb|tb|pb)?$/i.exec(String(text ?? '').trim());
  if (!m) return null;
  const mult = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4, pb: 1024 ** 5 }[(m[2] || 'b').toLowerCase()];
  return Math.round(Number(m[1]) * mult);
}

/** 850 ms, 12.3 s, 4m 10s, 2h 5m, 3d 4h. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.abs(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${nf1.format(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.round((s % 86400) / 3600)}h`;
}

/** 12.5/s */
export function formatRate(perSecond, bytes = false) {
  if (perSecond === null || perSecond === undefined || Number.isNaN(perSecond)) return '—';
  return bytes ? `${formatBytes(perSecond)}/s` : `${formatNumber(Math.round(perSecond * 10) / 10)}/s`;
}

/** 12.3 % */
export function formatPercent(fraction, digits = 1) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)} %`;
}

function pad(n, w = 2) { return String(n).padStart(w, '0'); }

/** Local "Dec 3, 2026 @ 05:53:23.451", as Kibana shows document times. */
export function formatTime(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  const d = new Date(ms);
  const month = d.toLocaleString('en-US', { month: 'short' });
  return `${month} ${d.getDate()}, ${d.getFullYear()} @ ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A value as a metric: a number, bytes, a percentage or milliseconds. */
export function formatValue(v, format) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  switch (format) {
    case 'bytes': return formatBytes(v);
    case 'percent': return formatPercent(v);
    case 'ms': return `${formatNumber(Math.round(v * 10) / 10)} ms`;
    default: return formatNumber(typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v);
  }
}
