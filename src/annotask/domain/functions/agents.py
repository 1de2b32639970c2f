"""The agent's side of annotation requests: acquire, progress, complete, fail.

Both categories go through the same states: ``batch`` runs (their result saved
as annotations) and ``interactive`` single-frame calls (their result kept for
the caller waiting on it, see :mod:`annotask.domain.functions.calls`).

Every transition is a conditional ``UPDATE`` (on status, agent and attempt),
so two agents can never both hold a request, and a late answer from an agent
that lost its lease is refused with 409 instead of overwriting the new run.
``complete`` is idempotent for the agent that finished the request, so the
agent may safely retry a submission whose response it did not get; ``fail`` is
idempotent for the agent whose result was refused.

Leases: ``acquire`` gives the agent ``LEASE``; each ``update`` renews it
(cvat-cli sends one every 30 s while it works). :func:`release_expired`, run
before acquisitions and reads, queues again the requests of agents that went
silent, and fails a request once ``MAX_ATTEMPTS`` agents have lost it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from annotask.db.base import rowcount, utcnow
from annotask.db.models import AnnotationRequest, Job, Task, User
from annotask.domain.annotations import service as annotation_service
from annotask.domain.errors import Conflict, NotFound, ValidationFailed
from annotask.domain.functions import calls
from annotask.domain.functions.registry import get_function_for_manage
from annotask.domain.functions.runs import NOT_FOUND, job_frames
from annotask.domain.tasks import MAX_ID

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 3
CATEGORIES = ("interactive", "batch")
MESSAGE_MAX = 4000


@dataclass(frozen=True)
class Assignment:
    """What an agent gets from ``acquire``: the request id and its parameters."""

    ar_id: str
    ar_params: dict[str, Any]


# ---- leases -------------------------------------------------------------------------


def release_expired(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session] | None = None,
    now: datetime | None = None,
) -> int:
    """Give back the requests whose agent stopped renewing its lease: queued again,
    or failed once ``MAX_ATTEMPTS`` agents lost them. Returns how many changed.

    Looks first in a read (so that, on SQLite, the write lock is only taken when
    something expired); each change is conditional, so concurrent callers agree.
    """
    now = now or utcnow()
    expired_now = (
        AnnotationRequest.status == "started",
        AnnotationRequest.lease_expires_at < now,
    )
    with (read_sessions or sessions)() as db:
        if not db.scalar(select(exists().where(*expired_now))):
            return 0
    changed = 0
    with sessions() as db, db.begin():
        rows = db.execute(
            select(AnnotationRequest.id, AnnotationRequest.attempts).where(*expired_now)
        ).all()
        for request_id, attempts in rows:
            still = (AnnotationRequest.id == request_id, AnnotationRequest.attempts == attempts)
            if attempts >= MAX_ATTEMPTS:
                values: dict[str, Any] = {
                    "status": "failed",
                    "message": "The agents processing this request stopped responding "
                    f"({attempts} attempts)",
                    "finished_date": now,
                    "lease_expires_at": None,
                }
            else:
                values = {
                    "status": "queued",
                    "agent_id": None,
                    "lease_expires_at": None,
                    "message": "The agent processing this request stopped responding; "
                    "it is queued again",
                }
            changed += rowcount(db.execute(
                update(AnnotationRequest).where(*still, *expired_now).values(**values)
            ))
    return changed


# ---- the watch stream: each look in its own short read ----------------------------------


def check_watch(read_sessions: sessionmaker[Session], user: User, function_id: int) -> None:
    """The user may watch the function's queue (its owner or an admin; 404 otherwise)."""
    with read_sessions() as db, db.begin():
        get_function_for_manage(db, user, function_id)


def watched_pending(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    user: User,
    function_id: int,
) -> list[tuple[str, str]] | None:
    """What a watching agent could acquire now as ``(id, category)`` (expired leases
    given back first), or None once the function is gone or out of the user's hands."""
    release_expired(sessions, read_sessions)
    with read_sessions() as db, db.begin():
        try:
            get_function_for_manage(db, user, function_id)
        except NotFound:
            return None
        return pending_ids(db, function_id)


# ---- agents: acquire, update, complete, fail ----------------------------------------


def queue_function_id(queue_id: str) -> int:
    """The function behind a queue id (``function:<id>``); 404 for anything else."""
    prefix, _, number = queue_id.partition(":")
    if prefix != "function" or not number.isdigit() or not 0 < int(number) <= MAX_ID:
        raise NotFound(f'There is no queue "{queue_id}".')
    return int(number)


def check_agent_id(agent_id: Any) -> str:
    if not isinstance(agent_id, str) or not 0 < len(agent_id) <= 128:
        raise ValidationFailed({"agent_id": "A string of 1 to 128 characters is required."})
    return agent_id


