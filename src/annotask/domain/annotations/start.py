"""Starting imports, exports and backups: checks answered at once, then the queued job."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.db.models import BackgroundRequest
from annotask.domain.errors import ValidationFailed
from annotask.domain.requests import create_request
from annotask.domain.uploads import StagingArea, forget_uploads
from annotask.services import Services

#: Upload purposes (staging areas) of the files these requests take.
TASK_ANNOTATIONS = "task_annotations"
JOB_ANNOTATIONS = "job_annotations"
PROJECT_DATASET = "project_dataset"
TASK_BACKUP = "task_backup"
PROJECT_BACKUP = "project_backup"
#: How long an import start waits for its request before answering (see ``wait_briefly``).
IMPORT_WAIT_SECONDS = 3.0


def take_staged_file(
    db: Session,
    services: Services,
    staging: StagingArea,
    purpose: str,
    target_id: int | None,
    filename: str | None,
    *,
    store_as: str | None = None,
) -> Path:
    """Move the uploaded file named ``filename`` out of staging, into a directory of its own.

    The client sends back the ``Upload-Filename`` the server chose; with a single
    staged file the name may be left out.
    """
    staged = staging.files()
    if filename and filename not in staged and unquote(filename) in staged:
        filename = unquote(filename)  # a non-latin-1 name sent back as Upload-Filename gave it
    if filename:
        if filename not in staged:
            raise ValidationFailed(
                {"filename": f'No uploaded file is named "{filename}": upload it first.'}
            )
        chosen = filename
    elif len(staged) == 1:
        chosen = staged[0]
    else:
        raise ValidationFailed({"filename": "Name the uploaded file to process."})
    directory = services.settings.uploads_dir / "requests" / uuid.uuid4().hex
    directory.mkdir(parents=True)
    target = directory / (store_as or chosen)
    os.replace(staging.files_dir / chosen, target)
    staging.remove()
    forget_uploads(db, purpose, target_id)
    return target


def start_import(
    db: Session,
    services: Services,
    *,
    operation: str,
    target: str,
    target_id: int,
    owner_id: int,
    format_name: str,
    path: Path,
    import_mode: str,
    conv_mask_to_poly: bool,
) -> str:
    target_ids: dict[str, Any] = {f"{target}_id": target_id}  # task_id, job_id or project_id
    request = create_request(
        db,
        services,
        operation=operation,
        target=target,
        owner_id=owner_id,
        format=format_name,
        params={
            "path": str(path),
            "import_mode": import_mode,
            "conv_mask_to_poly": conv_mask_to_poly,
        },
        **target_ids,
    )
    return request.id


def start_export(
    db: Session,
    services: Services,
    *,
    target: str,
    target_id: int,
    owner_id: int,
    format_name: str,
    save_images: bool,
    base_url: str,
    extra_ids: dict[str, Any] | None = None,
) -> str:
    """Queue a dataset export; a repeated request starts a new export (never a 409)."""
    request = create_request(
        db,
        services,
        operation="export:dataset" if save_images else "export:annotations",
        target=target,
        owner_id=owner_id,
        format=format_name,
        params={"save_images": save_images, "base_url": base_url},
        **{f"{target}_id": target_id, **(extra_ids or {})},
    )
    return request.id


def start_backup(
    db: Session,
    services: Services,
    *,
    owner_id: int,
    lightweight: bool,
    task_id: int | None = None,
    project_id: int | None = None,
) -> str:
    """Queue the backup of a task or (with ``project_id``) of a project."""
    request = create_request(
        db,
        services,
        operation="export:backup",
        target="task" if project_id is None else "project",
        owner_id=owner_id,
        task_id=task_id,
        project_id=project_id,
        lightweight=lightweight,
    )
    return request.id


def start_restore(
    db: Session, services: Services, *, owner_id: int, path: Path, target: str = "task"
) -> str:
    """Queue the restore of a task or (``target="project"``) a project backup."""
    request = create_request(
        db,
        services,
        operation="import:backup",
        target=target,
        owner_id=owner_id,
        params={"path": str(path)},
    )
    return request.id


def wait_briefly(services: Services, request_id: str, seconds: float) -> None:
    """Give a just-queued request a moment to finish before answering 202.

    The clients poll an annotation import every 5 s whatever they are told, but
    never sleep before their first poll: a small import that is already done
    when the 202 arrives costs them nothing. Called after the creating
    transaction committed; returns early as soon as the request ended.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with services.read_sessions() as db:
            status = db.scalar(
                select(BackgroundRequest.status).where(BackgroundRequest.id == request_id)
            )
        if status not in ("queued", "started"):
            return
        time.sleep(0.02)
