"""Task-level annotations from per-job ones, and back (task-semantics 7).

``merge`` folds one job's annotations into the accumulated task view the way
CVAT's ``AnnotationManager.merge`` does, so objects annotated twice in the
overlap of two jobs come out once. Jobs are merged in job-id order with the
job's segment start as ``start_frame``; :func:`merge_jobs` does the loop.

For one incoming job with ``s = start_frame`` and ``o = overlap``: objects on
frames >= s+o are appended as they are; the others are matched against the
accumulated objects from frame s on with the Hungarian algorithm, a pair is
united when its cost ``1 - similarity`` is within the threshold, and what is
left is appended. Tags match by label (cost <= 0.25); shapes by IoU (<= 0.25,
i.e. IoU >= 0.75) for rectangles, polygons and 3D cuboids only; tracks by their
averaged similarity over [s, s+o) (<= 0.5), and an unmatched accumulated track
that is still visible is closed by an ``outside`` keyframe at s+o.

Deviations from CVAT, all fixes of data loss or duplication:

- When two tracks unite, their skeleton elements are united too (by sublabel,
  keyframes as for the parent); CVAT keeps only the earlier track's elements.
- The united track replaces the accumulated one in place even when the
  incoming track starts earlier; CVAT then drops the union.
- An incoming track that already ended before s is kept; CVAT drops it when
  other tracks are being matched (it cannot happen with real job data).
- Slicing never emits the same outside keyframe twice (CVAT can, when a track
  ends inside the job right after another keyframe).

``slice_for_job`` is the reverse, for task-level writes (CVAT's
``AnnotationIR.slice``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from annotask.annotations.interpolation import interpolate_track
from annotask.annotations.model import AnnotationSet, Shape, Tag, Track, TrackedShape

if TYPE_CHECKING:
    from shapely import geometry

# NumPy, SciPy and Shapely are imported where a merge needs them (~60 MB and ~0.4 s
# a process): a web process that never merges jobs does not load them.

TAG_THRESHOLD = 0.25
SHAPE_THRESHOLD = 0.25
TRACK_THRESHOLD = 0.5

T = TypeVar("T", Tag, Shape, Track)


def merge(
    accumulated: AnnotationSet,
    job_data: AnnotationSet,
    start_frame: int,
    overlap: int,
    *,
    dimension: str = "2d",
) -> AnnotationSet:
    """``accumulated`` with one more job folded in; the inputs are not modified."""
    result = accumulated.copy()
    merge_into(result, job_data.copy(), start_frame, overlap, dimension=dimension)
    return result


def merge_jobs(
    jobs: Iterable[tuple[AnnotationSet, int]], overlap: int, *, dimension: str = "2d"
) -> AnnotationSet:
    """The task view of ``(job annotations, segment start)`` pairs given in job-id order."""
    result = AnnotationSet()
    for data, start_frame in jobs:
        merge_into(result, data.copy(), start_frame, overlap, dimension=dimension)
    return result


def merge_into(
    target: AnnotationSet,
    job_data: AnnotationSet,
    start_frame: int,
    overlap: int,
    *,
    dimension: str = "2d",
) -> None:
    """In-place ``merge``: ``target`` is changed and takes over ``job_data``'s objects."""
    _merge_objects(
        target.tags,
        job_data.tags,
        start_frame,
        overlap,
        similarity=lambda a, b: 1.0 if a.label_id == b.label_id else 0.0,
        threshold=TAG_THRESHOLD,
        unite=_unite_plain,
    )
    _merge_objects(
        target.shapes,
        job_data.shapes,
        start_frame,
        overlap,
        similarity=lambda a, b: shape_similarity(a, b, dimension),
        threshold=SHAPE_THRESHOLD,
        unite=_unite_plain,
    )
    _merge_tracks(target.tracks, job_data.tracks, start_frame, overlap, dimension)


