// The annotation view's editor with tracks: the base Editor (shapes, tags, selection,
// history) plus track mode. In track mode a drawn shape starts a track; moving or
// resizing it on another frame makes a keyframe there; frames between keyframes show
// what the server's interpolation exports (../interpolation.js). Outside (O), keyframe
// (K), previous/next keyframe (E/R), split (Alt+M), merge (M) and propagation (Ctrl+B)
// are CVAT's. Every edit is a command of the history (batches for edits of several
// objects), so undo/redo covers them; saving goes through the same Sync as shapes.

import { $, clear, h } from '../../dom.js';
import { attributeRows } from '../attributes.js';
import { Editor } from '../editor.js';
import { shapeAt, stateAt } from '../interpolation.js';
import { isEditableType } from '../shapes/index.js';
import { BatchHistory } from './history.js';
import {
  ensureKeyframe, isMutable, keyframeOf, mergeObjects, neighbourKeyframe, newTrack, removeKeyframe, splitTrack,
} from './edit.js';

export const DEFAULT_PROPAGATE = 50;

export const typeOf = (object) => object?.type ?? object?.shapes?.[0]?.type ?? null;

export class TrackEditor extends Editor {
  constructor(options) {
    super(options);
    this.history = new BatchHistory();
    this.stopFrame = options.stopFrame ?? Infinity;
    this.trackMode = false;
    this.merging = null; // objects picked for a merge (M ... M)
  }

  isTrack(object) {
    return Boolean(object) && this.data.tracks.includes(object);
  }

  listOf(object) {
    return this.isTrack(object) ? this.data.tracks : this.data.shapes;
  }

  // ---- what the frame shows -------------------------------------------------------------

  /** The track on this frame: its interpolated shape, outside ones too (listed, not drawn). */
  trackShape(track) {
    return stateAt(track, this.frame, this.stopFrame).shape;
  }

  items() {
    const items = super.items();
    for (const item of items) {
      if (!this.isTrack(item.object)) continue;
      const track = item.object;
      const outside = Boolean(item.shape.outside);
      const keyframe = track.shapes.some((s) => s.frame === this.frame);
      const state = this.state(track);
      item.readOnly = !isEditableType(item.shape.type);
      item.locked = state.locked;
      item.editable = !item.readOnly && !state.locked && !outside;
      item.hidden = state.hidden || outside;
      item.kind = `${item.shape.type} track${keyframe ? ' · keyframe' : ''}${outside ? ' · outside' : ''}`;
    }
    return items;
  }

  isEditable(object) {
    if (this.isTrack(object)) return isEditableType(typeOf(object));
    return super.isEditable(object);
  }

  renderPanel() {
    super.renderPanel();
    const track = this.selected;
    const buttons = document.querySelectorAll('[data-track-action]');
    for (const button of buttons) {
      const action = button.dataset.trackAction;
      button.disabled = !this.canEdit(track) || (action === 'propagate' ? this.isTrack(track) : !this.isTrack(track));
    }
    if (!this.isTrack(track)) {
      $('#track-info') && ($('#track-info').textContent = '');
      return;
    }
    const { shape } = stateAt(track, this.frame, this.stopFrame);
    const keyframe = track.shapes.find((s) => s.frame === this.frame);
    $('#object-title').textContent = `${this.labelName(track.label_id)} · ${typeOf(track)} track${track.id != null ? ` #${track.id}` : ' (new)'}`;
    const info = $('#track-info');
    if (info) info.textContent = `${keyframe ? 'Keyframe' : 'Interpolated'}${shape?.outside ? ', outside' : ''}; keyframes at ${track.shapes.map((s) => s.frame).join(', ')}`;
    for (const [id, on] of [['#track-outside', shape?.outside], ['#track-keyframe', Boolean(keyframe)]]) $(id)?.setAttribute('aria-pressed', String(Boolean(on)));
    $('#toggle-occluded').setAttribute('aria-pressed', String(Boolean(shape?.occluded)));
    const view = { attributes: [...(track.attributes || []), ...(shape?.attributes || [])] };
    const rows = attributeRows(view, this.labels.get(track.label_id), (specId, value) => this.setAttribute(specId, value), { disabled: !this.canEdit(track) || Boolean(shape?.outside) });
    clear($('#attributes')).append(...(rows.length ? rows : [h('p', { class: 'muted', text: 'This label has no attributes.' })]));
  }

  // ---- recording ------------------------------------------------------------------------

  /** Record an edit of a track; the command remembers the frame it was made on. */
  editTrack(track, title, change) {
    const command = this.history.record(this.data.tracks, track, title, { edit: change });
    if (command) {
      command.frame = this.frame;
      this.status(`${title}.`);
    }
    this.render();
    return command;
  }

