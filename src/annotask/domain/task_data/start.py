"""Accepting a task's data: checks that can be answered at once, then the queued job."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.db.models import BackgroundRequest, Task
from annotask.domain.errors import ValidationFailed
from annotask.domain.requests import create_request
from annotask.domain.task_data.layout import task_layout
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.sources import share_files
from annotask.domain.uploads import StagingArea, forget_uploads
from annotask.security.errors import UnsafeInput
from annotask.services import Services

OPERATION = "create:task"
DATA_PURPOSE = "task_data"


def creation_in_progress(db: Session, task_id: int) -> BackgroundRequest | None:
    return db.scalar(
        select(BackgroundRequest).where(
            BackgroundRequest.task_id == task_id,
            BackgroundRequest.operation == OPERATION,
            BackgroundRequest.status.in_(("queued", "started")),
        )
    )


def latest_creations(db: Session, task_ids: list[int]) -> dict[int, BackgroundRequest]:
    """The newest data-creation request of each task (a task has only a few)."""
    if not task_ids:
        return {}
    latest: dict[int, BackgroundRequest] = {}
    rows = db.scalars(
        select(BackgroundRequest)
        .where(BackgroundRequest.task_id.in_(task_ids), BackgroundRequest.operation == OPERATION)
        .order_by(BackgroundRequest.created_date)
    )
    for row in rows:
        assert row.task_id is not None  # selected by task_id
        latest[row.task_id] = row
    return latest


def start_creation(
    db: Session,
    services: Services,
    *,
    task: Task,
    owner_id: int,
    params: DataParams,
    staging: StagingArea | None,
) -> str:
    """Validate what can be validated now, take the staged files, and queue the job."""
    if task.data_id is not None:
        raise ValidationFailed("Adding more data is not supported")
    if creation_in_progress(db, task.id) is not None:
        raise ValidationFailed("Data for this task is already being processed.")
    client_files = staging.files() if staging is not None else []
    sources = [bool(client_files), bool(params.server_files), bool(params.remote_files)]
    if sum(sources) == 0:
        raise ValidationFailed("No media files were found in the upload.")
    if sum(sources) > 1:
        raise ValidationFailed(
            "Use one source at a time: uploaded files, server_files or remote_files."
        )
    if params.server_files:
        share_files(services.settings, params.server_files, params.server_files_exclude)
    if params.remote_files:
        _check_urls(services, params.remote_files)
    updates: dict = {"client_files": client_files}
    if params.sorting_method == "random" and params.random_seed is None:
        updates["random_seed"] = secrets.randbelow(2**31)
    params = params.model_copy(update=updates)
    if staging is not None:
        layout = task_layout(services.settings, task.id)
        staging.take(layout.upload)
        forget_uploads(db, DATA_PURPOSE, task.id)
    request = create_request(
        db,
        services,
        operation=OPERATION,
        target="task",
        owner_id=owner_id,
        task_id=task.id,
        params=params.model_dump(mode="json"),
    )
    return request.id


def _check_urls(services: Services, urls: list[str]) -> None:
    """Refuse malformed or forbidden URLs now; reachability is the job's business.

    The addresses are resolved again when downloading (and the connection pinned),
    so a check here cannot be bypassed by DNS answers changing later.
    """
    # httpx (and the CLI libraries its package imports) only for remote files.
    from annotask.security.http_client import DownloadPolicy, check_url_count, plan_request

    policy = DownloadPolicy.from_settings(services.settings)
    try:
        check_url_count(urls, policy)
        for url in urls:
            plan_request(url, policy)
    except UnsafeInput as exc:
        raise ValidationFailed({"remote_files": [exc.message]}) from exc
