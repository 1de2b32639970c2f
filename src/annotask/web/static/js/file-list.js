// The files chosen on "My computer", one row each (name, size, upload state),
// which doubles as the per-file upload progress. Rows are built once when files
// are added; progress only touches the rows that changed, batched into one
// update per animation frame, so thousands of files stay responsive.

import { formatBytes, h } from './dom.js';

const STATE_TEXT = { waiting: 'Waiting', done: 'Done', failed: 'Failed' };

export class FileList {
  /** `list` is the `<ul>` of rows, `summary` the element around `#file-count`. */
  constructor(list, summary) {
    this.list = list;
    this.summary = summary;
    this.entries = []; // {file, name, row, bar, status, state, sent}
    this.byName = new Map();
    this.pending = new Map(); // index -> {sent, state}, flushed once per frame
    this.frame = null;
    this.locked = false;
  }

  get length() {
    return this.entries.length;
  }

  /** The chosen files as the upload module takes them, in the order of the rows. */
  uploadItems() {
    return this.entries.map(({ file, name }) => ({ file, name }));
  }

  /** Add `{file, name}` items; a name already listed is replaced (the task holds one file per name). */
  add(items) {
    if (this.locked) return;
    const fragment = document.createDocumentFragment();
    for (const { file, name } of items) {
      const known = this.byName.get(name);
      if (known) {
        known.file = file;
        known.row.querySelector('.file-size').textContent = formatBytes(file.size);
        continue;
      }
      const entry = { file, name };
      entry.row = this.row(entry);
      this.entries.push(entry);
      this.byName.set(name, entry);
      fragment.append(entry.row);
    }
    this.list.append(fragment);
    this.changed();
  }

  remove(entry) {
    if (this.locked) return;
    this.entries.splice(this.entries.indexOf(entry), 1);
    this.byName.delete(entry.name);
    entry.row.remove();
    this.changed();
  }

  clear() {
    if (this.locked) return;
    this.entries = [];
    this.byName.clear();
    this.list.replaceChildren();
    this.changed();
  }

  /** While uploading the selection cannot change: the indices of the progress refer to it. */
  lock(locked) {
    this.locked = locked;
    this.list.classList.toggle('locked', locked);
  }

  /** Every row back to "Waiting", before an upload (or a retry) starts. */
  resetProgress() {
    this.pending.clear();
    this.entries.forEach((entry) => this.show(entry, 0, 'waiting'));
  }

  /** Record a file's progress (from the upload module); the row follows on the next frame. */
  progress(index, sent, state) {
    this.pending.set(index, { sent, state });
    this.frame ??= requestAnimationFrame(() => this.flush());
  }

  /** Apply what is pending now (also called when the upload ends, so no update is lost). */
  flush() {
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    for (const [index, { sent, state }] of this.pending) {
      const entry = this.entries[index];
      if (entry) this.show(entry, sent, state);
    }
    this.pending.clear();
  }

  /** How many files are done and failed. */
  counts() {
    let done = 0;
    let failed = 0;
    for (const entry of this.entries) {
      if (entry.state === 'done') done += 1;
      else if (entry.state === 'failed') failed += 1;
    }
    return { done, failed };
  }

  // ---- internals ----

  row(entry) {
    entry.bar = h('progress', { max: String(entry.file.size || 1), value: '0', 'aria-label': `Upload of ${entry.name}`, hidden: true });
    entry.status = h('span', { class: 'file-status' });
    return h('li', { class: 'file-item' },
      h('span', { class: 'file-name', title: entry.name, text: entry.name }),
      h('span', { class: 'file-size muted', text: formatBytes(entry.file.size) }),
      h('span', { class: 'file-progress' }, entry.bar, entry.status),
      h('button', {
        type: 'button', class: 'icon-button remove-file', 'aria-label': `Remove ${entry.name}`, title: 'Remove', text: '×',
        onClick: () => this.remove(entry),
      }));
  }

  show(entry, sent, state) {
    const size = entry.file.size;
    if (entry.state !== state) {
      entry.state = state;
      entry.row.dataset.state = state;
      entry.bar.hidden = state !== 'uploading';
    }
    if (state === 'uploading') {
      entry.bar.max = size || 1;
      entry.bar.value = size ? sent : 1;
      const percent = `${size ? Math.floor((100 * sent) / size) : 100}%`;
      if (entry.status.textContent !== percent) entry.status.textContent = percent;
    } else {
      entry.status.textContent = STATE_TEXT[state];
    }
  }

  changed() {
    const total = this.entries.reduce((sum, entry) => sum + entry.file.size, 0);
    const count = this.entries.length;
    this.summary.hidden = count === 0;
    // The list scrolls: keep it reachable by keyboard even while its buttons are hidden.
    if (count) this.list.tabIndex = 0;
    else this.list.removeAttribute('tabindex');
    this.summary.querySelector('#file-count').textContent = `${count} ${count === 1 ? 'file' : 'files'}, ${formatBytes(total)}`;
  }
}
