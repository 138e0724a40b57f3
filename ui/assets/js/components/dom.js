// A tiny DOM helper: h('button', {class: 'x', onclick: fn, 'aria-label': 'y'}, 'text', child).
// Strings are always text nodes (never HTML), so nothing from a document can inject markup.

export function h(tag, attrs = null, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
      else if (k === 'value' && 'value' in el) el.value = v;
      else if (k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = !!v;
      else if (k === 'style') throw new Error('use element.style from code, not style attributes (CSP)');
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function newId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** A short message at the bottom right; errors stay until dismissed. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const close = h('button', { class: 'icon-btn', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×');
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : null }, h('span', null, message), close);
  box.append(t);
  if (kind !== 'error') setTimeout(() => t.remove(), 4000);
}

/** Closes a popover on Escape or a click outside; returns a function removing the handlers. */
export function dismissable(root, close) {
  const onKey = (e) => { if (e.key === 'Escape') { e.preventDefault(); close(true); } };
  const onDown = (e) => { if (!root.contains(e.target)) close(false); };
  document.addEventListener('keydown', onKey);
  document.addEventListener('mousedown', onDown);
  return () => {
    document.removeEventListener('keydown', onKey);
    document.removeEventListener('mousedown', onDown);
  };
}

/** A labelled form control: <label for=id>text</label> + control (given an id). */
export function labelled(text, control, cls = 'field-row') {
  if (!control.id) control.id = newId('ctl');
  return h('div', { class: cls }, h('label', { for: control.id }, text), control);
}

/** A <select> from [[value, label]] (or strings). */
export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map((o) => {
    const [v, l] = Array.isArray(o) ? o : [o, o];
    return h('option', { value: v, selected: String(v) === String(value) }, l);
  }));
}
