// The labels editor of the create-task, task and project pages: a Constructor
// (labels as coloured elements, a form per label with its attributes) and a Raw
// tab (the labels as editable JSON), with a Copy button in both.
//
// Two ways to use it:
// - new labels (create pages): the editor keeps the list, `getLabels()` reads it;
// - persisted labels (task/project pages): every Done sends a PATCH through
//   `onSave(patch)`, which resolves to the fresh label list from the server.

import { describe } from './api.js';
import { clear, confirmDialog, h, toast } from './dom.js';
import {
  INPUT_TYPES, NAME_MAX, defaultFor, labelsPatch, nextColor, normalizeLabel,
  splitNumberValues, validateLabels,
} from './labels.js';

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Copy text to the clipboard; falls back to a hidden textarea outside secure contexts. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h('textarea', { class: 'visually-hidden', readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('The browser refused to copy.');
}

// ---- values of one attribute ---------------------------------------------------

/** Select/radio values as chips: Enter adds, Backspace or the x removes. */
class ChipsInput {
  constructor(values, { locked = 0, onChange }) {
    this.values = [...values];
    this.locked = locked; // the first `locked` values exist on the server: append-only
    this.onChange = onChange;
    this.input = h('input', {
      type: 'text', class: 'chip-input', 'aria-label': 'Attribute values',
      placeholder: this.values.length ? 'Add a value' : 'Type a value, press Enter', maxlength: 200,
      onKeydown: (event) => this.keydown(event),
    });
    this.list = h('span', { class: 'chip-list' });
    this.el = h('div', { class: 'chips', onClick: (event) => { if (event.target === this.el) this.input.focus(); } }, this.list, this.input);
    this.render();
  }

  keydown(event) {
    if (event.key === 'Enter') {
      event.preventDefault();
      this.commit();
    } else if (event.key === 'Backspace' && this.input.value === '' && this.values.length > this.locked) {
      event.preventDefault();
      this.remove(this.values.length - 1);
    }
  }

  /** Turn the typed text into a chip; returns false for a duplicate. */
  commit() {
    const value = this.input.value.trim();
    if (!value) return true;
    if (this.values.includes(value)) {
      this.input.setCustomValidity('This value is already in the list');
      this.input.reportValidity();
      return false;
    }
    this.input.setCustomValidity('');
    this.values.push(value);
    this.input.value = '';
    this.render();
    return true;
  }

  remove(index) {
    this.values.splice(index, 1);
    this.render();
    this.input.focus();
  }

  render() {
    clear(this.list);
    this.values.forEach((value, index) => {
      const removable = index >= this.locked;
      this.list.append(h('span', { class: 'chip', dataset: { value } },
        h('span', { class: 'chip-text', text: value }),
        removable ? h('button', {
          type: 'button', class: 'chip-remove', 'aria-label': `Remove value ${value}`, title: 'Remove', text: '×',
          onClick: () => this.remove(index),
        }) : null));
    });
    this.input.placeholder = this.values.length ? 'Add a value' : 'Type a value, press Enter';
    this.onChange?.(this.values);
  }
}

/** One attribute of the label form: name, display type, values, Mutable, delete (x). */
class AttributeRow {
  constructor(attr, { onDelete }) {
    this.id = attr?.id ?? null;
    this.existing = this.id != null; // on the server: name, type and mutable are fixed
    this.serverValues = this.existing ? [...attr.values] : [];
    this.values = attr ? [...attr.values] : [];
    this.defaultValue = attr?.default_value ?? '';
    this.name = h('input', {
      type: 'text', class: 'attr-name', 'aria-label': 'Attribute name', placeholder: 'Name',
      maxlength: NAME_MAX, value: attr?.name ?? '', disabled: this.existing,
    });
    this.type = h('select', { class: 'attr-type', 'aria-label': 'Attribute type', disabled: this.existing,
      onChange: () => this.typeChanged() },
    INPUT_TYPES.map(([value, text]) => h('option', { value, text })));
    this.type.value = attr?.input_type ?? 'select';
    this.mutable = h('input', { type: 'checkbox', class: 'attr-mutable', checked: Boolean(attr?.mutable), disabled: this.existing });
    this.valuesSlot = h('div', { class: 'attr-values' });
    this.error = h('p', { class: 'field-error', role: 'alert' });
    this.el = h('div', { class: 'attribute-row' },
      h('div', { class: 'attr-fields' },
        this.name,
        this.type,
        this.valuesSlot,
        h('label', { class: 'attr-mutable-label', title: 'The value may change from frame to frame' }, this.mutable, ' Mutable'),
        h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Delete attribute', title: 'Delete attribute', text: '×', onClick: () => onDelete(this) })),
      this.error);
    this.renderValues();
  }

  typeChanged() {
    const type = this.type.value;
    const wasList = this.widget instanceof ChipsInput;
    if (type === 'select' || type === 'radio') {
      this.values = wasList ? [...this.widget.values] : [];
    } else if (type === 'checkbox') {
      this.values = ['false'];
    } else {
      this.values = [];
    }
    this.defaultValue = '';
    this.renderValues();
  }

  renderValues() {
    const type = this.type.value;
    clear(this.valuesSlot);
    const fixed = this.existing && !(type === 'select' || type === 'radio');
    if (type === 'select' || type === 'radio') {
      this.defaultSelect = h('select', { class: 'attr-default', 'aria-label': 'Default value', title: 'Default value' });
      this.widget = new ChipsInput(this.values, {
        locked: this.existing ? this.serverValues.length : 0,
        onChange: (values) => this.fillDefaults(values),
      });
      this.valuesSlot.append(this.widget.el, h('label', { class: 'default-label' }, 'Default ', this.defaultSelect));
      this.fillDefaults(this.widget.values);
    } else if (type === 'checkbox') {
      this.widget = h('select', { class: 'attr-input', 'aria-label': 'Attribute values', title: 'Default value', disabled: fixed },
        h('option', { value: 'false', text: 'false' }), h('option', { value: 'true', text: 'true' }));
      this.widget.value = this.values[0] === 'true' ? 'true' : 'false';
      this.valuesSlot.append(this.widget);
    } else if (type === 'number') {
      this.widget = h('input', {
        type: 'text', class: 'attr-input', 'aria-label': 'Attribute values', placeholder: 'min;max;step',
        value: this.values.join(';'), disabled: fixed, spellcheck: 'false',
      });
      this.valuesSlot.append(this.widget);
    } else {
      this.widget = h('input', {
        type: 'text', class: 'attr-input', 'aria-label': 'Attribute values', placeholder: 'Default text',
        value: this.values[0] ?? '', disabled: fixed, maxlength: 200,
      });
      this.valuesSlot.append(this.widget);
    }
  }

  fillDefaults(values) {
    if (!this.defaultSelect) return;
    const chosen = values.includes(this.defaultSelect.value) ? this.defaultSelect.value : (values.includes(this.defaultValue) ? this.defaultValue : values[0]);
    clear(this.defaultSelect).append(...values.map((value) => h('option', { value, text: value })));
    this.defaultSelect.disabled = values.length < 2;
    if (chosen !== undefined) this.defaultSelect.value = chosen;
  }

  isBlank() {
    if (this.name.value.trim()) return false;
    if (this.widget instanceof ChipsInput) return !this.widget.values.length && !this.widget.input.value.trim();
    return this.type.value === 'checkbox' || !this.widget.value.trim();
  }

  /** The attribute as the API takes it; null when the typed chip is a duplicate. */
  read() {
    const type = this.type.value;
    let values;
    let defaultValue;
    if (type === 'select' || type === 'radio') {
      if (!this.widget.commit()) return null;
      values = [...this.widget.values];
      defaultValue = defaultFor(type, values, this.defaultSelect.value);
    } else if (this.existing) {
      // The server refuses changed values for these types: send what it has.
      values = [...this.serverValues];
      defaultValue = this.defaultValue;
    } else if (type === 'checkbox') {
      values = [this.widget.value];
      defaultValue = values[0];
    } else if (type === 'number') {
      values = splitNumberValues(this.widget.value);
      defaultValue = values[0] ?? '';
    } else {
      values = this.widget.value === '' ? [] : [this.widget.value];
      defaultValue = this.widget.value;
    }
    const attr = {
      name: this.name.value.trim(), mutable: this.mutable.checked, input_type: type, values, default_value: defaultValue,
    };
    if (this.id != null) attr.id = this.id;
    return attr;
  }

  showErrors(messages) {
    this.error.textContent = messages.join(' ');
    this.el.classList.toggle('has-error', messages.length > 0);
  }
}

/** The form of one label: name, colour, attributes and Done / Continue / Cancel. */
class LabelForm {
  constructor(editor, label) {
    this.editor = editor;
    this.original = label; // null for a new label
    this.rows = [];
    this.name = h('input', {
      type: 'text', class: 'label-name-input', 'aria-label': 'Label name', placeholder: 'Label name',
      maxlength: NAME_MAX, value: label?.name ?? '',
      onKeydown: (event) => { if (event.key === 'Enter') { event.preventDefault(); this.done(); } },
    });
    this.color = h('input', { type: 'color', class: 'label-color-input', 'aria-label': 'Label color', title: 'Label colour',
      value: label?.color || nextColor(editor.labels) });
    this.attributes = h('div', { class: 'attributes' });
    this.error = h('p', { class: 'field-error', role: 'alert' });
    this.nameError = h('p', { class: 'field-error', role: 'alert' });
    const isNew = !label;
    this.el = h('div', { class: 'label-form', role: 'group', 'aria-label': isNew ? 'New label' : `Label ${label.name}` },
      h('div', { class: 'label-form-head' },
        this.name,
        this.color,
        h('button', { type: 'button', class: 'secondary', text: 'Add an attribute', onClick: () => this.addAttribute(null, true) })),
      this.nameError,
      this.attributes,
      this.error,
      h('div', { class: 'label-form-actions' },
        h('button', { type: 'button', class: 'primary', text: 'Done', onClick: () => this.done() }),
        isNew ? h('button', { type: 'button', text: 'Continue', onClick: () => this.continue() }) : null,
        h('button', { type: 'button', text: 'Cancel', onClick: () => editor.closeForm() })));
    for (const attr of label?.attributes ?? []) this.addAttribute(attr, false);
    // Enter inside the label form never submits the page's form around it.
    this.el.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && event.target.tagName === 'INPUT') event.preventDefault();
    });
  }

  addAttribute(attr, focus) {
    const row = new AttributeRow(attr, {
      onDelete: (which) => {
        this.rows = this.rows.filter((r) => r !== which);
        which.el.remove();
      },
    });
    this.rows.push(row);
    this.attributes.append(row.el);
    if (focus) row.name.focus();
  }

  isBlank() {
    return !this.original && !this.name.value.trim() && this.rows.every((row) => row.isBlank());
  }

  /** The label as the API takes it, or null after showing why it is not valid. */
  read() {
    this.error.textContent = '';
    this.nameError.textContent = '';
    this.el.classList.remove('has-error');
    const attributes = [];
    for (const row of this.rows) {
      row.showErrors([]);
      const attr = row.read();
      if (!attr) return null;
      attributes.push(attr);
    }
    const label = { name: this.name.value.trim(), color: this.color.value, type: this.original?.type ?? 'any', attributes };
    if (this.original) {
      for (const key of ['id', 'sublabels', 'svg']) {
        if (this.original[key] !== undefined) label[key] = this.original[key];
      }
    }
    const others = this.editor.labels.filter((item) => item !== this.original);
    const index = others.length;
    const errors = validateLabels([...others, label]);
    const mine = `labels[${index}]`;
    let ok = true;
    for (const [path, messages] of Object.entries(errors)) {
      if (!path.startsWith(mine)) continue;
      ok = false;
      const rest = path.slice(mine.length);
      const attrMatch = /^\.attributes\[(\d+)\]/.exec(rest);
      if (attrMatch) {
        const row = this.rows[Number(attrMatch[1])];
        row.showErrors([...row.error.textContent ? [row.error.textContent] : [], ...messages]);
      } else if (rest === '.name') {
        this.nameError.textContent = messages.join(' ');
      } else {
        this.error.textContent = [this.error.textContent, ...messages].filter(Boolean).join(' ');
      }
    }
    if (!ok) {
      this.el.classList.add('has-error');
      return null;
    }
    return label;
  }

  async done() {
    if (this.isBlank()) {
      this.editor.closeForm();
      return;
    }
    const label = this.read();
    if (label && await this.editor.commitLabel(this, label)) this.editor.closeForm();
  }

  async continue() {
    const label = this.read();
    if (label && await this.editor.commitLabel(this, label)) this.editor.openForm(null);
  }

  showSaveError(message) {
    this.error.textContent = message;
    this.el.classList.add('has-error');
  }
}

