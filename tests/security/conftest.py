"""A small threaded HTTP(S) server on loopback for the outbound-client tests.

Only 127.0.0.x and ::1 are ever bound or contacted. Routes cover the cases the
issue lists: files, redirects, errors, slow and oversized bodies, lying headers.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

FILE_BODY = b"\xff\xd8JPEG-BYTES" * 100


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, 0), _Handler)
        self.host = host
        self.port = self.server_address[1]
        self.hits: list[str] = []
        self.host_headers: list[str] = []
        self.redirect_target = ""
        self.stopping = threading.Event()
        self.scheme = "http"

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, headers={"Location": location})

    def _trickle(self, delay: float, count: int) -> None:
        for _ in range(count):
            if self.server.stopping.wait(delay):
                return
            self.wfile.write(b"x")
            self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802
        self.server.hits.append(self.path)
        self.server.host_headers.append(self.headers.get("Host", ""))
        path = self.path.split("?", 1)[0]
        try:
            self._route(path)
        except OSError:  # the client gave up (limits, timeouts): expected here
            self.close_connection = True

    def _route(self, path: str) -> None:
        if path.startswith("/files/"):
            self._send(200, FILE_BODY, {"Content-Type": "image/jpeg"})
        elif path == "/redirect/relative":
            self._redirect("/files/a.jpg")
        elif path == "/redirect/target":
            self._redirect(self.server.redirect_target)
        elif path == "/redirect/loop":
            self._redirect("/redirect/loop")
        elif path == "/redirect/file":
            self._redirect("file:///etc/passwd")
        elif path == "/redirect/nolocation":
            self._send(302)
        elif path == "/slow":
            self._send(200, b"", {"Content-Length": "10"})
            self.wfile.flush()
            self._trickle(5.0, 1)
        elif path == "/drip":
            self.close_connection = True
            self._send(200, b"", {"Content-Length": "1000"})
            self._trickle(0.05, 1000)
        elif path == "/big":
            self._send(200, bytes(10_000))
        elif path == "/unbounded":
            self.close_connection = True
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(bytes(1000))
        elif path == "/lying-short":
            self._send(200, bytes(5000), {"Content-Length": "10"})
            self.close_connection = True
        elif path == "/lying-long":
            self._send(200, bytes(10), {"Content-Length": "1000"})
            self.close_connection = True
        else:
            self._send(404, b"not found")


@pytest.fixture
def serve() -> Iterator[Callable[..., LoopbackServer]]:
    """Factory: ``serve(host="127.0.0.1", tls=None)`` starts a server, stopped at teardown."""
    servers: list[LoopbackServer] = []

    def start(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> LoopbackServer:
        try:
            server = LoopbackServer(host)
        except OSError as exc:
            pytest.skip(f"cannot bind {host}: {exc}")
        if tls is not None:
            server.socket = tls.wrap_socket(server.socket, server_side=True)
            server.scheme = "https"
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stopping.set()
        server.shutdown()
        server.server_close()
