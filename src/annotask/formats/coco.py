"""COCO 1.0 (instances): export and import of boxes, polygons and masks.

The export follows what CVAT writes through Datumaro's ``coco_instances``
converter: ``licenses``, ``info``, ``categories`` (ids from 1 in label order),
``images`` (ids from 1 in frame order) and ``annotations`` with ``bbox``
``[x, y, w, h]``, ``segmentation``, ``area``, ``iscrowd`` and ``attributes``
(every attribute of the label with its default filled in, numbers as numbers,
checkboxes as booleans, plus ``occluded``, ``rotation`` for boxes and
``track_id``/``keyframe`` for shapes of tracks). Rectangles have an empty
``segmentation``; polygons a one-polygon list; masks an uncompressed RLE with
``iscrowd: 1``. Other shape types and tags have no place in COCO instances.

Import: ``bbox`` alone becomes a rectangle, each polygon of a
``segmentation`` a polygon (several polygons of one annotation share a group),
an RLE (list or compressed string counts) a mask. Differences from CVAT: a
polygon's ``area`` is its geometric area (CVAT rasterises), shapes of one group
are not fused into one COCO object, and imported ``track_id`` attributes do
not rebuild tracks.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from annotask.annotations.interpolation import interpolate_track
from annotask.annotations.model import AnnotationSet, Attribute, Shape, TrackedShape
from annotask.annotations.schema import LabelSet, LabelSpec
from annotask.formats.common import (
    FormatError,
    FrameInfo,
    FrameMatcher,
    open_document,
    read_limited,
)

EXPORTED_TYPES = ("rectangle", "polygon", "mask")


# ---- run-length encodings --------------------------------------------------------

if TYPE_CHECKING:
    import numpy as np


def _runs(flat: np.ndarray) -> list[int]:
    """Alternating run lengths of a 0/1 vector, starting with zeros."""
    import numpy as np  # on use: a web process that never converts masks skips it

    if flat.size == 0:
        return []
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs: list[int] = np.diff(np.concatenate(([0], edges, [flat.size]))).tolist()
    return ([0] + runs) if flat[0] else runs


def _unruns(counts: Sequence[int], size: int, strict: bool = True) -> np.ndarray:
    """Runs back to a 0/1 vector; without ``strict``, runs past the end are clipped."""
    import numpy as np  # on use: a web process that never converts masks skips it

    flat = np.zeros(size, dtype=np.uint8)
    position, value = 0, 0
    for count in counts:
        if count < 0 or position + count > size:
            if strict:
                raise FormatError("The RLE counts do not fit the image size.")
            count = max(0, min(count, size - position))
        if value:
            flat[position : position + count] = 1
        position += count
        value ^= 1
    return flat


def decode_compressed_counts(text: str) -> list[int]:
    """COCO's compact RLE string (pycocotools ``rleFrString``) to run lengths."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            if p >= len(text):
                raise FormatError("The compressed RLE string is truncated.")
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def encode_compressed_counts(counts: Sequence[int]) -> str:
    """Run lengths to COCO's compact RLE string (pycocotools ``rleToString``)."""
    out = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def mask_to_coco(
    points: Sequence[float], width: int, height: int
) -> tuple[dict[str, Any], list[float], int]:
    """CVAT mask points (row-major RLE over its box + box) to COCO RLE, bbox and area."""
    import numpy as np  # on use: a web process that never converts masks skips it

    left, top, right, bottom = (int(v) for v in points[-4:])
    box_w, box_h = right - left + 1, bottom - top + 1
    counts = [int(v) for v in points[:-4]]
    local = _unruns(counts, box_w * box_h, strict=False).reshape(box_h, box_w)
    full = np.zeros((height, width), dtype=np.uint8)
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(bottom + 1, height), min(right + 1, width)
    if y1 > y0 and x1 > x0:
        full[y0:y1, x0:x1] = local[y0 - top : y1 - top, x0 - left : x1 - left]
    area = int(full.sum())
    rle = {"counts": _runs(full.flatten(order="F")), "size": [height, width]}
    return rle, [left, top, box_w, box_h], area


def coco_to_mask(segmentation: dict[str, Any]) -> list[float] | None:
    """COCO RLE to CVAT mask points, cropped to the mask's box; None for an empty mask."""
    import numpy as np  # on use: a web process that never converts masks skips it

    try:
        height, width = (int(v) for v in segmentation["size"])
        counts = segmentation["counts"]
    except (KeyError, TypeError, ValueError):
        raise FormatError("An RLE segmentation needs counts and size.") from None
    if isinstance(counts, str):
        counts = decode_compressed_counts(counts)
    elif not isinstance(counts, list):
        raise FormatError("RLE counts must be a list or a compressed string.")
    full = _unruns([int(c) for c in counts], height * width).reshape((width, height)).T
    ys, xs = np.nonzero(full)
    if ys.size == 0:
        return None
    top, bottom, left, right = int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())
    runs = _runs(full[top : bottom + 1, left : right + 1].flatten())
    return [float(v) for v in runs] + [left, top, right, bottom]


