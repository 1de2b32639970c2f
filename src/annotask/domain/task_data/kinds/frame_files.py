"""What the kinds with one file per frame share (images, PDF pages, point clouds):
the plan, the frame rows and where a frame's file is."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from zipfile import ZipFile

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from annotask import media
from annotask.db.bulk import insert_rows
from annotask.db.models import Data, Frame
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.kinds.base import (
    CreationFailed,
    PlanContext,
    SourceFiles,
    TaskPlan,
    check_not_empty,
)
from annotask.domain.task_data.probe import ImageFrame
from annotask.domain.task_data.segments import effective_overlap, mapping_ranges, segment_ranges
from annotask.domain.task_data.sources import CollectedSources
from annotask.formats.common import FrameInfo

if TYPE_CHECKING:
    from annotask.domain.task_data.chunk_source import ChunkSource


@dataclass
class FilesPlan(TaskPlan):
    """A task whose frames are files: ``frames`` are the kept ones, in task order,
    and ``indices`` their source indices (what ``Frame.frame`` stores)."""

    frames: list[ImageFrame]
    indices: list[int]


@dataclass(frozen=True)
class FrameFiles:
    """``ChunkSource.media`` of these kinds: source indices -> relative paths."""

    paths: Callable[[Sequence[int]], list[str]]


P = TypeVar("P", bound=FilesPlan)


def plan_files(
    plan_type: type[P],
    ctx: PlanContext,
    collected: CollectedSources,
    frames: list[ImageFrame],
    *,
    sized: bool,
) -> P:
    """Frame range, chunk size, segments and manifest of a task made of frame files
    (images or point clouds, whose frame size is the PCD WIDTH and HEIGHT).
    ``sized=False`` leaves width and height out of the manifest (spec 4: pcd)."""
    params = ctx.params
    step = ctx.step
    kept = list(media.frame_range(len(frames), params.start_frame, params.stop_frame, step))
    check_not_empty(kept, params)
    images = [frames[i] for i in kept]
    first = images[0]
    chunk_size = params.chunk_size or media.image_chunk_size(first.width, first.height)
    size = len(images)
    if params.job_file_mapping is not None:
        # The mapping defines the frame order: frames are renumbered in job order
        # (start 0, step 1: the parameters refuse start, stop and a filter with it).
        images, ranges = _apply_job_file_mapping(images, params.job_file_mapping)
        frames, kept, size = images, list(range(len(images))), len(images)
        seg, ovl = 0, 0
    else:
        seg, ovl = effective_overlap(size, ctx.segment_size, ctx.overlap, video=False)
        ranges = segment_ranges(size, seg, ovl)
    media.write_image_manifest(
        ctx.layout.manifest,
        (
            media.image_entry_for(
                f.path,
                f.width if sized else None,
                f.height if sized else None,
                related_images=f.related,
            )
            for f in frames
        ),
    )
    return plan_type(
        collected,
        size,
        kept[0],
        kept[-1],
        step,
        chunk_size,
        seg,
        ovl,
        ranges,
        frames=images,
        indices=kept,
    )


def _apply_job_file_mapping(
    images: list[ImageFrame], mapping: list[list[str]]
) -> tuple[list[ImageFrame], list[tuple[int, int]]]:
    by_name: dict[str, ImageFrame] = {}
    for frame in images:
        by_name.setdefault(frame.path, frame)
        by_name.setdefault(os.path.basename(frame.path), frame)
    ordered = []
    for job in mapping:
        for name in job:
            if name not in by_name:
                raise CreationFailed(
                    f"job_file_mapping names '{name}', which is not among the files"
                )
            ordered.append(by_name[name])
    return ordered, mapping_ranges([len(job) for job in mapping])


def planned_media(plan: FilesPlan) -> FrameFiles:
    by_index = dict(zip(plan.indices, (f.path for f in plan.frames), strict=True))
    return FrameFiles(lambda indices: [by_index[i] for i in indices])


def stored_media(db: Session, data: Data) -> FrameFiles:
    """Frame paths are read only when a chunk or frame needs them (a cache hit does not)."""
    data_id = data.id

    def paths(indices: Sequence[int]) -> list[str]:
        rows = dict(
            db.execute(
                select(Frame.frame, Frame.path).where(
                    Frame.data_id == data_id, Frame.frame.in_(list(indices))
                )
            ).all()
        )
        return [rows[i] for i in indices]

    return FrameFiles(paths)


def frame_files(source: ChunkSource, indices: list[int]) -> tuple[str, ...]:
    """The files of source frames ``indices``, as the chunk builder takes them."""
    media_: FrameFiles = source.media
    return tuple(str(source.file(rel)) for rel in media_.paths(indices))


def frame_rows(db: Session, data_id: int, plan: FilesPlan) -> None:
    columns = ("data_id", "frame", "path", "width", "height", "related_files")
    rows = [
        (
            data_id,
            index,
            frame.path,
            frame.width,
            frame.height,
            json.dumps(list(frame.related)) if frame.related else "[]",
        )
        for index, frame in zip(plan.indices, plan.frames, strict=True)
    ]
    insert_rows(db, cast(Table, Frame.__table__), columns, rows)


def chunk_types(use_zip_chunks: bool) -> tuple[str, str]:
    """Frames that are files always go into zip chunks (``imageset``)."""
    return cb.IMAGESET, cb.IMAGESET


def chunk_spec(
    source: ChunkSource,
    quality: str,
    out: Path,
    indices: list[int],
    *,
    point_clouds: bool = False,
) -> cb.ChunkSpec:
    """A zip chunk of the frames' files (images re-encoded per quality; point
    clouds packed unchanged)."""
    return cb.ChunkSpec(
        quality,
        source.chunk_type(quality),
        str(out),
        source.image_quality,
        images=frame_files(source, indices),
        max_pixels=source.max_pixels,
        point_clouds=point_clouds,
    )


# ---- the read side: names, sizes and source files of a stored task's frames ----------


def frame_infos(db: Session, data: Data, numbers: Sequence[int], step: int) -> list[FrameInfo]:
    """A ``FrameInfo`` per task frame in ``numbers`` that has a row, named by its path."""
    if not numbers:
        return []
    first, last = data.start_frame + min(numbers) * step, data.start_frame + max(numbers) * step
    query = select(Frame.frame, Frame.path, Frame.width, Frame.height).where(
        Frame.data_id == data.id, Frame.frame.between(first, last)
    )
    rows = {row.frame: row for row in db.execute(query)}
    found = ((n, rows.get(data.start_frame + n * step)) for n in numbers)
    return [FrameInfo(n, row.path, row.width, row.height) for n, row in found if row is not None]


def meta_frames(db: Session, data: Data, wanted: Sequence[int]) -> list[dict[str, Any]]:
    """``DataMetaRead.frames``: an entry per wanted source frame (absolute index)."""
    query = select(Frame).where(
        Frame.data_id == data.id,
        Frame.frame.between(min(wanted, default=0), max(wanted, default=0)),
    )
    rows = {f.frame: f for f in db.scalars(query)}
    return [
        {
            "name": rows[i].path,
            "width": rows[i].width,
            "height": rows[i].height,
            "related_files": len(rows[i].related_files),
            "has_related_context": bool(rows[i].related_files),
        }
        for i in wanted
        if i in rows
    ]


def source_files(db: Session, data: Data, manifest: Path) -> list[str]:
    """Every source file in source order: the manifest's, or the frame rows'."""
    if manifest.is_file():
        try:
            return [e.name + e.extension for e in media.iter_image_entries(manifest) if e]
        except media.MediaError:
            pass
    query = select(Frame.path).where(Frame.data_id == data.id).order_by(Frame.frame)
    return list(db.scalars(query))


def export_media(
    db: Session,
    data: Data,
    files: SourceFiles,
    frames: Sequence[FrameInfo],
    step: int,
    archive: ZipFile,
) -> None:
    """Each exported frame's source file, as it is, under ``images/``."""
    paths = dict(db.execute(select(Frame.frame, Frame.path).where(Frame.data_id == data.id)).all())
    for frame in frames:
        source = paths.get(data.start_frame + frame.number * step)
        if source is not None and (path := files(source)).is_file():
            archive.write(path, f"images/{frame.name}")
