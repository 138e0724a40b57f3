// The time picker: a button showing the range ("Last 15 minutes") that opens quick ranges,
// a relative range (last N units) and a custom from/to accepting date math or absolute times.

import { h, replace, dismissable, newId, select } from './dom.js';
import {
  QUICK_RANGES, describeRange, parseDateMath, relativeRange, resolveRange, defaultFormat, UNITS, zoomOut,
} from '../lib/timerange.js';

const UNIT_LABELS = { s: 'seconds', m: 'minutes', h: 'hours', d: 'days', w: 'weeks', M: 'months', y: 'years' };

export function timePicker({ range, onChange }) {
  let cur = { ...range };
  let closeHandlers = null;
  const popId = newId('timepop');
  const label = h('span', { class: 'tp-label' });
  const btn = h('button', {
    class: 'btn tp-button', type: 'button', 'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'aria-controls': popId,
    title: 'Time range', onclick: () => (pop.hidden ? open() : close(true)),
  }, label, h('span', { class: 'caret', 'aria-hidden': 'true' }, '▾'));
  const zoomBtn = h('button', { class: 'btn btn-icon', type: 'button', 'aria-label': 'Zoom out (double the time range)', title: 'Zoom out', onclick: () => onChange(zoomOut(cur)) }, '−');
  const pop = h('div', { class: 'popover tp-popover', id: popId, role: 'dialog', 'aria-label': 'Choose a time range', hidden: true });
  const root = h('div', { class: 'timepicker' }, btn, zoomBtn, pop);

  function apply(r) {
    try {
      resolveRange(r);
    } catch (e) {
      return e.message;
    }
    close(true);
    onChange(r);
    return null;
  }

  function build() {
    const quick = h('div', { class: 'tp-quick' }, QUICK_RANGES.map((q) => h('button', {
      type: 'button', class: ['link-btn', q.from === cur.from && q.to === cur.to ? 'active' : null], onclick: () => apply({ from: q.from, to: q.to }),
    }, q.label)));

    const n = h('input', { type: 'number', min: '1', step: '1', value: '15', class: 'input tp-n', 'aria-label': 'Last how many' });
    const unit = select(UNITS.map((u) => [u, UNIT_LABELS[u]]), 'm', { class: 'input', 'aria-label': 'Unit' });
    const relErr = h('div', { class: 'form-error', role: 'alert' });
    const rel = h('form', {
      class: 'tp-relative',
      onsubmit: (e) => {
        e.preventDefault();
        try {
          const err = apply(relativeRange(Number(n.value), unit.value));
          replace(relErr, err || '');
        } catch (err) { replace(relErr, err.message); }
      },
    }, h('span', null, 'Last'), n, unit, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'), relErr);

    const fromId = newId('tpfrom');
    const toId = newId('tpto');
    const from = h('input', { id: fromId, class: 'input mono', value: cur.from, spellcheck: 'false', autocomplete: 'off' });
    const to = h('input', { id: toId, class: 'input mono', value: cur.to, spellcheck: 'false', autocomplete: 'off' });
    const fromHint = h('div', { class: 'hint' });
    const toHint = h('div', { class: 'hint' });
    const hint = (input, out, up) => {
      const t = parseDateMath(input.value, Date.now(), up);
      replace(out, t === null ? 'not a time' : defaultFormat(t));
      out.classList.toggle('bad', t === null);
    };
    from.addEventListener('input', () => hint(from, fromHint, false));
    to.addEventListener('input', () => hint(to, toHint, true));
    hint(from, fromHint, false);
    hint(to, toHint, true);
    const absErr = h('div', { class: 'form-error', role: 'alert' });
    const abs = h('form', {
      class: 'tp-absolute',
      onsubmit: (e) => {
        e.preventDefault();
        replace(absErr, apply({ from: from.value.trim(), to: to.value.trim() }) || '');
      },
    },
    h('div', { class: 'tp-end' }, h('label', { for: fromId }, 'From'), from, fromHint),
    h('div', { class: 'tp-end' }, h('label', { for: toId }, 'To'), to, toHint),
    h('p', { class: 'hint' }, 'Date math (', h('code', null, 'now-2h'), ', ', h('code', null, 'now/d'), ') or a time (', h('code', null, '2026-11-26 10:00'), ', ISO 8601).'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'), absErr);

    replace(pop,
      h('h3', null, 'Quick select'), rel,
      h('h3', null, 'Commonly used'), quick,
      h('h3', null, 'Custom range'), abs);
  }

  function open() {
    build();
    pop.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    closeHandlers = dismissable(root, close);
    const first = pop.querySelector('input');
    if (first) first.focus();
  }

  function close(refocus) {
    if (pop.hidden) return;
    pop.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    if (closeHandlers) closeHandlers();
    closeHandlers = null;
    if (refocus) btn.focus();
  }

  function set(r) {
    cur = { ...r };
    replace(label, describeRange(cur));
    btn.title = `${cur.from} → ${cur.to}`;
  }

  set(cur);
  return { el: root, set, close };
}
