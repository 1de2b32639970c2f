"""A job's frames, chunks, meta and preview (spec 2.4-2.6): the task's, limited to the job."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json
from annotask.api.deps import (
    Caller,
    CurrentCaller,
    ServicesDep,
    in_one_trip,
    one_trip_waiting,
)
from annotask.api.media import query_number, send
from annotask.api.openapi import DATA_MEDIA, DATA_QUERY, binary, body_doc
from annotask.api.routing import CvatRouter
from annotask.api.schemas.data import DataMetaPatch, DataMetaRead
from annotask.db.models import Job
from annotask.domain import permissions
from annotask.domain.errors import ValidationFailed
from annotask.domain.task_data import commands, serving
from annotask.domain.task_data.meta import data_meta
from annotask.services import Services

router = CvatRouter(prefix="/api/jobs", tags=["jobs"])


def _visible_job(db, caller, job_id: int) -> Job:
    return permissions.require_job_view(db, caller.user, db.get(Job, job_id))


@router.get(
    "/{job_id}/data",
    response_model=None,
    responses=binary(*DATA_MEDIA, description="A chunk, frame, preview or context images."),
    openapi_extra=DATA_QUERY,
)
async def get_job_data(job_id: int, request: Request, services: ServicesDep) -> Response:
    """As the task's data route: everything in one trip to a worker thread."""
    return await one_trip_waiting(
        request, lambda caller, db: _job_data(job_id, request, caller, db, services)
    )


def _job_data(
    job_id: int, request: Request, caller: Caller, db: Session, services: Services
) -> Response:
    job = _visible_job(db, caller, job_id)
    task, segment = job.segment.task, job.segment
    kind = request.query_params.get("type")
    quality = request.query_params.get("quality", "compressed")
    if kind in ("frame", "context_image"):
        number = query_number(request)
        if not segment.start_frame <= number <= segment.stop_frame:
            raise ValidationFailed(
                {
                    "number": f"Frame {number} is outside the job ({segment.start_frame}-"
                    f"{segment.stop_frame})."
                }
            )
        if kind == "frame":
            payload = serving.get_frame(services, db, task, quality, number)
        else:
            payload = serving.get_context_images(services, db, task, number)
    elif kind == "chunk":
        payload = serving.get_job_chunk(
            services,
            db,
            task,
            quality,
            query_number(request),
            segment.start_frame,
            segment.stop_frame,
        )
    elif kind == "preview":
        payload = serving.get_job_preview(services, db, task, segment.start_frame)
    else:
        raise ValidationFailed({"type": "Data type not specified or has wrong value"})
    return send(payload)


@router.get("/{job_id}/data/meta", response_model=DataMetaRead)
async def get_job_data_meta(job_id: int, request: Request) -> Response:
    """Read by every annotator's view on opening a job: one thread trip, as the frame
    reads (as dependencies, the caller and the session each cost a trip, and under
    load each trip queues behind the frame reads on the shared threads)."""

    def meta(caller: Caller, db: Session) -> dict:
        segment = _visible_job(db, caller, job_id).segment
        return data_meta(db, segment.task, segment.start_frame, segment.stop_frame)

    # One row per frame: answered as the domain made it, not validated again.
    return JSONResponse(await run_in_threadpool(in_one_trip, request, meta))


@router.patch(
    "/{job_id}/data/meta", response_model=DataMetaRead, openapi_extra=body_doc(DataMetaPatch)
)
async def patch_job_data_meta(
    job_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    raw = await read_json(request)
    meta = await run_in_threadpool(
        commands.change_job_deleted_frames, services, caller.user, job_id, raw
    )
    return JSONResponse(meta)


@router.get("/{job_id}/preview", response_model=None, responses=binary("image/*"))
async def get_job_preview(job_id: int, request: Request, services: ServicesDep) -> Response:
    def work(caller: Caller, db: Session) -> Response:
        segment = _visible_job(db, caller, job_id).segment
        return send(serving.get_job_preview(services, db, segment.task, segment.start_frame))

    return await one_trip_waiting(request, work)
