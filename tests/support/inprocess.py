"""The annotask app served in the test process: route tests without sockets.

:class:`InProcessServer` has :class:`~tests.support.server.LiveServer`'s interface
(``client()``, ``url``, ``run_cli``, ``data_dir``...) but its clients talk to
``annotask.app.create_app`` through Starlette's test transport: no port to bind,
no server process to wait for. Everything else is real: the database (SQLite
file or PostgreSQL), the queue, the cache, and the worker, which runs as the
same ``annotask worker`` subprocess ``annotask serve`` starts as its embedded
worker (or the separate workers of the Redis backend), so jobs that create task
data run exactly as they do in production.

All clients share one event loop for the app (like one server process), and
requests come from 127.0.0.1. Exceptions become 500 responses as under uvicorn.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from annotask.settings import Settings
from tests.support.processes import start_group
from tests.support.server import ADMIN, LiveServer, login

PREFIX = "ANNOTASK_"


class _ExactSettings(Settings):
    """Settings from the given values only: the test process's own environment
    must not leak into the server under test."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **_others):  # type: ignore[override]
        return (init_settings,)


def settings_from_env(env: dict[str, str]) -> Settings:
    values = {k[len(PREFIX) :].lower(): v for k, v in env.items() if k.startswith(PREFIX)}
    return _ExactSettings(**values)


class _PortalTransport(httpx.BaseTransport):
    """A synchronous httpx transport onto ``httpx.ASGITransport``, run in the app's
    one event loop (an anyio blocking portal thread), shared by every client."""

    def __init__(self, portal: BlockingPortal, asgi: httpx.ASGITransport) -> None:
        self._portal = portal
        self._asgi = asgi

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        return self._portal.call(self._send, request, body)

    async def _send(self, request: httpx.Request, body: bytes) -> httpx.Response:
        sent = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = await self._asgi.handle_async_request(sent)
        content = await response.aread()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:  # the transport outlives each client
        pass


class InProcessServer(LiveServer):
    _stack: contextlib.ExitStack | None = None
    _transport: _PortalTransport | None = None

    def start(self, *, fresh_port_on_retry: bool = True) -> InProcessServer:
        from annotask.app import create_app
        from annotask.services import Services

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "worker-embedded.log"
        # As for a live server: the CLI migrates the database and adds the admin.
        result = self.run_cli("users", "add", ADMIN[0], "--password", ADMIN[1], "--admin")
        if result.returncode != 0 and "already exists" not in result.stderr:
            raise RuntimeError(f"could not create the admin: {result.stderr}")
        settings = settings_from_env(self.env)
        settings.effective_secret_key()
        app = create_app(services=Services(settings))
        self._stack = contextlib.ExitStack()
        portal = self._stack.enter_context(start_blocking_portal())
        # The app's lifespan, as uvicorn runs it (it closes the services at the end).
        self._stack.enter_context(
            portal.wrap_async_context_manager(app.router.lifespan_context(app))
        )
        asgi = httpx.ASGITransport(app, raise_app_exceptions=False, client=("127.0.0.1", 50000))
        self._transport = _PortalTransport(portal, asgi)
        if settings.embedded_worker:
            self._start_embedded_worker()
        return self

    def _start_embedded_worker(self) -> None:
        """``annotask serve``'s embedded worker: the same command, in a process of its own."""
        with open(self.log_path, "ab") as log:
            self.workers.append(
                start_group(
                    [sys.executable, "-m", "annotask", "worker"],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )

    def wait_ready(self, timeout: float = 60) -> None:
        return None

    def client(self, auth: tuple[str, str] | None = ADMIN, **kwargs: Any) -> httpx.Client:
        assert self._transport is not None, "the server is not started"
        client = httpx.Client(
            transport=self._transport,
            base_url=self.url,
            timeout=30,
            **kwargs,
        )
        if auth is not None:
            login(client, *auth)
        return client

    def _stop_server(self) -> None:
        if self._stack is not None:
            self._stack.close()  # the lifespan's end, then the event loop
            self._stack = None
            self._transport = None

    def restart(self) -> None:
        """The app built afresh over the same data (``stop`` ends workers, then the app)."""
        self.stop()
        self.workers.clear()
        self.start()
