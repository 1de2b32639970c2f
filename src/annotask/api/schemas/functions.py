"""Read models of native functions and lambda requests (``/api/functions``, ``/api/lambda``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import ConfigDict

from annotask.api.schemas.common import (
    BasicUser,
    OmitWhenNone,
    ReadModel,
    WriteModel,
    basic_user,
)
from annotask.api.urls import absolute
from annotask.db.models import AnnotationRequest, Function, User


class FunctionRead(ReadModel):
    """The common fields; each kind adds its own (``labels_v2``, ``min_pos_points``...)."""

    model_config = ConfigDict(extra="allow")

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


def function_read(request: Request, function: Function, owner: User | None) -> FunctionRead:
    """The function as the agent reads it: common fields plus its kind's fields
    (``labels_v2``; ``min_pos_points``...; ``supported_shape_types``)."""
    fields: dict[str, Any] = dict(
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
    )
    return FunctionRead.model_validate({**fields, **(function.spec or {})})


class FunctionCallParams(OmitWhenNone):
    # Only for a job's run: the SDK's model does not allow null there.
    OMIT_WHEN_NONE = ("job",)

    id: str | None
    task: int | None
    job: int | None = None
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


def function_call(request: AnnotationRequest) -> FunctionCall:
    """CVAT's ``FunctionCall``: progress in percent, the failure reason in ``exc_info``;
    ``function.job`` only for a job's run (the SDK's model does not allow null there)."""
    return FunctionCall(
        id=request.id,
        function=FunctionCallParams(
            id=str(request.function_id) if request.function_id is not None else None,
            task=request.task_id,
            job=request.job_id,
            threshold=request.threshold,
        ),
        status=request.status,
        progress=round(100 * min(1.0, max(0.0, request.progress or 0.0))),
        enqueued=request.created_date,
        started=request.started_date,
        ended=request.finished_date,
        exc_info=(request.message or "Unknown error") if request.status == "failed" else None,
    )


class Assignment(ReadModel):
    ar_id: str
    ar_params: dict[str, Any]


class AcquiredRequest(ReadModel):
    """What ``requests/acquire`` gives an agent: a request, or null when none waits."""

    ar_assignment: Assignment | None


class AgentReport(WriteModel):
    """The body of ``requests/acquire``, ``update``, ``complete`` and ``fail``: the
    agent, and what it reports (progress 0..1, the result, or the failure)."""

    agent_id: str
    request_category: str | None = None
    progress: float | None = None
    annotations: Any = None
    shapes: Any = None
    states: Any = None
    exc_info: str | None = None


class FunctionWrite(WriteModel):
    """``POST /api/functions`` (``cvat-cli function create-native``): the common fields
    and the kind's own (``labels_v2``, ``min_pos_points``...), which
    ``domain.functions.registry`` validates."""

    model_config = ConfigDict(extra="allow")

    provider: str
    name: str
    kind: str


class FunctionCallWrite(WriteModel):
    """``FunctionCallRequest``: run a function on a task or a job."""

    function: str
    task: int
    job: int | None = None
    max_distance: int | None = None
    threshold: float | None = None
    cleanup: bool = False
    conv_mask_to_poly: bool = False
    mapping: dict[str, Any] = {}
    roi: list[int] | None = None


class LambdaCallWrite(WriteModel):
    """CVAT's call of a function on one frame (``POST /api/lambda/functions/{id}``);
    the kind's own fields (``pos_points``, ``obj_bbox``, ``shapes``...) as well."""

    model_config = ConfigDict(extra="allow")

    task: int
    frame: int
    job: int | None = None
    quality: str | None = None
    threshold: float | None = None
    mapping: dict[str, Any] = {}
    cleanup: bool = False
    conv_mask_to_poly: bool = False


class LambdaFunction(ReadModel):
    """A native function in the shape of CVAT's lambda functions (``id`` is a string);
    each kind adds its own fields."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    kind: str
    provider: str
    description: str
    version: int
    labels_v2: list[Any]


def lambda_function(function: Function) -> LambdaFunction:
    return LambdaFunction.model_validate(
        {
            "id": str(function.id),
            "name": function.name,
            "kind": function.kind,
            "provider": function.provider,
            "description": function.description or "",
            "version": 1,
            "labels_v2": [],
            **(function.spec or {}),
        }
    )
