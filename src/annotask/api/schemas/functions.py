"""Read models of native functions and lambda requests (``/api/functions``, ``/api/lambda``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request

from annotask.api.schemas.common import BasicUser, ReadModel, basic_user
from annotask.api.urls import absolute
from annotask.db.models import AnnotationRequest, Function, User


class FunctionRead(ReadModel):
    id: int
    url: str
    name: str
    provider: str
    kind: str
    visibility: str
    description: str
    owner: BasicUser | None = None
    created_date: datetime
    updated_date: datetime


def function_read(request: Request, function: Function, owner: User | None) -> dict:
    """The function as the agent reads it: common fields plus its kind's fields
    (``labels_v2``; ``min_pos_points``...; ``supported_shape_types``)."""
    body = FunctionRead(
        id=function.id,
        url=absolute(request, f"/api/functions/{function.id}"),
        name=function.name,
        provider=function.provider,
        kind=function.kind,
        visibility=function.visibility,
        description=function.description or "",
        owner=basic_user(request, owner),
        created_date=function.created_date,
        updated_date=function.updated_date,
    ).model_dump(mode="json")
    body.update(function.spec or {})
    return body


class FunctionCallParams(ReadModel):
    id: str | None
    task: int | None
    threshold: float | None


class FunctionCall(ReadModel):
    id: str
    function: FunctionCallParams
    status: str
    progress: int
    enqueued: datetime | None
    started: datetime | None
    ended: datetime | None
    exc_info: str | None


def function_call(request: AnnotationRequest) -> dict:
    """CVAT's ``FunctionCall``: progress in percent, the failure reason in ``exc_info``;
    ``function.job`` only for a job's run (the SDK's model does not allow null there)."""
    body = FunctionCall(
        id=request.id,
        function=FunctionCallParams(
            id=str(request.function_id) if request.function_id is not None else None,
            task=request.task_id,
            threshold=request.threshold,
        ),
        status=request.status,
        progress=round(100 * min(1.0, max(0.0, request.progress or 0.0))),
        enqueued=request.created_date,
        started=request.started_date,
        ended=request.finished_date,
        exc_info=(request.message or "Unknown error") if request.status == "failed" else None,
    ).model_dump(mode="json")
    if request.job_id is not None:
        body["function"]["job"] = request.job_id
    return body


def lambda_function(function: Function) -> dict:
    """A native function in the shape of CVAT's lambda functions (``id`` is a string)."""
    return {
        "id": str(function.id),
        "name": function.name,
        "kind": function.kind,
        "provider": function.provider,
        "description": function.description or "",
        "version": 1,
        "labels_v2": [],
        **(function.spec or {}),
    }
