"""Checks incoming annotations against the task's labels and frame range.

CVAT itself stores most of what it is sent and leaves the rules to its UI; we
enforce them on the server because the SDK, the CLI and scripts reach the API
directly. Every violation is reported, each under the path of the offending
field as the client sent it (``shapes[3].points``,
``tracks[0].shapes[2].attributes[1].value``), in one ``AnnotationError``.

Rules: labels and attributes must belong to the task; values must fit the input
type; on tracks, immutable attributes belong to the track object and mutable
ones to its keyframes (CVAT semantics); frames lie in ``[start, stop]``; point
counts fit the shape type; the label type admits the shape type (``any`` admits
every shape but skeletons, ``tag`` labels are for tags only); keyframes are
sorted, unique and of one type; skeleton elements are the label's sublabels,
each exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from annotask.annotations.model import (
    ATTRIBUTE_VALUE_MAX,
    SHAPE_TYPES,
    SOURCES,
    AnnotationError,
    AnnotationSet,
    Attribute,
    Shape,
    Tag,
    Track,
    TrackedShape,
)
from annotask.annotations.schema import AttributeSpec, LabelSet, LabelSpec

#: Exact value count, or (minimum, must be even) per shape type. Masks are the
#: run-length counts followed by the left, top, right, bottom of their box.
_EXACT_POINTS = {"rectangle": 4, "ellipse": 4, "cuboid": 16}
_MIN_EVEN_POINTS = {"polygon": 6, "polyline": 4, "points": 2}
_NUMBER_TOLERANCE = 1e-6


def validate_annotations(
    data: AnnotationSet, labels: LabelSet, start_frame: int, stop_frame: int
) -> None:
    """Raise ``AnnotationError`` unless every object fits the labels and ``[start, stop]``.

    A track's ``frame`` is first set to its first keyframe (``start_tracks_at_first_keyframe``).
    """
    start_tracks_at_first_keyframe(data.tracks)
    checker = _Checker(labels, start_frame, stop_frame)
    for i, tag in enumerate(data.tags):
        checker.tag(tag, f"tags[{i}]")
    for i, shape in enumerate(data.shapes):
        checker.shape(shape, f"shapes[{i}]")
    for i, track in enumerate(data.tracks):
        checker.track(track, f"tracks[{i}]")
    if checker.errors:
        raise AnnotationError(checker.errors)


def start_tracks_at_first_keyframe(tracks: Sequence[Track]) -> None:
    """Set, in place, each track's ``frame`` to its first keyframe.

    CVAT stores what it is sent, but its interpolation and exports start a track at
    its first keyframe whatever its ``frame`` says; clients (FiftyOne among them)
    send tracks whose ``frame`` is another frame. Storing the first keyframe gives
    every reader the frame CVAT in effect uses.
    """
    for track in tracks:
        if track.shapes:
            track.frame = min(shape.frame for shape in track.shapes)
        start_tracks_at_first_keyframe(track.elements)


def attribute_value_error(spec: AttributeSpec, value: str) -> str | None:
    """Why ``value`` does not fit ``spec``, or None when it does."""
    if len(value) > ATTRIBUTE_VALUE_MAX:
        return f"Ensure this field has no more than {ATTRIBUTE_VALUE_MAX} characters."
    kind = spec.input_type
    if kind in ("select", "radio"):
        if spec.values and value not in spec.values:
            return f'"{value}" is not one of the values of attribute "{spec.name}".'
    elif kind == "checkbox":
        if value not in ("true", "false"):
            return f'Attribute "{spec.name}" is a checkbox: the value must be "true" or "false".'
    elif kind == "number":
        return _number_error(spec, value)
    return None


def _number_error(spec: AttributeSpec, value: str) -> str | None:
    try:
        number = float(value)
    except ValueError:
        return f'Attribute "{spec.name}" is a number: "{value}" is not a number.'
    if not math.isfinite(number):
        return f'Attribute "{spec.name}" is a number: "{value}" is not a finite number.'
    try:
        low, high, step = (float(v) for v in spec.values)
    except ValueError:
        return None  # a malformed spec constrains nothing more
    if not low <= number <= high:
        return f'Attribute "{spec.name}" must be between {spec.values[0]} and {spec.values[1]}.'
    if step > 0:
        steps = (number - low) / step
        if abs(steps - round(steps)) > _NUMBER_TOLERANCE * max(1.0, abs(steps)):
            return (
                f'Attribute "{spec.name}" must be {spec.values[0]} plus a multiple '
                f"of {spec.values[2]}."
            )
    return None


def points_error(shape_type: str, points: Sequence[float]) -> str | None:
    """Why ``points`` cannot describe a ``shape_type``, or None when they can."""
    count = len(points)
    if any(not math.isfinite(p) for p in points):
        return "Points must be finite numbers."
    if shape_type in _EXACT_POINTS:
        expected = _EXACT_POINTS[shape_type]
        if count != expected:
            return f"A {shape_type} needs exactly {expected} values, got {count}."
    elif shape_type in _MIN_EVEN_POINTS:
        minimum = _MIN_EVEN_POINTS[shape_type]
        if count < minimum or count % 2:
            return (
                f"A {shape_type} needs an even number of values, at least {minimum}, got {count}."
            )
    elif shape_type == "mask":
        if count < 5:
            return "A mask needs its run-length counts followed by left, top, right, bottom."
        if any(p < 0 or not float(p).is_integer() for p in points):
            return "Mask values must be non-negative integers."
        left, top, right, bottom = points[-4:]
        if right < left or bottom < top:
            return "The mask box must have right >= left and bottom >= top."
    return None


def label_admits(label: LabelSpec, kind: str) -> bool:
    """Whether objects of ``kind`` (a shape type or "tag") may use ``label``."""
    if kind == "tag":
        return label.type in ("any", "tag")
    if kind == "skeleton":
        return label.type == "skeleton"
    return label.type in ("any", kind)


class _Checker:
    def __init__(self, labels: LabelSet, start: int, stop: int) -> None:
        self.labels = labels
        self.start = start
        self.stop = stop
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    # common parts

    def label(
        self, label_id: int, kind: str, path: str, parent: LabelSpec | None = None
    ) -> LabelSpec | None:
        label = self.labels.get(label_id)
        where = f"{path}.label_id"
        if label is None:
            self.fail(where, f"Label {label_id} does not belong to this task.")
            return None
        if parent is None and label.parent_id is not None:
            self.fail(
                where, f'Label "{label.name}" is a skeleton point: use it inside its skeleton.'
            )
            return None
        if parent is not None and label.parent_id != parent.id:
            self.fail(where, f'Label "{label.name}" is not a point of skeleton "{parent.name}".')
            return None
        if not label_admits(label, kind):
            what = "tags" if kind == "tag" else f"{kind} shapes"
            self.fail(where, f'Label "{label.name}" has type "{label.type}": not for {what}.')
        return label

    def frame(self, frame: int, path: str) -> None:
        if not self.start <= frame <= self.stop:
            self.fail(
                f"{path}.frame", f"Frame {frame} is outside the range {self.start}..{self.stop}."
            )

    def source(self, source: str, path: str) -> None:
        if source not in SOURCES:
            self.fail(f"{path}.source", f'"{source}" is not a valid choice.')

    def attributes(
        self,
        attributes: Sequence[Attribute],
        label: LabelSpec | None,
        path: str,
        mutable: bool | None = None,
    ) -> None:
        """Check values; ``mutable`` True/False restricts to that kind (tracks), None allows all."""
        if label is None:
            return
        seen: set[int] = set()
        for i, attr in enumerate(attributes):
            where = f"{path}.attributes[{i}]"
            spec = label.attribute(attr.spec_id)
            if spec is None:
                self.fail(
                    f"{where}.spec_id",
                    f'Attribute {attr.spec_id} does not belong to label "{label.name}".',
                )
                continue
            if attr.spec_id in seen:
                self.fail(f"{where}.spec_id", f'Attribute "{spec.name}" is given twice.')
            seen.add(attr.spec_id)
            if mutable is True and not spec.mutable:
                self.fail(
                    f"{where}.spec_id",
                    f'Attribute "{spec.name}" is immutable: set it on the track, not a keyframe.',
                )
            elif mutable is False and spec.mutable:
                self.fail(
                    f"{where}.spec_id",
                    f'Attribute "{spec.name}" is mutable: set it on the keyframes, not the track.',
                )
            problem = attribute_value_error(spec, attr.value)
            if problem:
                self.fail(f"{where}.value", problem)

    def geometry(self, shape: Shape | TrackedShape, path: str) -> None:
        if shape.type not in SHAPE_TYPES:
            self.fail(f"{path}.type", f'"{shape.type}" is not a valid choice.')
            return
        problem = points_error(shape.type, shape.points)
        if problem:
            self.fail(f"{path}.points", problem)
        if not 0 <= shape.rotation <= 360:
            self.fail(f"{path}.rotation", "Rotation must be between 0 and 360.")

    # objects

    def tag(self, tag: Tag, path: str) -> None:
        label = self.label(tag.label_id, "tag", path)
        self.frame(tag.frame, path)
        self.source(tag.source, path)
        self.attributes(tag.attributes, label, path)

    def shape(self, shape: Shape, path: str, parent: LabelSpec | None = None) -> None:
        label = self.label(shape.label_id, shape.type, path, parent)
        self.frame(shape.frame, path)
        self.source(shape.source, path)
        self.geometry(shape, path)
        self.attributes(shape.attributes, label, path)
        if parent is not None:
            return
        if shape.type == "skeleton":
            if label is not None:
                self.elements(shape.elements, label, path)
            for i, element in enumerate(shape.elements):
                if element.frame != shape.frame:
                    self.fail(
                        f"{path}.elements[{i}].frame", "An element must be on its skeleton's frame."
                    )
                self.shape(element, f"{path}.elements[{i}]", parent=label)
        elif shape.elements:
            self.fail(f"{path}.elements", "Only skeletons have elements.")

    def elements(self, elements: Sequence[Shape | Track], label: LabelSpec, path: str) -> None:
        """Each sublabel of the skeleton exactly once (the element labels are checked later)."""
        wanted = {s.id for s in label.sublabels}
        given = [e.label_id for e in elements]
        for i, label_id in enumerate(given):
            if label_id in given[:i]:
                self.fail(f"{path}.elements[{i}].label_id", "This skeleton point is given twice.")
        missing = sorted(s.name for s in label.sublabels if s.id in wanted - set(given))
        if missing:
            self.fail(f"{path}.elements", f"Missing skeleton points: {', '.join(missing)}.")

    def track(self, track: Track, path: str, parent: LabelSpec | None = None) -> None:
        kind = track.shapes[0].type if track.shapes else "rectangle"
        label = self.label(track.label_id, kind, path, parent)
        self.frame(track.frame, path)
        self.source(track.source, path)
        self.attributes(track.attributes, label, path, mutable=False)
        if not track.shapes:
            self.fail(f"{path}.shapes", "A track needs at least one keyframe.")
        previous: int | None = None
        for i, shape in enumerate(track.shapes):
            where = f"{path}.shapes[{i}]"
            if shape.type != kind:
                self.fail(f"{where}.type", f'All keyframes of a track must be "{kind}" shapes.')
            self.geometry(shape, where)
            self.frame(shape.frame, where)
            if previous is not None and shape.frame <= previous:
                self.fail(f"{where}.frame", "Keyframes must be sorted by frame, one per frame.")
            previous = shape.frame
            self.attributes(shape.attributes, label, where, mutable=True)
        if parent is not None:
            return
        if kind == "skeleton":
            if label is not None:
                self.elements(track.elements, label, path)
            for i, element in enumerate(track.elements):
                self.track(element, f"{path}.elements[{i}]", parent=label)
        elif track.elements:
            self.fail(f"{path}.elements", "Only skeleton tracks have elements.")


def drop_invalid_attribute_values(data: AnnotationSet, labels: LabelSet) -> list[str]:
    """Remove, in place, attribute values an import may carry but the API would refuse.

    CVAT's import stores a select value outside the list, a number off its range
    or step, or an over-long text as it is; annotask's stricter API checks would
    then refuse the whole file. Imports call this first: such a value is dropped
    (the object keeps the attribute's default), as is an attribute of another
    label, one given twice, or one on the wrong side of a track (mutable on the
    track, immutable on a keyframe). Returns one line per dropped value, naming
    the label, attribute and value, for the import's report.
    """
    dropped: list[str] = []

    def clean(attributes: list[Attribute], label_id: int, mutable: bool | None) -> list[Attribute]:
        label = labels.get(label_id)
        if label is None:
            return attributes  # an unknown label is an error of its own
        kept: list[Attribute] = []
        seen: set[int] = set()
        for attr in attributes:
            spec = label.attribute(attr.spec_id)
            problem: str | None
            if spec is None:
                problem = f"attribute {attr.spec_id} is not an attribute of the label"
            elif attr.spec_id in seen:
                problem = f'attribute "{spec.name}" is given twice'
            elif mutable is not None and spec.mutable != mutable:
                problem = f'attribute "{spec.name}" is {"immutable" if mutable else "mutable"}'
            else:
                problem = attribute_value_error(spec, attr.value)
            if problem:
                dropped.append(f'label "{label.name}", value "{attr.value[:64]}": {problem}')
                continue
            seen.add(attr.spec_id)
            kept.append(attr)
        return kept

    def shape(obj: Shape) -> None:
        obj.attributes = clean(obj.attributes, obj.label_id, None)
        for element in obj.elements:
            shape(element)

    def track(obj: Track) -> None:
        obj.attributes = clean(obj.attributes, obj.label_id, False)
        for keyframe in obj.shapes:
            keyframe.attributes = clean(keyframe.attributes, obj.label_id, True)
        for element in obj.elements:
            track(element)

    for tag in data.tags:
        tag.attributes = clean(tag.attributes, tag.label_id, None)
    for obj in data.shapes:
        shape(obj)
    for one_track in data.tracks:
        track(one_track)
    return dropped
