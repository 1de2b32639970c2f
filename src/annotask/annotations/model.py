"""Annotations in memory: plain dataclasses that map 1:1 to the database rows.

The JSON shape is CVAT's ``LabeledData`` (cvat-api 4.7): ``from_json`` reads a
request body the way CVAT's serializers do (unknown keys ignored, numbers
accepted for attribute values, every type error reported with its path), and
``to_json`` always writes ``version``, ``tags``, ``shapes``, ``tracks`` and
``intervals: []``. Nothing here knows about the database or HTTP, so merging,
interpolation, validation and the file formats work on these objects alone.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

SHAPE_TYPES = (
    "rectangle",
    "polygon",
    "polyline",
    "points",
    "ellipse",
    "cuboid",
    "mask",
    "skeleton",
)
SOURCES = ("manual", "auto", "semi-auto", "file", "consensus")
ATTRIBUTE_VALUE_MAX = 4096

_T = TypeVar("_T")


class AnnotationError(ValueError):
    """Rejected annotations; ``errors`` maps a path such as ``shapes[3].points`` to messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors: dict[str, list[str]] = {key: list(value) for key, value in errors.items()}
        first = next(iter(self.errors.items()), ("", ["invalid annotations"]))
        more = len(self.errors) - 1
        summary = f"{first[0]}: {first[1][0]}" if first[0] else first[1][0]
        super().__init__(summary + (f" (and {more} more)" if more > 0 else ""))


class Attribute(NamedTuple):
    """One attribute value (CVAT's ``AttributeVal``); numbers and booleans are strings."""

    spec_id: int
    value: str


@dataclass(slots=True)
class Tag:
    """A label on a whole frame (CVAT's ``LabeledImage``)."""

    label_id: int
    frame: int
    group: int | None = 0
    source: str = "manual"
    attributes: list[Attribute] = field(default_factory=list)
    id: int | None = None


@dataclass(slots=True)
class Shape:
    """A shape on one frame (CVAT's ``LabeledShape``); skeleton points live in ``elements``."""

    type: str
    frame: int
    label_id: int
    points: list[float] = field(default_factory=list)
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = 0.0
    group: int | None = 0
    source: str = "manual"
    attributes: list[Attribute] = field(default_factory=list)
    elements: list[Shape] = field(default_factory=list)
    score: float = 1.0
    id: int | None = None


@dataclass(slots=True)
class TrackedShape:
    """One keyframe of a track; ``keyframe`` is False only on interpolated output."""

    type: str
    frame: int
    points: list[float] = field(default_factory=list)
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = 0.0
    attributes: list[Attribute] = field(default_factory=list)
    id: int | None = None
    keyframe: bool = True


@dataclass(slots=True)
class Track:
    """An object followed over frames; ``attributes`` holds the immutable ones."""

    label_id: int
    frame: int
    shapes: list[TrackedShape] = field(default_factory=list)
    group: int | None = 0
    source: str = "manual"
    attributes: list[Attribute] = field(default_factory=list)
    elements: list[Track] = field(default_factory=list)
    id: int | None = None


@dataclass(slots=True)
class AnnotationSet:
    """Tags, shapes and tracks of a job or a task (CVAT's ``LabeledData``)."""

    tags: list[Tag] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    version: int = 0

    def copy(self) -> AnnotationSet:
        return copy.deepcopy(self)

    def is_empty(self) -> bool:
        return not (self.tags or self.shapes or self.tracks)

    @classmethod
    def from_json(cls, data: Any) -> AnnotationSet:
        """Read a ``LabeledData`` body; raises ``AnnotationError`` naming every bad field."""
        reader = _Reader()
        result = reader.annotation_set(data)
        if reader.errors:
            raise AnnotationError(reader.errors)
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tags": [tag_to_json(tag) for tag in self.tags],
            "shapes": [shape_to_json(shape) for shape in self.shapes],
            "tracks": [track_to_json(track) for track in self.tracks],
            "intervals": [],
        }


# ---- writing -----------------------------------------------------------------


def _attributes_json(attributes: list[Attribute]) -> list[dict[str, Any]]:
    return [{"spec_id": a.spec_id, "value": a.value} for a in attributes]


