// Undo/redo of edits that change several objects at once (split and merge of tracks,
// propagation of a shape): a batch folds the commands recorded inside it into one, so
// one Ctrl+Z undoes all of it. Everything else is the base History.

import { History } from '../history.js';

function restore(object, state) {
  for (const key of Object.keys(object)) if (key !== 'id') delete object[key];
  Object.assign(object, structuredClone(state));
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

export class BatchHistory extends History {
  /** Run `fn`, which records commands; they become one command titled `title`. */
  batch(title, fn) {
    const start = this.done.length;
    fn();
    const parts = this.done.splice(start);
    if (!parts.length) return null;
    const command = { parts, list: parts[0].list, object: parts[0].object, title };
    this.done.push(command);
    return command;
  }

  undo() {
    const command = this.done[this.done.length - 1];
    if (!command?.parts) return super.undo();
    this.done.pop();
    for (const part of [...command.parts].reverse()) apply(part, part.before);
    this.undone.push(command);
    return command;
  }

  redo() {
    const command = this.undone[this.undone.length - 1];
    if (!command?.parts) return super.redo();
    this.undone.pop();
    for (const part of command.parts) apply(part, part.after);
    this.done.push(command);
    return command;
  }
}