  /** Change the keyframe on this frame (made from the interpolated shape if needed). */
  editKeyframe(track, title, change) {
    return this.editTrack(track, title, (t) => {
      const keyframe = ensureKeyframe(t, this.frame);
      if (keyframe) change(keyframe, t);
    });
  }

  batch(title, fn) {
    const command = this.history.batch(title, fn);
    if (command) {
      command.frame = this.frame;
      this.status(`${title}.`);
    }
    this.render();
    return command;
  }

  // ---- drawing and editing --------------------------------------------------------------

  onDraw(type, geometry) {
    if (!this.trackMode || !geometry) {
      super.onDraw(type, geometry);
      return;
    }
    const labelId = this.currentLabel();
    const track = newTrack(this.newShape(type, geometry, labelId), this.labels.get(labelId));
    this.history.record(this.data.tracks, track, 'Track added', { create: true }).frame = this.frame;
    this.selected = track;
    this.render();
    this.status(`Track added (${this.labelName(labelId)}): move it on another frame to make a keyframe there.`);
  }

  onChange(key, geometry) {
    const object = this.objectOf(key);
    if (!this.isTrack(object)) {
      super.onChange(key, geometry);
      return;
    }
    if (!this.canEdit(object)) return;
    this.editKeyframe(object, `Keyframe on frame ${this.frame}`, (keyframe) => {
      keyframe.points = geometry.points;
      if (geometry.rotation !== undefined) keyframe.rotation = geometry.rotation;
    });
  }

  deleteSelected() {
    const track = this.selected;
    if (!this.isTrack(track)) {
      super.deleteSelected();
      return;
    }
    if (!this.canEdit(track)) return;
    this.history.record(this.data.tracks, track, 'Track deleted', { remove: true }).frame = this.frame;
    this.selected = null;
    this.render();
    this.status('Track deleted.');
  }

  relabel(labelId) {
    const track = this.selected;
    if (!this.isTrack(track)) {
      super.relabel(labelId);
      return;
    }
    if (!this.canEdit(track) || track.label_id === labelId) return;
    if (!this.labelFits(labelId, typeOf(track))) {
      this.status(`The label “${this.labelName(labelId)}” is not for ${typeOf(track)}s.`, 'error');
      return;
    }
    this.editTrack(track, `Label changed to “${this.labelName(labelId)}”`, (t) => {
      const fresh = newTrack({ ...t.shapes[0], label_id: labelId }, this.labels.get(labelId));
      t.label_id = labelId;
      t.attributes = fresh.attributes;
      for (const s of t.shapes) s.attributes = structuredClone(fresh.shapes[0].attributes);
    });
  }

  setAttribute(specId, value) {
    const track = this.selected;
    if (!this.isTrack(track)) {
      super.setAttribute(specId, value);
      return;
    }
    if (!this.canEdit(track)) return;
    const set = (holder) => {
      const others = (holder.attributes || []).filter((a) => a.spec_id !== specId);
      holder.attributes = [...others, { spec_id: specId, value }].sort((a, b) => a.spec_id - b.spec_id);
    };
    if (isMutable(this.labels.get(track.label_id), specId)) this.editKeyframe(track, 'Attribute changed', (keyframe) => set(keyframe));
    else this.editTrack(track, 'Attribute changed', (t) => set(t));
  }

  toggleOccluded() {
    const track = this.selected;
    if (!this.isTrack(track)) {
      super.toggleOccluded();
      return;
    }
    if (this.canEdit(track)) this.editKeyframe(track, 'Occluded changed', (keyframe) => { keyframe.occluded = !keyframe.occluded; });
  }

  zOrder(direction) {
    const track = this.selected;
    if (!this.isTrack(track)) {
      super.zOrder(direction);
      return;
    }
    if (!this.canEdit(track)) return;
    const z = this.topZ(direction) + direction;
    this.editKeyframe(track, direction > 0 ? 'Brought to the front' : 'Sent to the back', (keyframe) => { keyframe.z_order = z; });
  }

  /** A track is copied as the shape it shows here (pasted as a shape, as CVAT does). */
  copy() {
    const track = this.selected;
    if (!this.isTrack(track)) {
      super.copy();
      return;
    }
    const shape = shapeAt(track, this.frame, this.stopFrame);
    if (!shape || !this.isEditable(track)) return;
    const { keyframe: _k, ...rest } = shape;
    this.clipboard = { ...keyframeOf(rest), label_id: track.label_id, group: 0, source: 'manual', attributes: [...(track.attributes || []), ...(shape.attributes || [])] };
    this.status('Copied: Ctrl+V pastes it on the frame shown.');
  }

  // ---- track actions ----------------------------------------------------------------------

