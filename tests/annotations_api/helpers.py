"""Tasks with data made over raw HTTP (fast), and small helpers for annotation tests."""

from __future__ import annotations

import base64
import io
import zipfile

import httpx

from tests.support.media import image_bytes
from tests.support.rest import wait_request

__all__ = ["wait_request"]

BOX_LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]},
            {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "1"]},
        ],
    },
    {"name": "person"},
]


def make_task(
    client: httpx.Client,
    frames: int = 3,
    *,
    name: str = "ann",
    labels: list | None = None,
    prefix: str = "f",
    **options,
) -> dict:
    """A task with ``frames`` small JPEGs (``f0.jpg``...), created like the CLI does."""
    body = {"name": name, "labels": BOX_LABELS if labels is None else labels, **options}
    created = client.post("/api/tasks", json=body)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    url = f"/api/tasks/{task_id}/data/"
    assert client.post(url, headers={"Upload-Start": ""}).status_code == 202
    files = {
        f"client_files[{i}]": (
            f"{prefix}{i}.jpg",
            image_bytes(64 + i, 48 + i, seed=i),
            "image/jpeg",
        )
        for i in range(frames)
    }
    assert client.post(url, headers={"Upload-Multiple": ""}, files=files).status_code == 200
    done = client.post(
        url,
        json={"image_quality": 70, "sorting_method": "lexicographical"},
        headers={"Upload-Finish": ""},
    )
    assert done.status_code == 202, done.text
    result = wait_request(client, done.json()["rq_id"])
    assert result["status"] == "finished", result
    task = client.get(f"/api/tasks/{task_id}").json()
    task["labels_list"] = client.get("/api/labels", params={"task_id": task_id}).json()["results"]
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    task["jobs_list"] = sorted(jobs, key=lambda j: j["id"])
    return task


def label_id(task: dict, name: str) -> int:
    return next(label["id"] for label in task["labels_list"] if label["name"] == name)


def attribute_id(task: dict, label: str, name: str) -> int:
    found = next(lab for lab in task["labels_list"] if lab["name"] == label)
    return next(a["id"] for a in found["attributes"] if a["name"] == name)


def box(label: int, frame: int, points, **extra) -> dict:
    return {"type": "rectangle", "frame": frame, "label_id": label, "points": points, **extra}


def upload_file(
    client: httpx.Client, url: str, name: str, content: bytes, query: dict
) -> httpx.Response:
    """The CLI's annotation/backup upload: Upload-Start, TUS create + PATCH, Upload-Finish."""
    start = client.post(url, params=query, headers={"Upload-Start": ""})
    assert start.status_code == 202, start.text
    encoded = base64.b64encode(name.encode()).decode()
    created = client.post(
        url,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(content)),
            "Upload-Metadata": f"filename {encoded}",
        },
    )
    assert created.status_code == 201, created.text
    patched = client.patch(
        created.headers["Location"],
        content=content,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patched.status_code == 204, patched.text
    params = {**query, "filename": created.headers["Upload-Filename"]}
    return client.post(
        url,
        params=params,
        headers={"Upload-Finish": "", "Content-Type": "application/json"},
    )


def zip_members(content: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(content)).namelist()


def cvat_xml(frames: list[tuple[str, int, int]], boxes: list[tuple[int, str, tuple]]) -> bytes:
    """A "CVAT for images 1.1" document: ``boxes`` are ``(frame index, label, points)``."""
    images = []
    for index, (name, width, height) in enumerate(frames):
        inner = "".join(
            f'<box label="{label}" occluded="0" source="manual" xtl="{p[0]}" ytl="{p[1]}" '
            f'xbr="{p[2]}" ybr="{p[3]}" z_order="0"></box>'
            for frame, label, p in boxes
            if frame == index
        )
        images.append(
            f'<image id="{index}" name="{name}" width="{width}" height="{height}">{inner}</image>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version>'
        + "".join(images)
        + "</annotations>"
    ).encode()
