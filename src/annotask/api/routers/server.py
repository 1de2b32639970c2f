"""``/api/server/*``: version, health, plugins (the anonymous endpoints)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import text

from annotask import CVAT_API_VERSION
from annotask.api.deps import Db
from annotask.api.routing import CvatRouter
from annotask.api.urls import absolute

router = CvatRouter(prefix="/api/server", tags=["server"])


@router.get("/about")
def about(request: Request) -> dict:
    """Anonymous: the SDK checks the version before it logs in (spec 0.9)."""
    return {
        "name": "annotask",
        "description": "Self-hosted data-annotation server with CVAT's REST API",
        "version": CVAT_API_VERSION,
        "logo_url": absolute(request, "/static/logo.svg"),
        "subtitle": f"CVAT API {CVAT_API_VERSION.rsplit('.', 1)[0]} compatible",
    }


@router.get("/health")
def health(db: Db) -> dict:
    db.execute(text("SELECT 1"))
    return {"status": "ok", "database": "ok"}


@router.get("/plugins")
def plugins() -> dict:
    return {"analytics": False, "models": False, "git_integration": False}