def _by_frame(objects: Iterable[T], start_frame: int) -> dict[int, list[T]]:
    grouped: dict[int, list[T]] = {}
    for obj in objects:
        if obj.frame >= start_frame:
            grouped.setdefault(obj.frame, []).append(obj)
    return grouped


def _match(
    candidates: Sequence[T],
    old: Sequence[T],
    similarity: Callable[[T, T], float],
    threshold: float,
) -> list[tuple[int, int]]:
    """Hungarian assignment of candidates to old objects, pairs within the threshold."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    cost = np.empty((len(candidates), len(old)), dtype=float)
    for i, candidate in enumerate(candidates):
        for j, existing in enumerate(old):
            cost[i, j] = 1 - similarity(candidate, existing)
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] <= threshold]


def _merge_objects(
    target: list[T],
    incoming: list[T],
    start_frame: int,
    overlap: int,
    *,
    similarity: Callable[[T, T], float],
    threshold: float,
    unite: Callable[[T, T], T],
) -> None:
    end = start_frame + overlap
    candidates = _by_frame((obj for obj in incoming if obj.frame < end), start_frame)
    old_by_frame = _by_frame(target, start_frame)
    target.extend(obj for obj in incoming if obj.frame >= end)
    target.extend(obj for obj in incoming if obj.frame < start_frame)  # none in a real job
    for frame, frame_candidates in candidates.items():
        old = old_by_frame.get(frame)
        if not old:
            target.extend(frame_candidates)
            continue
        pairs = _match(frame_candidates, old, similarity, threshold)
        united = {i for i, _ in pairs}
        for i, j in pairs:
            _replace(target, old[j], unite(frame_candidates[i], old[j]))
        target.extend(c for i, c in enumerate(frame_candidates) if i not in united)


def _replace(objects: list[T], old: T, new: T) -> None:
    if new is not old:
        index = next(i for i, obj in enumerate(objects) if obj is old)
        objects[index] = new


def _unite_plain(candidate: T, old: T) -> T:
    """Tags and shapes: keep the one on the earlier frame, the earlier job's on a tie."""
    return candidate if candidate.frame < old.frame else old


# ---- shapes ------------------------------------------------------------------


def _iou(a: geometry.Polygon, b: geometry.Polygon) -> float:
    """Shapely IoU; 0 for an invalid or zero-area polygon (CVAT's rule)."""
    from shapely.errors import GEOSException

    try:
        if not (a.is_valid and b.is_valid) or a.area == 0 or b.area == 0:
            return 0.0
        overlap = a.intersection(b).area
    except GEOSException:
        return 0.0
    return overlap / (a.area + b.area - overlap)


def _box(x0: float, y0: float, x1: float, y1: float) -> geometry.Polygon:
    from shapely import geometry

    return geometry.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _polygon(points: Sequence[float]) -> geometry.Polygon | None:
    from shapely import geometry
    from shapely.errors import GEOSException

    try:
        return geometry.Polygon(list(zip(points[0::2], points[1::2], strict=False)))
    except (ValueError, GEOSException):
        return None


def shape_similarity(
    a: Shape | TrackedShape, b: Shape | TrackedShape, dimension: str = "2d"
) -> float:
    """CVAT's shape similarity: IoU for rectangles (rotation ignored), polygons, 3D cuboids.

    Everything else is 0, so it is never merged. Shapes must share type and label
    (tracked shapes carry no label; their tracks were compared already).
    """
    if a.type != b.type or getattr(a, "label_id", None) != getattr(b, "label_id", None):
        return 0.0
    if a.type == "rectangle" and len(a.points) == 4 and len(b.points) == 4:
        return _iou(_box(*a.points), _box(*b.points))
    if a.type == "polygon":
        pa, pb = _polygon(a.points), _polygon(b.points)
        return 0.0 if pa is None or pb is None else _iou(pa, pb)
    if a.type == "cuboid" and dimension == "3d" and len(a.points) >= 9 and len(b.points) >= 9:
        return _cuboid_similarity(a.points, b.points)
    return 0.0


