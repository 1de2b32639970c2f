"""Annotation imports, dataset exports, task and project backups (spec 2.8-2.11)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from annotask.domain.annotations import backup, exporting, importing
from annotask.domain.requests import JobResult, Progress, RequestSnapshot
from annotask.services import Services
from annotask.worker.registry import register


def _target_id(request: RequestSnapshot) -> int:
    value = {"task": request.task_id, "job": request.job_id, "project": request.project_id}.get(
        request.target
    )
    assert value is not None, f"request {request.id} has no {request.target} id"
    return value


@register("export:dataset")
@register("export:annotations")
def export_dataset(services: Services, request: RequestSnapshot, progress: Progress) -> JobResult:
    """Build the zip; the runner finishes the request with its path."""
    settings = services.settings
    retention = timedelta(hours=settings.request_retention_hours).total_seconds()
    exporting.purge_old_exports(settings.exports_dir, retention)
    progress.report(0.1, "Exporting the annotations")
    with services.read_sessions() as db:
        path, name = exporting.build_export(
            services,
            db,
            request_id=request.id,
            target=request.target,
            target_id=_target_id(request),
            format_name=request.format or "",
            save_images=bool(request.params.get("save_images")),
            base_url=str(request.params.get("base_url") or ""),
        )
    return JobResult(result_path=str(path), result_filename=name)


@register("export:backup")
def export_backup(services: Services, request: RequestSnapshot, progress: Progress) -> JobResult:
    settings = services.settings
    retention = timedelta(hours=settings.request_retention_hours).total_seconds()
    exporting.purge_old_exports(settings.exports_dir, retention)
    progress.report(0.1, "Writing the backup")
    with services.read_sessions() as db:
        if request.target == "project":
            path, name = backup.build_project_backup(
                services,
                db,
                request_id=request.id,
                project_id=_target_id(request),
                progress=progress,
            )
        else:
            path, name = backup.build_backup(
                services, db, request_id=request.id, task_id=_target_id(request)
            )
    return JobResult(result_path=str(path), result_filename=name)


def _forget_upload(request: RequestSnapshot) -> None:
    """A failed import will not run again: its uploaded file can go."""
    path = request.params.get("path")
    if path:
        shutil.rmtree(Path(path).parent, ignore_errors=True)


@register("import:annotations")
@register("import:dataset")
def import_annotations(services: Services, request: RequestSnapshot, progress: Progress) -> None:
    """Finishes the request in the transaction that stores the annotations."""
    try:
        importing.run_import(services, request, progress)
    except Exception:  # not on interruptions (BaseException): a re-run needs the file
        _forget_upload(request)
        raise


@register("import:backup")
def import_backup(services: Services, request: RequestSnapshot, progress: Progress) -> JobResult:
    """Finishes the request (``result_id`` = the new task or project) when all is stored."""
    restore = (
        backup.restore_project_backup if request.target == "project" else backup.restore_backup
    )
    try:
        return JobResult(result_id=restore(services, request, progress))
    except Exception:
        _forget_upload(request)
        raise
