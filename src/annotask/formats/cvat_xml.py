"""CVAT XML 1.1: "CVAT for images 1.1" and "CVAT for video 1.1" export, "CVAT 1.1" import.

The writer reproduces the files CVAT produces byte for byte: the same element
and attribute order, two-space indentation, ``{:.2f}`` coordinates and the same
escaping, because it drives the same ``xml.sax.saxutils.XMLGenerator`` the same
way (cvat/apps/dataset_manager/formats/cvat.py, ``create_xml_dumper``,
``dump_as_cvat_annotation``, ``dump_as_cvat_interpolation``; meta from
bindings.py). It streams: nothing but the current element is held as XML.

The reader streams too (``iterparse_xml``, elements cleared as they end) and
accepts both document styles, or a zip holding them. It follows CVAT's
``load_anno``: imported objects get source ``file``; only keyframes of tracks
are kept; attributes unknown to the label are dropped; on tracks, immutable
attributes go to the track and mutable ones to the keyframes; a mask track
becomes one mask shape. Unknown labels are an error that names all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO
from xml.etree.ElementTree import Element
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from annotask.annotations.interpolation import interpolate_track
from annotask.annotations.model import (
    AnnotationSet,
    Attribute,
    Shape,
    Tag,
    Track,
    TrackedShape,
)
from annotask.annotations.schema import LabelSet, LabelSpec
from annotask.formats.common import FormatError, FrameInfo, FrameMatcher, open_document
from annotask.security.xml import iterparse_xml

VERSION = "1.1"
SHAPE_TAGS = ("box", "ellipse", "polygon", "polyline", "points", "cuboid", "skeleton", "mask")
_CUBOID_NAMES = tuple(
    f"{axis}{corner}{side}"
    for side in ("1", "2")
    for corner in ("tl", "bl", "tr", "br")
    for axis in ("x", "y")
)


# ---- export meta ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    username: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    id: int
    start: int
    stop: int
    url: str


@dataclass
class DumpMeta:
    """What CVAT writes in ``<meta>``, for a task (``kind="task"``), a job or a project.

    ``start_frame``/``stop_frame`` are absolute source indices, as CVAT writes
    them (for a job: of its segment). ``data_start_frame`` and ``frame_step``
    turn frame numbers into the absolute ids written on images and track shapes.
    Segment ``start``/``stop`` are frame numbers. ``original_size`` and
    ``source`` (the video file name) are for video tasks.

    A project (``kind="project"``) carries the meta of each of its tasks in
    ``tasks`` and their ``subsets``, as CVAT's ``ProjectData`` writes them:
    readers such as Datumaro find a video's frame size in a task's
    ``<original_size>`` and the subsets under ``<project>``.
    """

    id: int
    size: int
    mode: str = "annotation"
    name: str = ""
    kind: str = "task"
    overlap: int = 0
    bugtracker: str = ""
    created: datetime | str = ""
    updated: datetime | str = ""
    subset: str = "default"
    start_frame: int = 0
    stop_frame: int = 0
    frame_filter: str = ""
    segments: Sequence[SegmentInfo] = ()
    owner: Person | None = None
    assignee: Person | None = None
    dumped: datetime | str = ""
    original_size: tuple[int, int] | None = None  # (width, height)
    source: str | None = None
    data_start_frame: int = 0
    frame_step: int = 1
    tasks: Sequence[DumpMeta] = ()
    subsets: Sequence[str] = ()

    def frame_range(self) -> tuple[int, int]:
        """Frame numbers covered (inclusive): the task, or the job's segment."""
        if self.kind == "job" and self.segments:
            return self.segments[0].start, self.segments[0].stop
        return 0, self.size - 1


# Meta entries: a leaf is text, a container is a list of (tag, entry) pairs.
_Meta = list[tuple[str, "str | _Meta"]]


def _text(value: datetime | str | int) -> str:
    return str(value)


def _person(person: Person | None) -> str | _Meta:
    if person is None:
        return ""
    return [("username", person.username), ("email", person.email)]


