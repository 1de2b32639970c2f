"""A small label set shared by the annotation tests (ids as the database would give them)."""

from __future__ import annotations

import pytest

from annotask.annotations import LabelSet

LABELS_JSON = [
    {
        "id": 1,
        "name": "car",
        "type": "any",
        "attributes": [
            {
                "id": 11,
                "name": "color",
                "mutable": False,
                "input_type": "select",
                "default_value": "red",
                "values": ["red", "blue"],
            },
            {
                "id": 12,
                "name": "speed",
                "mutable": True,
                "input_type": "number",
                "default_value": "0",
                "values": ["0", "100", "5"],
            },
            {
                "id": 13,
                "name": "parked",
                "mutable": True,
                "input_type": "checkbox",
                "default_value": "false",
                "values": ["false"],
            },
            {
                "id": 14,
                "name": "note",
                "mutable": False,
                "input_type": "text",
                "default_value": "",
                "values": [""],
            },
        ],
    },
    {"id": 2, "name": "road", "type": "polygon", "attributes": []},
    {"id": 3, "name": "weather", "type": "tag", "attributes": []},
    {
        "id": 4,
        "name": "body",
        "type": "skeleton",
        "attributes": [],
        "sublabels": [
            {"id": 5, "name": "head", "type": "points", "attributes": []},
            {"id": 6, "name": "foot", "type": "points", "attributes": []},
        ],
    },
    {"id": 7, "name": "box3d", "type": "cuboid", "attributes": []},
]


@pytest.fixture
def labels() -> LabelSet:
    return LabelSet.from_json(LABELS_JSON)
