"""``create:task``: build a task's data from what was uploaded (the creation pipeline)."""

from __future__ import annotations

from annotask.domain.requests import JobResult, Progress, RequestSnapshot
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.pipeline import create_task_data
from annotask.domain.task_data.start import OPERATION
from annotask.services import Services
from annotask.worker.registry import register


@register(OPERATION)
def create_task(services: Services, request: RequestSnapshot, progress: Progress) -> JobResult:
    """The pipeline finishes the request itself, in the transaction that commits the data."""
    assert request.task_id is not None
    create_task_data(services, request.task_id, DataParams.model_validate(request.params), progress)
    return JobResult(result_id=request.task_id)