# ---- export ------------------------------------------------------------------------


def _polygon_area(points: Sequence[float]) -> float:
    xs, ys = points[0::2], points[1::2]
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2


def _typed(spec_type: str, value: str) -> Any:
    if spec_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if spec_type == "checkbox":
        return value.lower() == "true"
    return value


def _attributes(label: LabelSpec, values: Sequence[Attribute]) -> dict[str, Any]:
    given = {a.spec_id: a.value for a in values}
    return {
        spec.name: _typed(spec.input_type, given.get(spec.id, spec.default_value))
        for spec in label.attributes
    }


def _frame_objects(
    data: AnnotationSet, frames: dict[int, FrameInfo]
) -> Iterator[tuple[int, int, Shape | TrackedShape, list[Attribute], dict[str, Any]]]:
    """(frame, label id, shape, attributes, extra attributes) for every exportable object."""
    last = max(frames, default=-1)
    per_frame: dict[
        int, list[tuple[int, Shape | TrackedShape, list[Attribute], dict[str, Any]]]
    ] = {}
    for shape in data.shapes:
        if shape.frame in frames and shape.type in EXPORTED_TYPES:
            per_frame.setdefault(shape.frame, []).append(
                (shape.label_id, shape, shape.attributes, {})
            )
    for index, track in enumerate(data.tracks):
        for tracked in interpolate_track(track, last, frames=set(frames)):
            if tracked.outside or tracked.type not in EXPORTED_TYPES:
                continue
            extra: dict[str, Any] = {"track_id": index, "keyframe": tracked.keyframe}
            attrs = list(tracked.attributes) + list(track.attributes)
            per_frame.setdefault(tracked.frame, []).append((track.label_id, tracked, attrs, extra))
    for frame in sorted(per_frame):
        for label_id, obj, attrs, extra in sorted(per_frame[frame], key=lambda o: o[1].z_order):
            yield frame, label_id, obj, attrs, extra


def export_coco(
    data: AnnotationSet, labels: LabelSet, frames: Sequence[FrameInfo]
) -> dict[str, Any]:
    """The COCO instances document for ``data``."""
    ordered = sorted(frames, key=lambda f: f.number)
    by_number = {f.number: f for f in ordered}
    image_ids = {f.number: i + 1 for i, f in enumerate(ordered)}
    category_ids = {label.id: i + 1 for i, label in enumerate(labels)}
    annotations: list[dict[str, Any]] = []
    for frame, label_id, shape, attrs, extra in _frame_objects(data, by_number):
        label = labels.top_level(label_id)
        if label is None:
            raise FormatError(f"Label {label_id} does not belong to this task.")
        attributes = _attributes(label, attrs)
        attributes["occluded"] = shape.occluded
        p = shape.points
        iscrowd = 0
        if shape.type == "rectangle":
            x0, x1 = sorted((p[0], p[2]))
            y0, y1 = sorted((p[1], p[3]))
            segmentation: Any = []
            bbox = [x0, y0, x1 - x0, y1 - y0]
            area = bbox[2] * bbox[3]
            attributes["rotation"] = float(shape.rotation)
        elif shape.type == "polygon":
            xs, ys = p[0::2], p[1::2]
            segmentation = [list(p)]
            bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            area = _polygon_area(p)
        else:
            info = by_number[frame]
            segmentation, bbox, area = mask_to_coco(p, info.width, info.height)
            iscrowd = 1
        attributes.update(extra)
        annotations.append(
            {
                "id": len(annotations) + 1,
                "image_id": image_ids[frame],
                "category_id": category_ids[label_id],
                "segmentation": segmentation,
                "area": float(area),
                "bbox": [float(v) for v in bbox],
                "iscrowd": iscrowd,
                "attributes": attributes,
            }
        )
    return {
        "licenses": [{"name": "", "id": 0, "url": ""}],
        "info": {
            "contributor": "",
            "date_created": "",
            "description": "",
            "url": "",
            "version": "",
            "year": "",
        },
        "categories": [
            {"id": category_ids[label.id], "name": label.name, "supercategory": ""}
            for label in labels
        ],
        "images": [
            {
                "id": image_ids[f.number],
                "width": f.width,
                "height": f.height,
                "file_name": f.file_name,
                "license": 0,
                "flickr_url": "",
                "coco_url": "",
                "date_captured": 0,
            }
            for f in ordered
        ],
        "annotations": annotations,
    }


def dump_coco(
    out: IO[bytes], data: AnnotationSet, labels: LabelSet, frames: Sequence[FrameInfo]
) -> None:
    """Write the COCO instances JSON document (``instances_<subset>.json``)."""
    out.write(json.dumps(export_coco(data, labels, frames), ensure_ascii=False).encode())


# ---- import ------------------------------------------------------------------------


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _import_attributes(label: LabelSpec, raw: Any) -> list[Attribute]:
    if not isinstance(raw, dict):
        return []
    result = []
    for name, value in raw.items():
        spec = label.attribute_named(name)
        if spec is not None:
            result.append(Attribute(spec.id, _attribute_value(value)))
    return result


