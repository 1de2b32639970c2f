// The shape tools of the annotation view. A tool is one module describing one shape
// type; adding a type means adding a module here. A tool has:
//   type, title        CVAT's shape type and its display name
//   draw               'box' (a drag or two clicks give a box) or 'clicks' (vertices)
//   fromBox(box, image) / fromClicks(points)   -> {points, rotation} of a new shape, or null
//   node(shape)        -> the SVG element showing it (image coordinates)
//   handles(shape, scale) -> [{id, kind, x, y, index?}] edit handles of the selected shape
//   drag(shape, handle, point, image) -> {points, rotation?} after dragging a handle
//   insertVertex / removeVertex (optional) vertex editing
//   readOnly           shown but never edited (its data is sent back unchanged)

import ellipse from './ellipse.js';
import { points, polygon, polyline } from './poly.js';
import { cuboid, mask, skeleton } from './readonly.js';
import rectangle from './rectangle.js';

export const TOOLS = new Map([rectangle, polygon, polyline, points, ellipse].map((tool) => [tool.type, tool]));
const ALL = new Map([...TOOLS, ...[cuboid, mask, skeleton].map((tool) => [tool.type, tool])]);

export const toolFor = (type) => ALL.get(type) || null;

export const isEditableType = (type) => TOOLS.has(type);
