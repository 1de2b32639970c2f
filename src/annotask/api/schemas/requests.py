"""CVAT's ``Request`` model (spec 4.5) and the body of the diagnostics job."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Request
from pydantic import Field

from annotask.api.schemas.common import OmitWhenNone, ReadModel, WriteModel
from annotask.api.urls import absolute
from annotask.db.models import BackgroundRequest, User

# Where each kind of result is downloaded: CVAT's ``/api/<target>s/<id>/<sub>/download``.
# Annotation exports share the dataset endpoint; others use their own subresource.
DOWNLOAD_SUBRESOURCE = {
    "export:dataset": "dataset",
    "export:annotations": "dataset",
    "export:backup": "backup",
}


class RequestOwner(ReadModel):
    id: int
    username: str


class RequestDataOperation(ReadModel):
    type: str
    target: str
    project_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    format: str | None = None
    function_id: str | None = None
    lightweight: bool | None = None


class RequestRead(OmitWhenNone):
    # Omitted rather than null: the client rejects a null owner.
    OMIT_WHEN_NONE = ("owner",)

    id: str
    status: Literal["queued", "started", "finished", "failed"]
    message: str
    progress: float | None = Field(default=None, ge=0.0, le=1.0)
    operation: RequestDataOperation
    created_date: datetime
    started_date: datetime | None = None
    finished_date: datetime | None = None
    expiry_date: datetime | None = None
    owner: RequestOwner | None = None
    result_url: str | None = None
    result_id: int | None = None


def result_url(request: Request, req: BackgroundRequest) -> str | None:
    """The absolute URL of a finished request's file, or None when it made none.

    Operations map to ``/api/{target}s/{id}/{subresource}/download?rq_id=...``
    (e.g. ``export:backup`` of a task → ``/api/tasks/7/backup/download``); an
    operation not listed in ``DOWNLOAD_SUBRESOURCE`` uses the part after the colon.
    """
    if req.status != "finished" or not (req.result_path or req.result_filename):
        return None
    target_id = {"task": req.task_id, "project": req.project_id, "job": req.job_id}.get(req.target)
    if target_id is None:
        return None
    subresource = DOWNLOAD_SUBRESOURCE.get(req.operation) or req.operation.partition(":")[2]
    if not subresource:
        return None
    return absolute(request, f"/api/{req.target}s/{target_id}/{subresource}/download", rq_id=req.id)


def request_read(request: Request, req: BackgroundRequest, owner: User | None) -> RequestRead:
    """The JSON of one request. ``owner`` is omitted rather than null (the client
    rejects a null owner); ``message`` is never null; progress stays in 0..1."""
    progress = req.progress
    if progress is not None:
        progress = min(1.0, max(0.0, progress))
    return RequestRead(
        id=req.id,
        status=req.status,  # type: ignore[arg-type]
        message=req.message or "",
        progress=progress,
        operation=RequestDataOperation(
            type=req.operation,
            target=req.target,
            project_id=req.project_id,
            task_id=req.task_id,
            job_id=req.job_id,
            format=req.format,
            function_id=req.function_id,
            lightweight=req.lightweight,
        ),
        created_date=req.created_date,
        started_date=req.started_date,
        finished_date=req.finished_date,
        expiry_date=req.expiry_date,
        owner=RequestOwner(id=owner.id, username=owner.username) if owner else None,
        result_url=result_url(request, req),
        result_id=req.result_id if req.status == "finished" else None,
    )


class DiagnosticsSleep(WriteModel):
    """Parameters of ``diagnostics:sleep`` (see ``annotask.worker.jobs.diagnostics``)."""

    seconds: float = Field(default=1.0, ge=0.0, le=600.0)
    steps: int = Field(default=5, ge=1, le=1000)
    report: bool = True
    outcome: Literal["finish", "fail", "crash"] = "finish"
    message: str = Field(default="", max_length=1000)