class _CocoLoader:
    def __init__(self, labels: LabelSet, matcher: FrameMatcher, source: str) -> None:
        self.labels = labels
        self.matcher = matcher
        self.source = source
        self.result = AnnotationSet()
        self.unknown: list[str] = []
        self.errors: list[str] = []
        self.next_group = 1

    def document(self, doc: Any, name: str) -> None:
        if not isinstance(doc, dict):
            raise FormatError(f"{name} is not a COCO instances document.")
        for key in ("annotations", "images", "categories"):
            if not isinstance(doc.get(key) or [], list):
                raise FormatError(
                    f'{name} is not a COCO instances document: "{key}" must be a list.'
                )
        try:
            categories = {
                c.get("id"): c.get("name")
                for c in doc.get("categories") or []
                if isinstance(c, dict)
            }
            images = {i.get("id"): i for i in doc.get("images") or [] if isinstance(i, dict)}
        except TypeError:  # an unhashable id
            raise FormatError(f"{name} has a category or image id that is not a number.") from None
        frames: dict[Any, int | None] = {}
        for image_id, image in images.items():
            frames[image_id] = self.matcher.match(str(image.get("file_name") or ""), None)
        for ann in doc.get("annotations") or []:
            if isinstance(ann, dict):
                try:
                    self.annotation(ann, categories, images, frames)
                except TypeError:  # an unhashable category or image id
                    self.errors.append(
                        f"Annotation {ann.get('id')!r} has a category or image id "
                        "that is not a number."
                    )

    def annotation(
        self,
        ann: dict[Any, Any],
        categories: dict[Any, Any],
        images: dict[Any, dict[Any, Any]],
        frames: dict[Any, int | None],
    ) -> None:
        name = categories.get(ann.get("category_id"))
        label = self.labels.named(str(name)) if name is not None else None
        if label is None:
            shown = str(name if name is not None else ann.get("category_id"))
            if shown not in self.unknown:
                self.unknown.append(shown)
            return
        image_id = ann.get("image_id")
        frame = frames.get(image_id)
        if frame is None:
            file_name = (images.get(image_id) or {}).get("file_name", image_id)
            self.errors.append(f"Could not match item id: '{file_name}' with any task frame.")
            return
        raw_attributes = ann.get("attributes") or {}
        common: dict[str, Any] = {
            "frame": frame,
            "label_id": label.id,
            "source": self.source,
            "occluded": bool(raw_attributes.get("occluded", False))
            if isinstance(raw_attributes, dict)
            else False,
            "attributes": _import_attributes(label, raw_attributes),
        }
        segmentation = ann.get("segmentation")
        try:
            if isinstance(segmentation, dict):
                points = coco_to_mask(segmentation)
                if points is not None:
                    self.result.shapes.append(Shape(type="mask", points=points, **common))
            elif isinstance(segmentation, list) and segmentation:
                polygons = [[float(v) for v in polygon] for polygon in segmentation]
                polygons = [p for p in polygons if len(p) >= 6 and len(p) % 2 == 0]
                group = 0
                if len(polygons) > 1:
                    group, self.next_group = self.next_group, self.next_group + 1
                for polygon in polygons:
                    self.result.shapes.append(
                        Shape(type="polygon", points=polygon, group=group, **common)
                    )
            else:
                x, y, w, h = (float(v) for v in ann["bbox"])
                rotation = (
                    float(raw_attributes.get("rotation", 0) or 0)
                    if isinstance(raw_attributes, dict)
                    else 0.0
                )
                self.result.shapes.append(
                    Shape(
                        type="rectangle",
                        points=[x, y, x + w, y + h],
                        rotation=rotation % 360,
                        **common,
                    )
                )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, FormatError):
                raise
            self.errors.append(f"Annotation {ann.get('id')} has no usable bbox or segmentation.")


def load_coco(
    source: IO[bytes],
    labels: LabelSet,
    frames: Sequence[FrameInfo],
    *,
    source_name: str = "file",
) -> AnnotationSet:
    """Read COCO instances (a JSON file, or a zip with ``annotations/instances_*.json``).

    Objects get the source ``source_name`` (CVAT's ``file``).
    """
    loader = _CocoLoader(labels, FrameMatcher(frames), source_name)

    def prefer(name: str) -> bool:
        return posixpath.basename(name).startswith("instances_")

    for name, stream in open_document(source, (".json",), prefer):
        try:
            doc = json.loads(read_limited(stream))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{name} is not valid JSON ({exc}).") from None
        loader.document(doc, name)
    if loader.unknown:
        names = ", ".join(f"'{n}'" for n in loader.unknown)
        raise FormatError(f"Labels not registered for this task: {names}.")
    if loader.errors:
        more = len(loader.errors) - 1
        raise FormatError(loader.errors[0] + (f" (and {more} more problems)" if more else ""))
    return loader.result
