// Times the browser UI against a running `hydrant serve` in headless Chromium (bench/ui.sh runs
// it; playwright-core from tests/ui/node_modules, Debian's /usr/bin/chromium).
//
//   node bench/ui_timing.mjs --url URL --stream web --phase discover [--runs 10] --out results.json
//   node bench/ui_timing.mjs --url URL --phase dashboard --dashboard ID --panels 8 [--runs 10] --out results.json
//   node bench/ui_timing.mjs --report results.json [--records N] [--load load.json]
//
// Times come from the page itself (performance.now(), an init script watching the DOM), not from
// polling: Discover's from the Enter key's keydown to the first result rows in the DOM, to the
// histogram drawn (the chart's `data-buckets` written after uPlot drew) and to the next frame
// (requestAnimationFrame + a task: the frame that shows them); dashboards' from navigation start
// (the document's time origin) until the view marks every panel loaded (`.dashboard[data-ready]`
// without `.loading`, and each `section.panel` with `data-total` or `data-error`), and the next
// frame. Each result is appended to --out as one JSON line, with the server's `took` of every
// `_msearch` the page sent (observed with page.on('requestfinished')).

import { chromium } from '../tests/ui/node_modules/playwright-core/index.mjs';
import { appendFileSync, readFileSync, existsSync } from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 1) {
  const a = process.argv[i];
  if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
  args[a.slice(2)] = process.argv[i + 1] && !process.argv[i + 1].startsWith('--') ? process.argv[++i] : true;
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RUNS = Number(args.runs || 10);
const TIMEOUT = Number(args.timeout || 120_000);

// Queries typed into Discover's query bar, and the range the view is opened with (the issue:
// "Last 7 days"; a few shorter ranges for contrast). More runs than queries cycle through them.
const QUERIES = [
  { q: '*', from: 'now-7d' },
  { q: 'response:404', from: 'now-7d' },
  { q: 'verb:POST', from: 'now-7d' },
  { q: 'response:>=500', from: 'now-7d' },
  { q: 'request:cart', from: 'now-7d' },
  { q: 'agent:curl', from: 'now-7d' },
  { q: 'bytes:>10000', from: 'now-7d' },
  { q: 'response:200 AND verb:GET', from: 'now-7d' },
  { q: 'NOT response:200', from: 'now-24h' },
  { q: 'banner', from: 'now-1h' },
];

// Runs in every document before the page's own scripts: marks, in performance.now() time, when
// Discover's rows, histogram and ready counter change after an armed Enter, and when a
// dashboard has drawn every panel; plus the frame after each.
const INIT = () => {
  const B = { t: {}, armed: null };
  window.__bench = B;
  const now = () => performance.now();
  const frameAfter = (k) => requestAnimationFrame(() => setTimeout(() => { if (B.t[k] === undefined) B.t[k] = now(); }, 0));
  B.arm = () => {
    const d = document.querySelector('.discover');
    B.t = {};
    B.armed = { ready: Number((d && d.dataset.ready) || 0), tbody: d && d.querySelector('table.docs tbody') };
    document.addEventListener('keydown', (e) => { if (e.key === 'Enter' && B.t.key === undefined) B.t.key = now(); }, { capture: true, once: true });
  };
  const check = (records) => {
    const d = document.querySelector('.discover');
    if (d) {
      const ready = Number(d.dataset.ready || 0);
      if (!B.armed) {
        if (ready > 0 && B.t.open === undefined) { B.t.open = now(); frameAfter('openFrame'); }
      } else if (B.t.key !== undefined) {
        const tbody = d.querySelector('table.docs tbody');
        if (B.t.rows === undefined && tbody && tbody !== B.armed.tbody && tbody.querySelector('tr.doc-row')) B.t.rows = now();
        if (B.t.hist === undefined && records.some((r) => r.type === 'attributes' && r.attributeName === 'data-buckets')) B.t.hist = now();
        if (B.t.ready === undefined && ready > B.armed.ready && !d.classList.contains('loading')) {
          B.t.ready = now();
          B.t.total = Number(document.querySelector('#hit-count').dataset.total);
          frameAfter('frame');
        }
      }
    }
    const dash = document.querySelector('.dashboard');
    if (dash && B.t.panels === undefined && dash.dataset.ready && !dash.classList.contains('loading')) {
      const panels = [...dash.querySelectorAll('section.panel')];
      if (panels.length && panels.every((p) => p.dataset.total !== undefined || p.dataset.error !== undefined)) {
        B.t.panels = now();
        B.t.panelCount = panels.length;
        B.t.panelErrors = panels.filter((p) => p.dataset.error !== undefined).map((p) => `${p.dataset.panelId}: ${p.dataset.error}`);
        frameAfter('panelsFrame');
      }
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-ready', 'data-buckets', 'data-total', 'data-error', 'class'] });
};

async function browser() {
  const b = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions'],
  });
  return b;
}

async function newPage(b) {
  const context = await b.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'UTC' });
  context.setDefaultTimeout(TIMEOUT);
  await context.addInitScript(INIT);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  // Every API request of the page: path, duration, and for _msearch the took of each item.
  const requests = [];
  page.on('requestfinished', async (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/_ui/')) return;
    const t = req.timing();
    const entry = { path: url.pathname, method: req.method(), start: t.startTime, ms: t.responseEnd };
    requests.push(entry);
    if (url.pathname === '/_msearch') {
      try {
        const body = await (await req.response()).json();
        entry.took = (body.responses || []).map((r) => r.took ?? null);
        entry.status = (body.responses || []).map((r) => r.status ?? 200);
        entry.totals = (body.responses || []).map((r) => (r.hits && r.hits.total ? r.hits.total.value : null));
        entry.body = req.postData();
      } catch (e) {
        entry.error = String(e);
      }
    }
  });
  return { context, page, errors, requests };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function settled(requests, path) {
  // requestfinished (and the body read) can land a moment after the page drew its answer.
  for (let i = 0; i < 100 && !requests.some((r) => r.path === path && (r.took || r.error)); i += 1) await sleep(20);
}

