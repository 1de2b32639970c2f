"""``src/annotask/api/sendfile.py`` subclasses uvicorn's httptools protocol and
overrides private methods; uvicorn is pinned to the minor range tested here.
These tests fail, naming that module, when an upgrade moves what it relies on:
first by name and signature (a clear message), then by driving the protocol
on a real socket (the hooks still do their job)."""

from __future__ import annotations

import asyncio
import inspect
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from annotask.api import sendfile

MODULE = "src/annotask/api/sendfile.py"
ROOT = Path(__file__).resolve().parents[2]

httptools_impl = pytest.importorskip("uvicorn.protocols.http.httptools_impl")

# The private methods the protocol overrides or calls, with the parameters it passes.
HOOKS = {
    "_start_asgi_task": ["self", "cycle", "app"],
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "on_message_begin": ["self"],
    "on_headers_complete": ["self"],
}
# What the protocol and ``_sendfile`` read and write on uvicorn's objects.
PROTOCOL_ATTRIBUTES = ("loop", "transport")
CYCLE_ATTRIBUTES = ("transport", "disconnected", "expected_content_length")


def test_uvicorn_is_inside_the_pinned_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [Requirement(d) for d in project["dependencies"] if d.startswith("uvicorn")]
    assert pin.specifier, f"uvicorn must be pinned: {MODULE} uses its private internals"
    installed = Version(version("uvicorn"))
    assert installed in pin.specifier, (
        f"uvicorn {installed} is outside the pin {pin.specifier}; check {MODULE} against it"
    )


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_the_overridden_hooks_keep_their_signatures(name):
    method = getattr(httptools_impl.HttpToolsProtocol, name, None)
    assert method is not None, f"uvicorn's HttpToolsProtocol lost {name}, which {MODULE} overrides"
    parameters = list(inspect.signature(method).parameters)
    assert parameters == HOOKS[name], (
        f"uvicorn's HttpToolsProtocol.{name} now takes {parameters}, "
        f"{MODULE} overrides it as {HOOKS[name]}"
    )


def test_the_attributes_used_are_still_set():
    for cls, names in (
        (httptools_impl.HttpToolsProtocol, PROTOCOL_ATTRIBUTES),
        (httptools_impl.RequestResponseCycle, CYCLE_ATTRIBUTES),
    ):
        source = inspect.getsource(cls.__init__)
        for name in names:
            assert f"self.{name} =" in source or f"self.{name}:" in source, (
                f"uvicorn's {cls.__name__} no longer sets {name}, which {MODULE} uses"
            )
    assert sendfile.protocol() == "annotask.api.sendfile:SendfileProtocol", (
        f"{MODULE} falls back to uvicorn's own protocol: a hook it needs is missing"
    )


class _QuickDeadline(sendfile.SendfileProtocol):
    header_timeout = 0.5


async def _serve_once(tmp_path: Path) -> tuple[bytes, bool, bytes]:
    """A real socket served by the protocol: one file response, and a request
    whose headers never end. Returns the response, whether the app was offered
    the extension, and what the stalled connection received before it closed."""
    import uvicorn
    from uvicorn.server import ServerState

    payload = bytes(range(256)) * 4096  # 1 MiB
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    offered = []

    async def app(scope, receive, send):
        offered.append(sendfile.SENDFILE in scope.get("extensions", {}))
        response = sendfile.FileBodyResponse(
            open(path, "rb"),  # noqa: SIM115 - the response closes it
            len(payload),
            media_type="application/octet-stream",
            headers={},
        )
        await response(scope, receive, send)

    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    config.load()
    loop = asyncio.get_running_loop()
    state = ServerState()
    server = await loop.create_server(
        lambda: _QuickDeadline(config=config, server_state=state, app_state={}, _loop=loop),
        "127.0.0.1",
        0,
    )
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 30)
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: te")  # and nothing more
        await writer.drain()
        stalled = await asyncio.wait_for(reader.read(), 30)  # EOF when the deadline closes it
        writer.close()
    finally:
        server.close()
    return response, offered == [True], stalled


def test_the_protocol_still_sends_files_and_keeps_its_header_deadline(tmp_path):
    response, offered, stalled = asyncio.run(_serve_once(tmp_path))
    assert offered, f"{MODULE}: the app was not offered the sendfile extension"
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), f"{MODULE}: {head!r}"
    assert body == bytes(range(256)) * 4096, f"{MODULE}: the file arrived wrong ({len(body)} B)"
    assert stalled == b"", f"{MODULE}: the header deadline did not close the connection quietly"
