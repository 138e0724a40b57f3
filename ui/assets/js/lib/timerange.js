// Time ranges and Elasticsearch-style date math, resolved in the browser's time zone (no DOM).
//
// A range is {from, to}, each either date math ("now", "now-15m", "now-1d/d", "now/w") or an
// absolute time (ISO 8601, or epoch milliseconds as digits). The page resolves both ends once
// per refresh so that the histogram, the hits and the counts all use the same instants.

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, H: 3_600_000, d: 86_400_000, w: 604_800_000 };
export const UNITS = ['s', 'm', 'h', 'd', 'w', 'M', 'y'];
const UNIT_NAMES = {
  ms: 'millisecond', s: 'second', m: 'minute', h: 'hour', H: 'hour', d: 'day', w: 'week', M: 'month', y: 'year',
};

export const QUICK_RANGES = [
  { from: 'now-15m', to: 'now', label: 'Last 15 minutes' },
  { from: 'now-30m', to: 'now', label: 'Last 30 minutes' },
  { from: 'now-1h', to: 'now', label: 'Last 1 hour' },
  { from: 'now-4h', to: 'now', label: 'Last 4 hours' },
  { from: 'now-24h', to: 'now', label: 'Last 24 hours' },
  { from: 'now-7d', to: 'now', label: 'Last 7 days' },
  { from: 'now-30d', to: 'now', label: 'Last 30 days' },
  { from: 'now-1y', to: 'now', label: 'Last 1 year' },
  { from: 'now/d', to: 'now/d', label: 'Today' },
  { from: 'now-1d/d', to: 'now-1d/d', label: 'Yesterday' },
  { from: 'now/w', to: 'now/w', label: 'This week' },
];

export const DEFAULT_RANGE = { from: 'now-15m', to: 'now' };

/** Parses an absolute time: ISO 8601 (a date alone is local midnight) or epoch ms digits. */
export function parseAbsolute(text) {
  const s = String(text).trim();
  if (/^\d{10,}$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const [y, mo, d] = s.split('-').map(Number);
    return new Date(y, mo - 1, d).getTime();
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(s)) return null;
  const t = Date.parse(s.replace(' ', 'T'));
  return Number.isNaN(t) ? null : t;
}

function addUnits(date, n, unit) {
  const d = new Date(date.getTime());
  switch (unit) {
    case 'y': d.setFullYear(d.getFullYear() + n); return d;
    case 'M': d.setMonth(d.getMonth() + n); return d;
    case 'w': d.setDate(d.getDate() + 7 * n); return d;
    case 'd': d.setDate(d.getDate() + n); return d;
    default: return new Date(d.getTime() + n * UNIT_MS[unit]);
  }
}

/** Rounds down to the start of `unit` (local time); with `up`, to its last millisecond. */
export function roundDate(date, unit, up = false) {
  const d = new Date(date.getTime());
  switch (unit) {
    case 'y': d.setMonth(0, 1); d.setHours(0, 0, 0, 0); break;
    case 'M': d.setDate(1); d.setHours(0, 0, 0, 0); break;
    case 'w': { // ISO weeks start on Monday, as in Elasticsearch
      const back = (d.getDay() + 6) % 7;
      d.setDate(d.getDate() - back); d.setHours(0, 0, 0, 0); break;
    }
    case 'd': d.setHours(0, 0, 0, 0); break;
    case 'h': case 'H': d.setMinutes(0, 0, 0); break;
    case 'm': d.setSeconds(0, 0); break;
    case 's': d.setMilliseconds(0); break;
    default: throw new Error(`unknown rounding unit ${unit}`);
  }
  if (!up) return d;
  return new Date(addUnits(d, 1, unit).getTime() - 1);
}

/**
 * Resolves date math or an absolute time to epoch milliseconds; `roundUp` makes `/d` mean the
 * end of the day (for the upper end of a range), as Elasticsearch does. Returns null when the
 * text is not a time.
 */
