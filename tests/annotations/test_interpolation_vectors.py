"""The shared interpolation vectors: the server's ``interpolate_track`` gives exactly what
tests/annotations/interpolation_vectors.json expects. The browser's interpolation
(annotation/interpolation.js) is checked against the same file by
tests/ui/test_interpolation_js.py, so the view shows what the exports hold.

Regenerate the file after a deliberate change of the interpolation with
``python -m tests.annotations.test_interpolation_vectors`` (and review the diff).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from annotask.annotations import Track, TrackedShape
from annotask.annotations.interpolation import interpolate_track
from annotask.annotations.model import Attribute

VECTORS = Path(__file__).with_name("interpolation_vectors.json")
TOLERANCE = 1e-9


def _shape(type_: str, frame: int, points: list[float], **extra) -> dict:
    return {
        "type": type_,
        "frame": frame,
        "points": points,
        "occluded": extra.get("occluded", False),
        "outside": extra.get("outside", False),
        "z_order": extra.get("z_order", 0),
        "rotation": extra.get("rotation", 0.0),
        "attributes": extra.get("attributes", []),
    }


def _cases() -> list[dict]:
    """The inputs: every branch of the interpolation, with awkward numbers."""
    star = [50, 0, 61, 35, 98, 35, 68, 57, 79, 91, 50, 70, 21, 91, 32, 57, 2, 35, 39, 35]
    return [
        {
            "name": "rectangle, three keyframes, held after the last",
            "stop_frame": 30,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("rectangle", 0, [10, 10, 50, 40]),
                    _shape("rectangle", 7, [100.5, 20.25, 160, 90], occluded=True, z_order=2),
                    _shape("rectangle", 20, [33.3, 77.7, 66.6, 99.9]),
                ],
            },
        },
        {
            "name": "rotation along the shorter arc, across 0 and by 180",
            "stop_frame": 12,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("rectangle", 0, [0, 0, 10, 10], rotation=350.0),
                    _shape("rectangle", 3, [0, 0, 10, 10], rotation=20.0),
                    _shape("rectangle", 9, [5, 5, 15, 15], rotation=200.0),
                    _shape("rectangle", 12, [5, 5, 15, 15], rotation=20.0),
                ],
            },
        },
        {
            "name": "ellipse",
            "stop_frame": 5,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("ellipse", 0, [100, 100, 130, 120], rotation=10.0),
                    _shape("ellipse", 3, [110, 90, 150, 125], rotation=80.0),
                ],
            },
        },
        {
            "name": "outside and back, with an outside keyframe at the end",
            "stop_frame": 20,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("rectangle", 0, [0, 0, 4, 4]),
                    _shape("rectangle", 4, [4, 0, 8, 4], outside=True),
                    _shape("rectangle", 9, [1, 1, 3, 3]),
                    _shape("rectangle", 13, [9, 9, 13, 13]),
                    _shape("rectangle", 15, [9, 9, 13, 13], outside=True),
                ],
            },
        },
        {
            "name": "include_outside gives the hidden frames too",
            "stop_frame": 8,
            "include_outside": True,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("rectangle", 0, [0, 0, 4, 4]),
                    _shape("rectangle", 3, [3, 0, 7, 4], outside=True),
                    _shape("rectangle", 6, [6, 6, 8, 8]),
                ],
            },
        },
        {
            "name": "stop frame before the next keyframe; track starts after its first shape",
            "stop_frame": 6,
            "track": {
                "frame": 2,
                "shapes": [
                    _shape("rectangle", 0, [0, 0, 10, 10]),
                    _shape("rectangle", 10, [17, 3, 29, 31]),
                    _shape("rectangle", 14, [0, 0, 1, 1]),
                ],
            },
        },
        {
            "name": "mutable attributes carried over from earlier keyframes",
            "stop_frame": 6,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape(
                        "rectangle",
                        0,
                        [0, 0, 9, 9],
                        attributes=[{"spec_id": 1, "value": "a"}, {"spec_id": 2, "value": "x"}],
                    ),
                    _shape("rectangle", 3, [3, 3, 9, 9], attributes=[{"spec_id": 1, "value": "b"}]),
                    _shape("rectangle", 5, [5, 5, 9, 9]),
                ],
            },
        },
        {
            "name": "points of equal counts move point by point",
            "stop_frame": 4,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("points", 0, [1, 1, 20, 30, 7.5, 3]),
                    _shape("points", 3, [10, 4, 2, 8, 70, 30]),
                ],
            },
        },
        {
            "name": "points of different counts repeat the left keyframe",
            "stop_frame": 3,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("points", 0, [1, 1, 20, 30]),
                    _shape("points", 3, [10, 4, 2, 8, 70, 30]),
                ],
            },
        },
        {
            "name": "polygon of equal counts",
            "stop_frame": 4,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("polygon", 0, [0, 0, 40, 0, 40, 30, 0, 30]),
                    _shape("polygon", 4, [10, 5, 60, 5, 60, 45, 10, 45]),
                ],
            },
        },
        {
            "name": "polygon into a star: CVAT's resampling with different counts",
            "stop_frame": 6,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("polygon", 0, [0, 0, 100, 0, 100, 100, 0, 100]),
                    _shape("polygon", 6, star),
                ],
            },
        },
        {
            "name": "star into a triangle (points that collapse)",
            "stop_frame": 5,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("polygon", 0, star),
                    _shape("polygon", 5, [10, 10, 90, 10, 50, 80]),
                ],
            },
        },
        {
            "name": "polyline with different counts",
            "stop_frame": 4,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("polyline", 0, [0, 0, 30, 40, 60, 0]),
                    _shape("polyline", 4, [0, 10, 10, 20, 20, 10, 30, 20, 40, 10, 50, 20, 60, 10]),
                ],
            },
        },
        {
            "name": "cuboid linearly",
            "stop_frame": 2,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("cuboid", 0, [float(i) for i in range(16)]),
                    _shape("cuboid", 2, [float(i * 3 + 1) for i in range(16)]),
                ],
            },
        },
        {
            "name": "mask repeats its left keyframe",
            "stop_frame": 3,
            "track": {
                "frame": 0,
                "shapes": [
                    _shape("mask", 0, [5, 5, 1, 0, 0, 1, 1]),
                    _shape("mask", 2, [4, 4, 1, 1, 2, 2, 3]),
                ],
            },
        },
    ]


def _track(data: dict) -> Track:
    return Track(
        label_id=1,
        frame=data["frame"],
        shapes=[
            TrackedShape(
                type=s["type"],
                frame=s["frame"],
                points=list(s["points"]),
                occluded=s["occluded"],
                outside=s["outside"],
                z_order=s["z_order"],
                rotation=s["rotation"],
                attributes=[Attribute(a["spec_id"], a["value"]) for a in s["attributes"]],
            )
            for s in data["shapes"]
        ],
    )


def expected_of(case: dict) -> list[dict]:
    shapes = interpolate_track(
        _track(case["track"]),
        case["stop_frame"],
        include_outside=case.get("include_outside", False),
    )
    return [
        {
            "frame": s.frame,
            "keyframe": s.keyframe,
            "outside": s.outside,
            "occluded": s.occluded,
            "z_order": s.z_order,
            "rotation": s.rotation,
            "points": s.points,
            "attributes": sorted(
                ({"spec_id": a.spec_id, "value": a.value} for a in s.attributes),
                key=lambda a: a["spec_id"],
            ),
        }
        for s in shapes
    ]


def close(actual, expected) -> bool:
    """Equal, numbers within TOLERANCE (JS and Python may differ in a last bit of hypot)."""
    if isinstance(expected, float | int) and not isinstance(expected, bool):
        return isinstance(actual, float | int) and math.isclose(actual, expected, abs_tol=TOLERANCE)
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(close(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(close(actual[k], expected[k]) for k in expected)
        )
    return actual == expected


def load() -> list[dict]:
    return json.loads(VECTORS.read_text())["cases"]


def test_the_vectors_cover_every_case_input() -> None:
    stored = load()
    assert [c["name"] for c in stored] == [c["name"] for c in _cases()]
    for mine, theirs in zip(_cases(), stored, strict=True):
        assert close(theirs["track"], json.loads(json.dumps(mine["track"])))


@pytest.mark.parametrize("case", load(), ids=lambda case: case["name"])
def test_the_server_interpolation_gives_the_vectors(case: dict) -> None:
    assert close(expected_of(case), case["expected"]), case["name"]


def write() -> None:
    cases = [{**case, "expected": expected_of(case)} for case in _cases()]
    VECTORS.write_text(json.dumps({"cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    write()
