// Labels and attributes as the API takes them, with the conventions the UI
// enforces (task-semantics 1a): checkbox "true"/"false", number "min;max;step"
// with min < max and 0 < step <= max - min, select/radio values with a default.

export const INPUT_TYPES = [
  ['select', 'Select'],
  ['radio', 'Radio'],
  ['checkbox', 'Checkbox'],
  ['text', 'Text'],
  ['number', 'Number'],
];

export const NAME_MAX = 64;
export const VALUE_MAX = 200;
export const DEFAULT_MAX = 128;

const PALETTE = [
  '#33ddff', '#fa3253', '#34d1b7', '#ff007c', '#ddff33', '#24b353', '#b83df5', '#66ff66',
  '#32b7fa', '#ffcc33', '#83e070', '#fafa37', '#5986b3', '#8c78f0', '#ff6a4d', '#f078f0',
  '#2a7dd1', '#b25050', '#cc3366', '#cc9933', '#aaf0d1', '#ff00cc', '#3df53d', '#fa32b7',
];

/** A colour of the palette no label of `labels` uses yet (or a cycled one). */
export function nextColor(labels) {
  const used = new Set(labels.map((label) => (label.color || '').toLowerCase()));
  return PALETTE.find((color) => !used.has(color)) || PALETTE[labels.length % PALETTE.length];
}

function clean(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));
}

/** An attribute with only the keys the API accepts; `keepIds` keeps `id`. */
export function normalizeAttribute(attr, { keepIds = true } = {}) {
  return clean({
    id: keepIds && attr.id != null ? attr.id : undefined,
    name: attr.name,
    mutable: Boolean(attr.mutable),
    input_type: attr.input_type,
    values: Array.isArray(attr.values) ? attr.values.map(String) : [],
    default_value: attr.default_value ?? undefined,
  });
}

/** A label with only the keys the API accepts (a label read has a few more). */
export function normalizeLabel(label, { keepIds = true } = {}) {
  const out = clean({
    id: keepIds && label.id != null ? label.id : undefined,
    name: label.name,
    color: label.color || undefined,
    type: label.type || 'any',
    attributes: (label.attributes || []).map((attr) => normalizeAttribute(attr, { keepIds })),
  });
  if (out.type === 'skeleton') {
    out.sublabels = (label.sublabels || []).map((sub) => clean({
      id: keepIds && sub.id != null ? sub.id : undefined,
      name: sub.name,
      color: sub.color || undefined,
      type: sub.type || 'points',
      attributes: (sub.attributes || []).map((attr) => normalizeAttribute(attr, { keepIds })),
    }));
    if (label.svg) out.svg = label.svg;
  }
  return out;
}

function number(text) {
  const value = Number(String(text).trim());
  return String(text).trim() !== '' && Number.isFinite(value) ? value : null;
}

/** "0;100;1" → ["0", "100", "1"] (spaces trimmed, empty parts kept for the checks). */
export function splitNumberValues(text) {
  return text.trim() === '' ? [] : text.split(';').map((part) => part.trim());
}

/**
 * Check an attribute's values and default; returns `{values: [...], default_value: [...]}`
 * messages (empty when fine). Mirrors the server's rules word for word where it can.
 */
export function checkValues(inputType, values, defaultValue) {
  const errors = { values: [], default_value: [] };
  values.forEach((value, index) => {
    if (value.length > VALUE_MAX) errors.values.push(`Value ${index + 1} is longer than ${VALUE_MAX} characters.`);
  });
  if (inputType === 'select' || inputType === 'radio') {
    if (!values.length) errors.values.push(`A ${inputType} attribute needs at least one value.`);
    if (new Set(values).size !== values.length) errors.values.push('The values must be unique.');
    if (defaultValue && !values.includes(defaultValue)) errors.default_value.push('The default value must be one of the values.');
  } else if (inputType === 'checkbox') {
    if (values.length !== 1 || !['true', 'false'].includes(values[0])) {
      errors.values.push('A checkbox has exactly one value, "true" or "false".');
    }
  } else if (inputType === 'number') {
    const numbers = values.map(number);
    if (values.length !== 3 || numbers.includes(null)) {
      errors.values.push('A number attribute has exactly three numbers: min;max;step.');
    } else {
      const [low, high, step] = numbers;
      if (!(low < high)) errors.values.push('The minimum must be less than the maximum.');
      else if (!(step > 0 && step <= high - low)) errors.values.push('The step must be positive and at most max - min.');
      if (defaultValue && !errors.values.length) {
        const value = number(defaultValue);
        if (value === null || value < low || value > high) errors.default_value.push('The default must be a number between min and max.');
      }
    }
  } else if (inputType === 'text') {
    if (values.length > 1) errors.values.push('A text attribute has at most one value: its default text.');
  } else {
    errors.values.push(`Unknown display type "${inputType}".`);
  }
  if ((defaultValue || '').length > DEFAULT_MAX) errors.default_value.push(`The default value must have at most ${DEFAULT_MAX} characters.`);
  return errors;
}

