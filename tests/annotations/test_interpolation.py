"""Track interpolation: linear shapes, points, CVAT's polygon resampling, outside spans."""

from __future__ import annotations

import pytest

from annotask.annotations import Track, TrackedShape
from annotask.annotations.interpolation import angle_difference, interpolate_track
from annotask.annotations.model import Attribute


def track(*shapes: TrackedShape, frame: int | None = None) -> Track:
    return Track(1, shapes[0].frame if frame is None else frame, list(shapes))


def by_frame(shapes: list[TrackedShape]) -> dict[int, TrackedShape]:
    return {s.frame: s for s in shapes}


def test_rectangle_linear_with_keyframe_flags_and_propagation() -> None:
    t = track(
        TrackedShape("rectangle", 2, [0, 0, 10, 10]),
        TrackedShape("rectangle", 6, [40, 20, 50, 30]),
    )
    shapes = interpolate_track(t, 8)
    assert [s.frame for s in shapes] == [2, 3, 4, 5, 6, 7, 8]
    assert [s.keyframe for s in shapes] == [True, False, False, False, True, False, False]
    assert by_frame(shapes)[3].points == [10, 5, 20, 15]
    assert by_frame(shapes)[5].points == [30, 15, 40, 25]
    assert by_frame(shapes)[8].points == [40, 20, 50, 30]  # held after the last keyframe
    assert t.shapes[0].keyframe and len(t.shapes) == 2  # the track itself is untouched


def test_output_stops_at_stop_frame_even_before_the_next_keyframe() -> None:
    t = track(
        TrackedShape("rectangle", 0, [0, 0, 10, 10]), TrackedShape("rectangle", 10, [10, 0, 20, 10])
    )
    shapes = interpolate_track(t, 4)
    assert [s.frame for s in shapes] == [0, 1, 2, 3, 4]
    assert shapes[-1].points == [4, 0, 14, 10]


def test_outside_keyframe_ends_the_visible_span() -> None:
    t = track(
        TrackedShape("rectangle", 0, [0, 0, 4, 4]),
        TrackedShape("rectangle", 4, [4, 0, 8, 4], outside=True),
        TrackedShape("rectangle", 7, [0, 0, 2, 2]),
        TrackedShape("rectangle", 8, [0, 0, 2, 2], outside=True),
    )
    shapes = interpolate_track(t, 12)
    assert [(s.frame, s.outside) for s in shapes] == [
        (0, False),
        (1, False),
        (2, False),
        (3, False),
        (4, True),  # the outside keyframe marks the end of the span
        (7, False),
        (8, True),
    ]
    assert by_frame(shapes)[2].points == [2, 0, 6, 4]
    with_outside = interpolate_track(t, 12, include_outside=True)
    assert [s.frame for s in with_outside] == list(range(0, 13))
    assert all(s.outside for s in with_outside if s.frame in (5, 6, 9, 12))


def test_frames_filter() -> None:
    t = track(
        TrackedShape("rectangle", 0, [0, 0, 10, 10]), TrackedShape("rectangle", 4, [4, 4, 14, 14])
    )
    assert [s.frame for s in interpolate_track(t, 9, frames={1, 4, 7})] == [1, 4, 7]


def test_points_move_point_by_point_when_counts_match() -> None:
    t = track(TrackedShape("points", 0, [0, 0, 10, 10]), TrackedShape("points", 2, [4, 0, 10, 20]))
    assert by_frame(interpolate_track(t, 2))[1].points == [2, 0, 10, 15]


def test_points_with_different_counts_hold_the_left_keyframe() -> None:
    t = track(TrackedShape("points", 0, [0, 0, 10, 10]), TrackedShape("points", 2, [4, 0]))
    assert by_frame(interpolate_track(t, 2))[1].points == [0, 0, 10, 10]


def test_polygon_with_equal_counts_moves_each_vertex() -> None:
    t = track(
        TrackedShape("polygon", 0, [0, 0, 10, 0, 10, 10, 0, 10]),
        TrackedShape("polygon", 2, [10, 0, 20, 0, 20, 10, 10, 10]),
    )
    assert by_frame(interpolate_track(t, 2))[1].points == [5, 0, 15, 0, 15, 10, 5, 10]


