"""Commands on a task's data for routes that stream a body: each takes the caller and
the ids, checks permissions and owns its transaction (``docs/architecture.md``,
"Commands and routes"). The upload routes cannot use the request's transaction:
it would stay open while the body arrives."""

from __future__ import annotations

from typing import Any

from annotask.db.models import Job, Task, User
from annotask.domain import permissions
from annotask.domain.task_data.deleted_frames import set_deleted_frames
from annotask.domain.task_data.meta import data_meta
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.start import start_creation
from annotask.domain.uploads import StagingArea
from annotask.services import Services


def check_data_upload(services: Services, user: User, task_id: int) -> None:
    """The user may upload the task's data (403/404 otherwise), in a short read."""
    with services.read_sessions() as db, db.begin():
        permissions.require_task_change(db, user, db.get(Task, task_id))


def start_data(
    services: Services,
    user: User,
    task_id: int,
    params: DataParams,
    staging: StagingArea | None,
) -> str:
    """Queue the creation of the task's data from ``staging`` (or the params' share
    or remote files); returns the request id."""
    with services.sessions() as db, db.begin():
        task = permissions.require_task_change(db, user, db.get(Task, task_id))
        return start_creation(
            db, services, task=task, owner_id=user.id, params=params, staging=staging
        )


def change_task_deleted_frames(
    services: Services, user: User, task_id: int, raw: Any
) -> dict[str, Any]:
    """``PATCH /api/tasks/{id}/data/meta``: the task's new ``DataMetaRead``."""
    with services.sessions() as db, db.begin():
        task = permissions.require_task_change(db, user, db.get(Task, task_id))
        set_deleted_frames(task, raw)
        db.flush()
        return data_meta(db, task)


def change_job_deleted_frames(
    services: Services, user: User, job_id: int, raw: Any
) -> dict[str, Any]:
    """``PATCH /api/jobs/{id}/data/meta``: the job's frames only; the task's owner decides."""
    with services.sessions() as db, db.begin():
        job = permissions.require_job_view(db, user, db.get(Job, job_id))
        task = permissions.require_task_change(db, user, job.segment.task)
        start, stop = job.segment.start_frame, job.segment.stop_frame
        set_deleted_frames(task, raw, start, stop)
        db.flush()
        return data_meta(db, task, start, stop)
