"""The overlap merge (task-semantics 7) and slicing task annotations into jobs.

The jobs below are CVAT's segments for size 20, segment size 10, overlap 2:
job A = [0, 9], job B = [8, 17] (so s = 8, s + o = 10), job C = [16, 19].
"""

from __future__ import annotations

from annotask.annotations import AnnotationSet, Shape, Tag, Track, TrackedShape
from annotask.annotations.merge import (
    merge,
    merge_jobs,
    shape_similarity,
    slice_for_job,
    track_similarity,
)
from annotask.annotations.model import Attribute

START, OVERLAP = 8, 2


def box(frame: int, x: float, label_id: int = 1, size: float = 10, **kw) -> Shape:
    return Shape("rectangle", frame, label_id, [x, 0, x + size, size], **kw)


def kf(frame: int, x: float, outside: bool = False, **kw) -> TrackedShape:
    return TrackedShape("rectangle", frame, [x, 0, x + 10, 10], outside=outside, **kw)


def test_box_annotated_in_both_jobs_merges_into_one() -> None:
    job_a = AnnotationSet(shapes=[box(8, 0, id=1, source="manual")])
    job_b = AnnotationSet(shapes=[box(8, 0.5, id=2, source="auto")])  # IoU ≈ 0.90
    result = merge(merge(AnnotationSet(), job_a, 0, OVERLAP), job_b, START, OVERLAP)
    assert len(result.shapes) == 1
    assert result.shapes[0].id == 1  # the earlier job's shape is kept


def test_boxes_below_the_iou_threshold_stay_apart() -> None:
    job_a = AnnotationSet(shapes=[box(8, 0)])
    job_b = AnnotationSet(shapes=[box(8, 2)])  # IoU = 8/12 ≈ 0.67 < 0.75
    assert len(merge(job_a, job_b, START, OVERLAP).shapes) == 2


def test_same_box_with_another_label_or_frame_is_not_merged() -> None:
    job_a = AnnotationSet(shapes=[box(8, 0), box(9, 0)])
    job_b = AnnotationSet(shapes=[box(8, 0, label_id=2), box(8, 40)])
    assert len(merge(job_a, job_b, START, OVERLAP).shapes) == 4


def test_objects_after_the_overlap_are_appended_and_inputs_untouched() -> None:
    job_a = AnnotationSet(shapes=[box(8, 0)])
    job_b = AnnotationSet(shapes=[box(8, 0), box(10, 0), box(15, 0)])
    result = merge(job_a, job_b, START, OVERLAP)
    assert sorted(s.frame for s in result.shapes) == [8, 10, 15]
    assert len(job_a.shapes) == 1 and len(job_b.shapes) == 3


def test_hungarian_matching_pairs_the_best_boxes() -> None:
    job_a = AnnotationSet(shapes=[box(9, 0, id=1), box(9, 20, id=2)])
    job_b = AnnotationSet(shapes=[box(9, 20.5, id=3), box(9, 0.5, id=4), box(9, 60, id=5)])
    result = merge(job_a, job_b, START, OVERLAP)
    assert sorted(s.id for s in result.shapes) == [1, 2, 5]


def test_polygons_merge_by_shapely_iou() -> None:
    square = [0, 0, 10, 0, 10, 10, 0, 10]
    near = [0.5, 0, 10.5, 0, 10.5, 10, 0.5, 10]
    far = [6, 0, 16, 0, 16, 10, 6, 10]
    job_a = AnnotationSet(shapes=[Shape("polygon", 8, 2, square, id=1)])
    merged = merge(job_a, AnnotationSet(shapes=[Shape("polygon", 8, 2, near)]), START, OVERLAP)
    assert [s.id for s in merged.shapes] == [1]
    kept = merge(job_a, AnnotationSet(shapes=[Shape("polygon", 8, 2, far)]), START, OVERLAP)
    assert len(kept.shapes) == 2


def test_invalid_or_flat_polygons_never_match() -> None:
    bowtie = Shape("polygon", 8, 2, [0, 0, 10, 10, 10, 0, 0, 10])
    flat = Shape("polygon", 8, 2, [0, 0, 5, 0, 10, 0])
    assert shape_similarity(bowtie, bowtie) == 0
    assert shape_similarity(flat, flat) == 0


def test_tags_merge_by_label() -> None:
    job_a = AnnotationSet(tags=[Tag(3, 9, id=1)])
    job_b = AnnotationSet(tags=[Tag(3, 9, id=2), Tag(4, 9, id=3), Tag(3, 12, id=4)])
    result = merge(job_a, job_b, START, OVERLAP)
    assert sorted(t.id for t in result.tags) == [1, 3, 4]


