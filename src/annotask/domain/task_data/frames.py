"""Frames, chunks and previews of a task: what annotators stream.

Static tasks serve the chunk files written at creation. On-the-fly tasks
build a chunk on its first request, once however many requests arrive
together (a lock per chunk in the shared cache), and keep it in the
size-bounded cache.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask import media
from annotask.db.models import Data, Frame, Task
from annotask.domain.errors import NotFound, ValidationFailed
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.layout import TaskLayout, task_layout
from annotask.domain.task_data.sources import source_root
from annotask.services import Services

CHUNK_LOCK_SECONDS = 120.0
QUALITIES = (cb.COMPRESSED, cb.ORIGINAL)


@dataclass(frozen=True)
class ChunkSource:
    """Everything needed to describe any chunk of one task's data."""

    layout: TaskLayout
    root: Path
    size: int
    chunk_size: int
    start: int
    step: int
    compressed_type: str
    original_type: str
    image_quality: int
    max_pixels: int
    image_paths: Callable[[Sequence[int]], list[str]] | None  # source indices -> rel paths
    video_path: str | None = None
    keyframes: tuple[tuple[int, int], ...] = ()

    @classmethod
    def from_plan(cls, layout, plan, params, max_pixels: int) -> ChunkSource:
        compressed = (
            cb.VIDEO if plan.video is not None and not params.use_zip_chunks else cb.IMAGESET
        )
        by_index = (
            dict(zip(plan.image_indices, (f.path for f in plan.images), strict=True))
            if plan.images is not None
            else {}
        )
        return cls(
            layout=layout,
            root=plan.collected.root,
            size=plan.size,
            chunk_size=plan.chunk_size,
            start=plan.start_frame if plan.images is None or params.job_file_mapping is None else 0,
            step=plan.step if params.job_file_mapping is None else 1,
            compressed_type=compressed,
            original_type=cb.VIDEO if plan.video is not None else cb.IMAGESET,
            image_quality=params.image_quality,
            max_pixels=max_pixels,
            image_paths=(lambda idx: [by_index[i] for i in idx])
            if plan.images is not None
            else None,
            video_path=plan.video_path,
            keyframes=tuple((k.number, k.pts) for k in plan.video.keyframes) if plan.video else (),
        )

    @classmethod
    def from_db(cls, services: Services, db: Session, task: Task, data: Data) -> ChunkSource:
        layout = task_layout(services.settings, task.id)

        def image_paths(indices: Sequence[int]) -> list[str]:
            rows = dict(
                db.execute(
                    select(Frame.frame, Frame.path).where(
                        Frame.data_id == data.id, Frame.frame.in_(list(indices))
                    )
                ).all()
            )
            return [rows[i] for i in indices]

        return cls(
            layout=layout,
            root=source_root(services.settings, layout, data.source_root),
            size=data.size,
            chunk_size=data.chunk_size,
            start=data.start_frame,
            step=_step(data),
            compressed_type=data.compressed_chunk_type,
            original_type=data.original_chunk_type,
            image_quality=data.image_quality,
            max_pixels=services.settings.image_max_pixels,
            image_paths=image_paths if data.video is None else None,
            video_path=data.video.path if data.video else None,
            keyframes=tuple((n, p) for n, p in data.video.keyframes) if data.video else (),
        )

    def source_indices(self, relative: Sequence[int]) -> list[int]:
        return [self.start + i * self.step for i in relative]

    def chunk_count(self) -> int:
        return (self.size + self.chunk_size - 1) // self.chunk_size

    def chunk_type(self, quality: str) -> str:
        return self.compressed_type if quality == cb.COMPRESSED else self.original_type


def _step(data: Data) -> int:
    return media.parse_frame_filter(data.frame_filter)


def chunk_range(source: ChunkSource, index: int) -> range:
    """Relative frames of task chunk ``index``: ``[index*C, (index+1)*C)``."""
    return range(index * source.chunk_size, min((index + 1) * source.chunk_size, source.size))


def chunk_spec(
    source: ChunkSource,
    quality: str,
    index: int,
    out: Path | None = None,
    relative: range | None = None,
) -> cb.ChunkSpec:
    """The spec of task chunk ``index`` (or of any frame range, for job chunks)."""
    relative = relative if relative is not None else chunk_range(source, index)
    indices = source.source_indices(relative)
    chunk_type = source.chunk_type(quality)
    out = out or source.layout.chunk(quality, index, cb.chunk_ext(chunk_type))
    if source.video_path is None:
        assert source.image_paths is not None
        images = tuple(str(source.root / rel) for rel in source.image_paths(indices))
        return cb.ChunkSpec(
            quality,
            chunk_type,
            str(out),
            source.image_quality,
            images=images,
            max_pixels=source.max_pixels,
        )
    return cb.ChunkSpec(
        quality,
        chunk_type,
        str(out),
        source.image_quality,
        video=str(source.root / source.video_path),
        video_frames=tuple(indices),
        keyframes=source.keyframes,
        max_pixels=source.max_pixels,
    )


