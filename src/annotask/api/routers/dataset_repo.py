"""``/api/git/repository/*``: CVAT's dataset repository (git) endpoints (spec section 8).

CVAT's paths and bodies: ``POST create/{tid}`` (``{path: "URL [PATH]", format,
lfs, tid}``) and ``GET push/{tid}`` answer ``{"rq_id"}``; ``GET check/{rq_id}``
follows that request; ``GET get/{tid}`` reports URL, status and format;
``GET meta/get`` the statuses of every visible task; ``PATCH {tid}`` changes
URL, format or LFS. Pushing is also accepted as ``POST push/{tid}`` (the web UI
uses it: a state change should not be a GET). Attaching, pushing and changing
need the right to change the task; reading, the right to see it. Everything
answers 404 when ``ANNOTASK_GIT_ENABLED`` is off.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from annotask.api.body import read_json
from annotask.api.deps import CSRF_FAILED, Caller, CurrentCaller, Db, ServicesDep
from annotask.api.openapi import body_doc
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import RqId, WriteModel
from annotask.api.schemas.dataset_repo import RepositoryCheck, RepositoryRead
from annotask.api.urls import base_url
from annotask.domain import tasks
from annotask.domain.bodies import ignore_unknown
from annotask.domain.dataset_repo import service
from annotask.domain.errors import PermissionDenied, ValidationFailed
from annotask.services import Services

router = CvatRouter(prefix="/api/git/repository", tags=["dataset repositories"])

CREATE_FIELDS = {"path", "format", "lfs", "tid"}


class RepositoryCreate(WriteModel):
    """For the schema (the route reads the body itself, as CVAT's)."""

    path: str = Field(description="'URL [PATH]': the repository and the file in it.")
    format: str | None = None
    lfs: bool = False
    tid: int | None = None


class RepositoryChange(WriteModel):
    """For the schema: CVAT's ``{"type": "url"|"format"|"lfs", "value"}``, or
    ``{"url", "format", "lfs"}``."""

    type: str | None = None
    value: str | bool | None = None
    url: str | None = None
    format: str | None = None
    lfs: bool | None = None


def _enabled(services: ServicesDep) -> None:
    service.require_enabled(services.settings)


async def _body(request: Request) -> Any:
    return await read_json(request)


@router.post(
    "/create/{task_id}", dependencies=[Depends(_enabled)], openapi_extra=body_doc(RepositoryCreate)
)
def create(
    task_id: int,
    caller: CurrentCaller,
    db: Db,
    services: ServicesDep,
    body: Any = Depends(_body),
) -> RqId:
    """Attach the repository and queue its clone: ``{"rq_id"}``."""
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.")
    body = ignore_unknown(body, CREATE_FIELDS, "dataset repository")
    if "tid" in body and str(body["tid"]) != str(task_id):
        raise ValidationFailed({"tid": f"Must be the task of the URL ({task_id})."})
    if "path" not in body:
        raise ValidationFailed({"path": "This field is required: 'URL [PATH]'."})
    task = tasks.get_task_for_change(db, caller.user, task_id)
    rq_id = service.attach(
        db,
        services,
        caller.user,
        task,
        text=body["path"],
        format_name=body.get("format"),
        lfs=body.get("lfs", False),
    )
    return RqId(rq_id=rq_id)


@router.get("/check/{rq_id}", dependencies=[Depends(_enabled)], response_model=RepositoryCheck)
def check(rq_id: str, caller: CurrentCaller, db: Db) -> JSONResponse:
    """``{"status": "queued"|"started"|"finished"|"failed"|"unknown"}`` (+ ``stderr``)."""
    return JSONResponse(service.check(db, caller.user, rq_id))


def _push(request: Request, caller: Caller, services: Services, task_id: int) -> RqId:
    return RqId(rq_id=service.push(services, caller.user, task_id, base_url(request)))


@router.get("/push/{task_id}", dependencies=[Depends(_enabled)])
def push(task_id: int, request: Request, caller: CurrentCaller, services: ServicesDep) -> RqId:
    """Queue a push ("Synchronize"): ``{"rq_id"}``. CVAT's method is GET, so a
    session must still send its CSRF token here: a link on another site cannot
    make a signed-in user push."""
    if not caller.csrf_ok:
        raise PermissionDenied(CSRF_FAILED)
    return _push(request, caller, services, task_id)


@router.post("/push/{task_id}", dependencies=[Depends(_enabled)])
def push_post(task_id: int, request: Request, caller: CurrentCaller, services: ServicesDep) -> RqId:
    return _push(request, caller, services, task_id)


@router.get("/get/{task_id}", dependencies=[Depends(_enabled)], response_model=RepositoryRead)
def get(task_id: int, caller: CurrentCaller, db: Db, services: ServicesDep) -> JSONResponse:
    """URL, status (asking the remote whether the branch was merged), format, LFS."""
    task = tasks.get_task(db, caller.user, task_id)
    return JSONResponse(service.describe(services, db, task))


@router.get("/meta/get", dependencies=[Depends(_enabled)])
def meta(caller: CurrentCaller, db: Db) -> dict[str, str]:
    """``{task id: status}`` for every task with a repository that the caller sees."""
    return service.statuses(db, caller.user)


@router.patch(
    "/{task_id}",
    dependencies=[Depends(_enabled)],
    response_model=RepositoryRead,
    openapi_extra=body_doc(RepositoryChange),
)
def change(
    task_id: int,
    caller: CurrentCaller,
    db: Db,
    services: ServicesDep,
    body: Any = Depends(_body),
) -> JSONResponse:
    """CVAT's ``{"type": "url"|"format"|"lfs", "value"}``, or ``{"url", "format", "lfs"}``."""
    task = tasks.get_task_for_change(db, caller.user, task_id)
    service.update(db, services, task, body)
    return JSONResponse(service.describe(services, db, task, check_remote=False))
