"""The lifecycle of a background request (CVAT's ``Request``): the single truth
for every asynchronous operation.

States::

    queued --claim--> started --finish--> finished
       ^                 |  \\--fail-----> failed
       |                 |
       +--lease expired--+   (re-run while attempts < max, else failed)
    queued --cancel--> failed ("Canceled by the user")

Rules that make it safe with many workers, duplicate messages and crashes:

- Every transition is one conditional ``UPDATE ... WHERE status = <expected>``:
  of two actors racing (two deliveries of one message, several reapers, a cancel
  racing a claim) exactly one wins, on SQLite and on PostgreSQL alike.
- ``attempts`` is the fencing token of one run. Progress, ``finish`` and ``fail``
  only touch the row while it is still ``started`` *by the same attempt*, so a
  worker that lost its lease (paused, cut off) cannot overwrite the outcome of the
  attempt that replaced it; its next report raises :class:`LeaseLost`.
- ``lease_expires_at`` means, for a ``started`` request, the deadline of the
  worker's heartbeat; for a ``queued`` one, the time after which its queue message
  is presumed lost and sent again (see :func:`reap_expired`).

Queue messages carry only the id and are sent after the creating transaction
commits (:func:`create_request`), so a rolled-back request is never run.
Timestamps come from the Python clock: hosts running workers need synchronised
clocks (NTP); skews far below the lease do no harm.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from sqlalchemy import Select, Table, delete, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from annotask.db.base import rowcount, utcnow
from annotask.db.models import BackgroundRequest
from annotask.domain.errors import DomainError, NotFound
from annotask.domain.health import describe
from annotask.queue.base import DEFAULT_LANE, NETWORK_LANE

if TYPE_CHECKING:
    from annotask.queue.base import JobQueue
    from annotask.services import Services

log = logging.getLogger(__name__)

STATUSES = ("queued", "started", "finished", "failed")
CANCELED_MESSAGE = "Canceled by the user"
NOT_FOUND_MESSAGE = "There is no request with specified id"
DEFAULT_RETENTION = timedelta(hours=24)
MAX_MESSAGE_CHARS = 4000
_TABLE = cast(Table, BackgroundRequest.__table__)


# ---- errors and small value types -------------------------------------------------


class JobInterrupted(BaseException):  # noqa: N818 - a signal, like asyncio.CancelledError
    """The machinery stops a job. A ``BaseException`` (like ``asyncio.CancelledError``)
    so that job code's ``except Exception`` cannot swallow it; ``finally`` still runs."""


class Cancelled(JobInterrupted):
    """The owner cancelled the request; raised by the next progress report."""


class LeaseLost(JobInterrupted):
    """This attempt no longer owns the request (its lease expired and it was re-run
    or failed): whatever it does now would be discarded."""


class WorkerStopping(JobInterrupted):
    """The worker is shutting down past its grace period; the request is re-queued."""


class NotCancellable(DomainError):
    status_code = 400


class QueueUnavailable(DomainError):
    """The job queue cannot be reached: the request is refused rather than accepted
    and left queued with nobody told."""

    status_code = 503


class Viewer(Protocol):
    """Who is asking (``api.deps.Caller`` fits): a user with an id, maybe an admin."""

    user: Any

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True)
class Attempt:
    """One run of a request by one worker; ``number`` is the fencing token."""

    request_id: str
    number: int
    worker_id: str
    lease: timedelta = timedelta(seconds=60)
    retention: timedelta = DEFAULT_RETENTION


@dataclass(frozen=True)
class RequestSnapshot:
    """What a job handler gets: a detached copy of the row, never an ORM object."""

    id: str
    operation: str
    target: str
    owner_id: int | None
    project_id: int | None
    task_id: int | None
    job_id: int | None
    format: str | None
    function_id: str | None
    lightweight: bool | None
    params: dict[str, Any]
    attempt: int


@dataclass(frozen=True)
class JobResult:
    """What a finished job produced: a new object's id and/or a downloadable file."""

    result_id: int | None = None
    result_path: str | None = None
    result_filename: str | None = None


@dataclass
class ReapReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)


def new_request_id() -> str:
    """A URL-safe id (a UUID: letters, digits and ``-``), so it survives percent-encoding."""
    return str(uuid.uuid4())


