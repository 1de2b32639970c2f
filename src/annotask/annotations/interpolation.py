"""Track interpolation, as CVAT's server computes it for export and merging.

A reimplementation of ``TrackManager.get_interpolated_shapes``
(cvat/apps/dataset_manager/annotation.py):

- Keyframes are taken in frame order. Mutable attributes missing on a keyframe
  are carried over from the previous one.
- Between a visible keyframe and the next one, frames are interpolated:
  rectangles, ellipses, cuboids and skeletons linearly; polygons and polylines
  with CVAT's curve-resampling algorithm (``_resample_polyshape``), which copes
  with different point counts; rotation along the shorter arc.
- A keyframe with ``outside`` ends the visible span: no frames are produced
  after it until the next keyframe. The outside keyframe itself is returned,
  because it marks the end of the span.
- After the last keyframe, a visible shape is propagated up to ``stop_frame``.

Deviations, all deliberate:

- ``points`` shapes: CVAT interpolates only single points and copies the left
  keyframe otherwise; we interpolate point by point whenever both keyframes have
  the same number of points (and copy the left keyframe when they do not).
- Rotation by exactly 180 degrees: CVAT's arc helper turns that into a
  1-degree step (an arithmetic slip); we turn by -180 degrees.
- Masks are never interpolated: the left keyframe is repeated, as for CVAT's
  unsupported cases.
- 3D cuboid angles are interpolated linearly like the other values, which is
  what CVAT ends up doing too (its 3D branch is overwritten by the linear one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from annotask.annotations.model import Track, TrackedShape

Point = tuple[float, float]


def interpolate_track(
    track: Track,
    stop_frame: int,
    *,
    include_outside: bool = False,
    frames: set[int] | None = None,
) -> list[TrackedShape]:
    """Every shape of ``track`` from its first frame to ``stop_frame`` (inclusive).

    Keyframes come back with ``keyframe=True``, generated frames with False.
    Outside keyframes are always included; generated outside frames only with
    ``include_outside``. ``frames`` restricts the output to those frame numbers.
    The track is not modified: the result holds copies.
    """
    end = stop_frame + 1
    result: list[TrackedShape] = []
    previous: TrackedShape | None = None
    for source in sorted(track.shapes, key=lambda s: s.frame):
        shape = replace(
            source, keyframe=True, points=list(source.points), attributes=list(source.attributes)
        )
        if previous is not None:
            if shape.frame <= previous.frame:
                raise ValueError(f"track keyframes are not increasing at frame {shape.frame}")
            known = {a.spec_id for a in shape.attributes}
            shape.attributes.extend(a for a in previous.attributes if a.spec_id not in known)
            if not previous.outside or include_outside:
                result.extend(_between(previous, shape))
        result.append(shape)
        previous = shape
        if shape.frame >= end:
            break  # frames up to the next keyframe after the end are already generated
    if previous is not None and (not previous.outside or include_outside):
        result.extend(_copy(previous, f) for f in range(previous.frame + 1, end))
    return [
        shape
        for shape in result
        if track.frame <= shape.frame < end
        and (shape.keyframe or not shape.outside or include_outside)
        and (frames is None or shape.frame in frames)
    ]


def _copy(
    shape: TrackedShape,
    frame: int,
    points: list[float] | None = None,
    rotation: float | None = None,
) -> TrackedShape:
    return replace(
        shape,
        frame=frame,
        keyframe=False,
        id=None,
        points=list(shape.points) if points is None else points,
        rotation=shape.rotation if rotation is None else rotation,
        attributes=list(shape.attributes),
    )


def _between(left: TrackedShape, right: TrackedShape) -> list[TrackedShape]:
    """The generated shapes strictly between two keyframes."""
    if left.type != right.type:
        raise ValueError(f"cannot interpolate {left.type} into {right.type}")
    kind = left.type
    frames = range(left.frame + 1, right.frame)
    distance = right.frame - left.frame
    if kind in ("rectangle", "ellipse", "cuboid", "skeleton") or (
        kind == "points" and len(left.points) == len(right.points)
    ):
        return [_linear(left, right, f, (f - left.frame) / distance) for f in frames]
    if kind in ("polygon", "polyline"):
        return [_polyshape(left, right, f, (f - left.frame) / distance) for f in frames]
    return [_copy(left, f) for f in frames]  # masks; points with different counts


def angle_difference(right: float, left: float) -> float:
    """Signed turn from ``left`` to ``right`` along the shorter arc, in [-180, 180)."""
    return ((right - left + 180) % 360) - 180


def _linear(left: TrackedShape, right: TrackedShape, frame: int, offset: float) -> TrackedShape:
    points = [a + (b - a) * offset for a, b in zip(left.points, right.points, strict=True)]
    rotation = (
        left.rotation + angle_difference(right.rotation, left.rotation) * offset + 360
    ) % 360
    return _copy(left, frame, points, rotation)


def _polyshape(left: TrackedShape, right: TrackedShape, frame: int, offset: float) -> TrackedShape:
    left_points = _pairs(left.points)
    right_points = _pairs(right.points)
    closed = left.type == "polygon"
    if closed:  # resample the closed outline, then drop the closing point again
        left_points.append(left_points[0])
        right_points.append(right_points[0])
    resampled = _resample_polyshape(left_points, right_points, offset)
    if closed:
        resampled = resampled[:-1]
    return _copy(left, frame, [c for point in resampled for c in point])


def _pairs(values: Sequence[float]) -> list[Point]:
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def _distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _curve_length(points: Sequence[Point]) -> float:
    return sum(_distance(points[i - 1], points[i]) for i in range(1, len(points)))


def _relative_positions(points: Sequence[Point]) -> list[float]:
    """Where each point lies along the curve, as a fraction of its length."""
    length = _curve_length(points)
    if length == 0:
        return [0.0] * len(points)
    positions = [0.0]
    travelled = 0.0
    for i in range(1, len(points)):
        travelled += _distance(points[i - 1], points[i])
        positions.append(travelled / length)
    return positions


def _nearest(value: float, positions: Sequence[float]) -> int:
    """Index of the position closest to ``value``; the first one on ties."""
    best, best_distance = 0, abs(value - positions[0])
    for i in range(1, len(positions)):
        distance = abs(value - positions[i])
        if distance < best_distance:
            best, best_distance = i, distance
    return best


def _resample_polyshape(left: list[Point], right: list[Point], offset: float) -> list[Point]:
    """CVAT's polyline morphing between outlines of any point counts.

    Every left point is paired with the right point nearest along the curve;
    right points left over join their nearest left point. Each pair is moved
    linearly, then runs of generated points that crowd together (closer than
    half the average segment length of the run they came from) are thinned out,
    and a run that collapses entirely becomes its average point.
    """
    left_positions = _relative_positions(left)
    right_positions = _relative_positions(right)
    matching = [[_nearest(p, right_positions)] for p in left_positions]
    matched = {m[0] for m in matching}
    for j, position in enumerate(right_positions):
        if j not in matched:
            matching[_nearest(position, left_positions)].append(j)
    for pairs in matching:
        pairs.sort()

    moved: list[Point] = []
    first_index: list[int] = []  # index into ``moved`` of each left point's first pair
    last_index: list[int] = []
    for i, pairs in enumerate(matching):
        first_index.append(len(moved))
        lx, ly = left[i]
        for j in pairs:
            rx, ry = right[j]
            moved.append((lx + (rx - lx) * offset, ly + (ry - ly) * offset))
        last_index.append(len(moved) - 1)

    reduced: list[Point] = []

    def thin(base_length: float, count: int, start: int, stop: int) -> None:
        threshold = base_length / (2 * count)
        kept = [moved[start]]
        latest = start
        for k in range(start + 1, stop):
            if _distance(moved[latest], moved[k]) >= threshold:
                kept.append(moved[k])
                latest = k
        kept.append(moved[stop])
        if len(kept) == 2 and _distance(moved[start], moved[stop]) < threshold:
            kept = [(sum(p[0] for p in kept) / 2, sum(p[1] for p in kept) / 2)]
        reduced.extend(kept)

    def left_run(start: int, stop: int) -> None:
        """Left points start..stop that all went to one right point."""
        a, b = first_index[start], first_index[stop]
        if a == b:
            reduced.append(moved[a])
            return
        thin(_curve_length(left[start : stop + 1]), stop - start + 1, a, b)

    def right_run(i: int) -> None:
        """One left point that took several right points."""
        start, stop = matching[i][0], matching[i][-1]
        thin(
            _curve_length(right[start : stop + 1]),
            stop - start + 1,
            first_index[i],
            last_index[i],
        )

    opened: int | None = None
    for i, pairs in enumerate(matching):
        if len(pairs) == 1:
            if opened is None:
                opened = i
            elif pairs[0] != matching[opened][0]:
                left_run(opened, i - 1)
                opened = i
        else:
            if opened is not None:
                left_run(opened, i - 1)
                opened = None
            right_run(i)
    if opened is not None:
        left_run(opened, len(left) - 1)
    return reduced
