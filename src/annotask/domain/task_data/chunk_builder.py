"""Build chunks from picklable descriptions, in threads that use every core.

Static tasks build every chunk at creation, several chunks at once; on-the-fly
tasks build one when it is first requested, several frames of it at once. Both
use ``build_chunk``: a file is written under a temporary name and renamed, so a
reader never sees a partial chunk.

Threads rather than a process pool: the codecs (libjpeg-turbo, Pillow's
decoders, FFmpeg) release the GIL, so threads scale to the cores while needing
no start-up (a fork server and its imports cost about a second per job), no
pickling of frames and no extra copies of the media libraries in memory.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from annotask import media

COMPRESSED = "compressed"
ORIGINAL = "original"
IMAGESET = "imageset"
VIDEO = "video"


def cpu_threads() -> int:
    """Threads for media work: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ChunkSpec:
    quality: str  # COMPRESSED or ORIGINAL
    chunk_type: str  # IMAGESET (zip) or VIDEO (mp4)
    out: str
    image_quality: int
    images: tuple[str, ...] = ()  # absolute paths, in frame order
    video: str | None = None
    video_frames: tuple[int, ...] = ()  # source frame numbers, ascending
    keyframes: tuple[tuple[int, int], ...] = field(default=())  # (number, pts)
    max_pixels: int | None = None
    point_clouds: bool = False  # ``images`` are .pcd files, zipped unchanged (both qualities)


def chunk_ext(chunk_type: str) -> str:
    return "mp4" if chunk_type == VIDEO else "zip"


def chunk_mime(chunk_type: str) -> str:
    return "video/mp4" if chunk_type == VIDEO else "application/zip"


def build_chunk(spec: ChunkSpec, *, threads: int = 1) -> str:
    """Write the chunk described by ``spec`` to ``spec.out`` and return that path."""
    out = Path(spec.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{id(spec)}.tmp")
    try:
        _write(spec, tmp, threads)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return str(out)


def build_chunk_bytes(spec: ChunkSpec, *, threads: int = 1) -> bytes:
    """The chunk described by ``spec`` as bytes (``spec.out`` is only a scratch name
    for mp4 chunks, which the muxer must write to a seekable file)."""
    if spec.video is not None and spec.chunk_type == VIDEO:
        path = Path(build_chunk(spec, threads=threads))
        try:
            return path.read_bytes()
        finally:
            path.unlink(missing_ok=True)
    buffer = io.BytesIO()
    _write(spec, buffer, threads)
    return buffer.getvalue()


def _write(spec: ChunkSpec, out: Path | io.BytesIO, threads: int) -> None:
    if spec.point_clouds:
        media.write_point_cloud_chunk(spec.images, out)
        return
    if spec.video is None:
        if spec.quality == ORIGINAL:
            media.write_original_image_chunk(
                spec.images, out, max_pixels=spec.max_pixels, threads=threads
            )
        else:
            media.write_compressed_image_chunk(
                spec.images, out, spec.image_quality, max_pixels=spec.max_pixels, threads=threads
            )
        return
    wanted = spec.video_frames
    original = spec.quality == ORIGINAL
    frames = (
        frame
        for _, frame in media.iter_frames(
            spec.video,
            wanted[0],
            wanted[-1],
            wanted[1] - wanted[0] if len(wanted) > 1 else 1,
            [media.Keyframe(n, p) for n, p in spec.keyframes],
        )
    )
    if spec.chunk_type == IMAGESET:
        media.write_video_frames_zip_chunk(frames, out, spec.image_quality, threads=threads)
    else:
        assert isinstance(out, Path)
        media.write_video_chunk(
            frames,
            out,
            media.ORIGINAL_VIDEO_QUALITY if original else spec.image_quality,
            downscale_hd=not original,
        )


def build_all(
    specs: list[ChunkSpec],
    workers: int,
    on_done: Callable[[int], None],
    check: Callable[[], None] | None = None,
) -> None:
    """Build many chunks, ``workers`` at a time, calling ``on_done(done_count)`` after
    each. ``check`` runs between chunks and may raise to stop (a cancelled job);
    the first failure stops the rest. Memory is bounded by the chunks in flight."""
    if workers <= 1 or len(specs) <= 1:
        for index, spec in enumerate(specs, 1):
            if check is not None:
                check()
            build_chunk(spec)
            on_done(index)
        return
    done = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="chunks") as pool:
        in_flight: set[Future] = set()
        try:
            for spec in specs:
                if check is not None:
                    check()
                in_flight.add(pool.submit(build_chunk, spec))
                if len(in_flight) >= workers:
                    finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        done += 1
                        on_done(done)
            while in_flight:
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                    done += 1
                    on_done(done)
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
