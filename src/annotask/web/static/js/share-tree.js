// A lazy tree over the connected file share (`GET /api/server/share?directory=`):
// expand directories, tick files or whole directories. Selected directories are
// sent with a trailing slash, as the clients do (spec 1.5).

import { api, describe, query } from './api.js';
import { clear, h } from './dom.js';

export class ShareTree {
  constructor({ onChange } = {}) {
    this.onChange = onChange;
    this.selected = new Set(); // "dir/" or "dir/file.jpg"
    this.summary = h('p', { class: 'share-summary muted', 'aria-live': 'polite' });
    this.root = h('ul', { class: 'tree', role: 'tree', 'aria-label': 'Connected file share', 'aria-multiselectable': 'true' });
    this.el = h('div', { class: 'share-browser' }, this.root, this.summary);
    this.loaded = false;
  }

  /** Load the top level the first time the tab is shown. */
  async load() {
    if (this.loaded) return;
    this.loaded = true;
    await this.fill(this.root, '', 0);
    this.renderSummary();
  }

  async fill(list, directory, depth) {
    clear(list).append(h('li', { class: 'tree-status muted', text: 'Loading…' }));
    let entries;
    try {
      entries = await api.get(`/api/server/share${query({ directory: `/${directory}` })}`);
    } catch (error) {
      clear(list).append(h('li', { class: 'tree-status error', role: 'alert', text: describe(error.body) || error.message }));
      if (depth === 0) this.loaded = false;
      return;
    }
    clear(list);
    if (!entries.length) {
      list.append(h('li', { class: 'tree-status muted', text: depth ? 'Empty directory' : 'The share is empty.' }));
    }
    for (const entry of entries) list.append(this.node(entry, directory, depth));
  }

  node(entry, directory, depth) {
    const isDir = entry.type === 'DIR';
    const path = `${directory}${entry.name}${isDir ? '/' : ''}`;
    const coveredByParent = this.coveredByAncestor(path);
    const checkbox = h('input', {
      type: 'checkbox', class: 'tree-check', 'aria-label': `Select ${path}`,
      checked: coveredByParent || this.selected.has(path), disabled: coveredByParent,
      dataset: { path },
      onChange: () => this.toggle(path, checkbox.checked, item),
    });
    const children = isDir ? h('ul', { class: 'tree', role: 'group', hidden: true }) : null;
    const toggle = isDir
      ? h('button', {
        type: 'button', class: 'tree-toggle', 'aria-label': `Expand ${entry.name}`, 'aria-expanded': 'false', text: '▸',
        onClick: async () => {
          const open = children.hidden;
          children.hidden = !open;
          toggle.setAttribute('aria-expanded', String(open));
          toggle.setAttribute('aria-label', `${open ? 'Collapse' : 'Expand'} ${entry.name}`);
          toggle.textContent = open ? '▾' : '▸';
          item.setAttribute('aria-expanded', String(open));
          if (open && !children.dataset.loaded) {
            children.dataset.loaded = '1';
            await this.fill(children, path, depth + 1);
          }
        },
      })
      : h('span', { class: 'tree-spacer', 'aria-hidden': 'true' });
    const item = h('li', { role: 'treeitem', class: ['tree-item', isDir ? 'dir' : 'file'], dataset: { path }, 'aria-expanded': isDir ? 'false' : null },
      h('div', { class: 'tree-row' },
        toggle,
        h('label', { class: 'tree-label' },
          checkbox,
          h('span', { class: ['tree-icon', isDir ? 'dir' : 'file'], 'aria-hidden': 'true' }),
          h('span', { class: 'tree-name', text: entry.name }),
          isDir || !entry.mime_type || entry.mime_type === 'unknown' ? null : h('span', { class: 'tree-kind muted', text: entry.mime_type }))),
      children);
    return item;
  }

  coveredByAncestor(path) {
    for (const chosen of this.selected) {
      if (chosen.endsWith('/') && chosen !== path && path.startsWith(chosen)) return true;
    }
    return false;
  }

  toggle(path, checked, item) {
    if (checked) {
      this.selected.add(path);
      // A directory covers everything below it: drop and lock its descendants.
      for (const chosen of [...this.selected]) {
        if (chosen !== path && path.endsWith('/') && chosen.startsWith(path)) this.selected.delete(chosen);
      }
    } else {
      this.selected.delete(path);
    }
    // `:scope ul`: only the boxes below this entry (`ul .tree-check` matched its own box
    // too, through the tree's outer list, and locked it ticked).
    for (const box of item.querySelectorAll(':scope ul .tree-check')) {
      box.checked = checked || this.selected.has(box.dataset.path);
      box.disabled = checked;
    }
    this.renderSummary();
    this.onChange?.(this.paths());
  }

  paths() {
    return [...this.selected];
  }

  renderSummary() {
    const paths = this.paths();
    this.summary.textContent = paths.length
      ? `Selected: ${paths.join(', ')}`
      : 'Nothing selected yet.';
  }
}
