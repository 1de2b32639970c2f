"""Video tasks: probing by demuxing, mp4 and zip chunks, frames, broken files (issue 1, 4)."""

from __future__ import annotations

import io
import json

import av
import pytest
from PIL import Image

from .conftest import red_level, video
from .helpers import chunk_zip, create, create_ok, data, generated_dir, meta


def decode_mp4(payload: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(payload)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


@pytest.mark.parametrize("use_cache", [False, True])
def test_mp4_chunks_hold_their_frames(client, small_video, use_cache):
    task_id = create_ok(client, {"clip.mp4": small_video}, chunk_size=16, use_cache=use_cache)
    task = client.get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 40 and task["mode"] == "interpolation"
    assert (task["data_compressed_chunk_type"], task["data_original_chunk_type"]) == (
        "video",
        "video",
    )
    body = meta(client, task_id)
    assert [(f["name"], f["width"], f["height"]) for f in body["frames"]] == [("clip.mp4", 64, 48)]
    for number, first, count in [(0, 0, 16), (2, 32, 8)]:
        for quality in ("compressed", "original"):
            response = data(client, task_id, "chunk", number, quality)
            assert response.headers["content-type"] == "video/mp4"
            assert int(response.headers["content-length"]) == len(response.content)
            frames = decode_mp4(response.content)
            assert len(frames) == count
            assert frames[0].size == (64, 48)
            assert abs(red_level(frames[0]) - first * 6) < 10
    assert data(client, task_id, "chunk", 3).status_code == 400


def test_zip_chunks_for_video(client, small_video):
    task_id = create_ok(
        client, {"clip.mp4": small_video}, chunk_size=16, use_zip_chunks=True, use_cache=True
    )
    task = client.get(f"/api/tasks/{task_id}").json()
    assert (task["data_compressed_chunk_type"], task["data_original_chunk_type"]) == (
        "imageset",
        "video",
    )
    chunk = chunk_zip(client, task_id, 1)
    assert chunk.namelist() == [f"{i:06d}.jpeg" for i in range(16)]
    assert abs(red_level(Image.open(io.BytesIO(chunk.read("000003.jpeg")))) - 19 * 6) < 10
    assert data(client, task_id, "chunk", 1, "original").headers["content-type"] == "video/mp4"


def test_video_frames_with_range_and_step(client, small_video):
    task_id = create_ok(
        client, {"clip.mp4": small_video}, start_frame=4, frame_filter="step=3", use_cache=True
    )
    assert meta(client, task_id)["size"] == 12  # source frames 4, 7, ..., 37
    original = data(client, task_id, "frame", 5, "original")  # source frame 19
    assert original.headers["content-type"] == "image/png"
    assert abs(red_level(Image.open(io.BytesIO(original.content))) - 19 * 6) < 6
    compressed = data(client, task_id, "frame", 5)
    assert compressed.headers["content-type"] == "image/jpeg"
    chunk = decode_mp4(data(client, task_id, "chunk", 0, "original").content)
    assert [round(red_level(f) / 6) for f in chunk] == list(range(4, 38, 3))
    preview = client.get(f"/api/tasks/{task_id}/preview")
    assert abs(red_level(Image.open(io.BytesIO(preview.content))) - 4 * 6) < 10


def test_manifest_lists_key_frames_found_by_demuxing(client, sqlite_server, small_video):
    task_id = create_ok(client, {"clip.mp4": small_video}, use_cache=True)
    lines = [
        json.loads(line)
        for line in (generated_dir(sqlite_server.data_dir, task_id) / "manifest.jsonl")
        .read_text()
        .splitlines()
    ]
    assert lines[:2] == [{"version": "1.1"}, {"type": "video"}]
    assert lines[2]["properties"] == {"name": "clip.mp4", "resolution": [64, 48], "length": 40}
    assert [entry["number"] for entry in lines[3:]] == [0, 10, 20, 30]


def test_truncated_video_fails_with_a_message(client, small_video):
    _task_id, result = create(client, {"cut.mp4": small_video[: len(small_video) // 2]})
    assert result["status"] == "failed"
    assert "cut.mp4" in result["message"]


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"a.mp4": video(5), "b.mp4": video(5)}, "Only one video"),
        ({"a.mp4": video(5), "x.png": b"png"}, "Only one video"),
    ],
)
def test_one_video_per_task_and_no_mixing(client, files, reason):
    _task_id, result = create(client, files)
    assert result["status"] == "failed" and reason in result["message"]


def test_video_in_another_container(client):
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.gop_size = 5
        for index in range(12):
            frame = av.VideoFrame.from_image(Image.new("RGB", (32, 32), (index * 20, 0, 0)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    task_id = create_ok(client, {"clip.mkv": buffer.getvalue()}, use_zip_chunks=True)
    assert meta(client, task_id)["size"] == 12
    chunk = chunk_zip(client, task_id, 0)
    assert abs(red_level(Image.open(io.BytesIO(chunk.read("000007.jpeg")))) - 140) < 12