function emit(record) {
  const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const line = JSON.stringify({ ...record, at: new Date().toISOString(), loadavg });
  if (args.out) appendFileSync(args.out, `${line}\n`);
  console.log(line.length > 400 ? `${line.slice(0, 400)}…` : line);
}

async function discover() {
  const b = await browser();
  try {
    const { page, errors, requests } = await newPage(b);
    for (let i = 0; i < RUNS; i += 1) {
      const { q, from } = QUERIES[i % QUERIES.length];
      requests.length = 0;
      await page.goto(`${args.url}/_ui/discover?index=${encodeURIComponent(args.stream)}&from=${from}&to=now`);
      await page.waitForFunction(() => window.__bench && window.__bench.t.openFrame !== undefined);
      const open = await page.evaluate(() => ({ ...window.__bench.t }));
      await settled(requests, '/_msearch');
      const openSearch = requests.find((r) => r.path === '/_msearch');
      requests.length = 0;
      await page.fill('.query-input', q);
      await page.evaluate(() => window.__bench.arm());
      await page.press('.query-input', 'Enter');
      await page.waitForFunction(() => window.__bench.t.frame !== undefined);
      const t = await page.evaluate(() => ({ ...window.__bench.t }));
      await settled(requests, '/_msearch');
      const pit = requests.find((r) => r.path.endsWith('/_pit') && r.method === 'POST');
      const search = requests.find((r) => r.path === '/_msearch');
      emit({
        phase: 'discover', run: i, cold: i === 0, q, from, hits: t.total,
        open_ms: open.open, open_frame_ms: open.openFrame, open_took: openSearch && openSearch.took ? openSearch.took[0] : null,
        rows_ms: t.rows === undefined ? null : t.rows - t.key, hist_ms: t.hist === undefined ? null : t.hist - t.key,
        ready_ms: t.ready - t.key, frame_ms: t.frame - t.key,
        pit_ms: pit ? pit.ms : null, msearch_ms: search ? search.ms : null, took: search && search.took ? search.took[0] : null,
        request: search ? search.body : null, errors: errors.splice(0),
      });
    }
  } finally {
    await b.close();
  }
}

