"""Hostile data sources are refused with clear errors and leave nothing behind (issue 3)."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.data.test_upload_protocol import finish, new_task, wait_request
from tests.support.media import image_bytes, write_images

JPEG = image_bytes(40, 30)


def data_files(server) -> set[str]:
    """Everything under the server's task and upload directories."""
    found = set()
    for sub in ("tasks", "uploads"):
        for dirpath, _dirs, files in os.walk(server.data_dir / sub):
            found.update(str(Path(dirpath, f).relative_to(server.data_dir)) for f in files)
    return found


def request_count(admin, task_id: int) -> int:
    return admin.get("/api/requests", params={"task_id": task_id}).json()["count"]


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """Default remote policy (no private addresses) and small archive and pixel limits."""
    yield from start_server(
        tmp_path_factory.mktemp("strict"),
        "sqlite",
        remote_allow_private="false",
        archive_max_entries="5",
        image_max_pixels="250000",
    )


@pytest.fixture
def strict_admin(strict_server):
    client = strict_server.client()
    yield client
    client.close()


@pytest.mark.parametrize(
    "path", ["../outside.png", "sub/../../outside.png", "a//b.png", "sub\\..\\x.png", "nul\x00.png"]
)
def test_share_traversal_is_refused(server, admin, path):
    write_images(server.share_root / "sub", ["ok.png"])
    (server.share_root.parent / "outside.png").write_bytes(JPEG)
    task_id = new_task(admin, "share-attack")
    before = data_files(server)
    response = admin.post(
        f"/api/tasks/{task_id}/data/", json={"image_quality": 70, "server_files": [path]}
    )
    assert response.status_code == 400 and "server_files" in response.json()
    assert request_count(admin, task_id) == 0
    assert data_files(server) == before
    assert admin.get(f"/api/tasks/{task_id}").json()["size"] == 0


def test_share_symlink_leading_outside_is_refused(server, admin, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(JPEG)
    link = server.share_root / f"escape-{tmp_path.name}.png"
    link.symlink_to(secret)
    inside = server.share_root / f"inside-{tmp_path.name}.png"
    inside.symlink_to(server.share_root / "sub" / "ok.png")
    write_images(server.share_root / "sub", ["ok.png"])
    task_id = new_task(admin, "symlink")
    response = admin.post(
        f"/api/tasks/{task_id}/data/", json={"image_quality": 70, "server_files": [link.name]}
    )
    assert response.status_code == 400
    listing = admin.get("/api/server/share", params={"directory": "/"}).json()
    names = {entry["name"] for entry in listing}
    assert link.name not in names and inside.name in names
    # A symlink that stays inside the share is fine.
    rq = finish_single(admin, task_id, server_files=[inside.name])
    assert wait_request(admin, rq)["status"] == "finished"


def finish_single(admin, task_id: int, **params) -> str:
    response = admin.post(f"/api/tasks/{task_id}/data/", json={"image_quality": 70, **params})
    assert response.status_code == 202, response.text
    return response.json()["rq_id"]


def test_share_listing(server, admin):
    write_images(server.share_root / "listing" / "inner", ["z.png"])
    write_images(server.share_root / "listing", ["b.jpg", "a.mp4"])
    (server.share_root / "listing" / "a.mp4").write_bytes(b"x")
    listing = admin.get("/api/server/share", params={"directory": "/listing/"}).json()
    assert listing == [
        {"name": "inner", "type": "DIR", "mime_type": "DIR"},
        {"name": "a.mp4", "type": "REG", "mime_type": "video"},
        {"name": "b.jpg", "type": "REG", "mime_type": "image"},
    ]
    bad = admin.get("/api/server/share", params={"directory": "../"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.jpg",
        "http://0.0.0.0/x.jpg",
        "http://[::1]/x.jpg",
        "http://[::ffff:127.0.0.1]/x.jpg",
        "http://2130706433/x.jpg",
        "http://localhost/x.jpg",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.jpg",
    ],
)
def test_remote_private_addresses_are_refused(strict_server, strict_admin, url):
    task_id = new_task(strict_admin, "ssrf")
    before = data_files(strict_server)
    response = strict_admin.post(
        f"/api/tasks/{task_id}/data/", json={"image_quality": 70, "remote_files": [url]}
    )
    assert response.status_code == 400, response.text
    assert "remote_files" in response.json()
    assert request_count(strict_admin, task_id) == 0
    assert data_files(strict_server) == before


def _upload_archive(admin, task_id: int, name: str, payload: bytes) -> dict:
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url, headers={"Upload-Multiple": ""}, files={"client_files[0]": (name, payload, "x")}
    )
    return wait_request(admin, finish(admin, task_id))


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_archives_are_extracted(server, admin):
    task_id = new_task(admin, "zip")
    result = _upload_archive(
        admin, task_id, "set.zip", _zip({"d/one.jpg": JPEG, "d/two.jpg": JPEG, "notes.txt": b"x"})
    )
    assert result["status"] == "finished", result
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["d/one.jpg", "d/two.jpg"]


def test_tar_gz_archives_are_extracted(server, admin):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("frames/a.jpg")
        info.size = len(JPEG)
        archive.addfile(info, io.BytesIO(JPEG))
    task_id = new_task(admin, "tgz")
    assert _upload_archive(admin, task_id, "set.tar.gz", buffer.getvalue())["status"] == "finished"


def test_archive_with_traversal_fails_and_writes_nothing_outside(strict_server, strict_admin):
    task_id = new_task(strict_admin, "evil-zip")
    target = strict_server.data_dir / "tasks" / "evil.jpg"
    result = _upload_archive(strict_admin, task_id, "evil.zip", _zip({"../../evil.jpg": JPEG}))
    assert result["status"] == "failed" and "evil" in result["message"]
    assert not target.exists() and not (strict_server.data_dir / "evil.jpg").exists()
    assert not (strict_server.data_dir / "tasks" / str(task_id)).exists()


def test_archive_with_too_many_entries_fails_fast(strict_server, strict_admin):
    task_id = new_task(strict_admin, "bomb")
    entries = {f"f{n}.jpg": JPEG for n in range(6)}
    result = _upload_archive(strict_admin, task_id, "many.zip", _zip(entries))
    assert result["status"] == "failed"
    assert "entries" in result["message"] or "5" in result["message"]


def test_decompression_bomb_pixel_limit(strict_server, strict_admin):
    task_id = new_task(strict_admin, "pixels")
    url = f"/api/tasks/{task_id}/data/"
    strict_admin.post(url, headers={"Upload-Start": ""})
    big = image_bytes(600, 500)  # 300,000 pixels > 250,000
    strict_admin.post(
        url, headers={"Upload-Multiple": ""}, files={"client_files[0]": ("huge.jpg", big, "x")}
    )
    result = wait_request(strict_admin, finish(strict_admin, task_id))
    assert result["status"] == "failed" and "huge.jpg" in result["message"]


def test_upload_names_cannot_escape_the_staging_area(server, admin):
    task_id = new_task(admin, "names")
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    response = admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("../../../escape.jpg", JPEG, "image/jpeg")},
    )
    assert response.status_code == 200
    assert not (server.data_dir / "escape.jpg").exists()
    assert wait_request(admin, finish(admin, task_id))["status"] == "finished"
    names = [f["name"] for f in admin.get(f"/api/tasks/{task_id}/data/meta").json()["frames"]]
    assert names == ["escape.jpg"]
