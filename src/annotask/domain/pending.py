"""Objects a background request creates before its work is done, and their orphans.

A backup restore, a project restore and a dataset import create a task (or a
project) first and fill it afterwards, over several transactions. If the worker
is killed in between, the empty object would stay, looking like any other. So
each such object is recorded here in the transaction that creates it, fenced by
the attempt (:func:`register` refuses if the attempt no longer owns its
request), and the record is removed in the transaction that finishes the
request (:func:`settle`). A record whose attempt no longer owns its request
names an orphan: :func:`reap_orphans`, run by every worker's reaper, deletes
the object with its files.

"No longer owns" is final: the attempt number only grows, so once a request is
queued again, failed, finished or taken by a later attempt, that attempt can
never commit; deleting its objects cannot race with its finishing.
"""

from __future__ import annotations

import logging

from sqlalchemy import and_, delete, select
from sqlalchemy.orm import Session

from annotask.db.base import rowcount
from annotask.db.models import BackgroundRequest, PendingCreation, Project, Task
from annotask.domain import projects as project_rules
from annotask.domain import tasks as task_rules
from annotask.domain.requests import Attempt, LeaseLost
from annotask.services import Services

log = logging.getLogger(__name__)

TASK = "task"
PROJECT = "project"


def register(db: Session, attempt: Attempt, object_type: str, object_id: int) -> None:
    """Record ``object_id`` as created by ``attempt``, in the creating transaction.

    Raises :class:`LeaseLost` (rolling the creation back) if the attempt no longer
    owns its request: the object would be an orphan from the start.
    """
    owner = db.scalar(
        select(BackgroundRequest.id).where(
            BackgroundRequest.id == attempt.request_id,
            BackgroundRequest.status == "started",
            BackgroundRequest.attempts == attempt.number,
        )
    )
    if owner is None:
        raise LeaseLost
    db.add(
        PendingCreation(
            request_id=attempt.request_id,
            attempt=attempt.number,
            object_type=object_type,
            object_id=object_id,
        )
    )
    db.flush()


def settle(db: Session, attempt: Attempt) -> None:
    """The attempt's objects are complete: call in the transaction that finishes it."""
    db.execute(
        delete(PendingCreation).where(
            PendingCreation.request_id == attempt.request_id,
            PendingCreation.attempt == attempt.number,
        )
    )


def abandon(services: Services, attempt: Attempt, object_type: str, object_id: int) -> None:
    """Delete an object the attempt created, as its own failure handling does.

    Only while the attempt's record of it exists: if the reaper got there first (the
    attempt was stale), the id may already name someone else's new object (SQLite
    reuses the highest deleted id), which must not be touched.
    """
    with services.sessions() as db, db.begin():
        record = delete(PendingCreation).where(
            PendingCreation.request_id == attempt.request_id,
            PendingCreation.attempt == attempt.number,
            PendingCreation.object_type == object_type,
            PendingCreation.object_id == object_id,
        )
        if rowcount(db.execute(record)):
            _delete_object(db, services, object_type, object_id)


def _delete_object(db: Session, services: Services, object_type: str, object_id: int) -> None:
    if object_type == PROJECT:
        project = db.get(Project, object_id)
        if project is not None:
            project_rules.delete_project(db, services.settings, project)
    else:
        task = db.get(Task, object_id)
        if task is not None:
            task_rules.delete_task(db, services.settings, task)


def reap_orphans(services: Services, limit: int = 100) -> list[tuple[str, int]]:
    """Delete the objects of attempts that no longer own their request; what was deleted."""
    request = BackgroundRequest
    owned = and_(
        request.id == PendingCreation.request_id,
        request.status == "started",
        request.attempts == PendingCreation.attempt,
    )
    with services.read_sessions() as db:
        orphans = db.execute(
            select(PendingCreation.id, PendingCreation.object_type, PendingCreation.object_id)
            .outerjoin(request, owned)
            .where(request.id.is_(None))
            .order_by(PendingCreation.id)
            .limit(limit)
        ).all()
    removed: list[tuple[str, int]] = []
    for record_id, object_type, object_id in orphans:
        with services.sessions() as db, db.begin():
            if rowcount(db.execute(delete(PendingCreation).where(PendingCreation.id == record_id))):
                _delete_object(db, services, object_type, object_id)
        removed.append((object_type, object_id))
        log.warning(
            "removed %s #%d: created by an attempt that died before finishing",
            object_type,
            object_id,
        )
    return removed
