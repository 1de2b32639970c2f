"""``annotask serve --workers N``: several web processes share one data directory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.media_pipeline.conftest import images
from tests.media_pipeline.helpers import create, data
from tests.support.server import ADMIN


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture(scope="module")
def two_web_processes(tmp_path_factory):
    # Each web process imports the whole app on start: on a loaded CI machine
    # that takes longer than one process does.
    yield from start_server(
        tmp_path_factory.mktemp("web-workers"), "sqlite", ready_timeout=120, web_workers="2"
    )


def test_two_web_processes_serve_one_data_directory(two_web_processes):
    server = two_web_processes
    processes = _children(server.process.pid)
    web = [p for p in processes if "spawn_main" in _cmdline(p)]
    workers = [p for p in processes if "annotask worker" in _cmdline(p)]
    assert len(web) == 2, [_cmdline(p) for p in processes]
    assert len(workers) == 1  # one embedded worker, however many web processes

    client = server.client(ADMIN)
    task_id, request = create(client, images(6), use_cache=True, chunk_size=2)
    assert request["status"] == "finished"
    # Concurrent first requests land on both processes; the chunk is built once
    # (the lock lives in the shared cache) and every answer is the same.
    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: data(client, task_id, "chunk", 1).content, range(16)))
    assert len(set(bodies)) == 1 and bodies[0][:2] == b"PK"
    client.close()
