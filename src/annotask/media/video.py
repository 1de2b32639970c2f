"""Reading videos with PyAV: a cheap probe, and frame iteration that seeks.

Frame numbers are CVAT's: the 0-based position of a frame in the decoder's output,
which is presentation (pts) order. A task over a two-hour video must not decode
two hours of frames at creation time, so :func:`probe_video` *demuxes* instead:
it counts the video packets (one packet = one frame for every codec and container
in common use) and reads key frames from ``packet.is_keyframe``. With B-frames,
packets arrive in decode order, not presentation order; sorting the packet
timestamps gives each packet its frame number, so a key frame's number is the rank
of its pts. Only the first frame is decoded: to learn the display rotation and
the exact size, to prove that the stream decodes at all, and to notice leading
frames the decoder drops (open-GOP streams that start with B-frames), which are
then left out of the count as the decoder leaves them out.

Known limits of counting packets: a stream whose decoder drops damaged frames in
the middle, or that stores one frame in two packets (field-coded interlaced
H.264), would get a count that differs from a full decode; streams without usable
pts (missing or repeated) get no key frames, so readers decode from the start.
An mp4/mov whose index lists more samples than can be read is reported as
truncated instead of silently giving a shorter task.

:func:`iter_frames` seeks to the nearest key frame at or before the first wanted
frame and checks that it landed where expected (the first frame out must carry the
key frame's pts); if not, it quietly decodes from the start, so a bad key-frame
index costs time, never wrong frames.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import av
import av.error
import numpy as np
from PIL import Image

from .errors import MediaError, display_name
from .pixel_limit import apply as _apply_pixel_limit

_apply_pixel_limit(Image)


class Keyframe(NamedTuple):
    """A key frame: its frame number and its pts in the stream's time base."""

    number: int
    pts: int


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learned; width/height are after display rotation."""

    width: int
    height: int
    frame_count: int
    fps: float | None
    codec: str
    keyframes: tuple[Keyframe, ...]
    rotation: int = 0
    time_base: Fraction | None = None


def _fail(path: str, exc: BaseException) -> MediaError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return MediaError(
        f"Could not read video '{display_name(path)}': the file is damaged or not a "
        f"supported video ({reason})",
        filename=path,
    )


def _open(path: str) -> av.container.InputContainer:
    try:
        return av.open(path, mode="r")
    except (av.error.FFmpegError, OSError) as exc:
        raise _fail(path, exc) from exc


def _video_stream(container: av.container.InputContainer, path: str) -> av.VideoStream:
    if not container.streams.video:
        raise MediaError(f"No video stream found in '{display_name(path)}'", filename=path)
    return container.streams.video[0]


def normalized_rotation(frame: av.VideoFrame) -> int:
    """The frame's display rotation, counter-clockwise, as 0, 90, 180 or 270 degrees."""
    return (round((frame.rotation or 0) / 90) * 90) % 360


def frame_to_ndarray(frame: av.VideoFrame) -> np.ndarray:
    """Decoded frame as an ``(h, w, 3)`` RGB uint8 array, display rotation applied."""
    pixels = frame.to_ndarray(format="rgb24")
    turns = normalized_rotation(frame) // 90
    return np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels


def frame_to_image(frame: av.VideoFrame) -> Image.Image:
    """Decoded frame as an RGB Pillow image, display rotation applied."""
    return Image.fromarray(frame_to_ndarray(frame))


def _first_frame(path: str) -> av.VideoFrame:
    with _open(path) as container:
        stream = _video_stream(container, path)
        frame = next(iter(container.decode(stream)), None)
    if frame is None:
        raise MediaError(f"Video '{display_name(path)}' has no decodable frames", filename=path)
    return frame


def _seeks_to(path: str, keyframe: Keyframe) -> bool:
    with _open(path) as container:
        stream = _video_stream(container, path)
        container.seek(keyframe.pts, stream=stream, backward=True, any_frame=False)
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts > keyframe.pts:
                return False
            if frame.pts == keyframe.pts:
                return True
    return False


