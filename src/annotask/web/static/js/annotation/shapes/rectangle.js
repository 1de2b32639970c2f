// Rectangle: points [x1, y1, x2, y2] plus a rotation around its centre.
// Drawn by a drag or two clicks; eight resize handles and a rotation handle.

import { center, normalizeBox } from '../geometry.js';
import { svg } from '../svg.js';
import { boxHandles, dragBox } from './box.js';

export default {
  type: 'rectangle',
  title: 'Rectangle',
  draw: 'box',
  rotates: true,

  fromBox(box, image) {
    return { points: normalizeBox(box, image.width, image.height), rotation: 0 };
  },

  node(shape) {
    const [x1, y1, x2, y2] = shape.points;
    const [cx, cy] = center(shape.points);
    return svg('rect', {
      x: x1, y: y1, width: Math.max(0, x2 - x1), height: Math.max(0, y2 - y1),
      transform: shape.rotation ? `rotate(${shape.rotation} ${cx} ${cy})` : null,
    });
  },

  handles(shape, scale) {
    return boxHandles(shape.points, shape.rotation || 0, scale);
  },

  drag(shape, handle, point, image) {
    const { box, rotation } = dragBox(shape.points, shape.rotation || 0, handle, point, image);
    return { points: box, rotation };
  },
};