@dataclass
class Payload:
    """Bytes to send, or a file to stream, with the content type the server decides."""

    mime: str
    data: bytes | None = None
    path: Path | None = None


def _task_data(task: Task) -> Data:
    if task.data is None:
        raise NotFound("The task has no data yet.")
    return task.data


def _check_quality(quality: str) -> None:
    if quality not in QUALITIES:
        raise ValidationFailed({"quality": "Wrong quality value: use compressed or original."})


def get_chunk(services: Services, db: Session, task: Task, quality: str, index: int) -> Payload:
    _check_quality(quality)
    data = _task_data(task)
    source = ChunkSource.from_db(services, db, task, data)
    if not 0 <= index < source.chunk_count():
        raise ValidationFailed(
            {"number": f"Chunk number must be in [0, {source.chunk_count() - 1}]."}
        )
    chunk_type = source.chunk_type(quality)
    mime = cb.chunk_mime(chunk_type)
    if data.storage_method == "file_system":
        path = source.layout.chunk(quality, index, cb.chunk_ext(chunk_type))
        if not path.exists():  # e.g. lost files: rebuild rather than fail
            cb.build_chunk(chunk_spec(source, quality, index))
        return Payload(mime, path=path)
    key = f"task:{task.id}:{data.chunks_updated_date.timestamp():.6f}:{quality}:{index}"
    return Payload(
        mime, data=_cached_chunk(services, source, quality, key, chunk_range(source, index))
    )


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
    numbering). Overlapping jobs do not line up with task chunks, so these are cached."""
    _check_quality(quality)
    data = _task_data(task)
    source = ChunkSource.from_db(services, db, task, data)
    first = job_start + index * source.chunk_size
    if index < 0 or first > job_stop:
        count = (job_stop - job_start) // source.chunk_size + 1
        raise ValidationFailed({"number": f"Chunk number must be in [0, {count - 1}]."})
    relative = range(first, min(first + source.chunk_size, job_stop + 1))
    key = (
        f"task:{task.id}:{data.chunks_updated_date.timestamp():.6f}:{quality}:"
        f"frames{relative.start}-{relative.stop}"
    )
    mime = cb.chunk_mime(source.chunk_type(quality))
    return Payload(mime, data=_cached_chunk(services, source, quality, key, relative))


def _cached_chunk(
    services: Services, source: ChunkSource, quality: str, key: str, relative: range
) -> bytes:
    """From the cache, or built once under a lock however many requests arrive together."""
    cached = services.cache.get(key)
    if cached is None:
        with services.cache.lock(key, CHUNK_LOCK_SECONDS):
            cached = services.cache.get(key)  # another request may have built it meanwhile
            if cached is None:
                cached = _build_into_bytes(source, quality, relative)
                services.cache.set(key, cached)
    return cached


def _build_into_bytes(source: ChunkSource, quality: str, relative: range) -> bytes:
    out = (
        source.layout.root
        / "tmp"
        / (f"{quality}-{relative.start}-{relative.stop}.{cb.chunk_ext(source.chunk_type(quality))}")
    )
    cb.build_chunk(chunk_spec(source, quality, 0, out, relative))
    try:
        return out.read_bytes()
    finally:
        out.unlink(missing_ok=True)


def get_frame(services: Services, db: Session, task: Task, quality: str, number: int) -> Payload:
    _check_quality(quality)
    data = _task_data(task)
    if not 0 <= number < data.size:
        raise ValidationFailed({"number": f"Frame number must be in [0, {data.size - 1}]."})
    source = ChunkSource.from_db(services, db, task, data)
    (index,) = source.source_indices([number])
    if source.video_path is None:
        path = str(source.root / source.image_paths([index])[0])
        if quality == cb.ORIGINAL:
            payload, mime = media.original_frame_bytes(path, max_pixels=source.max_pixels)
            return Payload(mime, data=payload)
        return Payload(
            "image/jpeg",
            data=media.encode_frame_jpeg(path, data.image_quality, max_pixels=source.max_pixels),
        )
    keyframes = [media.Keyframe(n, p) for n, p in source.keyframes] or None
    _n, frame = next(
        media.iter_frames(str(source.root / source.video_path), index, index, 1, keyframes)
    )
    image = media.frame_to_image(frame)
    buffer = io.BytesIO()
    if quality == cb.ORIGINAL:
        image.save(buffer, format="PNG")
        return Payload("image/png", data=buffer.getvalue())
    return Payload("image/jpeg", data=media.encode_jpeg(image, data.image_quality))


def get_preview(services: Services, task: Task) -> Payload:
    path = task_layout(services.settings, task.id).preview
    if task.data is None or not path.exists():
        raise NotFound("The task has no preview yet.")
    return Payload("image/jpeg", path=path)
