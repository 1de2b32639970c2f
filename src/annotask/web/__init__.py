"""The web UI: server-rendered page shells and the ES modules that fill them.

Pages talk to the same REST API as the CVAT clients (session cookie plus the
CSRF header); the page routes only decide whether there is a session at all.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from annotask.web.pages import STATIC_DIR, router


def mount_web(app: FastAPI) -> None:
    """Add the page routes and the static files to ``app``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
