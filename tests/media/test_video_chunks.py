import io
import re
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from annotask.media import (
    ORIGINAL_VIDEO_QUALITY,
    iter_frames,
    probe_image,
    probe_video,
    quality_to_crf,
    select_encoder,
    write_video_chunk,
    write_video_frames_zip_chunk,
)
from annotask.media.video_chunks import hd_downscale_size

from .conftest import VIDEO_SIZE, VideoSet, decode_all, video_frame_pixels


def test_quality_to_crf() -> None:
    assert [quality_to_crf(q) for q in (100, 70, 67, 50, 1, 0)] == [0, 15, 17, 26, 51, 51]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1280, 720), (1280, 720)),
        ((1920, 1080), (960, 540)),
        ((1920, 1079), (1920, 1079)),
        ((3840, 2160), (960, 540)),
        ((4096, 2304), (1024, 576)),
    ],
)
def test_hd_downscale(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert hd_downscale_size(*size) == expected


def test_an_h264_encoder_is_selected() -> None:
    assert select_encoder() in ("libx264", "libopenh264")


def test_video_chunk_from_decoded_frames(videos: VideoSet, tmp_path: Path) -> None:
    out = tmp_path / "chunk.mp4"
    frames = (frame for _, frame in iter_frames(videos.h264, 10, 45))
    assert write_video_chunk(frames, str(out), quality=ORIGINAL_VIDEO_QUALITY) == 36
    info = probe_video(out)
    assert (info.frame_count, info.codec, info.fps) == (36, "h264", 25.0)
    assert (info.width, info.height) == VIDEO_SIZE
    reference = decode_all(videos.h264)[10:46]
    decoded = decode_all(out)
    error = np.mean(
        [np.abs(a.astype(int) - b).mean() for a, b in zip(decoded, reference, strict=True)]
    )
    assert error < 4  # visually lossless at quality 67


def test_lower_quality_gives_smaller_chunks(videos: VideoSet, tmp_path: Path) -> None:
    sizes = []
    for quality in (90, 30):
        out = tmp_path / f"q{quality}.mp4"
        write_video_chunk((f for _, f in iter_frames(videos.h264, 0, 19)), str(out), quality)
        sizes.append(out.stat().st_size)
    assert sizes[1] * 2 < sizes[0]


def test_compressed_hd_chunk_is_downscaled_and_odd_sizes_become_even(tmp_path: Path) -> None:
    frames = [video_frame_pixels(i, 1921, 1081) for i in range(3)]
    out = tmp_path / "hd.mp4"
    write_video_chunk(frames, str(out), quality=50, downscale_hd=True)
    info = probe_video(out)
    assert (info.width, info.height, info.frame_count) == (960, 540, 3)

    images = [Image.fromarray(video_frame_pixels(i, 101, 75)) for i in range(2)]
    odd = tmp_path / "odd.mp4"
    write_video_chunk(images, str(odd), quality=50)
    info = probe_video(odd)
    assert (info.width, info.height) == (102, 76)


def test_rotated_frames_are_encoded_upright(videos: VideoSet, tmp_path: Path) -> None:
    out = tmp_path / "rotated.mp4"
    write_video_chunk((f for _, f in iter_frames(videos.rotated)), str(out), quality=80)
    info = probe_video(out)
    assert (info.width, info.height, info.rotation) == (VIDEO_SIZE[1], VIDEO_SIZE[0], 0)


def test_mpeg4_fallback_encoder(videos: VideoSet, tmp_path: Path) -> None:
    out = tmp_path / "fallback.mp4"
    frames = (f for _, f in iter_frames(videos.h264, 0, 9))
    assert write_video_chunk(frames, str(out), quality=70, encoder="mpeg4") == 10
    assert probe_video(out).codec == "mpeg4"


def test_empty_chunk_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_video_chunk([], str(tmp_path / "empty.mp4"), quality=70)
    assert list(tmp_path.iterdir()) == []


def test_zip_chunk_of_video_frames(videos: VideoSet, tmp_path: Path) -> None:
    out = tmp_path / "frames.zip"
    frames = (f for _, f in iter_frames(videos.rotated, 0, 4))
    assert write_video_frames_zip_chunk(frames, out, quality=60) == 5
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        first = archive.read(names[0])
    assert names == [f"{i:06d}.jpeg" for i in range(5)]
    info = probe_image(first)
    assert (info.width, info.height, info.jpeg_quality) == (VIDEO_SIZE[1], VIDEO_SIZE[0], 60)
    assert Image.open(io.BytesIO(first)).format == "JPEG"


@pytest.mark.skipif(select_encoder() != "libx264", reason="checks libx264 settings")
def test_x264_settings_suit_cvats_baseline_decoder(videos: VideoSet, tmp_path: Path) -> None:
    for compressed in (True, False):
        out = tmp_path / f"{compressed}.mp4"
        frames = (f for _, f in iter_frames(videos.h264, 0, 4))
        write_video_chunk(
            frames, out, 70 if compressed else ORIGINAL_VIDEO_QUALITY, downscale_hd=compressed
        )
        with av.open(str(out)) as container:
            assert container.streams.video[0].codec_context.profile == "Constrained Baseline"
        settings = re.search(rb"x264 - core .*? options: ([^\x00]*)", out.read_bytes())
        assert settings is not None
        options = dict(item.split(b"=", 1) for item in settings.group(1).split() if b"=" in item)
        assert options[b"crf"] == (b"15.0" if compressed else b"17.0")
        assert options[b"deblock"].startswith(b"0" if compressed else b"1")
