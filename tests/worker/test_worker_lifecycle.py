"""Workers die, stop and restart; requests are never left ``started`` forever.

Real processes only: ``annotask serve`` with its embedded (supervised) worker
child on SQLite, and separate ``annotask worker`` processes on PostgreSQL with
the Redis queue. Leases are 3 s here so a dead worker is noticed quickly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_server
from tests.support.server import LiveServer

LEASE = "3"


@contextmanager
def admin_client(server: LiveServer) -> Iterator[httpx.Client]:
    client = server.client()
    client.annotask_data_dir = server.data_dir  # type: ignore[attr-defined]
    try:
        yield client
    finally:
        client.close()


def sleep_job(client: httpx.Client, **params) -> str:
    response = client.post("/api/requests/diagnostics/sleep", json=params)
    assert response.status_code == 202, response.text
    return response.json()["rq_id"]


def wait_for(client: httpx.Client, rq_id: str, until, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/requests/{rq_id}").json()
        assert 0.0 <= body["progress"] <= 1.0 and isinstance(body["message"], str)
        if until(body):
            return body
        time.sleep(0.1)
    logs = sorted(Path(client.annotask_data_dir).glob("*.log"))  # type: ignore[attr-defined]
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-1500:]}" for log in logs)
    raise AssertionError(f"request {rq_id} never got there: {body}\n{tails}")


def running(body: dict) -> bool:
    return body["status"] == "started" and body["progress"] > 0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def wait_for_worker_child(server: LiveServer, not_pid: int | None = None) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = [p for p in children(server.process.pid) if p != not_pid]
        if pids:
            return pids[0]
        time.sleep(0.1)
    raise AssertionError(f"no embedded worker child:\n{server.log()[-2000:]}")


# ---- embedded: serve supervises its worker child ----------------------------------


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_server(
        tmp_path_factory.mktemp("embedded"),
        "sqlite",
        diagnostics_enabled="true",
        job_lease_seconds=LEASE,
        job_max_attempts="2",
    )


def test_a_silent_job_keeps_its_lease(embedded):
    """No report for longer than the lease: the heartbeat alone keeps it running."""
    with admin_client(embedded) as client:
        rq_id = sleep_job(client, seconds=4, steps=1, report=False)
        started = wait_for(client, rq_id, lambda b: b["status"] == "started")
        final = wait_for(client, rq_id, lambda b: b["status"] in ("finished", "failed"))
    assert final["status"] == "finished", final
    assert final["started_date"] == started["started_date"]  # never re-run


def test_killed_embedded_worker_is_restarted_and_the_job_rerun_then_failed(embedded):
    with admin_client(embedded) as client:
        rq_id = sleep_job(client, seconds=30, steps=300)
        first = wait_for(client, rq_id, running)
        worker = wait_for_worker_child(embedded)
        os.kill(worker, signal.SIGKILL)

        # serve starts a new worker; its reaper re-runs the request after the lease.
        replacement = wait_for_worker_child(embedded, not_pid=worker)
        second = wait_for(
            client, rq_id, lambda b: running(b) and b["started_date"] != first["started_date"]
        )
        os.kill(replacement, signal.SIGKILL)
        wait_for_worker_child(embedded, not_pid=replacement)
        final = wait_for(client, rq_id, lambda b: b["status"] != "started", timeout=15)
        assert final["status"] == "failed", final
        assert final["message"] == (
            "The worker running this request stopped unexpectedly (attempt 2 of 2)"
        )
        assert second["progress"] <= final["progress"] < 1.0

        # The restarted worker takes new work.
        after = sleep_job(client, seconds=0)
        assert wait_for(client, after, lambda b: b["status"] == "finished")


# ---- scale-out: separate worker processes on the Redis queue ----------------------


@pytest.fixture(scope="module")
def scaled(tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_server(
        tmp_path_factory.mktemp("scaled"),
        "redis",
        diagnostics_enabled="true",
        job_lease_seconds=LEASE,
        worker_grace_seconds="1",
        # Concurrent test sessions may share (and flush) a Redis database: a message
        # lost that way is sent again after 2 s instead of 5 min.
        job_requeue_seconds="2",
    )


def test_a_killed_workers_job_is_finished_by_another_worker(scaled):
    with admin_client(scaled) as client:
        rq_id = sleep_job(client, seconds=2, steps=20)
        first = wait_for(client, rq_id, running)
        dead = scaled.workers[-1]
        os.kill(dead.pid, signal.SIGKILL)
        dead.wait(timeout=5)
        scaled.start_worker()
        final = wait_for(client, rq_id, lambda b: b["status"] in ("finished", "failed"))
    assert final["status"] == "finished", final
    assert final["started_date"] != first["started_date"]  # run again, by the new worker
    assert final["progress"] == 1.0


def test_sigterm_requeues_a_long_job_for_the_next_worker(scaled):
    with admin_client(scaled) as client:
        rq_id = sleep_job(client, seconds=3, steps=30)
        first = wait_for(client, rq_id, running)
        stopping = scaled.workers[-1]
        began = time.monotonic()
        stopping.send_signal(signal.SIGTERM)
        assert stopping.wait(timeout=10) == 0
        assert time.monotonic() - began < 5  # 1 s grace, then handed back
        queued = client.get(f"/api/requests/{rq_id}").json()
        assert queued["status"] == "queued" and "was stopped" in queued["message"]
        scaled.start_worker()
        final = wait_for(client, rq_id, lambda b: b["status"] in ("finished", "failed"))
    assert final["status"] == "finished", final
    assert final["started_date"] != first["started_date"]


def test_worker_exits_when_its_supervisor_is_gone(tmp_path):
    """An embedded worker whose server was SIGKILLed does not linger (no database is
    needed for that: its reaper only logs that the tables are missing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANNOTASK_")}
    env.update(ANNOTASK_DATA_DIR=str(tmp_path / "data"), ANNOTASK_SUPERVISOR_PID="1")
    worker = subprocess.Popen([sys.executable, "-m", "annotask", "worker"], env=env)
    try:
        assert worker.wait(timeout=15) == 0  # its parent is not pid 1: it stops by itself
    finally:
        if worker.poll() is None:
            worker.kill()
