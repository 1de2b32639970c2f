"""Formats, dataset exports and downloads, task and project backups, project dataset imports.

Spec 2.8-2.11 and 3: every export and import is a background request started
with 202 ``{"rq_id"}`` (a repeat starts a new one, never a 409); a finished
export's ``result_url`` points at the ``.../download?rq_id=`` endpoint of its
target, which only the requester (or an admin) may use.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from annotask.api.deps import Caller, CurrentCaller, Db, ServicesDep
from annotask.api.routers.annotations import get_row, import_starter
from annotask.api.routing import CvatRouter
from annotask.api.schemas.annotations import (
    check_local,
    export_format,
    import_format,
    import_options,
    query_bool,
)
from annotask.api.upload_protocol import (
    UploadTarget,
    handle_tus_head,
    handle_tus_patch,
    handle_upload_post,
    has,
    is_one_shot,
    receive_one_file,
)
from annotask.api.urls import base_url
from annotask.db.models import Job, Project, Task
from annotask.domain import permissions
from annotask.domain.annotations.start import (
    PROJECT_BACKUP,
    PROJECT_DATASET,
    TASK_BACKUP,
    start_backup,
    start_export,
    start_restore,
    take_staged_file,
)
from annotask.domain.errors import NotFound, ValidationFailed
from annotask.domain.requests import get_for_caller
from annotask.domain.uploads import StagingArea
from annotask.formats.registry import dataset_formats
from annotask.services import Services

router = CvatRouter(tags=["datasets"])

EXPORT_OPERATIONS = ("export:dataset", "export:annotations")


@router.get("/api/server/annotation/formats")
def annotation_formats(caller: CurrentCaller) -> dict:
    """``DatasetFormats``: the importers and exporters by CVAT's names."""
    return dataset_formats()


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


