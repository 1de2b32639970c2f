"""Formats, dataset exports and downloads, task and project backups, project dataset imports.

Spec 2.8-2.11 and 3: every export and import is a background request started
with 202 ``{"rq_id"}`` (a repeat starts a new one, never a 409); a finished
export's ``result_url`` points at the ``.../download?rq_id=`` endpoint of its
target, which only the requester (or an admin) may use.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from annotask.api.deps import Caller, CurrentCaller, Db, ServicesDep
from annotask.api.openapi import BoolText, IntText, binary, file_body, query_doc
from annotask.api.routers.annotations import IMPORT_QUERY, get_row, import_hooks
from annotask.api.routing import CvatRouter
from annotask.api.schemas.annotations import (
    check_local,
    export_format,
    import_format,
    import_options,
    query_bool,
)
from annotask.api.schemas.common import RqId
from annotask.api.schemas.server import DatasetFormats
from annotask.api.upload_protocol import (
    UploadCall,
    UploadHook,
    UploadRoutes,
    add_upload_routes,
    has,
    is_one_shot,
    receive_one_file,
)
from annotask.api.urls import base_url
from annotask.db.models import Job, Project, Task, User
from annotask.domain import permissions
from annotask.domain.annotations import commands
from annotask.domain.annotations.start import (
    PROJECT_BACKUP,
    PROJECT_DATASET,
    TASK_BACKUP,
    start_backup,
    start_export,
)
from annotask.domain.errors import NotFound, ValidationFailed
from annotask.domain.requests import get_for_caller
from annotask.formats.registry import dataset_formats
from annotask.services import Services

router = CvatRouter(tags=["datasets"])

EXPORT_OPERATIONS = ("export:dataset", "export:annotations")


@router.get("/api/server/annotation/formats")
def annotation_formats(caller: CurrentCaller) -> DatasetFormats:
    """``DatasetFormats``: the importers and exporters by CVAT's names."""
    return DatasetFormats.model_validate(dataset_formats())


# ---- the schema: query parameters, as ``schemas.annotations`` reads them ---------------

_STORAGE: dict[str, Any] = {
    "location": (str, 'Only "local".'),
    "cloud_storage_id": IntText,
    "filename": (str, "The name of the file to make."),
}
_EXPORT: dict[str, Any] = {
    "dependencies": [
        Depends(query_doc(format=(str, "The exporter's name."), save_images=BoolText, **_STORAGE))
    ],
    "response_model": RqId,
    "status_code": 202,
}
_BACKUP: dict[str, Any] = {
    "dependencies": [Depends(query_doc(lightweight=BoolText, **_STORAGE))],
    "response_model": RqId,
    "status_code": 202,
}
_DOWNLOAD: dict[str, Any] = {
    "dependencies": [Depends(query_doc(rq_id=(str, "The finished export's request.")))],
    "response_model": None,
    "responses": binary("application/zip", description="The exported archive."),
}


# ---- exports -----------------------------------------------------------------------


def _require_view(db, caller: Caller, target: str, target_id: int) -> None:
    if target == "task":
        permissions.require_task_view(db, caller.user, get_row(db, Task, target_id))
    elif target == "job":
        permissions.require_job_view(db, caller.user, get_row(db, Job, target_id))
    else:
        permissions.require_project_view(db, caller.user, get_row(db, Project, target_id))


def _export(
    request: Request,
    caller: Caller,
    db,
    services: Services,
    target: str,
    target_id: int,
) -> JSONResponse:
    fmt = export_format(request)
    check_local(request)
    save_images = query_bool(request, "save_images", False)
    _require_view(db, caller, target, target_id)
    rq_id = start_export(
        db,
        services,
        target=target,
        target_id=target_id,
        owner_id=caller.user.id,
        format_name=fmt.name,
        save_images=save_images,
        base_url=base_url(request),
    )
    return JSONResponse({"rq_id": rq_id}, status_code=202)


