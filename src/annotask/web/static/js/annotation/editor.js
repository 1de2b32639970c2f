// The editing model of the annotation view: the job's annotations, the current frame,
// the selection, client-side object state (lock, hide) and every edit as an undoable
// command. It renders the canvas, the objects list and the selected object's panel.
// Loading and saving stay in pages/job.js.

import { $, clear, h } from '../dom.js';
import { attributeRows, defaultAttributes } from './attributes.js';
import { History, snapshot } from './history.js';
import { ObjectsList } from './objects-list.js';
import { Sync } from './sync.js';
import { translate } from './geometry.js';
import { TOOLS, isEditableType } from './shapes/index.js';

const DRAWABLE_TYPES = new Set(['any', ...TOOLS.keys()]);
const TAG_TYPES = new Set(['any', 'tag']);
const PASTE_OFFSET = 10;

export class Editor {
  /**
   * `labels`: the job's labels (top level, with sublabels); `status(text, kind)` reports;
   * `onModified()` after any change of the data; `showFrame(n)` moves the view.
   */
  constructor({ labels, canvas, status, onModified, showFrame }) {
    this.labels = new Map();
    for (const label of labels) {
      this.labels.set(label.id, label);
      for (const sub of label.sublabels || []) this.labels.set(sub.id, sub);
    }
    this.drawable = labels.filter((label) => label.parent_id == null && DRAWABLE_TYPES.has(label.type || 'any'));
    this.taggable = labels.filter((label) => label.parent_id == null && TAG_TYPES.has(label.type || 'any'));
    this.canvas = canvas;
    this.status = status;
    this.onModified = onModified;
    this.showFrame = showFrame;
    this.history = new History();
    this.sync = new Sync();
    this.savedTop = null;
    this.data = { version: 0, tags: [], shapes: [], tracks: [] };
    this.frame = -1;
    this.selected = null;
    this.local = new WeakMap(); // object -> {locked, hidden}: view state, never saved
    this.keys = new WeakMap();
    this.nextKey = 1;
    this.clipboard = null;
    this.tool = 'rectangle';
    this.labelFilter = '';
    this.list = new ObjectsList($('#objects'), (item) => this.describeItem(item));
    this.listen($('#objects'));
  }

  /** One set of listeners for the whole objects list (it may hold thousands of rows). */
  listen(list) {
    const keyOf = (event) => {
      const button = event.target instanceof Element ? event.target.closest('[data-key]') : null;
      return button ? Number(button.dataset.key) : null;
    };
    list.addEventListener('click', (event) => {
      const key = keyOf(event);
      if (key != null) this.select(this.objectOf(key), { fromList: true });
    });
    for (const type of ['pointerover', 'focusin']) list.addEventListener(type, (event) => this.canvas.highlight(keyOf(event)));
    for (const type of ['pointerleave', 'focusout']) list.addEventListener(type, () => this.canvas.highlight(null));
  }

  // ---- identity and state ---------------------------------------------------------------

  key(object) {
    if (!this.keys.has(object)) this.keys.set(object, this.nextKey++);
    return this.keys.get(object);
  }

  state(object) {
    if (!this.local.has(object)) this.local.set(object, { locked: false, hidden: false });
    return this.local.get(object);
  }

  get modified() {
    return this.history.top !== this.savedTop;
  }

  /** Replace everything with a loaded answer: a fresh history, nothing modified. */
  load(answer) {
    this.data = { version: answer.version, tags: answer.tags || [], shapes: answer.shapes || [], tracks: answer.tracks || [] };
    this.sync.reset(this.data);
    this.history.clear();
    this.savedTop = null;
    this.selected = null;
  }

  /** The data is saved up to history command `top` (what was current when saving began). */
  markSaved(top) {
    this.savedTop = top;
    this.render();
  }

  // ---- labels -------------------------------------------------------------------------------

  labelName(id) {
    return this.labels.get(id)?.name ?? `label #${id}`;
  }

  labelColor(id) {
    const color = this.labels.get(id)?.color;
    return /^#[0-9a-fA-F]{3,8}$/.test(color || '') ? color : '#888888';
  }

  labelFits(labelId, type) {
    const label = this.labels.get(labelId);
    return Boolean(label) && label.parent_id == null && ['any', type].includes(label.type || 'any');
  }

  currentLabel() {
    return Number($('#label-select').value);
  }

  // ---- objects of the frame -------------------------------------------------------------

  isEditable(object) {
    return Boolean(object) && this.data.shapes.includes(object) && isEditableType(object.type);
  }

