// The "Objects on this frame" list. A frame may hold thousands of objects, so the
// list is windowed: every row has the same height, the list scrolls on its own and
// only the rows in view (plus a margin) are in the document, the rest stand in as
// padding. Rows are kept by object key and rebuilt only when what they show changes,
// so a re-render after an edit or a save touches a few nodes, and the row with the
// keyboard focus survives scrolling (Tab walks on through the list: focusing a row
// scrolls it into view, which renders the rows after it). Row content comes from the
// page (`describe`), and only for the rows drawn.

import { h } from '../dom.js';

const ROW_PX = 36; // one row and the gap under it: .annot-objects > li in app.css
const MARGIN_ROWS = 12; // drawn above and below the visible ones

export class ObjectsList {
  /**
   * `list`: the <ul> (it scrolls); `describe(item)` -> `{label, details, color}` for one
   * row. Rows are buttons with `data-key`; the page listens on the list for clicks.
   */
  constructor(list, describe) {
    this.list = list;
    this.describe = describe;
    this.items = [];
    this.selected = null;
    this.rows = new Map(); // key -> {li, button, signature}
    this.scrollTop = 0;
    this.height = 0;
    const spacer = () => h('li', { class: 'annot-objects-spacer', 'aria-hidden': 'true' });
    this.above = spacer();
    this.below = spacer();
    this.list.style.setProperty('--row-height', `${ROW_PX}px`);
    this.list.addEventListener('scroll', () => {
      this.scrollTop = this.list.scrollTop;
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }, { passive: true });
    // A row focused by Tab is scrolled into view by the browser: draw the rows around
    // it at once (not at the next animation frame), so the next Tab finds its row.
    this.list.addEventListener('focusin', (event) => {
      const index = Number(event.target.closest('li')?.getAttribute('aria-posinset')) - 1;
      if (!(index >= 0) || !this.height) return;
      const top = Math.min(this.scrollTop, index * ROW_PX);
      const scrollTop = Math.max(top, (index + 1) * ROW_PX - this.height);
      if (scrollTop === this.scrollTop) return;
      this.scrollTop = scrollTop;
      this.draw();
    });
    new ResizeObserver(([entry]) => {
      const height = entry.borderBoxSize?.[0]?.blockSize ?? entry.contentRect.height;
      if (Math.abs(height - this.height) < 1) return;
      this.height = height;
      this.draw();
    }).observe(list);
  }

  /** Show `items` (each with a `key`), `selected` marked; scroll to it when it changed. */
  render(items, selected) {
    const changedSelection = selected !== this.selected;
    this.items = items;
    this.selected = selected;
    if (changedSelection && selected != null) this.reveal(items.findIndex((item) => item.key === selected));
    this.draw();
  }

  /** Scroll so that row `index` is in view (a selection made on the image). */
  reveal(index) {
    if (index < 0 || !this.height) return;
    const top = index * ROW_PX;
    if (top >= this.scrollTop && top + ROW_PX <= this.scrollTop + this.height) return;
    this.scrollTop = Math.max(0, top - (this.height - ROW_PX) / 2);
    this.list.scrollTop = this.scrollTop;
  }

  draw() {
    const count = this.items.length;
    const visible = Math.ceil((this.height || window.innerHeight) / ROW_PX);
    const first = Math.max(0, Math.min(Math.floor(this.scrollTop / ROW_PX) - MARGIN_ROWS, count - visible - MARGIN_ROWS));
    const last = Math.min(count, first + visible + 2 * MARGIN_ROWS);
    const rows = new Map();
    const nodes = [this.above];
    for (let index = first; index < last; index += 1) {
      const item = this.items[index];
      const row = this.row(item);
      row.li.setAttribute('aria-posinset', String(index + 1));
      row.li.setAttribute('aria-setsize', String(count));
      rows.set(item.key, row);
      nodes.push(row.li);
    }
    nodes.push(this.below);
    this.rows = rows;
    this.above.hidden = !first;
    this.below.hidden = last >= count;
    this.above.style.height = `${first * ROW_PX}px`;
    this.below.style.height = `${(count - last) * ROW_PX}px`;
    // Rows leave and arrive at the ends; the others stay where they are (a row taken
    // out of the document, even for a moment, would lose the keyboard focus).
    const wanted = new Set(nodes);
    for (const child of [...this.list.children]) if (!wanted.has(child)) child.remove();
    let cursor = this.list.firstElementChild;
    for (const node of nodes) {
      if (cursor === node) cursor = cursor.nextElementSibling;
      else this.list.insertBefore(node, cursor);
    }
  }

  row(item) {
    const selected = item.key === this.selected;
    const { label, details, color } = this.describe(item);
    const signature = `${selected}\u0000${color}\u0000${label}\u0000${details}`;
    let row = this.rows.get(item.key);
    if (row?.signature === signature) return row;
    if (!row) {
      const button = h('button', { type: 'button', dataset: { key: String(item.key) } });
      row = { li: h('li', {}, button), button };
    }
    // Filled in place: a focused row keeps its node and the focus.
    const { button } = row;
    button.className = selected ? 'annot-object selected' : 'annot-object';
    button.setAttribute('aria-pressed', String(selected));
    button.title = `${label}${details}`;
    button.replaceChildren(
      h('span', { class: 'swatch', 'aria-hidden': 'true', style: { '--label-color': color } }),
      h('span', { class: 'annot-object-label', text: label }),
      h('span', { class: 'muted', text: details }));
    row.signature = signature;
    return row;
  }
}
