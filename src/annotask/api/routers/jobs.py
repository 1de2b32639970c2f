"""`/api/jobs`."""

from __future__ import annotations

from annotask.api.routing import CvatRouter

router = CvatRouter(prefix="/api/jobs", tags=["jobs"])