  canEdit(object) {
    return this.isEditable(object) && !this.state(object).locked;
  }

  /** A track's shape on the current frame: its last keyframe, interpolated towards the next. */
  trackShape(track) {
    let before = null;
    let after = null;
    for (const shape of track.shapes || []) {
      if (shape.frame <= this.frame) before = shape;
      else if (!after) after = shape;
    }
    if (!before || before.outside) return null;
    if (before.frame === this.frame || !after || after.type !== before.type || after.points.length !== before.points.length || ['mask', 'skeleton'].includes(before.type)) {
      return before;
    }
    const t = (this.frame - before.frame) / (after.frame - before.frame);
    return { ...before, points: before.points.map((p, i) => p + (after.points[i] - p) * t) };
  }

  items() {
    const items = [];
    for (const shape of this.data.shapes) {
      if (shape.frame !== this.frame) continue;
      const state = this.state(shape);
      items.push({
        key: this.key(shape), object: shape, shape, labelId: shape.label_id, kind: shape.type, id: shape.id,
        color: this.labelColor(shape.label_id), editable: this.canEdit(shape), readOnly: !isEditableType(shape.type),
        hidden: state.hidden, locked: state.locked, occluded: shape.occluded,
      });
    }
    for (const track of this.data.tracks) {
      const shape = this.trackShape(track);
      if (!shape) continue;
      items.push({
        key: this.key(track), object: track, shape, labelId: track.label_id, kind: `${shape.type} track`, id: track.id,
        color: this.labelColor(track.label_id), editable: false, readOnly: true, hidden: this.state(track).hidden, occluded: shape.occluded,
      });
    }
    return items;
  }

  objectOf(key) {
    return this.items().find((item) => item.key === key)?.object ?? null;
  }

  // ---- rendering ------------------------------------------------------------------------------

  render() {
    const items = this.items();
    const selectedKey = this.selected ? this.key(this.selected) : null;
    if (this.selected && !items.some((item) => item.key === selectedKey)) this.selected = null;
    this.canvas.render(items, this.selected ? selectedKey : null);
    this.renderList(items);
    this.renderTags();
    this.renderPanel();
    this.onModified();
  }

  renderList(items) {
    const selectedKey = this.selected ? this.key(this.selected) : null;
    const shown = items.filter((item) => !this.labelFilter || String(item.labelId) === this.labelFilter);
    this.list.render(shown, selectedKey);
    $('#objects-empty').hidden = shown.length > 0;
  }

  /** One row of the objects list (asked only for the rows drawn). */
  describeItem(item) {
    const marks = [item.readOnly && 'read-only', item.locked && 'locked', item.hidden && 'hidden', item.occluded && 'occluded'].filter(Boolean);
    const attrs = (item.object.attributes || [])
      .map((a) => `${this.labels.get(item.labelId)?.attributes?.find((s) => s.id === a.spec_id)?.name ?? a.spec_id}: ${a.value}`)
      .join(', ');
    return {
      label: this.labelName(item.labelId),
      color: item.color,
      details: ` ${item.kind} ${item.id != null ? `#${item.id}` : '(new)'}${marks.length ? ` · ${marks.join(' · ')}` : ''}${attrs ? ` · ${attrs}` : ''}`,
    };
  }

  renderPanel() {
    const object = this.selected;
    const panel = $('#object-panel');
    panel.hidden = !object;
    const editable = this.isEditable(object);
    const state = object ? this.state(object) : {};
    for (const [id, on] of [['#toggle-occluded', object?.occluded], ['#toggle-lock', state.locked], ['#toggle-hide', state.hidden]]) {
      $(id).setAttribute('aria-pressed', String(Boolean(on)));
    }
    for (const id of ['#toggle-occluded', '#to-front', '#to-back', '#delete-shape']) $(id).disabled = !this.canEdit(object);
    for (const id of ['#toggle-lock', '#toggle-hide']) $(id).disabled = !object;
    $('#toggle-lock').disabled = !editable;
    if (!object) {
      clear($('#attributes'));
      return;
    }
    const label = this.labels.get(object.label_id);
    $('#object-title').textContent = `${this.labelName(object.label_id)} · ${object.type || 'track'}${object.id != null ? ` #${object.id}` : ' (new)'}`;
    const rows = attributeRows(object, label, (specId, value) => this.setAttribute(specId, value), { disabled: !this.canEdit(object) });
    clear($('#attributes')).append(...(rows.length ? rows : [h('p', { class: 'muted', text: 'This label has no attributes.' })]));
  }

