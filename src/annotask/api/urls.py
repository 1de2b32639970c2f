"""Absolute URLs for everything a client follows (spec 0.1)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request


def base_url(request: Request) -> str:
    configured = request.app.state.services.settings.public_base_url
    if configured:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


def absolute(request: Request, path: str, **query: object) -> str:
    url = base_url(request) + path
    params = {k: v for k, v in query.items() if v is not None}
    return f"{url}?{urlencode(params)}" if params else url
