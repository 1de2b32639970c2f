"""Raw-HTTP helpers shared by the tests: make a task, wait for a background request."""

from __future__ import annotations

import time

import httpx


def new_task(client: httpx.Client, name: str = "task", **fields) -> int:
    body = {"name": name, "labels": [{"name": "a"}], **fields}
    response = client.post("/api/tasks", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def wait_request(client: httpx.Client, rq_id: str, timeout: float = 60) -> dict:
    """Poll ``/api/requests/{rq_id}`` until it is finished or failed; returns it."""
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"request {rq_id} did not end: {body}")
