// The drawing surface of the annotation view. A stage (the visible area, with the
// keyboard focus) holds a "world" box of the frame's size in image pixels: the image
// and an SVG of the shapes in image coordinates. Zoom and pan are one CSS transform of
// the world, so shapes are never recomputed for them; stroke widths and handle sizes
// divide by the `--zoom` property to stay constant on screen. Pointer input becomes
// drawings, selections, moves and handle edits, reported through callbacks; the page
// owns the data and the undo history. Everything goes through setAttribute and CSSOM
// properties: the page's CSP forbids inline styles, and no user text becomes markup.

import { clamp, normalizeBox, round2, svgPoints, translate } from './geometry.js';
import { toolFor } from './shapes/index.js';
import { svg } from './svg.js';

const MIN_SCREEN_PX = 4; // a smaller pointer travel is a click, not a drag
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 40;
const SETTLE_MS = 200; // a view unchanged this long is done moving
const CACHE_NODES = 6000; // shape nodes kept by key, across frames (a few frames' worth)
// More shapes than this on a frame: outlines only (the selected and highlighted ones
// keep their tint). Filling a thousand overlapping shapes is most of what the browser
// rasterizes on a frame switch, and their tints only muddy the picture.
const DENSE_SHAPES = 300;

/**
 * Callbacks: `onDraw(type, geometry|null)` a finished drawing (null: too small),
 * `onSelect(key|null)`, `onChange(key, geometry)` a move or handle edit,
 * `onHover(key|null)`, `onView({scale})` after a zoom.
 * Items given to `render` are `{key, shape, color, editable, hidden, occluded}`.
 */
export class AnnotationCanvas {
  constructor(stage, world, image, callbacks) {
    this.stage = stage;
    this.world = world;
    this.image = image;
    this.callbacks = callbacks;
    this.width = 1;
    this.height = 1;
    this.view = { scale: 1, x: 0, y: 0 };
    this.fitted = true; // follow the stage's size until the user zooms or pans
    this.items = [];
    this.nodes = new Map(); // key -> {node, signature, highlighted}
    this.zoomShown = 1; // the scale --zoom was last set to
    this.selected = null;
    this.tool = null; // a shape type while drawing
    this.draft = null; // the drawing in progress: {points, box?}
    this.gesture = null;
    this.panKey = false;
    this.shapes = svg('g', { class: 'annot-shapes' });
    this.handles = svg('g', { class: 'annot-handles' });
    this.draftLayer = svg('g', { class: 'annot-draft-layer' });
    this.svg = svg('svg', { class: 'annot-overlay', 'aria-hidden': 'true' }, this.shapes, this.handles, this.draftLayer);
    world.append(this.svg);
    stage.addEventListener('pointerdown', (event) => this.down(event));
    stage.addEventListener('pointermove', (event) => this.move(event));
    stage.addEventListener('pointerup', (event) => this.up(event));
    stage.addEventListener('pointercancel', () => this.abortGesture());
    stage.addEventListener('dblclick', (event) => this.doubleClick(event));
    stage.addEventListener('wheel', (event) => this.wheel(event), { passive: false });
    stage.addEventListener('contextmenu', (event) => this.contextMenu(event));
    this.svg.addEventListener('pointerover', (event) => this.callbacks.onHover?.(this.itemAt(event)?.key ?? null));
    this.svg.addEventListener('pointerleave', () => this.callbacks.onHover?.(null));
    // The stage's size, kept from the observer: reading clientWidth after a DOM write
    // (a frame switch writes first) would force a layout of the whole page.
    this.stageSize = null;
    new ResizeObserver(([entry]) => {
      this.stageSize = { width: entry.contentRect.width, height: entry.contentRect.height };
      if (this.fitted) this.fit();
    }).observe(stage);
  }

  // ---- frame and view ------------------------------------------------------------------

