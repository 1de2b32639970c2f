"""Datumaro imports every dataset export annotask offers (issue 12, item 10).

Every format (CVAT for images, CVAT for video, COCO) of an image task, a video
task, and of projects holding them, exported with images, then imported with
Datumaro (``Dataset.import_from``) in its own venv: the items, labels,
annotation counts and image files are checked.

Two layouts are unreadable by Datumaro whoever writes them, CVAT included:
"CVAT for video" of an image task (no ``<original_size>``: Datumaro needs a
frame size for tracks) and "CVAT for images" of a video task (images named
``frame_000000`` while the files are ``frame_000000.png``). Those cases are
strict xfails: if they start to pass, the layout changed and this file must
say so.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ecosystem import scenes
from tests.ecosystem.conftest import DriverFailed, client_python, run_driver
from tests.ecosystem.venvs import DATUMARO
from tests.support.server import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("datumaro")]

FORMATS = {  # annotask's exporter -> Datumaro's importer
    "CVAT for images 1.1": "cvat",
    "CVAT for video 1.1": "cvat",
    "COCO 1.0": "coco_instances",
}

UNREADABLE = {
    ("image", "CVAT for video 1.1"): (
        "Datumaro cannot read CVAT-video of an image task, as CVAT writes it: the "
        "meta has no <original_size> and Datumaro's tracks need one (TypeError)"
    ),
    ("video", "CVAT for images 1.1"): (
        "Datumaro cannot read CVAT-images of a video task, as CVAT writes it: "
        "<image name='frame_000000'> while the file is images/frame_000000.png "
        "('Cannot find an image which has name=frame_000000')"
    ),
}


@pytest.fixture(scope="module")
def dm_python() -> Path:
    return client_python(DATUMARO)


@pytest.fixture(scope="module")
def made(eco_server: LiveServer, tmp_path_factory) -> Iterator[dict]:
    """A project of two image tasks, a project of one video task, all annotated."""
    client = eco_server.client()
    tmp = tmp_path_factory.mktemp("dm-media")
    images = scenes.create_project(client, "datumaro-images")
    first = scenes.image_task(client, "images-1", "a", images)
    second = scenes.image_task(client, "images-2", "b", images)
    videos = scenes.create_project(client, "datumaro-video")
    video = scenes.video_task(client, "video-1", tmp, videos)
    scenes.annotate_images(client, first)
    scenes.annotate_images(client, second)
    scenes.annotate_video(client, video)
    yield {
        ("task", "image"): (first.id, [first]),
        ("project", "image"): (images, [first, second]),
        ("task", "video"): (video.id, [video]),
        ("project", "video"): (videos, [video]),
        "client": client,
    }
    client.close()


def _expected_images(tasks: list[scenes.Made], fmt: str) -> dict[str, list]:
    """Item id -> sorted (type, label) of what Datumaro should read, per image frame."""
    per_frame = {
        # frame 0: a car box and a person polygon; frame 1: a person box; frame 2: a tag
        "CVAT for images 1.1": [
            [("bbox", "car"), ("polygon", "person")],
            [("bbox", "person")],
            [("label", "car")],
        ],
        # COCO has no tags; Datumaro adds each polygon's bounding box as a bbox
        "COCO 1.0": [
            [("bbox", "car"), ("bbox", "person"), ("polygon", "person")],
            [("bbox", "person")],
            [],
        ],
    }[fmt]
    return {
        Path(name).stem: per_frame[index]
        for task in tasks
        for index, name in enumerate(task.frames)
    }


def _expected_video(fmt: str) -> dict[str, list]:
    """The person box on frame 0 and the car track on frames 2-6 (outside on 7)."""
    names = [f"frame_{n:06d}" for n in range(scenes.VIDEO_FRAMES)]
    if fmt == "COCO 1.0":  # every frame is an item; shapes only where visible
        expected = {name: [] for name in names}
        expected[names[0]] = [("bbox", "person")]
        for n in range(2, 7):
            expected[names[n]] = [("bbox", "car")]
        return expected
    # CVAT for video: Datumaro makes items of the frames that have track shapes,
    # outside ones included (a lone shape is a track that ends on the next frame).
    expected = {names[0]: [("bbox", "person")], names[1]: [("bbox", "person")]}
    for n in range(2, 8):
        expected[names[n]] = [("bbox", "car")]
    return expected


def _cases():
    for target in ("task", "project"):
        for media in ("image", "video"):
            for fmt in FORMATS:
                marks = []
                if (media, fmt) in UNREADABLE:
                    marks.append(
                        pytest.mark.xfail(
                            reason=UNREADABLE[(media, fmt)], strict=True, raises=DriverFailed
                        )
                    )
                slug = fmt.split(" 1.")[0].replace(" ", "-").lower()
                yield pytest.param(target, media, fmt, marks=marks, id=f"{target}-{media}-{slug}")


@pytest.mark.parametrize(("target", "media", "fmt"), list(_cases()))
def test_datumaro_imports_the_export(dm_python, made, tmp_path, target, media, fmt):
    target_id, tasks = made[(target, media)]
    archive = scenes.export_zip(made["client"], target, target_id, fmt, tmp_path / "export.zip")
    directory = tmp_path / "export"
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(directory)

    read = run_driver(dm_python, "datumaro_read.py", str(directory), FORMATS[fmt])

    assert read["labels"] == ["car", "person"]
    got = {
        item["id"]: sorted((a["type"], a["label"]) for a in item["annotations"])
        for item in read["items"]
    }
    expected = _expected_images(tasks, fmt) if media == "image" else _expected_video(fmt)
    assert got == expected
    sizes = (
        {
            Path(name).stem: size
            for task in tasks
            for name, size in zip(task.frames, task.sizes, strict=True)
        }
        if media == "image"
        else {name: (48, 64) for name in expected}
    )
    for item in read["items"]:
        # the image file Datumaro resolved is in the export, and is the frame's image
        assert item["exists"], f"{item['id']}: no image at {item['path']}"
        assert Path(item["path"]).resolve().is_relative_to(directory.resolve() / "images")
        assert tuple(item["shape"]) == sizes[item["id"]], item["id"]
    if media == "video" and fmt == "CVAT for video 1.1":
        tracks = {
            item["id"]: {a["track_id"] for a in item["annotations"]} for item in read["items"]
        }
        car_frames = [f"frame_{n:06d}" for n in range(2, 8)]
        assert len(set().union(*(tracks[f] for f in car_frames))) == 1  # one car track
