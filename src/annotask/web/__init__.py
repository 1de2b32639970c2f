"""The web UI: server-rendered pages and static ES modules (to be completed)."""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Add the page routes and the static files to ``app``."""
