// The drawing surface of the job page: the frame image scaled to fit, and an SVG
// overlay in image coordinates (its viewBox is the frame's size) that shows the
// shapes and turns pointer input into rectangles drawn, selected and moved.
// Everything goes through setAttribute and CSSOM properties: the page's CSP
// forbids inline styles, and no user text is ever parsed as markup.

const SVG = 'http://www.w3.org/2000/svg';
const MIN_SCREEN_PX = 4; // a smaller drag is a click, not a rectangle

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  return el;
}

const pairs = (points) => {
  const out = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push(`${points[i]},${points[i + 1]}`);
  return out.join(' ');
};

/** Keep a rectangle's [x1, y1, x2, y2] ordered and inside the image. */
export function clampBox([x1, y1, x2, y2], width, height) {
  const clamp = (v, max) => Math.min(Math.max(v, 0), max);
  const round = (v) => Math.round(v * 100) / 100;
  return [
    round(clamp(Math.min(x1, x2), width)), round(clamp(Math.min(y1, y2), height)),
    round(clamp(Math.max(x1, x2), width)), round(clamp(Math.max(y1, y2), height)),
  ];
}

/**
 * `onDraw(points)` gets a new rectangle, `onSelect(item|null)` a click on a shape or
 * on the background, `onMove(item, points)` the end of a drag of an editable shape.
 * `item` is whatever the page passed in `render` (`{key, shape, color, editable}`).
 */
export class AnnotationCanvas {
  constructor(box, image, { onDraw, onSelect, onMove }) {
    this.box = box;
    this.image = image;
    this.callbacks = { onDraw, onSelect, onMove };
    this.width = 1;
    this.height = 1;
    this.scale = 1;
    this.drawing = false;
    this.items = [];
    this.selected = null;
    this.gesture = null;
    this.svg = svg('svg', { class: 'annot-overlay', 'aria-hidden': 'true', preserveAspectRatio: 'none' });
    box.append(this.svg);
    this.svg.addEventListener('pointerdown', (event) => this.down(event));
    this.svg.addEventListener('pointermove', (event) => this.move(event));
    this.svg.addEventListener('pointerup', (event) => this.up(event));
    this.svg.addEventListener('pointercancel', () => this.cancel());
    new ResizeObserver(() => this.fit()).observe(box.parentElement);
    window.addEventListener('resize', () => this.fit());
  }

  /** Show a frame of `width`×`height` image pixels from `src`. */
  setFrame(src, alt, width, height) {
    this.cancel();
    this.width = Math.max(1, width || 1);
    this.height = Math.max(1, height || 1);
    this.svg.setAttribute('viewBox', `0 0 ${this.width} ${this.height}`);
    this.image.alt = alt;
    if (this.image.getAttribute('src') !== src) this.image.src = src;
    this.fit();
  }

  /** Scale the frame to the stage's width and the window's height below the toolbars. */
  fit() {
    const stage = this.box.parentElement;
    const styles = getComputedStyle(stage);
    const room = stage.clientWidth - parseFloat(styles.paddingLeft) - parseFloat(styles.paddingRight);
    const maxHeight = Math.max(240, window.innerHeight - 340);
    const scale = Math.min(Math.max(room, 50) / this.width, maxHeight / this.height);
    if (!Number.isFinite(scale) || scale <= 0) return;
    this.box.style.width = `${Math.floor(this.width * scale)}px`;
    this.box.style.height = `${Math.floor(this.height * scale)}px`;
    if (Math.abs(scale - this.scale) > 1e-6) {
      this.scale = scale;
      this.render(this.items, this.selected);
    }
  }

  setDrawing(on) {
    this.drawing = on;
    this.svg.classList.toggle('drawing', on);
    if (!on && this.gesture?.kind === 'draw') this.cancel();
  }

  /** Draw `items` (`{key, shape, color, editable}`); `selected` is the selected key. */
  render(items, selected) {
    this.items = items;
    this.selected = selected;
    const nodes = [];
    let top = null;
    for (const item of items) {
      const node = this.shapeNode(item);
      if (!node) continue;
      node.dataset.key = String(item.key);
      node.classList.add('annot-shape');
      if (item.editable) node.classList.add('editable');
      if (item.key === selected) {
        node.classList.add('selected');
        top = node;
      } else {
        nodes.push(node);
      }
    }
    if (top) nodes.push(top); // the selected shape on top, where it can be grabbed
    this.svg.replaceChildren(...nodes);
    if (this.gesture?.kind === 'draw') this.svg.append(this.gesture.node);
  }

