"""The dataset repository (git) attached to a task: where its annotations are pushed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from annotask.db.base import SQLITE_AUTOINCREMENT, Base, UTCDateTime, utcnow


class DatasetRepository(Base):
    """CVAT's ``GitData``: one repository per task (spec section 8).

    ``status`` is the last status known (``!sync``, ``syncing``, ``sync`` or
    ``merged``); what the API reports is computed again from the task's
    ``updated_date`` against ``sync_date`` and from the remote (see
    ``annotask.domain.dataset_repo.status``). ``last_error`` keeps why the last
    clone or push failed, so the task page can show it and offer a retry.
    """

    __tablename__ = "dataset_repositories"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    path: Mapped[str] = mapped_column(String(256))
    format: Mapped[str] = mapped_column(String(128))
    lfs: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="!sync")
    sync_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