def test_polygon_with_more_points_is_resampled_like_cvat() -> None:
    # The right outline has an extra vertex at (5, 0): along the closed curve it
    # sits at 1/8 of the length, so it pairs with the first left vertex and the
    # generated outline grows a vertex that slides from (0, 0) towards (5, 0).
    t = track(
        TrackedShape("polygon", 0, [0, 0, 10, 0, 10, 10, 0, 10]),
        TrackedShape("polygon", 4, [0, 0, 5, 0, 10, 0, 10, 10, 0, 10]),
    )
    shapes = by_frame(interpolate_track(t, 4))
    assert shapes[1].points == [0, 0, 1.25, 0, 10, 0, 10, 10, 0, 10]
    assert shapes[2].points == [0, 0, 2.5, 0, 10, 0, 10, 10, 0, 10]


def test_polyline_with_fewer_points_is_resampled_like_cvat() -> None:
    t = track(
        TrackedShape("polyline", 0, [0, 0, 10, 0]),
        TrackedShape("polyline", 2, [0, 10, 5, 10, 10, 10]),
    )
    assert by_frame(interpolate_track(t, 2))[1].points == [0, 5, 2.5, 5, 10, 5]


def test_crowded_points_collapse_to_their_average() -> None:
    # Three left vertices near the start all pair with the right start vertex.
    # Near the right keyframe they are closer than half the run's average
    # segment length (0.2 / (2 * 3)), so they collapse into their average.
    t = track(
        TrackedShape("polyline", 0, [0, 0, 0.1, 0, 0.2, 0, 10, 0]),
        TrackedShape("polyline", 10, [0, 0, 10, 0]),
    )
    shapes = by_frame(interpolate_track(t, 10))
    assert shapes[9].points == pytest.approx([0.01, 0, 10, 0])
    assert shapes[1].points == pytest.approx([0, 0, 0.09, 0, 0.18, 0, 10, 0])  # still apart


@pytest.mark.parametrize(
    ("left", "right", "middle"),
    [(350.0, 10.0, 0.0), (10.0, 350.0, 0.0), (90.0, 270.0, 0.0), (0.0, 90.0, 45.0)],
)
def test_rotation_takes_the_short_way(left: float, right: float, middle: float) -> None:
    t = track(
        TrackedShape("rectangle", 0, [0, 0, 1, 1], rotation=left),
        TrackedShape("rectangle", 2, [0, 0, 1, 1], rotation=right),
    )
    assert by_frame(interpolate_track(t, 2))[1].rotation == pytest.approx(middle)


def test_angle_difference_is_signed_and_short() -> None:
    assert angle_difference(10, 350) == 20
    assert angle_difference(350, 10) == -20
    assert angle_difference(180, 0) == -180


def test_mutable_attributes_carry_over_to_later_keyframes() -> None:
    t = track(
        TrackedShape("rectangle", 0, [0, 0, 1, 1], attributes=[Attribute(12, "5")]),
        TrackedShape("rectangle", 2, [0, 0, 1, 1], attributes=[Attribute(13, "true")]),
        TrackedShape("rectangle", 3, [0, 0, 1, 1], attributes=[Attribute(12, "10")]),
    )
    shapes = by_frame(interpolate_track(t, 3))
    assert shapes[1].attributes == [Attribute(12, "5")]
    assert set(shapes[2].attributes) == {Attribute(13, "true"), Attribute(12, "5")}
    assert set(shapes[3].attributes) == {Attribute(12, "10"), Attribute(13, "true")}


def test_masks_are_held_not_interpolated() -> None:
    t = track(
        TrackedShape("mask", 0, [1, 1, 0, 0, 1, 0]),
        TrackedShape("mask", 2, [0, 2, 0, 0, 1, 0]),
    )
    assert by_frame(interpolate_track(t, 2))[1].points == [1, 1, 0, 0, 1, 0]


def test_unsorted_keyframes_are_sorted_and_duplicates_refused() -> None:
    t = Track(
        1,
        0,
        [TrackedShape("rectangle", 2, [2, 2, 3, 3]), TrackedShape("rectangle", 0, [0, 0, 1, 1])],
    )
    assert by_frame(interpolate_track(t, 2))[1].points == [1, 1, 2, 2]
    duplicate = track(
        TrackedShape("rectangle", 0, [0, 0, 1, 1]), TrackedShape("rectangle", 0, [0, 0, 1, 1])
    )
    with pytest.raises(ValueError, match="not increasing"):
        interpolate_track(duplicate, 3)
