// Shapes this view shows but does not edit: cuboids, masks and skeletons. They are
// drawn for context and sent back exactly as loaded.

import { svgPoints } from '../geometry.js';
import { svg } from '../svg.js';

const readOnly = (type, node) => ({ type, title: type[0].toUpperCase() + type.slice(1), readOnly: true, node });

export const cuboid = readOnly('cuboid', (shape) => svg('g', {},
  svg('polygon', { points: svgPoints(shape.points.slice(0, 8)) }),
  svg('polygon', { points: svgPoints(shape.points.slice(8, 16)), class: 'open' })));

export const mask = readOnly('mask', (shape) => {
  const [left, top, right, bottom] = shape.points.slice(-4);
  return svg('rect', { x: left, y: top, width: right - left + 1, height: bottom - top + 1, class: 'mask' });
});

export const skeleton = readOnly('skeleton', (shape) => svg('g', { class: 'points' },
  ...(shape.elements || [])
    .filter((element) => !element.outside && (element.points || []).length >= 2)
    .map((element) => svg('circle', { cx: element.points[0], cy: element.points[1], class: 'annot-point' }))));
