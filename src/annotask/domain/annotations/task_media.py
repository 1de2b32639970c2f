"""New tasks made from files a restore or a dataset import brought: shared by both.

``new_task`` creates the empty task as ``POST /api/tasks`` would; ``create_data``
moves the media into the task's upload directory (as if a client had uploaded
them) and runs the normal creation pipeline without finishing the request, so
the caller can go on (annotations) and finish it itself; ``drop_task`` removes a
task again when the operation fails. ``Scaled`` maps the pipeline's progress
onto a part of the whole request, for operations that create several tasks.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from annotask.db.models import User
from annotask.domain import pending
from annotask.domain import tasks as task_rules
from annotask.domain.errors import NotFound
from annotask.domain.requests import Attempt
from annotask.domain.task_data.layout import task_layout
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.pipeline import Progress, create_task_data
from annotask.services import Services

#: What the creation steps report to: a request's ``Progress`` or a ``Scaled`` part of it.
StepProgress = Progress


class Scaled:
    """A progress reporter for one step: ``0..1`` of the step is ``low..high`` of the request."""

    def __init__(self, progress: Progress, low: float, high: float) -> None:
        self._progress = progress
        self._low = low
        self._span = high - low
        self.attempt: Attempt = progress.attempt

    def report(self, progress: float, message: str | None = None) -> None:
        self._progress.report(self._low + self._span * min(1.0, max(0.0, progress)), message)


def new_task(
    services: Services, owner_id: int | None, fields: Mapping[str, Any], attempt: Attempt
) -> int:
    """An empty task owned by ``owner_id``; ``DomainError`` when the fields are refused.

    The task is recorded as pending for ``attempt`` in the same transaction: if the
    attempt dies before the transaction that finishes its request (which must call
    ``pending.settle``), the reaper deletes the task instead of leaving it empty.
    """
    with services.sessions() as db, db.begin():
        owner = db.get(User, owner_id) if owner_id else None
        if owner is None:
            raise NotFound("The user who started this request no longer exists.")
        task_id = task_rules.create_task(db, owner, fields).id
        pending.register(db, attempt, pending.TASK, task_id)
        return task_id


def drop_task(services: Services, task_id: int, attempt: Attempt) -> None:
    """Delete the task ``attempt`` made (``new_task``), unless the reaper already did."""
    pending.abandon(services, attempt, pending.TASK, task_id)


def create_data(
    services: Services,
    task_id: int,
    files: Sequence[tuple[str, Path]],
    params: DataParams,
    progress: Progress,
) -> None:
    """Give ``task_id`` its data from local files; leaves the request running.

    ``files`` are ``(name, path)``: each file is moved to ``<upload>/<name>``
    (names are relative, already checked by the caller), then the creation
    pipeline runs with ``params`` (whose ``client_files`` name the files).
    Raises ``CreationFailed`` (a ``DomainError``) when the media make no task.
    """
    layout = task_layout(services.settings, task_id)
    shutil.rmtree(layout.upload, ignore_errors=True)
    layout.upload.mkdir(parents=True)
    for name, source in files:
        target = layout.upload / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    create_task_data(services, task_id, params, progress, finish_request=False)
