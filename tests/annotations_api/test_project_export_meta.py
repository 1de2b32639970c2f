"""The ``<meta>`` of a project's CVAT XML export is CVAT's ``ProjectData`` meta.

CVAT writes ``<meta><project>`` with each task's own meta under ``<tasks>``
(a video task's ``<original_size>`` and ``<source>`` included) and the
``<subsets>``. annotask wrote the first task's meta under the project's id,
without ``<original_size>``, and Datumaro could not import a video project's
"CVAT for video" export (found by tests/ecosystem/test_datumaro.py).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from defusedxml import ElementTree

from tests.conftest import start_server
from tests.ecosystem import scenes
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Iterator[LiveServer]:
    yield from start_server(tmp_path_factory.mktemp("project-meta"), "sqlite")


@pytest.mark.parametrize("fmt", ["CVAT for video 1.1", "CVAT for images 1.1"])
def test_project_export_meta_is_cvats(embedded, tmp_path, fmt):
    client = embedded.client()
    project = scenes.create_project(client, "meta-project")
    client.patch(f"/api/projects/{project}", json={"bug_tracker": "https://bugs.example/1"})
    images = scenes.image_task(client, "images", "a", project, subset="Train")
    video = scenes.video_task(client, "video", tmp_path, project)
    archive = scenes.export_zip(client, "project", project, fmt, tmp_path / "p.zip", images=False)
    client.close()

    with zipfile.ZipFile(archive) as opened:
        root = ElementTree.parse(io.BytesIO(opened.read("annotations.xml"))).getroot()
    meta = root.find("meta")
    assert [child.tag for child in meta] == ["project", "dumped"]
    node = meta.find("project")
    assert [child.tag for child in node] == [
        "id",
        "name",
        "bugtracker",
        "created",
        "updated",
        "tasks",
        "subsets",
        "owner",
        "assignee",
        "labels",
    ]
    assert node.findtext("id") == str(project)
    assert node.findtext("name") == "meta-project"
    assert node.findtext("bugtracker") == "https://bugs.example/1"
    assert [label.findtext("name") for label in node.find("labels")] == ["car", "person"]
    assert sorted(node.findtext("subsets").split("\n")) == ["Train", "default"]

    tasks = {int(task.findtext("id")): task for task in node.find("tasks")}
    assert sorted(tasks) == sorted([images.id, video.id])
    image_meta, video_meta = tasks[images.id], tasks[video.id]
    assert image_meta.findtext("name") == "images"
    assert image_meta.findtext("subset") == "Train"
    assert image_meta.findtext("size") == "3"
    assert image_meta.find("original_size") is None
    assert image_meta.find("labels") is None  # the project holds the labels
    assert video_meta.findtext("subset") == "default"
    assert video_meta.findtext("size") == str(scenes.VIDEO_FRAMES)
    assert video_meta.findtext("original_size/width") == "64"
    assert video_meta.findtext("original_size/height") == "48"
    assert video_meta.findtext("source") == "video.mp4"
    assert video_meta.find("segments/segment/url").text.endswith(f"/api/jobs/{video.jobs[0]}")


def test_task_export_meta_is_unchanged(embedded, tmp_path):
    """A task's meta keeps its labels and, for a video, ``<original_size>`` and ``<source>``."""
    client = embedded.client()
    video = scenes.video_task(client, "alone", tmp_path)
    archive = scenes.export_zip(
        client, "task", video.id, "CVAT for video 1.1", tmp_path / "t.zip", images=False
    )
    client.close()
    with zipfile.ZipFile(archive) as opened:
        root = ElementTree.parse(io.BytesIO(opened.read("annotations.xml"))).getroot()
    task = root.find("meta/task")
    assert task.findtext("id") == str(video.id)
    assert [child.tag for child in task][-3:] == ["labels", "original_size", "source"]
    assert task.findtext("original_size/width") == "64"
