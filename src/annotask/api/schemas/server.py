"""Read models of the server endpoints (``/api/server/*``) and the small answers
shared by many routes (``{"rq_id"}``, the legacy ``RqStatus``, login's token)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from annotask.api.schemas.common import ReadModel


class About(ReadModel):
    name: str
    description: str
    version: str
    logo_url: str
    subtitle: str


class Plugins(ReadModel):
    """CVAT's ``analytics`` and ``models``; ``git_integration`` (also as CVAT's
    upper-case key) says dataset repositories work here."""

    analytics: bool
    models: bool
    git_integration: bool
    GIT_INTEGRATION: bool


class FileInfo(ReadModel):
    """One entry of the connected share."""

    name: str
    type: str = Field(description='"REG" (a file) or "DIR" (a folder).')
    mime_type: str


class DatasetFormat(ReadModel):
    name: str
    ext: str
    version: str
    enabled: bool
    dimension: str


class DatasetFormats(ReadModel):
    importers: list[DatasetFormat]
    exporters: list[DatasetFormat]


class Health(ReadModel):
    """``{"status": "ok"|"failing", "failing": [...], "workers_seen", "free_bytes"}``
    and each component's state (``"database": "ok"``, ``"queue": "<reason>"``)."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description='"ok" or "failing".')
    failing: list[str]
    workers_seen: int
    free_bytes: int | None


class Token(ReadModel):
    key: str


class RqStatus(ReadModel):
    """CVAT's deprecated ``GET /api/tasks/{id}/status``."""

    state: str = Field(description='"Queued", "Started", "Finished" or "Failed".')
    message: str
    progress: float
