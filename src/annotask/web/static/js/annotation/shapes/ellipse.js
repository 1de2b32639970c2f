// Ellipse: CVAT's points [cx, cy, cx + rx, cy - ry] plus a rotation. Drawn like a
// rectangle (its bounding box), resized and rotated with the same handles.

import { normalizeBox, round2 } from '../geometry.js';
import { svg } from '../svg.js';
import { boxHandles, dragBox } from './box.js';

const toBox = ([cx, cy, x, y]) => {
  const rx = Math.abs(x - cx);
  const ry = Math.abs(cy - y);
  return [cx - rx, cy - ry, cx + rx, cy + ry];
};

const fromBox = ([x1, y1, x2, y2]) => {
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  return [cx, cy, x2, y1].map(round2);
};

export default {
  type: 'ellipse',
  title: 'Ellipse',
  draw: 'box',
  rotates: true,

  fromBox(box, image) {
    return { points: fromBox(normalizeBox(box, image.width, image.height)), rotation: 0 };
  },

  node(shape) {
    const [cx, cy] = shape.points;
    const [x1, y1, x2, y2] = toBox(shape.points);
    return svg('ellipse', {
      cx, cy, rx: (x2 - x1) / 2, ry: (y2 - y1) / 2,
      transform: shape.rotation ? `rotate(${shape.rotation} ${cx} ${cy})` : null,
    });
  },

  handles(shape, scale) {
    return boxHandles(toBox(shape.points), shape.rotation || 0, scale);
  },

  drag(shape, handle, point, image) {
    const { box, rotation } = dragBox(toBox(shape.points), shape.rotation || 0, handle, point, image);
    return { points: fromBox(box), rotation };
  },
};
