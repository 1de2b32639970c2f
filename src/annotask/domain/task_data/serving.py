"""Frames, chunks and previews of a task: what annotators stream.

Static tasks serve the chunk files written at creation. On-the-fly tasks
build a chunk on its first request, once however many requests arrive
together (a short lease per chunk in the shared cache, renewed while the build
runs), and keep it in the size-bounded cache. A request that finds another one
building waits on the event loop, holding no worker thread.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask import media
from annotask.cache.base import ChunkCache
from annotask.db.models import Data, Frame, Task
from annotask.domain.errors import DataLost, DomainError, NotFound, ValidationFailed, is_disk_full
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.chunk_source import ChunkSource, chunk_range, chunk_spec
from annotask.domain.task_data.layout import data_layout
from annotask.domain.task_data.payload import Payload
from annotask.media.errors import MediaError
from annotask.services import Services

__all__ = [
    "ChunkBusy",
    "ChunkStillBuilding",
    "Payload",
    "cached",
    "chunk_cache_key",
    "get_chunk",
    "get_context_images",
    "get_frame",
    "get_job_chunk",
    "get_job_preview",
    "get_preview",
    "retry_while_building",
    "wait_for_chunk",
]

log = logging.getLogger(__name__)

# How long a request waits for a chunk another request prepares (its builder renews
# a short lease meanwhile), and how often it looks.
WAIT_SECONDS = 600.0
WAIT_FIRST_SECONDS = 0.05
WAIT_MAX_SECONDS = 0.5
T = TypeVar("T")
QUALITIES = (cb.COMPRESSED, cb.ORIGINAL)


def _task_data(task: Task) -> Data:
    if task.data is None:
        raise NotFound("The task has no data yet.")
    return task.data


def _check_quality(quality: str) -> None:
    if quality not in QUALITIES:
        raise ValidationFailed({"quality": "Wrong quality value: use compressed or original."})


def _data_key(task: Task, data: Data) -> str:
    """Cache keys change whenever the task's chunks do, so stale items are never served."""
    return f"task:{task.id}:{data.chunks_updated_date.timestamp():.6f}"


def chunk_cache_key(task: Task, data: Data, quality: str, relative: range) -> str:
    """The cache key (and lease name) of the on-the-fly chunk of ``relative`` frames."""
    return f"{_data_key(task, data)}:{quality}:frames{relative.start}-{relative.stop}"


def get_chunk(services: Services, db: Session, task: Task, quality: str, index: int) -> Payload:
    _check_quality(quality)
    data = _task_data(task)
    source = ChunkSource.from_db(services, db, task, data)
    if not 0 <= index < source.chunk_count():
        raise ValidationFailed(
            {"number": f"Chunk number must be in [0, {source.chunk_count() - 1}]."}
        )
    return _chunk_payload(services, task, data, source, quality, index, chunk_range(source, index))


def _chunk_payload(
    services: Services,
    task: Task,
    data: Data,
    source: ChunkSource,
    quality: str,
    index: int | None,
    relative: range,
) -> Payload:
    """A static chunk file when the range is a task chunk of a static task, else the
    cached (built on first request) bytes of exactly that range."""
    chunk_type = source.chunk_type(quality)
    mime = cb.chunk_mime(chunk_type)
    if index is not None and data.storage_method == "file_system":
        path = source.layout.chunk(quality, index, cb.chunk_ext(chunk_type))
        if not path.exists():
            _rebuild_lost_chunk(source, task, quality, index, path)
        return Payload(mime, path=path)
    key = chunk_cache_key(task, data, quality, relative)
    scratch = source.layout.root / "tmp" / f"{quality}-{relative.start}-{relative.stop}"

    def build() -> bytes:  # only on a miss: describing the chunk reads the frame paths
        out = scratch.with_suffix("." + cb.chunk_ext(chunk_type))
        spec = chunk_spec(source, quality, 0, out, relative)
        return cb.build_chunk_bytes(spec, threads=cb.cpu_threads())

    return Payload(mime, file=cached(services.cache, key, build))


def _rebuild_lost_chunk(
    source: ChunkSource, task: Task, quality: str, index: int, path: Path
) -> None:
    """A static chunk the task's data says was written is missing: files were lost
    (deleted by hand, a failed disk, a restore that missed them). Rebuild it from
    the source files when they are still there; either way it is logged at ERROR,
    since an operator must find out what removed it. Without the sources, the
    client gets a 5xx saying so (the request was fine; the server lost data)."""
    log.error(
        "task %s: static chunk %d (%s) is missing at %s; rebuilding it from the source files",
        task.id,
        index,
        quality,
        path,
    )
    try:
        cb.build_chunk(chunk_spec(source, quality, index), threads=cb.cpu_threads())
    except (MediaError, OSError) as exc:
        if is_disk_full(exc):
            raise
        log.error(
            "task %s: chunk %d (%s) cannot be rebuilt, its source files are unreadable: %s",
            task.id,
            index,
            quality,
            exc,
        )
        raise DataLost(
            f"Chunk {index} ({quality}) of task {task.id} is missing on the server and "
            "cannot be rebuilt because its source files are missing or unreadable: the "
            "server lost this task's data. An administrator must restore it from a backup."
        ) from exc