def _text(message: str) -> str:
    message = str(message)
    return message if len(message) <= MAX_MESSAGE_CHARS else message[: MAX_MESSAGE_CHARS - 1] + "…"


# ---- creation and the worker's transitions ----------------------------------------


def create_request(
    session: Session,
    services: Services,
    *,
    operation: str,
    target: str,
    owner_id: int | None,
    task_id: int | None = None,
    project_id: int | None = None,
    job_id: int | None = None,
    format: str | None = None,
    function_id: str | None = None,
    lightweight: bool | None = None,
    params: dict[str, Any] | None = None,
) -> BackgroundRequest:
    """Add a queued request in the caller's transaction; the queue message is sent
    only after that transaction commits (and dropped if it rolls back).

    ``session`` must come from ``services.sessions``: only those run the
    after-commit hook. ``params`` must be JSON-serialisable.

    The queue is pinged first: when it is down (Redis stopped, queue file
    unwritable) the caller gets :class:`QueueUnavailable` (503) at once, with
    the reason, instead of a request that would sit "queued" for minutes. If
    the send after commit still fails, the request is failed with the reason
    (see ``Services.enqueue_after_commit``).
    """
    try:
        services.queue.ping()
    except Exception as exc:
        raise QueueUnavailable(
            f"The job queue is unavailable, so the request was not accepted: {describe(exc)}"
        ) from exc
    now = utcnow()
    request = BackgroundRequest(
        id=new_request_id(),
        operation=operation,
        target=target,
        owner_id=owner_id,
        project_id=project_id,
        task_id=task_id,
        job_id=job_id,
        format=format,
        function_id=function_id,
        lightweight=lightweight,
        status="queued",
        progress=0.0,
        message="",
        params=dict(params or {}),
        attempts=0,
        cancel_requested=False,
        created_date=now,
        # For a queued request: when to presume its message lost (see reap_expired).
        lease_expires_at=now + timedelta(seconds=services.settings.job_requeue_seconds),
    )
    session.add(request)
    session.flush()
    services.enqueue_after_commit(session, request.id, lane_for(operation, request.params))
    return request


#: Operations that wait on other machines: dataset repository clones and pushes
#: (named here rather than imported: that module builds on this one).
NETWORK_OPERATIONS = frozenset({"create:dataset_repo", "push:dataset_repo"})


def lane_for(operation: str, params: dict[str, Any] | None) -> str:
    """The queue lane of a request: network work (git, task creation from
    ``remote_files``) runs on its own threads, so a server that never answers holds
    up only other network work, never everyone's task creation."""
    if operation in NETWORK_OPERATIONS:
        return NETWORK_LANE
    if operation == "create:task" and (params or {}).get("remote_files"):
        return NETWORK_LANE
    return DEFAULT_LANE


def lane_of(sessions: sessionmaker[Session], request_id: str) -> str:
    """The lane of a stored request (the default one when it is gone)."""
    with sessions() as session:
        row = session.execute(
            select(_TABLE.c.operation, _TABLE.c.params).where(_TABLE.c.id == request_id)
        ).first()
    return lane_for(row[0], row[1]) if row is not None else DEFAULT_LANE


def fail_unsent(
    sessions: sessionmaker[Session],
    request_id: str,
    exc: BaseException,
    *,
    retention: timedelta = DEFAULT_RETENTION,
) -> bool:
    """Fail a queued request whose queue message could not be sent (the queue went
    down between the check in :func:`create_request` and the send after commit)."""
    now = utcnow()
    stmt = (
        update(_TABLE)
        .where(_TABLE.c.id == request_id, _TABLE.c.status == "queued")
        .values(
            status="failed",
            message=_text(
                f"The job queue is unavailable, so the request could not be queued: {describe(exc)}"
            ),
            finished_date=now,
            expiry_date=now + retention,
            lease_expires_at=None,
        )
    )
    with sessions() as session, session.begin():
        return rowcount(session.execute(stmt)) == 1


