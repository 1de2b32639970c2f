"""Annotation endpoints (to be completed): annotations."""

from __future__ import annotations

from annotask.api.routing import CvatRouter

router = CvatRouter(tags=["annotations"])
