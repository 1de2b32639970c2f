// Track interpolation in the browser, exactly as the server computes it for exports
// (src/annotask/annotations/interpolation.py, itself CVAT's
// TrackManager.get_interpolated_shapes): the view must show on a frame between two
// keyframes what "CVAT for images 1.1" will export for it. Both implementations are
// checked against one set of vectors (tests/annotations/interpolation_vectors.json,
// by tests/annotations/test_interpolation_vectors.py and tests/ui/test_interpolation_js.py),
// so they cannot drift apart. Keep the order of floating-point operations as in Python.
//
// - Keyframes in frame order; mutable attributes missing on a keyframe are carried over
//   from the previous one.
// - Rectangles, ellipses, cuboids, skeletons (and points of equal counts) linearly,
//   rotation along the shorter arc; polygons and polylines by CVAT's curve resampling;
//   masks and points of different counts repeat the left keyframe.
// - An outside keyframe ends the visible span until the next keyframe; after the last
//   visible keyframe the shape is held up to the stop frame.

/** Python's floored modulo (JS `%` truncates). */
const mod = (a, n) => ((a % n) + n) % n;

/** Signed turn from `left` to `right` along the shorter arc, in [-180, 180). */
export const angleDifference = (right, left) => mod(right - left + 180, 360) - 180;

const byFrame = (a, b) => a.frame - b.frame;

function copy(shape, frame, points = null, rotation = null) {
  const { id: _id, ...rest } = shape;
  return {
    ...rest,
    frame,
    keyframe: false,
    points: points === null ? [...shape.points] : points,
    rotation: rotation === null ? (shape.rotation ?? 0) : rotation,
    attributes: [...(shape.attributes || [])],
  };
}

/** Keyframes in order with mutable attributes carried over (copies; the track is untouched). */
function keyframes(track) {
  const out = [];
  let previous = null;
  for (const source of [...(track.shapes || [])].sort(byFrame)) {
    const shape = { ...source, keyframe: true, points: [...source.points], attributes: [...(source.attributes || [])] };
    if (previous) {
      if (shape.frame <= previous.frame) throw new Error(`track keyframes are not increasing at frame ${shape.frame}`);
      const known = new Set(shape.attributes.map((a) => a.spec_id));
      shape.attributes.push(...previous.attributes.filter((a) => !known.has(a.spec_id)));
    }
    out.push(shape);
    previous = shape;
  }
  return out;
}

function linear(left, right, frame, offset) {
  const points = left.points.map((a, i) => a + (right.points[i] - a) * offset);
  const l = left.rotation ?? 0;
  const rotation = mod(l + angleDifference(right.rotation ?? 0, l) * offset + 360, 360);
  return copy(left, frame, points, rotation);
}

/** The generated shape on `frame`, strictly between keyframes `left` and `right`. */
function between(left, right, frame) {
  if (left.type !== right.type) throw new Error(`cannot interpolate ${left.type} into ${right.type}`);
  const kind = left.type;
  const offset = (frame - left.frame) / (right.frame - left.frame);
  if (['rectangle', 'ellipse', 'cuboid', 'skeleton'].includes(kind) || (kind === 'points' && left.points.length === right.points.length)) {
    return linear(left, right, frame, offset);
  }
  if (kind === 'polygon' || kind === 'polyline') return polyshape(left, right, frame, offset);
  return copy(left, frame);
}

/**
 * Every shape of `track` from its first frame to `stopFrame` (inclusive), as the
 * server's `interpolate_track`: keyframes with `keyframe: true`, generated ones false.
 */
export function interpolateTrack(track, stopFrame, { includeOutside = false } = {}) {
  const end = stopFrame + 1;
  const result = [];
  let previous = null;
  for (const shape of keyframes(track)) {
    if (previous && (!previous.outside || includeOutside)) {
      for (let f = previous.frame + 1; f < shape.frame; f += 1) result.push(between(previous, shape, f));
    }
    result.push(shape);
    previous = shape;
    if (shape.frame >= end) break;
  }
  if (previous && (!previous.outside || includeOutside)) {
    for (let f = previous.frame + 1; f < end; f += 1) result.push(copy(previous, f));
  }
  return result.filter((s) => track.frame <= s.frame && s.frame < end && (s.keyframe || !s.outside || includeOutside));
}

/**
 * The track's state on one frame, without generating the others: `{shape, keyframe}`
 * where `shape` is what `interpolateTrack(..., {includeOutside: true})` gives for that
 * frame (outside after an outside keyframe), or null before the track's start or past
 * `stopFrame`. `keyframe` is the keyframe at that frame (the track's own object).
 */
