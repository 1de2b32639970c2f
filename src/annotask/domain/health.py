"""What ``/api/server/health`` checks, and the worker presence it reads.

Each component is checked on its own and reported by name, so an operator (or
a load balancer) sees *which* part failed: a check never raises. Components:

- ``database``: a ``SELECT 1`` in a fresh connection;
- ``queue`` and ``cache``: their ``ping`` (Redis, or the embedded SQLite/disk);
- ``storage``: a small file is written, synced and removed in the data
  directory, and the free space must stay above ``disk_reserve_bytes``;
- ``workers``: some worker process recorded its presence within the last
  ``job_lease_seconds`` (workers write it every third of a lease, see
  :func:`record_worker_seen`). Without workers, background requests stay
  queued, so this is a failure too.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from annotask.db.base import rowcount, utcnow
from annotask.db.models import WorkerHeartbeat

if TYPE_CHECKING:
    from annotask.services import Services

OK = "ok"
# Presence rows of workers not seen for this long are deleted (they stopped long ago).
FORGET_WORKERS_AFTER = timedelta(days=1)


@dataclass
class HealthReport:
    components: dict[str, str] = field(default_factory=dict)
    workers_seen: int = 0
    free_bytes: int | None = None

    @property
    def failing(self) -> list[str]:
        return [name for name, state in self.components.items() if state != OK]

    @property
    def healthy(self) -> bool:
        return not self.failing

    def body(self) -> dict:
        return {
            "status": OK if self.healthy else "failing",
            **self.components,
            "failing": self.failing,
            "workers_seen": self.workers_seen,
            "free_bytes": self.free_bytes,
        }


def describe(exc: BaseException) -> str:
    """A short reason for an operator: the error's class and message, no traceback."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"{os.strerror(exc.errno).lower()} ({errno.errorcode.get(exc.errno, exc.errno)})"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}"[:300] if message else type(exc).__name__


def check(services: Services) -> HealthReport:
    report = HealthReport()
    settings = services.settings
    report.components["database"] = _run(lambda: _ping_database(services))
    report.components["queue"] = _run(lambda: services.queue.ping())
    report.components["cache"] = _run(lambda: services.cache.ping())
    report.components["storage"], report.free_bytes = _check_storage(services)
    if report.components["database"] == OK:
        window = timedelta(seconds=settings.job_lease_seconds)
        try:
            report.workers_seen = workers_seen(services.read_sessions, window)
        except Exception as exc:
            report.components["workers"] = f"unknown: {describe(exc)}"
        else:
            report.components["workers"] = (
                OK
                if report.workers_seen
                else f"no worker seen in the last {settings.job_lease_seconds} s: "
                "background requests will not run"
            )
    else:
        report.components["workers"] = "unknown: the database is unavailable"
    return report


def _run(probe) -> str:
    try:
        probe()
    except Exception as exc:
        return describe(exc)
    return OK


def _ping_database(services: Services) -> None:
    # The read engine: on SQLite its transactions start deferred, so a health check
    # never queues behind writers for the write lock.
    with services.read_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        conn.rollback()


def _check_storage(services: Services) -> tuple[str, int | None]:
    settings = services.settings
    try:
        free = shutil.disk_usage(settings.data_dir).free
    except OSError as exc:
        return describe(exc), None
    try:
        with tempfile.NamedTemporaryFile(dir=settings.data_dir, prefix=".health-") as probe:
            # No fsync: a full or read-only file system already refuses the write,
            # and an fsync behind a busy disk would make health slow when it must
            # answer at once (while many requests write).
            probe.write(b"annotask health probe\n")
            probe.flush()
    except OSError as exc:
        return f"data directory not writable: {describe(exc)}", free
    if free < settings.disk_reserve_bytes:
        return (
            f"low disk space: {free} bytes free, below the reserve of "
            f"{settings.disk_reserve_bytes} bytes (disk_reserve_bytes)",
            free,
        )
    return OK, free


# ---- worker presence -----------------------------------------------------------


def record_worker_seen(sessions: sessionmaker[Session], worker_id: str) -> None:
    """Upsert this worker's presence row (one row per worker process)."""
    now = utcnow()
    with sessions() as session, session.begin():
        stmt = (
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.worker_id == worker_id)
            .values(seen_at=now)
        )
        if not rowcount(session.execute(stmt)):
            session.add(WorkerHeartbeat(worker_id=worker_id, seen_at=now))


def forget_worker(sessions: sessionmaker[Session], worker_id: str) -> None:
    """A worker stopping cleanly removes its row: health then knows at once."""
    with sessions() as session, session.begin():
        session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))


def purge_stale_workers(session: Session) -> None:
    cutoff = utcnow() - FORGET_WORKERS_AFTER
    session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.seen_at < cutoff))


def workers_seen(sessions: sessionmaker[Session], window: timedelta) -> int:
    """How many workers recorded their presence within ``window``."""
    with sessions() as session, session.begin():
        return (
            session.scalar(select(func.count()).where(WorkerHeartbeat.seen_at >= utcnow() - window))
            or 0
        )
