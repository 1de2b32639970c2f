"""Annotations of jobs and tasks as JSON (spec 2.7) and annotation file imports (2.8).

``GET`` reads (a task's annotations are its jobs merged), ``PUT`` replaces,
``PATCH ?action=create|update|delete`` changes objects, ``DELETE`` removes
everything. ``POST`` is the upload protocol for an annotation file, imported by
a background request. Writes are one transaction: a refused save changes
nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json
from annotask.api.deps import Caller, CurrentCaller, Db, ServicesDep
from annotask.api.routing import CvatRouter
from annotask.api.schemas.annotations import import_format, import_options
from annotask.api.upload_protocol import (
    UploadTarget,
    handle_tus_head,
    handle_tus_patch,
    handle_upload_post,
    has,
    receive_one_file,
)
from annotask.db.models import Job, Task
from annotask.domain import permissions
from annotask.domain.annotations import service
from annotask.domain.annotations.start import (
    IMPORT_WAIT_SECONDS,
    JOB_ANNOTATIONS,
    TASK_ANNOTATIONS,
    start_import,
    take_staged_file,
    wait_briefly,
)
from annotask.domain.errors import ValidationFailed
from annotask.domain.tasks import MAX_ID
from annotask.domain.uploads import StagingArea
from annotask.services import Services

router = CvatRouter(tags=["annotations"])

TASK_PATH = "/api/tasks/{task_id}/annotations/"
JOB_PATH = "/api/jobs/{job_id}/annotations/"


async def raw_body(request: Request) -> Any:
    """The JSON body as sent; an empty body is an empty object."""
    return await read_json(request)


def get_row(db, model, object_id: int):
    """The row, or None for ids no database column can hold (never a 500)."""
    return db.get(model, object_id) if 0 < object_id <= MAX_ID else None


def _task(db, caller: Caller, task_id: int) -> Task:
    return permissions.require_task_view(db, caller.user, get_row(db, Task, task_id))


def _task_for_write(db, caller: Caller, task_id: int) -> Task:
    return service.require_task_annotate(db, caller.user, get_row(db, Task, task_id))


def _job(db, caller: Caller, job_id: int) -> Job:
    """A job assignee reads and writes that job's annotations (and no other job's)."""
    return permissions.require_job_view(db, caller.user, get_row(db, Job, job_id))


# ---- versions: ETag and If-Match -----------------------------------------------------


def etag(version: int) -> str:
    return f'"{version}"'


def if_match(request: Request) -> list[int] | None:
    """The versions a write's ``If-Match`` accepts; None (no check) without one or with ``*``.

    CVAT ignores the body's ``version`` (clients hard-code 0), so the one way to ask
    for a conflict check is the standard header, with the ETag of a read.
    """
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    versions = []
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/")
        if len(tag) < 3 or tag[0] != '"' or tag[-1] != '"' or not tag[1:-1].isdigit():
            raise ValidationFailed(
                {"If-Match": 'Send the ETag of GET .../annotations, such as "3".'}
            )
        versions.append(int(tag[1:-1]))
    return versions


def versioned(body: dict) -> JSONResponse:
    """The annotations with their version as the ETag."""
    return JSONResponse(body, headers={"ETag": etag(body["version"])})


def write(call) -> Response:
    """A write, answered with the new annotations, or 412 with the current ones."""
    try:
        result = call()
    except service.StaleVersion as exc:
        return JSONResponse(
            exc.body(), status_code=412, headers={"ETag": etag(exc.current["version"])}
        )
    return Response(status_code=204) if result is None else versioned(result)


# ---- tasks ---------------------------------------------------------------------


@router.get(TASK_PATH)
def get_task_annotations(task_id: int, caller: CurrentCaller, db: Db) -> Response:
    return versioned(service.read_task(db, _task(db, caller, task_id)))


@router.put(TASK_PATH)
def put_task_annotations(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> Response:
    task = _task_for_write(db, caller, task_id)
    return write(lambda: service.write_task(db, task, body, None, if_match(request)))


@router.patch(TASK_PATH)
def patch_task_annotations(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> Response:
    action = service.parse_action(request.query_params.get("action"), required=True)
    task = _task_for_write(db, caller, task_id)
    return write(lambda: service.write_task(db, task, body, action, if_match(request)))


@router.delete(TASK_PATH, status_code=204)
def delete_task_annotations(
    task_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    task = _task_for_write(db, caller, task_id)
    return write(lambda: service.clear_task(db, task, if_match(request)))


# ---- jobs ----------------------------------------------------------------------


@router.get(JOB_PATH)
def get_job_annotations(job_id: int, caller: CurrentCaller, db: Db) -> Response:
    return versioned(service.read_job(db, _job(db, caller, job_id)))


@router.put(JOB_PATH)
def put_job_annotations(
    job_id: int, request: Request, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> Response:
    job = _job(db, caller, job_id)
    return write(lambda: service.write_job(db, job, body, None, if_match(request)))


@router.patch(JOB_PATH)
def patch_job_annotations(
    job_id: int, request: Request, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> Response:
    action = service.parse_action(request.query_params.get("action"), required=True)
    job = _job(db, caller, job_id)
    return write(lambda: service.write_job(db, job, body, action, if_match(request)))


@router.delete(JOB_PATH, status_code=204)
def delete_job_annotations(
    job_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    job = _job(db, caller, job_id)
    return write(lambda: service.clear_job(db, job, if_match(request)))


# ---- imports (upload protocol) -------------------------------------------------------


def _check_target(services: Services, caller: Caller, target: str, target_id: int) -> None:
    with services.read_sessions() as db, db.begin():
        if target == "task":
            task = _task_for_write(db, caller, target_id)
            if task.data is None:
                raise ValidationFailed("The task has no data yet: upload its data first.")
        else:
            _job(db, caller, target_id)


def import_starter(
    services: Services,
    caller: Caller,
    *,
    purpose: str,
    operation: str,
    target: str,
    target_id: int,
    fmt: Any,
    options: Any,
):
    """The end of an annotation or dataset upload: queue the import of the named staged
    file and answer 202, after giving a small import a moment to finish (the CLI
    polls imports only every 5 s, so an import done at the first poll saves that)."""

    def start(staging: StagingArea, filename: str | None) -> str:
        assert fmt is not None
        with services.sessions() as db, db.begin():
            path = take_staged_file(db, services, staging, purpose, target_id, filename)
            return start_import(
                db,
                services,
                operation=operation,
                target=target,
                target_id=target_id,
                owner_id=caller.user.id,
                format_name=fmt.name,
                path=path,
                import_mode=options.import_mode,
                conv_mask_to_poly=options.conv_mask_to_poly,
            )

    async def queue_import(staging: StagingArea, filename: str | None) -> Response:
        rq_id = await run_in_threadpool(start, staging, filename)
        await run_in_threadpool(wait_briefly, services, rq_id, IMPORT_WAIT_SECONDS)
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    return queue_import


async def upload_annotations(
    request: Request, services: Services, caller: Caller, target: str, target_id: int
) -> Response:
    """``POST .../annotations/``: Upload-Start / TUS / Upload-Finish, or one multipart file."""
    finishing = has(request, "upload-finish")
    fmt = import_format(request, required=finishing or not has(request, "upload-length"))
    options = import_options(request)
    await run_in_threadpool(_check_target, services, caller, target, target_id)
    purpose = TASK_ANNOTATIONS if target == "task" else JOB_ANNOTATIONS
    upload = UploadTarget(purpose, target_id, caller.user.id)

    queue_import = import_starter(
        services,
        caller,
        purpose=purpose,
        operation="import:annotations",
        target=target,
        target_id=target_id,
        fmt=fmt,
        options=options,
    )

    async def finish(req: Request, staging: StagingArea) -> Response:
        return await queue_import(staging, req.query_params.get("filename"))

    async def single_shot(req: Request, staging: StagingArea) -> Response:
        """The generated API's multipart ``annotation_file``."""
        name = await receive_one_file(req, services, upload, staging, "annotation_file")
        return await queue_import(staging, name)

    return await handle_upload_post(
        request, services, upload, on_finish=finish, on_single_shot=single_shot
    )


