// The attributes panel of the selected object: one widget per attribute of its label
// (select, radio, checkbox, text, number), as CVAT's UI shows them. A change calls
// `onChange(specId, value)`; values are strings, as the API stores them.

import { h } from '../dom.js';

/** CVAT's default value of an attribute: its default, else the first allowed value. */
export function defaultValue(spec) {
  if (spec.default_value !== '' && spec.default_value != null) return String(spec.default_value);
  switch (spec.input_type) {
    case 'select':
    case 'radio':
    case 'number':
      return String(spec.values[0] ?? '');
    case 'checkbox':
      return 'false';
    default:
      return '';
  }
}

/** Every attribute of a label with its default: what a new object carries. */
export const defaultAttributes = (label) => (label?.attributes || []).map((spec) => ({ spec_id: spec.id, value: defaultValue(spec) }));

/** The object's value of `spec`, or its default when the object has none. */
export function valueOf(object, spec) {
  const found = (object.attributes || []).find((a) => a.spec_id === spec.id);
  return found ? String(found.value) : defaultValue(spec);
}

function widget(spec, value, id, onChange, disabled) {
  const change = (v) => onChange(spec.id, String(v));
  const name = `${spec.name}${spec.mutable ? '' : ' (immutable)'}`;
  switch (spec.input_type) {
    case 'select':
      return h('select', { id, class: 'compact', disabled, onChange: (e) => change(e.target.value) },
        ...spec.values.map((v) => h('option', { value: v, text: v, selected: v === value })));
    case 'radio':
      return h('div', { role: 'radiogroup', 'aria-label': name, class: 'annot-radios' },
        ...spec.values.map((v, i) => h('label', { class: 'annot-radio' },
          h('input', { type: 'radio', name: id, value: v, checked: v === value, disabled, id: i === 0 ? id : null, onChange: () => change(v) }),
          h('span', { text: v }))));
    case 'checkbox':
      return h('input', { type: 'checkbox', id, checked: value === 'true', disabled, onChange: (e) => change(e.target.checked ? 'true' : 'false') });
    case 'number': {
      const [min, max, step] = spec.values.map(Number);
      return h('input', { type: 'number', id, class: 'compact', min, max, step: step || 1, value, disabled,
        onChange: (e) => {
          const n = Number(e.target.value);
          if (e.target.value === '' || !Number.isFinite(n) || n < min || n > max) {
            e.target.value = value; // out of the label's bounds: keep the old value
            return;
          }
          change(e.target.value);
        } });
    }
    default:
      return h('input', { type: 'text', id, value, disabled, onChange: (e) => change(e.target.value) });
  }
}

/**
 * The panel's rows for `object` of `label`. Immutable attributes describe the object
 * (CVAT keeps them for the whole track); mutable ones may change from frame to frame.
 * `prefix` keeps the controls' ids apart where several objects show theirs (tags).
 */
export function attributeRows(object, label, onChange, { disabled = false, prefix = 'attr' } = {}) {
  return (label?.attributes || []).map((spec) => {
    const id = `${prefix}-${spec.id}`;
    const control = widget(spec, valueOf(object, spec), id, onChange, disabled);
    const caption = h(spec.input_type === 'radio' ? 'span' : 'label', { for: spec.input_type === 'radio' ? null : id, class: 'annot-attr-name', text: spec.name });
    return h('div', { class: 'annot-attr', dataset: { spec: String(spec.id) } },
      caption,
      h('span', { class: 'muted annot-attr-kind', text: spec.mutable ? 'mutable' : 'immutable' }),
      control);
  });
}