@router.post("/api/tasks/{task_id}/dataset/export")
def export_task_dataset(
    task_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    return _export(request, caller, db, services, "task", task_id)


@router.post("/api/jobs/{job_id}/dataset/export")
def export_job_dataset(
    job_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    return _export(request, caller, db, services, "job", job_id)


@router.post("/api/projects/{project_id}/dataset/export")
def export_project_dataset(
    project_id: int, request: Request, caller: CurrentCaller, db: Db, services: ServicesDep
) -> JSONResponse:
    return _export(request, caller, db, services, "project", project_id)


@router.post("/api/tasks/{task_id}/backup/export")
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


@router.post("/api/projects/{project_id}/backup/export")
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


@router.get("/api/tasks/{task_id}/dataset/download")
def download_task_dataset(task_id: int, request: Request, caller: CurrentCaller, db: Db):
    return _download(request, caller, db, "task", task_id, EXPORT_OPERATIONS)


@router.get("/api/jobs/{job_id}/dataset/download")
def download_job_dataset(job_id: int, request: Request, caller: CurrentCaller, db: Db):
    return _download(request, caller, db, "job", job_id, EXPORT_OPERATIONS)


@router.get("/api/projects/{project_id}/dataset/download")
def download_project_dataset(project_id: int, request: Request, caller: CurrentCaller, db: Db):
    return _download(request, caller, db, "project", project_id, EXPORT_OPERATIONS)


@router.get("/api/tasks/{task_id}/backup/download")
def download_task_backup(task_id: int, request: Request, caller: CurrentCaller, db: Db):
    return _download(request, caller, db, "task", task_id, ("export:backup",))


@router.get("/api/projects/{project_id}/backup/download")
def download_project_backup(project_id: int, request: Request, caller: CurrentCaller, db: Db):
    return _download(request, caller, db, "project", project_id, ("export:backup",))


# ---- backup restores -------------------------------------------------------------------


def _backup_target(caller: Caller, purpose: str = TASK_BACKUP) -> UploadTarget:
    """One staging area per user: restores of different users never share files."""
    return UploadTarget(purpose, caller.user.id, caller.user.id)


async def _restore(
    request: Request, caller: Caller, services: Services, purpose: str, target: str
) -> Response:
    upload = _backup_target(caller, purpose)

    def start(staging: StagingArea, filename: str | None) -> str:
        with services.sessions() as db, db.begin():
            path = take_staged_file(
                db,
                services,
                staging,
                purpose,
                upload.target_id,
                filename,
                store_as="backup.zip",
            )
            return start_restore(db, services, owner_id=caller.user.id, path=path, target=target)

    async def finish(req: Request, staging: StagingArea) -> Response:
        rq_id = await run_in_threadpool(start, staging, req.query_params.get("filename"))
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    async def single_shot(req: Request, staging: StagingArea) -> Response:
        """CVAT's multipart ``task_file`` / ``project_file``, without the protocol."""
        name = await receive_one_file(req, services, upload, staging, f"{target}_file")
        rq_id = await run_in_threadpool(start, staging, name)
        return JSONResponse({"rq_id": rq_id}, status_code=202)

    return await handle_upload_post(
        request, services, upload, on_finish=finish, on_single_shot=single_shot
    )


@router.post("/api/tasks/backup/")
async def import_task_backup(
    request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    return await _restore(request, caller, services, TASK_BACKUP, "task")


@router.patch("/api/tasks/backup/{file_id}")
async def task_backup_chunk(
    file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    return await handle_tus_patch(request, services, _backup_target(caller), file_id)


@router.head("/api/tasks/backup/{file_id}")
async def task_backup_offset(
    file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    return await handle_tus_head(request, services, _backup_target(caller), file_id)


@router.post("/api/projects/backup/")
async def import_project_backup(
    request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    """A new project with its labels and all its tasks; ``result_id`` is the project."""
    return await _restore(request, caller, services, PROJECT_BACKUP, "project")


@router.patch("/api/projects/backup/{file_id}")
async def project_backup_chunk(
    file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    upload = _backup_target(caller, PROJECT_BACKUP)
    return await handle_tus_patch(request, services, upload, file_id)


@router.head("/api/projects/backup/{file_id}")
async def project_backup_offset(
    file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    upload = _backup_target(caller, PROJECT_BACKUP)
    return await handle_tus_head(request, services, upload, file_id)


# ---- project dataset import ---------------------------------------------------------------


def _check_project(services: Services, caller: Caller, project_id: int) -> None:
    with services.read_sessions() as db, db.begin():
        permissions.require_project_change(db, caller.user, get_row(db, Project, project_id))


@router.post("/api/projects/{project_id}/dataset/")
async def import_project_dataset(
    project_id: int, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    """Annotations for the project's existing tasks, matched by frame name."""
    finishing = has(request, "upload-finish")
    one_shot = is_one_shot(request)
    fmt = import_format(request, required=finishing or one_shot or has(request, "upload-start"))
    options = import_options(request)
    await run_in_threadpool(_check_project, services, caller, project_id)
    upload = UploadTarget(PROJECT_DATASET, project_id, caller.user.id)

    queue_import = import_starter(
        services,
        caller,
        purpose=PROJECT_DATASET,
        operation="import:dataset",
        target="project",
        target_id=project_id,
        fmt=fmt,
        options=options,
    )

    async def finish(req: Request, staging: StagingArea) -> Response:
        return await queue_import(staging, req.query_params.get("filename"))

    async def single_shot(req: Request, staging: StagingArea) -> Response:
        """CVAT's multipart ``dataset_file``, without the protocol."""
        name = await receive_one_file(req, services, upload, staging, "dataset_file")
        return await queue_import(staging, name)

    return await handle_upload_post(
        request, services, upload, on_finish=finish, on_single_shot=single_shot
    )


@router.patch("/api/projects/{project_id}/dataset/{file_id}")
async def project_dataset_chunk(
    project_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_check_project, services, caller, project_id)
    upload = UploadTarget(PROJECT_DATASET, project_id, caller.user.id)
    return await handle_tus_patch(request, services, upload, file_id)


@router.head("/api/projects/{project_id}/dataset/{file_id}")
async def project_dataset_offset(
    project_id: int, file_id: str, request: Request, caller: CurrentCaller, services: ServicesDep
) -> Response:
    await run_in_threadpool(_check_project, services, caller, project_id)
    upload = UploadTarget(PROJECT_DATASET, project_id, caller.user.id)
    return await handle_tus_head(request, services, upload, file_id)
