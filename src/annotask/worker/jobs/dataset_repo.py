"""``create:dataset_repo`` and ``push:dataset_repo``: clone a task's dataset repository,
push its annotations (spec section 8). The work is in ``domain.dataset_repo``."""

from __future__ import annotations

from annotask.domain.dataset_repo import jobs, service
from annotask.domain.requests import Progress, RequestSnapshot
from annotask.services import Services
from annotask.worker.registry import register


@register(service.CREATE_OPERATION)
def clone_repository(services: Services, request: RequestSnapshot, progress: Progress) -> None:
    """A failure keeps the repository attached with the reason; the task stays."""
    jobs.run_clone(services, request, progress)


@register(service.PUSH_OPERATION)
def push_repository(services: Services, request: RequestSnapshot, progress: Progress) -> None:
    jobs.run_push(services, request, progress)
