"""Small tasks and projects with known annotations, made over annotask's REST API.

Media is tiny on purpose (a few 40x30 JPEGs, a 10-frame 64x48 video): the
third-party clients read every file, and the suite has a time limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.media import image_bytes, write_video
from tests.support.rest import wait_request

LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]}
        ],
    },
    {"name": "person"},
]

VIDEO_FRAMES = 10


@dataclass
class Made:
    """A task as the tests need it: ids, frame names and the annotations put in it."""

    id: int
    frames: list[str]
    sizes: list[tuple[int, int]]  # (height, width) per frame
    labels: dict[str, int] = field(default_factory=dict)
    jobs: list[int] = field(default_factory=list)


def create_project(client: httpx.Client, name: str) -> int:
    made = client.post("/api/projects", json={"name": name, "labels": LABELS})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _create_task(
    client: httpx.Client, name: str, files: dict, project_id: int | None, **options
) -> int:
    body = {"name": name, **({"project_id": project_id} if project_id else {"labels": LABELS})}
    created = client.post("/api/tasks", json={**body, **options})
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    url = f"/api/tasks/{task_id}/data/"
    assert client.post(url, headers={"Upload-Start": ""}).status_code == 202
    assert client.post(url, headers={"Upload-Multiple": ""}, files=files).status_code == 200
    done = client.post(
        url,
        json={"image_quality": 90, "sorting_method": "lexicographical"},
        headers={"Upload-Finish": ""},
    )
    assert done.status_code == 202, done.text
    result = wait_request(client, done.json()["rq_id"])
    assert result["status"] == "finished", result
    return task_id


def _describe(client: httpx.Client, task_id: int) -> Made:
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    labels = client.get("/api/labels", params={"task_id": task_id}).json()["results"]
    jobs = client.get("/api/jobs", params={"task_id": task_id}).json()["results"]
    return Made(
        id=task_id,
        frames=[f["name"] for f in meta["frames"]],
        sizes=[(f["height"], f["width"]) for f in meta["frames"]],
        labels={label["name"]: label["id"] for label in labels},
        jobs=sorted(job["id"] for job in jobs),
    )


def image_task(
    client: httpx.Client, name: str, prefix: str, project_id: int | None = None, **options
) -> Made:
    """Three JPEGs ``<prefix>0.jpg``..., each a pixel larger than the one before."""
    files = {
        f"client_files[{i}]": (
            f"{prefix}{i}.jpg",
            image_bytes(40 + i, 30 + i, seed=i),
            "image/jpeg",
        )
        for i in range(3)
    }
    return _describe(client, _create_task(client, name, files, project_id, **options))


def video_task(client: httpx.Client, name: str, tmp: Path, project_id: int | None = None) -> Made:
    video = write_video(tmp / f"{name}.mp4", frames=VIDEO_FRAMES, size=(64, 48), gop=5)
    files = {"client_files[0]": (video.name, video.read_bytes(), "video/mp4")}
    return _describe(client, _create_task(client, name, files, project_id))


def put_annotations(client: httpx.Client, task_id: int, body: dict) -> dict:
    """Replace the task's annotations, as the UI's save does (``PUT``)."""
    answer = client.put(f"/api/tasks/{task_id}/annotations", json={"version": 0, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def annotate_images(client: httpx.Client, task: Made) -> None:
    """Frame 0: a car box and a person polygon; frame 1: a person box; frame 2: a tag."""
    car, person = task.labels["car"], task.labels["person"]
    color = _attribute_id(client, car, "color")
    put_annotations(
        client,
        task.id,
        {
            "shapes": [
                _shape("rectangle", car, 0, [2, 2, 20, 15], [{"spec_id": color, "value": "blue"}]),
                _shape("polygon", person, 0, [5, 5, 30, 5, 30, 25, 5, 25]),
                _shape("rectangle", person, 1, [1, 1, 10, 12]),
            ],
            "tags": [
                {
                    "frame": 2,
                    "label_id": car,
                    "group": 0,
                    "source": "manual",
                    "attributes": [{"spec_id": color, "value": "red"}],
                }
            ],
            "tracks": [],
        },
    )


def annotate_video(client: httpx.Client, task: Made) -> None:
    """A car track from frame 2 to 6 (keyframes 2 and 5, outside at 7), a person box on 0."""
    car, person = task.labels["car"], task.labels["person"]
    color = _attribute_id(client, car, "color")
    track_shapes = [
        {**_shape("rectangle", car, 2, [4, 4, 20, 20]), "outside": False},
        {**_shape("rectangle", car, 5, [10, 8, 26, 24]), "outside": False},
        {**_shape("rectangle", car, 7, [10, 8, 26, 24]), "outside": True},
    ]
    for shape in track_shapes:
        shape.pop("label_id")
    put_annotations(
        client,
        task.id,
        {
            "shapes": [_shape("rectangle", person, 0, [1, 1, 12, 12])],
            "tags": [],
            "tracks": [
                {
                    "frame": 2,
                    "label_id": car,
                    "group": 0,
                    "source": "manual",
                    "attributes": [{"spec_id": color, "value": "red"}],
                    "shapes": track_shapes,
                }
            ],
        },
    )


def _shape(kind: str, label: int, frame: int, points: list, attributes=None) -> dict:
    return {
        "type": kind,
        "frame": frame,
        "label_id": label,
        "points": [float(p) for p in points],
        "group": 0,
        "source": "manual",
        "occluded": False,
        "z_order": 0,
        "attributes": attributes or [],
    }


def _attribute_id(client: httpx.Client, label_id: int, name: str) -> int:
    label = client.get(f"/api/labels/{label_id}").json()
    return next(a["id"] for a in label["attributes"] if a["name"] == name)


def export_zip(
    client: httpx.Client, target: str, target_id: int, fmt: str, out: Path, images: bool = True
) -> Path:
    """``POST .../dataset/export`` with images, wait, download: the zip's path."""
    started = client.post(
        f"/api/{target}s/{target_id}/dataset/export",
        params={"format": fmt, "save_images": str(images)},
        headers={"Content-Type": "application/json"},
    )
    assert started.status_code == 202, started.text
    done = wait_request(client, started.json()["rq_id"], timeout=120)
    assert done["status"] == "finished", done
    download = client.get(done["result_url"])
    assert download.status_code == 200, download.text
    out.write_bytes(download.content)
    return out
