"""ProjectRead and the project write bodies (spec 2.13, 4.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from annotask.api.schemas.common import (
    BasicUser,
    CountSummary,
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
from annotask.domain.projects import ProjectView


class ProjectWrite(WriteModel):
    """``ProjectWriteRequest``."""

    model_config = STRICT_TYPES

    name: str
    labels: list[Any] = []
    owner_id: int | None = None
    assignee_id: int | None = None
    bug_tracker: str = ""
    target_storage: StorageWrite | None = None
    source_storage: StorageWrite | None = None


class ProjectPatch(WriteModel):
    """``PatchedProjectWriteRequest``."""

    model_config = STRICT_TYPES

    name: str = ""
    labels: list[Any] = []
    owner_id: int | None = None
    assignee_id: int | None = None
    bug_tracker: str = ""
    target_storage: StorageWrite | None = None
    source_storage: StorageWrite | None = None
    organization_id: int | None = None


class ProjectRead(ReadModel):
    url: str
    id: int
    name: str
    owner: BasicUser | None
    assignee: BasicUser | None
    guide_id: int | None
    bug_tracker: str
    task_subsets: list[str]
    created_date: datetime
    updated_date: datetime
    status: str
    dimension: str | None
    organization: int | None
    organization_id: int | None
    target_storage: StorageRead | None
    source_storage: StorageRead | None
    tasks: CountSummary
    labels: Summary
    assignee_updated_date: datetime | None


def project_read(request: Request, view: ProjectView) -> ProjectRead:
    project = view.project
    return ProjectRead(
        url=absolute(request, f"/api/projects/{project.id}"),
        id=project.id,
        name=project.name,
        owner=basic_user(request, view.owner),
        assignee=basic_user(request, view.assignee),
        guide_id=None,
        bug_tracker=project.bug_tracker or "",
        task_subsets=view.summary.subsets,
        created_date=project.created_date,
        updated_date=project.updated_date,
        status=project.status,
        dimension=view.summary.dimension,
        organization=None,
        organization_id=None,
        target_storage=storage_read(view.target_storage),
        source_storage=storage_read(view.source_storage),
        tasks=CountSummary(
            count=view.summary.task_count,
            url=absolute(request, "/api/tasks", project_id=project.id),
        ),
        labels=Summary(url=absolute(request, "/api/labels", project_id=project.id)),
        assignee_updated_date=project.assignee_updated_date,
    )
