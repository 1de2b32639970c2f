"""Zero-copy file responses under uvicorn: an ASGI extension backed by ``sendfile``.

Chunks are megabytes each and most requests are cache hits, so serving one is
mostly moving bytes. Through the ASGI body message every byte is read into
Python, copied into the event loop's write buffer and copied again into the
socket, all with the GIL held; nginx hands the kernel the file instead. uvicorn
does not implement ``http.response.pathsend``, so :class:`SendfileProtocol`
(uvicorn's httptools protocol, used by ``annotask serve``) offers an extension
of ours, :data:`SENDFILE`: after ``http.response.start`` the app sends
``{"type": SENDFILE, "file": <open file>, "count": n}`` and the protocol copies
``n`` bytes of that file to the socket with ``os.sendfile`` on a thread (the
GIL is released for the copy; waiting for a slow client blocks only that
thread). An open file, not a path: a cache entry evicted meanwhile stays
readable through it, so a response never stops half way.

Apps see the extension in ``scope["extensions"]`` only when it is served; any
other server (or a test client) gets ordinary body messages from
:class:`FileBodyResponse`.

The protocol also closes connections that do not finish their request line and
headers in time (``ANNOTASK_HTTP_HEADER_TIMEOUT_SECONDS``): uvicorn's
``timeout_keep_alive`` only runs between requests and is cancelled by the first
byte of the next one, so without a deadline a client could hold any number of
connections open by sending a few bytes each and never the rest.
"""

from __future__ import annotations

import asyncio
import os
import select
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import anyio.to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

SENDFILE = "annotask.sendfile"
# Threads copying to slow clients at once, per web process; more wait their turn.
SENDFILE_THREADS = 64
# A client that takes nothing for this long is dropped.
STALL_SECONDS = 60.0
HEADER_TIMEOUT_ENV = "ANNOTASK_HTTP_HEADER_TIMEOUT_SECONDS"
DEFAULT_HEADER_TIMEOUT = 30.0


def _header_timeout_from_env() -> float:
    """The deadline in web processes uvicorn starts itself (``--workers``), which
    build nothing from settings before they accept connections."""
    try:
        value = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT))
    except ValueError:
        return DEFAULT_HEADER_TIMEOUT
    return value if value > 0 else DEFAULT_HEADER_TIMEOUT


STREAM_PIECE_BYTES = 1024 * 1024

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - uvicorn without httptools
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(SENDFILE_THREADS, thread_name_prefix="sendfile")
    return _pool


def _copy(socket_fd: int, file_fd: int, offset: int, count: int) -> None:
    """Send ``count`` bytes of the file from ``offset`` to a non-blocking socket."""
    poller = select.poll()
    poller.register(socket_fd, select.POLLOUT)
    while count > 0:
        try:
            sent = os.sendfile(socket_fd, file_fd, offset, count)
        except BlockingIOError:
            sent = None
        if sent == 0:
            raise OSError("the file ended before the announced length")
        if sent is None:
            if not poller.poll(STALL_SECONDS * 1000):
                raise TimeoutError("the client stopped reading")
            continue
        offset += sent
        count -= sent


if HttpToolsProtocol is not None:

    class SendfileProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, plus the :data:`SENDFILE` extension and a
        deadline for the request line and headers (see the module's description)."""

        #: Seconds from connecting, or from the first byte of a following request,
        #: to the end of the headers; ``annotask serve`` sets it from the settings.
        header_timeout: float = _header_timeout_from_env()
        _header_deadline: asyncio.TimerHandle | None = None

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            super()._start_asgi_task(cycle, _with_sendfile(cycle, app))

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm_header_deadline()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_deadline is None:  # a fresh connection keeps its first deadline
                self._arm_header_deadline()

        def on_headers_complete(self) -> None:
            self._disarm_header_deadline()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def _arm_header_deadline(self) -> None:
            self._header_deadline = self.loop.call_later(
                self.header_timeout, self._header_deadline_passed
            )

        def _disarm_header_deadline(self) -> None:
            if self._header_deadline is not None:
                self._header_deadline.cancel()
                self._header_deadline = None

        def _header_deadline_passed(self) -> None:
            self._header_deadline = None
            if not self.transport.is_closing():
                self.transport.close()

else:  # pragma: no cover
    SendfileProtocol = None  # type: ignore[assignment,misc]


def protocol() -> str | None:
    """What ``annotask serve`` gives uvicorn as ``http``: this module's protocol when
    this uvicorn has the hook it relies on, else None (uvicorn's own)."""
    if SendfileProtocol is None or not hasattr(HttpToolsProtocol, "_start_asgi_task"):
        return None
    return f"{__name__}:SendfileProtocol"


def _with_sendfile(cycle: Any, app: Any) -> Any:
    async def app_with_sendfile(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("extensions", {})[SENDFILE] = {}

        async def send_or_sendfile(message: Any) -> None:
            if message["type"] != SENDFILE:
                await send(message)
                return
            await _sendfile(cycle, message, send)

        await app(scope, receive, send_or_sendfile)

    return app_with_sendfile


async def _sendfile(cycle: Any, message: dict[str, Any], send: Send) -> None:
    file: BinaryIO = message["file"]
    count = int(message["count"])
    transport = cycle.transport
    # The headers may still sit in the transport's buffer (the socket was full
    # from the previous response): they must reach the socket first.
    deadline = time.monotonic() + STALL_SECONDS
    while transport.get_write_buffer_size() and not transport.is_closing():
        if time.monotonic() > deadline:  # the client stopped reading
            transport.close()
            break
        await asyncio.sleep(0.001)
    socket = transport.get_extra_info("socket")
    if transport.is_closing() or socket is None:
        cycle.disconnected = True
        return
    socket_fd, file_fd, offset = socket.fileno(), file.fileno(), file.tell()
    try:
        # A first piece right here: the socket usually takes megabytes at once,
        # and what fits costs no hop to a thread. The rest waits on a thread.
        try:
            sent = os.sendfile(socket_fd, file_fd, offset, count)
        except BlockingIOError:
            sent = 0
        if sent < count:
            await asyncio.get_running_loop().run_in_executor(
                _executor(), _copy, socket_fd, file_fd, offset + sent, count - sent
            )
    except OSError:  # the client went away, or stalled: drop the connection
        cycle.disconnected = True
        transport.close()
        return
    cycle.expected_content_length -= count
    await send({"type": "http.response.body", "body": b"", "more_body": False})


class FileBodyResponse(Response):
    """An open file as the body: sent with ``sendfile`` where the server offers
    :data:`SENDFILE`, else read and sent in 1 MiB pieces. Closes the file."""

    def __init__(
        self, file: BinaryIO, size: int, *, media_type: str, headers: dict[str, str]
    ) -> None:
        super().__init__(None, media_type=media_type, headers=headers)
        self.file = file
        self.size = size
        self.headers["content-length"] = str(size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif SENDFILE in (scope.get("extensions") or {}) and _has_fileno(self.file):
                await send({"type": SENDFILE, "file": self.file, "count": self.size})
            else:
                await self._stream(send)
        finally:
            self.file.close()

    async def _stream(self, send: Send) -> None:
        remaining = self.size
        while True:
            piece = await anyio.to_thread.run_sync(
                self.file.read, min(STREAM_PIECE_BYTES, remaining)
            )
            remaining -= len(piece)
            more = remaining > 0 and bool(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": more})
            if not more:
                return


def _has_fileno(file: BinaryIO) -> bool:
    try:
        file.fileno()
    except (OSError, AttributeError, ValueError):
        return False
    return True
