"""Revocation on the lean chunk path (``api/fast_data.py``) of a server with two
web processes: a web process remembers a token's user and a user's right to a
task or job for at most a second. A revocation is immediate in the process that
handled it, and at most a second late in the other (docs/security.md).

Each client keeps one keep-alive connection, and the test finds which web
process holds its other end (``/proc``), so it knows which process answers.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_user, start_server
from tests.media_pipeline.conftest import images
from tests.media_pipeline.helpers import create_ok, job_ids
from tests.support.resources import user_id
from tests.support.server import ADMIN, login

TTL = 1.0  # api.fast_data.TTL_SECONDS, the bound every assertion below checks


@pytest.fixture(scope="module")
def two_web(tmp_path_factory):
    yield from start_server(
        tmp_path_factory.mktemp("revocation"), "sqlite", ready_timeout=120, web_workers="2"
    )


@pytest.fixture(scope="module")
def task_and_jobs(two_web):
    admin = two_web.client(ADMIN)
    task_id = create_ok(admin, images(4), task={"segment_size": 2}, chunk_size=2)
    jobs = [job["id"] for job in job_ids(admin, task_id)]
    admin.close()
    return task_id, jobs


def _web_pids(server) -> list[int]:
    pids = []
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                pids.append(int(child))
    return pids


def _server_pid(server, client_port: int) -> int:
    """The web process holding the server end of the connection from ``client_port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if local_port == server.port and remote_port == client_port:
                inodes.add(f"socket:[{fields[9]}]")
    for pid in _web_pids(server):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return pid
            except OSError:
                continue
    raise AssertionError(f"no web process holds the connection from port {client_port}")


class Pinned:
    """An httpx client on one keep-alive connection; ``pid`` is the web process
    that answered its last request."""

    def __init__(self, server, headers: dict[str, str] | None = None, session=None) -> None:
        self.server = server
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{server.port}",
            headers=headers or {},
            timeout=30,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        if session is not None:
            login(self.client, *session)
        self.pid = 0

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        response = self.client.request(method, url, **kwargs)
        stream = response.extensions["network_stream"]
        self.pid = _server_pid(self.server, stream.get_extra_info("client_addr")[1])
        return response

    def close(self) -> None:
        self.client.close()


def _on_each_process(server, make) -> dict[int, Pinned]:
    """One pinned client per web process (new connections until both are covered)."""
    found: dict[int, Pinned] = {}
    for _ in range(60):
        pinned = make()
        pinned.request("GET", "/api/server/about")
        if pinned.pid in found:
            pinned.close()
        else:
            found[pinned.pid] = pinned
        if len(found) == 2:
            return found
    raise AssertionError("the connections never reached both web processes")


def _on_process(server, pid: int, headers: dict[str, str], method: str, url: str, **kw):
    """``method url`` sent on a fresh connection that reached web process ``pid``."""
    for _ in range(60):
        pinned = Pinned(server, headers)
        try:
            pinned.request("GET", "/api/server/about")
            if pinned.pid == pid:
                response = pinned.request(method, url, **kw)
                assert pinned.pid == pid
                return response
        finally:
            pinned.close()
    raise AssertionError(f"no connection reached web process {pid}")