def _labels_meta(labels: LabelSet) -> _Meta:
    names = {label.id: label.name for label in labels.all_labels()}
    entries: _Meta = []
    for label in labels.all_labels():
        entry: _Meta = [
            ("name", label.name),
            ("color", label.color),
            ("type", label.type),
            (
                "attributes",
                [
                    (
                        "attribute",
                        [
                            ("name", spec.name),
                            ("mutable", str(spec.mutable)),
                            ("input_type", spec.input_type),
                            ("default_value", spec.default_value),
                            ("values", "\n".join(spec.values)),
                        ],
                    )
                    for spec in label.attributes
                ],
            ),
        ]
        if label.parent_id is not None:
            entry.append(("parent", names.get(label.parent_id, "")))
        if label.type == "skeleton":
            svg = label.svg
            for sub in label.sublabels:
                svg = svg.replace(f'data-label-id="{sub.id}"', f'data-label-name="{sub.name}"')
            entry.append(("svg", svg))
        entries.append(("label", entry))
    return entries


def build_meta(meta: DumpMeta, labels: LabelSet) -> _Meta:
    """The ``<meta>`` content in CVAT's order (bindings.py ``meta_for_task``/``JobData``/
    ``ProjectData``)."""
    if meta.kind == "project":
        return [("project", _project_meta(meta, labels)), ("dumped", _text(meta.dumped))]
    body = _task_meta(meta, labels)
    result: _Meta = [(meta.kind, body)]
    result.append(("dumped", _text(meta.dumped)))
    if meta.kind != "task" and meta.original_size is not None:
        result.append(("original_size", _size(meta)))  # at <meta> level for jobs, as CVAT does
    return result


def _size(meta: DumpMeta) -> _Meta:
    assert meta.original_size is not None
    width, height = meta.original_size
    return [("width", _text(width)), ("height", _text(height))]


def _task_meta(meta: DumpMeta, labels: LabelSet | None) -> _Meta:
    """A task's or job's entries; a project's tasks are written without their labels."""
    body: _Meta = [("id", _text(meta.id))]
    if meta.kind == "task":
        body.append(("name", meta.name))
    body += [
        ("size", _text(meta.size)),
        ("mode", meta.mode),
        ("overlap", _text(meta.overlap)),
        ("bugtracker", meta.bugtracker),
        ("created", _text(meta.created)),
        ("updated", _text(meta.updated)),
        ("subset", meta.subset or "default"),
        ("start_frame", _text(meta.start_frame)),
        ("stop_frame", _text(meta.stop_frame)),
        ("frame_filter", meta.frame_filter),
        (
            "segments",
            [
                (
                    "segment",
                    [
                        ("id", _text(s.id)),
                        ("start", _text(s.start)),
                        ("stop", _text(s.stop)),
                        ("url", s.url),
                    ],
                )
                for s in meta.segments
            ],
        ),
        ("owner", _person(meta.owner)),
        ("assignee", _person(meta.assignee)),
    ]
    if labels is not None:
        body.append(("labels", _labels_meta(labels)))
    if meta.kind == "task":
        if meta.original_size is not None:
            body.append(("original_size", _size(meta)))
        if meta.source is not None:
            body.append(("source", meta.source))
    return body


def _project_meta(meta: DumpMeta, labels: LabelSet) -> _Meta:
    return [
        ("id", _text(meta.id)),
        ("name", meta.name),
        ("bugtracker", meta.bugtracker),
        ("created", _text(meta.created)),
        ("updated", _text(meta.updated)),
        ("tasks", [("task", _task_meta(task, None)) for task in meta.tasks]),
        ("subsets", "\n".join(meta.subsets)),
        ("owner", _person(meta.owner)),
        ("assignee", _person(meta.assignee)),
        ("labels", _labels_meta(labels)),
    ]


# ---- the writer ------------------------------------------------------------------


class _Buffer:
    """Collects the generator's many small writes into blocks for the real stream."""

    def __init__(self, out: IO[bytes], size: int = 256 * 1024) -> None:
        self.out = out
        self.size = size
        self.parts: list[bytes] = []
        self.length = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.length += len(data)
        if self.length >= self.size:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.parts:
            self.out.write(b"".join(self.parts))
            self.parts, self.length = [], 0


