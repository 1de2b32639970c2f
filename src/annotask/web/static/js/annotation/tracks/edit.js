// Edits of track data, as CVAT's annotation view makes them. Pure functions over the
// API's objects (a track: `{frame, label_id, attributes, shapes: [keyframes]}`); the
// TrackEditor records them as undoable commands. Immutable attributes live on the
// track, mutable ones on its keyframes, as in CVAT's API.

import { defaultAttributes } from '../attributes.js';
import { stateAt } from '../interpolation.js';

const KEYFRAME_FIELDS = ['type', 'frame', 'points', 'rotation', 'occluded', 'outside', 'z_order', 'attributes'];

/** A stored keyframe made of an (interpolated) shape: the fields the API keeps. */
export function keyframeOf(shape, frame = shape.frame) {
  const out = {};
  for (const field of KEYFRAME_FIELDS) if (shape[field] !== undefined) out[field] = structuredClone(shape[field]);
  out.frame = frame;
  out.rotation ??= 0;
  out.occluded ??= false;
  out.outside ??= false;
  out.z_order ??= 0;
  out.attributes ??= [];
  return out;
}

/** The label's default attributes split as CVAT keeps them: `{track, shape}`. */
export function splitDefaults(label) {
  const mutable = new Set((label?.attributes || []).filter((spec) => spec.mutable).map((spec) => spec.id));
  const all = defaultAttributes(label);
  return { track: all.filter((a) => !mutable.has(a.spec_id)), shape: all.filter((a) => mutable.has(a.spec_id)) };
}

export function isMutable(label, specId) {
  return Boolean(label?.attributes?.find((spec) => spec.id === specId)?.mutable);
}

/** A new track from a shape drawn on `frame`. */
export function newTrack(shape, label) {
  const defaults = splitDefaults(label);
  return {
    frame: shape.frame, label_id: shape.label_id, group: 0, source: 'manual', attributes: defaults.track,
    shapes: [keyframeOf({ ...shape, attributes: defaults.shape })],
  };
}

export const sortKeyframes = (track) => track.shapes.sort((a, b) => a.frame - b.frame);

/** The track's keyframe on `frame`, made from its interpolated state when there is none. */
export function ensureKeyframe(track, frame) {
  let keyframe = track.shapes.find((s) => s.frame === frame);
  if (keyframe) return keyframe;
  const { shape } = stateAt(track, frame);
  if (!shape) return null;
  keyframe = keyframeOf(shape, frame);
  track.shapes.push(keyframe);
  sortKeyframes(track);
  if (frame < track.frame) track.frame = frame;
  return keyframe;
}

/** Remove the keyframe on `frame` (never the only one); the track starts at its first. */
export function removeKeyframe(track, frame) {
  if (track.shapes.length < 2) return false;
  const index = track.shapes.findIndex((s) => s.frame === frame);
  if (index < 0) return false;
  track.shapes.splice(index, 1);
  sortKeyframes(track);
  track.frame = track.shapes[0].frame;
  return true;
}

/** Keyframe frames of the track before or after `frame` (direction -1 / 1), or null. */
export function neighbourKeyframe(track, frame, direction) {
  const frames = track.shapes.map((s) => s.frame).sort((a, b) => a - b);
  return direction > 0 ? (frames.find((f) => f > frame) ?? null) : ([...frames].reverse().find((f) => f < frame) ?? null);
}

/**
 * Split `track` at `frame` (CVAT's Alt+M): the track ends with an outside keyframe there
 * and a new track (returned, to be added) starts there with the shape shown on it.
 * Null when the track shows nothing on `frame` or starts there.
 */
export function splitTrack(track, frame) {
  const { shape } = stateAt(track, frame);
  if (!shape || shape.outside || frame <= track.frame) return null;
  const later = track.shapes.filter((s) => s.frame > frame);
  const second = {
    frame, label_id: track.label_id, group: track.group ?? 0, source: track.source ?? 'manual',
    attributes: structuredClone(track.attributes || []),
    shapes: [keyframeOf({ ...shape, outside: false }, frame), ...later.map((s) => keyframeOf(s))],
  };
  track.shapes = track.shapes.filter((s) => s.frame < frame);
  track.shapes.push(keyframeOf({ ...shape, outside: true }, frame));
  sortKeyframes(track);
  return second;
}

/**
 * Merge shapes and tracks of one label into one track (CVAT's M): every track's
 * keyframes, every shape as a keyframe followed by an outside one on the next frame
 * (unless something is there), later objects winning on one frame. Null when the
 * objects have different labels or shape types.
 */
export function mergeObjects(objects, label, stopFrame) {
  const typeOf = (o) => o.type ?? o.shapes?.[0]?.type;
  if (objects.length < 2 || new Set(objects.map((o) => o.label_id)).size !== 1 || new Set(objects.map(typeOf)).size !== 1) return null;
  const frames = new Map();
  const outsides = new Map();
  const mutable = new Set((label?.attributes || []).filter((spec) => spec.mutable).map((spec) => spec.id));
  let trackAttributes = null;
  for (const object of objects) {
    if (object.shapes) {
      trackAttributes ??= structuredClone(object.attributes || []);
      for (const s of object.shapes) frames.set(s.frame, keyframeOf(s));
    } else {
      const attributes = object.attributes || [];
      trackAttributes ??= attributes.filter((a) => !mutable.has(a.spec_id));
      frames.set(object.frame, keyframeOf({ ...object, outside: false, attributes: attributes.filter((a) => mutable.has(a.spec_id)) }));
      if (object.frame + 1 <= stopFrame) outsides.set(object.frame + 1, keyframeOf({ ...object, outside: true, attributes: [] }, object.frame + 1));
    }
  }
  for (const [frame, shape] of outsides) if (!frames.has(frame)) frames.set(frame, shape);
  const shapes = [...frames.values()].sort((a, b) => a.frame - b.frame);
  const first = objects.find((o) => o.shapes) ?? objects[0];
  return {
    frame: shapes[0].frame, label_id: first.label_id, group: first.group ?? 0, source: 'manual',
    attributes: trackAttributes || [], shapes,
  };
}