  /** Show a frame of `width`×`height` image pixels from `src`. */
  setFrame(src, alt, width, height) {
    this.cancelDrawing();
    this.abortGesture();
    const resized = Math.max(1, width || 1) !== this.width || Math.max(1, height || 1) !== this.height;
    this.width = Math.max(1, width || 1);
    this.height = Math.max(1, height || 1);
    this.svg.setAttribute('viewBox', `0 0 ${this.width} ${this.height}`);
    this.svg.setAttribute('width', String(this.width));
    this.svg.setAttribute('height', String(this.height));
    this.world.style.width = `${this.width}px`;
    this.world.style.height = `${this.height}px`;
    this.image.alt = alt;
    if (this.image.getAttribute('src') !== src) this.image.src = src;
    if (resized || this.fitted) this.fit();
  }

  /** The whole frame in the stage, centred. */
  fit() {
    const { width: w, height: h } = this.stageSize || { width: this.stage.clientWidth, height: this.stage.clientHeight };
    if (!w || !h) return;
    const scale = clamp(Math.min(w / this.width, h / this.height), MIN_ZOOM, MAX_ZOOM);
    this.setView({ scale, x: (w - this.width * scale) / 2, y: (h - this.height * scale) / 2 });
    this.fitted = true;
  }

  /** Zoom by `factor` keeping the stage point (`sx`, `sy`) in place (default: centre). */
  zoom(factor, sx = (this.stageSize?.width ?? this.stage.clientWidth) / 2, sy = (this.stageSize?.height ?? this.stage.clientHeight) / 2) {
    const scale = clamp(this.view.scale * factor, MIN_ZOOM, MAX_ZOOM);
    const ratio = scale / this.view.scale;
    this.setView({ scale, x: sx - (sx - this.view.x) * ratio, y: sy - (sy - this.view.y) * ratio });
    this.fitted = false;
  }

  /**
   * While the view moves the world is a composited layer that the compositor moves
   * and scales (smooth: no style, layout or paint per frame). Once it settles the layer
   * goes (crisp again) and `--zoom`, which keeps strokes and handles the same size on
   * screen, follows the scale: that restyles every shape, so once per zoom gesture,
   * not once per wheel step (meanwhile strokes scale with the image for a moment).
   */
  moving() {
    this.world.classList.add('moving');
    clearTimeout(this.movingTimer);
    this.movingTimer = setTimeout(() => this.settle(), SETTLE_MS);
  }

  settle() {
    clearTimeout(this.movingTimer);
    this.world.classList.remove('moving');
    if (this.zoomShown !== this.view.scale) {
      this.zoomShown = this.view.scale;
      this.world.style.setProperty('--zoom', String(this.view.scale));
    }
  }

