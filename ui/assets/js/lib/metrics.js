// Hydrant's Prometheus metrics (no DOM): parse the text, fold it into per-stream figures, and
// compute rates from two successive scrapes.

/** Parses Prometheus/OpenMetrics text into [{name, labels, value}]. */
export function parsePrometheus(text) {
  const out = [];
  for (const raw of String(text).split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/g;
      let l;
      while ((l = re.exec(m[3])) !== null) {
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
      }
    }
    const v = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

const STREAM_METRICS = {
  hydrant_incoming_records_total: 'incomingRecords',
  hydrant_incoming_bytes_total: 'incomingBytes',
  hydrant_rejected_records_total: 'rejectedRecords',
  hydrant_throttled_records_total: 'throttledRecords',
  hydrant_wal_bytes: 'walBytes',
  hydrant_buffered_bytes: 'bufferedBytes',
  hydrant_indices_deleted_total: 'indicesDeleted',
};

const DESTINATION_METRICS = {
  hydrant_delivery_records_total: 'records',
  hydrant_delivery_bytes_total: 'bytes',
  hydrant_delivery_success_total: 'success',
  hydrant_delivery_failed_total: 'failed',
  hydrant_delivery_retries_total: 'retries',
  hydrant_delivery_data_freshness_seconds: 'freshnessSeconds',
  hydrant_error_output_records_total: 'errorOutputRecords',
};

function emptyStream(name) {
  return {
    name,
    incomingRecords: 0,
    incomingBytes: 0,
    rejectedRecords: 0,
    throttledRecords: 0,
    walBytes: 0,
    bufferedBytes: 0,
    indicesDeleted: 0,
    putRequests: {},
    destinations: {},
  };
}

/** Per-stream figures: {streamName: {incomingRecords, …, putRequests: {api: n}, destinations: {name: {…}}}}. */
export function summarize(samples) {
  const streams = {};
  const get = (name) => (streams[name] ||= emptyStream(name));
  for (const s of samples) {
    const stream = s.labels.stream;
    if (stream === undefined) continue;
    if (STREAM_METRICS[s.name]) {
      get(stream)[STREAM_METRICS[s.name]] = s.value;
    } else if (s.name === 'hydrant_incoming_put_requests_total') {
      get(stream).putRequests[s.labels.api || 'unknown'] = s.value;
    } else if (DESTINATION_METRICS[s.name]) {
      const dest = s.labels.destination || 'unknown';
      const d = (get(stream).destinations[dest] ||= {
        records: 0, bytes: 0, success: 0, failed: 0, retries: 0, freshnessSeconds: 0, errorOutputRecords: 0,
      });
      d[DESTINATION_METRICS[s.name]] = s.value;
    }
  }
  return streams;
}

/** The per-second rate of a counter between two readings (a reset counts from zero). */
export function counterRate(prev, cur, seconds) {
  if (prev === undefined || prev === null || cur === undefined || cur === null || !(seconds > 0)) return null;
  const delta = cur >= prev ? cur - prev : cur;
  return delta / seconds;
}

/**
 * Rates between two scrapes {at: ms, streams: summarize(…)}: {stream: {recordsPerSecond,
 * bytesPerSecond, throttledPerSecond, destinations: {name: {recordsPerSecond}}}}; null rates
 * for a stream that the previous scrape did not have.
 */
export function rates(prev, cur) {
  const out = {};
  const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
  for (const [name, s] of Object.entries(cur.streams)) {
    const p = prev && prev.streams[name];
    const destinations = {};
    for (const [dn, d] of Object.entries(s.destinations)) {
      const pd = p && p.destinations[dn];
      destinations[dn] = { recordsPerSecond: pd ? counterRate(pd.records, d.records, seconds) : null };
    }
    out[name] = {
      recordsPerSecond: p ? counterRate(p.incomingRecords, s.incomingRecords, seconds) : null,
      bytesPerSecond: p ? counterRate(p.incomingBytes, s.incomingBytes, seconds) : null,
      throttledPerSecond: p ? counterRate(p.throttledRecords, s.throttledRecords, seconds) : null,
      destinations,
    };
  }
  return out;
}

/**
 * The rotation period of an index from its name (Firehose's suffixes): {period, start, end}
 * in UTC ms, or {period: 'NoRotation'} for a name without a suffix.
 */
export function indexPeriod(index) {
  let m = /-(\d{4})-(\d{2})-(\d{2})-(\d{2})$/.exec(index);
  if (m) {
    const start = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]);
    return { period: 'OneHour', start, end: start + 3_600_000, stream: index.slice(0, m.index) };
  }
  m = /-(\d{4})-(\d{2})-(\d{2})$/.exec(index);
  if (m) {
    const start = Date.UTC(+m[1], +m[2] - 1, +m[3]);
    return { period: 'OneDay', start, end: start + 86_400_000, stream: index.slice(0, m.index) };
  }
  m = /-(\d{4})-w(\d{2})$/.exec(index);
  if (m) {
    // ISO week: week 1 holds January 4th; weeks start on Monday.
    const jan4 = Date.UTC(+m[1], 0, 4);
    const dow = (new Date(jan4).getUTCDay() + 6) % 7;
    const start = jan4 - dow * 86_400_000 + (+m[2] - 1) * 7 * 86_400_000;
    return { period: 'OneWeek', start, end: start + 7 * 86_400_000, stream: index.slice(0, m.index) };
  }
  m = /-(\d{4})-(\d{2})$/.exec(index);
  if (m) {
    const start = Date.UTC(+m[1], +m[2] - 1, 1);
    return { period: 'OneMonth', start, end: Date.UTC(+m[1], +m[2], 1), stream: index.slice(0, m.index) };
  }
  return { period: 'NoRotation', start: null, end: null, stream: index };
}

/** Rows of `_cat/indices?format=json` joined with `_cat/shards?format=json`, by stream. */
export function indexRows(catIndices, catShards, aliases = {}) {
  const shards = {};
  for (const s of catShards || []) {
    const r = (shards[s.index] ||= { primaries: 0, replicas: 0, started: 0, total: 0 });
    r.total += 1;
    if (s.prirep === 'p') r.primaries += 1; else r.replicas += 1;
    if (s.state === 'STARTED') r.started += 1;
  }
  return (catIndices || []).map((i) => {
    const period = indexPeriod(i.index);
    return {
      index: i.index,
      stream: aliases[i.index] || period.stream,
      health: i.health,
      status: i.status,
      docs: Number(i['docs.count'] ?? 0),
      size: i['store.size'],
      shards: shards[i.index] || { primaries: Number(i.pri || 0), replicas: 0, started: 0, total: Number(i.pri || 0) },
      ...period,
    };
  }).sort((a, b) => (a.stream.localeCompare(b.stream)) || ((b.start ?? 0) - (a.start ?? 0)) || a.index.localeCompare(b.index));
}
