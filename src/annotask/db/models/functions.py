"""Native functions (auto-annotation models run by agents) and their annotation requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotask.db.base import SQLITE_AUTOINCREMENT, Base, UTCDateTime, utcnow


class Function(Base):
    """A function registered by ``cvat-cli function create-native``.

    The server never runs it: agents (``cvat-cli function run-agent``) take its
    annotation requests and send results back. ``spec`` holds what the agent
    checks its local function against: ``labels_v2`` for a detector,
    the prompt rules for an interactor, ``supported_shape_types`` for a tracker.
    """

    __tablename__ = "functions"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    provider: Mapped[str] = mapped_column(String(16), default="native")
    kind: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    description: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[dict] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnnotationRequest(Base):
    """One run of a function on a task (CVAT's lambda request, an agent's "AR").

    ``queued`` until an agent acquires it; ``started`` while that agent holds its
    lease (renewed by progress updates); ``finished`` once the agent's
    annotations are saved, or ``failed``. An expired lease puts it back in the
    queue (``attempts`` counts acquisitions and fences late results).
    ``function_id`` is cleared when the function is deleted; the request stays
    readable, failed.

    Two categories: ``batch`` runs (``annotate_task``, on the whole task or, with
    ``job_id``, only that job's frames) save their result as annotations;
    ``interactive`` single-frame calls (``annotate_frame``, ``interact``,
    ``init_tracking``, ``track``) keep the agent's answer in ``result`` for the
    waiting HTTP call, which clears it once read.
    """

    __tablename__ = "annotation_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    function_id: Mapped[int | None] = mapped_column(
        ForeignKey("functions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    # A batch run limited to one job's frames (CVAT's ``job``); None for the whole task.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # What the agent is asked ("annotate_task", ...) and its priority class
    # ("batch" or "interactive").
    type: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16), default="batch")
    # The parameters the agent receives (``ar_params``), task and mapping included.
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    # The agent's answer to an interactive call, until the call has read it.
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    cleanup: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
