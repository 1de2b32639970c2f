"""The sweep of staged creation attempts never removes a live attempt's directory.

The sweep reads the requests, then lists the task's attempt directories; a
worker may claim the request in between and create the next attempt's
directory. That directory (numbered above what the sweep read) must stay, as
must the directory of the attempt a started request is running.
"""

from __future__ import annotations

from sqlalchemy import update

from annotask.db.models import BackgroundRequest
from annotask.domain import requests as rq
from annotask.domain.task_data import attempts
from annotask.domain.task_data.layout import task_layout
from annotask.domain.tasks import create_task
from tests.domain.test_requests_domain import add_user, services  # noqa: F401 - fixture


def _creation(services, attempts_done: int, status: str) -> tuple[int, str]:  # noqa: F811
    owner = add_user(services)
    with services.sessions() as s, s.begin():
        task = create_task(s, owner, {"name": "t", "labels": [{"name": "car"}]})
        request = rq.create_request(
            s,
            services,
            operation="create:task",
            target="task",
            owner_id=owner.id,
            task_id=task.id,
        )
        s.execute(
            update(BackgroundRequest)
            .where(BackgroundRequest.id == request.id)
            .values(attempts=attempts_done, status=status)
        )
        return task.id, request.id


def _staged(services, task_id: int, request_id: str, numbers: range) -> dict[int, object]:  # noqa: F811
    layout = task_layout(services.settings, task_id)
    dirs = {n: layout.attempts / f"{request_id}-{n}" for n in numbers}
    for path in dirs.values():
        path.mkdir(parents=True)
        (path / "manifest.jsonl").write_text("{}\n")
    return dirs


def test_a_queued_request_keeps_the_directory_of_the_attempt_about_to_run(services):  # noqa: F811
    task_id, request_id = _creation(services, attempts_done=1, status="queued")
    dirs = _staged(services, task_id, request_id, range(1, 3))
    assert attempts.sweep(services) == 1
    assert not dirs[1].exists()  # attempt 1 lost its lease: it can no longer commit
    assert dirs[2].exists()  # attempt 2 was claimed after the sweep read the row


def test_a_started_request_keeps_its_running_attempt(services):  # noqa: F811
    task_id, request_id = _creation(services, attempts_done=2, status="started")
    dirs = _staged(services, task_id, request_id, range(1, 4))
    attempts.sweep(services)
    assert not dirs[1].exists()
    assert dirs[2].exists() and dirs[3].exists()
