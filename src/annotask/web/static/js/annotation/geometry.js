// Plain geometry for the annotation view: image coordinates are pixels of the frame,
// rotations are degrees clockwise around a shape's centre (as CVAT stores them).

export const clamp = (value, low, high) => Math.min(Math.max(value, low), high);

/** Two decimals: what the view sends, so a reload shows exactly what was drawn. */
export const round2 = (value) => Math.round(value * 100) / 100;

/** `[x, y]` turned by `degrees` around `[cx, cy]`. */
export function rotatePoint([x, y], [cx, cy], degrees) {
  if (!degrees) return [x, y];
  const a = (degrees * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  return [cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos];
}

/** `[x1, y1, x2, y2, ...]` as `[[x1, y1], [x2, y2], ...]`. */
export function toPairs(points) {
  const out = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push([points[i], points[i + 1]]);
  return out;
}

/** The SVG `points` attribute of a flat list. */
export const svgPoints = (points) => toPairs(points).map(([x, y]) => `${x},${y}`).join(' ');

/** `[x1, y1, x2, y2]` ordered, optionally kept inside a `width`×`height` image, rounded. */
export function normalizeBox([x1, y1, x2, y2], width = Infinity, height = Infinity) {
  return [
    round2(clamp(Math.min(x1, x2), 0, width)), round2(clamp(Math.min(y1, y2), 0, height)),
    round2(clamp(Math.max(x1, x2), 0, width)), round2(clamp(Math.max(y1, y2), 0, height)),
  ];
}

export const center = ([x1, y1, x2, y2]) => [(x1 + x2) / 2, (y1 + y2) / 2];

/** Bounding box of a flat list of points. */
export function bounds(points) {
  const xs = points.filter((_, i) => i % 2 === 0);
  const ys = points.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** A flat list moved by (dx, dy), kept whole inside the image when `clampTo` is given. */
export function translate(points, dx, dy, clampTo = null) {
  if (clampTo) {
    const [x1, y1, x2, y2] = bounds(points);
    dx = clamp(dx, -x1, clampTo.width - x2);
    dy = clamp(dy, -y1, clampTo.height - y2);
  }
  return points.map((v, i) => round2(v + (i % 2 === 0 ? dx : dy)));
}
