"""Creation attempts and staged files under worker faults (issue 19, items 1 and 4).

- A worker paused (SIGSTOP) past its lease in the middle of a creation, resumed
  (SIGCONT) after another worker finished the re-run, must not touch the finished
  task's files: every chunk is served byte-identically before and after.
- A worker killed (SIGKILL) in the middle of a backup restore leaves no orphan
  task: the reaper deletes the task its dead attempt created.
- The staged directory of a killed attempt is removed; the finished task keeps
  exactly the directory its commit published.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.annotations_api.helpers import upload_file
from tests.support.rest import new_task
from tests.support.server import LiveServer

from .helpers import (
    BACKENDS,
    chunks,
    ended,
    fault_server,
    logs,
    noise_images,
    preparing_chunks,
    request,
    start_creation,
    task_backup,
    wait_for,
    wait_until,
    worker_log,
)

IMAGES = 80
CHUNK_SIZE = 2  # many chunks: progress moves steadily through the longest step


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[LiveServer]:
    yield from fault_server(tmp_path_factory.mktemp("faults"), request.param)


@pytest.fixture(autouse=True)
def own_workers(server) -> Iterator[None]:
    """Each test starts its own workers; those left running are stopped after it."""
    yield
    for worker in server.workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGCONT)
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)


@pytest.fixture(scope="module")
def images() -> dict[str, bytes]:
    return noise_images(IMAGES, (800, 600))  # chunking them lasts long enough to stop it midway


def attempt_dirs(server: LiveServer, task_id: int) -> list[str]:
    directory = server.data_dir / "tasks" / str(task_id) / "attempts"
    return sorted(entry.name for entry in directory.iterdir()) if directory.is_dir() else []


def test_a_worker_paused_past_its_lease_leaves_the_finished_task_intact(server, images):
    with closing(server.client()) as client:
        task_id = new_task(client, "paused")
        first = server.start_worker()
        rq_id = start_creation(client, task_id, images, chunk_size=CHUNK_SIZE)
        wait_for(server, client, rq_id, preparing_chunks)
        os.kill(first.pid, signal.SIGSTOP)
        try:
            paused = request(client, rq_id)
            assert paused["status"] == "started" and paused["progress"] < 0.95, paused
            server.start_worker()  # its reaper re-queues the request once the lease ends
            final = wait_for(server, client, rq_id, ended, timeout=50)
            assert final["status"] == "finished", f"{final}\n{logs(server)}"
            before = chunks(client, task_id)
            files = task_files(server, task_id, stale=f"{rq_id}-1")
        finally:
            os.kill(first.pid, signal.SIGCONT)
        # The first worker wakes up, finds its lease lost and gives up its attempt.
        wait_until(
            lambda: job_ended(worker_log(server, first)),
            30,
            "the resumed worker to end its attempt",
            server,
        )
        after = chunks(client, task_id)
        assert after.keys() == before.keys()
        assert all(after[key] == before[key] for key in before), "chunks changed"
        assert len(before) == 2 * IMAGES // CHUNK_SIZE
        assert client.get(f"/api/tasks/{task_id}/preview").status_code == 200
        # Not one file of the finished task was removed or replaced by the late attempt.
        assert task_files(server, task_id, stale=f"{rq_id}-1") == files
        # Only the published attempt's directory is left (the resumed one removed its own).
        assert attempt_dirs(server, task_id) == [f"{rq_id}-2"]
        assert "lost its lease" in worker_log(server, first)


def task_files(server: LiveServer, task_id: int, stale: str) -> dict[str, tuple[int, int, int]]:
    """Every file of the task (but the stale attempt's own staging) with its inode,
    size and modification time: a file replaced by a rename shows a new inode."""
    root = server.data_dir / "tasks" / str(task_id)
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if stale in relative or not path.is_file():
            continue
        status = path.stat()
        found[relative] = (status.st_ino, status.st_size, status.st_mtime_ns)
    return found


def job_ended(log: str) -> bool:
    """Every message the worker took has been run to its end (huey logs both)."""
    started = log.count("INFO huey: Executing")
    return started > 0 and log.count(" executed in ") == started


def test_a_killed_attempts_staged_files_are_removed(server, images):
    with closing(server.client()) as client:
        task_id = new_task(client, "killed")
        first = server.start_worker()
        rq_id = start_creation(client, task_id, images, chunk_size=CHUNK_SIZE)
        wait_for(server, client, rq_id, preparing_chunks)
        first.kill()
        first.wait(timeout=10)
        assert attempt_dirs(server, task_id) == [f"{rq_id}-1"]  # what it had staged
        server.start_worker()
        final = wait_for(server, client, rq_id, ended, timeout=50)
        assert final["status"] == "finished", f"{final}\n{logs(server)}"
        wait_until(
            lambda: attempt_dirs(server, task_id) == [f"{rq_id}-2"],
            15,
            "the dead attempt's directory to be swept",
            server,
        )
        served = chunks(client, task_id)
        assert len(served) == 2 * IMAGES // CHUNK_SIZE


def test_a_restore_killed_midway_leaves_no_orphan_task(server, images):
    name = f"restored-{server.data_dir.name}"
    backup = task_backup(name, images, CHUNK_SIZE)
    with closing(server.client()) as client:
        first = server.start_worker()
        started = upload_file(client, "/api/tasks/backup/", "task.zip", backup, {})
        assert started.status_code == 202, started.text
        rq_id = started.json()["rq_id"]
        wait_for(server, client, rq_id, preparing_chunks)
        first.kill()
        first.wait(timeout=10)
        (orphan,) = _tasks_named(client, name)  # the dead attempt's half-made task
        assert not orphan["size"]
        server.start_worker()
        final = wait_for(server, client, rq_id, ended, timeout=50)
        assert final["status"] == "finished", f"{final}\n{logs(server)}"
        wait_until(
            lambda: [t["id"] for t in _tasks_named(client, name)] == [final["result_id"]],
            15,
            "the orphan task to be removed",
            server,
        )
        if orphan["id"] != final["result_id"]:  # SQLite may give the new task the same id
            assert client.get(f"/api/tasks/{orphan['id']}").status_code == 404
            assert not (server.data_dir / "tasks" / str(orphan["id"])).exists()
        restored = chunks(client, final["result_id"])
        assert len(restored) == 2 * IMAGES // CHUNK_SIZE


def _tasks_named(client, name: str) -> list[dict]:
    response = client.get("/api/tasks", params={"name": name, "page_size": 100})
    assert response.status_code == 200, response.text
    return [task for task in response.json()["results"] if task["name"] == name]