def claim_attempt(
    sessions: sessionmaker[Session],
    request_id: str,
    worker_id: str,
    *,
    lease: timedelta,
    retention: timedelta = DEFAULT_RETENTION,
) -> Attempt | None:
    """Atomically move a queued request to started; ``None`` when someone else has
    it, or it is finished, failed, cancelled or unknown (a duplicate message)."""
    now = utcnow()
    stmt = (
        update(_TABLE)
        .where(
            _TABLE.c.id == request_id,
            _TABLE.c.status == "queued",
            _TABLE.c.cancel_requested.is_(False),
        )
        .values(
            status="started",
            attempts=_TABLE.c.attempts + 1,
            worker_id=worker_id,
            started_date=now,
            lease_expires_at=now + lease,
            progress=0.0,
            message="",
        )
        .returning(_TABLE.c.attempts)
    )
    with sessions() as session, session.begin():
        number = session.execute(stmt).scalar()
    if number is None:
        return None
    return Attempt(request_id, number, worker_id, lease=lease, retention=retention)


def claim(
    sessions: sessionmaker[Session], request_id: str, worker_id: str, *, lease: timedelta
) -> bool:
    """:func:`claim_attempt` for callers that only need to know whether they won."""
    return claim_attempt(sessions, request_id, worker_id, lease=lease) is not None


def load_snapshot(session: Session, attempt: Attempt) -> RequestSnapshot | None:
    row = session.get(BackgroundRequest, attempt.request_id)
    if row is None:
        return None
    return RequestSnapshot(
        id=row.id,
        operation=row.operation,
        target=row.target,
        owner_id=row.owner_id,
        project_id=row.project_id,
        task_id=row.task_id,
        job_id=row.job_id,
        format=row.format,
        function_id=row.function_id,
        lightweight=row.lightweight,
        params=dict(row.params or {}),
        attempt=attempt.number,
    )


def _owned(attempt: Attempt):
    return (
        _TABLE.c.id == attempt.request_id,
        _TABLE.c.status == "started",
        _TABLE.c.attempts == attempt.number,
    )


def finish(
    session: Session,
    attempt: Attempt,
    *,
    result_id: int | None = None,
    result_path: str | None = None,
    result_filename: str | None = None,
) -> bool:
    """Mark the request finished, in the caller's transaction.

    A job whose last step commits its own data calls this inside that same
    transaction (``finish(session, progress.attempt, result_id=...)``), so the
    result and the status become visible together. False when this attempt no
    longer owns the request; the caller should then roll back.
    """
    now = utcnow()
    stmt = (
        update(_TABLE)
        .where(*_owned(attempt))
        .values(
            status="finished",
            progress=1.0,
            message="",
            finished_date=now,
            expiry_date=now + attempt.retention,
            lease_expires_at=None,
            result_id=result_id,
            result_path=result_path,
            result_filename=result_filename,
        )
    )
    return rowcount(session.execute(stmt)) == 1