  /** O: the object leaves the frame here (or comes back). */
  toggleOutside() {
    const track = this.selected;
    if (!this.isTrack(track) || this.state(track).locked || !this.isEditable(track)) return;
    const { shape } = stateAt(track, this.frame, this.stopFrame);
    if (!shape) return;
    this.editKeyframe(track, shape.outside ? `Back in the frame on ${this.frame}` : `Outside from frame ${this.frame}`, (keyframe) => {
      keyframe.outside = !shape.outside;
    });
  }

  /** K: make this frame a keyframe, or stop it being one (never the last keyframe). */
  toggleKeyframe() {
    const track = this.selected;
    if (!this.isTrack(track) || this.state(track).locked || !this.isEditable(track)) return;
    if (track.shapes.some((s) => s.frame === this.frame)) {
      if (track.shapes.length < 2) {
        this.status('The only keyframe of a track stays: delete the track instead.', 'error');
        return;
      }
      this.editTrack(track, `Keyframe on frame ${this.frame} removed`, (t) => removeKeyframe(t, this.frame));
    } else {
      this.editKeyframe(track, `Keyframe on frame ${this.frame}`, () => {});
    }
  }

  /** R / E: the selected track's next or previous keyframe. */
  keyframeStep(direction) {
    const track = this.selected;
    if (!this.isTrack(track)) return;
    const frame = neighbourKeyframe(track, this.frame, direction);
    if (frame === null) {
      this.status(`No ${direction > 0 ? 'later' : 'earlier'} keyframe.`);
      return;
    }
    this.showFrame(frame);
    this.select(track);
  }

  /** Alt+M: split the selected track on this frame into two. */
  split() {
    const track = this.selected;
    if (!this.isTrack(track) || !this.canEdit(track)) return;
    let second = null;
    this.batch(`Track split on frame ${this.frame}`, () => {
      this.history.record(this.data.tracks, track, 'split', {
        edit: (t) => { second = splitTrack(t, this.frame); },
      });
      if (second) this.history.record(this.data.tracks, second, 'split', { create: true });
    });
    if (!second) {
      this.status('A track splits on a frame after its first one, where it is shown.', 'error');
      return;
    }
    this.select(second);
  }

  /** M: start picking objects to merge; M again merges the picked ones into one track. */
  toggleMerge() {
    if (!this.merging) {
      this.merging = [];
      if (this.selected && this.isEditable(this.selected)) this.merging.push(this.selected);
      this.status('Merge: click the shapes and tracks of one object on any frames, then M again (Esc cancels).');
      return;
    }
    const picked = this.merging;
    this.merging = null;
    const label = this.labels.get(picked[0]?.label_id);
    const merged = mergeObjects(picked, label, this.stopFrame);
    if (!merged) {
      this.status(picked.length < 2 ? 'Merge cancelled: pick two objects or more.' : 'Merge refused: the objects differ in label or shape type.', 'error');
      return;
    }
    this.batch(`${picked.length} objects merged into a track`, () => {
      for (const object of picked) this.history.record(this.listOf(object), object, 'merged', { remove: true });
      this.history.record(this.data.tracks, merged, 'merged', { create: true });
    });
    this.select(merged);
  }

  cancelMerge() {
    if (this.merging) this.status('Merge cancelled.');
    this.merging = null;
  }

  select(object, options) {
    if (this.merging && object && this.isEditable(object)) {
      if (!this.merging.includes(object)) this.merging.push(object);
      this.status(`Merge: ${this.merging.length} picked; M merges them, Esc cancels.`);
    }
    super.select(object, options);
  }

  /** Ctrl+B: copies of the selected shape on the next `count` frames, one undo step. */
  propagate(count) {
    const shape = this.selected;
    if (!shape || this.isTrack(shape) || !this.canEdit(shape)) {
      this.status('Propagation copies a shape (not a track) to the next frames.', 'error');
      return;
    }
    const last = Math.min(this.frame + count, this.stopFrame);
    if (!(last > this.frame)) return;
    this.batch(`Propagated to frames ${this.frame + 1}–${last}`, () => {
      for (let frame = this.frame + 1; frame <= last; frame += 1) {
        const { id: _id, ...rest } = structuredClone(shape);
        this.history.record(this.data.shapes, { ...rest, frame }, 'propagated', { create: true });
      }
    });
  }

  // ---- undo/redo of track edits ---------------------------------------------------------

  step(command, verb) {
    if (!command || (!command.parts && command.list !== this.data.tracks)) {
      super.step(command, verb);
      return;
    }
    if (command.frame != null && command.frame !== this.frame) this.showFrame(command.frame);
    const present = command.list.includes(command.object);
    this.selected = present ? command.object : null;
    this.render();
    this.status(`${verb}: ${command.title}.`);
  }
}