def probe_video(path: str | os.PathLike[str], *, verify_keyframes: bool = False) -> VideoInfo:
    """Frame count, size, fps, codec and key frames of a video, by demuxing.

    ``verify_keyframes`` additionally seeks to every key frame and keeps only
    those where decoding really starts (what CVAT's manifest keeps); it decodes
    about one frame per key frame. Raises :class:`MediaError` for unreadable,
    truncated or empty videos.
    """
    path = os.fspath(path)
    try:
        first = _first_frame(path)
        with _open(path) as container:
            stream = _video_stream(container, path)
            declared = stream.frames
            timestamps: list[int | None] = []
            key_flags: list[bool] = []
            for packet in container.demux(stream):
                if packet.size == 0:  # flush packet at end of stream
                    continue
                timestamps.append(packet.pts if packet.pts is not None else packet.dts)
                key_flags.append(packet.is_keyframe)
            codec = stream.codec_context.name
            rate = stream.average_rate or stream.guessed_rate
            time_base = stream.time_base
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        raise _fail(path, exc) from exc

    if declared and len(timestamps) < declared:
        raise MediaError(
            f"Video '{display_name(path)}' seems truncated or damaged: its header lists "
            f"{declared} frames but only {len(timestamps)} can be read",
            filename=path,
        )
    count, keyframes = _number_packets(timestamps, key_flags, first.pts)
    if count == 0:
        raise MediaError(f"Video '{display_name(path)}' has no frames", filename=path)
    if verify_keyframes:
        keyframes = [k for k in keyframes if k.number == 0 or _seeks_to(path, k)]

    rotation = normalized_rotation(first)
    width, height = first.width, first.height
    if rotation in (90, 270):
        width, height = height, width
    return VideoInfo(
        width=width,
        height=height,
        frame_count=count,
        fps=float(rate) if rate else None,
        codec=codec,
        keyframes=tuple(keyframes),
        rotation=rotation,
        time_base=time_base,
    )


def _number_packets(
    timestamps: list[int | None], key_flags: list[bool], first_pts: int | None
) -> tuple[int, list[Keyframe]]:
    """Frame count and numbered key frames from packets in demux order.

    Without usable timestamps (missing or repeated pts) key frames cannot be sought
    to, so none are returned and readers decode from the start.
    """
    known = [ts for ts in timestamps if ts is not None]
    if len(known) != len(timestamps) or len(set(known)) != len(known):
        return len(timestamps), []
    order = sorted(zip(known, key_flags, strict=True))  # presentation order
    if first_pts is not None:
        # Frames before the first one the decoder outputs never get a number.
        order = [item for item in order if item[0] >= first_pts]
    keyframes = [Keyframe(n, pts) for n, (pts, key) in enumerate(order) if key]
    return len(order), keyframes


class _SeekMissed(Exception):
    """Seeking did not land on the expected key frame."""


def nearest_keyframe(keyframes: Sequence[Keyframe], frame: int) -> Keyframe | None:
    """The last key frame whose number is <= ``frame`` (``keyframes`` sorted)."""
    position = bisect.bisect_right(keyframes, frame, key=lambda k: k.number)
    return keyframes[position - 1] if position else None


def _numbered_frames(
    container: av.container.InputContainer, stream: av.VideoStream, anchor: Keyframe | None
) -> Iterator[tuple[int, av.VideoFrame]]:
    if anchor is None or anchor.number == 0:
        yield from enumerate(container.decode(stream))
        return
    container.seek(anchor.pts, stream=stream, backward=True, any_frame=False)
    index: int | None = None
    for frame in container.decode(stream):
        if index is None:
            if frame.pts is None or frame.pts > anchor.pts:
                raise _SeekMissed
            if frame.pts < anchor.pts:  # the demuxer stopped early; skip forward
                continue
            index = anchor.number
        else:
            index += 1
        yield index, frame


def iter_frames(
    path: str | os.PathLike[str],
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    keyframes: Sequence[Keyframe] | None = None,
) -> Iterator[tuple[int, av.VideoFrame]]:
    """Yield ``(frame number, frame)`` for numbers in ``range(start, stop + 1, step)``.

    ``stop=None`` means to the end. With ``keyframes`` (from :func:`probe_video` or
    a manifest) decoding starts at the nearest key frame <= ``start``; without,
    from frame 0. Frames are PyAV frames, still unrotated: use
    :func:`frame_to_ndarray`/:func:`frame_to_image` for display pixels. Decoding
    errors raise :class:`MediaError`.
    """
    if start < 0 or step < 1:
        raise ValueError("start must be >= 0 and step >= 1")
    if stop is not None and stop < start:
        return
    path = os.fspath(path)
    anchor = nearest_keyframe(sorted(keyframes), start) if keyframes else None
    try:
        try:
            yield from _wanted(path, anchor, start, stop, step)
        except _SeekMissed:
            yield from _wanted(path, None, start, stop, step)
    except (av.error.FFmpegError, OSError) as exc:
        raise _fail(path, exc) from exc


def _wanted(
    path: str, anchor: Keyframe | None, start: int, stop: int | None, step: int
) -> Iterator[tuple[int, av.VideoFrame]]:
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        for index, frame in _numbered_frames(container, stream, anchor):
            if stop is not None and index > stop:
                return
            if index >= start and (index - start) % step == 0:
                yield index, frame