def fail(
    session: Session, attempt: Attempt, message: str, *, progress: float | None = None
) -> bool:
    """Mark the request failed with a message meant for the user (never a traceback)."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": "failed",
        "message": _text(message) or "The request failed",
        "finished_date": now,
        "expiry_date": now + attempt.retention,
        "lease_expires_at": None,
    }
    if progress is not None and (clamped := _clamp(progress)) is not None:
        values["progress"] = clamped
    return rowcount(session.execute(update(_TABLE).where(*_owned(attempt)).values(**values))) == 1


def release(session: Session, attempt: Attempt, *, requeue_after: timedelta) -> bool:
    """Give a started request back to the queue (the worker is shutting down).

    The caller sends the message after commit. The attempt still counts towards
    ``job_max_attempts``: the counter is also the fencing token and never goes back.
    """
    now = utcnow()
    stmt = (
        update(_TABLE)
        .where(*_owned(attempt))
        .values(
            status="queued",
            worker_id=None,
            lease_expires_at=now + requeue_after,
            message="The worker running this request was stopped; it is queued to run again",
        )
    )
    return rowcount(session.execute(stmt)) == 1


# ---- progress reporting (the heartbeat thread is in annotask.worker.runner) -----


def _clamp(value: float) -> float | None:
    value = float(value)
    if math.isnan(value):
        return None
    return min(1.0, max(0.0, value))


class Progress:
    """The reporter handed to job code.

    ``report(progress, message)`` is cheap to call often: values are clamped to
    0..1 and never go down within one attempt, and at most one database write
    happens per ``min_interval`` (the first report and a report reaching 1.0 are
    written at once; a throttled value is written by the next report or by the
    heartbeat). Each write renews the lease. A report raises :class:`Cancelled`
    once the owner has cancelled, :class:`LeaseLost` when the request was taken
    over, and :class:`WorkerStopping` when the worker shuts down.

    Do not call ``report`` while holding a write transaction of your own: on
    SQLite it would wait for your own lock. Finish inside it instead.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        attempt: Attempt,
        *,
        min_interval: float = 0.25,
        clock=time.monotonic,
    ) -> None:
        self.attempt = attempt
        self.min_interval = min_interval
        self._sessions = sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._value = 0.0
        self._message: str | None = None
        self._dirty = False
        self._written_value = -1.0
        self._last_write: float | None = None
        self._created = clock()
        self._interrupt: type[JobInterrupted] | None = None
        self.writes = 0

    @property
    def value(self) -> float:
        return self._value

    @property
    def dirty(self) -> bool:
        return self._dirty

    def seconds_since_write(self) -> float:
        """Since the last write, or since the claim (which set the lease) before any."""
        last = self._last_write
        return self._clock() - (self._created if last is None else last)

    def report(self, progress: float | None = None, message: str | None = None) -> None:
        """Record progress (0..1) and/or a status message for the user."""
        self.check()
        with self._lock:
            if progress is not None and (clamped := _clamp(progress)) is not None:
                self._value = max(self._value, clamped)
            if message is not None:
                self._message = _text(message)
            self._dirty = True
            due = (
                self._last_write is None
                or self._clock() - self._last_write >= self.min_interval
                or (self._value >= 1.0 > self._written_value)
            )
        if due:
            self._write()
        self.check()

    def check(self) -> None:
        """Raise if the job must stop; cheap (no database access)."""
        if self._interrupt is not None:
            raise self._interrupt()

    def interrupt(self, reason: type[JobInterrupted]) -> None:
        """Make the job's next report (or ``check``) raise ``reason``."""
        if self._interrupt is None or reason is LeaseLost:
            self._interrupt = reason

    def flush(self) -> None:
        """Write a throttled value now."""
        if self._dirty:
            self._write()

    def renew(self) -> None:
        """Renew the lease (and write any pending value); called by the heartbeat."""
        self._write()

    def _write(self) -> None:
        with self._write_lock:
            with self._lock:
                value, message = self._value, self._message
                self._dirty = False
            values: dict[str, Any] = {
                "progress": value,
                "lease_expires_at": utcnow() + self.attempt.lease,
            }
            if message is not None:
                values["message"] = message
            stmt = (
                update(_TABLE)
                .where(*_owned(self.attempt))
                .values(**values)
                .returning(_TABLE.c.cancel_requested)
            )
            try:
                with self._sessions() as session, session.begin():
                    row = session.execute(stmt).first()
            except Exception:  # a database hiccup must not kill the job: retry later
                log.warning("progress write for %s failed", self.attempt.request_id, exc_info=True)
                self._dirty = True
                return
            self.writes += 1
            self._last_write = self._clock()
            self._written_value = value
            if row is None:
                self.interrupt(LeaseLost)
            elif row[0]:
                self.interrupt(Cancelled)


# ---- repair: dead workers, lost messages, expiry ----------------------------------


