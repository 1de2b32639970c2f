"""A full disk, for real: the data directory is a small tmpfs that the test fills.

What must hold: errors say "no space left" (507) instead of 500; a TUS upload that
cannot fit is refused at creation; a partial upload that fails is removed; a task
can still be deleted; health names the storage, and everything recovers once
space is freed. The database lives outside the tmpfs (SQLite needs WAL space to
delete rows: the file side is what this test holds to).
"""

from __future__ import annotations

import base64
import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from tests.faults.support import health, wait_for
from tests.support.media import image_bytes
from tests.support.rest import new_task, wait_request
from tests.support.server import LiveServer, server_env

TMPFS_BYTES = 24 * 1024 * 1024
RESERVE_BYTES = 1024 * 1024


def _mount_tmpfs(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "tmpfs", str(path)],
        capture_output=True,
        timeout=30,
    )
    return result.returncode == 0


def fill(directory: Path) -> OSError:
    """Write a file until the file system refuses; returns the real ENOSPC error."""
    block = b"\0" * 65536
    fd = os.open(directory / f"filler-{uuid.uuid4().hex[:6]}", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if block and len(block) > 1:
                    block = block[: len(block) // 2]  # top up the last pages too
                    continue
                return exc
    finally:
        os.close(fd)


def unfill(directory: Path) -> None:
    for filler in directory.glob("filler-*"):
        filler.unlink()


@pytest.fixture
def full_disk_server(tmp_path) -> Iterator[LiveServer]:
    data_dir = tmp_path / "data"
    if not _mount_tmpfs(data_dir):
        pytest.skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        (tmp_path / "db").mkdir()
        env = server_env(
            data_dir,
            database_url=f"sqlite:///{tmp_path / 'db' / 'annotask.db'}",
            disk_reserve_bytes=str(RESERVE_BYTES),
            job_lease_seconds="5",
        )
        server = LiveServer(data_dir=data_dir, env=env)
        try:
            server.start()
            yield server
        finally:
            unfill(data_dir)
            server.stop()
    finally:
        subprocess.run(["umount", "-l", str(data_dir)], capture_output=True, timeout=30)


def _tus_create(client: httpx.Client, task_id: int, length: int) -> httpx.Response:
    name = base64.b64encode(b"big.bin").decode()
    return client.post(
        f"/api/tasks/{task_id}/data/",
        headers={
            "Upload-Length": str(length),
            "Upload-Metadata": f"filename {name}",
            "Tus-Resumable": "1.0.0",
        },
    )


def test_full_disk_gives_reasons_and_recovers(full_disk_server):
    server = full_disk_server
    data_dir = server.data_dir
    with closing(server.client()) as admin:
        # A task made while there is room.
        task_id = new_task(admin, "kept-then-deleted")
        files = {
            f"client_files[{i}]": (f"{i}.jpg", image_bytes(64, 48, seed=i), "image/jpeg")
            for i in range(3)
        }
        created = admin.post(f"/api/tasks/{task_id}/data/", files=files, data={"image_quality": 70})
        assert created.status_code == 202, created.text
        assert wait_request(admin, created.json()["rq_id"])["status"] == "finished"
        assert (data_dir / "tasks" / str(task_id)).is_dir()

        # A TUS upload that fits when it is created ...
        other = new_task(admin, "upload-target")
        assert admin.post(f"/api/tasks/{other}/data/", headers={"Upload-Start": ""}).is_success
        tus = _tus_create(admin, other, 512 * 1024)
        assert tus.status_code == 201, tus.text
        location = tus.headers["Location"]

        # ... then the disk fills up.
        error = fill(data_dir)
        assert error.errno == errno.ENOSPC

        response = health(server)
        assert response.status_code == 503
        body = response.json()
        assert "storage" in body["failing"]
        assert "no space left on device" in body["storage"]

        # A TUS upload larger than the free space is refused at creation.
        refused = _tus_create(admin, other, 4 * 1024 * 1024)
        assert refused.status_code == 507, refused.text
        assert "no space left" in refused.json()["detail"].lower()

        # The upload created earlier fails with the reason, and its partial file is removed.
        patch = admin.patch(
            location,
            content=os.urandom(512 * 1024),
            headers={
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
                "Tus-Resumable": "1.0.0",
            },
        )
        assert patch.status_code == 507, patch.text
        assert "no space left" in patch.json()["detail"].lower()
        assert admin.head(location, headers={"Tus-Resumable": "1.0.0"}).status_code == 404
        assert list((data_dir / "uploads" / "tus").iterdir()) == []

        # A bulk upload fails with 507 (not 500) and leaves no partial file.
        bulk = admin.post(
            f"/api/tasks/{other}/data/",
            headers={"Upload-Multiple": ""},
            files={"client_files[0]": ("noise.bin", os.urandom(256 * 1024), "x")},
        )
        assert bulk.status_code == 507, bulk.text
        assert "no space left" in bulk.json()["detail"].lower()
        staged = [p for p in (data_dir / "uploads").rglob("*") if p.is_file()]
        assert staged == []

        # Deleting a task works on the full disk, and frees its files.
        assert admin.delete(f"/api/tasks/{task_id}").status_code == 204
        assert not (data_dir / "tasks" / str(task_id)).exists()
        assert admin.get(f"/api/tasks/{task_id}").status_code == 404

        # Recovery: free the space, and everything works again without a restart.
        unfill(data_dir)
        wait_for(lambda: health(server).status_code == 200, 30, "health to recover")
        again = _tus_create(admin, other, 512 * 1024)
        assert again.status_code == 201, again.text


def test_worker_reports_disk_full_with_a_reason(tmp_path):
    """The worker's failure message for a real ENOSPC (from a full tmpfs)."""
    from annotask.worker.runner import user_message

    mount = tmp_path / "small"
    if not _mount_tmpfs(mount):
        pytest.skip("cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN)")
    try:
        error = fill(mount)
        assert error.errno == errno.ENOSPC
        try:
            raise RuntimeError("while writing a chunk") from error
        except RuntimeError as wrapped:
            message = user_message(wrapped)
        assert message is not None and "No space left on device" in message
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=30)
