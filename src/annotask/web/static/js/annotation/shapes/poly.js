// Shapes made of vertices: polygon, polyline and points. Drawn by clicking the
// vertices and finished with N or a double click; vertices are dragged, a new one is
// pulled out of the small handle in the middle of an edge, and Alt+click (or a
// right click) on a vertex removes it.

import { clamp, round2, svgPoints, toPairs } from '../geometry.js';
import { svg } from '../svg.js';

function makeTool({ type, title, minPoints, closed, edges }) {
  return {
    type,
    title,
    draw: 'clicks',
    minPoints,

    node(shape) {
      if (type === 'points') {
        return svg('g', { class: 'points' }, ...toPairs(shape.points).map(([cx, cy]) => svg('circle', { cx, cy, class: 'annot-point' })));
      }
      return svg(closed ? 'polygon' : 'polyline', { points: svgPoints(shape.points), class: closed ? null : 'open' });
    },

    handles(shape) {
      const vertices = toPairs(shape.points);
      const handles = vertices.map(([x, y], index) => ({ id: `v${index}`, kind: 'vertex', index, x, y }));
      if (!edges) return handles;
      const count = closed ? vertices.length : vertices.length - 1;
      for (let index = 0; index < count; index += 1) {
        const [x1, y1] = vertices[index];
        const [x2, y2] = vertices[(index + 1) % vertices.length];
        handles.push({ id: `m${index}`, kind: 'insert', index, x: (x1 + x2) / 2, y: (y1 + y2) / 2 });
      }
      return handles;
    },

    /** A vertex dragged to `point` (an `insert` handle was turned into a vertex first). */
    drag(shape, handle, [x, y], image) {
      const points = shape.points.slice();
      points[handle.index * 2] = round2(clamp(x, 0, image.width));
      points[handle.index * 2 + 1] = round2(clamp(y, 0, image.height));
      return { points };
    },

    /** Points with a new vertex after vertex `index`, at `point`. */
    insertVertex(shape, index, [x, y]) {
      const points = shape.points.slice();
      points.splice((index + 1) * 2, 0, round2(x), round2(y));
      return { points };
    },

    /** Points without vertex `index`, or null when the shape would have too few. */
    removeVertex(shape, index) {
      if (shape.points.length / 2 <= minPoints) return null;
      const points = shape.points.slice();
      points.splice(index * 2, 2);
      return { points };
    },

    /** The finished drawing, or null when it has too few vertices. */
    fromClicks(points) {
      return points.length / 2 >= minPoints ? { points: points.map(round2), rotation: 0 } : null;
    },
  };
}

export const polygon = makeTool({ type: 'polygon', title: 'Polygon', minPoints: 3, closed: true, edges: true });
export const polyline = makeTool({ type: 'polyline', title: 'Polyline', minPoints: 2, closed: false, edges: true });
export const points = makeTool({ type: 'points', title: 'Points', minPoints: 1, closed: false, edges: false });