@router.post(TASK_PATH)
async def import_task_annotations(
    task_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    return await upload_annotations(request, services, caller, "task", task_id)


@router.post(JOB_PATH)
async def import_job_annotations(
    job_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    return await upload_annotations(request, services, caller, "job", job_id)


@router.patch("/api/tasks/{task_id}/annotations/{file_id}")
async def task_annotations_chunk(
    task_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_check_target, services, caller, "task", task_id)
    upload = UploadTarget(TASK_ANNOTATIONS, task_id, caller.user.id)
    return await handle_tus_patch(request, services, upload, file_id)


@router.head("/api/tasks/{task_id}/annotations/{file_id}")
async def task_annotations_offset(
    task_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_check_target, services, caller, "task", task_id)
    upload = UploadTarget(TASK_ANNOTATIONS, task_id, caller.user.id)
    return await handle_tus_head(request, services, upload, file_id)


@router.patch("/api/jobs/{job_id}/annotations/{file_id}")
async def job_annotations_chunk(
    job_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_check_target, services, caller, "job", job_id)
    upload = UploadTarget(JOB_ANNOTATIONS, job_id, caller.user.id)
    return await handle_tus_patch(request, services, upload, file_id)


@router.head("/api/jobs/{job_id}/annotations/{file_id}")
async def job_annotations_offset(
    job_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_check_target, services, caller, "job", job_id)
    upload = UploadTarget(JOB_ANNOTATIONS, job_id, caller.user.id)
    return await handle_tus_head(request, services, upload, file_id)
