import time
from pathlib import Path

import av
import numpy as np
import pytest

from annotask.media import (
    Keyframe,
    MediaError,
    frame_to_ndarray,
    iter_frames,
    probe_video,
)
from annotask.media.video import nearest_keyframe

from .conftest import OPEN_GOP, VIDEO_FRAMES, VIDEO_GOP, VIDEO_SIZE, VideoSet, decode_all


def test_probe_counts_frames_and_finds_key_frames(videos: VideoSet) -> None:
    info = probe_video(videos.h264)
    assert (info.width, info.height) == VIDEO_SIZE
    assert info.frame_count == VIDEO_FRAMES
    assert info.fps == 25.0
    assert info.codec == "h264"
    assert [k.number for k in info.keyframes] == list(range(0, VIDEO_FRAMES, VIDEO_GOP))
    # pts of key frame n is that of the n-th decoded frame (B-frames reorder packets)
    with av.open(str(videos.h264)) as container:
        decoded_pts = [frame.pts for frame in container.decode(video=0)]
    assert [k.pts for k in info.keyframes] == [decoded_pts[k.number] for k in info.keyframes]


def test_open_gop_key_frames_are_numbered_in_display_order(videos: VideoSet) -> None:
    with av.open(str(videos.open_gop)) as container:
        stream = container.streams.video[0]
        packets = [packet for packet in container.demux(stream) if packet.size]
    demux_order_keys = [i for i, packet in enumerate(packets) if packet.is_keyframe]
    expected = list(range(0, VIDEO_FRAMES, OPEN_GOP))
    assert demux_order_keys[1:] != expected[1:]  # the fixture really reorders key frames
    info = probe_video(videos.open_gop)
    assert info.frame_count == VIDEO_FRAMES
    assert [k.number for k in info.keyframes] == expected
    reference = decode_all(videos.open_gop)
    for start in (11, 12, 25, 47):
        got = list(iter_frames(videos.open_gop, start, start + 4, keyframes=info.keyframes))
        assert [i for i, _ in got] == list(range(start, start + 5))
        for index, frame in got:
            assert np.array_equal(frame.to_ndarray(format="rgb24"), reference[index]), index


def test_probe_does_not_decode_the_frames(video_copy: Path) -> None:
    """Damage every non-key packet after frame 30: decoding fails, demuxing does not."""
    with av.open(str(video_copy)) as container:
        stream = container.streams.video[0]
        packets = [(p.pos, p.size, p.is_keyframe) for p in container.demux(stream) if p.size]
    data = bytearray(video_copy.read_bytes())
    for pos, size, key in packets[30:]:
        if not key:
            data[pos : pos + size] = bytes(size)
    video_copy.write_bytes(data)

    info = probe_video(video_copy)
    assert info.frame_count == VIDEO_FRAMES
    assert len(info.keyframes) == VIDEO_FRAMES // VIDEO_GOP
    with pytest.raises(MediaError, match="damaged"):
        for _ in iter_frames(video_copy):
            pass


def test_probe_mpeg4_avi(videos: VideoSet) -> None:
    info = probe_video(videos.mpeg4_avi)
    assert (info.frame_count, info.codec) == (30, "mpeg4")
    assert [k.number for k in info.keyframes] == [0, 10, 20]
    assert len(decode_all(videos.mpeg4_avi)) == 30


@pytest.mark.parametrize("name", ["truncated", "truncated_faststart"])
def test_truncated_video_is_a_readable_error(videos: VideoSet, name: str) -> None:
    path = getattr(videos, name)
    started = time.monotonic()
    with pytest.raises(MediaError) as caught:
        probe_video(path)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert path.name in message
    assert "truncated" in message or "damaged" in message


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"hello, world" * 100)
    with pytest.raises(MediaError, match="fake.mp4"):
        probe_video(path)


def test_rotated_video_reports_display_size_and_rotates_frames(videos: VideoSet) -> None:
    info = probe_video(videos.rotated)
    assert info.rotation == 90
    assert (info.width, info.height) == (VIDEO_SIZE[1], VIDEO_SIZE[0])
    _, frame = next(iter_frames(videos.rotated))
    pixels = frame_to_ndarray(frame)
    assert pixels.shape == (VIDEO_SIZE[0], VIDEO_SIZE[1], 3)
    # 90 degrees counter-clockwise: the green top-left marker ends up bottom-left.
    assert pixels[-8, 8, 1] > 200 and pixels[-8, 8, 0] < 60
    assert pixels[8, 8, 1] < 200 or pixels[8, 8, 0] > 60


@pytest.mark.parametrize(
    ("start", "stop", "step"),
    [(0, None, 1), (23, 41, 3), (10, 10, 1), (37, 59, 7), (55, 100, 1), (0, 59, 20)],
)
def test_iter_frames_with_seek_matches_a_full_decode(
    videos: VideoSet, start: int, stop: int | None, step: int
) -> None:
    reference = decode_all(videos.h264)
    keyframes = probe_video(videos.h264).keyframes
    got = [
        (i, f.to_ndarray(format="rgb24"))
        for i, f in iter_frames(videos.h264, start, stop, step, keyframes)
    ]
    last = VIDEO_FRAMES - 1 if stop is None else min(stop, VIDEO_FRAMES - 1)
    assert [i for i, _ in got] == list(range(start, last + 1, step))
    for index, pixels in got:
        assert np.array_equal(pixels, reference[index]), index


def test_iter_frames_without_keyframes_decodes_from_start(videos: VideoSet) -> None:
    reference = decode_all(videos.h264)
    got = list(iter_frames(videos.h264, 44, 46))
    assert [i for i, _ in got] == [44, 45, 46]
    assert np.array_equal(got[0][1].to_ndarray(format="rgb24"), reference[44])


def test_wrong_keyframes_fall_back_to_decoding_from_start(videos: VideoSet) -> None:
    reference = decode_all(videos.h264)
    bogus = [Keyframe(0, 0), Keyframe(25, 5)]  # frame 25 is no key frame; pts 5 is nothing
    got = list(iter_frames(videos.h264, 30, 31, keyframes=bogus))
    assert [i for i, _ in got] == [30, 31]
    assert np.array_equal(got[0][1].to_ndarray(format="rgb24"), reference[30])


def test_verify_keyframes_keeps_the_seekable_ones(videos: VideoSet) -> None:
    info = probe_video(videos.h264, verify_keyframes=True)
    assert [k.number for k in info.keyframes] == list(range(0, VIDEO_FRAMES, VIDEO_GOP))


def test_nearest_keyframe() -> None:
    keyframes = [Keyframe(0, 0), Keyframe(10, 100), Keyframe(20, 200)]
    assert nearest_keyframe(keyframes, 0) == Keyframe(0, 0)
    assert nearest_keyframe(keyframes, 19) == Keyframe(10, 100)
    assert nearest_keyframe(keyframes, 20) == Keyframe(20, 200)
    assert nearest_keyframe(keyframes[1:], 5) is None
