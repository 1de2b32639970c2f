"""3D tasks end to end (spec 5): point clouds from uploads, ``.bin`` files and the share."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from cvat_sdk import models
from PIL import Image

from annotask.media.point_cloud import kitti_pcd_header
from tests.compat.contract import DATA_META_FIELDS, check_value, field_problems, parse_json
from tests.media.test_point_cloud import kitti_points, pcd_bytes
from tests.support.cvat import sdk_client
from tests.support.rest import wait_request
from tests.support.server import LiveServer

from .conftest import encode, jpeg, pixels
from .helpers import (
    chunk_zip,
    create,
    create_ok,
    data,
    generated_dir,
    job_ids,
    meta,
    new_task,
    start_data,
)


def converted(sweep: np.ndarray) -> bytes:
    """What a KITTI sweep becomes: CVAT's header (tested literally in tests/media), then
    the same float32 records."""
    return kitti_pcd_header(len(sweep)) + sweep.astype("<f4").tobytes()


def scenes(count: int, prefix: str = "scene") -> dict[str, bytes]:
    """``count`` PCDs, scene ``i`` organised as (i + 3) x 2 points."""
    return {
        f"{prefix}{i}.pcd": pcd_bytes(kitti_points(2 * (i + 3), seed=i), height=2)
        for i in range(count)
    }


def png(width: int, height: int, seed: int) -> bytes:
    return encode(Image.fromarray(pixels(width, height, seed)), "PNG")


def members(archive: zipfile.ZipFile) -> list[bytes]:
    return [archive.read(name) for name in archive.namelist()]


def task_json(client, task_id: int) -> dict:
    response = client.get(f"/api/tasks/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()


def preview_is_jpeg(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).format == "JPEG"


@pytest.mark.parametrize("use_cache", [False, True], ids=["static", "on-the-fly"])
def test_a_3d_task_from_uploaded_pcd_files(admin, use_cache):
    files = scenes(5)
    files["scene1.png"] = png(30, 20, 1)  # Custom 1: context image next to its scene
    files["scene1.jpg"] = jpeg(24, 16, 2)
    task_id = create_ok(admin, files, task={"segment_size": 3}, chunk_size=2, use_cache=use_cache)
    task = task_json(admin, task_id)
    assert (task["dimension"], task["mode"], task["size"]) == ("3d", "annotation", 5)
    assert task["media_type"] == "point_cloud"
    assert task["data_compressed_chunk_type"] == task["data_original_chunk_type"] == "imageset"
    frames = meta(admin, task_id)["frames"]
    assert [(f["name"], f["width"], f["height"]) for f in frames] == [
        (f"scene{i}.pcd", i + 3, 2) for i in range(5)
    ]
    assert [f["related_files"] for f in frames] == [0, 2, 0, 0, 0]
    pcds = list(scenes(5).values())
    for quality in ("compressed", "original"):
        for index in range(3):
            chunk = chunk_zip(admin, task_id, index, quality)
            expected = pcds[2 * index : 2 * index + 2]
            assert chunk.namelist() == [f"{i:06d}.pcd" for i in range(len(expected))]
            assert members(chunk) == expected
        frame = data(admin, task_id, "frame", 3, quality)
        assert frame.status_code == 200 and frame.content == pcds[3]
    second_job = job_ids(admin, task_id)[1]  # frames 3..4
    assert members(chunk_zip(admin, task_id, 0, job=second_job["id"])) == pcds[3:5]
    job_meta = admin.get(f"/api/jobs/{second_job['id']}/data/meta").json()
    assert [f["name"] for f in job_meta["frames"]] == ["scene3.pcd", "scene4.pcd"]
    context = data(admin, task_id, "context_image", 1)
    assert context.status_code == 200 and context.headers["content-type"] == "application/zip"
    images = zipfile.ZipFile(io.BytesIO(context.content))
    assert images.namelist() == ["scene1.jpg.jpg", "scene1.png.jpg"]  # one stem: kept apart
    sizes = [Image.open(io.BytesIO(payload)).size for payload in members(images)]
    assert sizes == [(24, 16), (30, 20)]
    assert data(admin, task_id, "context_image", 0).status_code == 404
    preview_is_jpeg(admin, f"/api/tasks/{task_id}/preview")
    preview_is_jpeg(admin, f"/api/jobs/{second_job['id']}/preview")


def test_kitti_bin_files_are_converted_to_pcd(client, sqlite_server):
    sweeps = [kitti_points(40 + 10 * i, seed=i) for i in range(4)]
    files = {
        f"drive/velodyne_points/data/{i:010d}.bin": sweep.tobytes()
        for i, sweep in enumerate(sweeps)
    }
    files["drive/image_00/data/0000000002.png"] = png(32, 24, 5)
    files["drive/velodyne_points/timestamps.txt"] = b"2011-09-26 13:02:25.964389445\n"
    task_id = create_ok(client, files, frame_filter="step=2", start_frame=0)
    frames = meta(client, task_id)["frames"]
    assert [(f["name"], f["width"], f["height"], f["related_files"]) for f in frames] == [
        ("drive/velodyne_points/data/0000000000.pcd", 40, 1, 0),
        ("drive/velodyne_points/data/0000000002.pcd", 60, 1, 1),
    ]
    chunk = chunk_zip(client, task_id, 0, "original")
    assert chunk.namelist() == ["000000.pcd", "000001.pcd"]
    assert members(chunk) == [converted(sweeps[0]), converted(sweeps[2])]
    header = b"VERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\n"
    header += b"WIDTH 60\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 60\nDATA binary\n"
    values = np.frombuffer(members(chunk)[1][len(header) :], dtype="<f4").reshape(-1, 4)
    np.testing.assert_array_equal(values, sweeps[2])
    context = zipfile.ZipFile(io.BytesIO(data(client, task_id, "context_image", 1).content))
    assert context.namelist() == ["0000000002.jpg"]
    manifest = generated_dir(sqlite_server.data_dir, task_id) / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines()[2:]]
    assert entries[2] == {
        "name": "drive/velodyne_points/data/0000000002",
        "extension": ".pcd",
        "meta": {"related_images": ["drive/image_00/data/0000000002.png"]},
    }
    assert all("width" not in entry for entry in entries)  # spec 4: none for pcd entries


def test_supervisely_and_scene_folders_inside_an_archive(client):
    sweep = kitti_points(12, seed=7)
    clouds = scenes(2, prefix="frame")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in clouds.items():  # Supervisely
            archive.writestr(f"sly/ds0/pointcloud/{name}", payload)
        archive.writestr("sly/ds0/related_images/frame0_pcd/cam_front.png", png(18, 12, 1))
        archive.writestr("sly/ds0/related_images/frame0_pcd/cam_front.png.json", b"{}")
        archive.writestr("sly/key_id_map.json", b"{}")
        archive.writestr("zz/s1/s1.bin", sweep.tobytes())  # custom layout 2, converted in place
        archive.writestr("zz/s1/left.png", png(10, 10, 2))
        archive.writestr("zz/s1/right.jpg", jpeg(12, 10, 3))
    task_id = create_ok(client, {"clouds.zip": buffer.getvalue()}, use_cache=True)
    frames = meta(client, task_id)["frames"]
    assert [(f["name"], f["width"], f["related_files"]) for f in frames] == [
        ("sly/ds0/pointcloud/frame0.pcd", 3, 1),
        ("sly/ds0/pointcloud/frame1.pcd", 4, 0),
        ("zz/s1/s1.pcd", 12, 2),
    ]
    assert members(chunk_zip(client, task_id, 0)) == [*clouds.values(), converted(sweep)]
    context = zipfile.ZipFile(io.BytesIO(data(client, task_id, "context_image", 2).content))
    assert context.namelist() == ["left.jpg", "right.jpg"]


@pytest.mark.parametrize("use_cache", [False, True], ids=["static", "on-the-fly"])
def test_a_kitti_raw_folder_on_the_share_is_read_in_place(admin, server: LiveServer, use_cache):
    folder = f"kitti-{'cache' if use_cache else 'static'}"
    root = server.share_root / folder
    sweeps = [kitti_points(16 + i, seed=20 + i) for i in range(3)]
    for index, sweep in enumerate(sweeps):
        velodyne = root / "velodyne_points" / "data"
        velodyne.mkdir(parents=True, exist_ok=True)
        (velodyne / f"{index:010d}.bin").write_bytes(sweep.tobytes())
        for camera in ("image_00", "IMAGE_02"):
            (root / camera / "data").mkdir(parents=True, exist_ok=True)
            (root / camera / "data" / f"{index:010d}.png").write_bytes(png(20, 10, index))
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    task_id = new_task(admin)
    response = admin.post(
        f"/api/tasks/{task_id}/data/",
        json={"image_quality": 70, "server_files": [f"{folder}/"], "use_cache": use_cache},
    )
    assert response.status_code == 202, response.text
    assert wait_request(admin, response.json()["rq_id"])["status"] == "finished"
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before  # share untouched
    frames = meta(admin, task_id)["frames"]
    assert [(f["name"], f["width"], f["related_files"]) for f in frames] == [
        (f"{folder}/velodyne_points/data/{i:010d}.pcd", 16 + i, 2) for i in range(3)
    ]
    assert members(chunk_zip(admin, task_id, 0)) == [converted(s) for s in sweeps]
    context = zipfile.ZipFile(io.BytesIO(data(admin, task_id, "context_image", 2).content))
    assert context.namelist() == ["IMAGE_02/data/0000000002.jpg", "image_00/data/0000000002.jpg"]
    assert task_json(admin, task_id)["dimension"] == "3d"


def test_2d_and_3d_media_cannot_be_mixed(client):
    files = {**scenes(2), "street.jpg": jpeg(20, 20)}
    task_id, result = create(client, files)
    assert result["status"] == "failed"
    assert result["message"].startswith(
        "Combined media types are not supported, found: images, 3d point clouds."
    )
    assert "Unknown files: street.jpg" in result["message"]
    assert task_json(client, task_id)["size"] == 0


def test_a_project_holds_tasks_of_one_dimension(client):
    project = client.post("/api/projects", json={"name": "mixed", "labels": [{"name": "car"}]})
    assert project.status_code == 201, project.text
    in_project = {"project_id": project.json()["id"], "labels": []}
    create_ok(client, {"a.jpg": jpeg(20, 20)}, task=in_project)
    task_id, result = create(client, scenes(2), task=in_project)
    assert result["status"] == "failed"
    assert result["message"] == (
        "Dimension (3d) of the task must be the same as other tasks in project (2d)"
    )
    assert task_json(client, task_id)["dimension"] == "2d"
    assert client.get(f"/api/projects/{project.json()['id']}").json()["dimension"] == "2d"
    # Moving a 3D task with data into the project is refused the same way.
    cloud_id = create_ok(client, scenes(2), task={"labels": [{"name": "car"}]})
    moved = client.patch(f"/api/tasks/{cloud_id}", json={"project_id": project.json()["id"]})
    assert moved.status_code == 400
    assert moved.json()["project_id"] == [
        "Dimension (3d) of the task must be the same as other tasks in project (2d)"
    ]
    assert task_json(client, cloud_id)["project_id"] is None


def test_a_corrupt_pcd_fails_naming_it_and_the_task_takes_a_new_upload(client):
    files = scenes(2)
    files["broken.pcd"] = files["scene1.pcd"][:-10]
    task_id, result = create(client, files)
    assert result["status"] == "failed"
    assert result["message"].startswith("Could not read pcd file 'broken.pcd': ")
    assert "truncated" in result["message"]
    odd = {"bad.bin": b"\0" * 20}
    _, result = create(client, odd)
    assert result["message"].startswith("Could not read pcd file 'bad.bin': its size (20 bytes)")
    response = start_data(client, task_id, scenes(2))
    assert response.status_code == 202, response.text
    assert wait_request(client, response.json()["rq_id"])["status"] == "finished"
    assert [f["name"] for f in meta(client, task_id)["frames"]] == ["scene0.pcd", "scene1.pcd"]


def test_cvat_sdk_creates_and_reads_a_3d_task(sqlite_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    paths = []
    for name, payload in {**scenes(3, prefix="lidar"), "lidar0.png": png(16, 12, 3)}.items():
        path = tmp_path / name
        path.write_bytes(payload)
        paths.append(path)
    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="3d", labels=[{"name": "car", "type": "cuboid"}]),
            resources=[str(p) for p in paths],
            data_params={"image_quality": 70, "chunk_size": 2},
        )
        assert (task.dimension, task.size, task.mode) == ("3d", 3, "annotation")
        frames = task.get_meta().frames
        assert [(f.name, f.width, f.height) for f in frames] == [
            ("lidar0.pcd", 3, 2),
            ("lidar1.pcd", 4, 2),
            ("lidar2.pcd", 5, 2),
        ]
        assert frames[0].related_files == 1
        buffer = io.BytesIO()
        task.download_chunk(0, buffer, quality="original")
        assert members(zipfile.ZipFile(buffer)) == [p.read_bytes() for p in paths[:2]]
        assert task.get_frame(2, quality="compressed").read() == paths[2].read_bytes()
        assert Image.open(task.get_preview()).format == "JPEG"
        (job,) = task.get_jobs()
        assert client.jobs.retrieve(job.id).get_meta().frames[1].name == "lidar1.pcd"
        # The strict deserializer accepted everything above; check the raw JSON too.
        problems: list[str] = []
        for api, op, schema_op in (
            (client.api_client.tasks_api, "retrieve", "retrieve"),
            (client.api_client.tasks_api, "retrieve_data_meta", "retrieve_data_meta"),
        ):
            _, response = getattr(api, op)(task.id)
            raw = parse_json(response)
            schema = getattr(api, f"{schema_op}_endpoint").settings["response_schema"]
            check_value(raw, schema, op, problems)
            if op == "retrieve_data_meta":
                problems += field_problems(raw, DATA_META_FIELDS, op)
        assert not problems, problems


def test_a_manifest_gives_the_predefined_order_of_point_clouds(client):
    files = scenes(3)
    manifest = ['{"version":"1.1"}', '{"type":"images"}']
    manifest += [f'{{"name":"scene{i}","extension":".pcd"}}' for i in (2, 0, 1)]
    files["manifest.jsonl"] = ("\n".join(manifest) + "\n").encode()
    task_id = create_ok(client, files, sorting_method="predefined")
    names = [f["name"] for f in meta(client, task_id)["frames"]]
    assert names == ["scene2.pcd", "scene0.pcd", "scene1.pcd"]
    assert members(chunk_zip(client, task_id, 0))[0] == files["scene2.pcd"]
