"""Project backups and tasks created from a project dataset, through the stock CLI and SDK.

One embedded server (these flows do not depend on the backend); objects are made
over raw HTTP where the client is not what is tested, because the CLI is slow.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.annotations_api.helpers import box, label_id, make_task, upload_file, wait_request
from tests.support.cvat import run_cli, sdk_client
from tests.support.route_servers import BACKGROUND_REQUESTS

pytestmark = BACKGROUND_REQUESTS

LIVE_SDK = pytest.mark.live_server("cvat-sdk is a real HTTP client: it needs a socket")
LIVE_CLI = pytest.mark.live_server("cvat-cli runs in a subprocess against a real server")

FAST = ["--completion_verification_period", "0.1"]
LABELS = [{"name": "car", "attributes": []}, {"name": "person"}]


def new_project(client, name: str = "proj") -> int:
    created = client.post("/api/projects", json={"name": name, "labels": LABELS})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def put_boxes(client, task: dict, boxes: list[tuple[str, int]]) -> None:
    shapes = [box(label_id(task, name), frame, [1, 2, 9 + frame, 9]) for name, frame in boxes]
    url = f"/api/tasks/{task['id']}/annotations/"
    assert client.put(url, json={"shapes": shapes}).status_code == 200


def summary(client, project_id: int) -> dict:
    """What must survive a round trip: names, labels, tasks, frames, jobs, annotations."""
    project = client.get(f"/api/projects/{project_id}").json()
    labels = client.get("/api/labels", params={"project_id": project_id}).json()["results"]
    names = {lab["id"]: lab["name"] for lab in labels}
    tasks = client.get("/api/tasks", params={"project_id": project_id}).json()["results"]
    result = []
    for task in sorted(tasks, key=lambda t: t["id"]):
        frames = []
        if task["size"]:
            meta = client.get(f"/api/tasks/{task['id']}/data/meta").json()
            frames = [f["name"] for f in meta["frames"]]
        jobs = client.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
        shapes = client.get(f"/api/tasks/{task['id']}/annotations/").json()["shapes"]
        result.append(
            {
                "name": task["name"],
                "size": task["size"],
                "frames": frames,
                "jobs": sorted((j["start_frame"], j["stop_frame"]) for j in jobs),
                "shapes": sorted((names[s["label_id"]], s["frame"], s["points"]) for s in shapes),
            }
        )
    return {
        "name": project["name"],
        "bug_tracker": project["bug_tracker"],
        "labels": sorted(names.values()),
        "tasks": result,
    }


@LIVE_CLI
def test_project_backup_and_restore_through_the_cli(sqlite_server, tmp_path):
    client = sqlite_server.client()
    project_id = new_project(client, "street scenes")
    first = make_task(client, 3, name="t1", labels=[], project_id=project_id, segment_size=2)
    second = make_task(client, 2, name="t2", labels=[], project_id=project_id, prefix="g")
    put_boxes(client, first, [("car", 0), ("person", 2)])
    put_boxes(client, second, [("person", 1)])
    empty = client.post("/api/tasks", json={"name": "no data", "project_id": project_id})
    assert empty.status_code == 201
    before = summary(client, project_id)
    assert [len(t["shapes"]) for t in before["tasks"]] == [2, 1, 0]

    # into a directory: the server names the file (Content-Disposition)
    out = tmp_path / "out"
    out.mkdir()
    run_cli(
        sqlite_server, tmp_path, "project", "backup", str(project_id), f"{out}/", *FAST
    ).assert_clean()
    (backup,) = list(out.iterdir())
    assert backup.name.startswith("project_street scenes_backup_") and backup.suffix == ".zip"
    with zipfile.ZipFile(backup) as archive:
        names = set(archive.namelist())
        description = json.loads(archive.read("project.json"))
        task_json = json.loads(archive.read("task_0/task.json"))
    assert {
        "project.json",
        "task_0/task.json",
        "task_0/annotations.json",
        "task_0/data/f0.jpg",
        "task_0/data/f2.jpg",
        "task_1/data/g1.jpg",
        "task_2/task.json",
    } <= names
    assert description["name"] == "street scenes"
    assert [lab["name"] for lab in description["labels"]] == ["car", "person"]
    assert task_json["name"] == "t1" and task_json["data"]["files"] == [
        "f0.jpg",
        "f1.jpg",
        "f2.jpg",
    ]

    result = run_cli(
        sqlite_server, tmp_path, "project", "create-from-backup", str(backup), *FAST
    ).assert_clean()
    new_id = int(result.lines[-1])
    assert new_id != project_id
    assert summary(client, new_id) == before
    # the restored tasks are the project's own: new ids, and the source is untouched
    old_ids = {
        t["id"]
        for t in client.get("/api/tasks", params={"project_id": project_id}).json()["results"]
    }
    new_ids = {
        t["id"] for t in client.get("/api/tasks", params={"project_id": new_id}).json()["results"]
    }
    assert len(new_ids) == 3 and not old_ids & new_ids
    assert summary(client, project_id) == before
    client.close()


def test_project_restore_refuses_a_broken_backup(sqlite_server):
    client = sqlite_server.client()
    count = client.get("/api/projects").json()["count"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.json", json.dumps({"name": "broken", "labels": LABELS}))
        archive.writestr(
            "task_0/task.json", json.dumps({"name": "t", "data": {"files": ["x.jpg"]}})
        )
        archive.writestr("task_0/annotations.json", "[]")
    started = upload_file(client, "/api/projects/backup/", "b.zip", buffer.getvalue(), {})
    assert started.status_code == 202, started.text
    result = wait_request(client, started.json()["rq_id"])
    assert result["status"] == "failed" and "x.jpg" in result["message"]
    assert client.get("/api/projects").json()["count"] == count
    client.close()


@pytest.fixture(scope="module")
def dataset(sqlite_server, tmp_path_factory) -> Path:
    """A "CVAT for images 1.1" zip with images, exported by the server from a task."""
    client = sqlite_server.client()
    task = make_task(client, 3, name="source", labels=LABELS)
    put_boxes(client, task, [("car", 0), ("person", 2), ("car", 2)])
    started = client.post(
        f"/api/tasks/{task['id']}/dataset/export",
        params={"format": "CVAT for images 1.1", "save_images": "True"},
    )
    done = wait_request(client, started.json()["rq_id"])
    assert done["status"] == "finished", done
    path = tmp_path_factory.mktemp("ds") / "ds.zip"
    path.write_bytes(client.get(done["result_url"]).content)
    client.close()
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "annotations.xml",
            "images/f0.jpg",
            "images/f1.jpg",
            "images/f2.jpg",
        ]
    return path


EXPECTED_SHAPES = [
    ("car", 0, [1.0, 2.0, 9.0, 9.0]),
    ("car", 2, [1.0, 2.0, 11.0, 9.0]),
    ("person", 2, [1.0, 2.0, 11.0, 9.0]),
]


@LIVE_CLI
def test_project_create_with_dataset_path_makes_the_task(sqlite_server, tmp_path, dataset):
    result = run_cli(
        sqlite_server,
        tmp_path,
        "project",
        "create",
        "from dataset",
        "--labels",
        json.dumps(LABELS),
        "--dataset_path",
        str(dataset),
        "--dataset_format",
        "CVAT for images 1.1",
        *FAST,
    ).assert_clean()
    project_id = int(result.lines[-1])
    client = sqlite_server.client()
    (task,) = summary(client, project_id)["tasks"]
    assert task["name"] == "from dataset_default" and task["size"] == 3
    assert task["frames"] == ["f0.jpg", "f1.jpg", "f2.jpg"]
    assert task["shapes"] == EXPECTED_SHAPES
    # a second import matches the existing task's frames by name: no new task
    again = upload_file(
        client,
        f"/api/projects/{project_id}/dataset/",
        "ds.zip",
        dataset.read_bytes(),
        {"format": "CVAT 1.1"},
    )
    assert wait_request(client, again.json()["rq_id"])["status"] == "finished"
    after = summary(client, project_id)["tasks"]
    assert len(after) == 1 and after[0]["shapes"] == EXPECTED_SHAPES
    client.close()


@LIVE_SDK
def test_sdk_create_from_dataset(sqlite_server, dataset):
    from cvat_sdk import models

    with sdk_client(sqlite_server) as client:
        project = client.projects.create_from_dataset(
            spec=models.ProjectWriteRequest(name="sdk ds", labels=LABELS),
            dataset_path=str(dataset),  # the default format name, "CVAT XML 1.1"
        )
        (task,) = project.get_tasks()
        assert task.size == 3
        assert [f.name for f in task.get_meta().frames] == ["f0.jpg", "f1.jpg", "f2.jpg"]
        names = {lab.id: lab.name for lab in project.get_labels()}
        shapes = sorted(
            (names[s.label_id], s.frame, s.points) for s in task.get_annotations().shapes
        )
        assert shapes == EXPECTED_SHAPES


def test_dataset_without_images_into_an_empty_project_fails_cleanly(sqlite_server, dataset):
    client = sqlite_server.client()
    project_id = new_project(client, "no images")
    with zipfile.ZipFile(dataset) as archive:
        document = archive.read("annotations.xml")
    started = upload_file(
        client, f"/api/projects/{project_id}/dataset/", "a.xml", document, {"format": "CVAT 1.1"}
    )
    result = wait_request(client, started.json()["rq_id"])
    assert result["status"] == "failed" and "images" in result["message"]
    assert client.get("/api/tasks", params={"project_id": project_id}).json()["count"] == 0
    client.close()
