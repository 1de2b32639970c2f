"""Issue 12: what tools written against CVAT send, beyond cvat-sdk and cvat-cli.

FiftyOne's CVAT backend, Datumaro's readers and years of scripts reach the REST
API with requests CVAT accepts: one-shot multipart uploads, tracks whose
``frame`` is not their first keyframe, ``version: 0`` in annotation bodies,
COCO files named as they are packed, CVAT's UI URLs. Each test below makes
those requests over HTTP against a real server.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.annotations_api.helpers import label_id, make_task
from tests.support.media import write_video
from tests.support.resources import unique
from tests.support.rest import wait_request

COCO_MEMBER = "annotations/instances_default.json"


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("eco") / "clip.mp4", frames=8, size=(64, 48))


def video_task(client: httpx.Client, video: Path, **params) -> dict:
    """A video task made as FiftyOne makes one: the task with ``image_quality`` in its
    body, then one multipart POST carrying the file and the data parameters."""
    created = client.post(
        "/api/tasks",
        json={
            "name": unique("fo-video"),
            "image_quality": 75,
            "labels": [{"name": "car", "attributes": [], "type": "any"}],
        },
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    fields = {"image_quality": "75", **{k: str(v).lower() for k, v in params.items()}}
    files = {"client_files[0]": ("clip.mp4", video.read_bytes(), "video/mp4")}
    answer = client.post(f"/api/tasks/{task_id}/data/", data=fields, files=files)
    assert answer.status_code == 202, answer.text
    assert wait_request(client, answer.json()["rq_id"])["status"] == "finished"
    return client.get(f"/api/tasks/{task_id}").json()


def export(client: httpx.Client, path: str, fmt: str, save_images: bool) -> zipfile.ZipFile:
    query = {"format": fmt, "save_images": str(save_images), "location": "local"}
    started = client.post(path, params=query)
    assert started.status_code == 202, started.text
    done = wait_request(client, started.json()["rq_id"])
    assert done["status"] == "finished", done
    download = client.get(done["result_url"])
    assert download.status_code == 200
    return zipfile.ZipFile(io.BytesIO(download.content))


# ---- item 7: chunk size of videos with zip chunks ------------------------------------------


def test_zip_chunks_of_a_video_follow_the_image_formula(server, admin, video):
    """``use_zip_chunks`` makes image-set chunks: 64x48 frames get the image formula's
    72 (capped), not the 36 of mp4 chunks (task-semantics 3c)."""
    zipped = video_task(admin, video, use_zip_chunks=True)
    assert zipped["data_compressed_chunk_type"] == "imageset"
    assert zipped["data_chunk_size"] == 72
    mp4 = video_task(admin, video)
    assert (mp4["data_compressed_chunk_type"], mp4["data_chunk_size"]) == ("video", 36)
    given = video_task(admin, video, use_zip_chunks=True, chunk_size=5)
    assert given["data_chunk_size"] == 5


# ---- item 5: exports other tools can read ------------------------------------------------


def test_coco_file_names_are_the_packed_files(server, admin, video):
    """A video frame is packed as ``images/frame_000000.png``: COCO's ``file_name`` says
    ``frame_000000.png`` (Datumaro finds the image by it); CVAT XML keeps CVAT's names."""
    task = video_task(admin, video)
    archive = export(admin, f"/api/tasks/{task['id']}/dataset/export", "COCO 1.0", True)
    coco = json.loads(archive.read(COCO_MEMBER))
    names = [image["file_name"] for image in coco["images"]]
    assert names[:2] == ["frame_000000.png", "frame_000001.png"] and len(names) == 8
    packed = {name.removeprefix("images/") for name in archive.namelist() if name != COCO_MEMBER}
    assert set(names) == packed
    plain = export(admin, f"/api/tasks/{task['id']}/dataset/export", "COCO 1.0", False)
    assert json.loads(plain.read(COCO_MEMBER))["images"][0]["file_name"] == "frame_000000.png"
    xml = export(admin, f"/api/tasks/{task['id']}/dataset/export", "CVAT for images 1.1", True)
    document = xml.read("annotations.xml").decode()
    assert 'name="frame_000000"' in document and "images/frame_000000.png" in xml.namelist()
    # Image tasks: the file names were already the packed ones.
    images = make_task(admin, 2, name="coco-img")
    archive = export(admin, f"/api/tasks/{images['id']}/dataset/export", "COCO 1.0", True)
    coco = json.loads(archive.read(COCO_MEMBER))
    assert sorted(i["file_name"] for i in coco["images"]) == ["f0.jpg", "f1.jpg"]


# ---- item 2: tracks whose frame is not their first keyframe ---------------------------------


def test_a_track_is_stored_from_its_first_keyframe(server, admin):
    task = make_task(admin, 3)
    car = label_id(task, "car")
    url = f"/api/jobs/{task['jobs_list'][0]['id']}/annotations/"

    def keyframe(frame: int, outside: bool = False) -> dict:
        return {
            "type": "rectangle",
            "frame": frame,
            "points": [1, 1, 9, 9],
            "outside": outside,
            "occluded": False,
            "attributes": [],
        }

    track = {
        "frame": 2,  # FiftyOne sends the frame of the sample, not of the first keyframe
        "label_id": car,
        "group": 0,
        "source": "manual",
        "attributes": [],
        "shapes": [keyframe(1), keyframe(2, outside=True)],
    }
    saved = admin.put(url, json={"version": 0, "tags": [], "shapes": [], "tracks": [track]})
    assert saved.status_code == 200, saved.text
    (stored,) = admin.get(url).json()["tracks"]
    assert stored["frame"] == 1
    assert [s["frame"] for s in stored["shapes"]] == [1, 2]