export function stateAt(track, frame, stopFrame = Infinity) {
  if (frame < track.frame || frame > stopFrame) return { shape: null, keyframe: null };
  const sorted = [...(track.shapes || [])].sort(byFrame);
  const own = sorted.find((s) => s.frame === frame) || null;
  const frames = keyframes({ shapes: sorted });
  let left = null;
  let right = null;
  for (const shape of frames) {
    if (shape.frame <= frame) left = shape;
    else {
      right = shape;
      break;
    }
  }
  if (!left) return { shape: null, keyframe: null };
  if (left.frame === frame) return { shape: left, keyframe: own };
  // After an outside keyframe: what `includeOutside` gives (an outside shape, listed, not drawn).
  return { shape: right ? between(left, right, frame) : copy(left, frame), keyframe: null };
}

/** The shape to draw on `frame`: visible (not outside), or null. */
export function shapeAt(track, frame, stopFrame = Infinity) {
  const { shape } = stateAt(track, frame, stopFrame);
  return shape && !shape.outside ? shape : null;
}

// ---- CVAT's polyline morphing -----------------------------------------------------------

function polyshape(left, right, frame, offset) {
  const leftPoints = pairs(left.points);
  const rightPoints = pairs(right.points);
  const closed = left.type === 'polygon';
  if (closed) {
    leftPoints.push(leftPoints[0]);
    rightPoints.push(rightPoints[0]);
  }
  let resampled = resamplePolyshape(leftPoints, rightPoints, offset);
  if (closed) resampled = resampled.slice(0, -1);
  return copy(left, frame, resampled.flat());
}

function pairs(values) {
  const out = [];
  for (let i = 0; i < values.length - 1; i += 2) out.push([values[i], values[i + 1]]);
  return out;
}

const distance = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1]);

function curveLength(points) {
  let sum = 0;
  for (let i = 1; i < points.length; i += 1) sum += distance(points[i - 1], points[i]);
  return sum;
}

function relativePositions(points) {
  const length = curveLength(points);
  if (length === 0) return points.map(() => 0);
  const positions = [0];
  let travelled = 0;
  for (let i = 1; i < points.length; i += 1) {
    travelled += distance(points[i - 1], points[i]);
    positions.push(travelled / length);
  }
  return positions;
}

function nearest(value, positions) {
  let best = 0;
  let bestDistance = Math.abs(value - positions[0]);
  for (let i = 1; i < positions.length; i += 1) {
    const d = Math.abs(value - positions[i]);
    if (d < bestDistance) {
      best = i;
      bestDistance = d;
    }
  }
  return best;
}

function resamplePolyshape(left, right, offset) {
  const leftPositions = relativePositions(left);
  const rightPositions = relativePositions(right);
  const matching = leftPositions.map((p) => [nearest(p, rightPositions)]);
  const matched = new Set(matching.map((m) => m[0]));
  rightPositions.forEach((position, j) => {
    if (!matched.has(j)) matching[nearest(position, leftPositions)].push(j);
  });
  for (const list of matching) list.sort((a, b) => a - b);

  const moved = [];
  const firstIndex = [];
  const lastIndex = [];
  matching.forEach((list, i) => {
    firstIndex.push(moved.length);
    const [lx, ly] = left[i];
    for (const j of list) {
      const [rx, ry] = right[j];
      moved.push([lx + (rx - lx) * offset, ly + (ry - ly) * offset]);
    }
    lastIndex.push(moved.length - 1);
  });

  const reduced = [];
  const thin = (baseLength, count, start, stop) => {
    const threshold = baseLength / (2 * count);
    let kept = [moved[start]];
    let latest = start;
    for (let k = start + 1; k < stop; k += 1) {
      if (distance(moved[latest], moved[k]) >= threshold) {
        kept.push(moved[k]);
        latest = k;
      }
    }
    kept.push(moved[stop]);
    if (kept.length === 2 && distance(moved[start], moved[stop]) < threshold) {
      kept = [[(0 + kept[0][0] + kept[1][0]) / 2, (0 + kept[0][1] + kept[1][1]) / 2]];
    }
    reduced.push(...kept);
  };
  const leftRun = (start, stop) => {
    const a = firstIndex[start];
    const b = firstIndex[stop];
    if (a === b) {
      reduced.push(moved[a]);
      return;
    }
    thin(curveLength(left.slice(start, stop + 1)), stop - start + 1, a, b);
  };
  const rightRun = (i) => {
    const start = matching[i][0];
    const stop = matching[i][matching[i].length - 1];
    thin(curveLength(right.slice(start, stop + 1)), stop - start + 1, firstIndex[i], lastIndex[i]);
  };

  let opened = null;
  matching.forEach((list, i) => {
    if (list.length === 1) {
      if (opened === null) opened = i;
      else if (list[0] !== matching[opened][0]) {
        leftRun(opened, i - 1);
        opened = i;
      }
    } else {
      if (opened !== null) {
        leftRun(opened, i - 1);
        opened = null;
      }
      rightRun(i);
    }
  });
  if (opened !== null) leftRun(opened, left.length - 1);
  return reduced;
}