export class LabelsEditor {
  /**
   * @param {object} options
   * @param {Array} options.labels the labels to start with
   * @param {boolean} options.persisted labels are on the server: changes go through onSave
   * @param {(patch: Array) => Promise<Array>} options.onSave PATCH the labels, resolve to the fresh list
   */
  constructor({ labels = [], persisted = false, onSave = null } = {}) {
    this.persisted = persisted;
    this.onSave = onSave;
    this.labels = labels.map((label) => normalizeLabel(label, { keepIds: persisted }));
    this.form = null;
    this.mode = 'constructor';

    this.tabConstructor = h('button', { type: 'button', role: 'tab', class: 'tab', text: 'Constructor', onClick: () => this.setMode('constructor') });
    this.tabRaw = h('button', { type: 'button', role: 'tab', class: 'tab', text: 'Raw', onClick: () => this.setMode('raw') });
    this.copyButton = h('button', { type: 'button', class: 'secondary small', text: 'Copy', title: 'Copy the labels as JSON', onClick: () => this.copy() });
    this.list = h('div', { class: 'label-chips editable', role: 'list', 'aria-label': 'Labels' });
    this.addButton = h('button', { type: 'button', class: 'secondary', text: 'Add label', onClick: () => this.openForm(null) });
    this.formSlot = h('div', { class: 'form-slot' });
    this.constructorPanel = h('div', { class: 'editor-panel', role: 'tabpanel', 'aria-label': 'Constructor' },
      this.list, h('div', { class: 'editor-actions' }, this.addButton), this.formSlot);
    this.raw = h('textarea', { class: 'raw-labels', rows: 12, spellcheck: 'false', 'aria-label': 'Labels as JSON' });
    this.rawError = h('div', { class: 'field-error raw-error', role: 'alert' });
    this.rawPanel = h('div', { class: 'editor-panel', role: 'tabpanel', 'aria-label': 'Raw', hidden: true },
      this.raw, this.rawError,
      h('div', { class: 'editor-actions' },
        h('button', { type: 'button', class: 'primary', text: 'Done', onClick: () => this.applyRaw() }),
        h('button', { type: 'button', text: 'Reset', onClick: () => this.resetRaw() })));
    this.el = h('div', { class: 'labels-editor' },
      h('div', { class: 'editor-bar' },
        h('div', { class: 'tabs small', role: 'tablist', 'aria-label': 'Label editing mode' }, this.tabConstructor, this.tabRaw),
        this.copyButton),
      this.constructorPanel, this.rawPanel);
    this.setMode('constructor');
    this.renderList();
  }

