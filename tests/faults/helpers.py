"""Shared parts of the fault suite: servers with separate worker processes, slow
creations made of real work, and signals sent to the worker running a request.

Every fault here is real: ``annotask worker`` processes stopped with SIGSTOP,
resumed with SIGCONT or killed with SIGKILL, on the embedded default (SQLite and
its queue file) and on the scale-out setup (PostgreSQL and Redis). Leases are
3 s, so a paused or dead worker is noticed within seconds.
"""

from __future__ import annotations

import io
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from tests.conftest import start_server
from tests.support.server import LiveServer

LEASE = "3"
BACKENDS = ["sqlite", "redis"]


def fault_server(tmp_root: Path, backend: str) -> Iterator[LiveServer]:
    """A server whose work is done only by separate ``annotask worker`` processes
    (none is started here: each test starts and signals its own)."""
    servers = start_server(
        tmp_root,
        backend,
        ready_timeout=120,  # a loaded CI machine starts slowly
        embedded_worker="false",
        job_lease_seconds=LEASE,
        job_max_attempts="3",
        worker_grace_seconds="1",
        # A queue message lost to a shared Redis being flushed is sent again after 2 s.
        job_requeue_seconds="2",
    )
    server = next(servers)
    for worker in server.workers:  # the redis backend starts one: the tests start their own
        worker.kill()
        worker.wait(timeout=10)
    server.workers.clear()
    try:
        yield server
    finally:
        for worker in server.workers:  # a test that failed may leave one stopped
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
        next(servers, None)


def noise_images(count: int, size: tuple[int, int] = (640, 480)) -> dict[str, bytes]:
    """Photos-like JPEGs that are costly to chunk (noise compresses badly): real slowness."""
    rng = np.random.default_rng(7)
    files = {}
    for index in range(count):
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
        files[f"img{index:03d}.jpg"] = buffer.getvalue()
    return files


def start_creation(client: httpx.Client, task_id: int, files: dict[str, bytes], **params) -> str:
    url = f"/api/tasks/{task_id}/data/"
    assert client.post(url, headers={"Upload-Start": ""}).status_code == 202
    multiple = client.post(
        url,
        headers={"Upload-Multiple": ""},
        files={
            f"client_files[{i}]": (name, payload, "application/octet-stream")
            for i, (name, payload) in enumerate(files.items())
        },
    )
    assert multiple.status_code == 200, multiple.text
    response = client.post(url, json={"image_quality": 90, **params}, headers={"Upload-Finish": ""})
    assert response.status_code == 202, response.text
    return response.json()["rq_id"]


def task_backup(name: str, files: dict[str, bytes], chunk_size: int) -> bytes:
    """A task backup zip as ``GET /api/tasks/{id}/backup`` writes it."""
    description = {
        "name": name,
        "labels": [{"name": "a"}],
        "data": {
            "chunk_size": chunk_size,
            "image_quality": 90,
            "storage_method": "file_system",
            "sorting_method": "predefined",
            "files": list(files),
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        import json

        archive.writestr("task.json", json.dumps(description))
        archive.writestr("annotations.json", "[]")
        for file, payload in files.items():
            archive.writestr(f"data/{file}", payload)
    return buffer.getvalue()


def request(client: httpx.Client, rq_id: str) -> dict:
    response = client.get(f"/api/requests/{rq_id}")
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(
    server: LiveServer, client: httpx.Client, rq_id: str, until, timeout: float = 45.0
) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        body = request(client, rq_id)
        if until(body):
            return body
        time.sleep(0.01)
    raise AssertionError(f"request {rq_id} never got there: {body}\n{logs(server)}")


def preparing_chunks(body: dict) -> bool:
    """Into the chunks (the longest step), not at its end. The window is wide and the
    caller polls often: with the DCT-domain requantizer a whole creation of these
    images takes about half a second, and a narrow window was missed in CI."""
    return body["status"] == "started" and 0.25 <= body["progress"] < 0.9


def ended(body: dict) -> bool:
    return body["status"] in ("finished", "failed")


def logs(server: LiveServer) -> str:
    found = sorted(server.data_dir.glob("*.log"))
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in found)


def wait_until(condition, timeout: float, what: str, server: LiveServer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs(server)}")
        time.sleep(0.1)


def worker_log(server: LiveServer, worker: subprocess.Popen) -> str:
    index = server.workers.index(worker)
    path = server.data_dir / f"worker{index}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def chunks(client: httpx.Client, task_id: int) -> dict[tuple[str, int], bytes]:
    """Every chunk of both qualities, as served."""
    meta = client.get(f"/api/tasks/{task_id}/data/meta")
    assert meta.status_code == 200, meta.text
    size, chunk_size = meta.json()["size"], meta.json()["chunk_size"]
    served = {}
    for quality in ("compressed", "original"):
        for number in range((size + chunk_size - 1) // chunk_size):
            response = client.get(
                f"/api/tasks/{task_id}/data/",
                params={"type": "chunk", "number": number, "quality": quality},
            )
            assert response.status_code == 200, (quality, number, response.text)
            served[(quality, number)] = response.content
    return served
