"""Annotations of jobs and tasks as JSON (spec 2.7) and annotation file imports (2.8).

``GET`` reads (a task's annotations are its jobs merged), ``PUT`` replaces,
``PATCH ?action=create|update|delete`` changes objects, ``DELETE`` removes
everything. ``POST`` is the upload protocol for an annotation file, imported by
a background request. Writes are one transaction: a refused save changes
nothing.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json
from annotask.api.deps import Caller, CurrentCaller, Db
from annotask.api.openapi import BoolText, IntText, body_doc, file_body, query_doc
from annotask.api.routing import CvatRouter
from annotask.api.schemas.annotations import import_format, import_options
from annotask.api.schemas.common import RqId
from annotask.api.schemas.labeled_data import LabeledData, LabeledDataWrite
from annotask.api.upload_protocol import (
    UploadCall,
    UploadHook,
    UploadRoutes,
    add_upload_routes,
    has,
    receive_one_file,
)
from annotask.db.models import Job, Task, User
from annotask.domain import permissions
from annotask.domain.annotations import commands, service
from annotask.domain.annotations.start import (
    IMPORT_WAIT_SECONDS,
    JOB_ANNOTATIONS,
    TASK_ANNOTATIONS,
    wait_briefly,
)
from annotask.domain.errors import ValidationFailed
from annotask.domain.tasks import MAX_ID
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


# ---- the schema: the routes answer the annotation model's dicts as they are -----------

Action = Annotated[
    str | None, Query(description='"create", "update" or "delete" (required for PATCH).')
]
_READ: dict[str, Any] = {"response_model": LabeledData}
_WRITE: dict[str, Any] = {
    "response_model": LabeledData,
    "responses": {
        204: {"description": "Nothing to answer (DELETE)."},
        412: {"model": LabeledData, "description": "If-Match failed: the current ones."},
    },
    "openapi_extra": body_doc(LabeledDataWrite),
}
_DELETE: dict[str, Any] = {
    "responses": {412: {"model": LabeledData, "description": "If-Match failed."}}
}
#: The query of an annotation or dataset import (``schemas.annotations``).
IMPORT_QUERY = query_doc(
    format=(str, "The importer's name (required to finish or import in one shot)."),
    filename=(str, "Upload-Finish: the staged file's name."),
    import_mode=(str, '"append" or "replace".'),
    conv_mask_to_poly=BoolText,
    location=(str, 'Only "local".'),
    use_default_location=BoolText,
    cloud_storage_id=IntText,
)

# ---- tasks ---------------------------------------------------------------------


@router.get(TASK_PATH, **_READ)
def get_task_annotations(task_id: int, caller: CurrentCaller, db: Db) -> Response:
    return versioned(service.read_task(db, _task(db, caller, task_id)))


@router.put(TASK_PATH, **_WRITE)
def put_task_annotations(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> Response:
    task = _task_for_write(db, caller, task_id)
    return write(lambda: service.write_task(db, task, body, None, if_match(request)))


@router.patch(TASK_PATH, **_WRITE)
def patch_task_annotations(
    task_id: int,
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: Any = Depends(raw_body),
    action: Action = None,
) -> Response:
    parsed = service.parse_action(action, required=True)
    task = _task_for_write(db, caller, task_id)
    return write(lambda: service.write_task(db, task, body, parsed, if_match(request)))


@router.delete(TASK_PATH, status_code=204, **_DELETE)
def delete_task_annotations(
    task_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    task = _task_for_write(db, caller, task_id)
    return write(lambda: service.clear_task(db, task, if_match(request)))


# ---- jobs ----------------------------------------------------------------------


@router.get(JOB_PATH, **_READ)
def get_job_annotations(job_id: int, caller: CurrentCaller, db: Db) -> Response:
    return versioned(service.read_job(db, _job(db, caller, job_id)))


@router.put(JOB_PATH, **_WRITE)
def put_job_annotations(
    job_id: int, request: Request, caller: CurrentCaller, db: Db, body: Any = Depends(raw_body)
) -> Response:
    job = _job(db, caller, job_id)
    return write(lambda: service.write_job(db, job, body, None, if_match(request)))


@router.patch(JOB_PATH, **_WRITE)
def patch_job_annotations(
    job_id: int,
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: Any = Depends(raw_body),
    action: Action = None,
) -> Response:
    parsed = service.parse_action(action, required=True)
    job = _job(db, caller, job_id)
    return write(lambda: service.write_job(db, job, body, parsed, if_match(request)))


@router.delete(JOB_PATH, status_code=204, **_DELETE)
def delete_job_annotations(
    job_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    job = _job(db, caller, job_id)
    return write(lambda: service.clear_job(db, job, if_match(request)))


# ---- imports (upload protocol) -------------------------------------------------------


def import_hooks(operation: str, target: str, field: str) -> tuple[UploadHook, UploadHook]:
    """Upload-Finish and the one-shot POST (the generated API's multipart ``field``) of
    an annotation or dataset import: queue the import of the staged file and answer
    202, after giving a small import a moment to finish (the CLI polls imports only
    every 5 s, so an import done at the first poll saves that)."""

    async def queue_import(call: UploadCall, filename: str | None) -> Response:
        fmt, options = call.prepared
        assert fmt is not None  # required at Upload-Finish and in one shot
        rq_id = await run_in_threadpool(
            partial(
                commands.import_staged,
                call.services,
                call.caller.user,
                call.staging,
                filename,
                purpose=call.target.purpose,
                operation=operation,
                target=target,
                target_id=call.target.target_id,
                format_name=fmt.name,
                import_mode=options.import_mode,
                conv_mask_to_poly=options.conv_mask_to_poly,
            )
        )
        await run_in_threadpool(wait_briefly, call.services, rq_id, IMPORT_WAIT_SECONDS)
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    async def finish(call: UploadCall) -> Response:
        return await queue_import(call, call.request.query_params.get("filename"))

    async def one_shot(call: UploadCall) -> Response:
        name = await receive_one_file(call.request, call.services, call.target, call.staging, field)
        return await queue_import(call, name)

    return finish, one_shot


def _annotation_format(request: Request) -> tuple[Any, Any]:
    """The format (needed unless the POST only creates a TUS upload) and options."""
    finishing = has(request, "upload-finish")
    fmt = import_format(request, required=finishing or not has(request, "upload-length"))
    return fmt, import_options(request)


def _check(target: str):
    def check(services: Services, user: User, target_id: int) -> None:
        commands.check_import_target(services, user, target, target_id)

    return check


for _target, _purpose in (("task", TASK_ANNOTATIONS), ("job", JOB_ANNOTATIONS)):
    _finish, _one_shot = import_hooks("import:annotations", _target, "annotation_file")
    add_upload_routes(
        router,
        UploadRoutes(
            path=TASK_PATH if _target == "task" else JOB_PATH,
            purpose=_purpose,
            name=f"import_{_target}_annotations",
            chunk_name=f"{_target}_annotations_chunk",
            offset_name=f"{_target}_annotations_offset",
            id_param=f"{_target}_id",
            check=_check(_target),
            prepare=_annotation_format,
            finish=_finish,
            one_shot=_one_shot,
            query=IMPORT_QUERY,
            body=file_body("annotation_file"),
            responses={202: {"model": RqId}},
        ),
    )
