"""Every validation rule, each reported under the exact path of the offending field."""

from __future__ import annotations

import pytest

from annotask.annotations import (
    AnnotationError,
    AnnotationSet,
    LabelSet,
    Shape,
    Tag,
    Track,
    TrackedShape,
)
from annotask.annotations.model import Attribute
from annotask.annotations.validation import validate_annotations


def errors_of(data: AnnotationSet, labels: LabelSet, start: int = 0, stop: int = 9) -> dict:
    with pytest.raises(AnnotationError) as caught:
        validate_annotations(data, labels, start, stop)
    return caught.value.errors


def box(label_id: int = 1, frame: int = 0, **kw) -> Shape:
    return Shape("rectangle", frame, label_id, [0, 0, 10, 10], **kw)


def skeleton(frame: int = 0, parts: tuple[int, ...] = (5, 6)) -> Shape:
    return Shape(
        "skeleton",
        frame,
        4,
        [],
        elements=[Shape("points", frame, p, [1, 1]) for p in parts],
    )


def test_valid_annotations_pass(labels: LabelSet) -> None:
    data = AnnotationSet(
        tags=[Tag(3, 0), Tag(1, 1, attributes=[Attribute(11, "blue")])],
        shapes=[
            box(attributes=[Attribute(11, "red"), Attribute(12, "15"), Attribute(13, "true")]),
            Shape("polygon", 2, 2, [0, 0, 5, 0, 5, 5]),
            Shape("cuboid", 3, 7, [float(i) for i in range(16)]),
            Shape("mask", 4, 1, [2, 3, 1, 0, 0, 1, 2]),
            skeleton(5),
        ],
        tracks=[
            Track(
                1,
                0,
                [
                    TrackedShape("rectangle", 0, [0, 0, 1, 1], attributes=[Attribute(12, "0")]),
                    TrackedShape("rectangle", 9, [0, 0, 1, 1], outside=True),
                ],
                attributes=[Attribute(11, "red"), Attribute(14, "any text")],
            )
        ],
    )
    validate_annotations(data, labels, 0, 9)


def test_unknown_label(labels: LabelSet) -> None:
    errors = errors_of(AnnotationSet(shapes=[box(label_id=99)]), labels)
    assert errors == {"shapes[0].label_id": ["Label 99 does not belong to this task."]}


def test_skeleton_point_label_is_not_top_level(labels: LabelSet) -> None:
    errors = errors_of(AnnotationSet(shapes=[Shape("points", 0, 5, [1, 1])]), labels)
    assert list(errors) == ["shapes[0].label_id"]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (AnnotationSet(shapes=[box(label_id=2)]), "shapes[0].label_id"),  # polygon label
        (AnnotationSet(shapes=[box(label_id=3)]), "shapes[0].label_id"),  # tag label
        (AnnotationSet(tags=[Tag(2, 0)]), "tags[0].label_id"),  # polygon label on a tag
        (AnnotationSet(shapes=[Shape("skeleton", 0, 1, [])]), "shapes[0].label_id"),
        (
            AnnotationSet(tracks=[Track(2, 0, [TrackedShape("rectangle", 0, [0, 0, 1, 1])])]),
            "tracks[0].label_id",
        ),
    ],
)
def test_label_type_must_admit_the_shape(labels: LabelSet, data: AnnotationSet, path: str) -> None:
    assert list(errors_of(data, labels)) == [path]


def test_attribute_of_another_label(labels: LabelSet) -> None:
    errors = errors_of(AnnotationSet(tags=[Tag(3, 0, attributes=[Attribute(11, "red")])]), labels)
    assert errors == {
        "tags[0].attributes[0].spec_id": ['Attribute 11 does not belong to label "weather".']
    }


@pytest.mark.parametrize(
    ("attribute", "message"),
    [
        (Attribute(11, "green"), '"green" is not one of the values of attribute "color".'),
        (Attribute(13, "yes"), "checkbox"),
        (Attribute(13, "True"), "checkbox"),
        (Attribute(12, "fast"), "is not a number"),
        (Attribute(12, "105"), "must be between 0 and 100"),
        (Attribute(12, "-5"), "must be between 0 and 100"),
        (Attribute(12, "7"), "multiple of 5"),
        (Attribute(12, "nan"), "not a finite number"),
        (Attribute(14, "x" * 4097), "no more than 4096 characters"),
    ],
)
def test_attribute_values_fit_the_input_type(
    labels: LabelSet, attribute: Attribute, message: str
) -> None:
    errors = errors_of(AnnotationSet(shapes=[box(attributes=[attribute])]), labels)
    assert list(errors) == ["shapes[0].attributes[0].value"]
    assert message in errors["shapes[0].attributes[0].value"][0]


