"""Video chunks: short H.264 mp4 files, or zips of JPEG frames (``use_zip_chunks``).

mp4 chunks follow CVAT: 25 fps whatever the source rate, quality q mapped to a
constant quantiser/CRF of ``round(51 * (100 - q) / 99)``, compressed chunks halved
in size while the height is >= 1080 (a 1080p video becomes 540p, 4K too), original
chunks at quality 67 (CRF 17, visually lossless) and full resolution. H.264 needs
even dimensions, so an odd width or height is rounded up by scaling one pixel, as
CVAT does.

Encoder choice, first available of:

1. ``libx264``: the best quality per bit and fastest; Baseline profile because
   CVAT's in-browser decoder only handles Baseline. Compressed chunks also turn
   off the deblocking filter (CVAT's setting; it makes software decoding in the
   browser cheaper). Preset ``veryfast``: close to ``medium``'s size at a fraction
   of the time.
2. ``libopenh264``: what CVAT prefers for licensing reasons; constrained
   Baseline, fixed QP, limited to 36,864 macroblocks (about 4096x2304) per frame.
3. ``mpeg4`` (MPEG-4 Part 2): only if the FFmpeg build has no H.264 encoder at
   all; browsers and CVAT's client cannot play it, so it is a last resort that keeps
   chunk preparation from failing outright.
"""

from __future__ import annotations

import functools
import os
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction

import av
import av.error
import numpy as np
from PIL import Image

from ._io import Output, atomic_path, open_output, write_zip_member
from .chunks import COMPRESSED_EXT
from .errors import MediaError
from .images import encode_rgb_array_jpeg
from .parallel import ordered_map
from .video import Keyframe, frame_to_ndarray, iter_frames, normalized_rotation

VideoFrameLike = av.VideoFrame | Image.Image | np.ndarray
"""A frame from :func:`~annotask.media.video.iter_frames`, a Pillow image or an RGB array."""

OUTPUT_FPS = 25
ORIGINAL_VIDEO_QUALITY = 67
HD_HEIGHT = 1080
OPENH264_MAX_MACROBLOCKS = 36864
ENCODER_PREFERENCE = ("libx264", "libopenh264", "mpeg4")


def quality_to_crf(quality: int) -> int:
    """CVAT's mapping of image quality 0..100 to an H.264 CRF/QP 0..51."""
    return min(max(round(51 * (100 - quality) / 99), 0), 51)


@functools.cache
def select_encoder() -> str:
    """The first encoder of :data:`ENCODER_PREFERENCE` this PyAV build can open."""
    for name in ENCODER_PREFERENCE:
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
            except (av.error.FFmpegError, ValueError):  # listed but no encoder
                continue
            return name
    raise MediaError("No video encoder (libx264, libopenh264 or mpeg4) is available")


def hd_downscale_size(width: int, height: int) -> tuple[int, int]:
    """Halve the size while the height is >= 1080, as CVAT's compressed chunks do."""
    factor = 1
    while height / factor >= HD_HEIGHT:
        factor *= 2
    return width // factor, height // factor


def _even(value: int) -> int:
    return max(2, value + value % 2)


def _to_video_frame(frame: VideoFrameLike) -> av.VideoFrame:
    if isinstance(frame, av.VideoFrame):
        if normalized_rotation(frame):
            return av.VideoFrame.from_ndarray(frame_to_ndarray(frame), format="rgb24")
        return frame
    if isinstance(frame, Image.Image):
        # PyAV's stub leaves from_image unannotated; it returns a VideoFrame.
        converted: av.VideoFrame = av.VideoFrame.from_image(  # type: ignore[no-untyped-call]
            frame.convert("RGB")
        )
        return converted
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")


def _encoder_options(encoder: str, crf: int, compressed: bool) -> dict[str, object]:
    if encoder == "libx264":
        options: dict[str, object] = {"crf": str(crf), "preset": "veryfast", "profile": "baseline"}
        if compressed:
            options["x264-params"] = "no-deblock=1"
        return options
    if encoder == "libopenh264":
        return {"profile": "constrained_baseline", "rc_mode": "buffer"}
    return {}


