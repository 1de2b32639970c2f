// A value shown as text with an Edit button that turns into input + Save / Cancel.

import { clear, h } from './dom.js';

/**
 * Render into `container`. `render(value)` builds the read-only view; `save(value)`
 * persists (throw to show an error); `validate(value)` returns a message or ''.
 */
export function inlineEdit(container, { value, label, render, save, validate = () => '', placeholder = '', maxlength = 2000, type = 'text' }) {
  let current = value;

  const show = () => {
    clear(container).append(h('div', { class: 'inline-view' },
      render(current),
      h('button', { type: 'button', class: 'icon-button edit-button', 'aria-label': `Edit ${label}`, title: `Edit ${label}`, text: '✎', onClick: edit })));
  };

  function edit() {
    const input = h('input', { type, value: current, 'aria-label': label, placeholder, maxlength, class: 'inline-input', spellcheck: 'false' });
    const error = h('p', { class: 'field-error', role: 'alert' });
    const saveButton = h('button', { type: 'submit', class: 'primary small', text: 'Save' });
    const editor = h('form', { class: 'inline-edit', novalidate: true },
      h('div', { class: 'inline-row' }, input, saveButton,
        h('button', { type: 'button', class: 'small', text: 'Cancel', onClick: show })),
      error);
    editor.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') show();
    });
    editor.addEventListener('submit', async (event) => {
      event.preventDefault();
      const next = input.value.trim();
      const problem = validate(next);
      if (problem) {
        error.textContent = problem;
        editor.classList.add('has-error');
        return;
      }
      saveButton.disabled = true;
      try {
        const saved = await save(next);
        current = saved === undefined ? next : saved;
        show();
      } catch (err) {
        error.textContent = err.message;
        editor.classList.add('has-error');
        saveButton.disabled = false;
      }
    });
    clear(container).append(editor);
    input.focus();
    input.select();
  }

  show();
}