def test_number_on_the_step_grid_and_text_up_to_the_limit_pass(labels: LabelSet) -> None:
    data = AnnotationSet(
        shapes=[box(attributes=[Attribute(12, "100"), Attribute(14, "x" * 4096)]), box()]
    )
    data.shapes[1].attributes = [Attribute(12, "35.0")]
    validate_annotations(data, labels, 0, 9)


def test_attribute_given_twice(labels: LabelSet) -> None:
    data = AnnotationSet(shapes=[box(attributes=[Attribute(11, "red"), Attribute(11, "blue")])])
    assert list(errors_of(data, labels)) == ["shapes[0].attributes[1].spec_id"]


def test_mutable_attributes_belong_to_keyframes_immutable_to_the_track(labels: LabelSet) -> None:
    track = Track(
        1,
        0,
        [TrackedShape("rectangle", 0, [0, 0, 1, 1], attributes=[Attribute(11, "red")])],
        attributes=[Attribute(12, "5")],
    )
    errors = errors_of(AnnotationSet(tracks=[track]), labels)
    assert set(errors) == {
        "tracks[0].attributes[0].spec_id",
        "tracks[0].shapes[0].attributes[0].spec_id",
    }
    assert "mutable" in errors["tracks[0].attributes[0].spec_id"][0]
    assert "immutable" in errors["tracks[0].shapes[0].attributes[0].spec_id"][0]


def test_frames_inside_the_range(labels: LabelSet) -> None:
    data = AnnotationSet(
        tags=[Tag(3, 4)],
        shapes=[box(frame=10)],
        tracks=[
            Track(
                1,
                5,
                [
                    TrackedShape("rectangle", 5, [0, 0, 1, 1]),
                    TrackedShape("rectangle", 11, [0, 0, 1, 1]),
                ],
            )
        ],
    )
    errors = errors_of(data, labels, start=5, stop=10)
    assert set(errors) == {"tags[0].frame", "tracks[0].shapes[1].frame"}
    assert errors["tags[0].frame"] == ["Frame 4 is outside the range 5..10."]


@pytest.mark.parametrize(
    ("shape_type", "label_id", "points"),
    [
        ("rectangle", 1, [0, 0, 1]),
        ("ellipse", 1, [0, 0, 1, 1, 2]),
        ("cuboid", 7, [0.0] * 14),
        ("polygon", 1, [0, 0, 1, 1]),
        ("polygon", 1, [0, 0, 1, 1, 2, 2, 3]),
        ("polyline", 1, [0, 0]),
        ("points", 1, []),
        ("points", 1, [1, 2, 3]),
        ("mask", 1, [1, 2, 3, 4]),
        ("mask", 1, [1.5, 0, 0, 1, 1]),
        ("mask", 1, [4, 5, 5, 1, 1]),  # right < left
        ("rectangle", 1, [0, 0, float("inf"), 1]),
    ],
)
def test_point_counts_fit_the_shape_type(
    labels: LabelSet, shape_type: str, label_id: int, points: list[float]
) -> None:
    data = AnnotationSet(shapes=[Shape(shape_type, 0, label_id, points)])
    assert list(errors_of(data, labels)) == ["shapes[0].points"]


def test_rotation_range(labels: LabelSet) -> None:
    assert list(errors_of(AnnotationSet(shapes=[box(rotation=361.0)]), labels)) == [
        "shapes[0].rotation"
    ]


def test_unknown_source(labels: LabelSet) -> None:
    assert list(errors_of(AnnotationSet(shapes=[box(source="robot")]), labels)) == [
        "shapes[0].source"
    ]


def test_track_keyframes_sorted_unique_one_type(labels: LabelSet) -> None:
    shapes = [
        TrackedShape("rectangle", 3, [0, 0, 1, 1]),
        TrackedShape("rectangle", 3, [0, 0, 1, 1]),
        TrackedShape("rectangle", 1, [0, 0, 1, 1]),
        TrackedShape("polygon", 6, [0, 0, 1, 1, 2, 0]),
    ]
    errors = errors_of(AnnotationSet(tracks=[Track(1, 3, shapes)]), labels)
    assert set(errors) == {
        "tracks[0].shapes[1].frame",
        "tracks[0].shapes[2].frame",
        "tracks[0].shapes[3].type",
    }


