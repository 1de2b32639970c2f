"""Files go out with ``sendfile`` under ``annotask serve``: every byte arrives for a
fast and for a slow client (whose socket keeps filling), the connection stays
usable afterwards, a client that hangs up mid-file costs the server nothing, and
without the extension the same response is streamed in pieces."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import socket
import time
import zipfile

import numpy as np
import pytest
from PIL import Image

from annotask.api.sendfile import SENDFILE, STREAM_PIECE_BYTES, FileBodyResponse
from tests.support.resources import unique
from tests.support.rest import wait_request
from tests.support.server import ADMIN

# uvicorn's protocol, os.sendfile and clients that read slowly or hang up need a
# real server and real sockets.
pytestmark = pytest.mark.live_server("sendfile, slow and hung-up clients need uvicorn and sockets")

FRAMES = 4
BASIC = "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()


def _noise_jpeg(seed: int) -> bytes:
    """About 1 MiB of JPEG that does not compress: chunks of several MiB."""
    pixels = np.random.default_rng(seed).integers(0, 256, (1000, 1000, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def big_task(sqlite_server):
    """A static task whose original chunk holds four ~1 MiB source files."""
    client = sqlite_server.client(ADMIN)
    sources = [_noise_jpeg(seed) for seed in range(FRAMES)]
    task_id = client.post("/api/tasks", json={"name": unique("sendfile"), "labels": []}).json()[
        "id"
    ]
    files = {
        f"client_files[{i}]": (f"n{i}.jpg", data, "image/jpeg") for i, data in enumerate(sources)
    }
    created = client.post(
        f"/api/tasks/{task_id}/data/",
        files=files,
        data={"image_quality": "95", "chunk_size": str(FRAMES), "sorting_method": "natural"},
    )
    assert created.status_code == 202, created.text
    assert wait_request(client, created.json()["rq_id"])["status"] == "finished"
    yield client, task_id, sources
    client.close()


def _chunk_path(task_id: int) -> str:
    return f"/api/tasks/{task_id}/data/?type=chunk&number=0&quality=original"


def test_a_fast_client_gets_the_source_files_whole(big_task):
    client, task_id, sources = big_task
    response = client.get(_chunk_path(task_id))
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 4 * 2**20
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert [archive.read(name) for name in archive.namelist()] == sources


def _raw_get(sock: socket.socket, path: str, token: str) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: {token}\r\n\r\n"
    sock.sendall(request.encode())


def _read_response(sock: socket.socket, pause: float = 0.0, piece: int = 65536) -> bytes:
    """The body of one response, read ``piece`` bytes at a time with ``pause`` between."""
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    status, *lines = head.decode().split("\r\n")
    assert " 200 " in status, status
    length = next(
        int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
    )
    body = bytearray()
    while len(body) < length:
        data = sock.recv(min(piece, length - len(body)))
        assert data, "the server closed the connection mid-body"
        body += data
        if pause:
            time.sleep(pause)
    return bytes(body)


def test_a_slow_reader_gets_every_byte_and_keeps_its_connection(big_task, sqlite_server):
    client, task_id, _sources = big_task
    expected = hashlib.sha256(client.get(_chunk_path(task_id)).content).hexdigest()
    token = BASIC
    host, port = sqlite_server.url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        # A small receive buffer: the server's socket fills over and over, so the
        # copy must wait for the client many times.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.settimeout(30)
        sock.connect((host, int(port)))
        _raw_get(sock, _chunk_path(task_id), token)
        started = time.monotonic()
        slow = _read_response(sock, pause=0.002, piece=32 * 1024)
        assert time.monotonic() - started > 0.3  # it really was slow
        assert hashlib.sha256(slow).hexdigest() == expected
        _raw_get(sock, _chunk_path(task_id), token)  # keep-alive: the same socket again
        assert hashlib.sha256(_read_response(sock)).hexdigest() == expected


def test_clients_that_hang_up_mid_file_cost_nothing(big_task, sqlite_server):
    client, task_id, sources = big_task
    token = BASIC
    host, port = sqlite_server.url.removeprefix("http://").split(":")
    for _ in range(5):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
            sock.connect((host, int(port)))
            _raw_get(sock, _chunk_path(task_id), token)
            sock.recv(4096)
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    response = client.get(_chunk_path(task_id))
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.read(archive.namelist()[-1]) == sources[-1]


def _run(response: FileBodyResponse, scope: dict) -> list[dict]:
    messages: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        messages.append(message)

    asyncio.run(response(scope, receive, send))
    return messages


@pytest.mark.parametrize("extensions", [{}, {SENDFILE: {}}], ids=["no-extension", "in-memory"])
def test_without_sendfile_the_file_is_streamed_in_pieces(tmp_path, extensions):
    data = np.random.default_rng(1).bytes(2 * STREAM_PIECE_BYTES + 123)
    if extensions:  # the extension is offered, but the file has no descriptor
        file = io.BytesIO(data)
    else:
        (tmp_path / "f.bin").write_bytes(data)
        file = open(tmp_path / "f.bin", "rb")  # noqa: SIM115 - the response closes it
    response = FileBodyResponse(file, len(data), media_type="application/zip", headers={})
    messages = _run(response, {"type": "http", "method": "GET", "extensions": extensions})
    start, *bodies = messages
    assert start["type"] == "http.response.start"
    assert (b"content-length", str(len(data)).encode()) in start["headers"]
    assert [m["type"] for m in bodies] == ["http.response.body"] * 3
    assert [m["more_body"] for m in bodies] == [True, True, False]
    assert b"".join(m["body"] for m in bodies) == data
    assert file.closed


def test_head_sends_the_length_and_no_body(tmp_path):
    (tmp_path / "f.bin").write_bytes(b"x" * 1000)
    file = open(tmp_path / "f.bin", "rb")  # noqa: SIM115 - the response closes it
    response = FileBodyResponse(file, 1000, media_type="application/zip", headers={})
    start, body = _run(response, {"type": "http", "method": "HEAD", "extensions": {SENDFILE: {}}})
    assert (b"content-length", b"1000") in start["headers"]
    assert body == {"type": "http.response.body", "body": b"", "more_body": False}
    assert file.closed


def test_annotask_serve_offers_the_extension_with_this_uvicorn():
    """If a uvicorn upgrade removes the hook, this says so instead of chunks
    silently going back through Python."""
    from annotask.api import sendfile

    assert sendfile.protocol() == "annotask.api.sendfile:SendfileProtocol"
