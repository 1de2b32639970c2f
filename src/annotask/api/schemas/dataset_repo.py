"""The answers of CVAT's dataset repository endpoints (``/api/git/repository/*``),
as the schema shows them; the routes answer ``domain.dataset_repo.service``'s dicts."""

from __future__ import annotations

from datetime import datetime

from annotask.api.schemas.common import ReadModel


class RepositoryUrl(ReadModel):
    value: str | None


class RepositoryStatus(ReadModel):
    """``value``: CVAT's ``sync``, ``!sync``, ``merged``...; ``error``: why it is unknown."""

    value: str | None
    error: str | None


class RepositoryRead(ReadModel):
    """A task's repository; the last three fields only once one is attached."""

    url: RepositoryUrl
    status: RepositoryStatus
    format: str | None
    lfs: bool | None
    sync_date: datetime | None = None
    last_error: str | None = None
    rq_id: str | None = None


class RepositoryCheck(ReadModel):
    status: str
    stderr: str | None = None
