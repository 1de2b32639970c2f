"""Build one chunk file from a picklable description, in any process.

Static tasks build every chunk at creation in a process pool; on-the-fly tasks
build one when it is first requested. Both use ``build_chunk``, which writes
to a temporary name and renames, so a reader never sees a partial chunk.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from pathlib import Path

from annotask import media
from annotask.media.video import Keyframe

COMPRESSED = "compressed"
ORIGINAL = "original"
IMAGESET = "imageset"
VIDEO = "video"


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


def chunk_ext(chunk_type: str) -> str:
    return "mp4" if chunk_type == VIDEO else "zip"


def chunk_mime(chunk_type: str) -> str:
    return "video/mp4" if chunk_type == VIDEO else "application/zip"


def build_chunk(spec: ChunkSpec) -> str:
    """Write the chunk described by ``spec`` and return its path."""
    out = Path(spec.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if spec.video is None:
            _build_image_chunk(spec, tmp)
        else:
            _build_video_chunk(spec, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return str(out)


def _build_image_chunk(spec: ChunkSpec, tmp: Path) -> None:
    if spec.quality == ORIGINAL:
        media.write_original_image_chunk(spec.images, tmp, max_pixels=spec.max_pixels)
    else:
        media.write_compressed_image_chunk(
            spec.images, tmp, spec.image_quality, max_pixels=spec.max_pixels
        )


def _build_video_chunk(spec: ChunkSpec, tmp: Path) -> None:
    wanted = spec.video_frames
    original = spec.quality == ORIGINAL
    media.write_video_file_chunk(
        spec.video,
        tmp,
        start=wanted[0],
        stop=wanted[-1],
        step=wanted[1] - wanted[0] if len(wanted) > 1 else 1,
        quality=media.ORIGINAL_VIDEO_QUALITY if original else spec.image_quality,
        keyframes=[Keyframe(n, p) for n, p in spec.keyframes],
        zip_frames=spec.chunk_type == IMAGESET,
        downscale_hd=not original,
    )


def _pool_context():
    """A fork server: workers are forked from a clean, single-threaded process that has
    already imported the media stack, instead of from the threaded worker (unsafe)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def build_all(
    specs: list[ChunkSpec], workers: int, on_done: Callable[[int], None], max_pixels: int | None
) -> None:
    """Build many chunks on ``workers`` processes with a bounded number in flight,
    calling ``on_done(done_count)`` after each; the first failure stops the rest."""
    if workers <= 1 or len(specs) <= 1:
        for index, spec in enumerate(specs, 1):
            build_chunk(spec)
            on_done(index)
        return
    pending = iter(specs)
    done = 0
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_pool_context(),
        initializer=media.set_pixel_limit,
        initargs=(max_pixels,),
    ) as pool:
        in_flight: set[Future] = set()
        try:
            for spec in pending:
                in_flight.add(pool.submit(build_chunk, spec))
                if len(in_flight) >= workers * 2:
                    finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        future.result()
                        done += 1
                        on_done(done)
            for future in as_completed(in_flight):
                future.result()
                done += 1
                on_done(done)
        except BaseException:
            for future in in_flight:
                future.cancel()
            raise
