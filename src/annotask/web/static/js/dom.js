// Small DOM helpers. User data only ever reaches the page as text nodes or
// attribute values: there is deliberately no way to set innerHTML here.

/**
 * Build an element: `h('a', {class: 'x', href, onClick}, 'text', child)`.
 * Props starting with `on` add listeners; `class`, `text`, `dataset`, `hidden`,
 * `disabled`, `checked`, `value` and `style` (an object of CSS custom properties
 * or CSSOM properties, allowed by the page's CSP) are handled; others become attributes.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'text') {
      el.textContent = String(value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key === 'style') {
      for (const [prop, v] of Object.entries(value)) {
        if (prop.startsWith('--')) el.style.setProperty(prop, v);
        else el.style[prop] = v;
      }
    } else if (['hidden', 'disabled', 'checked', 'selected', 'multiple', 'required', 'open'].includes(key)) {
      el[key] = Boolean(value);
    } else if (key === 'value') {
      el.value = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
});

export function formatDate(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : dateFormat.format(date);
}

export function formatDateTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : dateTimeFormat.format(date);
}

export function formatBytes(bytes) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
}

export function truncate(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/**
 * A modal confirmation; resolves to true when the user confirms.
 * `danger` styles the confirm button as destructive.
 */
export function confirmDialog({ title, message, confirm = 'OK', danger = false }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary', value: 'ok', text: confirm });
    const cancel = h('button', { type: 'button', value: 'cancel', text: 'Cancel' });
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title' },
      h('h2', { id: 'dialog-title', text: title }),
      message ? h('p', { text: message }) : null,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    let answer = false;
    ok.addEventListener('click', () => { answer = true; dialog.close(); });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** A short message in the corner that goes away by itself. */
export function toast(message, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = h('div', { class: ['toast', kind], role: kind === 'error' ? 'alert' : 'status', text: message });
  box.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

/** A persistent message block (errors loading a page, not-found...). */
export function notice(container, message, kind = 'error') {
  clear(container).append(h('div', { class: ['notice', kind], role: kind === 'error' ? 'alert' : 'status', text: message }));
}

// ---- form errors -----------------------------------------------------------

/** The `.field` that shows errors for API key `key` (`labels[0].name` → `labels`). */
export function fieldFor(form, key) {
  const base = key.split(/[.[]/, 1)[0];
  return form.querySelector(`[data-field~="${CSS.escape(key)}"]`) || form.querySelector(`[data-field~="${CSS.escape(base)}"]`);
}

export function clearErrors(form) {
  // Only the form's own fields: editors inside keep their own messages.
  for (const el of form.querySelectorAll('[data-field] > .field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[data-field].has-error')) el.classList.remove('has-error');
  const summary = form.querySelector('.form-errors');
  if (summary) clear(summary);
}

/**
 * Show `{key: [messages]}` next to the fields they name; the rest goes to the
 * form's `.form-errors` block. Returns the first field element that got an error.
 */
export function showErrors(form, errors) {
  let first = null;
  const rest = [];
  for (const [key, messages] of Object.entries(errors)) {
    const list = Array.isArray(messages) ? messages : [messages];
    const field = key === 'non_field_errors' ? null : fieldFor(form, key);
    const slot = field && (field.querySelector(':scope > .field-error') || field.querySelector('.field-error'));
    if (slot) {
      const base = key.split(/[.[]/, 1)[0];
      const prefix = key !== base && !field.matches(`[data-field~="${CSS.escape(key)}"]`) ? `${key.slice(base.length).replace(/^\./, '')}: ` : '';
      const text = prefix + list.join(' ');
      slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
      field.classList.add('has-error');
      first ||= field;
    } else {
      rest.push(key === 'non_field_errors' ? list.join(' ') : `${key}: ${list.join(' ')}`);
    }
  }
  const summary = form.querySelector('.form-errors');
  if (summary && rest.length) {
    summary.append(...rest.map((text) => h('p', { text })));
    first ||= summary;
  }
  return first;
}

/**
 * True when a key event is meant for a control rather than for a page shortcut
 * (typing in a field, choosing in a select, a dialog): shortcuts then stay quiet.
 */
export function isTypingTarget(event) {
  const target = event.target;
  return target instanceof Element && Boolean(target.closest('input, textarea, select, [contenteditable], dialog'));
}