  setView(view) {
    if (view.scale === this.view.scale && view.x === this.view.x && view.y === this.view.y) return;
    const scaleChanged = view.scale !== this.view.scale;
    this.view = view;
    this.moving();
    this.world.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.scale})`;
    if (scaleChanged) {
      if (this.selected != null) this.renderHandles(); // the rotation handle's gap is in screen pixels
      this.callbacks.onView?.(view);
    }
  }

  /** Brightness and contrast of the image, in percent. */
  setFilter(brightness, contrast) {
    this.image.style.filter = `brightness(${brightness}%) contrast(${contrast}%)`;
  }

  // ---- shapes --------------------------------------------------------------------------

  render(items, selected) {
    this.items = items;
    this.selected = selected;
    const ordered = items
      .filter((item) => !item.hidden)
      .sort((a, b) => (a.key === selected) - (b.key === selected) || (a.shape.z_order || 0) - (b.shape.z_order || 0));
    // Nodes are kept by key with a signature of what they show, in a cache that
    // outlives the frame (least recently shown dropped first): an edit redraws only the
    // shapes it changed, and going back to a frame seen lately builds no node.
    const nodes = this.nodes;
    const list = [];
    for (const item of ordered) {
      const signature = this.signature(item);
      let kept = nodes.get(item.key);
      if (kept?.signature === signature) {
        nodes.delete(item.key); // re-inserted below: the most recently shown
        if (kept.highlighted !== (item.key === this.highlighted)) kept = null;
      } else {
        kept = null;
      }
      if (!kept) {
        const node = this.node(item);
        if (!node) continue;
        kept = { node, signature, highlighted: item.key === this.highlighted };
      }
      nodes.set(item.key, kept);
      list.push(kept.node);
    }
    for (const key of nodes.keys()) {
      if (nodes.size <= CACHE_NODES) break;
      nodes.delete(key);
    }
    this.shapes.classList.toggle('dense', list.length > DENSE_SHAPES);
    const current = this.shapes.children;
    const same = current.length === list.length && list.every((node, i) => current[i] === node);
    if (!same) {
      const unchangedOrder = current.length === list.length
        && list.every((node, i) => current[i].dataset.key === node.dataset.key);
      if (unchangedOrder) list.forEach((node, i) => current[i] !== node && current[i].replaceWith(node));
      else this.shapes.replaceChildren(...list);
    }
    this.renderHandles();
  }

  signature(item) {
    const { shape } = item;
    return JSON.stringify([shape.type, shape.points, shape.rotation, shape.elements?.length, item.color, item.editable,
      item.occluded, item.key === this.selected]);
  }

  node(item, shape = item.shape) {
    const tool = toolFor(shape.type);
    if (!tool) return null;
    const node = tool.node(shape);
    node.dataset.key = String(item.key);
    node.classList.add('annot-shape');
    node.setAttribute('stroke', item.color);
    node.setAttribute('fill', item.color);
    if (item.editable) node.classList.add('editable');
    if (item.occluded) node.classList.add('occluded');
    if (item.key === this.selected) node.classList.add('selected');
    if (item.key === this.highlighted) node.classList.add('highlighted');
    return node;
  }

  /** Mark the shape of `key` (the objects list is hovered). */
  highlight(key) {
    if (key === this.highlighted) return;
    for (const [k, on] of [[this.highlighted, false], [key, true]]) {
      const kept = k == null ? null : this.nodes.get(k);
      if (!kept) continue;
      kept.node.classList.toggle('highlighted', on);
      kept.highlighted = on;
    }
    this.highlighted = key;
  }

  selectedItem() {
    return this.items.find((item) => item.key === this.selected && !item.hidden) || null;
  }

  renderHandles(preview = null) {
    const item = this.selectedItem();
    const tool = item && toolFor(item.shape.type);
    if (!item || !item.editable || !tool?.handles) {
      this.handles.replaceChildren();
      return;
    }
    const shape = preview || item.shape;
    const nodes = [];
    for (const handle of tool.handles(shape, this.view.scale)) {
      if (handle.kind === 'rotate') {
        const top = tool.handles(shape, this.view.scale).find((other) => other.id === 'n');
        nodes.push(svg('line', { x1: top.x, y1: top.y, x2: handle.x, y2: handle.y, class: 'annot-rotate-line' }));
      }
      nodes.push(svg('circle', {
        cx: handle.x, cy: handle.y, class: `annot-handle ${handle.kind}`, 'data-handle': handle.id,
      }));
    }
    this.handles.replaceChildren(...nodes);
  }

  /** Redraw one shape during a gesture, without touching the others. */
  preview(item, shape) {
    const old = this.shapes.querySelector(`[data-key="${item.key}"]`);
    const node = this.node(item, shape);
    if (old && node) old.replaceWith(node);
    this.nodes.delete(item.key);
    this.renderHandles(shape);
  }

  // ---- drawing -------------------------------------------------------------------------

  setTool(type) {
    this.cancelDrawing();
    this.tool = type;
    this.stage.classList.toggle('drawing', Boolean(type));
  }

  cancelDrawing() {
    this.draft = null;
    this.draftLayer.replaceChildren();
  }

  /** Finish a click-drawn shape (N or a double click); false when there is nothing to finish. */
  finishDrawing() {
    const tool = toolFor(this.tool);
    if (!tool || tool.draw !== 'clicks' || !this.draft) return false;
    const geometry = tool.fromClicks(this.draft.points);
    this.cancelDrawing();
    this.callbacks.onDraw(tool.type, geometry);
    return true;
  }

  renderDraft(pointer) {
    const tool = toolFor(this.tool);
    if (!tool || !this.draft) return;
    if (tool.draw === 'box') {
      const [x1, y1, x2, y2] = normalizeBox([...this.draft.start, ...(pointer || this.draft.start)], this.width, this.height);
      this.draftLayer.replaceChildren(svg('rect', { class: 'annot-draft', x: x1, y: y1, width: x2 - x1, height: y2 - y1 }));
      return;
    }
    const points = pointer ? [...this.draft.points, ...pointer] : this.draft.points;
    const dots = [];
    for (let i = 0; i + 1 < this.draft.points.length; i += 2) dots.push(svg('circle', { class: 'annot-draft-point', cx: this.draft.points[i], cy: this.draft.points[i + 1] }));
    this.draftLayer.replaceChildren(svg(tool.type === 'polygon' ? 'polygon' : 'polyline', { class: 'annot-draft', points: svgPoints(points) }), ...dots);
  }

  // ---- pointer input -------------------------------------------------------------------

  /** Image coordinates of a pointer event. */
  point(event) {
    const rect = this.world.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * this.width) / Math.max(rect.width, 1e-6),
      ((event.clientY - rect.top) * this.height) / Math.max(rect.height, 1e-6),
    ];
  }

  inside([x, y]) {
    return [round2(clamp(x, 0, this.width)), round2(clamp(y, 0, this.height))];
  }

  itemAt(event) {
    const node = event.target instanceof Element ? event.target.closest('.annot-shapes [data-key]') : null;
    return node ? this.items.find((item) => String(item.key) === node.dataset.key) || null : null;
  }

  down(event) {
    // The focus follows the pointer, so the view's shortcuts work after a select or a field.
    this.stage.focus({ preventScroll: true });
    if (this.gesture) return;
    const screen = [event.clientX, event.clientY];
    if (event.button === 1 || (event.button === 0 && this.panKey)) {
      event.preventDefault();
      this.startGesture(event, { kind: 'pan', screen, view: { ...this.view } });
      return;
    }
    if (event.button !== 0) return;
    event.preventDefault(); // no text selection, no image drag
    const start = this.point(event);
    const tool = toolFor(this.tool);
    if (tool) {
      this.startGesture(event, { kind: 'draw', screen, start, view: { ...this.view } });
      if (tool.draw === 'box' && !this.draft) {
        this.draft = { start: this.inside(start) };
        this.renderDraft(null);
      }
      return;
    }
    const handle = event.target instanceof Element ? event.target.closest('[data-handle]') : null;
    const item = this.selectedItem();
    if (handle && item?.editable) {
      this.startHandle(event, item, handle.dataset.handle, start, screen);
      return;
    }
    const hit = this.itemAt(event);
    this.callbacks.onSelect(hit ? hit.key : null);
    if (hit?.editable) {
      this.startGesture(event, { kind: 'move', screen, start, item: hit, moved: false });
    } else if (!hit) {
      this.startGesture(event, { kind: 'pan', screen, view: { ...this.view } });
    }
  }

  startHandle(event, item, id, start, screen) {
    const tool = toolFor(item.shape.type);
    let handle = tool.handles(item.shape, this.view.scale).find((h) => h.id === id);
    if (!handle) return;
    if (handle.kind === 'vertex' && event.altKey) {
      this.removeVertex(item, handle.index);
      return;
    }
    let shape = item.shape;
    const inserted = handle.kind === 'insert'; // a click on it alone adds the vertex too
    if (inserted) {
      shape = { ...shape, ...tool.insertVertex(shape, handle.index, this.inside(start)) };
      handle = { id: `v${handle.index + 1}`, kind: 'vertex', index: handle.index + 1 };
      this.preview(item, shape);
    }
    this.startGesture(event, { kind: 'handle', screen, item, handle, base: shape, shape, moved: inserted });
  }

  removeVertex(item, index) {
    const geometry = toolFor(item.shape.type).removeVertex?.(item.shape, index);
    if (geometry) this.callbacks.onChange(item.key, geometry);
  }

  startGesture(event, gesture) {
    this.gesture = gesture;
    this.stage.setPointerCapture?.(event.pointerId);
  }

  travelled(event, gesture = this.gesture) {
    const [sx, sy] = gesture.screen;
    return Math.hypot(event.clientX - sx, event.clientY - sy) >= MIN_SCREEN_PX;
  }

  move(event) {
    const gesture = this.gesture;
    if (!gesture) {
      if (this.draft) this.renderDraft(this.inside(this.point(event)));
      return;
    }
    if (gesture.kind === 'pan' || (gesture.kind === 'draw' && toolFor(this.tool)?.draw === 'clicks' && this.travelled(event))) {
      // A drag while clicking vertices pans, so a zoomed-in drawing can go on.
      gesture.kind = 'pan';
      gesture.view ||= { ...this.view };
      // No hit testing of a thousand shapes on every pointer move of a pan.
      if (!gesture.panning) this.stage.classList.add('pan-gesture');
      gesture.panning = true;
      this.setView({ ...gesture.view, x: gesture.view.x + event.clientX - gesture.screen[0], y: gesture.view.y + event.clientY - gesture.screen[1] });
      this.fitted = false;
      return;
    }
    const point = this.point(event);
    if (gesture.kind === 'draw') {
      this.renderDraft(this.inside(point));
      return;
    }
    gesture.moved ||= this.travelled(event);
    if (!gesture.moved) return;
    const { item } = gesture;
    if (gesture.kind === 'move') {
      const dx = point[0] - gesture.start[0];
      const dy = point[1] - gesture.start[1];
      const clampTo = item.shape.rotation ? null : { width: this.width, height: this.height };
      gesture.shape = { ...item.shape, points: translate(item.shape.points, dx, dy, clampTo) };
    } else {
      const tool = toolFor(item.shape.type);
      gesture.shape = { ...gesture.base, ...tool.drag(gesture.base, gesture.handle, point, { width: this.width, height: this.height }) };
    }
    this.preview(item, gesture.shape);
  }

  up(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    this.gesture = null;
    this.stage.classList.remove('pan-gesture');
    this.stage.releasePointerCapture?.(event.pointerId);
    if (gesture.kind === 'draw') this.drawClick(event, gesture);
    else if ((gesture.kind === 'move' || gesture.kind === 'handle') && gesture.moved && gesture.shape) {
      const { points, rotation } = gesture.shape;
      this.callbacks.onChange(gesture.item.key, { points, rotation: rotation || 0 });
    }
  }

  /** A press and release while drawing: a box corner or a vertex. */
  drawClick(event, gesture) {
    const tool = toolFor(this.tool);
    if (!tool) return;
    const point = this.inside(this.point(event));
    if (tool.draw === 'box') {
      const dragged = this.travelled(event, gesture) || this.draft.clicked;
      if (!dragged) {
        this.draft.clicked = true; // the first of two clicks: the second gives the other corner
        this.callbacks.onDraftStarted?.(tool.type);
        return;
      }
      const start = this.draft.start;
      this.cancelDrawing();
      const box = normalizeBox([...start, ...point], this.width, this.height);
      const [sx, sy] = [Math.abs(box[2] - box[0]) * this.view.scale, Math.abs(box[3] - box[1]) * this.view.scale];
      const big = sx >= MIN_SCREEN_PX && sy >= MIN_SCREEN_PX && box[2] - box[0] >= 1 && box[3] - box[1] >= 1;
      this.callbacks.onDraw(tool.type, big ? tool.fromBox(box, this) : null);
      return;
    }
    this.draft ||= { points: [] };
    const [lx, ly] = this.draft.points.slice(-2);
    const same = lx !== undefined && Math.hypot(lx - point[0], ly - point[1]) * this.view.scale < MIN_SCREEN_PX;
    if (!same) this.draft.points.push(...point); // the second click of a double click adds nothing
    this.renderDraft(null);
  }

  doubleClick(event) {
    if (toolFor(this.tool)?.draw === 'clicks') {
      event.preventDefault();
      this.finishDrawing();
    }
  }

  contextMenu(event) {
    const handle = event.target instanceof Element ? event.target.closest('[data-handle]') : null;
    const item = this.selectedItem();
    if (!handle || !item?.editable) return;
    event.preventDefault();
    const found = toolFor(item.shape.type).handles(item.shape, this.view.scale).find((h) => h.id === handle.dataset.handle);
    if (found?.kind === 'vertex') this.removeVertex(item, found.index);
  }

  wheel(event) {
    event.preventDefault();
    const rect = this.stage.getBoundingClientRect();
    this.zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - rect.left, event.clientY - rect.top);
  }

  abortGesture() {
    if (!this.gesture) return;
    this.gesture = null;
    this.stage.classList.remove('pan-gesture');
    this.render(this.items, this.selected);
  }
}
