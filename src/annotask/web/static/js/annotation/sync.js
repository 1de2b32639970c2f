// Saving per object, with a three-way merge when someone else saved meanwhile.
//
// The base is what the server had when this page last read or wrote it (a signature
// per object id). A save sends only the differences from it, as CVAT's client does:
// `PATCH ?action=delete` (ids), `update` (changed objects) and `create` (new ones),
// each with the version it builds on. When the server answers that the version is
// stale (409, or 412 for `If-Match`) with its current annotations, they are merged
// by object id against the base: a change made on one side only is taken (theirs
// into the page, ours sent again), an object changed on both sides is a conflict for
// the annotator to settle. Objects keep their identity throughout, so the undo
// history and the selection follow them, and a created object takes its server id.
// Tracks are objects like the others: a changed track is sent whole (its keyframes).

import { snapshot } from './history.js';

export const KINDS = ['tags', 'shapes', 'tracks'];
const STALE = new Set([409, 412]);

/** What an object holds, its id aside: JSON.stringify(snapshot(object)) without a deep copy. */
const signature = (object) => {
  const { id: _id, ...rest } = object;
  return JSON.stringify(rest);
};

/** The error is a stale-version answer that carries the current annotations. */
export const isStale = (error) => STALE.has(error?.status) && Array.isArray(error.body?.shapes);

export class Sync {
  constructor() {
    this.base = { tags: new Map(), shapes: new Map(), tracks: new Map() };
  }

  /** The server holds exactly `data` (a load, or the current annotations of a merge). */
  reset(data) {
    for (const kind of KINDS) {
      this.base[kind] = new Map((data[kind] || []).filter((o) => o.id != null).map((o) => [o.id, signature(o)]));
    }
  }

  /** What differs from the base: `{delete, update, create}`, each `{tags, shapes, tracks}`. */
  changes(data) {
    const out = {};
    for (const action of ['delete', 'update', 'create']) out[action] = Object.fromEntries(KINDS.map((kind) => [kind, []]));
    for (const kind of KINDS) {
      const base = this.base[kind];
      const present = new Set();
      for (const object of data[kind] || []) {
        if (object.id == null || !base.has(object.id)) {
          out.create[kind].push(object); // new, or back from an undone deletion that was saved
        } else {
          present.add(object.id);
          if (base.get(object.id) !== signature(object)) out.update[kind].push(object);
        }
      }
      for (const id of base.keys()) if (!present.has(id)) out.delete[kind].push(id);
    }
    return out;
  }

  hasChanges(data) {
    const changes = this.changes(data);
    return Object.values(changes).some((part) => KINDS.some((kind) => part[kind].length));
  }

  /**
   * Send the changes of `data` with `send(action, body, version)` (which returns the
   * server's answer); `data.version` follows each answer. Throws what `send` throws.
   */
  async save(data, send) {
    const changes = this.changes(data);
    for (const action of ['delete', 'update', 'create']) {
      const part = changes[action];
      if (!KINDS.some((kind) => part[kind].length)) continue;
      const sent = {};
      const body = { version: data.version };
      for (const kind of KINDS) {
        if (action === 'delete') {
          body[kind] = part[kind].map((id) => ({ id }));
        } else {
          sent[kind] = part[kind].map((object) => [object, snapshot(object)]);
          body[kind] = sent[kind].map(([object, state]) => (action === 'update' ? { id: object.id, ...state } : state));
        }
      }
      const answer = await send(action, body, data.version);
      data.version = answer.version;
      for (const kind of KINDS) {
        if (action === 'delete') {
          for (const id of part[kind]) this.base[kind].delete(id);
          continue;
        }
        sent[kind].forEach(([object, state], i) => {
          const stored = answer[kind]?.[i];
          if (action === 'create' && stored?.id != null) object.id = stored.id;
          if (object.id == null) return;
          if (!stored) {
            this.base[kind].set(object.id, JSON.stringify(state));
            return;
          }
          // The server's spelling of the object (defaults filled in) becomes ours, unless
          // it was edited while the request ran: later merges compare like with like.
          if (signature(object) === JSON.stringify(state)) replaceContents(object, stored);
          this.base[kind].set(object.id, signature(stored));
        });
      }
    }
  }

  /**
   * Merge the server's current annotations `theirs` into `data` (in place) against the
   * base; returns the conflicts `[{kind, ours, theirs}]` (either may be null: deleted).
   * Afterwards the base is `theirs`: our remaining differences are what a save sends.
   */
  merge(data, theirs) {
    const conflicts = [];
    for (const kind of KINDS) {
      const base = this.base[kind];
      const their = new Map((theirs[kind] || []).map((o) => [o.id, o]));
      data[kind] ||= [];
      const ours = new Map(data[kind].filter((o) => o.id != null).map((o) => [o.id, o]));
      for (const [id, object] of ours) {
        if (!base.has(id)) continue; // ours alone (an undone deletion): sent as new
        const other = their.get(id) ?? null;
        const oursChanged = signature(object) !== base.get(id);
        const theirsChanged = !other || signature(other) !== base.get(id);
        if (oursChanged && theirsChanged) conflicts.push({ kind, ours: object, theirs: other });
        else if (theirsChanged) takeTheirs(data[kind], object, other);
      }
      for (const [id, before] of base) {
        const other = their.get(id);
        if (!ours.has(id) && other && signature(other) !== before) conflicts.push({ kind, ours: null, theirs: other });
      }
      for (const [id, other] of their) {
        if (!base.has(id) && !ours.has(id)) data[kind].push(structuredClone(other)); // new from them
      }
    }
    data.version = theirs.version;
    this.reset(theirs);
    return conflicts;
  }
}

function replaceContents(object, other) {
  for (const key of Object.keys(object)) delete object[key];
  Object.assign(object, structuredClone(other));
}

/**
 * Make `object` of `list` what the server has: `other`, or gone when `other` is null;
 * with `object` null (we had deleted it) their object comes back.
 */
export function takeTheirs(list, object, other) {
  if (!other) {
    const index = list.indexOf(object);
    if (index >= 0) list.splice(index, 1);
    return;
  }
  if (!object) {
    list.push(structuredClone(other));
    return;
  }
  replaceContents(object, other);
  if (!list.includes(object)) list.push(object);
}
