"""JobRead and the job write body (spec 2.2, 4.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Request

from annotask.api.schemas.common import (
    BasicUser,
    CountSummary,
    ReadModel,
    StorageRead,
    Summary,
    WriteModel,
    basic_user,
    storage_read,
)
from annotask.api.urls import absolute
from annotask.domain.bodies import STRICT_TYPES
from annotask.domain.jobs import JobView


class JobPatch(WriteModel):
    """``PatchedJobWriteRequest``: the assignee's user id, the stage and the state."""

    model_config = STRICT_TYPES

    assignee: int | None = None
    stage: Literal["annotation", "validation", "acceptance"] = "annotation"
    state: Literal["new", "in progress", "completed", "rejected"] = "new"


class JobRead(ReadModel):
    url: str
    id: int
    task_id: int
    task_name: str | None
    project_id: int | None
    project_name: str | None
    assignee: BasicUser | None
    guide_id: int | None
    dimension: str
    bug_tracker: str | None
    status: str
    stage: str
    state: str
    mode: str
    media_type: str
    frame_count: int
    start_frame: int
    stop_frame: int
    data_chunk_size: int | None
    data_compressed_chunk_type: str | None
    data_original_chunk_type: str | None
    created_date: datetime
    updated_date: datetime
    issues: CountSummary
    labels: Summary
    type: str
    organization: int | None
    target_storage: StorageRead | None
    source_storage: StorageRead | None
    assignee_updated_date: datetime | None
    parent_job_id: int | None
    replicas_count: int


def job_read(request: Request, view: JobView) -> JobRead:
    job, task, segment, data = view.job, view.task, view.segment, view.task.data
    return JobRead(
        url=absolute(request, f"/api/jobs/{job.id}"),
        id=job.id,
        task_id=task.id,
        task_name=task.name,
        project_id=task.project_id,
        project_name=task.project.name if task.project is not None else None,
        assignee=basic_user(request, view.assignee),
        guide_id=None,
        dimension=task.dimension or "2d",
        bug_tracker=view.bug_tracker,
        status=view.status,
        stage=job.stage,
        state=job.state,
        mode=task.mode or "",
        media_type=data.media_type if data else "image",
        frame_count=view.frame_count,
        start_frame=segment.start_frame,
        stop_frame=segment.stop_frame,
        data_chunk_size=data.chunk_size if data else None,
        data_compressed_chunk_type=data.compressed_chunk_type if data else None,
        data_original_chunk_type=data.original_chunk_type if data else None,
        created_date=job.created_date,
        updated_date=job.updated_date,
        issues=CountSummary(count=0, url=absolute(request, "/api/issues", job_id=job.id)),
        labels=Summary(url=absolute(request, "/api/labels", job_id=job.id)),
        type=job.type,
        organization=None,
        target_storage=storage_read(view.target_storage),
        source_storage=storage_read(view.source_storage),
        assignee_updated_date=job.assignee_updated_date,
        parent_job_id=None,
        replicas_count=0,
    )
