"""LabeledData JSON in and out: CVAT's shape, strict types, errors with paths."""

from __future__ import annotations

import pytest

from annotask.annotations import AnnotationError, AnnotationSet, LabelSet
from annotask.annotations.model import Attribute

BODY = {
    "version": 3,
    "tags": [
        {"id": 1, "frame": 0, "label_id": 3, "group": 0, "source": "manual", "attributes": []}
    ],
    "shapes": [
        {
            "id": 2,
            "type": "rectangle",
            "frame": 1,
            "label_id": 1,
            "group": 0,
            "source": "auto",
            "occluded": False,
            "outside": False,
            "z_order": 2,
            "rotation": 30.0,
            "points": [10, 10.5, 50, 40],
            "attributes": [{"spec_id": 11, "value": "red"}],
            "elements": [],
        }
    ],
    "tracks": [
        {
            "id": 3,
            "frame": 0,
            "label_id": 1,
            "group": None,
            "source": "manual",
            "attributes": [{"spec_id": 11, "value": "blue"}],
            "shapes": [
                {
                    "type": "rectangle",
                    "frame": 0,
                    "occluded": False,
                    "outside": False,
                    "z_order": 0,
                    "rotation": 0.0,
                    "points": [1, 2, 3, 4],
                    "attributes": [{"spec_id": 12, "value": 5}],
                }
            ],
            "elements": [],
        }
    ],
    "intervals": [],
}


def test_round_trip_keeps_cvat_shape() -> None:
    data = AnnotationSet.from_json(BODY)
    assert data.shapes[0].points == [10.0, 10.5, 50.0, 40.0]
    assert data.tracks[0].shapes[0].attributes == [Attribute(12, "5")]  # numbers become strings
    out = data.to_json()
    assert list(out) == ["version", "tags", "shapes", "tracks", "intervals"]
    assert out["intervals"] == []
    assert out["version"] == 3
    assert out["shapes"][0]["points"] == [10.0, 10.5, 50.0, 40.0]
    assert out["shapes"][0]["id"] == 2 and out["shapes"][0]["source"] == "auto"
    assert out["tracks"][0]["group"] is None
    assert out["tracks"][0]["shapes"][0]["attributes"] == [{"spec_id": 12, "value": "5"}]
    assert "keyframe" not in out["tracks"][0]["shapes"][0]
    assert AnnotationSet.from_json(out) == data


def test_empty_body_gives_all_keys() -> None:
    assert AnnotationSet.from_json({}).to_json() == {
        "version": 0,
        "tags": [],
        "shapes": [],
        "tracks": [],
        "intervals": [],
    }


def test_new_objects_have_no_id_and_default_fields() -> None:
    data = AnnotationSet.from_json(
        {"shapes": [{"type": "points", "frame": 0, "label_id": 1, "points": [1, 2]}]}
    )
    shape = data.shapes[0]
    assert shape.id is None and shape.group == 0 and shape.source == "manual"
    assert "id" not in data.to_json()["shapes"][0]
    assert "score" not in data.to_json()["shapes"][0]


def test_errors_name_every_bad_field() -> None:
    body = {
        "shapes": [
            {"frame": 0, "label_id": 1},
            {"type": "circle", "frame": -1, "label_id": "x", "points": [1, "a"]},
        ],
        "tracks": [{"frame": 0, "label_id": 1, "shapes": [{"type": "rectangle"}]}],
        "tags": "nope",
    }
    with pytest.raises(AnnotationError) as caught:
        AnnotationSet.from_json(body)
    errors = caught.value.errors
    assert errors["shapes[0].type"] == ["This field is required."]
    assert errors["shapes[1].type"] == ['"circle" is not a valid choice.']
    assert "shapes[1].frame" in errors
    assert errors["shapes[1].label_id"] == ["A valid integer is required."]
    assert errors["shapes[1].points"] == ["Expected a list of numbers."]
    assert errors["tracks[0].shapes[0].frame"] == ["This field is required."]
    assert errors["tags"] == ["Expected a list of items."]
    assert isinstance(caught.value, ValueError)


def test_boolean_attribute_values_are_refused() -> None:
    with pytest.raises(AnnotationError) as caught:
        AnnotationSet.from_json(
            {"tags": [{"frame": 0, "label_id": 3, "attributes": [{"spec_id": 1, "value": True}]}]}
        )
    assert list(caught.value.errors) == ["tags[0].attributes[0].value"]


def test_label_set_accepts_flat_sublabels() -> None:
    labels = LabelSet.from_json(
        [
            {"id": 1, "name": "body", "type": "skeleton", "attributes": []},
            {"id": 2, "name": "head", "type": "points", "parent_id": 1, "attributes": []},
        ]
    )
    assert [label.name for label in labels] == ["body"]
    assert labels.get(2).parent_id == 1
    assert labels.top_level(2) is None
    assert labels.named("body").sublabel_named("head").id == 2
