// The undo/redo history of the annotation view. Every edit is a command over one
// object: its state before and after (null: the object did not exist). Objects keep
// their identity: undoing a deletion puts the very same object back, so selections,
// client-side state (lock, hide) and ids assigned by a save stay attached to it.

/** A deep copy of an object's data, without its server id (ids belong to the object). */
export function snapshot(object) {
  const { id: _id, ...rest } = object;
  return structuredClone(rest);
}

function restore(object, state) {
  for (const key of Object.keys(object)) if (key !== 'id') delete object[key];
  Object.assign(object, structuredClone(state));
}

export class History {
  constructor() {
    this.done = [];
    this.undone = [];
  }

  /** The newest applied command (a marker for "saved here"). */
  get top() {
    return this.done[this.done.length - 1] ?? null;
  }

  clear() {
    this.done = [];
    this.undone = [];
  }

  /**
   * Record a change of `object` in `list` (an array of the page's data) made by `edit`,
   * which mutates the object; `create`/`remove` add or take it out of the list.
   */
  record(list, object, title, { create = false, remove = false, edit = null } = {}) {
    const before = create ? null : snapshot(object);
    if (edit) edit(object);
    if (create) list.push(object);
    if (remove) list.splice(list.indexOf(object), 1);
    const after = remove ? null : snapshot(object);
    if (before && after && JSON.stringify(before) === JSON.stringify(after)) return null;
    const command = { list, object, before, after, title };
    this.done.push(command);
    this.undone = [];
    return command;
  }

  undo() {
    const command = this.done.pop();
    if (!command) return null;
    apply(command, command.before);
    this.undone.push(command);
    return command;
  }

  redo() {
    const command = this.undone.pop();
    if (!command) return null;
    apply(command, command.after);
    this.done.push(command);
    return command;
  }
}

function apply({ list, object }, state) {
  const index = list.indexOf(object);
  if (state === null) {
    if (index >= 0) list.splice(index, 1);
    return;
  }
  restore(object, state);
  if (index < 0) list.push(object);
}
