"""``/api/server/*``: version, health, plugins (the anonymous endpoints)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from annotask import CVAT_API_VERSION
from annotask.api.deps import CurrentCaller, ServicesDep
from annotask.api.routing import CvatRouter, own_lane
from annotask.api.schemas.server import About, FileInfo, Health, Plugins
from annotask.api.urls import absolute
from annotask.domain.dataset_repo.service import enabled as dataset_repo_enabled
from annotask.domain.health import check as check_health
from annotask.domain.share import list_share

router = CvatRouter(prefix="/api/server", tags=["server"])


@router.get("/about")
def about(request: Request) -> About:
    """Anonymous: the SDK checks the version before it logs in (spec 0.9)."""
    return About(
        name="annotask",
        description="Self-hosted data-annotation server with CVAT's REST API",
        version=CVAT_API_VERSION,
        logo_url=absolute(request, "/static/logo.svg"),
        subtitle=f"CVAT API {CVAT_API_VERSION.rsplit('.', 1)[0]} compatible",
    )


@router.get("/health", response_model=Health, responses={503: {"model": Health}})
@own_lane(4)  # answers while every shared thread waits for a lock
def health(services: ServicesDep) -> JSONResponse:
    """200 when every component works; 503 naming the failing ones otherwise
    (``{"status": "failing", "failing": ["queue"], "queue": "<reason>", ...}``)."""
    report = check_health(services)
    return JSONResponse(report.body(), status_code=200 if report.healthy else 503)


@router.get("/plugins")
def plugins(services: ServicesDep) -> Plugins:
    """``GIT_INTEGRATION`` (CVAT's key, also as ``git_integration``): dataset
    repositories are enabled and the server has a ``git`` binary."""
    git = dataset_repo_enabled(services.settings)
    return Plugins(analytics=False, models=False, git_integration=git, GIT_INTEGRATION=git)


@router.get("/share")
def share(
    caller: CurrentCaller,
    services: ServicesDep,
    directory: Annotated[str, Query(description="The folder to list.")] = "/",
    search: Annotated[str, Query(description="A name prefix.")] = "",
) -> list[FileInfo]:
    """One level of the connected share: ``[{"name", "type": "REG"|"DIR", "mime_type"}]``."""
    entries = list_share(services.settings, directory, search)
    return [FileInfo(name=e.name, type=e.type, mime_type=e.mime_type) for e in entries]