def get_job_chunk(
    services: Services,
    db: Session,
    task: Task,
    quality: str,
    index: int,
    job_start: int,
    job_stop: int,
) -> Payload:
    """Chunk ``index`` of a job: its own frames ``[start + index*C, ...]`` (CVAT's current
    numbering). Where that range is exactly a task chunk (jobs that start on a chunk
    boundary), the task chunk is served; otherwise the range is built and cached."""
    _check_quality(quality)
    data = _task_data(task)
    source = ChunkSource.from_db(services, db, task, data)
    first = job_start + index * source.chunk_size
    if index < 0 or first > job_stop:
        count = (job_stop - job_start) // source.chunk_size + 1
        raise ValidationFailed({"number": f"Chunk number must be in [0, {count - 1}]."})
    relative = range(first, min(first + source.chunk_size, job_stop + 1))
    task_index, offset = divmod(first, source.chunk_size)
    aligned = offset == 0 and chunk_range(source, task_index) == relative
    return _chunk_payload(
        services, task, data, source, quality, task_index if aligned else None, relative
    )


class ChunkBusy(Exception):
    """Another request (in any process) is preparing ``key`` now. Not an HTTP error:
    the route waits on the event loop (``retry_while_building``) and asks again."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class ChunkStillBuilding(DomainError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__("The chunk is still being prepared; try again in a moment.")


def cached(cache: ChunkCache, key: str, build: Callable[[], bytes]) -> BinaryIO:
    """From the cache (an open file, sent without copying where the server can), or
    built under a lease (one build however many requests arrive together, in any
    process). Raises :class:`ChunkBusy` instead of waiting when another holds the
    lease: a waiting request must not hold a worker thread."""
    found = cache.open(key)
    if found is not None:
        return found
    lease = cache.try_lease(key)
    if lease is None:
        found = cache.open(key)  # built and released just now
        if found is None:
            raise ChunkBusy(key)
        return found
    with lease:  # renewed by its heartbeat while the build runs
        found = cache.open(key)  # another request may have built it meanwhile
        if found is None:
            value = build()
            cache.set(key, value)
            return io.BytesIO(value)
    return found


async def wait_for_chunk(cache: ChunkCache, key: str, deadline: float) -> None:
    """Sleep on the event loop until ``key`` is cached or nobody prepares it any more
    (its builder finished, failed or died: a dead builder's lease expires within
    ``LEASE_SECONDS``). Each look is a short trip to a worker thread; between looks
    the request holds no thread. Raises :class:`ChunkStillBuilding` at ``deadline``."""
    pause = WAIT_FIRST_SECONDS
    while True:
        if not await anyio.to_thread.run_sync(_still_building, cache, key):
            return
        if time.monotonic() >= deadline:
            raise ChunkStillBuilding()
        await anyio.sleep(pause)
        pause = min(pause * 1.5, WAIT_MAX_SECONDS)


def _still_building(cache: ChunkCache, key: str) -> bool:
    found = cache.open(key)
    if found is not None:
        found.close()
        return False
    return cache.leased(key)


async def retry_while_building(
    cache: ChunkCache, attempt: Callable[[], Awaitable[T]], wait_seconds: float = WAIT_SECONDS
) -> T:
    """``await attempt()``; while it raises :class:`ChunkBusy`, wait for that chunk on
    the event loop and try again (the chunk is then a hit, or this request builds it
    because its builder died)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await attempt()
        except ChunkBusy as busy:
            await wait_for_chunk(cache, busy.key, deadline)


def get_frame(services: Services, db: Session, task: Task, quality: str, number: int) -> Payload:
    _check_quality(quality)
    data = _task_data(task)
    if not 0 <= number < data.size:
        raise ValidationFailed({"number": f"Frame number must be in [0, {data.size - 1}]."})
    source = ChunkSource.from_db(services, db, task, data)
    return source.kind.frame(source, quality, source.source_index(number))


def get_context_images(services: Services, db: Session, task: Task, number: int) -> Payload:
    """The frame's context images as a zip of JPEGs (CVAT's ``type=context_image``)."""
    data = _task_data(task)
    if not 0 <= number < data.size:
        raise ValidationFailed({"number": f"Frame number must be in [0, {data.size - 1}]."})
    source = ChunkSource.from_db(services, db, task, data)
    index = source.source_index(number)
    related = db.scalar(
        select(Frame.related_files).where(Frame.data_id == data.id, Frame.frame == index)
    )
    if not related:
        raise NotFound(f"Frame {number} has no context images.")
    paths = [str(source.file(rel)) for rel in related]
    names = media.context_image_names(list(related))

    def build() -> bytes:
        buffer = io.BytesIO()
        media.write_context_image_chunk(paths, names, buffer, max_pixels=source.max_pixels)
        return buffer.getvalue()

    key = f"{_data_key(task, data)}:context:{number}"
    return Payload("application/zip", file=cached(services.cache, key, build))


def get_preview(services: Services, task: Task) -> Payload:
    path = data_layout(services.settings, task.id, task.data).preview
    if task.data is None or not path.exists():
        raise NotFound("The task has no preview yet.")
    return Payload("image/jpeg", path=path)


def get_job_preview(services: Services, db: Session, task: Task, job_start: int) -> Payload:
    """A job's preview shows its own first frame (the task's preview for the first job)."""
    if job_start == 0:
        return get_preview(services, task)
    data = _task_data(task)
    source = ChunkSource.from_db(services, db, task, data)
    index = source.source_index(job_start)

    def build() -> bytes:
        return source.kind.preview(source, index)

    key = f"{_data_key(task, data)}:preview:{job_start}"
    return Payload("image/jpeg", file=cached(services.cache, key, build))