/** The default the UI sends: the chosen one if valid, else the first value. */
export function defaultFor(inputType, values, chosen) {
  if (inputType === 'select' || inputType === 'radio') return values.includes(chosen) ? chosen : values[0] ?? '';
  if (inputType === 'text') return values[0] ?? '';
  return values[0] ?? '';
}

function add(errors, key, message) {
  (errors[key] ||= []).push(message);
}

/**
 * Validate a whole label list the way the server will; returns `{path: [messages]}`
 * with API-style paths (`labels[0].attributes[1].values`). `deleted` entries are skipped.
 */
export function validateLabels(labels, prefix = 'labels') {
  const errors = {};
  if (!Array.isArray(labels)) {
    add(errors, prefix, 'Expected a list of labels.');
    return errors;
  }
  const names = new Set();
  labels.forEach((label, index) => {
    const path = `${prefix}[${index}]`;
    if (!label || typeof label !== 'object' || Array.isArray(label)) {
      add(errors, path, 'Expected an object.');
      return;
    }
    if (label.deleted) return;
    const name = typeof label.name === 'string' ? label.name.trim() : '';
    if (!name) add(errors, `${path}.name`, 'Label name is required.');
    else if (name.length > NAME_MAX) add(errors, `${path}.name`, `A label name has at most ${NAME_MAX} characters.`);
    else if (names.has(name)) add(errors, `${path}.name`, `All label names must be unique: '${name}' is used twice.`);
    names.add(name);
    if (label.color && !/^#[0-9a-fA-F]{6}$/.test(label.color)) add(errors, `${path}.color`, 'A colour must look like #rrggbb.');
    if (label.attributes !== undefined && !Array.isArray(label.attributes)) {
      add(errors, `${path}.attributes`, 'Expected a list of attributes.');
      return;
    }
    const attrNames = new Set();
    (label.attributes || []).forEach((attr, attrIndex) => {
      const attrPath = `${path}.attributes[${attrIndex}]`;
      if (!attr || typeof attr !== 'object' || Array.isArray(attr)) {
        add(errors, attrPath, 'Expected an object.');
        return;
      }
      if (attr.deleted) return;
      const attrName = typeof attr.name === 'string' ? attr.name.trim() : '';
      if (!attrName) add(errors, `${attrPath}.name`, 'Attribute name is required.');
      else if (attrName.length > NAME_MAX) add(errors, `${attrPath}.name`, `An attribute name has at most ${NAME_MAX} characters.`);
      else if (attrNames.has(attrName)) add(errors, `${attrPath}.name`, `Duplicate attribute with name '${attrName}' exists.`);
      attrNames.add(attrName);
      if (typeof attr.mutable !== 'boolean') add(errors, `${attrPath}.mutable`, 'Mutable must be true or false.');
      if (!Array.isArray(attr.values) || attr.values.some((v) => typeof v !== 'string')) {
        add(errors, `${attrPath}.values`, 'Expected a list of strings.');
        return;
      }
      const checked = checkValues(attr.input_type, attr.values, attr.default_value);
      checked.values.forEach((message) => add(errors, `${attrPath}.values`, message));
      checked.default_value.forEach((message) => add(errors, `${attrPath}.default_value`, message));
    });
  });
  return errors;
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The `labels` body of a PATCH that turns `original` (read from the server) into
 * `edited`: new labels without ids, changed ones with their id, removed ones as
 * `{id, deleted: true}`; attributes removed from a kept label likewise.
 */
export function labelsPatch(original, edited) {
  const before = new Map(original.map((label) => [label.id, normalizeLabel(label)]));
  const patch = [];
  const kept = new Set();
  for (const label of edited.map((item) => normalizeLabel(item))) {
    const old = label.id != null ? before.get(label.id) : undefined;
    if (!old) {
      patch.push(label); // new; an unknown id is sent as is so the server names it
      continue;
    }
    kept.add(label.id);
    const keptAttrs = new Set(label.attributes.filter((a) => a.id != null).map((a) => a.id));
    const removed = old.attributes.filter((a) => !keptAttrs.has(a.id)).map((a) => ({ id: a.id, deleted: true }));
    if (same(old, label) && !removed.length) continue;
    patch.push({ ...label, attributes: [...label.attributes, ...removed] });
  }
  for (const id of before.keys()) {
    if (!kept.has(id)) patch.push({ id, deleted: true });
  }
  return patch;
}
