"""TaskRead and the task write bodies (spec 1.4, 2.12, 4.1)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from annotask.api.schemas.common import (
    BasicUser,
    OmitWhenNone,
    ReadModel,
    StorageRead,
    StorageWrite,
    Summary,
    WriteModel,
    basic_user,
    storage_read,
)
from annotask.api.urls import absolute
from annotask.domain.bodies import STRICT_TYPES
from annotask.domain.tasks import TaskView


class TaskWrite(WriteModel):
    """``TaskWriteRequest``: strict types, so ``"5"`` or ``true`` for a number is a 400."""

    model_config = STRICT_TYPES

    name: str
    project_id: int | None = None
    owner_id: int | None = None
    assignee_id: int | None = None
    bug_tracker: str = ""
    overlap: int | None = None
    segment_size: int = 0
    labels: list[Any] = []
    subset: str = ""
    target_storage: StorageWrite | None = None
    source_storage: StorageWrite | None = None
    initial_replicas: int | None = None
    consensus_replicas: int | None = None


class TaskPatch(WriteModel):
    """``PatchedTaskWriteRequest``; data parameters (segment size, overlap...) are write-once."""

    model_config = STRICT_TYPES

    name: str = ""
    project_id: int | None = None
    owner_id: int | None = None
    assignee_id: int | None = None
    bug_tracker: str = ""
    labels: list[Any] = []
    subset: str = ""
    target_storage: StorageWrite | None = None
    source_storage: StorageWrite | None = None
    organization_id: int | None = None


class JobsSummary(ReadModel):
    count: int
    completed: int | None
    validation: int | None
    url: str


class CreationRequest(ReadModel):
    """annotask's own: the latest data-creation request of a task."""

    id: str
    status: str
    progress: float | None
    message: str | None


class TaskRead(OmitWhenNone):
    # Left out (not null) before data exists: the client rejects a null there.
    OMIT_WHEN_NONE = ("image_quality", "media_type")

    url: str
    id: int
    name: str
    project_id: int | None
    project_name: str | None
    mode: str
    owner: BasicUser | None
    assignee: BasicUser | None
    bug_tracker: str
    created_date: datetime
    updated_date: datetime
    overlap: int | None
    segment_size: int
    status: str
    data_chunk_size: int | None
    data_compressed_chunk_type: str | None
    data_original_chunk_type: str | None
    data_cloud_storage_id: int | None
    guide_id: int | None
    size: int
    # Left out (not null) before data exists: the client rejects a null here.
    image_quality: int | None = None
    data: int | None
    dimension: str
    media_type: str | None = None
    subset: str
    organization: int | None
    organization_id: int | None
    target_storage: StorageRead | None
    source_storage: StorageRead | None
    jobs: JobsSummary
    labels: Summary
    assignee_updated_date: datetime | None
    validation_mode: str | None
    initial_replicas: int
    # annotask's own: the latest data-creation request (extra keys are harmless to clients).
    creation_request: CreationRequest | None = None


def creation_summary(view: TaskView) -> CreationRequest | None:
    """annotask's own field: how the latest data creation went, so a failed creation
    is visible (with its reason) while the CVAT fields keep their CVAT values."""
    req = view.creation
    if req is None:
        return None
    return CreationRequest(id=req.id, status=req.status, progress=req.progress, message=req.message)


def task_read(request: Request, view: TaskView) -> TaskRead:
    task, data = view.task, view.task.data
    return TaskRead(
        url=absolute(request, f"/api/tasks/{task.id}"),
        id=task.id,
        name=task.name,
        project_id=task.project_id,
        project_name=task.project.name if task.project is not None else None,
        mode=task.mode or "",
        owner=basic_user(request, view.owner),
        assignee=basic_user(request, view.assignee),
        bug_tracker=task.bug_tracker or "",
        created_date=task.created_date,
        updated_date=task.updated_date,
        overlap=task.overlap,
        segment_size=task.segment_size or 0,
        status=task.status,
        data_chunk_size=data.chunk_size if data else None,
        data_compressed_chunk_type=data.compressed_chunk_type if data else None,
        data_original_chunk_type=data.original_chunk_type if data else None,
        data_cloud_storage_id=data.cloud_storage_id if data else None,
        guide_id=None,
        size=data.size if data else 0,
        image_quality=data.image_quality if data else None,
        data=data.id if data else None,
        dimension=task.dimension or "2d",
        media_type=data.media_type if data else None,
        subset=task.subset or "",
        organization=None,
        organization_id=None,
        target_storage=storage_read(view.target_storage),
        source_storage=storage_read(view.source_storage),
        jobs=JobsSummary(
            count=view.jobs.count,
            completed=view.jobs.completed,
            validation=view.jobs.validation,
            url=absolute(request, "/api/jobs", task_id=task.id),
        ),
        labels=Summary(url=absolute(request, "/api/labels", task_id=task.id)),
        assignee_updated_date=task.assignee_updated_date,
        validation_mode=None,
        initial_replicas=0,
        creation_request=creation_summary(view),
    )
