"""``/api/requests`` on a live server, driven by the ``diagnostics:sleep`` job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import make_user, start_server
from tests.support.cvat import sdk_client
from tests.support.server import ADMIN, LiveServer

STATUSES = {"queued", "started", "finished", "failed"}


@pytest.fixture(scope="module")
def diag_server(tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_server(
        tmp_path_factory.mktemp("requests-api"), "sqlite", diagnostics_enabled="true"
    )


@contextmanager
def logged_in(server: LiveServer, auth=ADMIN) -> Iterator[httpx.Client]:
    client = server.client(auth)  # already open (it logged in): close it, no ``with``
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def admin(diag_server) -> Iterator[httpx.Client]:
    with logged_in(diag_server) as client:
        yield client


def sleep_job(client: httpx.Client, **params) -> str:
    response = client.post("/api/requests/diagnostics/sleep", json=params)
    assert response.status_code == 202, response.text
    return response.json()["rq_id"]


def check_request(body: dict) -> None:
    """Spec 4.5 / K10: the fields the clients need, with the right types."""
    assert body["status"] in STATUSES
    assert isinstance(body["message"], str)
    assert body["progress"] is None or 0.0 <= body["progress"] <= 1.0
    assert isinstance(body["owner"], dict) and isinstance(body["owner"]["username"], str)
    assert body["operation"]["type"] and body["operation"]["target"]
    assert body["created_date"].endswith("Z") and "T" in body["created_date"]
    assert "result_url" in body and "result_id" in body


def poll(client: httpx.Client, rq_id: str, until, timeout: float = 20.0) -> tuple[dict, list]:
    """Poll every 50 ms until ``until(body)``; returns the last body and all bodies."""
    seen: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/api/requests/{quote(rq_id, safe='')}")
        assert response.status_code == 200, response.text
        body = response.json()
        check_request(body)
        seen.append(body)
        if until(body):
            return body, seen
        time.sleep(0.05)
    raise AssertionError(f"request {rq_id} stuck: {seen[-1] if seen else None}")


def done(body: dict) -> bool:
    return body["status"] in ("finished", "failed")


def test_a_job_reports_increasing_progress_until_finished(diag_server, admin):
    rq_id = sleep_job(admin, seconds=2.0, steps=8)
    assert quote(rq_id, safe="") == rq_id  # K7: nothing in it needs encoding
    final, seen = poll(admin, rq_id, done)

    values = [b["progress"] for b in seen]
    assert values == sorted(values), values  # never goes back
    started = sorted({b["progress"] for b in seen if b["status"] == "started"})
    assert len([v for v in started if 0 < v < 1]) >= 3, started
    assert any(b["message"].startswith("Step ") for b in seen)
    assert final["status"] == "finished", final
    assert final["progress"] == 1.0 and final["message"] == ""
    assert final["result_id"] == 8 and final["result_url"] is None  # no file to download
    assert final["operation"] == {
        "type": "diagnostics:sleep",
        "target": "server",
        "project_id": None,
        "task_id": None,
        "job_id": None,
        "format": None,
        "function_id": None,
        "lightweight": None,
    }
    assert final["owner"]["username"] == "admin"
    assert final["started_date"] and final["finished_date"] > final["started_date"]
    assert final["expiry_date"] > final["finished_date"]

    # The SDK's own strict models accept what we send (K1), list and detail alike.
    with sdk_client(diag_server) as client:
        model, _ = client.api_client.requests_api.retrieve(rq_id)
        assert model.status.value == "finished" and model.id == rq_id
        page, _ = client.api_client.requests_api.list(page_size=100)
        assert rq_id in [r.id for r in page.results]


def test_ids_round_trip_percent_encoding_and_unknown_ids_are_404(admin):
    rq_id = sleep_job(admin, seconds=0)
    for path in (f"/api/requests/{quote(rq_id, safe='')}", f"/api/requests/{rq_id}/"):
        response = admin.get(path)
        assert response.status_code == 200 and response.json()["id"] == rq_id
    for unknown in ("no-such-id", quote("action=export&target=task&id=1/x", safe="")):
        response = admin.get(f"/api/requests/{unknown}")
        assert response.status_code == 404 and response.json() == {
            "detail": "There is no request with specified id"
        }


def test_cancel_queued_and_started_requests(admin):
    # The embedded worker runs two jobs at once: the third waits in the queue.
    running = [sleep_job(admin, seconds=6, steps=60) for _ in range(2)]
    waiting = sleep_job(admin, seconds=1)
    for rq_id in running:
        poll(admin, rq_id, lambda b: b["status"] == "started")
    assert admin.get(f"/api/requests/{waiting}").json()["status"] == "queued"

    response = admin.post(f"/api/requests/{waiting}/cancel")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "failed"
    assert response.json()["message"] == "Canceled by the user"

    began = time.monotonic()
    for rq_id in running:
        assert admin.post(f"/api/requests/{rq_id}/cancel").status_code == 200
    for rq_id in running:
        final, _ = poll(admin, rq_id, done, timeout=5)
        assert (final["status"], final["message"]) == ("failed", "Canceled by the user")
        assert final["progress"] < 1.0
    assert time.monotonic() - began < 4  # stopped at the next report, not after 6 s

    time.sleep(1.0)  # the slots are free again: a cancelled request never runs
    never_ran = admin.get(f"/api/requests/{waiting}").json()
    assert never_ran["status"] == "failed" and never_ran["started_date"] is None

    finished = sleep_job(admin, seconds=0)
    poll(admin, finished, done)
    response = admin.post(f"/api/requests/{finished}/cancel")
    assert response.status_code == 400 and "already finished" in response.json()["detail"]


def test_other_users_cannot_see_or_cancel_my_requests(diag_server, admin):
    rq_id = sleep_job(admin, seconds=0)
    name, password = make_user(diag_server)
    with logged_in(diag_server, (name, password)) as other:
        assert other.get(f"/api/requests/{rq_id}").status_code == 404
        assert other.post(f"/api/requests/{rq_id}/cancel").status_code == 404
        assert other.get("/api/requests").json()["count"] == 0
        # Diagnostics jobs are for admins.
        assert other.post("/api/requests/diagnostics/sleep", json={}).status_code == 403
    with httpx.Client(base_url=diag_server.url) as anonymous:
        assert anonymous.get(f"/api/requests/{rq_id}").status_code == 401


def test_failures_carry_a_readable_message(admin):
    failing = sleep_job(admin, seconds=0, outcome="fail", message="No media files were found")
    crashing = sleep_job(admin, seconds=0, outcome="crash")
    final, _ = poll(admin, failing, done)
    assert (final["status"], final["message"]) == ("failed", "No media files were found")
    final, _ = poll(admin, crashing, done)
    assert final["status"] == "failed"
    assert final["message"] == "Internal error while processing the request"
    assert final["result_id"] is None and final["result_url"] is None


def test_list_filters_sort_and_pages(admin):
    first = sleep_job(admin, seconds=0)
    second = sleep_job(admin, seconds=0, outcome="fail")
    poll(admin, first, done)
    poll(admin, second, done)

    def ids(**params) -> list[str]:
        response = admin.get("/api/requests", params={"page_size": 1000, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["results"]) and body["next"] is None
        for item in body["results"]:
            check_request(item)
        return [item["id"] for item in body["results"]]

    everything = ids()
    assert everything.index(second) < everything.index(first)  # newest first
    oldest_first = ids(sort="created_date")
    assert oldest_first.index(first) < oldest_first.index(second)
    assert first in ids(status="finished") and second not in ids(status="finished")
    assert second in ids(status="failed") and first not in ids(status="failed")
    for match in ({"action": "diagnostics"}, {"subresource": "sleep"}, {"target": "server"}):
        assert {first, second} <= set(ids(**match)), match
    for miss in ({"action": "export"}, {"target": "task"}, {"task_id": 1}, {"format": "x"}):
        assert ids(**miss) == [], miss
    assert set(ids(operation="diagnostics:sleep")) == set(everything)

    page = admin.get("/api/requests", params={"page_size": 1}).json()
    assert page["count"] == len(everything) and len(page["results"]) == 1
    assert page["next"] and page["next"].startswith("http")
    for bad in ({"status": "Finished"}, {"task_id": "seven"}):
        response = admin.get("/api/requests", params=bad)
        assert response.status_code == 400, bad


def test_diagnostics_is_404_unless_enabled(sqlite_server):
    with logged_in(sqlite_server) as admin:
        response = admin.post("/api/requests/diagnostics/sleep", json={"seconds": 0})
        assert response.status_code == 404
