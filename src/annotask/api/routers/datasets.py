"""Annotation endpoints (to be completed): datasets."""

from __future__ import annotations

from annotask.api.routing import CvatRouter

router = CvatRouter(tags=["datasets"])
