"""Frame range, step, segments and jobs (task-semantics 1b, 2; issue items 2 and 3)."""

from __future__ import annotations

import pytest

from .conftest import images
from .helpers import create, create_ok, jobs, meta, new_task, start_data

TEN = images(10)


@pytest.mark.parametrize(
    ("task", "params", "expected_jobs", "stored"),
    [
        ({"segment_size": 4, "overlap": 1}, {}, [(0, 3), (3, 6), (6, 9)], (4, 1)),
        ({"segment_size": 5}, {}, [(0, 4), (5, 9)], (5, 0)),  # images: no default overlap
        ({"segment_size": 5, "overlap": 2}, {}, [(0, 4), (3, 7), (6, 9)], (5, 2)),
        # an overlap below the segment size but above half of it is capped at half
        ({"segment_size": 4, "overlap": 3}, {}, [(0, 3), (2, 5), (4, 7), (6, 9)], (4, 2)),
        ({}, {}, [(0, 9)], (10, 0)),
        ({"segment_size": 20}, {}, [(0, 9)], (10, 0)),
        # source frames 1, 3, 5, 7 -> 4 task frames
        (
            {"segment_size": 3, "overlap": 1},
            {"start_frame": 1, "stop_frame": 8, "frame_filter": "step=2"},
            [(0, 2), (2, 3)],
            (3, 1),
        ),
    ],
)
def test_segments_follow_cvats_formula(client, task, params, expected_jobs, stored):
    task_id = create_ok(client, TEN, task=task, **params)
    assert jobs(client, task_id) == expected_jobs
    body = client.get(f"/api/tasks/{task_id}").json()
    assert (body["segment_size"], body["overlap"]) == stored


def test_video_default_overlap_is_five(client, small_video):
    task_id = create_ok(client, {"clip.mp4": small_video}, task={"segment_size": 10})
    assert jobs(client, task_id) == [(s, s + 9) for s in range(0, 31, 5)]
    assert client.get(f"/api/tasks/{task_id}").json()["overlap"] == 5


def test_video_overlap_is_capped_at_half_a_segment(client, small_video):
    task_id = create_ok(client, {"clip.mp4": small_video}, task={"segment_size": 6})
    assert jobs(client, task_id)[:3] == [(0, 5), (3, 8), (6, 11)]
    assert client.get(f"/api/tasks/{task_id}").json()["overlap"] == 3


def test_overlap_not_smaller_than_segment_size_is_a_400(client):
    response = client.post(
        "/api/tasks",
        json={"name": "o", "labels": [{"name": "a"}], "segment_size": 3, "overlap": 3},
    )
    assert response.status_code == 400 and "overlap" in response.json()
    assert "Segment size must be more than overlap size" in response.text


def test_range_and_step_keep_the_right_source_frames(client):
    task_id = create_ok(client, TEN, start_frame=2, stop_frame=9, frame_filter="step=3")
    body = meta(client, task_id)
    assert [f["name"] for f in body["frames"]] == ["img02.jpg", "img05.jpg", "img08.jpg"]
    assert (body["size"], body["start_frame"], body["stop_frame"]) == (3, 2, 8)
    assert body["frame_filter"] == "step=3"


def test_stop_frame_zero_means_the_end(client):
    task_id = create_ok(client, TEN, start_frame=7, stop_frame=0)
    assert meta(client, task_id)["size"] == 3


def test_video_frame_range_and_step(client, small_video):
    task_id = create_ok(
        client, {"clip.mp4": small_video}, start_frame=10, stop_frame=32, frame_filter="step=5"
    )
    body = meta(client, task_id)
    assert (body["size"], body["start_frame"], body["stop_frame"]) == (5, 10, 30)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"start_frame": 3, "stop_frame": 1}, "Stop frame must be more or equal start frame"),
        ({"frame_filter": "step=0"}, "Invalid frame filter expression"),
        ({"frame_filter": "every 2"}, "Invalid frame filter expression"),
    ],
)
def test_invalid_ranges_are_400s(client, params, reason):
    response = start_data(client, new_task(client), TEN, **params)
    assert response.status_code == 400 and reason in response.text


def test_start_beyond_the_end_fails_the_request_with_a_message(client):
    _task_id, result = create(client, TEN, start_frame=10)
    assert result["status"] == "failed"
    assert "beyond the last frame" in result["message"]


def test_job_file_mapping_makes_one_job_per_list(client):
    mapping = [["img03.jpg", "img01.jpg"], ["img00.jpg"], ["img07.jpg", "img08.jpg", "img02.jpg"]]
    task_id = create_ok(client, TEN, job_file_mapping=mapping)
    assert jobs(client, task_id) == [(0, 1), (2, 2), (3, 5)]
    names = [f["name"] for f in meta(client, task_id)["frames"]]
    assert names == [name for job in mapping for name in job]
    body = client.get(f"/api/tasks/{task_id}").json()
    assert (body["size"], body["segment_size"], body["overlap"]) == (6, 0, 0)


@pytest.mark.parametrize(
    ("mapping", "extra", "reason"),
    [
        ([["img01.jpg"], ["img01.jpg"]], {}, "cannot be used multiple times"),
        ([["img01.jpg"], []], {}, "cannot be empty"),
        ([["img01.jpg"]], {"frame_filter": "step=2"}, "job_file_mapping can't be used"),
        ([["img01.jpg"]], {"sorting_method": "natural"}, "job_file_mapping can't be used"),
    ],
)
def test_job_file_mapping_rules_are_400s(client, mapping, extra, reason):
    response = start_data(client, new_task(client), TEN, job_file_mapping=mapping, **extra)
    assert response.status_code == 400 and reason in response.text


def test_job_file_mapping_naming_an_unknown_file_fails(client):
    _task_id, result = create(client, TEN, job_file_mapping=[["img01.jpg", "nope.jpg"]])
    assert result["status"] == "failed" and "nope.jpg" in result["message"]


def test_job_file_mapping_is_refused_for_video(client, small_video):
    _task_id, result = create(client, {"clip.mp4": small_video}, job_file_mapping=[["clip.mp4"]])
    assert result["status"] == "failed" and "videos" in result["message"]
