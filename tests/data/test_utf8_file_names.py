"""Multipart file names arrive as UTF-8 (browsers, ``requests`` and httpx send them so)."""

from __future__ import annotations

import pytest

from tests.support.media import image_bytes
from tests.support.rest import new_task, wait_request

JPEG = image_bytes(40, 30)
NAMES = ["café.jpg", "фото.jpg", "写真 1.jpg"]


def _create(client, task_id: int, files: list[tuple[str, tuple[str, bytes, str]]]) -> dict:
    url = f"/api/tasks/{task_id}/data/"
    response = client.post(
        url, files=files, data={"image_quality": "70", "sorting_method": "predefined"}
    )
    assert response.status_code == 202, response.text
    return wait_request(client, response.json()["rq_id"])


def test_utf8_file_names_keep_their_names(server, admin):
    task_id = new_task(admin, "utf8")
    files = [(f"client_files[{i}]", (name, JPEG, "image/jpeg")) for i, name in enumerate(NAMES)]
    result = _create(admin, task_id, files)
    assert result["status"] == "finished", result
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert [frame["name"] for frame in meta["frames"]] == NAMES


def test_utf8_file_names_as_requests_encodes_them(sqlite_server):
    """``requests`` and cvat-sdk build multipart bodies with urllib3: raw UTF-8 names."""
    urllib3 = pytest.importorskip("urllib3")
    client = sqlite_server.client()
    task_id = new_task(client, "utf8-urllib3")
    body, content_type = urllib3.encode_multipart_formdata(
        [
            ("client_files[0]", ("фото.jpg", JPEG, "image/jpeg")),
            ("client_files[1]", ("café.jpg", JPEG, "image/jpeg")),
            ("image_quality", "70"),
        ]
    )
    assert "фото.jpg".encode() in body  # the raw UTF-8 bytes, no RFC 2231 escaping
    response = client.post(
        f"/api/tasks/{task_id}/data/", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 202, response.text
    result = wait_request(client, response.json()["rq_id"])
    assert result["status"] == "finished", result
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    client.close()
    assert sorted(frame["name"] for frame in meta["frames"]) == ["café.jpg", "фото.jpg"]
