// The query bar (Lucene syntax, the server's error shown inline) and the filter pills.

import { h, replace, newId, dismissable, select } from './dom.js';
import { filterLabel } from '../lib/query.js';

/** The query input: Enter or the button submits; `showError` puts the server's reason under it. */
export function queryBar({ value, onSubmit, placeholder = 'Search (Lucene syntax), e.g. level:error AND service:api' }) {
  const id = newId('q');
  const errId = newId('qerr');
  const input = h('input', {
    id, class: 'input query-input mono', type: 'search', value, placeholder, spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': errId,
  });
  const err = h('div', { id: errId, class: 'query-error', role: 'alert', hidden: true });
  const form = h('form', {
    class: 'query-form', role: 'search',
    onsubmit: (e) => { e.preventDefault(); onSubmit(input.value.trim()); },
  },
  h('label', { for: id, class: 'visually-hidden' }, 'Search query'),
  input,
  h('button', { type: 'submit', class: 'btn btn-primary', 'aria-label': 'Search' }, 'Search'));
  return {
    el: form,
    errorEl: err,
    input,
    set(v) { input.value = v; },
    showError(message) {
      err.hidden = !message;
      input.setAttribute('aria-invalid', message ? 'true' : 'false');
      replace(err, message ? [h('strong', null, 'Query error: '), message] : '');
    },
  };
}

/**
 * The pills: each can be negated, disabled or removed; "Add filter" opens a small form
 * (field, is / is not / exists, value). `fields` gives the field names to choose from.
 */
export function filterBar({ filters, onChange, fields = () => [] }) {
  let cur = filters.slice();
  const list = h('ul', { class: 'pills', 'aria-label': 'Filters' });
  const addBtn = h('button', { type: 'button', class: 'link-btn add-filter', 'aria-haspopup': 'dialog', 'aria-expanded': 'false' }, '+ Add filter');
  const pop = h('div', { class: 'popover add-filter-pop', role: 'dialog', 'aria-label': 'Add a filter', hidden: true });
  const root = h('div', { class: 'filterbar' }, list, h('div', { class: 'add-filter-wrap' }, addBtn, pop));
  let closeHandlers = null;

  function change(next) {
    cur = next;
    render();
    onChange(next);
  }

  function render() {
    replace(list, cur.map((f, i) => {
      const text = filterLabel(f);
      return h('li', { class: ['pill', f.negate ? 'pill-not' : null, f.disabled ? 'pill-disabled' : null], 'data-filter': text },
        h('span', { class: 'pill-text', title: text }, text),
        h('button', {
          type: 'button', class: 'pill-btn', title: f.negate ? 'Include results' : 'Exclude results',
          'aria-label': `${f.negate ? 'Include' : 'Exclude'} results: ${text}`,
          onclick: () => change(cur.map((g, j) => (j === i ? { ...g, negate: !g.negate } : g))),
        }, f.negate ? '+' : '−'),
        h('button', {
          type: 'button', class: 'pill-btn', title: f.disabled ? 'Enable' : 'Disable temporarily',
          'aria-label': `${f.disabled ? 'Enable' : 'Disable'} filter: ${text}`, 'aria-pressed': f.disabled ? 'true' : 'false',
          onclick: () => change(cur.map((g, j) => (j === i ? { ...g, disabled: !g.disabled } : g))),
        }, f.disabled ? '◯' : '◉'),
        h('button', {
          type: 'button', class: 'pill-btn', title: 'Remove', 'aria-label': `Remove filter: ${text}`,
          onclick: () => change(cur.filter((_, j) => j !== i)),
        }, '×'));
    }));
    list.hidden = cur.length === 0;
  }

  function open() {
    const listId = newId('fields');
    const field = h('input', { class: 'input mono', list: listId, required: true, autocomplete: 'off' });
    const op = select([['is', 'is'], ['is_not', 'is not'], ['exists', 'exists'], ['not_exists', 'does not exist']], 'is', { class: 'input' });
    const value = h('input', { class: 'input mono', autocomplete: 'off' });
    const valueRow = h('div', { class: 'field-row' }, h('label', { for: (value.id = newId('fv')) }, 'Value'), value);
    op.addEventListener('change', () => { valueRow.hidden = op.value.includes('exists'); });
    const form = h('form', {
      class: 'stack',
      onsubmit: (e) => {
        e.preventDefault();
        const name = field.value.trim();
        if (!name) return;
        let f;
        if (op.value.includes('exists')) f = { field: name, exists: true, negate: op.value === 'not_exists' };
        else {
          const raw = value.value;
          const num = raw.trim() !== '' && !Number.isNaN(Number(raw)) && !name.endsWith('.keyword') && fieldIsNumeric(name) ? Number(raw) : raw;
          f = { field: name, value: num, negate: op.value === 'is_not' };
        }
        if (!f.negate) delete f.negate;
        close(true);
        change(cur.concat([f]));
      },
    },
    h('div', { class: 'field-row' }, h('label', { for: (field.id = newId('ff')) }, 'Field'), field,
      h('datalist', { id: listId }, fields().map((f) => h('option', { value: f.agg || f.name })))),
    h('div', { class: 'field-row' }, h('label', { for: (op.id = newId('fo')) }, 'Operator'), op),
    valueRow,
    h('div', { class: 'row-end' }, h('button', { type: 'button', class: 'btn', onclick: () => close(true) }, 'Cancel'), h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add filter')));
    replace(pop, form);
    pop.hidden = false;
    addBtn.setAttribute('aria-expanded', 'true');
    closeHandlers = dismissable(root.querySelector('.add-filter-wrap'), close);
    field.focus();
  }

  function fieldIsNumeric(name) {
    const f = fields().find((x) => x.name === name || x.agg === name);
    return !!f && ['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long'].includes(f.type);
  }

  function close(refocus) {
    if (pop.hidden) return;
    pop.hidden = true;
    addBtn.setAttribute('aria-expanded', 'false');
    if (closeHandlers) closeHandlers();
    if (refocus) addBtn.focus();
  }

  addBtn.addEventListener('click', () => (pop.hidden ? open() : close(true)));
  render();
  return {
    el: root,
    set(next) { cur = next.slice(); render(); },
  };
}
