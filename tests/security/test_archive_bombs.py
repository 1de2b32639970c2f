"""Decompression bombs through every caller of the archive extractor, on a real server.

Each caller passes its own expansion ratio (media archives barely compress,
annotation documents compress 20-100 times) and the disk reserve. The bytes the
server writes are measured from the kernel's own count of written bytes
(``wchar`` in ``/proc/<pid>/io``) over the server and its worker process: an
extraction that stopped late would show there even though a failed extraction
removes its files afterwards.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from annotask.security import UnsafeInput
from annotask.security.archives import extract_archive
from annotask.settings import Settings
from tests.annotations_api.helpers import upload_file
from tests.conftest import start_server
from tests.support.rest import new_task, wait_request
from tests.support.server import LiveServer

MiB = 1024 * 1024
ZEROS = bytes(MiB)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/io").exists(), reason="needs Linux /proc/<pid>/io to count written bytes"
)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> bytes:
    """About 0.5 MiB of zip holding 512 MiB of zeros in one entry (sizes declared honestly)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.jpg", "w", force_zip64=True) as member,
    ):
        for _ in range(512):
            member.write(ZEROS)
    data = path.read_bytes()
    assert len(data) < 0.6 * MiB
    return data


@pytest.fixture(scope="module")
def tar_bomb() -> bytes:
    """A tar.gz of 512 members of 1 MiB of zeros: sizes are only known member by member,
    so the extractor must stop while streaming, not before starting."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=9) as archive:
        for index in range(512):
            info = tarfile.TarInfo(f"z{index:03}.jpg")
            info.size = MiB
            archive.addfile(info, io.BytesIO(ZEROS))
    return buffer.getvalue()


def _tree(pid: int) -> Iterator[int]:
    yield pid
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            yield from _tree(int(child))


def written_bytes(server: LiveServer) -> int:
    """Bytes the server and its worker have passed to write(2) so far."""
    assert server.process is not None
    total = 0
    for pid in set(_tree(server.process.pid)):
        try:
            text = Path(f"/proc/{pid}/io").read_text()
        except OSError:
            continue
        total += int(
            next(line for line in text.splitlines() if line.startswith("wchar:")).split()[1]
        )
    return total


def _task_data(client, archive_name: str, payload: bytes) -> dict:
    task_id = new_task(client, "bomb")
    url = f"/api/tasks/{task_id}/data/"
    client.post(url, headers={"Upload-Start": ""})
    sent = client.post(
        url, headers={"Upload-Multiple": ""}, files={"client_files[0]": (archive_name, payload)}
    )
    assert sent.status_code == 200, sent.text
    done = client.post(url, json={"image_quality": 70}, headers={"Upload-Finish": ""}, timeout=60)
    assert done.status_code == 202, done.text
    return wait_request(client, done.json()["rq_id"], timeout=120)


def _backup(client, payload: bytes) -> dict:
    started = upload_file(client, "/api/tasks/backup/", "bomb.zip", payload, {})
    assert started.status_code == 202, started.text
    return wait_request(client, started.json()["rq_id"], timeout=120)


def _dataset(client, payload: bytes) -> dict:
    project = client.post("/api/projects", json={"name": "bomb", "labels": [{"name": "a"}]})
    assert project.status_code == 201, project.text
    url = f"/api/projects/{project.json()['id']}/dataset/"
    started = upload_file(client, url, "bomb.zip", payload, {"format": "CVAT 1.1"})
    assert started.status_code == 202, started.text
    return wait_request(client, started.json()["rq_id"], timeout=120)


@pytest.mark.parametrize(
    ("caller", "ratio"), [("task data", 20), ("backup", 200), ("dataset", 200)]
)
def test_zip_bomb_is_refused_by_every_caller_before_writing(sqlite_server, zip_bomb, caller, ratio):
    client = sqlite_server.client()
    limit = ratio * len(zip_bomb)
    before = written_bytes(sqlite_server)
    if caller == "task data":
        result = _task_data(client, "bomb.zip", zip_bomb)
    elif caller == "backup":
        result = _backup(client, zip_bomb)
    else:
        result = _dataset(client, zip_bomb)
    written = written_bytes(sqlite_server) - before
    client.close()
    assert result["status"] == "failed", result
    assert "decompression bomb" in result["message"], result["message"]
    # The upload itself, the database and the logs: the zeros never reach the disk.
    assert written < limit, f"{written} bytes written, limit {limit}"
    assert written < 8 * MiB


def test_streamed_tar_bomb_stops_at_the_media_limit(sqlite_server, tar_bomb):
    """Members are declared one by one: writing stops at 20 x the archive's size."""
    client = sqlite_server.client()
    limit = 20 * len(tar_bomb)
    before = written_bytes(sqlite_server)
    result = _task_data(client, "bomb.tar.gz", tar_bomb)
    written = written_bytes(sqlite_server) - before
    client.close()
    assert result["status"] == "failed", result
    assert "decompression bomb" in result["message"], result["message"]
    # At most the limit of zeros, plus the upload (stored, then moved) and bookkeeping.
    assert written <= limit + 2 * len(tar_bomb) + 2 * MiB, f"{written} > limit {limit}"


def test_settings_defaults_per_caller() -> None:
    settings = Settings()
    assert settings.archive_max_ratio_media <= 20 < settings.archive_max_ratio_annotations
    assert settings.archive_disk_reserve_bytes >= 512 * MiB


def test_archive_larger_than_the_free_disk_is_refused_before_writing(tmp_path) -> None:
    import shutil

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", bytes(4 * MiB))
    dest = tmp_path / "out"
    dest.mkdir()
    # Leave only 1 MiB of room beyond the reserve: the 4 MiB entry does not fit.
    reserve = shutil.disk_usage(dest).free - MiB
    with pytest.raises(UnsafeInput, match="free disk space"):
        extract_archive(
            archive, dest, max_entries=10, max_total_bytes=10 * MiB, disk_reserve_bytes=reserve
        )
    assert list(dest.iterdir()) == []
    # With the room it fits.
    assert extract_archive(archive, dest, max_entries=10, max_total_bytes=10 * MiB)


@pytest.fixture(scope="module")
def no_room_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A server whose disk reserve is larger than any disk: every archive is too big."""
    yield from start_server(
        tmp_path_factory.mktemp("noroom"), archive_disk_reserve_bytes=str(2**60)
    )


def test_task_data_archive_respects_the_disk_reserve(no_room_server):
    client = no_room_server.client()
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("a.jpg", b"x" * 100)
    result = _task_data(client, "small.zip", payload.getvalue())
    client.close()
    assert result["status"] == "failed", result
    assert "free disk space" in result["message"], result["message"]
