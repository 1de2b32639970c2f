"""Every error keeps its keep-alive connection usable, or says ``Connection: close``;
a static chunk whose files were lost is a 5xx with the reason, logged at ERROR.

Raw sockets against a real ``annotask serve``: the point is what happens to the
connection after the answer, which HTTP client libraries hide.
"""

from __future__ import annotations

import base64
import shutil
import socket
from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.conftest import start_server
from tests.support.media import image_bytes
from tests.support.rest import new_task, wait_request
from tests.support.server import LiveServer

BASIC = base64.b64encode(b"admin:admin").decode()
NEXT = b"GET /api/server/about HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture(scope="module")
def small_body_server(tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_server(
        tmp_path_factory.mktemp("conn"), "sqlite", max_request_body_bytes="100000"
    )


def _read_response(sock: socket.socket) -> tuple[bytes, bytes] | None:
    """One response (status line + headers, body), or None if the server closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body[:length]


def _then_next(server: LiveServer, first: bytes) -> tuple[bytes, bool, bytes | None]:
    """Send ``first``, read its answer, then send a second request on the same
    connection. Returns (first status line, whether it said Connection: close,
    the second's status line or None when there was no answer)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(first)
        answer = _read_response(sock)
        assert answer is not None, "no answer to the first request"
        head, _ = answer
        says_close = b"\r\nconnection: close" in head.lower()
        second: bytes | None = None
        try:
            sock.settimeout(5)
            sock.sendall(NEXT)
            reply = _read_response(sock)
            second = reply[0].split(b"\r\n")[0] if reply else None
        except OSError:  # reset or timed out
            second = None
        return head.split(b"\r\n")[0], says_close, second


def _usable_or_closed(server: LiveServer, first: bytes, status: bytes) -> None:
    line, says_close, second = _then_next(server, first)
    assert status in line, line
    assert says_close or (second is not None and b" 200 " in second), (line, says_close, second)


def test_unauthenticated_post_with_an_unsent_body(small_body_server):
    """401 comes before the body is read; the client has sent only part of it."""
    request = (
        b"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 5000\r\n\r\n" + b"x" * 1000
    )
    _usable_or_closed(small_body_server, request, b" 401 ")


def test_body_over_the_limit(small_body_server):
    request = (
        f"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {BASIC}\r\n"
        "Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
    ).encode() + b"x" * 1000
    _usable_or_closed(small_body_server, request, b" 413 ")


def test_upload_to_a_missing_task_with_a_partial_body(small_body_server):
    request = (
        (
            f"POST /api/tasks/999999/data/ HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: Basic {BASIC}\r\nUpload-Multiple: \r\n"
            "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 5000\r\n\r\n"
        ).encode()
        + b"--zz\r\n"
        + b"x" * 100
    )
    _usable_or_closed(small_body_server, request, b" 404 ")


def test_an_error_after_a_complete_body_keeps_the_connection(small_body_server):
    body = b"{not json at all!!!}"
    request = (
        f"POST /api/tasks HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {BASIC}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    line, says_close, second = _then_next(small_body_server, request)
    assert b" 400 " in line
    assert not says_close and second is not None and b" 200 " in second


def test_a_lost_static_chunk_is_a_5xx_with_the_reason_and_logged(small_body_server):
    server = small_body_server
    with closing(server.client()) as admin:
        task_id = new_task(admin, "lost-files")
        files = {
            f"client_files[{i}]": (f"{i}.jpg", image_bytes(64, 48, seed=i), "image/jpeg")
            for i in range(2)
        }
        created = admin.post(
            f"/api/tasks/{task_id}/data/",
            files=files,
            data={"image_quality": 70, "use_cache": "false"},
        )
        assert created.status_code == 202, created.text
        assert wait_request(admin, created.json()["rq_id"])["status"] == "finished"
        url = f"/api/tasks/{task_id}/data/?type=chunk&number=0&quality=compressed"
        assert admin.get(url).status_code == 200

        # Data loss: the chunks and every source file disappear behind the server's back.
        task_dir = server.data_dir / "tasks" / str(task_id)
        for entry in task_dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
        response = admin.get(url)
        assert 500 <= response.status_code < 600, response.text
        detail = response.json()["detail"]
        assert "missing" in detail and f"task {task_id}" in detail
        log = server.log()
        assert f"task {task_id}: static chunk 0 (compressed) is missing" in log
        assert f"task {task_id}: chunk 0 (compressed) cannot be rebuilt" in log