def _with_id(obj_id: int | None, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": obj_id, **data} if obj_id is not None else data


def tag_to_json(tag: Tag) -> dict[str, Any]:
    return _with_id(
        tag.id,
        {
            "frame": tag.frame,
            "label_id": tag.label_id,
            "group": tag.group,
            "source": tag.source,
            "attributes": _attributes_json(tag.attributes),
        },
    )


def shape_to_json(shape: Shape) -> dict[str, Any]:
    data = _with_id(
        shape.id,
        {
            "type": shape.type,
            "frame": shape.frame,
            "label_id": shape.label_id,
            "group": shape.group,
            "source": shape.source,
            "occluded": shape.occluded,
            "outside": shape.outside,
            "z_order": shape.z_order,
            "rotation": float(shape.rotation),
            "points": [float(p) for p in shape.points],
            "attributes": _attributes_json(shape.attributes),
            "elements": [shape_to_json(e) for e in shape.elements],
        },
    )
    if shape.score != 1.0:
        data["score"] = shape.score
    return data


def tracked_shape_to_json(shape: TrackedShape) -> dict[str, Any]:
    return _with_id(
        shape.id,
        {
            "type": shape.type,
            "frame": shape.frame,
            "occluded": shape.occluded,
            "outside": shape.outside,
            "z_order": shape.z_order,
            "rotation": float(shape.rotation),
            "points": [float(p) for p in shape.points],
            "attributes": _attributes_json(shape.attributes),
        },
    )


def track_to_json(track: Track) -> dict[str, Any]:
    return _with_id(
        track.id,
        {
            "frame": track.frame,
            "label_id": track.label_id,
            "group": track.group,
            "source": track.source,
            "shapes": [tracked_shape_to_json(s) for s in track.shapes],
            "attributes": _attributes_json(track.attributes),
            "elements": [track_to_json(e) for e in track.elements],
        },
    )


# ---- reading -----------------------------------------------------------------

_MISSING = object()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


REQUIRED = "This field is required."


class _Reader:
    """Collects every error with its path instead of stopping at the first one."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    # scalars

    def integer(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: Any = _MISSING,
        *,
        nullable: bool = False,
        minimum: int | None = None,
    ) -> Any:
        value = obj.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.fail(_join(path, key), REQUIRED)
                return 0
            return default
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.fail(_join(path, key), "A valid integer is required.")
                return 0
        if minimum is not None and value < minimum:
            self.fail(_join(path, key), f"Ensure this value is greater than or equal to {minimum}.")
        return value

    def number(self, obj: Mapping[str, Any], key: str, path: str, default: float) -> float:
        value = obj.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(_join(path, key), "A valid number is required.")
            return default
        if not math.isfinite(value):
            self.fail(_join(path, key), "A finite number is required.")
            return default
        return float(value)

    def boolean(self, obj: Mapping[str, Any], key: str, path: str) -> bool:
        value = obj.get(key, False)
        if not isinstance(value, bool):
            self.fail(_join(path, key), "Must be a valid boolean.")
            return False
        return value

    def string(self, obj: Mapping[str, Any], key: str, path: str, default: str) -> str:
        value = obj.get(key, default)
        if not isinstance(value, str):
            self.fail(_join(path, key), "Not a valid string.")
            return default
        return value

    def shape_type(self, obj: Mapping[str, Any], path: str) -> str:
        value = obj.get("type", _MISSING)
        if value is _MISSING:
            self.fail(f"{path}.type", REQUIRED)
            return "rectangle"
        if not isinstance(value, str) or value not in SHAPE_TYPES:
            self.fail(f"{path}.type", f'"{value}" is not a valid choice.')
            return "rectangle"
        return value

    def points(self, obj: Mapping[str, Any], path: str) -> list[float]:
        value = obj.get("points", [])
        if not isinstance(value, list):
            self.fail(f"{path}.points", "Expected a list of numbers.")
            return []
        result: list[float] = []
        for point in value:
            if isinstance(point, bool) or not isinstance(point, (int, float)):
                self.fail(f"{path}.points", "Expected a list of numbers.")
                return []
            result.append(float(point))
        return result

    def attributes(self, obj: Mapping[str, Any], path: str) -> list[Attribute]:
        items = self.items(obj, "attributes", path, required=False)
        result = []
        for i, item in items:
            item_path = f"{path}.attributes[{i}]"
            spec_id = self.integer(item, "spec_id", item_path)
            raw = item.get("value", _MISSING)
            if raw is _MISSING:
                self.fail(f"{item_path}.value", REQUIRED)
                continue
            if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
                self.fail(f"{item_path}.value", "Not a valid string.")
                continue
            result.append(Attribute(spec_id, raw if isinstance(raw, str) else str(raw)))
        return result

    def items(
        self, obj: Mapping[str, Any], key: str, path: str, required: bool
    ) -> list[tuple[int, Mapping[str, Any]]]:
        value = obj.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.fail(_join(path, key), REQUIRED)
            return []
        where = _join(path, key)
        if not isinstance(value, list):
            self.fail(where, "Expected a list of items.")
            return []
        result = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                self.fail(f"{where}[{i}]", "Expected an object.")
                continue
            result.append((i, item))
        return result

    # objects

    def _common(self, obj: Mapping[str, Any], path: str) -> dict[str, Any]:
        return {
            "id": self.integer(obj, "id", path, None, nullable=True),
            "group": self.integer(obj, "group", path, 0, nullable=True, minimum=0),
            "source": self.string(obj, "source", path, "manual"),
            "attributes": self.attributes(obj, path),
        }

    def tag(self, obj: Mapping[str, Any], path: str) -> Tag:
        return Tag(
            label_id=self.integer(obj, "label_id", path, minimum=0),
            frame=self.integer(obj, "frame", path, minimum=0),
            **self._common(obj, path),
        )

    def _geometry(self, obj: Mapping[str, Any], path: str) -> dict[str, Any]:
        return {
            "type": self.shape_type(obj, path),
            "frame": self.integer(obj, "frame", path, minimum=0),
            "points": self.points(obj, path),
            "occluded": self.boolean(obj, "occluded", path),
            "outside": self.boolean(obj, "outside", path),
            "z_order": self.integer(obj, "z_order", path, 0),
            "rotation": self.number(obj, "rotation", path, 0.0),
        }

    def shape(self, obj: Mapping[str, Any], path: str, nested: bool = False) -> Shape:
        shape = Shape(
            label_id=self.integer(obj, "label_id", path, minimum=0),
            score=self.number(obj, "score", path, 1.0),
            **self._geometry(obj, path),
            **self._common(obj, path),
        )
        if not nested:
            shape.elements = self._list(obj, "elements", path, self.shape, nested=True)
        return shape

    def tracked_shape(self, obj: Mapping[str, Any], path: str) -> TrackedShape:
        return TrackedShape(
            id=self.integer(obj, "id", path, None, nullable=True),
            attributes=self.attributes(obj, path),
            **self._geometry(obj, path),
        )

    def track(self, obj: Mapping[str, Any], path: str, nested: bool = False) -> Track:
        track = Track(
            label_id=self.integer(obj, "label_id", path, minimum=0),
            frame=self.integer(obj, "frame", path, minimum=0),
            shapes=self._list(obj, "shapes", path, self.tracked_shape, required=True),
            **self._common(obj, path),
        )
        if not nested:
            track.elements = self._list(obj, "elements", path, self.track, nested=True)
        return track

    def _list(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        read: Callable[..., _T],
        required: bool = False,
        **kw: Any,
    ) -> list[_T]:
        where = _join(path, key)
        return [
            read(item, f"{where}[{i}]", **kw)
            for i, item in self.items(obj, key, path, required=required)
        ]

    def annotation_set(self, data: Any) -> AnnotationSet:
        if not isinstance(data, Mapping):
            self.fail("non_field_errors", "Expected an object with tags, shapes and tracks.")
            return AnnotationSet()
        return AnnotationSet(
            version=self.integer(data, "version", "", 0),
            tags=self._list(data, "tags", "", self.tag),
            shapes=self._list(data, "shapes", "", self.shape),
            tracks=self._list(data, "tracks", "", self.track),
        )