@router.post("/api/tasks/{task_id}/dataset/export", **_EXPORT)
def export_task_dataset(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    return _export(request, caller, db, services, "task", task_id)


@router.post("/api/jobs/{job_id}/dataset/export", **_EXPORT)
def export_job_dataset(
    job_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    return _export(request, caller, db, services, "job", job_id)


@router.post("/api/projects/{project_id}/dataset/export", **_EXPORT)
def export_project_dataset(
    project_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    return _export(request, caller, db, services, "project", project_id)


@router.post("/api/tasks/{task_id}/backup/export", **_BACKUP)
def export_task_backup(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    check_local(request)
    lightweight = query_bool(request, "lightweight", True)
    permissions.require_task_view(db, caller.user, get_row(db, Task, task_id))
    rq_id = start_backup(
        db, services, task_id=task_id, owner_id=caller.user.id, lightweight=lightweight
    )
    return JSONResponse({"rq_id": rq_id}, status_code=202)


@router.post("/api/projects/{project_id}/backup/export", **_BACKUP)
def export_project_backup(
    project_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    """``project.json`` and a ``task_<n>/`` folder per task (``domain.annotations.backup``)."""
    check_local(request)
    lightweight = query_bool(request, "lightweight", True)
    permissions.require_project_view(db, caller.user, get_row(db, Project, project_id))
    rq_id = start_backup(
        db, services, project_id=project_id, owner_id=caller.user.id, lightweight=lightweight
    )
    return JSONResponse({"rq_id": rq_id}, status_code=202)


# ---- downloads -------------------------------------------------------------------------


def _download(
    request: Request,
    caller: Caller,
    db,
    target: str,
    target_id: int,
    operations: tuple[str, ...],
) -> Response:
    rq_id = request.query_params.get("rq_id")
    if not rq_id:
        raise ValidationFailed({"rq_id": "This parameter is required."})
    row = get_for_caller(db, caller, rq_id)
    ids = {"task": row.task_id, "job": row.job_id, "project": row.project_id}
    if row.target != target or ids.get(target) != target_id or row.operation not in operations:
        raise NotFound("There is no such export for this object.")
    if row.status != "finished":
        raise ValidationFailed({"rq_id": f"The export is {row.status}, not finished yet."})
    path = Path(row.result_path or "")
    if not row.result_path or not path.is_file():
        raise NotFound("The exported file is no longer available: export again.")
    name = row.result_filename or path.name
    return FileResponse(
        path,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/tasks/{task_id}/dataset/download", **_DOWNLOAD)
def download_task_dataset(
    task_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    return _download(request, caller, db, "task", task_id, EXPORT_OPERATIONS)


@router.get("/api/jobs/{job_id}/dataset/download", **_DOWNLOAD)
def download_job_dataset(job_id: int, request: Request, caller: CurrentCaller, db: Db) -> Response:
    return _download(request, caller, db, "job", job_id, EXPORT_OPERATIONS)


@router.get("/api/projects/{project_id}/dataset/download", **_DOWNLOAD)
def download_project_dataset(
    project_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    return _download(request, caller, db, "project", project_id, EXPORT_OPERATIONS)


@router.get("/api/tasks/{task_id}/backup/download", **_DOWNLOAD)
def download_task_backup(task_id: int, request: Request, caller: CurrentCaller, db: Db) -> Response:
    return _download(request, caller, db, "task", task_id, ("export:backup",))


@router.get("/api/projects/{project_id}/backup/download", **_DOWNLOAD)
def download_project_backup(
    project_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Response:
    return _download(request, caller, db, "project", project_id, ("export:backup",))


# ---- backup restores -------------------------------------------------------------------


def _restore_hooks(purpose: str, target: str) -> tuple[UploadHook, UploadHook]:
    """Upload-Finish and CVAT's one-shot multipart ``task_file`` / ``project_file``.
    Each user stages their own backups: restores of different users never share files."""

    async def restore(call: UploadCall, filename: str | None) -> Response:
        rq_id = await run_in_threadpool(
            partial(
                commands.restore_staged,
                call.services,
                call.caller.user,
                call.staging,
                filename,
                purpose=purpose,
                target=target,
            )
        )
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    async def finish(call: UploadCall) -> Response:
        return await restore(call, call.request.query_params.get("filename"))

    async def one_shot(call: UploadCall) -> Response:
        field = f"{target}_file"
        name = await receive_one_file(call.request, call.services, call.target, call.staging, field)
        return await restore(call, name)

    return finish, one_shot


for _target, _purpose, _doc in (
    ("task", TASK_BACKUP, None),
    (
        "project",
        PROJECT_BACKUP,
        "A new project with its labels and all its tasks; ``result_id`` is the project.",
    ),
):
    _finish, _one_shot = _restore_hooks(_purpose, _target)
    add_upload_routes(
        router,
        UploadRoutes(
            path=f"/api/{_target}s/backup/",
            purpose=_purpose,
            name=f"import_{_target}_backup",
            chunk_name=f"{_target}_backup_chunk",
            offset_name=f"{_target}_backup_offset",
            finish=_finish,
            one_shot=_one_shot,
            doc=_doc,
            query=query_doc(**_STORAGE),
            body=file_body(f"{_target}_file"),
            responses={202: {"model": RqId}},
        ),
    )


# ---- project dataset import ---------------------------------------------------------------


def _dataset_format(request: Request) -> tuple[Any, Any]:
    """The format (needed at Upload-Start, Upload-Finish and in one shot) and options."""
    required = has(request, "upload-finish") or is_one_shot(request) or has(request, "upload-start")
    return import_format(request, required=required), import_options(request)


def _check_project(services: Services, user: User, project_id: int) -> None:
    commands.check_import_target(services, user, "project", project_id)


_finish, _one_shot = import_hooks("import:dataset", "project", "dataset_file")
add_upload_routes(
    router,
    UploadRoutes(
        path="/api/projects/{project_id}/dataset/",
        purpose=PROJECT_DATASET,
        name="import_project_dataset",
        chunk_name="project_dataset_chunk",
        offset_name="project_dataset_offset",
        id_param="project_id",
        check=_check_project,
        prepare=_dataset_format,
        finish=_finish,
        one_shot=_one_shot,
        doc="Annotations for the project's existing tasks, matched by frame name.",
        query=IMPORT_QUERY,
        body=file_body("dataset_file"),
        responses={202: {"model": RqId}},
    ),
)
