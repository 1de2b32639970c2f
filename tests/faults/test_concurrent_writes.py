"""Many annotators saving at once: no thread-pool deadlock, no task-row queue.

A web process has a fixed number of worker threads (anyio's limiter, 40 by
default). Once the transaction of a save outlived its thread (the commit ran
in the dependency's exit, after the response had waited for another thread
slot), more than 40 concurrent writes deadlocked: every slot was held by a
request waiting for the database lock that a finished request, waiting for a
slot, still held. SQLite answered "database is locked" after 30 s, PostgreSQL
froze. These tests save 100 jobs of one task at once against one real server
and watch ``/api/server/health`` meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from annotask.db.models import Job
from annotask.domain.annotations import service
from annotask.services import Services
from annotask.settings import Settings
from tests.annotations_api.helpers import box, make_task
from tests.conftest import start_server
from tests.support.server import LiveServer

JOBS = 100
# The deadlock this guards against held every health check until SQLite's 30 s lock
# timeout (PostgreSQL: forever). Health must keep answering, far below that; the
# issue's one-second figure is a speed target, measured by bench/concurrent_saves.py
# (on a busy 2-core CI machine a single answer once took 1.1 s with nothing stuck).
STUCK_SECONDS = 10.0


@pytest.fixture(params=["sqlite", "postgres"])
def live(request, tmp_path) -> Iterator[LiveServer]:
    yield from start_server(tmp_path, request.param, ready_timeout=60)


def _task_with_jobs(client: httpx.Client) -> tuple[int, int, list[int]]:
    task = make_task(client, JOBS, name="many-jobs", labels=[{"name": "car"}], segment_size=1)
    jobs = client.get("/api/jobs", params={"task_id": task["id"], "page_size": 1000}).json()
    job_ids = sorted(job["id"] for job in jobs["results"])
    assert len(job_ids) == JOBS
    return task["id"], task["labels_list"][0]["id"], job_ids


class HealthWatch:
    """Polls ``/api/server/health`` from a thread of its own (so the test's event loop,
    busy with a hundred saves, does not delay reading the answers) and records each
    answer's status and latency."""

    def __init__(self, url: str) -> None:
        self._client = httpx.Client(base_url=url, timeout=10)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.latencies: list[float] = []
        self.statuses: list[int] = []

    def __enter__(self) -> HealthWatch:
        self._client.get("/api/server/health")  # the connection is open before the burst
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=15)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.statuses.append(self._client.get("/api/server/health").status_code)
            except httpx.HTTPError:
                self.statuses.append(0)
            self.latencies.append(time.monotonic() - started)
            self._stop.wait(0.05)


async def _save_all(live: LiveServer, client: httpx.Client, label: int, job_ids: list[int]):
    """Every job saved at once (PUT for even, PATCH create for odd jobs); returns the
    status of each (or the exception)."""
    headers = {"X-CSRFToken": client.headers["X-CSRFToken"]}
    limits = httpx.Limits(max_connections=JOBS + 10, max_keepalive_connections=JOBS + 10)

    async def save(writer: httpx.AsyncClient, index: int, job_id: int) -> int:
        url = f"/api/jobs/{job_id}/annotations/"
        shapes = [box(label, index, [1, 2, 10 + index, 20])]
        if index % 2:
            response = await writer.patch(url, params={"action": "create"}, json={"shapes": shapes})
        else:
            response = await writer.put(url, json={"shapes": shapes})
        return response.status_code

    async with httpx.AsyncClient(
        base_url=live.url, cookies=client.cookies, headers=headers, limits=limits, timeout=50
    ) as writer:
        return await asyncio.wait_for(
            asyncio.gather(
                *(save(writer, i, job_id) for i, job_id in enumerate(job_ids)),
                return_exceptions=True,
            ),
            timeout=55,
        )


def test_hundred_concurrent_saves_succeed_and_health_answers(live: LiveServer) -> None:
    client = live.client()
    try:
        task_id, label, job_ids = _task_with_jobs(client)
        before = client.get(f"/api/tasks/{task_id}").json()["updated_date"]
        with HealthWatch(live.url) as health:
            statuses = asyncio.run(_save_all(live, client, label, job_ids))
        latencies = health.latencies

        failures = [(job, s) for job, s in zip(job_ids, statuses, strict=True) if s != 200]
        assert not failures, f"{len(failures)} saves failed: {failures[:5]}\n{live.log()[-3000:]}"
        assert latencies and all(status == 200 for status in health.statuses), health.statuses
        assert max(latencies) < STUCK_SECONDS, sorted(latencies)[-5:]
        # Every save is stored, and the task's date moved on (the SDK's cache key).
        for index, job_id in enumerate(job_ids):
            shapes = client.get(f"/api/jobs/{job_id}/annotations/").json()["shapes"]
            assert [s["frame"] for s in shapes] == [index]
        assert client.get(f"/api/tasks/{task_id}").json()["updated_date"] > before
    finally:
        client.close()


@pytest.fixture
def pg_live(tmp_path) -> Iterator[LiveServer]:
    yield from start_server(tmp_path, "postgres", ready_timeout=60)


def test_a_save_does_not_wait_for_an_open_save_of_another_job(pg_live, tmp_path) -> None:
    """Annotators of one task do not queue on the task's row: while one save of job A
    is in the middle of its transaction, a save of job B goes through (its task's
    ``updated_date`` moves after the commit, in a transaction of its own)."""
    client = pg_live.client()
    services = Services(
        Settings(data_dir=tmp_path / "other", database_url=pg_live.env["ANNOTASK_DATABASE_URL"])
    )
    try:
        task = make_task(client, 2, name="two-jobs", labels=[{"name": "car"}], segment_size=1)
        label = task["labels_list"][0]["id"]
        first, second = sorted(job["id"] for job in task["jobs_list"])
        before = client.get(f"/api/tasks/{task['id']}").json()["updated_date"]
        with services.sessions() as db:
            service.write_job(
                db, db.get(Job, first), {"shapes": [box(label, 0, [1, 2, 3, 4])]}, None
            )
            db.flush()  # job A's save holds its locks, not yet committed
            saved = client.put(
                f"/api/jobs/{second}/annotations/",
                json={"shapes": [box(label, 1, [1, 2, 3, 4])]},
                timeout=15,
            )
            db.rollback()
        assert saved.status_code == 200, saved.text
        assert client.get(f"/api/tasks/{task['id']}").json()["updated_date"] > before
    finally:
        services.close()
        client.close()
