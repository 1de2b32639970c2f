"""A router that answers a path with and without its trailing slash.

The CVAT clients use both forms (spec 0.1) and must never get a redirect, so
every route is registered twice; only the canonical form is in the schema.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter


class CvatRouter(APIRouter):
    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().add_api_route(path, endpoint, **kwargs)
        twin = path[:-1] if path.endswith("/") else path + "/"
        if twin and not path.endswith(":path}"):
            kwargs = dict(kwargs, include_in_schema=False)
            kwargs.pop("operation_id", None)
            super().add_api_route(twin, endpoint, **kwargs)