# ---- item 6: one-shot multipart uploads ------------------------------------------------------


def test_one_shot_uploads_on_every_upload_endpoint(server, admin, tmp_path):
    """CVAT's UploadMixin takes the file in the POST itself, without Upload-Start/Finish:
    task data, annotations, task and project backups, project dataset import."""
    task = make_task(admin, 2, name="one-shot")
    car = label_id(task, "car")
    job_url = f"/api/jobs/{task['jobs_list'][0]['id']}/annotations/"
    box = {"type": "rectangle", "frame": 0, "label_id": car, "points": [1, 1, 5, 5]}
    assert admin.put(job_url, json={"shapes": [box]}).status_code == 200

    # Annotations: a CVAT XML file in ``annotation_file``.
    xml = export(admin, f"/api/tasks/{task['id']}/dataset/export", "CVAT for images 1.1", False)
    admin.delete(f"/api/tasks/{task['id']}/annotations/")
    answer = admin.post(
        f"/api/tasks/{task['id']}/annotations/",
        params={"format": "CVAT 1.1"},
        files={"annotation_file": ("a.xml", xml.read("annotations.xml"), "application/xml")},
    )
    assert answer.status_code == 202, answer.text
    assert wait_request(admin, answer.json()["rq_id"])["status"] == "finished"
    assert len(admin.get(job_url).json()["shapes"]) == 1

    # Task backup: ``task_file``.
    backup = _backup(admin, f"/api/tasks/{task['id']}/backup/export")
    answer = admin.post("/api/tasks/backup/", files={"task_file": ("b.zip", backup, "a/zip")})
    assert answer.status_code == 202, answer.text
    restored = wait_request(admin, answer.json()["rq_id"])
    assert restored["status"] == "finished", restored
    copy = admin.get(f"/api/tasks/{restored['result_id']}").json()
    assert (copy["size"], copy["id"] != task["id"]) == (2, True)

    # Project backup (``project_file``) and dataset import (``dataset_file``).
    project = admin.post("/api/projects", json={"name": unique("p"), "labels": [{"name": "car"}]})
    project_id = project.json()["id"]
    member = make_task(admin, 2, name="in-project", labels=[], project_id=project_id)
    member_job = f"/api/jobs/{member['jobs_list'][0]['id']}/annotations/"
    member_car = label_id(member, "car")
    assert admin.put(member_job, json={"shapes": [{**box, "label_id": member_car}]}).is_success
    backup = _backup(admin, f"/api/projects/{project_id}/backup/export")
    answer = admin.post("/api/projects/backup/", files={"project_file": ("p.zip", backup, "a/zip")})
    assert answer.status_code == 202, answer.text
    restored = wait_request(admin, answer.json()["rq_id"])
    assert restored["status"] == "finished", restored
    assert admin.get(f"/api/projects/{restored['result_id']}").json()["tasks"]["count"] == 1

    dataset = export(admin, f"/api/projects/{project_id}/dataset/export", "COCO 1.0", False)
    admin.delete(member_job)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr(COCO_MEMBER, dataset.read(COCO_MEMBER))
    answer = admin.post(
        f"/api/projects/{project_id}/dataset/",
        params={"format": "COCO 1.0"},
        files={"dataset_file": ("d.zip", buffer.getvalue(), "application/zip")},
    )
    assert answer.status_code == 202, answer.text
    assert wait_request(admin, answer.json()["rq_id"])["status"] == "finished"
    assert len(admin.get(member_job).json()["shapes"]) == 1

    # Without a file, the answer says how to send one.
    empty = admin.post("/api/tasks/backup/", json={})
    assert empty.status_code == 400 and "multipart" in empty.text


def _backup(client: httpx.Client, path: str) -> bytes:
    started = client.post(path)
    assert started.status_code == 202, started.text
    done = wait_request(client, started.json()["rq_id"])
    assert done["status"] == "finished", done
    return client.get(done["result_url"]).content


# ---- item 4: ids are never reused ------------------------------------------------------------


def test_ids_of_deleted_objects_are_never_given_again(server, admin):
    """A client that cached task 156 must never reach another object under that id:
    delete the newest project, task (with its labels and jobs), then create again."""
    first = admin.post("/api/projects", json={"name": unique("p")}).json()["id"]
    assert admin.delete(f"/api/projects/{first}").status_code == 204
    second = admin.post("/api/projects", json={"name": unique("p")}).json()["id"]
    assert second > first

    old = make_task(admin, 2, name="newest")
    old_labels = [label["id"] for label in old["labels_list"]]
    old_jobs = [job["id"] for job in old["jobs_list"]]
    assert admin.delete(f"/api/tasks/{old['id']}").status_code == 204
    new = make_task(admin, 2, name="after")
    assert new["id"] > old["id"]
    assert min(label["id"] for label in new["labels_list"]) > max(old_labels)
    assert min(job["id"] for job in new["jobs_list"]) > max(old_jobs)


# ---- item 9: CVAT's UI URL of a job --------------------------------------------------------


def test_cvat_job_url_is_the_job_page(server, admin):
    task = make_task(admin, 1, name="ui-url")
    job_id = task["jobs_list"][0]["id"]
    page = admin.get(f"/tasks/{task['id']}/jobs/{job_id}", params={"frame": 0})
    assert page.status_code == 200 and f'data-job-id="{job_id}"' in page.text
    anonymous = httpx.Client(base_url=server.url)
    try:
        away = anonymous.get(f"/tasks/{task['id']}/jobs/{job_id}?frame=3")
        assert away.status_code == 303
        assert away.headers["location"].startswith("/login?next=%2Ftasks%2F")
    finally:
        anonymous.close()