  /** The frame's tags (frame-level labels), each with its attributes and a remove button. */
  renderTags() {
    const tags = this.data.tags.filter((tag) => tag.frame === this.frame);
    const list = clear($('#tags'));
    tags.forEach((tag, index) => {
      const name = this.labelName(tag.label_id);
      // A tag's attributes are edited in place, like a selected object's (CVAT's UI).
      const rows = attributeRows(tag, this.labels.get(tag.label_id), (specId, value) => this.setTagAttribute(tag, specId, value),
        { prefix: `tag-${index}-attr` });
      list.append(h('li', { class: 'annot-tag' },
        h('div', { class: 'annot-tag-head' },
          h('span', { class: 'swatch', 'aria-hidden': 'true', style: { '--label-color': this.labelColor(tag.label_id) } }),
          h('span', { class: 'annot-tag-name', text: name }),
          h('button', { type: 'button', class: 'small ghost', 'aria-label': `Remove tag ${name}`, text: '×', onClick: () => this.removeTag(tag) })),
        ...(rows.length ? [h('div', { class: 'annot-tag-attrs', role: 'group', 'aria-label': `Attributes of tag ${name}` }, ...rows)] : [])));
    });
    $('#tags-empty').hidden = tags.length > 0;
  }

  addTag(labelId) {
    if (!this.taggable.some((label) => label.id === labelId)) return;
    if (this.data.tags.some((tag) => tag.frame === this.frame && tag.label_id === labelId)) {
      this.status(`The frame already has the tag “${this.labelName(labelId)}”.`, 'error');
      return;
    }
    const tag = { frame: this.frame, label_id: labelId, group: 0, source: 'manual', attributes: defaultAttributes(this.labels.get(labelId)) };
    this.history.record(this.data.tags, tag, `Tag “${this.labelName(labelId)}” added`, { create: true });
    this.render();
    this.status(`Tag “${this.labelName(labelId)}” added.`);
  }

  setTagAttribute(tag, specId, value) {
    const title = `Attribute of tag “${this.labelName(tag.label_id)}” changed`;
    this.history.record(this.data.tags, tag, title, {
      edit: (t) => {
        const others = (t.attributes || []).filter((a) => a.spec_id !== specId);
        t.attributes = [...others, { spec_id: specId, value }].sort((a, b) => a.spec_id - b.spec_id);
      },
    });
    this.status(`${title}.`);
    this.render();
  }

  removeTag(tag) {
    this.history.record(this.data.tags, tag, `Tag “${this.labelName(tag.label_id)}” removed`, { remove: true });
    this.render();
    this.status(`Tag “${this.labelName(tag.label_id)}” removed.`);
  }

  // ---- selection --------------------------------------------------------------------------------

  select(object, { fromList = false } = {}) {
    this.selected = object;
    if (object && this.isEditable(object) && this.drawable.some((label) => label.id === object.label_id)) {
      $('#label-select').value = String(object.label_id);
      this.onLabelShown();
    }
    this.render();
    if (fromList && object) $(`#objects [data-key="${this.key(object)}"]`)?.focus();
  }

  selectKey(key) {
    this.select(key == null ? null : this.objectOf(key));
  }

  /** Tab / Shift+Tab: the next or previous object; false past the last one (Tab moves on). */
  cycle(direction) {
    const items = this.items().filter((item) => !item.hidden);
    if (!items.length) return false;
    const index = this.selected ? items.findIndex((item) => item.object === this.selected) : -1;
    const next = index < 0 ? (direction > 0 ? 0 : items.length - 1) : index + direction;
    if (next < 0 || next >= items.length) {
      this.select(null);
      return false;
    }
    this.select(items[next].object);
    return true;
  }

  onLabelShown() {
    $('#label-swatch').style.setProperty('--label-color', this.labelColor(this.currentLabel()));
  }

  // ---- edits (each one command of the history) ------------------------------------------

  /** Record an edit of `object` (a shape of the job) and redraw. */
  edit(object, title, change) {
    const command = this.history.record(this.data.shapes, object, title, { edit: change });
    if (command) this.status(`${title}.`);
    this.render();
    return command;
  }

  add(shape, title) {
    this.history.record(this.data.shapes, shape, title, { create: true });
    this.selected = shape;
    this.render();
    this.status(`${title}.`);
  }

