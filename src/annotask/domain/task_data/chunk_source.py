"""What any chunk of one task's data is made of, at creation and when served.

Creation (``pipeline.py``) builds a :class:`ChunkSource` from its plan and
writes every chunk; serving (``serving.py``) builds one from the stored rows and
builds the chunks of on-the-fly tasks. Both describe a chunk with
:func:`chunk_spec`, so the two can never disagree. What is specific to a media
kind (which files, which frames of a video) is ``ChunkSource.media``, owned by
the kind module in ``kinds/`` that made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from annotask.db.models import Data, Task
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.kinds import Kind, kind_of_data
from annotask.domain.task_data.kinds.base import TaskPlan
from annotask.domain.task_data.layout import TaskLayout, data_layout
from annotask.domain.task_data.params import DataParams, stored_frame_step
from annotask.domain.task_data.sources import source_root
from annotask.services import Services


@dataclass(frozen=True)
class ChunkSource:
    """Everything needed to describe any chunk of one task's data.

    Relative frame ``i`` of the task is source frame ``start + i * step`` of the
    media (a video's frame number, or the index of an image in the sorted files).
    """

    kind: Kind
    layout: TaskLayout
    root: Path  # the source root (upload/, raw/ or the share) that frame paths are under
    size: int
    chunk_size: int
    start: int
    step: int
    compressed_type: str
    original_type: str
    image_quality: int
    max_pixels: int
    media: Any  # the kind's own description of its files (see ``kinds/``)

    @classmethod
    def from_plan(
        cls, kind: Kind, layout: TaskLayout, plan: TaskPlan, params: DataParams, max_pixels: int
    ) -> ChunkSource:
        """The source of a task being created, before any of its rows exists."""
        compressed, original = kind.chunk_types(params.use_zip_chunks)
        return cls(
            kind=kind,
            layout=layout,
            root=plan.collected.root,
            size=plan.size,
            chunk_size=plan.chunk_size,
            start=plan.start_frame,
            step=plan.step,
            compressed_type=compressed,
            original_type=original,
            image_quality=params.image_quality,
            max_pixels=max_pixels,
            media=kind.planned_media(plan),
        )

    @classmethod
    def from_db(cls, services: Services, db: Session, task: Task, data: Data) -> ChunkSource:
        kind = kind_of_data(data)
        layout = data_layout(services.settings, task.id, data)
        return cls(
            kind=kind,
            layout=layout,
            root=source_root(services.settings, layout, data.source_root),
            size=data.size,
            chunk_size=data.chunk_size,
            start=data.start_frame,
            step=stored_frame_step(data.frame_filter),
            compressed_type=data.compressed_chunk_type,
            original_type=data.original_chunk_type,
            image_quality=data.image_quality,
            max_pixels=services.settings.image_max_pixels,
            media=kind.stored_media(db, data),
        )

    def source_indices(self, relative: range | list[int]) -> list[int]:
        return [self.start + i * self.step for i in relative]

    def source_index(self, relative: int) -> int:
        return self.start + relative * self.step

    def file(self, rel: str) -> Path:
        """A source file (frame, video, context image) by its stored relative path."""
        return self.layout.source_file(self.root, rel)

    def chunk_count(self) -> int:
        return (self.size + self.chunk_size - 1) // self.chunk_size

    def chunk_type(self, quality: str) -> str:
        return self.compressed_type if quality == cb.COMPRESSED else self.original_type


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
    chunk_type = source.chunk_type(quality)
    out = out or source.layout.chunk(quality, index, cb.chunk_ext(chunk_type))
    return source.kind.chunk_spec(source, quality, out, source.source_indices(relative))
