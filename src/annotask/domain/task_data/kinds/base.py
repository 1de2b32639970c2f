"""The seam between the task-data pipeline and one media kind.

A kind module (``images``, ``video``, ``point_cloud``) is a plain module that
satisfies :class:`Kind`: it plans a task from the collected files, describes
its chunks, and serves its frames and previews. ``kinds/__init__.py`` keys the
modules by the media kind of the upload and by ``Data.media_type``; nothing
outside ``kinds/`` asks which kind a task is.

Kind modules reach files only through ``TaskLayout`` (``layout.source_file``,
``layout.manifest``, ``layout.raw``...), never by joining paths, so storage
other than a local directory only changes the layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zipfile import ZipFile

from sqlalchemy.orm import Session

from annotask import media
from annotask.db.models import Data
from annotask.domain.errors import DomainError
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.layout import TaskLayout
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.payload import Payload
from annotask.domain.task_data.sources import CollectedSources
from annotask.formats.common import FrameInfo

if TYPE_CHECKING:
    from annotask.domain.task_data.chunk_source import ChunkSource

Report = Callable[[float, str | None], None]
#: A stored task's source file by its relative path (``TaskLayout.source_file`` on the
#: task's source root).
SourceFiles = Callable[[str], Path]


class CreationFailed(DomainError):
    """The user's data cannot make a task; the message says why."""


@dataclass(frozen=True)
class PlanContext:
    """What a kind needs to plan a task, read once by the pipeline."""

    layout: TaskLayout  # this attempt's layout
    params: DataParams
    step: int  # ``params.frame_filter`` parsed once, here
    segment_size: int
    overlap: int | None
    max_pixels: int
    report: Report


@dataclass
class TaskPlan:
    """What every kind's plan has: the frames kept, their chunks and segments.

    ``start_frame``, ``stop_frame`` and ``step`` are in source frames (a video's
    frame numbers, or indices of the sorted files); relative frame ``i`` of the
    task is source frame ``start_frame + i * step``.
    """

    collected: CollectedSources
    size: int
    start_frame: int
    stop_frame: int
    step: int
    chunk_size: int
    segment_size: int
    overlap: int
    segments: list[tuple[int, int]]


class Kind(Protocol):
    """One media kind; implemented by a module (see ``kinds/images.py``)."""

    #: ``Data.media_type``: CVAT's ``image``, ``video`` or ``point_cloud``.
    media_type: str
    #: ``Task.dimension``: ``2d`` or ``3d``.
    dimension: str
    #: ``Task.mode``: ``annotation`` or ``interpolation``.
    mode: str

    def plan(
        self, ctx: PlanContext, collected: CollectedSources, selection: media.MediaSelection
    ) -> TaskPlan:
        """Probe and order the frames, write the manifest, choose chunks and segments."""
        ...

    def chunk_types(self, use_zip_chunks: bool) -> tuple[str, str]:
        """``(compressed, original)`` chunk types (``chunk_builder.IMAGESET``/``VIDEO``)."""
        ...

    def planned_media(self, plan: Any) -> Any:
        """``ChunkSource.media`` of a planned task (before any row exists)."""
        ...

    def stored_media(self, db: Session, data: Data) -> Any:
        """``ChunkSource.media`` of a stored task, read from its rows."""
        ...

    def chunk_spec(
        self, source: ChunkSource, quality: str, out: Path, indices: list[int]
    ) -> cb.ChunkSpec:
        """The chunk of source frames ``indices`` (ascending), written to ``out``."""
        ...

    def frame(self, source: ChunkSource, quality: str, index: int) -> Payload:
        """Source frame ``index`` as one file in ``quality``."""
        ...

    def preview(self, source: ChunkSource, index: int) -> bytes:
        """A JPEG preview of source frame ``index``."""
        ...

    def frame_rows(self, db: Session, data_id: int, plan: Any) -> None:
        """Insert the rows that describe the frames (``Frame`` or ``Video``)."""
        ...

    # The read side, for annotations, exports, backups and the data meta.

    def frame_infos(
        self, db: Session, data: Data, numbers: Sequence[int], step: int
    ) -> list[FrameInfo]:
        """Name and size of task frames ``numbers``, as the annotation formats name them."""
        ...

    def meta_frames(self, db: Session, data: Data, wanted: Sequence[int]) -> list[dict[str, Any]]:
        """``DataMetaRead.frames`` for the wanted source frames (absolute indices)."""
        ...

    def source_files(self, db: Session, data: Data, manifest: Path) -> list[str]:
        """Every source file of the task, in source order (a backup's ``data/``)."""
        ...

    def export_media(
        self,
        db: Session,
        data: Data,
        files: SourceFiles,
        frames: Sequence[FrameInfo],
        step: int,
        archive: ZipFile,
    ) -> None:
        """Write the exported frames' images under ``images/`` of a dataset export."""
        ...


def check_not_empty(kept: list[int], params: DataParams) -> None:
    if not kept:
        raise CreationFailed(
            f"The frame range (start {params.start_frame}, stop {params.stop_frame}) "
            "selects no frames: the start frame is beyond the last frame."
        )