async function dashboard() {
  const id = args.dashboard;
  const doc = await (await fetch(`${args.url}/_hydrant/ui/dashboards/${id}`)).json();
  const panelIds = (doc.panels || []).map((p) => `${p.id}:${p.type}`);
  if (args.panels && panelIds.length !== Number(args.panels)) throw new Error(`${id} has ${panelIds.length} panels, not ${args.panels}`);
  const url = `${args.url}/_ui/dashboards/${id}?from=${args.from || 'now-7d'}&to=now`;
  const b = await browser();
  try {
    // Cold: the first load after the server started, in a browser with an empty cache; then
    // warm: the same browser loads the page again (cached files, warm server).
    const { page, errors, requests } = await newPage(b);
    for (let i = 0; i <= RUNS; i += 1) {
      requests.length = 0;
      await page.goto(url, { waitUntil: 'commit' });
      await page.waitForFunction(() => window.__bench && window.__bench.t.panelsFrame !== undefined);
      const t = await page.evaluate(() => ({ ...window.__bench.t, origin: performance.timeOrigin }));
      await settled(requests, '/_msearch');
      const search = requests.find((r) => r.path === '/_msearch');
      emit({
        phase: 'dashboard', dashboard: id, panels: t.panelCount, cold: i === 0, run: i, from: args.from || 'now-7d',
        panels_ms: t.panels, frame_ms: t.panelsFrame, panel_errors: t.panelErrors,
        msearch_sent_ms: search ? search.start - t.origin : null, msearch_ms: search ? search.ms : null,
        took: search ? search.took : null, took_max: search && search.took ? Math.max(...search.took) : null,
        panel_ids: panelIds, requests: requests.map((r) => ({ path: r.path, sent_ms: Math.round(r.start - t.origin), ms: Math.round(r.ms) })),
        request: i === 0 && search ? search.body : undefined, errors: errors.splice(0),
      });
    }
  } finally {
    await b.close();
  }
}

// ---- report ----------------------------------------------------------------------------------
function rank(xs, p) {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!s.length) return null;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
}
const f0 = (x) => (x === null || x === undefined ? '–' : String(Math.round(x)));
const stats = (xs) => [rank(xs, 0.5), rank(xs, 0.95), rank(xs, 1)];