def test_track_needs_keyframes(labels: LabelSet) -> None:
    errors = errors_of(AnnotationSet(tracks=[Track(1, 0, [])]), labels)
    assert set(errors) == {"tracks[0].shapes"}


def test_track_frame_becomes_its_first_keyframe(labels: LabelSet) -> None:
    """What CVAT does in effect: a track starts at its first keyframe, whatever
    its ``frame`` says (late, early, or out of the job's range)."""
    late = Track(1, 4, [TrackedShape("rectangle", 2, [0, 0, 1, 1])])
    early = Track(1, 0, [TrackedShape("rectangle", 3, [0, 0, 1, 1])])
    outside = Track(1, 99, [TrackedShape("rectangle", 1, [0, 0, 1, 1])])
    data = AnnotationSet(tracks=[late, early, outside])
    validate_annotations(data, labels, 0, 9)
    assert [track.frame for track in data.tracks] == [2, 3, 1]


def test_skeleton_elements_match_sublabels(labels: LabelSet) -> None:
    missing = skeleton(parts=(5,))
    twice = skeleton(parts=(5, 5, 6))
    foreign = skeleton(parts=(1, 5, 6))
    stray = box()
    stray.elements = [Shape("points", 0, 5, [1, 1])]
    errors = errors_of(AnnotationSet(shapes=[missing, twice, foreign, stray]), labels)
    assert errors["shapes[0].elements"] == ["Missing skeleton points: foot."]
    assert "shapes[1].elements[1].label_id" in errors
    assert "shapes[2].elements[0].label_id" in errors
    assert errors["shapes[3].elements"] == ["Only skeletons have elements."]


def test_skeleton_element_on_another_frame(labels: LabelSet) -> None:
    shape = skeleton()
    shape.elements[1].frame = 1
    assert list(errors_of(AnnotationSet(shapes=[shape]), labels)) == ["shapes[0].elements[1].frame"]


def test_skeleton_track_elements(labels: LabelSet) -> None:
    def part(label_id: int, frame: int = 0) -> Track:
        return Track(label_id, frame, [TrackedShape("points", frame, [1, 1])])

    track = Track(4, 0, [TrackedShape("skeleton", 0, [])], elements=[part(5), part(5, 12)])
    errors = errors_of(AnnotationSet(tracks=[track]), labels)
    assert set(errors) == {
        "tracks[0].elements",
        "tracks[0].elements[1].label_id",
        "tracks[0].elements[1].frame",
        "tracks[0].elements[1].shapes[0].frame",
    }


def test_all_problems_are_reported_together(labels: LabelSet) -> None:
    data = AnnotationSet(tags=[Tag(99, 0)], shapes=[box(frame=20), box(label_id=2)])
    with pytest.raises(AnnotationError) as caught:
        validate_annotations(data, labels, 0, 9)
    assert set(caught.value.errors) == {"tags[0].label_id", "shapes[0].frame", "shapes[1].label_id"}
    assert str(caught.value).startswith("tags[0].label_id: Label 99")


def test_imports_drop_values_the_api_refuses_and_say_which(labels) -> None:
    from annotask.annotations.validation import drop_invalid_attribute_values

    data = AnnotationSet(
        tags=[Tag(3, 0, attributes=[Attribute(11, "red")])],  # not an attribute of "weather"
        shapes=[
            box(attributes=[Attribute(11, "green"), Attribute(12, "50"), Attribute(14, "x")]),
            box(attributes=[Attribute(12, "7"), Attribute(12, "5")]),  # off the step, twice
        ],
        tracks=[
            Track(
                1,
                0,
                [TrackedShape("rectangle", 0, [0, 0, 1, 1], attributes=[Attribute(12, "500")])],
                attributes=[Attribute(11, "blue"), Attribute(12, "5")],  # mutable on the track
            )
        ],
    )
    dropped = drop_invalid_attribute_values(data, labels)
    assert len(dropped) == 5, dropped
    assert any('"green"' in line and "color" in line for line in dropped)
    assert data.tags[0].attributes == []
    assert data.shapes[0].attributes == [Attribute(12, "50"), Attribute(14, "x")]
    assert data.shapes[1].attributes == [Attribute(12, "5")]
    assert data.tracks[0].attributes == [Attribute(11, "blue")]
    assert data.tracks[0].shapes[0].attributes == []
    validate_annotations(data, labels, 0, 9)  # what is left passes the API's checks
    assert drop_invalid_attribute_values(data, labels) == []
