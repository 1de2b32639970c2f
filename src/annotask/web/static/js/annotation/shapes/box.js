// Handles shared by the shapes drawn as a (rotatable) box: rectangle and ellipse.
// A resize keeps the opposite side fixed on screen even when the box is rotated.

import { center, normalizeBox, rotatePoint, round2 } from '../geometry.js';

const ROTATE_GAP_PX = 28;
const MIN_SIZE = 1;

/** Corner, edge and rotation handles of `box` turned by `rotation`, for a view at `scale`. */
export function boxHandles(box, rotation, scale) {
  const [x1, y1, x2, y2] = box;
  const [cx, cy] = center(box);
  const local = {
    nw: [x1, y1], n: [cx, y1], ne: [x2, y1], e: [x2, cy],
    se: [x2, y2], s: [cx, y2], sw: [x1, y2], w: [x1, cy],
    rotate: [cx, y1 - ROTATE_GAP_PX / scale],
  };
  return Object.entries(local).map(([id, p]) => {
    const [x, y] = rotatePoint(p, [cx, cy], rotation);
    return { id, kind: id === 'rotate' ? 'rotate' : 'resize', x, y };
  });
}

/** `box` after dragging handle `id` to `point`; rotation stays. */
export function resizeBox(box, rotation, id, point, image) {
  const c0 = center(box);
  const [lx, ly] = rotatePoint(point, c0, -rotation);
  let [x1, y1, x2, y2] = box;
  if (id.includes('w')) x1 = Math.min(lx, x2 - MIN_SIZE);
  if (id.includes('e')) x2 = Math.max(lx, x1 + MIN_SIZE);
  if (id.includes('n')) y1 = Math.min(ly, y2 - MIN_SIZE);
  if (id.includes('s')) y2 = Math.max(ly, y1 + MIN_SIZE);
  if (!rotation) return normalizeBox([x1, y1, x2, y2], image.width, image.height);
  const [cx, cy] = rotatePoint(center([x1, y1, x2, y2]), c0, rotation);
  const w = (x2 - x1) / 2;
  const h = (y2 - y1) / 2;
  return [cx - w, cy - h, cx + w, cy + h].map(round2);
}

/** The rotation (degrees, [0, 360)) that points the box's top towards `point`. */
export function rotationTowards(box, [px, py]) {
  const [cx, cy] = center(box);
  const degrees = (Math.atan2(py - cy, px - cx) * 180) / Math.PI + 90;
  return round2(((degrees % 360) + 360) % 360);
}

/** A handle drag on a box shape: `{box, rotation}` after it. */
export function dragBox(box, rotation, handle, point, image) {
  if (handle.id === 'rotate') return { box, rotation: rotationTowards(box, point) };
  return { box: resizeBox(box, rotation, handle.id, point, image), rotation };
}

