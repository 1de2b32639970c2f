"""A task's data: the upload protocol, frames, chunks, meta and preview (spec 1.5, 2.4-2.6)."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json, validate
from annotask.api.deps import Caller, CurrentCaller, Db, ServicesDep, one_trip_waiting
from annotask.api.media import query_number, send
from annotask.api.multipart import receive_multipart
from annotask.api.routing import CvatRouter
from annotask.api.schemas.data import data_meta
from annotask.api.upload_protocol import (
    UploadTarget,
    handle_tus_head,
    handle_tus_patch,
    handle_upload_post,
)
from annotask.db.models import Task
from annotask.domain import permissions
from annotask.domain.errors import ValidationFailed
from annotask.domain.task_data import serving
from annotask.domain.task_data.deleted_frames import set_deleted_frames
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.start import DATA_PURPOSE, start_creation
from annotask.domain.uploads import StagingArea
from annotask.services import Services

router = CvatRouter(prefix="/api/tasks", tags=["tasks"])


def _task_for_change(services: Services, caller, task_id: int) -> Task:
    with services.read_sessions() as db, db.begin():
        return permissions.require_task_change(db, caller.user, db.get(Task, task_id))


def _start(
    services: Services, caller, task_id: int, params: DataParams, staging: StagingArea | None
) -> str:
    with services.sessions() as db, db.begin():
        task = permissions.require_task_change(db, caller.user, db.get(Task, task_id))
        return start_creation(
            db, services, task=task, owner_id=caller.user.id, params=params, staging=staging
        )


def _params_from(body) -> DataParams:
    if isinstance(body, dict) and "client_files" in body:
        body = {k: v for k, v in body.items() if k != "client_files"}  # the server fills it
    return validate(DataParams, body)


@router.post("/{task_id}/data/", status_code=202)
async def upload_data(
    task_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_task_for_change, services, caller, task_id)
    target = UploadTarget(DATA_PURPOSE, task_id, caller.user.id)

    async def finish(req: Request, staging: StagingArea) -> Response:
        params = _params_from(await read_json(req))
        rq_id = await run_in_threadpool(_start, services, caller, task_id, params, staging)
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    async def single_shot(req: Request, staging: StagingArea) -> Response:
        if req.headers.get("content-type", "").startswith("multipart/form-data"):
            staging.reset()
            form = await receive_multipart(req, staging, services.settings.max_upload_bytes)
            params = _params_from(_coerce_form(form.field_items))
            rq_id = await run_in_threadpool(_start, services, caller, task_id, params, staging)
        else:
            params = _params_from(await read_json(req))
            rq_id = await run_in_threadpool(_start, services, caller, task_id, params, None)
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    return await handle_upload_post(
        request, services, target, on_finish=finish, on_single_shot=single_shot
    )


def _coerce_form(fields: list[tuple[str, str]]) -> dict:
    """Multipart fields arrive as text: turn the booleans and numbers back into JSON types."""
    out: dict = {}
    for key, value in fields:
        base = key.split("[", 1)[0]
        if base in ("server_files", "remote_files", "upload_file_order", "server_files_exclude"):
            out.setdefault(base, []).append(value)
        elif value.lower() in ("true", "false"):
            out[key] = value.lower() == "true"
        elif value.lstrip("-").isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    return out


# Declared before the TUS chunk route, whose {file_id} would otherwise take "meta".
@router.patch("/{task_id}/data/meta")
async def patch_data_meta(
    task_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> dict:
    raw = await read_json(request)

    def change() -> dict:
        with services.sessions() as db, db.begin():
            task = permissions.require_task_change(db, caller.user, db.get(Task, task_id))
            set_deleted_frames(task, raw)
            db.flush()
            return data_meta(db, task)

    return await run_in_threadpool(change)


@router.patch("/{task_id}/data/{file_id}")
async def upload_data_chunk(
    task_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_task_for_change, services, caller, task_id)
    return await handle_tus_patch(
        request, services, UploadTarget(DATA_PURPOSE, task_id, caller.user.id), file_id
    )


@router.head("/{task_id}/data/{file_id}")
async def upload_data_offset(
    task_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_task_for_change, services, caller, task_id)
    return await handle_tus_head(
        request, services, UploadTarget(DATA_PURPOSE, task_id, caller.user.id), file_id
    )


def _visible_task(db, caller, task_id: int) -> Task:
    return permissions.require_task_view(db, caller.user, db.get(Task, task_id))


@router.get("/{task_id}/data/")
async def get_data(task_id: int, request: Request, services: ServicesDep) -> Response:
    """Chunks, frames, previews: authentication, permission and payload in one trip
    to a worker thread (the route annotators call most)."""

    def work(caller: Caller, db: Session) -> Response:
        task = _visible_task(db, caller, task_id)
        kind = request.query_params.get("type")
        quality = request.query_params.get("quality", "compressed")
        if kind == "chunk":
            payload = serving.get_chunk(services, db, task, quality, query_number(request))
        elif kind == "frame":
            payload = serving.get_frame(services, db, task, quality, query_number(request))
        elif kind == "preview":
            payload = serving.get_preview(services, task)
        elif kind == "context_image":
            payload = serving.get_context_images(services, db, task, query_number(request))
        else:
            raise ValidationFailed({"type": "Data type not specified or has wrong value"})
        return send(payload)

    return await one_trip_waiting(request, work)


@router.get("/{task_id}/data/meta")
def get_data_meta(task_id: int, request: Request, caller: CurrentCaller, db: Db) -> dict:
    task = _visible_task(db, caller, task_id)
    return data_meta(db, task)


@router.get("/{task_id}/preview")
def get_preview(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> Response:
    task = _visible_task(db, caller, task_id)
    return send(serving.get_preview(services, task))