class XmlWriter:
    """CVAT's ``XmlAnnotationWriter``: an ``XMLGenerator`` with two-space indentation."""

    def __init__(self, out: IO[bytes]) -> None:
        self._buffer = _Buffer(out)
        self._xml = XMLGenerator(self._buffer, "utf-8")
        self._level = 0

    def _indent(self) -> None:
        self._xml.ignorableWhitespace("\n" + "  " * self._level)

    def start_document(self) -> None:
        self._xml.startDocument()
        self._xml.startElement("annotations", AttributesImpl({}))
        self._level = 1
        self.leaf("version", VERSION)

    def end_document(self) -> None:
        self._level = 0
        self._indent()
        self._xml.endElement("annotations")
        self._indent()
        self._xml.endDocument()
        self._buffer.flush()

    def open(self, tag: str, attrs: dict[str, str]) -> None:
        self._indent()
        self._xml.startElement(tag, AttributesImpl(attrs))
        self._level += 1

    def close(self, tag: str) -> None:
        self._level -= 1
        self._indent()
        self._xml.endElement(tag)

    def leaf(self, tag: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self._xml.startElement(tag, AttributesImpl(attrs or {}))
        self._xml.characters(text)
        self._xml.endElement(tag)

    def meta(self, entries: _Meta) -> None:
        self.open("meta", {})
        self._entries(entries)
        self.close("meta")

    def _entries(self, entries: _Meta) -> None:
        for tag, value in entries:
            if isinstance(value, str):
                self.leaf(tag, value)
            else:
                self.open(tag, {})
                self._entries(value)
                self.close(tag)


# ---- what gets written -----------------------------------------------------------


@dataclass
class _Out:
    """One shape as written: names resolved, frame absolute."""

    type: str
    frame: int
    label: str
    points: list[float]
    source: str = "manual"
    occluded: bool = False
    outside: bool = False
    keyframe: bool = True
    z_order: int = 0
    rotation: float = 0.0
    group: int = 0
    attributes: list[tuple[str, str]] = field(default_factory=list)
    elements: list[_Out] = field(default_factory=list)


def _pairs(points: Sequence[float]) -> Iterator[tuple[float, float]]:
    return zip(points[0::2], points[1::2], strict=False)


def _f(value: float) -> str:
    return f"{value:.2f}"


def _geometry(shape: _Out) -> dict[str, str]:
    """Coordinates as CVAT writes them, rotation included for boxes and ellipses."""
    p = shape.points
    if shape.type == "rectangle":
        data = {"xtl": _f(p[0]), "ytl": _f(p[1]), "xbr": _f(p[2]), "ybr": _f(p[3])}
    elif shape.type == "ellipse":
        data = {"cx": _f(p[0]), "cy": _f(p[1]), "rx": _f(p[2] - p[0]), "ry": _f(p[1] - p[3])}
    elif shape.type == "cuboid":
        return {name: _f(value) for name, value in zip(_CUBOID_NAMES, p, strict=False)}
    elif shape.type == "mask":
        return {
            "rle": ", ".join(str(int(v)) for v in p[:-4]),
            "left": str(int(p[-4])),
            "top": str(int(p[-3])),
            "width": str(int(p[-2] - p[-4]) + 1),
            "height": str(int(p[-1] - p[-3]) + 1),
        }
    elif shape.type == "skeleton":
        return {}
    else:
        return {"points": ";".join(f"{_f(x)},{_f(y)}" for x, y in _pairs(p))}
    if shape.rotation:
        data["rotation"] = _f(shape.rotation)
    return data


def _xml_tag(shape_type: str) -> str:
    return "box" if shape_type == "rectangle" else shape_type


class _Names:
    """Label and attribute names for ids."""

    def __init__(self, labels: LabelSet) -> None:
        self.labels = labels

    def label(self, label_id: int) -> str:
        label = self.labels.get(label_id)
        if label is None:
            raise FormatError(f"Label {label_id} does not belong to this task.")
        return label.name

    def attributes(self, attributes: Iterable[Attribute]) -> list[tuple[str, str]]:
        result = []
        for attr in attributes:
            spec = self.labels.attribute(attr.spec_id)
            if spec is not None:
                result.append((spec.name, attr.value))
        return result


class _Frames:
    """Included frames and absolute ids; frames missing from the list are excluded."""

    def __init__(self, frames: Sequence[FrameInfo], meta: DumpMeta) -> None:
        self.frames = sorted(frames, key=lambda f: f.number)
        self.numbers = {f.number for f in self.frames}
        self.first, self.last = meta.frame_range()
        self.start = meta.data_start_frame
        self.step = meta.frame_step

    def absolute(self, number: int) -> int:
        return self.start + number * self.step

    def included(self, number: int) -> bool:
        return number in self.numbers

    def keep_keyframe(self, number: int) -> bool:
        """Keyframes on deleted frames inside the range are dropped before interpolating."""
        return number in self.numbers or not self.first <= number <= self.last


def _track_shapes(
    track: Track, frames: _Frames, include_outside: bool = False
) -> list[TrackedShape]:
    kept = [s for s in track.shapes if frames.keep_keyframe(s.frame)]
    if not kept:
        return []
    clean = Track(label_id=track.label_id, frame=track.frame, shapes=kept)
    return [
        s
        for s in interpolate_track(clean, frames.last, include_outside=include_outside)
        if frames.included(s.frame)
    ]


def _shape_out(shape: Shape, names: _Names, frames: _Frames) -> _Out:
    return _Out(
        type=shape.type,
        frame=frames.absolute(shape.frame),
        label=names.label(shape.label_id),
        points=shape.points,
        source=shape.source,
        occluded=shape.occluded,
        outside=shape.outside,
        z_order=shape.z_order,
        rotation=shape.rotation,
        group=shape.group or 0,
        attributes=names.attributes(shape.attributes),
        elements=[_shape_out(e, names, frames) for e in shape.elements],
    )


def _tracked_out(shape: TrackedShape, track: Track, names: _Names, frames: _Frames) -> _Out:
    return _Out(
        type=shape.type,
        frame=frames.absolute(shape.frame),
        label=names.label(track.label_id),
        points=shape.points,
        source=track.source,
        occluded=shape.occluded,
        outside=shape.outside,
        keyframe=shape.keyframe,
        z_order=shape.z_order,
        rotation=shape.rotation,
        group=track.group or 0,
        attributes=names.attributes(list(shape.attributes) + list(track.attributes)),
    )


# ---- CVAT for images ---------------------------------------------------------------


def _image_track_shapes(track: Track, names: _Names, frames: _Frames) -> Iterator[tuple[int, _Out]]:
    """A track's visible shapes per frame, as ``TrackManager.to_shapes`` makes them."""
    shapes = {s.frame: _tracked_out(s, track, names, frames) for s in _track_shapes(track, frames)}
    if track.elements:
        for element in track.elements:
            for s in _track_shapes(element, frames, include_outside=True):
                if s.frame in shapes:
                    shapes[s.frame].elements.append(_tracked_out(s, element, names, frames))
        shapes = {
            f: s
            for f, s in shapes.items()
            if not s.elements or not all(e.outside for e in s.elements)
        }
    for number, shape in shapes.items():
        if not shape.outside:
            yield number, shape


def _write_image_shape(writer: XmlWriter, shape: _Out, element: bool = False) -> None:
    attrs = {"label": shape.label, "source": shape.source}
    if element:
        attrs["outside"] = str(int(shape.outside))
    if shape.type != "skeleton":
        attrs["occluded"] = str(int(shape.occluded))
    attrs.update(_geometry(shape))
    if not element:
        attrs["z_order"] = str(shape.z_order)
    if shape.group:
        attrs["group_id"] = str(shape.group)
    tag = _xml_tag(shape.type)
    writer.open(tag, attrs)
    for e in shape.elements:
        _write_image_shape(writer, e, element=True)
    for name, value in shape.attributes:
        writer.leaf("attribute", value, {"name": name})
    writer.close(tag)


def dump_cvat_images(
    out: IO[bytes],
    data: AnnotationSet,
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    meta: DumpMeta,
) -> None:
    """Write "CVAT for images 1.1" (``annotations.xml``): one ``<image>`` per frame."""
    names = _Names(labels)
    index = _Frames(frames, meta)
    shapes: dict[int, list[_Out]] = {}
    for shape in data.shapes:
        if index.included(shape.frame):
            shapes.setdefault(shape.frame, []).append(_shape_out(shape, names, index))
    for track in data.tracks:
        for number, tracked in _image_track_shapes(track, names, index):
            shapes.setdefault(number, []).append(tracked)
    tags: dict[int, list[Tag]] = {}
    for tag in data.tags:
        if index.included(tag.frame):
            tags.setdefault(tag.frame, []).append(tag)

    writer = XmlWriter(out)
    writer.start_document()
    writer.meta(build_meta(meta, labels))
    for frame in index.frames:
        writer.open(
            "image",
            {
                "id": str(index.absolute(frame.number)),
                "name": frame.name,
                "width": str(frame.width),
                "height": str(frame.height),
            },
        )
        for out_shape in sorted(shapes.get(frame.number, ()), key=lambda s: s.z_order):
            _write_image_shape(writer, out_shape)
        for tag in tags.get(frame.number, ()):
            attrs = {"label": names.label(tag.label_id), "source": tag.source}
            if tag.group:
                attrs["group_id"] = str(tag.group)
            writer.open("tag", attrs)
            for name, value in names.attributes(tag.attributes):
                writer.leaf("attribute", value, {"name": name})
            writer.close("tag")
        writer.close("image")
    writer.end_document()


# ---- CVAT for video ----------------------------------------------------------------


def _write_track_shape(
    writer: XmlWriter,
    shape: _Out,
    elements: dict[int, list[_Out]] | None = None,
    element: bool = False,
) -> None:
    attrs = {"label": shape.label} if element else {"frame": str(shape.frame)}
    attrs["keyframe"] = str(int(shape.keyframe))
    if shape.type != "skeleton":
        attrs["outside"] = str(int(shape.outside))
        attrs["occluded"] = str(int(shape.occluded))
    attrs.update(_geometry(shape))
    if not element:
        attrs["z_order"] = str(shape.z_order)
    tag = _xml_tag(shape.type)
    if shape.type == "skeleton":
        parts = (elements or {}).get(shape.frame)
        if not parts:
            return  # CVAT writes nothing for a skeleton frame without elements
        writer.open(tag, attrs)
        for part in parts:
            _write_track_shape(writer, part, element=True)
    else:
        writer.open(tag, attrs)
    for name, value in shape.attributes:
        writer.leaf("attribute", value, {"name": name})
    writer.close(tag)


def _write_track(
    writer: XmlWriter,
    track_id: int,
    label: str,
    source: str,
    group: int,
    shapes: list[_Out],
    elements: dict[int, list[_Out]],
) -> None:
    attrs = {"id": str(track_id), "label": label, "source": source}
    if group:
        attrs["group_id"] = str(group)
    writer.open("track", attrs)
    for shape in shapes:
        _write_track_shape(writer, shape, elements)
    writer.close("track")


def _shape_as_track(shape: _Out, step: int, stop_frame: int) -> list[_Out]:
    """A shape as a one-frame track, closed on the next frame unless that is past the end.

    CVAT closes it only when the next frame is before ``stop_frame``, so a shape on
    the frame before the last comes back from its own export one frame longer; we
    close it there too, so an export imports back to the same annotations.
    """
    first = replace(shape, keyframe=True, elements=[])
    result = [first]
    if shape.frame + step <= stop_frame:
        result.append(replace(first, frame=shape.frame + step, outside=True))
    return result


def dump_cvat_video(
    out: IO[bytes],
    data: AnnotationSet,
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    meta: DumpMeta,
) -> None:
    """Write "CVAT for video 1.1": tracks with every frame, then shapes as short tracks.

    Tags have no place in this format and are left out, as in CVAT.
    """
    names = _Names(labels)
    index = _Frames(frames, meta)
    writer = XmlWriter(out)
    writer.start_document()
    writer.meta(build_meta(meta, labels))
    counter = 0
    for track in data.tracks:
        shapes = [_tracked_out(s, track, names, index) for s in _track_shapes(track, index)]
        elements: dict[int, list[_Out]] = {}
        for element in track.elements:
            for s in _track_shapes(element, index):
                out_shape = _tracked_out(s, element, names, index)
                elements.setdefault(out_shape.frame, []).append(out_shape)
        _write_track(
            writer,
            counter,
            names.label(track.label_id),
            track.source,
            track.group or 0,
            shapes,
            elements,
        )
        counter += 1
    for shape in data.shapes:
        if not index.included(shape.frame):
            continue
        out_shape = _shape_out(shape, names, index)
        out_shape.outside = False
        track_shapes = _shape_as_track(out_shape, index.step, meta.stop_frame)
        elements = {}
        for out_element in out_shape.elements:
            for part in _shape_as_track(out_element, index.step, meta.stop_frame):
                elements.setdefault(part.frame, []).append(part)
        _write_track(
            writer, counter, out_shape.label, shape.source, out_shape.group, track_shapes, elements
        )
        counter += 1
    writer.end_document()


# ---- import ----------------------------------------------------------------------


def _float(el: Element, name: str) -> float:
    raw = el.get(name)
    if raw is None:
        raise FormatError(f"<{el.tag}> lacks the {name} attribute.")
    try:
        return float(raw)
    except ValueError:
        raise FormatError(f'<{el.tag}> has {name}="{raw}", which is not a number.') from None


def _points(el: Element) -> list[float]:
    """The points of a shape element in CVAT's JSON convention."""
    tag = el.tag
    if tag == "box":
        return [_float(el, n) for n in ("xtl", "ytl", "xbr", "ybr")]
    if tag == "ellipse":
        cx, cy = _float(el, "cx"), _float(el, "cy")
        return [cx, cy, round(cx + _float(el, "rx"), 2), round(cy - _float(el, "ry"), 2)]
    if tag == "cuboid":
        return [_float(el, n) for n in _CUBOID_NAMES]
    if tag == "mask":
        try:
            rle = [int(v) for v in (el.get("rle") or "").split(",")]
            left, top = int(el.get("left", "")), int(el.get("top", ""))
            width, height = int(el.get("width", "")), int(el.get("height", ""))
        except ValueError:
            raise FormatError("<mask> needs integer rle, left, top, width and height.") from None
        return [*map(float, rle), left, top, left + width - 1, top + height - 1]
    if tag == "skeleton":
        return []
    raw = el.get("points")
    if raw is None:
        raise FormatError(f"<{tag}> lacks the points attribute.")
    try:
        return [float(v) for pair in raw.split(";") for v in pair.split(",")]
    except ValueError:
        raise FormatError(f'<{tag}> has points="{raw}", which are not numbers.') from None


def _flag(el: Element, name: str) -> bool:
    return el.get(name, "0") == "1"


def _int(item: Element | _Pending, name: str, default: int = 0) -> int:
    attrib = item.attrib if isinstance(item, Element) else item.el_attrib
    raw = attrib.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise FormatError(f'<{item.tag}> has {name}="{raw}", which is not an integer.') from None


def _float_or_zero(item: _Pending, name: str) -> float:
    raw = item.el_attrib.get(name) or "0"
    try:
        return float(raw)
    except ValueError:
        raise FormatError(f'<{item.tag}> has {name}="{raw}", which is not a number.') from None


@dataclass
class _Pending:
    """An object being read: its element attributes and collected children."""

    el_attrib: dict[str, str]
    tag: str
    label: LabelSpec | None
    attributes: list[tuple[str, str]] = field(default_factory=list)
    points: list[float] = field(default_factory=list)
    elements: list[Shape | None] = field(default_factory=list)
    frame: int | None = None


class _Loader:
    def __init__(
        self, labels: LabelSet, matcher: FrameMatcher, keep_source: bool, result: AnnotationSet
    ) -> None:
        self.labels = labels
        self.matcher = matcher
        self.keep_source = keep_source
        self.result = result
        self.unknown_labels: list[str] = []
        self.errors: list[str] = []

    # helpers

    def source(self, attrib: dict[str, str]) -> str:
        return attrib.get("source", "manual") if self.keep_source else "file"

    def label(self, name: str | None, parent: LabelSpec | None = None) -> LabelSpec | None:
        name = name or ""
        label = parent.sublabel_named(name) if parent else self.labels.named(name)
        if label is None:
            shown = f"{parent.name}.{name}" if parent else name
            if shown not in self.unknown_labels:
                self.unknown_labels.append(shown)
        return label

    def attributes(
        self, label: LabelSpec, pairs: list[tuple[str, str]], mutable: bool | None = None
    ) -> list[Attribute]:
        result = []
        for name, value in pairs:
            spec = label.attribute_named(name)
            if spec is None or (mutable is not None and spec.mutable != mutable):
                continue
            if spec.input_type == "checkbox" and value != spec.default_value:
                value = value.lower()
                if value not in ("true", "false"):
                    self.errors.append(
                        f'Attribute "{name}" of label "{label.name}" is a checkbox, '
                        f'but has the value "{value}".'
                    )
                    continue
            result.append(Attribute(spec.id, value))
        return result

    def track_frame(self, el: Element) -> int | None:
        absolute = _int(el, "frame", -1)
        number = self.matcher.relative(absolute)
        if number is None:
            self.errors.append(f"Frame {absolute} is not a frame of this task.")
        return number

    # objects

    def image_shape(self, pending: _Pending, frame: int, element: bool = False) -> Shape | None:
        a = pending.el_attrib
        label = pending.label
        if label is None:
            return None
        return Shape(
            type="rectangle" if pending.tag == "box" else pending.tag,
            frame=frame,
            label_id=label.id,
            points=pending.points,
            occluded=a.get("occluded", "0") == "1",
            outside=element and a.get("outside", "0") == "1",
            z_order=_int(pending, "z_order"),
            rotation=_float_or_zero(pending, "rotation"),
            group=_int(pending, "group_id"),
            source=self.source(a),
            attributes=self.attributes(label, pending.attributes),
            elements=[e for e in pending.elements if e is not None],
        )

    def tracked(self, pending: _Pending, label: LabelSpec) -> TrackedShape:
        a = pending.el_attrib
        return TrackedShape(
            type="rectangle" if pending.tag == "box" else pending.tag,
            frame=pending.frame if pending.frame is not None else 0,
            points=pending.points,
            occluded=a.get("occluded", "0") == "1",
            outside=a.get("outside", "0") == "1",
            z_order=_int(pending, "z_order"),
            rotation=_float_or_zero(pending, "rotation"),
            attributes=self.attributes(label, pending.attributes, mutable=True),
        )

    def finish_track(
        self, track: _Pending, keyframes: list[_Pending], elements: dict[LabelSpec, list[_Pending]]
    ) -> None:
        label = track.label
        if label is None or not keyframes:
            return
        shapes = sorted((self.tracked(k, label) for k in keyframes), key=lambda s: s.frame)
        group = _int(track, "group_id")
        source = self.source(track.el_attrib)
        if shapes[0].type == "mask":  # CVAT has no mask tracks: keep the first mask
            first = shapes[0]
            self.result.shapes.append(
                Shape(
                    type="mask",
                    frame=first.frame,
                    label_id=label.id,
                    points=first.points,
                    occluded=first.occluded,
                    z_order=first.z_order,
                    group=group,
                    source=source,
                    attributes=self.attributes(label, keyframes[0].attributes),
                )
            )
            return
        element_tracks = []
        for sublabel, parts in elements.items():
            part_shapes = sorted((self.tracked(p, sublabel) for p in parts), key=lambda s: s.frame)
            element_tracks.append(
                Track(
                    label_id=sublabel.id,
                    frame=part_shapes[0].frame,
                    shapes=part_shapes,
                    source=source,
                    attributes=self.attributes(sublabel, parts[-1].attributes, mutable=False),
                )
            )
        self.result.tracks.append(
            Track(
                label_id=label.id,
                frame=shapes[0].frame,
                shapes=shapes,
                group=group,
                source=source,
                # CVAT takes the immutable values from the last keyframe
                attributes=self.attributes(label, keyframes[-1].attributes, mutable=False),
                elements=sorted(element_tracks, key=lambda t: t.label_id),
            )
        )

    def run(self, stream: IO[bytes], name: str) -> None:
        root: Element | None = None
        image_frame: int | None = None
        in_image = False
        track: _Pending | None = None
        keyframes: list[_Pending] = []
        track_elements: dict[LabelSpec, list[_Pending]] = {}
        shape: _Pending | None = None
        element: _Pending | None = None
        tag: _Pending | None = None
        for event, el in iterparse_xml(stream, ("start", "end"), label=name):
            if event == "start":
                if root is None:
                    root = el
                    if el.tag != "annotations":
                        raise FormatError(f"{name} is not a CVAT XML document.")
                elif el.tag == "image":
                    in_image = True
                    image_frame = self.matcher.match(el.get("name"), el.get("id"))
                    if image_frame is None:
                        self.errors.append(
                            f"Could not match item id: '{el.get('name') or el.get('id')}' "
                            "with any task frame."
                        )
                elif el.tag == "track":
                    track = _Pending(dict(el.attrib), "track", self.label(el.get("label")))
                    keyframes, track_elements = [], {}
                elif el.tag in SHAPE_TAGS and (track is not None or in_image):
                    if shape is not None and shape.tag == "skeleton":
                        parent = shape.label
                        sub = self.label(el.get("label"), parent) if parent else None
                        element = _Pending(dict(el.attrib), el.tag, sub, frame=shape.frame)
                    else:
                        label = track.label if track is not None else self.label(el.get("label"))
                        shape = _Pending(dict(el.attrib), el.tag, label)
                        if track is not None:
                            shape.frame = self.track_frame(el)
                elif el.tag == "tag" and in_image:
                    tag = _Pending(dict(el.attrib), "tag", self.label(el.get("label")))
                continue

            # end events
            if el.tag == "attribute":
                target = element or shape or tag
                if target is not None:
                    target.attributes.append((el.get("name", ""), el.text or ""))
            elif el.tag in SHAPE_TAGS and element is not None and el.tag != "skeleton":
                element.points = _points(el)
                if element.label is None or shape is None:
                    pass
                elif track is not None:
                    if _flag(el, "keyframe") and element.frame is not None:
                        track_elements.setdefault(element.label, []).append(element)
                elif image_frame is not None:
                    shape.elements.append(self.image_shape(element, image_frame, element=True))
                element = None
            elif el.tag in SHAPE_TAGS and shape is not None:
                shape.points = _points(el)
                if track is not None:
                    if _flag(el, "keyframe") and shape.frame is not None:
                        keyframes.append(shape)
                elif image_frame is not None:
                    made = self.image_shape(shape, image_frame)
                    if made is not None:
                        self.result.shapes.append(made)
                shape = None
            elif el.tag == "tag" and tag is not None:
                if tag.label is not None and image_frame is not None:
                    self.result.tags.append(
                        Tag(
                            label_id=tag.label.id,
                            frame=image_frame,
                            group=_int(tag, "group_id"),
                            source=self.source(tag.el_attrib),
                            attributes=self.attributes(tag.label, tag.attributes),
                        )
                    )
                tag = None
            elif el.tag == "track" and track is not None:
                self.finish_track(track, keyframes, track_elements)
                track = None
            elif el.tag == "image":
                in_image = False
                image_frame = None
            el.clear()
            if root is not None and track is None and not in_image and shape is None:
                root.clear()  # drop finished top-level elements: memory stays bounded


def load_cvat(
    source: IO[bytes],
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    *,
    start_frame: int = 0,
    frame_step: int = 1,
    keep_source: bool = False,
) -> AnnotationSet:
    """Read "CVAT 1.1" (images or video style, XML or a zip of them) into annotations.

    ``start_frame``/``frame_step`` are the task data's, to map the absolute frame
    ids of track shapes. ``keep_source`` keeps the files' ``source`` attributes
    instead of CVAT's ``file``. Raises ``FormatError`` (unknown labels are all
    named) or ``UnsafeInput`` for DTDs, entities and malformed XML.
    """
    matcher = FrameMatcher(frames, start_frame, frame_step)
    result = AnnotationSet()
    loader = _Loader(labels, matcher, keep_source, result)
    for name, document in open_document(source, (".xml",), lambda n: n == "annotations.xml"):
        loader.run(document, name)
    if loader.unknown_labels:
        names = ", ".join(f"'{n}'" for n in loader.unknown_labels)
        raise FormatError(f"Labels not registered for this task: {names}.")
    if loader.errors:
        more = len(loader.errors) - 1
        raise FormatError(loader.errors[0] + (f" (and {more} more problems)" if more else ""))
    return result