def reap_expired(
    sessions: sessionmaker[Session],
    queue: JobQueue,
    max_attempts: int,
    *,
    requeue_after: timedelta = timedelta(minutes=5),
    retention: timedelta = DEFAULT_RETENTION,
    limit: int = 200,
    only: Collection[str] | None = None,
) -> ReapReport:
    """Repair requests whose worker or message disappeared. Idempotent, and safe
    with many reapers at once: each change is a conditional update that only one wins.

    1. ``started`` with an expired lease: its worker died (or hangs). Queued again
       and re-sent while ``attempts < max_attempts``, else failed with a message.
       A cancelled one is failed as cancelled.
    2. ``queued`` past its re-send time: the message may be lost (queue file
       deleted or reset, crash between commit and enqueue, a worker killed between
       dequeue and claim). The message is sent again. This is safe because a
       message is only a hint: a duplicate finds the request already claimed and
       does nothing. The cost of a long backlog is a few no-op messages, bounded by
       backing off with the request's age (re-sent at most every max(requeue_after,
       age / 2)). The first-wins update on ``lease_expires_at`` makes a re-send
       happen once per period however many reapers run.

    Messages go out after the transaction commits. A failed send is retried by a
    later pass (the request stays queued with a new re-send time).

    ``only`` limits the pass to these request ids (a web process repairing the
    one request a client is reading, see :func:`get_checking_lease`).
    """
    now = utcnow()
    report = ReapReport()
    lanes: dict[str, str] = {}
    chosen = _TABLE.c.id.in_(list(only)) if only is not None else true()
    with sessions() as session, session.begin():
        expired = session.execute(
            select(
                _TABLE.c.id,
                _TABLE.c.attempts,
                _TABLE.c.cancel_requested,
                _TABLE.c.operation,
                _TABLE.c.params,
            )
            .where(_TABLE.c.status == "started", _TABLE.c.lease_expires_at < now, chosen)
            .limit(limit)
        ).all()
        for request_id, attempts, cancel_requested, operation, params in expired:
            lanes[request_id] = lane_for(operation, params)
            still_expired = (
                _TABLE.c.id == request_id,
                _TABLE.c.status == "started",
                _TABLE.c.attempts == attempts,
                _TABLE.c.lease_expires_at < now,
            )
            total = max(attempts, max_attempts)
            if cancel_requested or attempts >= max_attempts:
                message = (
                    CANCELED_MESSAGE
                    if cancel_requested
                    else "The worker running this request stopped unexpectedly "
                    f"(attempt {attempts} of {total})"
                )
                values: dict[str, Any] = {
                    "status": "failed",
                    "message": message,
                    "finished_date": now,
                    "expiry_date": now + retention,
                    "lease_expires_at": None,
                }
                target = report.failed
            else:
                values = {
                    "status": "queued",
                    "worker_id": None,
                    "lease_expires_at": now + requeue_after,
                    "message": "The worker running this request stopped unexpectedly; "
                    f"it is queued to run again (attempt {attempts + 1} of {total})",
                }
                target = report.requeued
            if rowcount(session.execute(update(_TABLE).where(*still_expired).values(**values))):
                target.append(request_id)

        resend_due = or_(
            _TABLE.c.lease_expires_at < now,
            _TABLE.c.lease_expires_at.is_(None) & (_TABLE.c.created_date < now - requeue_after),
        )
        stale = session.execute(
            select(_TABLE.c.id, _TABLE.c.created_date, _TABLE.c.operation, _TABLE.c.params)
            .where(_TABLE.c.status == "queued", resend_due, chosen)
            .limit(limit)
        ).all()
        for request_id, created, operation, params in stale:
            lanes[request_id] = lane_for(operation, params)
            next_due = now + max(requeue_after, (now - created) / 2)
            stmt = (
                update(_TABLE)
                .where(_TABLE.c.id == request_id, _TABLE.c.status == "queued", resend_due)
                .values(lease_expires_at=next_due)
            )
            if rowcount(session.execute(stmt)):
                report.resent.append(request_id)
    for request_id in (*report.requeued, *report.resent):
        try:
            queue.enqueue(request_id, lanes.get(request_id, DEFAULT_LANE))
        except Exception:
            log.warning("could not send request %s; a later pass retries", request_id)
    for request_id in report.requeued:
        log.warning("request %s: worker lease expired, queued again", request_id)
    for request_id in report.failed:
        log.warning("request %s: worker lease expired, failed", request_id)
    return report


def purge_expired(
    sessions: sessionmaker[Session], *, retention: timedelta = DEFAULT_RETENTION
) -> int:
    """Delete finished and failed requests past their expiry date; returns how many.

    Result files are not deleted here: the code that wrote them (e.g. an export
    cache shared by several requests) decides their lifetime.
    """
    now = utcnow()
    done = _TABLE.c.status.in_(("finished", "failed"))
    stmt = delete(_TABLE).where(
        done,
        or_(
            _TABLE.c.expiry_date < now,
            _TABLE.c.expiry_date.is_(None) & (_TABLE.c.finished_date < now - retention),
        ),
    )
    with sessions() as session, session.begin():
        return rowcount(session.execute(stmt)) or 0


# ---- what users do: read, list, cancel --------------------------------------------


def get_for_caller(session: Session, caller: Viewer, request_id: str) -> BackgroundRequest:
    """The request if the caller owns it or is an admin; 404 otherwise (also for
    requests that exist but belong to someone else, so ids cannot be probed)."""
    row = session.get(BackgroundRequest, request_id)
    if row is None or (row.owner_id != caller.user.id and not caller.is_admin):
        raise NotFound(NOT_FOUND_MESSAGE)
    return row


