"""Background requests (CVAT's ``Request``) and resumable uploads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotask.db.base import SQLITE_AUTOINCREMENT, Base, UTCDateTime, utcnow


class BackgroundRequest(Base):
    """The single truth for a queued operation: status, progress, lease and result.

    A worker claims a request by moving it to ``started`` with a lease it keeps
    renewing; a request whose lease ran out belonged to a dead worker and is
    re-run or failed by the reaper.
    """

    __tablename__ = "requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(16))
    project_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    format: Mapped[str | None] = mapped_column(String(128), nullable=True)
    function_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lightweight: Mapped[bool | None] = mapped_column(nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result_path: Mapped[str | None] = mapped_column(String(4096), nullable=True)
    result_filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expiry_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Upload(Base):
    """A TUS upload in flight; kept in the database so it resumes after a restart."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the file is for: "task_data", "task_annotations", "task_backup", ...
    purpose: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(1024))
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    path: Mapped[str] = mapped_column(String(4096))
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingCreation(Base):
    """An object (task or project) a request's attempt created before its work was done.

    Written in the transaction that creates the object, while the attempt owns the
    request, and deleted in the transaction that finishes the request. A row whose
    attempt no longer owns its request names an orphan of a killed or stalled
    attempt: the reaper deletes the object (see ``domain/pending.py``).
    """

    __tablename__ = "pending_creations"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    object_type: Mapped[str] = mapped_column(String(16))  # "task" or "project"
    object_id: Mapped[int] = mapped_column(Integer)
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkerHeartbeat(Base):
    """When each worker process was last seen alive: ``/api/server/health`` reports
    whether any worker is running, so a deployment whose workers are all gone
    says so instead of leaving requests queued in silence."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
