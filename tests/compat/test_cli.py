"""Spec 5.2 C10 and 5.3 L11: the stock cvat-cli with projects and auto-annotation.

CLI-heavy, so on the embedded server only; every call must be clean (exit 0,
no traceback, no warning).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support.cvat import run_cli, sdk_client
from tests.support.media import write_images

FAST = ["--completion_verification_period", "0.1"]


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """a.jpg 40x30, b.jpg 41x31, c.jpg 42x32."""
    return write_images(tmp_path_factory.mktemp("cli-img"), ["a.jpg", "b.jpg", "c.jpg"])


def last_id(result) -> int:
    return int(result.lines[-1])


def test_c10_project_task_gets_the_project_labels(sqlite_server, tmp_path, images):
    created = run_cli(
        sqlite_server, tmp_path, "project", "create", "p", "--labels", '[{"name":"tree"}]'
    ).assert_clean()
    project_id = last_id(created)
    task = run_cli(
        sqlite_server,
        tmp_path,
        "task",
        "create",
        "t10",
        "local",
        str(images[0]),
        "--project_id",
        str(project_id),
        *FAST,
    ).assert_clean()
    task_id = last_id(task)
    with sdk_client(sqlite_server) as client:
        read = client.tasks.retrieve(task_id)
        assert read.project_id == project_id and read.size == 1
        assert [label.name for label in read.get_labels()] == ["tree"]
        project = client.projects.retrieve(project_id)
        assert [t.id for t in project.get_tasks()] == [task_id]
        assert project.tasks.count == 1


FUNCTION = textwrap.dedent(
    """
    import cvat_sdk.auto_annotation as cvataa

    spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("car", 0)])


    def detect(context, image):
        width, height = image.size
        return [cvataa.rectangle(0, [1, 1, width - 1, height - 1])]
    """
)


def test_l11_auto_annotate_with_a_function_file(sqlite_server, tmp_path, images):
    function = tmp_path / "fn.py"
    function.write_text(FUNCTION)
    labels = json.dumps([{"name": "car"}, {"name": "person"}])
    task_id = last_id(
        run_cli(
            sqlite_server,
            tmp_path,
            "task",
            "create",
            "l11",
            "local",
            *map(str, images),
            "--labels",
            labels,
            "--chunk_size",
            "2",
            *FAST,
        ).assert_clean()
    )
    from cvat_sdk import models

    with sdk_client(sqlite_server) as client:
        task = client.tasks.retrieve(task_id)
        person = next(label.id for label in task.get_labels() if label.name == "person")
        task.set_annotations(
            models.LabeledDataRequest(
                shapes=[
                    models.LabeledShapeRequest(
                        type="polygon", frame=1, label_id=person, points=[1, 1, 9, 1, 5, 7]
                    )
                ]
            )
        )

    def annotate(*extra: str) -> None:
        result = run_cli(
            sqlite_server,
            tmp_path,
            "task",
            "auto-annotate",
            str(task_id),
            "--function-file",
            str(function),
            *extra,
        ).assert_clean()
        assert result.stdout.strip() == ""

    def shapes() -> list[tuple]:
        with sdk_client(sqlite_server) as client:
            task = client.tasks.retrieve(task_id)
            names = {label.id: label.name for label in task.get_labels()}
            data = task.get_annotations()
            assert data.tags == [] and data.tracks == []
            return sorted(
                (s.frame, names[s.label_id], s.type.value, s.source, s.points) for s in data.shapes
            )

    sizes = [(40, 30), (41, 31), (42, 32)]
    auto = [
        (frame, "car", "rectangle", "auto", [1.0, 1.0, float(w - 1), float(h - 1)])
        for frame, (w, h) in enumerate(sizes)
    ]
    manual = (1, "person", "polygon", "manual", [1.0, 1.0, 9.0, 1.0, 5.0, 7.0])

    annotate()  # appends: the manual shape stays
    assert shapes() == sorted([*auto, manual])
    annotate("--clear-existing")  # replaces everything: one auto shape per frame
    assert shapes() == auto


# ---- server bugs found while writing these tests, fixed since: they guard against regressions ----


def test_l8_create_from_backup_with_a_non_latin1_file_name(sqlite_server, tmp_path, images):
    task_id = last_id(
        run_cli(
            sqlite_server,
            tmp_path,
            "task",
            "create",
            "euro",
            "local",
            str(images[0]),
            "--labels",
            '[{"name":"car"}]',
            *FAST,
        ).assert_clean()
    )
    backup = tmp_path / "bäckup €.zip"
    run_cli(
        sqlite_server, tmp_path, "task", "backup", str(task_id), str(backup), *FAST
    ).assert_clean()
    restored = run_cli(
        sqlite_server, tmp_path, "task", "create-from-backup", str(backup), *FAST
    ).assert_clean()
    with sdk_client(sqlite_server) as client:
        assert client.tasks.retrieve(last_id(restored)).name == "euro"


def test_l7_import_annotations_with_a_non_latin1_file_name(sqlite_server, tmp_path, images):
    from tests.annotations_api.helpers import cvat_xml

    xml = tmp_path / "注釈.xml"
    xml.write_bytes(cvat_xml([("a.jpg", 40, 30)], [(0, "car", (1.0, 2.0, 10.0, 12.0))]))
    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec={"name": "cjk", "labels": [{"name": "car"}]}, resources=[str(images[0])]
        )
        task.import_annotations("CVAT 1.1", xml)
        assert [s.frame for s in task.get_annotations().shapes] == [0]
