"""Health tells the truth: each component checked and named, workers seen or not,
a request refused at once when the queue is down, and no request left "started"
by workers that are all gone.

The scale-out cases run on PostgreSQL with a Redis of their own (a
``redis-server`` subprocess on a free port, stopped by the test: never the
machine's shared Redis) and a separate ``annotask worker`` process.
"""

from __future__ import annotations

import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.conftest import start_server
from tests.faults.support import OwnRedis, health, wait_for
from tests.support.server import LiveServer
from tests.support.services import postgres_available

COMPONENTS = ("database", "queue", "cache", "storage", "workers")


@pytest.fixture
def scale_out(tmp_path) -> Iterator[tuple[LiveServer, OwnRedis]]:
    """PostgreSQL + a private Redis + one separate worker process."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        servers = start_server(
            tmp_path,
            "postgres",
            queue_url=redis.url,
            cache_url=redis.url,
            redis_namespace=f"test-{uuid.uuid4().hex}",
            embedded_worker="false",
            diagnostics_enabled="true",
        )
        server = next(servers)
        server.start_worker()
        try:
            yield server, redis
        finally:
            if redis.process is None or redis.process.poll() is not None:
                redis.start()  # the clean-up forgets the test's Redis keys
            servers.close()
    finally:
        redis.stop()


def test_health_checks_every_component(tmp_path):
    """The embedded default: every component ok once its worker has been seen."""
    servers = start_server(tmp_path, "sqlite")
    server = next(servers)
    try:
        response = wait_for(
            lambda: (r := health(server)).status_code == 200 and r, 60, "a healthy server"
        )
        body = response.json()
        assert body["status"] == "ok" and body["failing"] == []
        assert all(body[name] == "ok" for name in COMPONENTS), body
        assert body["workers_seen"] >= 1 and body["free_bytes"] > 0
    finally:
        servers.close()


def test_workers_gone_is_reported_and_started_requests_do_not_stay_started(scale_out):
    server, _redis = scale_out
    worker = server.workers[0]
    wait_for(lambda: health(server).status_code == 200, 60, "the worker to be seen")
    with closing(server.client()) as admin:
        response = admin.post("/api/requests/diagnostics/sleep", json={"seconds": 120})
        assert response.status_code == 202, response.text
        rq_id = response.json()["rq_id"]
        wait_for(
            lambda: admin.get(f"/api/requests/{rq_id}").json()["status"] == "started",
            60,
            "the worker to start the request",
        )
        worker.send_signal(signal.SIGKILL)  # no clean stop: its lease just ends
        worker.wait(timeout=10)

        # Lease 5 s (tests' settings): within a few leases health names the workers ...
        response = wait_for(
            lambda: (r := health(server)).status_code == 503 and r, 30, "workers reported gone"
        )
        body = response.json()
        assert body["failing"] == ["workers"], body
        assert "no worker" in body["workers"]
        assert all(body[name] == "ok" for name in ("database", "queue", "cache", "storage"))

        # ... and the request the dead worker held is repaired by the web side itself.
        body = wait_for(
            lambda: (b := admin.get(f"/api/requests/{rq_id}").json())["status"] != "started" and b,
            30,
            "the dead worker's request to leave 'started'",
        )
        assert body["status"] in ("queued", "failed"), body
        assert "stopped unexpectedly" in body["message"]


def test_queue_down_refuses_requests_at_once(scale_out):
    server, redis = scale_out
    wait_for(lambda: health(server).status_code == 200, 60, "the worker to be seen")
    with closing(server.client()) as admin:
        redis.stop()
        response = health(server)
        assert response.status_code == 503
        body = response.json()
        assert {"queue", "cache"} <= set(body["failing"]), body
        assert body["database"] == "ok" and body["storage"] == "ok"
        assert "refused" in body["queue"].lower() or "connect" in body["queue"].lower()

        started = time.monotonic()
        response = admin.post("/api/requests/diagnostics/sleep", json={"seconds": 0})
        assert time.monotonic() - started < 20
        assert response.status_code == 503, response.text
        assert "queue is unavailable" in response.json()["detail"]
        # Nothing was left behind "queued".
        listed = admin.get("/api/requests").json()["results"]
        assert [r for r in listed if r["status"] == "queued"] == []


def test_a_send_failing_after_commit_fails_the_request(tmp_path):
    """The queue goes down between the check and the send after commit: the request
    is failed at once with the reason, not left queued for the reaper's next pass."""
    from annotask.db.migrate import upgrade
    from annotask.db.models import BackgroundRequest
    from annotask.domain import requests as rq
    from annotask.domain.users import create_user
    from annotask.services import Services
    from annotask.settings import Settings

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        settings = Settings(data_dir=tmp_path / "data", queue_url=redis.url)
        settings.ensure_dirs()
        upgrade(settings.resolved_database_url)
        services = Services(settings)
        with services.sessions() as db, db.begin():
            owner = create_user(db, "owner", "pw")
            request = rq.create_request(
                db, services, operation="diagnostics:sleep", target="server", owner_id=owner.id
            )
            request_id = request.id
            redis.stop()  # after create_request's check, before the commit's send
        with services.read_sessions() as db:
            row = db.get(BackgroundRequest, request_id)
            assert row.status == "failed", (row.status, row.message)
            assert "queue is unavailable" in row.message
        services.close()
    finally:
        redis.stop()