def _cuboid_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Top-view IoU times side-view IoU of axis-aligned boxes around the centres."""

    from shapely import geometry

    def view(points: Sequence[float], axis: int) -> geometry.Polygon:
        cx, c2 = points[0], points[axis]
        sx, s2 = points[6], points[6 + axis]
        return geometry.box(cx - sx / 2, c2 - s2 / 2, cx + sx / 2, c2 + s2 / 2)

    return _iou(view(a, 1), view(b, 1)) * _iou(view(a, 2), view(b, 2))


# ---- tracks ------------------------------------------------------------------


def _track_candidates(tracks: Iterable[Track], start_frame: int) -> list[Track]:
    """Tracks that may continue at ``start_frame``: ending later, or never closed."""
    return [
        t
        for t in tracks
        if t.shapes and (t.shapes[-1].frame >= start_frame or not t.shapes[-1].outside)
    ]


def _interpolated(track: Track, start_frame: int, overlap: int) -> dict[int, TrackedShape]:
    return {s.frame: s for s in interpolate_track(track, start_frame + overlap - 1)}


def track_similarity(
    a: Track,
    b: Track,
    start_frame: int,
    overlap: int,
    dimension: str = "2d",
    cache: dict[int, dict[int, TrackedShape]] | None = None,
) -> float:
    """1 − mean per-frame error over [s, s+o): shape dissimilarity, or 1 when only one shows.

    ``cache`` (keyed by ``id(track)``) keeps each track's interpolation across pairs.
    """
    if a.label_id != b.label_id:
        return 0.0
    if cache is None:
        cache = {}
    for track in (a, b):
        if id(track) not in cache:
            cache[id(track)] = _interpolated(track, start_frame, overlap)
    shapes_a, shapes_b = cache[id(a)], cache[id(b)]
    if not shapes_a or not shapes_b:
        return 0.0
    count, error = 0, 0.0
    for frame in range(start_frame, start_frame + overlap):
        sa, sb = shapes_a.get(frame), shapes_b.get(frame)
        if sa is not None and sb is not None:
            if sa.outside != sb.outside:
                error += 1
            else:
                error += 1 - shape_similarity(sa, sb, dimension)
            count += 1
        elif sa is not None or sb is not None:
            error += 1
            count += 1
    return 1 - error / (count or 1)


def _unite_tracks(candidate: Track, old: Track) -> Track:
    """Keyframe union; the earlier job's keyframe wins on a shared frame."""
    track = candidate if candidate.frame < old.frame else old
    shapes: dict[int, TrackedShape] = {s.frame: s for s in candidate.shapes}
    for shape in old.shapes:
        shapes[shape.frame] = shape  # old wins ties (same frame ⇒ CVAT keeps the old one)
    track.frame = min(candidate.frame, old.frame)
    track.shapes = sorted(shapes.values(), key=lambda s: s.frame)
    elements: dict[int, Track] = {}
    for element in old.elements:
        elements[element.label_id] = element
    for element in candidate.elements:
        if element.label_id in elements:
            elements[element.label_id] = _unite_tracks(element, elements[element.label_id])
        else:
            elements[element.label_id] = element
    track.elements = sorted(elements.values(), key=lambda e: e.label_id)
    return track


def close_track(track: Track, frame: int) -> None:
    """End a still-visible track with an ``outside`` copy of its last keyframe at ``frame``."""
    last = track.shapes[-1]
    if last.outside:
        return
    track.shapes.append(
        replace(
            last,
            frame=frame,
            outside=True,
            id=None,
            keyframe=True,
            points=list(last.points),
            attributes=list(last.attributes),
        )
    )
    for element in track.elements:
        if element.shapes:
            close_track(element, frame)


