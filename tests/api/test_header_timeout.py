"""Connections that never finish their request line and headers are closed after
``ANNOTASK_HTTP_HEADER_TIMEOUT_SECONDS``: half-open connections cannot pile up.

Raw sockets against a live ``annotask serve``; the bounds are generous (the
deadline is 1 s, the test waits up to 15 s), so a loaded machine cannot fail it.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import start_server

pytestmark = pytest.mark.live_server("the header deadline is uvicorn's protocol on real sockets")

DEADLINE = 1.0
PATIENCE = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from start_server(
        tmp_path_factory.mktemp("headers"),
        "sqlite",
        ready_timeout=90,
        http_header_timeout_seconds=str(DEADLINE),
    )


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes ``sock`` (reading and discarding any answer)."""
    started = time.monotonic()
    sock.settimeout(PATIENCE)
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            pytest.fail(f"the server kept the connection open for {PATIENCE} s")
        except ConnectionResetError:
            data = b""
        if not data:
            return time.monotonic() - started


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /api/server/about HT", b"GET /api/server/about HTTP/1.1\r\nHost: x\r\n"],
    ids=["nothing", "partial-request-line", "headers-never-end"],
)
def test_an_unfinished_request_is_closed_within_the_limit(server, sent):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(sent)
        assert closed_after(sock) < PATIENCE


def test_the_next_request_on_a_kept_alive_connection_has_a_deadline_too(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /api/server/about HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/server/ab")  # uvicorn's keep-alive timer stops here
        assert closed_after(sock) < PATIENCE


def test_slow_but_complete_requests_still_work(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for piece in (b"GET /api/server/about HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(DEADLINE / 5)
        sock.settimeout(10)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