def test_points_polylines_and_ellipses_are_kept_from_both_jobs() -> None:
    def shapes() -> list[Shape]:
        return [
            Shape("points", 8, 1, [1, 1, 2, 2]),
            Shape("polyline", 8, 1, [0, 0, 10, 10]),
            Shape("ellipse", 8, 1, [5, 5, 10, 0]),
            Shape("cuboid", 8, 1, [float(i) for i in range(16)]),
        ]

    result = merge(AnnotationSet(shapes=shapes()), AnnotationSet(shapes=shapes()), START, OVERLAP)
    assert sorted(s.type for s in result.shapes) == sorted(
        ["points", "polyline", "ellipse", "cuboid"] * 2
    )


def test_3d_cuboids_merge_by_top_and_side_view_iou() -> None:
    def cuboid(x: float) -> Shape:
        return Shape("cuboid", 8, 7, [x, 0, 0, 0, 0, 0, 10, 10, 10] + [0.0] * 7)

    assert shape_similarity(cuboid(0), cuboid(0.5), "3d") > 0.75
    result = merge(
        AnnotationSet(shapes=[cuboid(0)]),
        AnnotationSet(shapes=[cuboid(0.5)]),
        START,
        OVERLAP,
        dimension="3d",
    )
    assert len(result.shapes) == 1
    assert shape_similarity(cuboid(0), cuboid(0.5), "2d") == 0


def test_track_crossing_the_boundary_becomes_one_track() -> None:
    old = Track(1, 0, [kf(0, 0), kf(9, 90)], id=7, attributes=[Attribute(11, "red")])
    new = Track(1, 8, [kf(8, 81), kf(9, 95), kf(15, 150)], id=8, attributes=[Attribute(11, "blue")])
    result = merge(AnnotationSet(tracks=[old]), AnnotationSet(tracks=[new]), START, OVERLAP)
    assert len(result.tracks) == 1
    track = result.tracks[0]
    assert track.id == 7 and track.frame == 0
    assert track.attributes == [Attribute(11, "red")]  # the earlier track's identity
    assert [s.frame for s in track.shapes] == [0, 8, 9, 15]
    assert track.shapes[2].points == [90, 0, 100, 10]  # on a shared frame the earlier job wins
    assert not any(s.outside for s in track.shapes)


def test_unmatched_old_track_is_closed_at_the_end_of_the_overlap() -> None:
    old = Track(1, 0, [kf(0, 0), kf(9, 90)])
    elsewhere = Track(1, 8, [kf(8, 400), kf(12, 420)])  # far away: no match
    result = merge(AnnotationSet(tracks=[old]), AnnotationSet(tracks=[elsewhere]), START, OVERLAP)
    assert len(result.tracks) == 2
    closed = result.tracks[0]
    assert [(s.frame, s.outside) for s in closed.shapes] == [(0, False), (9, False), (10, True)]
    assert closed.shapes[-1].points == closed.shapes[-2].points
    assert len(old.shapes) == 2  # input untouched


def test_old_track_is_closed_when_the_next_job_has_no_tracks() -> None:
    old = Track(1, 0, [kf(0, 0)])
    ended = Track(1, 0, [kf(0, 0), kf(3, 0, outside=True)])
    result = merge(AnnotationSet(tracks=[old, ended]), AnnotationSet(), START, OVERLAP)
    assert [s.frame for s in result.tracks[0].shapes] == [0, 10]
    assert result.tracks[0].shapes[-1].outside
    assert [s.frame for s in result.tracks[1].shapes] == [0, 3]  # already ended


def test_track_similarity_averages_over_the_overlap() -> None:
    old = Track(1, 0, [kf(0, 0)])
    same = Track(1, 8, [kf(8, 0)])
    assert track_similarity(old, same, START, OVERLAP) == 1
    half = Track(1, 9, [kf(9, 0)])  # missing on frame 8: error 1 of 2
    assert track_similarity(old, half, START, OVERLAP) == 0.5
    assert track_similarity(old, Track(2, 8, [kf(8, 0)]), START, OVERLAP) == 0


def test_skeleton_tracks_unite_elements_and_close_them() -> None:
    def skeleton(frame: int, x: float, *frames: int) -> Track:
        return Track(
            4,
            frame,
            [TrackedShape("skeleton", f, []) for f in (frame, *frames)],
            elements=[
                Track(5, frame, [TrackedShape("points", f, [x + f, 0]) for f in (frame, *frames)]),
                Track(6, frame, [TrackedShape("points", f, [x + f, 5]) for f in (frame, *frames)]),
            ],
        )

    # Skeletons never count as similar (CVAT), so the old one is closed, elements too.
    result = merge(
        AnnotationSet(tracks=[skeleton(0, 0)]),
        AnnotationSet(tracks=[skeleton(8, 0, 12)]),
        START,
        OVERLAP,
    )
    old = result.tracks[0]
    assert old.shapes[-1].frame == 10 and old.shapes[-1].outside
    assert all(e.shapes[-1].frame == 10 and e.shapes[-1].outside for e in old.elements)