function report() {
  const rows = readFileSync(args.report, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const disc = rows.filter((r) => r.phase === 'discover');
  const out = [];
  const records = args.records ? Number(args.records) : null;
  if (args.load && existsSync(args.load)) {
    const l = JSON.parse(readFileSync(args.load, 'utf8'));
    const u = l.ui_bench || {};
    if (u.searchable_seconds) out.push(`load: ${u.records.toLocaleString('en')} records, acknowledged in ${u.acked_seconds.toFixed(0)} s, all searchable after ${u.searchable_seconds.toFixed(0)} s (${Math.round(u.records / u.searchable_seconds).toLocaleString('en')} records/s; ${u.protocol}, ${u.concurrency} connections, ${u.batch} per request)`);
  }
  const errs = rows.flatMap((r) => (r.errors || []).concat(r.panel_errors || []));
  if (errs.length) out.push(`browser or panel errors: ${errs.length}: ${errs.slice(0, 3).join(' | ')}`);
  out.push('');
  out.push(`| measured in Chromium${records ? ` (${records.toLocaleString('en')} records)` : ''} | runs | p50 ms | p95 ms | max ms | server took p50 / max ms | target | p50 / target | p95 / target |`);
  out.push('|---|---|---|---|---|---|---|---|---|');
  const line = (name, xs, took, target) => {
    const [p50, p95, max] = stats(xs);
    const [t50, , tmax] = stats(took);
    const ratio = (x) => (target && x !== null ? `${(x / target).toFixed(2)}×` : '');
    out.push(`| ${name} | ${xs.filter((x) => x !== null).length} | ${f0(p50)} | ${f0(p95)} | ${f0(max)} | ${f0(t50)} / ${f0(tmax)} | ${target ? `${target} ms` : ''} | ${ratio(p50)} | ${ratio(p95)} |`);
  };
  if (disc.length) {
    line('Discover: Enter → first rows painted (all queries)', disc.map((r) => r.frame_ms), disc.map((r) => r.took), 300);
    line('… Enter → rows in the DOM', disc.map((r) => r.rows_ms), disc.map((r) => r.took), 300);
    line('… Enter → histogram drawn', disc.map((r) => r.hist_ms), disc.map((r) => r.took), 300);
    const week = disc.filter((r) => r.from === 'now-7d');
    line('… "Last 7 days" queries only', week.map((r) => r.frame_ms), week.map((r) => r.took), 300);
    line('Discover opened on "Last 7 days": navigation → rows painted', disc.map((r) => r.open_frame_ms), disc.map((r) => r.open_took), null);
  }
  for (const id of [...new Set(rows.filter((r) => r.phase === 'dashboard').map((r) => r.dashboard))]) {
    const ds = rows.filter((r) => r.phase === 'dashboard' && r.dashboard === id);
    const n = ds[0].panels;
    const target = n === 8 ? 1000 : null;
    line(`Dashboard \`${id}\` (${n} panels), cold: navigation → all panels painted`, ds.filter((r) => r.cold).map((r) => r.frame_ms), ds.filter((r) => r.cold).map((r) => r.took_max), target);
    line(`Dashboard \`${id}\` (${n} panels), warm`, ds.filter((r) => !r.cold).map((r) => r.frame_ms), ds.filter((r) => !r.cold).map((r) => r.took_max), target);
  }
  if (disc.length) {
    out.push('', '| Discover query | range | hits | Enter → painted ms | `_pit` ms | `_msearch` ms | took ms |', '|---|---|---|---|---|---|---|');
    for (const r of disc) out.push(`| \`${r.q}\`${r.cold ? ' (cold)' : ''} | ${r.from} | ${(r.hits ?? 0).toLocaleString('en')} | ${f0(r.frame_ms)} | ${f0(r.pit_ms)} | ${f0(r.msearch_ms)} | ${f0(r.took)} |`);
  }
  for (const id of [...new Set(rows.filter((r) => r.phase === 'dashboard').map((r) => r.dashboard))]) {
    const ds = rows.filter((r) => r.phase === 'dashboard' && r.dashboard === id);
    const warm = ds.filter((r) => !r.cold);
    const cold = ds.find((r) => r.cold);
    out.push('', `Dashboard \`${id}\`: \`_msearch\` sent at p50 ${f0(rank(warm.map((r) => r.msearch_sent_ms), 0.5))} ms after navigation start (cold ${f0(cold && cold.msearch_sent_ms)}), answered in p50 ${f0(rank(warm.map((r) => r.msearch_ms), 0.5))} ms (cold ${f0(cold && cold.msearch_ms)}); took per panel, warm p50 (cold):`);
    out.push('', '| panel | took p50 ms | cold took ms |', '|---|---|---|');
    ds[0].panel_ids.forEach((p, i) => out.push(`| ${p} | ${f0(rank(warm.map((r) => (r.took ? r.took[i] : null)), 0.5))} | ${f0(cold && cold.took ? cold.took[i] : null)} |`));
  }
  console.log(out.join('\n'));
}

if (args.report) report();
else if (args.phase === 'discover') await discover();
else if (args.phase === 'dashboard') await dashboard();
else throw new Error('--phase discover|dashboard, or --report FILE');
