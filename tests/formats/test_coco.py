"""COCO 1.0 instances: export layout, round trips, RLE masks."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from annotask.annotations import AnnotationSet, LabelSet, Shape, Track, TrackedShape
from annotask.annotations.model import Attribute
from annotask.formats.coco import (
    coco_to_mask,
    decode_compressed_counts,
    dump_coco,
    encode_compressed_counts,
    export_coco,
    load_coco,
    mask_to_coco,
)
from annotask.formats.common import FormatError, FrameInfo
from annotask.formats.cvat_xml import DumpMeta
from annotask.formats.registry import export_archive

LABELS = LabelSet.from_json(
    [
        {
            "id": 4,
            "name": "car",
            "attributes": [
                {"id": 10, "name": "color", "mutable": False, "input_type": "select",
                 "default_value": "red", "values": ["red", "blue"]},
                {"id": 11, "name": "doors", "mutable": False, "input_type": "number",
                 "default_value": "4", "values": ["2", "5", "1"]},
                {"id": 12, "name": "parked", "mutable": True, "input_type": "checkbox",
                 "default_value": "false", "values": ["false"]},
            ],
        },
        {"id": 9, "name": "road", "attributes": []},
    ]
)  # fmt: skip
FRAMES = [FrameInfo(0, "a.jpg", 64, 48), FrameInfo(1, "sub/b.jpg", 64, 48)]
CAR_ATTRS = [Attribute(10, "blue"), Attribute(11, "2"), Attribute(12, "true")]


def test_export_layout() -> None:
    data = AnnotationSet(
        shapes=[
            Shape(
                "rectangle",
                1,
                4,
                [10, 5, 30, 25],
                occluded=True,
                attributes=[Attribute(10, "blue")],
            ),
            Shape("polygon", 0, 9, [0, 0, 4, 0, 4, 3]),
            Shape("polyline", 0, 9, [0, 0, 4, 0]),  # not part of COCO instances
        ]
    )
    doc = export_coco(data, LABELS, FRAMES)
    assert list(doc) == ["licenses", "info", "categories", "images", "annotations"]
    assert doc["categories"] == [
        {"id": 1, "name": "car", "supercategory": ""},
        {"id": 2, "name": "road", "supercategory": ""},
    ]
    assert doc["images"][1] == {
        "id": 2, "width": 64, "height": 48, "file_name": "sub/b.jpg",
        "license": 0, "flickr_url": "", "coco_url": "", "date_captured": 0,
    }  # fmt: skip
    polygon, box = doc["annotations"]
    assert polygon["segmentation"] == [[0, 0, 4, 0, 4, 3]]
    assert polygon["bbox"] == [0, 0, 4, 3] and polygon["area"] == 6.0
    assert polygon["image_id"] == 1 and polygon["category_id"] == 2
    assert box == {
        "id": 2,
        "image_id": 2,
        "category_id": 1,
        "segmentation": [],
        "area": 400.0,
        "bbox": [10.0, 5.0, 20.0, 20.0],
        "iscrowd": 0,
        "attributes": {"color": "blue", "doors": 4.0, "parked": False, "occluded": True,
                       "rotation": 0.0},
    }  # fmt: skip


def test_round_trip_boxes_polygons_and_masks() -> None:
    data = AnnotationSet(
        shapes=[
            Shape("rectangle", 0, 4, [1.5, 2, 11, 12.25], attributes=CAR_ATTRS, rotation=15.0),
            Shape("polygon", 1, 9, [0, 0, 10, 0, 10, 10, 0, 10], occluded=True),
            Shape("polygon", 1, 4, [5, 5, 9, 5, 7, 8], attributes=CAR_ATTRS),
            Shape("mask", 0, 9, [0, 2, 2, 2, 20, 30, 22, 31]),  # touches all box edges
        ]
    )
    buffer = io.BytesIO()
    dump_coco(buffer, data, LABELS, FRAMES)
    back = load_coco(io.BytesIO(buffer.getvalue()), LABELS, FRAMES, source_name="manual")

    def key(s: Shape) -> tuple:
        return (s.frame, s.type, s.points)

    assert sorted(back.shapes, key=key) == sorted(data.shapes, key=key)


def test_tracks_are_exported_frame_by_frame() -> None:
    track = Track(
        4,
        0,
        [
            TrackedShape("rectangle", 0, [0, 0, 10, 10]),
            TrackedShape("rectangle", 1, [10, 0, 20, 10]),
        ],
        attributes=[Attribute(10, "red")],
    )
    doc = export_coco(AnnotationSet(tracks=[track]), LABELS, FRAMES)
    assert [a["bbox"] for a in doc["annotations"]] == [[0, 0, 10, 10], [10, 0, 10, 10]]
    assert all(a["attributes"]["track_id"] == 0 for a in doc["annotations"])
    assert [a["attributes"]["keyframe"] for a in doc["annotations"]] == [True, True]


def test_zip_import_and_multi_polygon_groups() -> None:
    doc = {
        "categories": [{"id": 7, "name": "road"}],
        "images": [{"id": 3, "file_name": "b.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 3, "category_id": 7, "iscrowd": 0, "bbox": [0, 0, 9, 9],
             "segmentation": [[0, 0, 4, 0, 4, 4], [5, 5, 9, 5, 9, 9]], "attributes": {}},
            {"id": 2, "image_id": 3, "category_id": 7, "bbox": [1, 2, 3, 4], "segmentation": []},
        ],
    }  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("annotations/person_keypoints_default.json", "{}")
        archive.writestr("annotations/instances_default.json", json.dumps(doc))
    back = load_coco(buffer, LABELS, FRAMES)
    first, second, box = back.shapes
    assert (first.type, second.type, box.type) == ("polygon", "polygon", "rectangle")
    assert first.frame == 1 and first.group == second.group != 0  # matched "sub/b.jpg" by base name
    assert box.points == [1, 2, 4, 6] and box.group == 0 and box.source == "file"


def test_unknown_category_and_unmatched_image() -> None:
    doc = {
        "categories": [{"id": 1, "name": "tram"}, {"id": 2, "name": "car"}],
        "images": [{"id": 1, "file_name": "zzz.jpg"}, {"id": 2, "file_name": "a.jpg"}],
        "annotations": [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}],
    }
    with pytest.raises(FormatError, match="'tram'"):
        load_coco(io.BytesIO(json.dumps(doc).encode()), LABELS, FRAMES)
    doc["annotations"] = [{"id": 1, "image_id": 1, "category_id": 2, "bbox": [0, 0, 1, 1]}]
    with pytest.raises(FormatError, match="zzz.jpg"):
        load_coco(io.BytesIO(json.dumps(doc).encode()), LABELS, FRAMES)
    with pytest.raises(FormatError, match="not valid JSON"):
        load_coco(io.BytesIO(b"{nope"), LABELS, FRAMES)


def test_compressed_rle_strings() -> None:
    assert decode_compressed_counts("32") == [3, 2]
    assert decode_compressed_counts("1232") == [1, 2, 3, 4]  # deltas from the count two back
    counts = [0, 5, 100, 3, 4000, 1, 17, 2]
    assert decode_compressed_counts(encode_compressed_counts(counts)) == counts


def test_rle_masks_convert_between_coco_and_cvat() -> None:
    full = np.zeros((6, 5), dtype=np.uint8)
    full[1:3, 2:4] = 1
    full[2, 1] = 1
    flat = full.flatten(order="F")
    counts, value, run = [], 0, 0
    for pixel in flat:
        if pixel != value:
            counts.append(run)
            value, run = pixel, 0
        run += 1
    counts.append(run)
    points = coco_to_mask({"counts": counts, "size": [6, 5]})
    # box x 1..3, y 1..2; row-major inside: row 1: 0 1 1 / row 2: 1 1 1
    assert points == [1, 5, 1, 1, 3, 2]
    assert coco_to_mask({"counts": encode_compressed_counts(counts), "size": [6, 5]}) == points
    segmentation, bbox, area = mask_to_coco(points, 5, 6)
    assert segmentation == {"counts": counts, "size": [6, 5]}
    assert bbox == [1, 1, 3, 2] and area == 5
    assert coco_to_mask({"counts": [30], "size": [6, 5]}) is None
    with pytest.raises(FormatError):
        coco_to_mask({"counts": [40], "size": [6, 5]})
    # a stored mask whose counts overrun its box is clipped on export, not fatal
    assert mask_to_coco([0, 9, 0, 0, 1, 1], 5, 6)[2] == 4


def test_export_archive_member_name() -> None:
    buffer = io.BytesIO()
    meta = DumpMeta(id=1, size=2, subset="Train")
    export_archive("COCO 1.0", buffer, AnnotationSet(), LABELS, FRAMES, meta).close()
    with zipfile.ZipFile(buffer) as archive:
        assert archive.namelist() == ["annotations/instances_Train.json"]
        assert json.loads(archive.read("annotations/instances_Train.json"))["annotations"] == []