  /** The labels for a create request (no ids). */
  getLabels() {
    return this.labels.map((label) => normalizeLabel(label, { keepIds: this.persisted }));
  }

  setLabels(labels) {
    this.labels = labels.map((label) => normalizeLabel(label, { keepIds: this.persisted }));
    this.renderList();
    this.resetRaw();
  }

  /** Whether a label form holds something not yet added with Done or Continue. */
  isEditing() {
    return (this.form && !this.form.isBlank()) || (this.mode === 'raw' && this.raw.value !== this.rawText());
  }

  setMode(mode) {
    this.mode = mode;
    const raw = mode === 'raw';
    this.tabRaw.setAttribute('aria-selected', String(raw));
    this.tabConstructor.setAttribute('aria-selected', String(!raw));
    this.rawPanel.hidden = !raw;
    this.constructorPanel.hidden = raw;
    if (raw) this.resetRaw();
  }

  rawText() {
    return JSON.stringify(this.getLabels(), null, 2);
  }

  renderList() {
    clear(this.list);
    if (!this.labels.length) {
      this.list.append(h('p', { class: 'muted empty-labels', role: 'listitem', text: 'No labels yet.' }));
    }
    for (const label of this.labels) {
      const count = label.attributes.length;
      this.list.append(h('div', { class: 'label-item', role: 'listitem', style: { '--label-color': label.color || '#888888' }, dataset: { name: label.name } },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        h('span', { class: 'label-name', text: label.name }),
        count ? h('span', { class: 'label-meta', text: plural(count, 'attribute') }) : null,
        h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Update attributes', title: 'Update attributes', text: '✎', onClick: () => this.openForm(label) }),
        h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Delete label', title: 'Delete label', text: '×', onClick: () => this.deleteLabel(label) })));
    }
  }

  openForm(label) {
    this.form = new LabelForm(this, label);
    clear(this.formSlot).append(this.form.el);
    this.addButton.hidden = true;
    this.form.name.focus();
  }

  closeForm() {
    this.form = null;
    clear(this.formSlot);
    this.addButton.hidden = false;
  }

  /** Add or replace a label; persisted editors save first. Resolves to success. */
  async commitLabel(form, label) {
    const next = form.original
      ? this.labels.map((item) => (item === form.original ? label : item))
      : [...this.labels, label];
    if (this.persisted) {
      try {
        await this.save(next);
      } catch (error) {
        form.showSaveError(error.message);
        return false;
      }
    } else {
      this.labels = next;
      this.renderList();
    }
    return true;
  }

  async deleteLabel(label) {
    if (this.persisted) {
      const ok = await confirmDialog({
        title: `Delete label “${label.name}”?`,
        message: 'Its annotations are deleted as well. This cannot be undone.',
        confirm: 'Delete', danger: true,
      });
      if (!ok) return;
      try {
        await this.save(this.labels.filter((item) => item !== label));
      } catch (error) {
        toast(error.message, 'error');
      }
      return;
    }
    if (this.form?.original === label) this.closeForm();
    this.labels = this.labels.filter((item) => item !== label);
    this.renderList();
  }

  /** Persisted editors: send the difference and take the server's list back. */
  async save(next) {
    const patch = labelsPatch(this.labels, next);
    if (!patch.length) return;
    try {
      const fresh = await this.onSave(patch);
      this.setLabels(fresh);
      toast('Labels saved');
    } catch (error) {
      throw new Error(describe(error.body) || error.message);
    }
  }

  resetRaw() {
    this.raw.value = this.rawText();
    this.rawError.textContent = '';
    this.rawPanel.classList.remove('has-error');
  }

  async applyRaw() {
    this.rawError.textContent = '';
    let parsed;
    try {
      parsed = JSON.parse(this.raw.value);
    } catch (error) {
      this.showRawError([`Invalid JSON: ${error.message}`]);
      return;
    }
    if (!Array.isArray(parsed)) {
      this.showRawError(['The labels must be a JSON array of label objects.']);
      return;
    }
    const errors = validateLabels(parsed);
    if (Object.keys(errors).length) {
      this.showRawError(Object.entries(errors).map(([path, messages]) => `${path}: ${messages.join(' ')}`));
      return;
    }
    const next = parsed.map((label) => normalizeLabel(label, { keepIds: this.persisted }));
    if (this.persisted) {
      const removed = labelsPatch(this.labels, next).filter((item) => item.deleted).length;
      if (removed) {
        const ok = await confirmDialog({
          title: `Delete ${plural(removed, 'label')}?`,
          message: 'Labels missing from the JSON are deleted with their annotations.',
          confirm: 'Apply', danger: true,
        });
        if (!ok) return;
      }
      try {
        await this.save(next);
      } catch (error) {
        this.showRawError([error.message]);
        return;
      }
    } else {
      this.labels = next;
      this.renderList();
      toast('Labels applied');
    }
    this.closeForm();
    this.resetRaw();
  }

  showRawError(lines) {
    clear(this.rawError).append(...lines.map((line) => h('span', { class: 'error-line', text: line })));
    this.rawPanel.classList.add('has-error');
  }

  async copy() {
    const text = this.mode === 'raw' ? this.raw.value : this.rawText();
    try {
      await copyText(text);
      toast('Labels copied to the clipboard');
    } catch (error) {
      toast(`Could not copy: ${error.message}`, 'error');
    }
  }
}