  newShape(type, geometry, labelId) {
    return {
      type, frame: this.frame, label_id: labelId, points: geometry.points,
      occluded: false, outside: false, z_order: this.topZ() + 1, rotation: geometry.rotation || 0,
      attributes: defaultAttributes(this.labels.get(labelId)), group: 0, source: 'manual',
    };
  }

  topZ(sign = 1) {
    const zs = this.data.shapes.filter((s) => s.frame === this.frame).map((s) => s.z_order || 0);
    return zs.length ? (sign > 0 ? Math.max(...zs) : Math.min(...zs)) : 0;
  }

  onDraw(type, geometry) {
    if (!geometry) {
      this.status(TOOLS.get(type).draw === 'box' ? 'The shape was too small: drag farther.' : 'Too few points for this shape.', 'error');
      return;
    }
    const labelId = this.currentLabel();
    this.add(this.newShape(type, geometry, labelId), `${TOOLS.get(type).title} added (${this.labelName(labelId)})`);
  }

  onChange(key, geometry) {
    const object = this.objectOf(key);
    if (!this.canEdit(object)) return;
    this.edit(object, 'Shape changed', (shape) => {
      shape.points = geometry.points;
      if (geometry.rotation !== undefined) shape.rotation = geometry.rotation;
    });
  }

  deleteSelected() {
    const object = this.selected;
    if (!this.canEdit(object)) return;
    this.history.record(this.data.shapes, object, 'Object deleted', { remove: true });
    this.selected = null;
    this.render();
    this.status('Object deleted.');
  }

  relabel(labelId) {
    const object = this.selected;
    if (!this.canEdit(object) || object.label_id === labelId) return;
    if (!this.labelFits(labelId, object.type)) {
      this.status(`The label “${this.labelName(labelId)}” is not for ${object.type}s.`, 'error');
      return;
    }
    this.edit(object, `Label changed to “${this.labelName(labelId)}”`, (shape) => {
      shape.label_id = labelId;
      shape.attributes = defaultAttributes(this.labels.get(labelId));
    });
  }

  setAttribute(specId, value) {
    const object = this.selected;
    if (!this.canEdit(object)) return;
    this.edit(object, 'Attribute changed', (shape) => {
      const others = (shape.attributes || []).filter((a) => a.spec_id !== specId);
      shape.attributes = [...others, { spec_id: specId, value }].sort((a, b) => a.spec_id - b.spec_id);
    });
  }

  toggleOccluded() {
    if (this.canEdit(this.selected)) this.edit(this.selected, 'Occluded changed', (shape) => { shape.occluded = !shape.occluded; });
  }

  /** Lock and hide are the annotator's view of an object: not saved, not in the history. */
  toggleLocal(flag) {
    const object = this.selected;
    if (!object || (flag === 'locked' && !this.isEditable(object))) return;
    const state = this.state(object);
    state[flag] = !state[flag];
    this.status(`${flag === 'locked' ? 'Lock' : 'Hide'} ${state[flag] ? 'on' : 'off'}.`);
    this.render();
  }

  zOrder(direction) {
    const object = this.selected;
    if (!this.canEdit(object)) return;
    const z = this.topZ(direction) + direction;
    this.edit(object, direction > 0 ? 'Brought to the front' : 'Sent to the back', (shape) => { shape.z_order = z; });
  }

  copy() {
    if (!this.isEditable(this.selected)) return;
    this.clipboard = snapshot(this.selected);
    this.status('Copied: Ctrl+V pastes it on the frame shown.');
  }

  paste() {
    if (!this.clipboard) return;
    const shape = structuredClone(this.clipboard);
    const image = { width: this.canvas.width, height: this.canvas.height };
    if (shape.frame === this.frame) shape.points = translate(shape.points, PASTE_OFFSET, PASTE_OFFSET, shape.rotation ? null : image);
    shape.frame = this.frame;
    shape.z_order = this.topZ() + 1;
    this.add(shape, 'Object pasted');
  }

  undo() {
    this.step(this.history.undo(), 'Undone');
  }

  redo() {
    this.step(this.history.redo(), 'Redone');
  }

  step(command, verb) {
    if (!command) {
      this.status(`Nothing to ${verb === 'Undone' ? 'undo' : 'redo'}.`);
      return;
    }
    const object = command.object;
    const present = command.list.includes(object);
    if (present && object.frame !== this.frame) this.showFrame(object.frame);
    this.selected = present && command.list === this.data.shapes ? object : null;
    this.render();
    this.status(`${verb}: ${command.title}.`);
  }
}
