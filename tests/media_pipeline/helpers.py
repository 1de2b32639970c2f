"""Raw-HTTP helpers for task creation tests: upload files, finish, wait, read back."""

from __future__ import annotations

import io
import zipfile

import httpx

from tests.support.rest import new_task, wait_request

__all__ = ["new_task", "wait_request"]


def start_data(
    client: httpx.Client, task_id: int, files: dict[str, bytes], **params
) -> httpx.Response:
    """Upload ``files`` in one Upload-Multiple request, then finish with ``params``."""
    url = f"/api/tasks/{task_id}/data/"
    assert client.post(url, headers={"Upload-Start": ""}).status_code == 202
    if files:
        multiple = client.post(
            url,
            headers={"Upload-Multiple": ""},
            files={
                f"client_files[{i}]": (name, payload, "application/octet-stream")
                for i, (name, payload) in enumerate(files.items())
            },
        )
        assert multiple.status_code == 200, multiple.text
    return client.post(url, json={"image_quality": 70, **params}, headers={"Upload-Finish": ""})


def create(client: httpx.Client, files: dict[str, bytes], *, task: dict | None = None, **params):
    """Create a task with ``files``; returns (task id, finished request body)."""
    task_id = new_task(client, **(task or {}))
    response = start_data(client, task_id, files, **params)
    assert response.status_code == 202, response.text
    return task_id, wait_request(client, response.json()["rq_id"])


def create_ok(client: httpx.Client, files: dict[str, bytes], **kwargs) -> int:
    task_id, result = create(client, files, **kwargs)
    assert result["status"] == "finished", result
    return task_id


def data(
    client: httpx.Client, task_id: int, kind: str, number: int, quality="compressed", *, job=None
):
    base = f"/api/jobs/{job}/data" if job is not None else f"/api/tasks/{task_id}/data/"
    return client.get(base, params={"type": kind, "number": number, "quality": quality})


def chunk_zip(client: httpx.Client, task_id: int, number: int, quality="compressed", **kw):
    response = data(client, task_id, "chunk", number, quality, **kw)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert int(response.headers["content-length"]) == len(response.content)
    return zipfile.ZipFile(io.BytesIO(response.content))


def jobs(client: httpx.Client, task_id: int) -> list[tuple[int, int]]:
    body = client.get("/api/jobs", params={"task_id": task_id, "page_size": 1000}).json()
    return sorted((j["start_frame"], j["stop_frame"]) for j in body["results"])


def job_ids(client: httpx.Client, task_id: int) -> list[dict]:
    body = client.get("/api/jobs", params={"task_id": task_id, "page_size": 1000}).json()
    return sorted(body["results"], key=lambda j: j["start_frame"])


def meta(client: httpx.Client, task_id: int) -> dict:
    response = client.get(f"/api/tasks/{task_id}/data/meta")
    assert response.status_code == 200, response.text
    return response.json()


def generated_dir(data_dir, task_id: int):
    """Where a finished task's generated files are: its one attempt directory
    (``tasks/<id>/attempts/<request>-<n>/``), as ``Data.files_dir`` names it."""
    found = list((data_dir / "tasks" / str(task_id) / "attempts").iterdir())
    assert len(found) == 1, found
    return found[0]
