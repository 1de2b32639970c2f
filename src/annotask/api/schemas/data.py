"""``DataMetaRead`` and its write body (spec 4.6), as the schema shows them.

The meta routes answer the dict of ``domain.task_data.meta.data_meta`` as it is
(a task has one row per frame: validating it again would only cost time); these
models describe it and are checked against the CVAT SDK's (tests/compat)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from annotask.api.schemas.common import ReadModel, WriteModel


class FrameMeta(ReadModel):
    name: str
    width: int
    height: int
    related_files: int
    has_related_context: bool


class DataMetaRead(ReadModel):
    chunks_updated_date: datetime
    chunk_size: int | None
    size: int
    image_quality: int
    start_frame: int
    stop_frame: int
    frame_filter: str
    deleted_frames: list[int]
    included_frames: list[int] | None
    chapters: list[Any] | None
    storage: str
    cloud_storage_id: int | None
    frames: list[FrameMeta] | None


class DataMetaPatch(WriteModel):
    """``PatchedDataMetaWriteRequest``: the frames to mark deleted (absolute numbers)."""

    deleted_frames: list[int]