  shapeNode({ shape, color }) {
    const p = shape.points || [];
    const paint = { stroke: color, fill: color, 'vector-effect': 'non-scaling-stroke' };
    const radius = 4 / this.scale;
    switch (shape.type) {
      case 'rectangle': {
        const node = svg('rect', { ...paint, x: p[0], y: p[1], width: Math.max(0, p[2] - p[0]), height: Math.max(0, p[3] - p[1]) });
        if (shape.rotation) node.setAttribute('transform', `rotate(${shape.rotation} ${(p[0] + p[2]) / 2} ${(p[1] + p[3]) / 2})`);
        return node;
      }
      case 'polygon':
        return svg('polygon', { ...paint, points: pairs(p) });
      case 'polyline':
        return svg('polyline', { ...paint, points: pairs(p), class: 'open' });
      case 'ellipse':
        return svg('ellipse', { ...paint, cx: p[0], cy: p[1], rx: Math.abs(p[2] - p[0]), ry: Math.abs(p[1] - p[3]) });
      case 'cuboid':
        return svg('polygon', { ...paint, points: pairs(p.slice(0, 8)) });
      case 'mask': {
        const [left, top, right, bottom] = p.slice(-4);
        return svg('rect', { ...paint, x: left, y: top, width: right - left + 1, height: bottom - top + 1, class: 'mask' });
      }
      case 'points':
      case 'skeleton': {
        const group = svg('g', { ...paint });
        const dots = shape.type === 'points' ? [p] : (shape.elements || []).filter((e) => !e.outside).map((e) => e.points || []);
        for (const list of dots) {
          for (let i = 0; i + 1 < list.length; i += 2) group.append(svg('circle', { cx: list[i], cy: list[i + 1], r: radius }));
        }
        return group;
      }
      default:
        return null;
    }
  }

  /** Image coordinates of a pointer event. */
  point(event) {
    const rect = this.svg.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) * this.width) / Math.max(rect.width, 1),
      ((event.clientY - rect.top) * this.height) / Math.max(rect.height, 1),
    ];
  }

  itemAt(event) {
    const node = event.target instanceof Element ? event.target.closest('[data-key]') : null;
    return node ? this.items.find((item) => String(item.key) === node.dataset.key) || null : null;
  }

  down(event) {
    if (event.button !== 0 || this.gesture) return;
    event.preventDefault(); // no text selection or image drag; so move the focus here ourselves
    this.box.focus({ preventScroll: true }); // shortcuts work again after a select or the Frame box
    const start = this.point(event);
    if (this.drawing) {
      const node = svg('rect', { class: 'annot-draft', 'vector-effect': 'non-scaling-stroke', x: start[0], y: start[1], width: 0, height: 0 });
      this.svg.append(node);
      this.gesture = { kind: 'draw', start, end: start, node, screen: [event.clientX, event.clientY] };
    } else {
      const item = this.itemAt(event);
      this.callbacks.onSelect(item);
      if (!item?.editable) return;
      this.gesture = { kind: 'move', start, item, original: item.shape.points.slice(), node: this.svg.querySelector(`[data-key="${item.key}"]`), screen: [event.clientX, event.clientY], moved: false };
    }
    this.svg.setPointerCapture?.(event.pointerId);
  }

  move(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    const [x, y] = this.point(event);
    if (gesture.kind === 'draw') {
      gesture.end = [x, y];
      const [x1, y1, x2, y2] = clampBox([...gesture.start, x, y], this.width, this.height);
      for (const [key, value] of Object.entries({ x: x1, y: y1, width: x2 - x1, height: y2 - y1 })) gesture.node.setAttribute(key, String(value));
      return;
    }
    const points = this.shifted(gesture, x, y);
    gesture.moved = gesture.moved || Math.hypot(event.clientX - gesture.screen[0], event.clientY - gesture.screen[1]) >= MIN_SCREEN_PX;
    if (gesture.moved && gesture.node) {
      gesture.node.setAttribute('x', String(points[0]));
      gesture.node.setAttribute('y', String(points[1]));
      gesture.node.removeAttribute('transform');
    }
  }

  /** The moved rectangle, kept whole inside the image. */
  shifted(gesture, x, y) {
    const [x1, y1, x2, y2] = gesture.original;
    const dx = Math.min(Math.max(x - gesture.start[0], -x1), this.width - x2);
    const dy = Math.min(Math.max(y - gesture.start[1], -y1), this.height - y2);
    return clampBox([x1 + dx, y1 + dy, x2 + dx, y2 + dy], this.width, this.height);
  }

  up(event) {
    const gesture = this.gesture;
    if (!gesture) return;
    this.gesture = null;
    this.svg.releasePointerCapture?.(event.pointerId);
    const [x, y] = this.point(event);
    if (gesture.kind === 'draw') {
      gesture.node.remove();
      const screenW = Math.abs(event.clientX - gesture.screen[0]);
      const screenH = Math.abs(event.clientY - gesture.screen[1]);
      const box = clampBox([...gesture.start, x, y], this.width, this.height);
      const big = screenW >= MIN_SCREEN_PX && screenH >= MIN_SCREEN_PX && box[2] - box[0] >= 1 && box[3] - box[1] >= 1;
      this.callbacks.onDraw(big ? box : null);
    } else if (gesture.moved) {
      this.callbacks.onMove(gesture.item, this.shifted(gesture, x, y));
    }
  }

  cancel() {
    if (!this.gesture) return;
    if (this.gesture.kind === 'draw') this.gesture.node.remove();
    this.gesture = null;
    this.render(this.items, this.selected);
  }
}