def test_merge_jobs_in_id_order_over_three_jobs() -> None:
    job_a = AnnotationSet(shapes=[box(8, 0), box(1, 0)], tracks=[Track(1, 0, [kf(0, 0), kf(9, 9)])])
    job_b = AnnotationSet(
        shapes=[box(8, 0.2), box(16, 0)],
        tracks=[Track(1, 8, [kf(8, 8), kf(17, 17)])],
    )
    job_c = AnnotationSet(
        shapes=[box(16, 0.1), box(19, 0)], tracks=[Track(1, 16, [kf(16, 16), kf(19, 19)])]
    )
    result = merge_jobs([(job_a, 0), (job_b, 8), (job_c, 16)], OVERLAP)
    assert sorted(s.frame for s in result.shapes) == [1, 8, 16, 19]
    assert len(result.tracks) == 1
    assert [s.frame for s in result.tracks[0].shapes] == [0, 8, 9, 16, 17, 19]


def test_slice_for_job_copies_overlap_objects_into_both_jobs() -> None:
    task = AnnotationSet(tags=[Tag(3, 9)], shapes=[box(8, 0), box(3, 0), box(12, 0)])
    job_a, job_b = slice_for_job(task, 0, 9), slice_for_job(task, 8, 17)
    assert sorted(s.frame for s in job_a.shapes) == [3, 8]
    assert sorted(s.frame for s in job_b.shapes) == [8, 12]
    assert len(job_a.tags) == len(job_b.tags) == 1
    job_a.shapes[0].points[0] = 99
    assert task.shapes[0].points[0] == 0  # copies


def test_slice_cuts_tracks_with_keyframes_at_the_job_edges() -> None:
    track = Track(1, 0, [kf(0, 0), kf(15, 150), kf(18, 180, outside=True)])
    task = AnnotationSet(tracks=[track])
    first = slice_for_job(task, 0, 9).tracks[0]
    assert [(s.frame, s.points[0], s.outside) for s in first.shapes] == [
        (0, 0, False),
        (9, 90, False),
    ]
    second = slice_for_job(task, 8, 17).tracks[0]
    assert second.frame == 8
    # keyframes at the job's first and last frames hold the interpolated positions
    assert [(s.frame, s.points[0]) for s in second.shapes] == [(8, 80), (15, 150), (17, 170)]
    third = slice_for_job(task, 16, 19).tracks[0]
    assert [(s.frame, s.outside) for s in third.shapes] == [(16, False), (18, True)]


def test_slice_skips_tracks_not_visible_in_the_job() -> None:
    ended = Track(1, 0, [kf(0, 0), kf(4, 0, outside=True)])
    later = Track(1, 12, [kf(12, 0)])
    task = AnnotationSet(tracks=[ended, later])
    assert slice_for_job(task, 8, 10).tracks == []
    assert len(slice_for_job(task, 8, 12).tracks) == 1


def test_slice_keeps_an_outside_keyframe_that_ends_the_track_inside_the_job() -> None:
    track = Track(1, 0, [kf(0, 0), kf(5, 50, outside=True)])
    job = slice_for_job(AnnotationSet(tracks=[track]), 3, 9).tracks[0]
    assert [(s.frame, s.outside) for s in job.shapes] == [(3, False), (5, True)]
    twice = Track(1, 0, [kf(0, 0), kf(4, 40), kf(5, 50, outside=True)])
    job = slice_for_job(AnnotationSet(tracks=[twice]), 3, 9).tracks[0]
    assert [s.frame for s in job.shapes] == [3, 4, 5]  # no duplicated outside keyframe


def test_slice_then_merge_restores_the_task_view() -> None:
    task = AnnotationSet(
        shapes=[box(8, 0), box(9, 30), box(2, 0), box(14, 0)],
        tags=[Tag(3, 8)],
        tracks=[Track(1, 0, [kf(0, 0), kf(15, 150)])],
    )
    jobs = [
        (slice_for_job(task, 0, 9), 0),
        (slice_for_job(task, 8, 17), 8),
        (slice_for_job(task, 16, 19), 16),
    ]
    result = merge_jobs(jobs, OVERLAP)
    assert sorted((s.frame, s.points[0]) for s in result.shapes) == [
        (2, 0),
        (8, 0),
        (9, 30),
        (14, 0),
    ]
    assert len(result.tags) == 1
    assert len(result.tracks) == 1
    frames = [s.frame for s in result.tracks[0].shapes]
    assert frames[0] == 0 and 15 in frames
