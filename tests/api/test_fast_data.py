"""The lean chunk path (``api/fast_data.py``): what it answers itself, what it
passes on, and that its answer is the normal route's, byte for byte.

The lean path is mounted here in front of a stand-in for the rest of the app that
answers 599, on the same data directory as a live server (which built the task):
a 599 proves the request was passed on, anything else that the lean path answered.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.responses import Response

from annotask.api.fast_data import FastData, parse
from annotask.services import Services
from tests.conftest import make_user, start_server
from tests.media_pipeline.conftest import images
from tests.media_pipeline.helpers import create_ok, job_ids
from tests.support.inprocess import settings_from_env
from tests.support.server import ADMIN

PASSED_ON = 599


def _scope(path: str, query: bytes = b"", method: str = "GET") -> dict:
    return {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}


@pytest.mark.parametrize(
    ("path", "query", "method", "expected"),
    [
        (
            "/api/tasks/3/data/",
            b"type=chunk&number=0",
            "GET",
            ("tasks", 3, "chunk", 0, "compressed"),
        ),
        (
            "/api/tasks/3/data",
            b"number=12&quality=original&type=chunk",
            "GET",
            ("tasks", 3, "chunk", 12, "original"),
        ),  # fmt: skip
        (
            "/api/jobs/7/data",
            b"type=chunk&number=1&quality=compressed",
            "GET",
            ("jobs", 7, "chunk", 1, "compressed"),
        ),  # fmt: skip
        ("/api/tasks/3/data/", b"type=chunk&number=0", "HEAD", None),
        (
            "/api/tasks/3/data/",
            b"type=frame&number=0",
            "GET",
            ("tasks", 3, "frame", 0, "compressed"),
        ),
        ("/api/tasks/3/data/", b"type=preview", "GET", None),
        ("/api/tasks/3/data/", b"type=context_image&number=0", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=-1", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=01", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=0&number=1", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=0&quality=best", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=0&org=x", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=%30", "GET", None),
        ("/api/tasks/3/data/", b"type=chunk&number=0&", "GET", None),
        ("/api/tasks/03/data/", b"type=chunk&number=0", "GET", None),
        ("/api/tasks/3/data/meta", b"type=chunk&number=0", "GET", None),
        ("/api/tasks/3/data/", "type=chunk&number=0&x=\u00e9".encode(), "GET", None),
    ],
)
def test_only_ordinary_chunk_reads_are_taken(path, query, method, expected):
    read = parse(_scope(path, query, method))
    assert (
        read and (read.kind, read.object_id, read.type, read.number, read.quality)
    ) == expected or (read is None and expected is None)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A live server that built an on-the-fly task and a static one (two jobs each)."""
    for server in start_server(tmp_path_factory.mktemp("fast-data"), "sqlite"):
        admin = server.client(ADMIN)
        cached = create_ok(admin, images(4), task={"segment_size": 2}, chunk_size=2, use_cache=True)
        static = create_ok(admin, images(4), task={"segment_size": 2}, chunk_size=2)
        yield server, admin, {"cached": cached, "static": static}
        admin.close()


class _Lean:
    """FastData in front of a stand-in app, on the live server's data directory."""

    def __init__(self, server) -> None:
        self.services = Services(settings_from_env(server.env))

        async def rest(scope, receive, send):
            await Response(status_code=PASSED_ON)(scope, receive, send)

        self.app = FastData(rest, services=self.services)

    def get(self, url: str, headers: dict[str, str], **params) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(self.app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                return await client.get(url, headers=headers, params=params)

        return asyncio.run(go())

    def close(self) -> None:
        self.services.close()


@pytest.fixture
def lean(built):
    made = _Lean(built[0])
    yield made
    made.close()


@pytest.mark.parametrize("storage", ["cached", "static"])
def test_a_ready_chunk_is_the_normal_routes_answer(built, lean, storage):
    server, admin, tasks = built
    task_id = tasks[storage]
    key = httpx.post(
        f"{server.url}/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    ).json()["key"]
    token = {"Authorization": f"Token {key}"}
    url = f"/api/tasks/{task_id}/data/"
    for quality in ("compressed", "original"):
        normal = httpx.get(
            server.url + url,
            headers=token,
            params={"type": "chunk", "number": 1, "quality": quality},
        )
        assert normal.status_code == 200  # (and, on the fly, now in the cache)
        ours = lean.get(url, token, type="chunk", number=1, quality=quality)
        assert ours.status_code == 200
        assert ours.content == normal.content
        for header in ("content-type", "content-length", "cache-control", "x-content-type-options"):
            assert ours.headers.get(header) == normal.headers.get(header), header
    job = job_ids(admin, task_id)[1]["id"]
    for kind, number in (("chunk", 0), ("frame", 3)):
        normal = httpx.get(f"{server.url}/api/jobs/{job}/data", headers=token,
                           params={"type": kind, "number": number})  # fmt: skip
        ours = lean.get(f"/api/jobs/{job}/data", token, type=kind, number=number)
        assert (ours.status_code, ours.content) == (200, normal.content)
        assert ours.headers["content-type"] == normal.headers["content-type"]
    # A job's frame outside its range: the normal route words the refusal.
    assert lean.get(f"/api/jobs/{job}/data", token, type="frame", number=0).status_code == (
        PASSED_ON
    )
    for quality in ("compressed", "original"):
        normal = httpx.get(server.url + url, headers=token,
                           params={"type": "frame", "number": 2, "quality": quality})  # fmt: skip
        ours = lean.get(url, token, type="frame", number=2, quality=quality)
        assert (ours.status_code, ours.content) == (200, normal.content)


def test_everything_unusual_or_refused_is_passed_on(built, lean):
    server, admin, tasks = built
    key = httpx.post(
        f"{server.url}/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}
    ).json()["key"]
    token = {"Authorization": f"Token {key}"}
    url = f"/api/tasks/{tasks['static']}/data/"
    assert lean.get(url, {}, type="chunk", number=0).status_code == PASSED_ON  # anonymous
    assert lean.get(url, {"Authorization": "Token nope"}, type="chunk", number=0).status_code == (
        PASSED_ON
    )
    basic = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    assert lean.get(url, basic, type="chunk", number=0).status_code == PASSED_ON
    assert lean.get(url, token, type="chunk", number=2).status_code == PASSED_ON  # out of range
    assert lean.get(url, token, type="frame", number=4).status_code == PASSED_ON  # out of range
    assert lean.get(url, token, type="preview").status_code == PASSED_ON
    missing = f"/api/tasks/{tasks['static'] + 1000}/data/"
    assert lean.get(missing, token, type="chunk", number=0).status_code == PASSED_ON
    # A user who is not staff of the task: the refusal is the normal route's.
    name, password = make_user(server)
    other = httpx.post(
        f"{server.url}/api/auth/login", json={"username": name, "password": password}
    ).json()["key"]
    headers = {"Authorization": f"Token {other}"}
    assert lean.get(url, headers, type="chunk", number=0).status_code == PASSED_ON
    # A chunk of an on-the-fly task nobody asked for yet is built by the normal route.
    fresh = create_ok(admin, images(3), chunk_size=1, use_cache=True)
    cold = f"/api/tasks/{fresh}/data/"
    assert lean.get(cold, token, type="chunk", number=2).status_code == PASSED_ON
