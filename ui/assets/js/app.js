// The page: a router over three views (Discover, Dashboards, Streams) using the History API,
// so every view has a real URL under /_ui/ that survives a reload and the back button.

import { api } from './api.js';
import { h, replace } from './components/dom.js';
import * as discover from './views/discover.js';
import * as dashboards from './views/dashboards.js';
import * as streams from './views/streams.js';

const BASE = '/_ui';

const routes = [
  { re: /^\/?$/, view: null, redirect: '/discover' },
  { re: /^\/discover\/?$/, view: discover, nav: 'discover', title: 'Discover' },
  { re: /^\/dashboards\/?$/, view: dashboards.list, nav: 'dashboards', title: 'Dashboards' },
  { re: /^\/dashboards\/([A-Za-z0-9_-]{1,64})\/?$/, view: dashboards.board, nav: 'dashboards', title: 'Dashboard' },
  { re: /^\/streams\/?$/, view: streams, nav: 'streams', title: 'Streams' },
];

let current = null; // {route, instance}

function match(pathname) {
  const rel = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  for (const r of routes) {
    const m = r.re.exec(rel);
    if (m) return { route: r, params: m.slice(1) };
  }
  return null;
}

/** Goes to a URL of the page (pushes a history entry unless `replace`). */
export function navigate(url, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

function render() {
  const main = document.getElementById('main');
  const m = match(location.pathname);
  if (m && m.route.redirect) {
    history.replaceState(null, '', BASE + m.route.redirect + location.search);
    render();
    return;
  }
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (m && a.dataset.nav === m.route.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!m) {
    if (current && current.instance.unmount) current.instance.unmount();
    current = null;
    document.title = 'Not found · Hydrant';
    replace(main, h('div', { class: 'empty' }, h('h1', null, 'Page not found'),
      h('p', null, 'There is nothing at ', h('code', null, location.pathname), '. ',
        h('a', { href: `${BASE}/discover`, 'data-link': true }, 'Go to Discover'), '.')));
    return;
  }
  const same = current && current.route === m.route && String(current.params) === String(m.params);
  if (same && current.instance.update) {
    current.instance.update();
    return;
  }
  if (current && current.instance.unmount) current.instance.unmount();
  replace(main);
  document.title = `${m.route.title} · Hydrant`;
  current = { route: m.route, params: m.params, instance: m.route.view.mount(main, { params: m.params, navigate }) };
}

// Internal links navigate without reloading the page.
document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  const url = new URL(a.href, location.href);
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});

window.addEventListener('popstate', render);

async function clusterStatus() {
  const el = document.getElementById('cluster-status');
  try {
    const hh = await api.health();
    replace(el, h('span', { class: `dot dot-${hh.status}`, 'aria-hidden': 'true' }), `${hh.cluster_name} · ${hh.status}`);
  } catch {
    replace(el, h('span', { class: 'dot dot-red', 'aria-hidden': 'true' }), 'server unreachable');
  }
}

render();
clusterStatus();
setInterval(clusterStatus, 30_000);
