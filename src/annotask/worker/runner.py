"""Worker entry point (to be completed)."""

from __future__ import annotations

from annotask.services import Services


def run_worker(services: Services) -> None:
    raise NotImplementedError