def _admin_key(server) -> dict[str, str]:
    response = httpx.post(
        f"{server.url}/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    )
    assert response.status_code == 200
    return {"Authorization": f"Token {response.json()['key']}"}


def _chunk(pinned: Pinned, task_id: int, job: int | None = None) -> int:
    url = f"/api/jobs/{job}/data" if job is not None else f"/api/tasks/{task_id}/data/"
    return pinned.request("GET", url, params={"type": "chunk", "number": 0}).status_code


def _assignee(server, task_id: int, name: str) -> None:
    admin = server.client(ADMIN)
    response = admin.patch(f"/api/tasks/{task_id}", json={"assignee_id": user_id(admin, name)})
    assert response.status_code == 200, response.text
    admin.close()


def _signed_in_user(server, task_id: int) -> tuple[str, str, str]:
    name, password = make_user(server)
    _assignee(server, task_id, name)
    response = httpx.post(
        f"{server.url}/api/auth/login", json={"username": name, "password": password}
    )
    assert response.status_code == 200
    return name, password, response.json()["key"]


def _other(pins: dict[int, Pinned], pid: int) -> Pinned:
    return next(p for other, p in pins.items() if other != pid)


def _after_ttl(started: float) -> None:
    time.sleep(max(0.0, started + TTL + 0.05 - time.monotonic()))


def test_logout_stops_a_key_at_once_here_and_within_a_second_elsewhere(two_web, task_and_jobs):
    task_id, _ = task_and_jobs
    _name, _password, key = _signed_in_user(two_web, task_id)
    headers = {"Authorization": f"Token {key}"}
    pins = _on_each_process(two_web, lambda: Pinned(two_web, headers))
    for pinned in pins.values():  # both processes now remember the key and the right
        assert _chunk(pinned, task_id) == 200
        assert _chunk(pinned, task_id) == 200
    here = next(iter(pins.values()))
    started = time.monotonic()
    assert here.request("POST", "/api/auth/logout").status_code == 200
    handled_by = here.pid
    assert _chunk(here, task_id) == 401
    assert here.pid == handled_by  # the same process answered: it forgot at once
    _after_ttl(started)
    assert _chunk(_other(pins, handled_by), task_id) == 401
    for pinned in pins.values():
        pinned.close()


def test_deleted_access_token_stops_at_once_here_and_within_a_second_elsewhere(
    two_web, task_and_jobs
):
    task_id, _ = task_and_jobs
    name, password, key = _signed_in_user(two_web, task_id)
    owner = httpx.Client(base_url=two_web.url, headers={"Authorization": f"Token {key}"})
    made = owner.post("/api/auth/access_tokens", json={"name": "reader"})
    assert made.status_code == 201
    token_id, secret = made.json()["id"], made.json()["value"]
    owner.close()
    bearer = {"Authorization": f"Bearer {secret}"}
    pins = _on_each_process(two_web, lambda: Pinned(two_web, bearer))
    for pinned in pins.values():
        assert _chunk(pinned, task_id) == 200
    here = next(iter(pins.values()))
    assert _chunk(here, task_id) == 200  # (again: the connection may have been renewed)
    pid = here.pid
    started = time.monotonic()
    owner = {"Authorization": f"Token {key}"}
    response = _on_process(two_web, pid, owner, "DELETE", f"/api/auth/access_tokens/{token_id}")
    assert response.status_code == 204
    assert _chunk(here, task_id) == 401 and here.pid == pid
    _after_ttl(started)
    assert _chunk(_other(pins, pid), task_id) == 401
    for pinned in pins.values():
        pinned.close()


@pytest.mark.parametrize("command", ["passwd", "deactivate"])
def test_password_change_and_deactivation_stop_reads_within_a_second(
    two_web, task_and_jobs, command
):
    """Done by the CLI (another process): both web processes forget within a second."""
    task_id, _ = task_and_jobs
    name, password, key = _signed_in_user(two_web, task_id)
    pins = _on_each_process(two_web, lambda: Pinned(two_web, {"Authorization": f"Token {key}"}))
    for pinned in pins.values():
        assert _chunk(pinned, task_id) == 200
    started = time.monotonic()
    args = ["users", command, name] + (
        ["--password", "new-" + password] if command == "passwd" else []
    )
    result = two_web.run_cli(*args)
    assert result.returncode == 0, result.stderr
    _after_ttl(started)
    for pinned in pins.values():
        assert _chunk(pinned, task_id) == 401
        pinned.close()


def test_job_reassignment_stops_the_old_assignee_at_once_here_and_within_a_second_elsewhere(
    two_web, task_and_jobs
):
    task_id, jobs = task_and_jobs
    job = jobs[0]
    name, password = make_user(two_web)
    admin = two_web.client(ADMIN)
    assert (
        admin.patch(f"/api/jobs/{job}", json={"assignee": user_id(admin, name)}).status_code == 200
    )
    admin.close()
    key = httpx.post(
        f"{two_web.url}/api/auth/login", json={"username": name, "password": password}
    ).json()["key"]
    pins = _on_each_process(two_web, lambda: Pinned(two_web, {"Authorization": f"Token {key}"}))
    for pinned in pins.values():
        assert _chunk(pinned, task_id, job=job) == 200
        assert _chunk(pinned, task_id) == 404  # a job assignee is not task staff
    admin_headers = _admin_key(two_web)
    here = next(iter(pins.values()))
    assert _chunk(here, task_id, job=job) == 200  # (again: the connection may be renewed)
    pid = here.pid
    started = time.monotonic()
    response = _on_process(
        two_web, pid, admin_headers, "PATCH", f"/api/jobs/{job}", json={"assignee": None}
    )
    assert response.status_code == 200
    assert _chunk(here, task_id, job=job) == 404 and here.pid == pid
    _after_ttl(started)
    assert _chunk(_other(pins, pid), task_id, job=job) == 404
    for pinned in pins.values():
        pinned.close()
