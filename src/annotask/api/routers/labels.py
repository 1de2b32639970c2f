"""`/api/labels`."""

from __future__ import annotations

from annotask.api.routing import CvatRouter

router = CvatRouter(prefix="/api/labels", tags=["labels"])