def lease_expired(row: BackgroundRequest) -> bool:
    """A started request whose worker has not renewed its lease in time."""
    return (
        row.status == "started"
        and row.lease_expires_at is not None
        and row.lease_expires_at < utcnow()
    )


def repair_expired_lease(session: Session, services: Services, row: BackgroundRequest) -> bool:
    """When ``row`` is started but its lease expired, repair it now as a worker's
    reaper would (:func:`reap_expired` for this one id) and end the session's
    transaction so that the next read sees the repair. True when it did.

    Readers call this: with every worker gone nobody else would reap, and the
    client would see "started" forever; it sees it queued again (attempts left)
    or failed instead."""
    if not lease_expired(row):
        return False
    settings = services.settings
    reap_expired(
        services.sessions,
        services.queue,
        settings.job_max_attempts,
        requeue_after=timedelta(seconds=settings.job_requeue_seconds),
        retention=timedelta(hours=settings.request_retention_hours),
        only=[row.id],
    )
    session.rollback()  # a new snapshot: the repair committed in another transaction
    return True


def get_checking_lease(
    session: Session, services: Services, caller: Viewer, request_id: str
) -> BackgroundRequest:
    """:func:`get_for_caller`, with an expired lease repaired first
    (:func:`repair_expired_lease`)."""
    row = get_for_caller(session, caller, request_id)
    if repair_expired_lease(session, services, row):
        row = get_for_caller(session, caller, request_id)
    return row


@dataclass
class RequestFilters:
    """The filters of ``GET /api/requests`` (CVAT's names)."""

    status: str | None = None
    project_id: int | None = None
    task_id: int | None = None
    job_id: int | None = None
    action: str | None = None
    target: str | None = None
    subresource: str | None = None
    format: str | None = None
    operation: str | None = None
    sort: list[str] = field(default_factory=list)


SORT_FIELDS = {
    "created_date": _TABLE.c.created_date,
    "status": _TABLE.c.status,
    "action": _TABLE.c.operation,
    "id": _TABLE.c.id,
}


def list_query(caller: Viewer, filters: RequestFilters) -> Select:
    """The caller's own requests, newest first. As in CVAT, admins too see only
    their own here (they can still open anyone's by id)."""
    query = select(BackgroundRequest).where(BackgroundRequest.owner_id == caller.user.id)
    cols = BackgroundRequest
    for name in ("status", "project_id", "task_id", "job_id", "target", "format", "operation"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(cols, name) == value)
    if filters.action:
        query = query.where(cols.operation.startswith(f"{filters.action}:", autoescape=True))
    if filters.subresource:
        query = query.where(cols.operation.endswith(f":{filters.subresource}", autoescape=True))
    order = []
    for key in filters.sort:
        column = SORT_FIELDS.get(key.lstrip("-"))
        if column is not None:  # unknown fields are ignored, as DRF's OrderingFilter does
            order.append(column.desc() if key.startswith("-") else column.asc())
    if not order:
        order = [_TABLE.c.created_date.desc()]
    return query.order_by(*order, _TABLE.c.id.desc())


def cancel(
    session: Session, caller: Viewer, request_id: str, *, retention: timedelta = DEFAULT_RETENTION
) -> BackgroundRequest:
    """Cancel a request of the caller (or any, for an admin).

    A queued request fails at once with "Canceled by the user". A started one is
    flagged; the job stops at its next progress report (cancellation is
    cooperative: a job that completes first finishes normally). Finished and
    failed requests cannot be cancelled (400), as in CVAT.
    """
    row = get_for_caller(session, caller, request_id)
    now = utcnow()
    if row.status == "queued":
        stmt = (
            update(_TABLE)
            .where(_TABLE.c.id == request_id, _TABLE.c.status == "queued")
            .values(
                status="failed",
                message=CANCELED_MESSAGE,
                finished_date=now,
                expiry_date=now + retention,
                lease_expires_at=None,
                cancel_requested=True,
            )
        )
        if not rowcount(session.execute(stmt)):
            session.refresh(row)  # claimed meanwhile: cancel it as a started one
    if row.status == "started":
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == request_id, _TABLE.c.status == "started")
            .values(cancel_requested=True)
        )
    elif row.status == "finished" or (row.status == "failed" and not row.cancel_requested):
        raise NotCancellable(
            f"The request is already {row.status}: only queued or started requests can be cancelled"
        )
    session.refresh(row)
    return row