def _merge_tracks(
    target: list[Track], incoming: list[Track], start_frame: int, overlap: int, dimension: str
) -> None:
    end = start_frame + overlap
    old = _track_candidates(target, start_frame)
    target.extend(t for t in incoming if t.frame >= end)
    early = [t for t in incoming if t.frame < end]
    candidates = _track_candidates(early, start_frame)
    chosen = {id(t) for t in candidates}
    target.extend(t for t in early if id(t) not in chosen)  # ended before s: nothing to match
    if not old or not candidates:
        for track in old:
            close_track(track, end)
        target.extend(candidates)
        return
    cache: dict[int, dict[int, TrackedShape]] = {}
    pairs = _match(
        candidates,
        old,
        lambda a, b: track_similarity(a, b, start_frame, overlap, dimension, cache),
        TRACK_THRESHOLD,
    )
    for i, j in pairs:
        _replace(target, old[j], _unite_tracks(candidates[i], old[j]))
    matched_new = {i for i, _ in pairs}
    matched_old = {j for _, j in pairs}
    target.extend(t for i, t in enumerate(candidates) if i not in matched_new)
    for j, track in enumerate(old):
        if j not in matched_old:
            close_track(track, end)


# ---- slicing -----------------------------------------------------------------


def _track_visible_in(track: Track, start: int, stop: int) -> bool:
    """Whether any visible span of the track touches [start, stop]."""
    previous: TrackedShape | None = None
    for shape in track.shapes:
        if (
            previous is not None
            and not previous.outside
            and min(shape.frame, stop) >= max(previous.frame, start)
        ):
            return True
        previous = shape
    return previous is not None and not previous.outside and previous.frame <= stop


def _in_range(shapes: Iterable[TrackedShape], start: int, stop: int) -> list[TrackedShape]:
    """Shapes inside [start, stop] without the leading outside ones."""
    inside = [s for s in shapes if start <= s.frame <= stop]
    while inside and inside[0].outside:
        inside.pop(0)
    return inside


def _slice_track(track: Track, start: int, stop: int) -> Track:
    result = copy.deepcopy(track)
    result.elements = [_slice_track(e, start, stop) for e in track.elements]
    kept = _in_range(copy.deepcopy(track.shapes), start, stop)
    if len(kept) < len(track.shapes):
        scoped = _in_range(interpolate_track(track, stop), start, stop)
        if scoped:
            last_key = max(s.frame for s in track.shapes)
            if not scoped[0].keyframe:
                kept.insert(0, scoped[0])  # the shape where the job begins
            if last_key >= stop and scoped[-1].points != kept[-1].points:
                kept.append(scoped[-1])  # the shape where the job ends
            elif scoped[-1].keyframe and scoped[-1].outside and scoped[-1].frame != kept[-1].frame:
                kept.append(scoped[-1])
        kept = [replace(s, keyframe=True) for s in kept]
    result.shapes = kept
    if kept:
        result.frame = kept[0].frame
    return result


def slice_for_job(task_data: AnnotationSet, start: int, stop: int) -> AnnotationSet:
    """The part of task-level annotations that belongs to a job on [start, stop] (inclusive).

    Objects on overlapped frames go into both jobs. Tracks are cut to the range:
    a track entering mid-way gets a keyframe at ``start`` with its interpolated
    shape, one still visible past ``stop`` gets its interpolated shape at ``stop``,
    and keyframes outside the range are dropped (CVAT's ``AnnotationIR.slice``).
    """
    result = AnnotationSet(version=task_data.version)
    result.tags = [copy.deepcopy(t) for t in task_data.tags if start <= t.frame <= stop]
    result.shapes = [copy.deepcopy(s) for s in task_data.shapes if start <= s.frame <= stop]
    for track in task_data.tracks:
        if track.shapes and _track_visible_in(track, start, stop):
            sliced = _slice_track(track, start, stop)
            if sliced.shapes:
                result.tracks.append(sliced)
    return result