def _add_stream(
    container: av.container.OutputContainer,
    encoder: str,
    width: int,
    height: int,
    fps: int,
    quality: int,
    compressed: bool,
) -> av.VideoStream:
    if encoder == "libopenh264" and width * height > OPENH264_MAX_MACROBLOCKS * 256:
        raise MediaError(
            f"The video encoder cannot handle {width}x{height} frames "
            f"(limit {OPENH264_MAX_MACROBLOCKS} macroblocks per frame)"
        )
    crf = quality_to_crf(quality)
    stream = container.add_stream(encoder, rate=fps)
    if not isinstance(stream, av.VideoStream):
        raise MediaError(f"{encoder} is not a video encoder")
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    context = stream.codec_context
    if encoder == "libopenh264":
        context.qmin = context.qmax = crf
    elif encoder == "mpeg4":
        # MPEG-4 Part 2 quantiser runs 2..31; spread the CRF range over it.
        context.qmin = context.qmax = 2 + round(crf * 29 / 51)
        context.bit_rate = 100_000_000
    stream.options = _encoder_options(encoder, crf, compressed)
    return stream


def _peek(frames: Iterable[VideoFrameLike]) -> tuple[av.VideoFrame, Iterator[av.VideoFrame]]:
    converted = (_to_video_frame(frame) for frame in frames)
    first = next(converted, None)
    if first is None:
        raise ValueError("a chunk needs at least one frame")

    def chained() -> Iterator[av.VideoFrame]:
        yield first
        yield from converted

    return first, chained()


def write_video_chunk(
    frames: Iterable[VideoFrameLike],
    out: str | os.PathLike[str],
    quality: int,
    *,
    fps: int = OUTPUT_FPS,
    downscale_hd: bool = False,
    encoder: str | None = None,
) -> int:
    """Encode frames into an mp4 chunk at ``out``; return the number of frames.

    ``downscale_hd=True`` for compressed chunks, ``False`` with
    ``quality=ORIGINAL_VIDEO_QUALITY`` for original ones. Frames are consumed one at
    a time. ``encoder`` overrides :func:`select_encoder` (tests, benchmarks).
    """
    encoder = encoder or select_encoder()
    first, stream_of_frames = _peek(frames)
    width, height = first.width, first.height
    if downscale_hd:
        width, height = hd_downscale_size(width, height)
    width, height = _even(width), _even(height)
    count = 0
    time_base = Fraction(1, fps)
    try:
        with atomic_path(out) as tmp, av.open(tmp, mode="w", format="mp4") as container:
            stream = _add_stream(container, encoder, width, height, fps, quality, downscale_hd)
            for frame in stream_of_frames:
                if frame.width != width or frame.height != height or frame.format.name != "yuv420p":
                    frame = frame.reformat(
                        width=width, height=height, format="yuv420p", interpolation="AREA"
                    )
                frame.pts, frame.time_base = count, time_base
                container.mux(stream.encode(frame))
                count += 1
            container.mux(stream.encode(None))
    except av.error.FFmpegError as exc:
        raise MediaError(f"Could not encode a video chunk: {exc}") from exc
    return count


def write_video_frames_zip_chunk(
    frames: Iterable[VideoFrameLike], out: Output, quality: int, *, threads: int = 1
) -> int:
    """Write video frames as a zip of JPEGs (``use_zip_chunks``); return the count.

    No downscaling, as in CVAT: zip chunks keep the full resolution. Frames are
    decoded in order here and encoded on ``threads`` threads.
    """

    def pixels(frame: VideoFrameLike) -> np.ndarray:
        if isinstance(frame, av.VideoFrame):
            return frame_to_ndarray(frame)
        if isinstance(frame, Image.Image):
            return np.asarray(frame.convert("RGB"))
        return frame

    count = 0
    encoded = ordered_map(
        lambda array: encode_rgb_array_jpeg(array, quality), (pixels(f) for f in frames), threads
    )
    with open_output(out) as fp, zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED) as archive:
        for index, payload in enumerate(encoded):
            write_zip_member(archive, f"{index:06d}.{COMPRESSED_EXT}", payload)
            count += 1
    return count


def write_video_file_chunk(
    video: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    start: int,
    stop: int,
    step: int = 1,
    quality: int,
    keyframes: Sequence[Keyframe] = (),
    zip_frames: bool = False,
    downscale_hd: bool = False,
) -> int:
    """Decode frames ``start..stop`` (every ``step``-th) of a video file into one chunk.

    Paths and numbers in, a file out: the form a ``ProcessPoolExecutor`` can run.
    ``zip_frames`` writes a zip of JPEGs (``use_zip_chunks``), else an mp4. Returns
    the number of frames written.
    """
    frames = (frame for _, frame in iter_frames(video, start, stop, step, keyframes))
    if zip_frames:
        return write_video_frames_zip_chunk(frames, out, quality)
    return write_video_chunk(frames, out, quality, downscale_hd=downscale_hd)
