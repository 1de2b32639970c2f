"""The stock SDK and CLI against annotations, exports, imports and backups (spec 5.2-5.4).

One embedded server: these flows do not depend on the backend, and the CLI is slow.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.annotations_api.helpers import cvat_xml
from tests.support.cvat import run_cli, sdk_client
from tests.support.media import write_images
from tests.support.route_servers import BACKGROUND_REQUESTS

pytestmark = BACKGROUND_REQUESTS

LIVE_SDK = pytest.mark.live_server("cvat-sdk is a real HTTP client: it needs a socket")
LIVE_CLI = pytest.mark.live_server("cvat-cli runs in a subprocess against a real server")

FAST = ["--completion_verification_period", "0.1"]
LABELS = json.dumps([{"name": "car"}, {"name": "person"}])


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """a.jpg 40x30, b.jpg 41x31, c.jpg 42x32."""
    return write_images(tmp_path_factory.mktemp("img"), ["a.jpg", "b.jpg", "c.jpg"])


def ann_xml(tmp_path: Path, frame: int = 1) -> Path:
    path = tmp_path / "ann.xml"
    frames = [("a.jpg", 40, 30), ("b.jpg", 41, 31), ("c.jpg", 42, 32)]
    path.write_bytes(cvat_xml(frames, [(frame, "car", (1.0, 2.0, 10.0, 12.0))]))
    return path


def create(server, home: Path, images: list[Path], *extra: str) -> int:
    result = run_cli(
        server,
        home,
        "task",
        "create",
        "cli",
        "local",
        *map(str, images),
        "--labels",
        LABELS,
        *FAST,
        *extra,
    ).assert_clean()
    return int(result.lines[-1])


@LIVE_CLI
def test_c11_create_with_annotation_path(sqlite_server, tmp_path, images):
    task_id = create(sqlite_server, tmp_path, images, "--annotation_path", str(ann_xml(tmp_path)))
    with sdk_client(sqlite_server) as client:
        shapes = client.tasks.retrieve(task_id).get_annotations().shapes
    assert [(s.type.value, s.frame, s.points) for s in shapes] == [
        ("rectangle", 1, [1.0, 2.0, 10.0, 12.0])
    ]


@LIVE_CLI
def test_l5_l6_l7_export_and_import_dataset(sqlite_server, tmp_path, images):
    task_id = create(sqlite_server, tmp_path, images)
    # L7: import (the default mode replaces: importing twice leaves one box)
    for _ in range(2):
        run_cli(
            sqlite_server,
            tmp_path,
            "task",
            "import-dataset",
            str(task_id),
            str(ann_xml(tmp_path, frame=2)),
            "--format",
            "CVAT 1.1",
        ).assert_clean()
    with sdk_client(sqlite_server) as client:
        shapes = client.tasks.retrieve(task_id).get_annotations().shapes
    assert [(s.frame, s.label_id is not None) for s in shapes] == [(2, True)]
    # L5: into a directory: the server names the file
    out = tmp_path / "out"
    out.mkdir()
    run_cli(
        sqlite_server, tmp_path, "task", "export-dataset", str(task_id), str(out), *FAST
    ).assert_clean()
    (exported,) = list(out.iterdir())
    assert exported.name.startswith(f"task_{task_id}_annotations_") and exported.suffix == ".zip"
    with zipfile.ZipFile(exported) as archive:
        assert archive.namelist() == ["annotations.xml"]
        document = archive.read("annotations.xml").decode()
    assert '<box label="car"' in document and 'name="c.jpg"' in document
    # L6: with images, to a file name
    target = tmp_path / "ds.zip"
    run_cli(
        sqlite_server,
        tmp_path,
        "task",
        "export-dataset",
        str(task_id),
        str(target),
        "--with-images",
        "true",
        *FAST,
    ).assert_clean()
    with zipfile.ZipFile(target) as archive:
        names = sorted(archive.namelist())
        assert archive.read("images/b.jpg") == images[1].read_bytes()
    assert names == ["annotations.xml", "images/a.jpg", "images/b.jpg", "images/c.jpg"]


@LIVE_CLI
def test_l8_backup_and_restore_through_the_cli(sqlite_server, tmp_path, images):
    task_id = create(
        sqlite_server,
        tmp_path,
        images,
        "--annotation_path",
        str(ann_xml(tmp_path)),
        "--segment_size",
        "2",
        "--overlap",
        "1",
        "--image_quality",
        "55",
    )
    backup = tmp_path / "out" / "b.zip"
    backup.parent.mkdir()
    run_cli(
        sqlite_server, tmp_path, "task", "backup", str(task_id), str(backup), *FAST
    ).assert_clean()
    with zipfile.ZipFile(backup) as archive:
        names = set(archive.namelist())
    assert {"task.json", "annotations.json", "data/a.jpg", "data/c.jpg"} <= names
    result = run_cli(
        sqlite_server, tmp_path, "task", "create-from-backup", str(backup), *FAST
    ).assert_clean()
    new_id = int(result.lines[-1])
    assert new_id != task_id
    with sdk_client(sqlite_server) as client:
        old, new = client.tasks.retrieve(task_id), client.tasks.retrieve(new_id)
        assert (new.name, new.size, new.segment_size, new.overlap, new.image_quality) == (
            old.name,
            old.size,
            old.segment_size,
            old.overlap,
            old.image_quality,
        )
        assert [f.name for f in new.get_meta().frames] == ["a.jpg", "b.jpg", "c.jpg"]
        assert sorted(lab.name for lab in new.get_labels()) == ["car", "person"]
        assert [(j.start_frame, j.stop_frame) for j in new.get_jobs()] == [
            (j.start_frame, j.stop_frame) for j in old.get_jobs()
        ]

        def shapes(task):
            names = {lab.id: lab.name for lab in task.get_labels()}
            return [(names[s.label_id], s.frame, s.points) for s in task.get_annotations().shapes]

        assert shapes(new) == shapes(old) == [("car", 1, [1.0, 2.0, 10.0, 12.0])]


@LIVE_SDK
def test_s2_annotations_round_trip(sqlite_server, images):
    from cvat_sdk import models
    from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction

    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="s2", labels=[{"name": "cat"}]),
            resources=[str(p) for p in images],
        )
        lid = task.get_labels()[0].id
        task.set_annotations(
            models.LabeledDataRequest(
                shapes=[
                    models.LabeledShapeRequest(
                        type="rectangle", frame=0, label_id=lid, points=[1, 2, 3, 4]
                    )
                ]
            )
        )
        assert task.get_annotations().shapes[0].points == [1.0, 2.0, 3.0, 4.0]
        task.update_annotations(
            models.PatchedLabeledDataRequest(
                tags=[models.LabeledImageRequest(frame=1, label_id=lid)]
            ),
            action=AnnotationUpdateAction.CREATE,
        )
        data = task.get_annotations()
        assert [(t.frame, t.label_id) for t in data.tags] == [(1, lid)]
        assert len(data.shapes) == 1
        # Not remove_annotations(ids=...): the SDK matches that id against tags and shapes
        # alike, and the two tables number their rows independently (as in CVAT).
        task.update_annotations(
            models.PatchedLabeledDataRequest(
                tags=[models.LabeledImageRequest(**data.tags[0].to_dict())]
            ),
            action=AnnotationUpdateAction.DELETE,
        )
        data = task.get_annotations()
        assert data.tags == [] and len(data.shapes) == 1
        task.remove_annotations()
        data = task.get_annotations()
        assert data.tags == [] and data.shapes == [] and data.tracks == []


@LIVE_CLI
def test_s3_export_import_backup(sqlite_server, tmp_path, images):
    from cvat_sdk import models

    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="s3", labels=[{"name": "car"}]),
            resources=[str(p) for p in images],
        )
        path = task.export_dataset("CVAT for images 1.1", tmp_path, include_images=False)
        assert path is not None and path.parent == tmp_path and path.is_file()
        xml = ann_xml(tmp_path)
        task.import_annotations("CVAT 1.1", xml)
        task.import_annotations("CVAT XML 1.1", xml)
        assert len(task.get_annotations().shapes) == 1
        task.import_annotations("CVAT 1.1", xml, import_mode="append")
        assert len(task.get_annotations().shapes) == 2
        backup = task.download_backup(tmp_path / "b.zip")
        restored = client.tasks.create_from_backup(backup)
        assert restored.id != task.id and restored.size == task.size
        assert len(restored.get_annotations().shapes) == 2


def test_project_export_and_dataset_import(sqlite_server, tmp_path):
    from tests.annotations_api.helpers import box, label_id, make_task, upload_file, wait_request

    client = sqlite_server.client()
    project = client.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}]})
    project_id = project.json()["id"]
    first = make_task(client, 2, name="p1", labels=[], project_id=project_id)
    second = make_task(client, 1, name="p2", labels=[], project_id=project_id, prefix="g")
    car = label_id(first, "car")
    for task, frame in ((first, 1), (second, 0)):
        url = f"/api/tasks/{task['id']}/annotations/"
        assert client.put(url, json={"shapes": [box(car, frame, [1, 2, 9, 9])]}).status_code == 200
    started = client.post(
        f"/api/projects/{project_id}/dataset/export", params={"format": "CVAT for images 1.1"}
    )
    done = wait_request(client, started.json()["rq_id"])
    assert f"/api/projects/{project_id}/dataset/download?" in done["result_url"]
    document = zipfile.ZipFile(io.BytesIO(client.get(done["result_url"]).content)).read(
        "annotations.xml"
    )
    assert document.count(b"<image ") == 3 and document.count(b"<box ") == 2
    for task in (first, second):
        assert client.delete(f"/api/tasks/{task['id']}/annotations/").status_code == 204
    # images are matched by name with the frames of all the project's tasks
    imported = upload_file(
        client, f"/api/projects/{project_id}/dataset/", "p.xml", document, {"format": "CVAT 1.1"}
    )
    assert imported.status_code == 202, imported.text
    result = wait_request(client, imported.json()["rq_id"])
    assert result["status"] == "finished", result
    frames = [
        [s["frame"] for s in client.get(f"/api/tasks/{t['id']}/annotations/").json()["shapes"]]
        for t in (first, second)
    ]
    assert frames == [[1], [0]]
    client.close()