def pending_ids(
    db: Session, function_id: int, now: datetime | None = None
) -> list[tuple[str, str]]:
    """Requests of the function an agent could acquire now, as ``(id, category)``,
    oldest first."""
    now = now or utcnow()
    query = (
        select(AnnotationRequest.id, AnnotationRequest.category)
        .where(
            AnnotationRequest.function_id == function_id,
            or_(
                AnnotationRequest.status == "queued",
                (AnnotationRequest.status == "started")
                & (AnnotationRequest.lease_expires_at < now),
            ),
        )
        .order_by(AnnotationRequest.created_date, AnnotationRequest.id)
    )
    return [(request_id, category) for request_id, category in db.execute(query)]


def acquire(
    db: Session,
    user: User,
    function_id: int,
    agent_id: Any,
    category: Any,
    *,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> Assignment | None:
    """Assign the oldest queued request of this category to the agent, or None.

    Call :func:`release_expired` first so requests of vanished agents count.
    """
    function = get_function_for_manage(db, user, function_id)
    agent_id = check_agent_id(agent_id)
    if category not in CATEGORIES:
        raise ValidationFailed({"request_category": f"Must be one of {', '.join(CATEGORIES)}."})
    now = now or utcnow()
    for _ in range(20):  # another agent may win a candidate: try the next one
        candidate = db.execute(
            select(AnnotationRequest.id, AnnotationRequest.attempts, AnnotationRequest.params)
            .where(
                AnnotationRequest.function_id == function.id,
                AnnotationRequest.category == category,
                AnnotationRequest.status == "queued",
            )
            .order_by(AnnotationRequest.created_date, AnnotationRequest.id)
            .limit(1)
        ).first()
        if candidate is None:
            return None
        request_id, attempts, params = candidate
        won = rowcount(db.execute(
            update(AnnotationRequest)
            .where(
                AnnotationRequest.id == request_id,
                AnnotationRequest.status == "queued",
                AnnotationRequest.attempts == attempts,
            )
            .values(
                status="started",
                agent_id=agent_id,
                attempts=attempts + 1,
                lease_expires_at=now + lease,
                started_date=now,
                message="",
            )
        ))
        if won:
            return Assignment(ar_id=request_id, ar_params=dict(params))
    return None


def _held(
    db: Session, function_id: int, request_id: str, agent_id: str, *, lock: bool = False
) -> AnnotationRequest:
    """The request this agent holds; 404 when unknown, 409 when it is not (or no longer)
    its. ``lock`` keeps others (a new acquisition) off the row until the transaction ends."""
    request = db.get(AnnotationRequest, request_id, with_for_update=lock)
    if request is None or request.function_id != function_id:
        raise NotFound(NOT_FOUND)
    if request.status != "started" or request.agent_id != agent_id:
        raise Conflict(
            f"Annotation request {request_id} is not held by agent {agent_id!r} "
            f"(it is {request.status}" + (f": {request.message})" if request.message else ")")
        )
    return request


def update_progress(
    db: Session,
    user: User,
    function_id: int,
    request_id: str,
    agent_id: Any,
    progress: Any,
    *,
    lease: timedelta = LEASE,
    now: datetime | None = None,
) -> None:
    """Record the agent's progress (0..1, never going down) and renew its lease."""
    get_function_for_manage(db, user, function_id)
    agent_id = check_agent_id(agent_id)
    if (
        isinstance(progress, bool)
        or not isinstance(progress, int | float)
        or not math.isfinite(progress)
    ):
        raise ValidationFailed({"progress": "A number between 0 and 1 is required."})
    request = _held(db, function_id, request_id, agent_id)
    now = now or utcnow()
    db.execute(
        update(AnnotationRequest)
        .where(
            AnnotationRequest.id == request.id,
            AnnotationRequest.status == "started",
            AnnotationRequest.agent_id == agent_id,
            AnnotationRequest.attempts == request.attempts,
        )
        .values(
            progress=max(request.progress or 0.0, min(1.0, max(0.0, float(progress)))),
            lease_expires_at=now + lease,
        )
    )


def complete(
    sessions: sessionmaker[Session],
    user: User,
    function_id: int,
    request_id: str,
    body: Any,
) -> None:
    """Take the agent's result and finish the request.

    A batch result is saved as annotations: ``cleanup`` requests replace the
    task's (or, for a job's run, only that job's) annotations, others add to
    them; a job's run keeps only what lies in the job's frames; every object gets
    source ``auto``. An interactive result is only kept for the waiting call
    (:mod:`annotask.domain.functions.calls`), never saved as annotations.
    A result the server cannot take fails the request with the reason and
    answers 400. A repeated submission by the agent that finished it is a no-op.
    """
    if not isinstance(body, Mapping):
        raise ValidationFailed("The body must be a JSON object.")
    agent_id = check_agent_id(body.get("agent_id"))
    try:
        with sessions() as db, db.begin():
            get_function_for_manage(db, user, function_id)
            if _already(db, function_id, request_id, agent_id, "finished"):
                return
            request = _held(db, function_id, request_id, agent_id, lock=True)
            task = db.get(Task, request.task_id)
            if task is None:
                raise NotFound(f"Task #{request.task_id} not found.")
            stored: dict[str, Any] | None = None
            if request.category == "interactive":
                stored = calls.read_result(db, task, request, body)
            else:
                _save_annotations(db, task, request, _annotations(body))
            finished = rowcount(db.execute(
                update(AnnotationRequest)
                .where(
                    AnnotationRequest.id == request.id,
                    AnnotationRequest.attempts == request.attempts,
                    AnnotationRequest.status == "started",
                )
                .values(
                    status="finished",
                    progress=1.0,
                    message="",
                    result=stored,
                    finished_date=utcnow(),
                    lease_expires_at=None,
                )
            ))
            if not finished:  # taken over meanwhile: roll the annotations back
                raise Conflict(f"Annotation request {request_id} was taken over by another agent")
    except ValidationFailed as exc:
        with sessions() as db, db.begin():
            _fail(db, function_id, request_id, agent_id, f"The agent's result was refused: {exc}")
        raise


def _save_annotations(
    db: Session, task: Task, request: AnnotationRequest, result: dict[str, Any]
) -> None:
    """A batch result into the task, or into the request's job (its frames only)."""
    action = None if request.cleanup else "create"
    if request.job_id is None:
        annotation_service.write_task(db, task, result, action)
        return
    job = db.get(Job, request.job_id)
    if job is None:
        raise NotFound(f"Job #{request.job_id} not found.")
    frames = job_frames(db, job)
    kept = {
        kind: [o for o in result[kind] if isinstance(o, Mapping) and o.get("frame") in frames]
        for kind in ("tags", "shapes")
    }
    annotation_service.write_job(db, job, {**kept, "tracks": []}, action)


def fail(
    db: Session, user: User, function_id: int, request_id: str, agent_id: Any, exc_info: Any
) -> None:
    """The agent gives up; its message (deliberately terse) becomes the request's.
    Idempotent for the agent whose result was already refused."""
    get_function_for_manage(db, user, function_id)
    agent_id = check_agent_id(agent_id)
    message = exc_info if isinstance(exc_info, str) and exc_info else "The agent failed"
    if _already(db, function_id, request_id, agent_id, "failed"):
        return
    _held(db, function_id, request_id, agent_id)
    _fail(db, function_id, request_id, agent_id, message)


def _already(db: Session, function_id: int, request_id: str, agent_id: str, status: str) -> bool:
    """True when this agent's request already ended with ``status``: a repeated
    ``complete`` or ``fail`` (the client retries) is then a no-op."""
    request = db.get(AnnotationRequest, request_id)
    return (
        request is not None
        and request.function_id == function_id
        and request.status == status
        and request.agent_id == agent_id
    )


def _fail(db: Session, function_id: int, request_id: str, agent_id: str, message: str) -> None:
    db.execute(
        update(AnnotationRequest)
        .where(
            AnnotationRequest.id == request_id,
            AnnotationRequest.function_id == function_id,
            AnnotationRequest.status == "started",
            AnnotationRequest.agent_id == agent_id,
        )
        .values(
            status="failed",
            message=message[:MESSAGE_MAX],
            finished_date=utcnow(),
            lease_expires_at=None,
        )
    )


def _annotations(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``annotations`` of an ``annotate_task`` result, as automatic objects."""
    data = body.get("annotations")
    if not isinstance(data, Mapping):
        raise ValidationFailed({"annotations": "An object with tags and shapes is required."})
    result: dict[str, Any] = {"tags": [], "shapes": [], "tracks": []}
    for kind in ("tags", "shapes"):
        items = data.get(kind) or []
        if not isinstance(items, list):
            raise ValidationFailed({f"annotations.{kind}": "Expected a list of items."})
        for item in items:
            if isinstance(item, Mapping):
                item = _automatic(item)
            result[kind].append(item)
    return result


def _automatic(obj: Mapping[str, Any]) -> dict[str, Any]:
    copy = {k: v for k, v in obj.items() if k != "id"}
    copy["source"] = "auto"
    if isinstance(copy.get("elements"), list):
        copy["elements"] = [
            _automatic(e) if isinstance(e, Mapping) else e for e in copy["elements"]
        ]
    return copy
