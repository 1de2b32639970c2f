"""``diagnostics:sleep``: a job that only sleeps and reports progress.

It exists so the job machinery (claim, progress, lease renewal, cancellation,
re-run after a killed worker, failure messages) can be tested end to end without
any real media work. It is reachable only through
``POST /api/requests/diagnostics/sleep`` when ``diagnostics_enabled`` is on.

Parameters (``params`` of the request):

- ``seconds`` (float): total sleep time, split into ``steps`` equal steps;
- ``steps`` (int): one progress report after each step (``"Step i of n"``);
- ``report`` (bool, default true): false sleeps without any report, to show
  that the heartbeat keeps the lease alive on its own;
- ``outcome``: ``"finish"`` (default), ``"fail"`` (raises a ``DomainError`` with
  ``message``) or ``"crash"`` (raises an unexpected error, whose text the user
  must never see).
"""

from __future__ import annotations

import time

from annotask.domain.errors import DomainError
from annotask.domain.requests import JobResult, Progress, RequestSnapshot
from annotask.services import Services
from annotask.worker.registry import register

OPERATION = "diagnostics:sleep"
SLICE_SECONDS = 0.05


@register(OPERATION)
def sleep(services: Services, request: RequestSnapshot, progress: Progress) -> JobResult:
    params = request.params
    seconds = float(params.get("seconds", 1.0))
    steps = max(1, int(params.get("steps", 5)))
    reporting = bool(params.get("report", True))
    for step in range(steps):
        _sleep(seconds / steps, progress if reporting else None)
        if reporting:
            progress.report((step + 1) / steps, f"Step {step + 1} of {steps}")
    outcome = params.get("outcome", "finish")
    if outcome == "fail":
        raise DomainError(str(params.get("message") or "The diagnostics job failed as asked"))
    if outcome == "crash":
        raise RuntimeError(f"unexpected crash in {__file__} (internal details)")
    return JobResult(result_id=steps)


def _sleep(seconds: float, progress: Progress | None) -> None:
    """Sleep in short slices, stopping soon after a cancel seen by the heartbeat."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(SLICE_SECONDS, left))
        if progress is not None:
            progress.check()
