"""A task's data: the upload protocol, frames, chunks, meta and preview (spec 1.5, 2.4-2.6)."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json, validate
from annotask.api.deps import (
    Caller,
    CurrentCaller,
    Db,
    ServicesDep,
    in_one_trip,
    one_trip_waiting,
)
from annotask.api.media import query_number, send
from annotask.api.multipart import receive_multipart
from annotask.api.openapi import DATA_MEDIA, DATA_QUERY, binary, body_doc
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import RqId
from annotask.api.schemas.data import DataMetaPatch, DataMetaRead
from annotask.api.upload_protocol import UploadCall, UploadRoutes, add_upload_routes
from annotask.db.models import Task
from annotask.domain import permissions
from annotask.domain.errors import ValidationFailed
from annotask.domain.task_data import commands, serving
from annotask.domain.task_data.meta import data_meta
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.start import DATA_PURPOSE

router = CvatRouter(prefix="/api/tasks", tags=["tasks"])


def _params_from(body) -> DataParams:
    if isinstance(body, dict) and "client_files" in body:
        body = {k: v for k, v in body.items() if k != "client_files"}  # the server fills it
    return validate(DataParams, body)


async def _start(call: UploadCall, params: DataParams, *, staged: bool) -> Response:
    rq_id = await run_in_threadpool(
        commands.start_data,
        call.services,
        call.caller.user,
        call.target.target_id,
        params,
        call.staging if staged else None,
    )
    return JSONResponse({"rq_id": rq_id}, status_code=202)


async def _finish(call: UploadCall) -> Response:
    return await _start(call, _params_from(await read_json(call.request)), staged=True)


async def _one_shot(call: UploadCall) -> Response:
    """The files in a multipart body with the parameters as fields, or only the
    parameters as JSON (share or remote files)."""
    req = call.request
    if req.headers.get("content-type", "").startswith("multipart/form-data"):
        call.staging.reset()
        limit = call.services.settings.max_upload_bytes
        form = await receive_multipart(req, call.staging, limit)
        return await _start(call, _params_from(_coerce_form(form.field_items)), staged=True)
    return await _start(call, _params_from(await read_json(req)), staged=False)


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
@router.patch(
    "/{task_id}/data/meta", response_model=DataMetaRead, openapi_extra=body_doc(DataMetaPatch)
)
async def patch_data_meta(
    task_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    raw = await read_json(request)
    meta = await run_in_threadpool(
        commands.change_task_deleted_frames, services, caller.user, task_id, raw
    )
    return JSONResponse(meta)  # as the domain made it: one row per frame, not validated again


# The upload protocol; its TUS chunk route's {file_id} would take "meta" above.
add_upload_routes(
    router,
    UploadRoutes(
        path="/{task_id}/data/",
        purpose=DATA_PURPOSE,
        name="upload_data",
        chunk_name="upload_data_chunk",
        offset_name="upload_data_offset",
        id_param="task_id",
        check=commands.check_data_upload,
        finish=_finish,
        one_shot=_one_shot,
        status_code=202,
        body=body_doc(DataParams, media_types=("multipart/form-data",)),
        responses={202: {"model": RqId}},
    ),
)


def _visible_task(db, caller, task_id: int) -> Task:
    return permissions.require_task_view(db, caller.user, db.get(Task, task_id))


@router.get(
    "/{task_id}/data/",
    response_model=None,
    responses=binary(*DATA_MEDIA, description="A chunk, frame, preview or context images."),
    openapi_extra=DATA_QUERY,
)
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


@router.get("/{task_id}/data/meta", response_model=DataMetaRead)
async def get_data_meta(task_id: int, request: Request) -> Response:
    """One thread trip, as the job's meta (``job_data.get_job_data_meta``)."""

    def meta(caller: Caller, db: Session) -> dict:
        return data_meta(db, _visible_task(db, caller, task_id))

    # One row per frame: answered as the domain made it, not validated again.
    return JSONResponse(await run_in_threadpool(in_one_trip, request, meta))


@router.get("/{task_id}/preview", response_model=None, responses=binary("image/*"))
def get_preview(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> Response:
    task = _visible_task(db, caller, task_id)
    return send(serving.get_preview(services, task))
