// Building elements without innerHTML: every piece of user text becomes a
// text node, so nothing a user writes is ever parsed as markup.

/** h('li', {class: 'x', onclick}, child, 'text', …) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const $ = (id) => document.getElementById(id);

export function clear(el) { el.replaceChildren(); return el; }

/** A search highlight (text with <mark>…</mark> around matches, the rest
 * escaped by the server) as nodes: only <mark> is ever made an element. */
export function highlighted(html) {
  const out = [];
  const parts = String(html).split(/(<mark>|<\/mark>)/);
  let marked = false;
  for (const p of parts) {
    if (p === '<mark>') { marked = true; continue; }
    if (p === '</mark>') { marked = false; continue; }
    const text = unescape(p);
    out.push(marked ? h('mark', {}, text) : text);
  }
  return out;
}

function unescape(s) {
  const t = document.createElement('textarea');
  t.innerHTML = s; // a textarea's content is never parsed as elements
  return t.value;
}

export function time(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

let statusTimer;
/** A short note in the corner (for screen readers too). */
export function status(text) {
  const el = $('status');
  el.textContent = text;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { el.textContent = ''; }, 4000);
}