export function parseDateMath(text, now = Date.now(), roundUp = false) {
  if (text === null || text === undefined) return null;
  const s = String(text).trim();
  if (!s) return null;
  let base;
  let rest;
  if (s.startsWith('now')) {
    base = new Date(now);
    rest = s.slice(3);
  } else {
    const sep = s.indexOf('||');
    const abs = parseAbsolute(sep >= 0 ? s.slice(0, sep) : s);
    if (abs === null) return null;
    base = new Date(abs);
    rest = sep >= 0 ? s.slice(sep + 2) : '';
  }
  const re = /^([+-]\d+|\/)([smhHdwMy])/;
  let d = base;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) return null;
    if (m[1] === '/') d = roundDate(d, m[2], roundUp);
    else d = addUnits(d, Number(m[1]), m[2]);
    rest = rest.slice(m[0].length);
  }
  return d.getTime();
}

/** True when the text is a valid time for a range end. */
export function isValidTime(text) {
  return parseDateMath(text, Date.now()) !== null;
}

/** True when either end moves with the clock. */
export function isRelative(range) {
  return String(range.from).startsWith('now') || String(range.to).startsWith('now');
}

/** {min, max} in epoch ms for a range; throws on an invalid or empty range. */
export function resolveRange(range, now = Date.now()) {
  const min = parseDateMath(range.from, now, false);
  const max = parseDateMath(range.to, now, true);
  if (min === null) throw new Error(`invalid start time: ${range.from}`);
  if (max === null) throw new Error(`invalid end time: ${range.to}`);
  if (max <= min) throw new Error('the end of the time range must be after its start');
  return { min, max };
}

/** "Last 15 minutes" for now-15m..now, a quick range's label, else the two ends. */
export function describeRange(range, fmt = defaultFormat) {
  const q = QUICK_RANGES.find((r) => r.from === range.from && r.to === range.to);
  if (q) return q.label;
  const m = /^now-(\d+)([smhHdwMy])$/.exec(range.from);
  if (m && range.to === 'now') {
    const n = Number(m[1]);
    return `Last ${n} ${UNIT_NAMES[m[2]]}${n === 1 ? '' : 's'}`;
  }
  return `${describeEnd(range.from, fmt)} → ${describeEnd(range.to, fmt)}`;
}

function describeEnd(text, fmt) {
  if (String(text).startsWith('now')) return text;
  const t = parseDateMath(text);
  return t === null ? String(text) : fmt(t);
}

function pad(n, w = 2) { return String(n).padStart(w, '0'); }

/** Local "YYYY-MM-DD HH:mm:ss.SSS". */
export function defaultFormat(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Absolute ISO text (UTC) for a URL, to the millisecond. */
export function toIso(ms) {
  return new Date(ms).toISOString();
}

/** Value for an <input type="datetime-local" step="1">: local "YYYY-MM-DDTHH:mm:ss". */
export function toLocalInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Parses a datetime-local value (local time) to epoch ms, or null. */
export function fromLocalInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value || '');
  if (!m) return null;
  return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)).getTime();
}

/** The range `now-N<unit>`..now. */
export function relativeRange(n, unit) {
  if (!Number.isInteger(n) || n <= 0 || !UNITS.includes(unit)) throw new Error('invalid relative range');
  return { from: `now-${n}${unit}`, to: 'now' };
}

/** An absolute range from two instants (zooming on the histogram). */
export function absoluteRange(min, max) {
  return { from: toIso(Math.round(min)), to: toIso(Math.round(max)) };
}

/** The same range twice as long around its middle (zoom out), absolute. */
export function zoomOut(range, now = Date.now()) {
  const { min, max } = resolveRange(range, now);
  const half = (max - min) / 2;
  return absoluteRange(min - half, Math.min(max + half, now));
}

/** The browser's IANA time zone, or UTC. */
export function localTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
