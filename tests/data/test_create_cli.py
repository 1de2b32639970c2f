"""Spec 5.2: cvat-cli task create from every source, checked through the SDK."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.support.cvat import run_cli, sdk_client
from tests.support.media import write_garbage, write_image, write_images

LABELS = json.dumps(
    [
        {
            "name": "car",
            "attributes": [
                {
                    "name": "color",
                    "mutable": False,
                    "input_type": "select",
                    "values": ["red", "blue"],
                }
            ],
        },
        {"name": "person"},
    ]
)
FAST = ["--completion_verification_period", "0.1"]


def create(server, home, name, *args) -> int:
    result = run_cli(server, home, "task", "create", name, *args, *FAST).assert_clean()
    return int(result.lines[-1])


def test_c1_local_files(server, tmp_path, abc_images):
    task_id = create(server, tmp_path, "t1", "local", *map(str, abc_images), "--labels", LABELS)
    with sdk_client(server) as client:
        task = client.tasks.retrieve(task_id)
        assert task.size == 3
        meta = task.get_meta()
        assert [f.name for f in meta.frames] == ["a.jpg", "b.jpg", "c.jpg"]
        assert [(f.width, f.height) for f in meta.frames] == [(40, 30), (41, 31), (42, 32)]
        labels = {label.name: label for label in task.get_labels()}
        assert set(labels) == {"car", "person"}
        assert labels["car"].attributes[0].values == ["red", "blue"]
        assert len(task.get_jobs()) == 1


def test_c2_natural_sorting(server, tmp_path):
    files = write_images(tmp_path / "in", ["f10.jpg", "f2.jpg", "f1.jpg"])
    task_id = create(
        server,
        tmp_path,
        "t2",
        "local",
        *map(str, files),
        "--labels",
        '[{"name":"a"}]',
        "--sorting-method",
        "natural",
    )
    with sdk_client(server) as client:
        names = [f.name for f in client.tasks.retrieve(task_id).get_meta().frames]
    assert names == ["f1.jpg", "f2.jpg", "f10.jpg"]


def test_c3_predefined_sorting_keeps_the_command_line_order(server, tmp_path):
    files = write_images(tmp_path / "in", ["f10.jpg", "f2.jpg", "f1.jpg"])
    task_id = create(
        server,
        tmp_path,
        "t3",
        "local",
        *map(str, files),
        "--labels",
        '[{"name":"a"}]',
        "--sorting-method",
        "predefined",
    )
    with sdk_client(server) as client:
        names = [f.name for f in client.tasks.retrieve(task_id).get_meta().frames]
    assert names == ["f10.jpg", "f2.jpg", "f1.jpg"]


def test_c4_task_options(server, tmp_path):
    files = write_images(tmp_path / "in", [f"i{n}.jpg" for n in range(7)])
    task_id = create(
        server,
        tmp_path,
        "t4",
        "local",
        *map(str, files),
        "--labels",
        '[{"name":"a"}]',
        "--segment_size",
        "3",
        "--overlap",
        "1",
        "--chunk_size",
        "2",
        "--image_quality",
        "55",
        "--bug_tracker",
        "http://bt/1",
        "--subset",
        "Train",
    )
    with sdk_client(server) as client:
        task = client.tasks.retrieve(task_id)
        assert task.segment_size == 3 and task.overlap == 1
        assert task.bug_tracker == "http://bt/1" and task.subset == "Train"
        assert task.data_chunk_size == 2 and task.image_quality == 55
        jobs = sorted((j.start_frame, j.stop_frame) for j in task.get_jobs())
        assert jobs == [(0, 2), (2, 4), (4, 6)]
        buffer = io.BytesIO()
        task.download_chunk(0, buffer, quality="compressed")
        assert len(zipfile.ZipFile(buffer).infolist()) == 2


def test_c5_frame_range_and_step(server, tmp_path):
    files = write_images(tmp_path / "in", [f"i{n}.jpg" for n in range(6)])
    task_id = create(
        server,
        tmp_path,
        "t5",
        "local",
        *map(str, files),
        "--labels",
        '[{"name":"a"}]',
        "--start_frame",
        "1",
        "--stop_frame",
        "4",
        "--frame_step",
        "2",
    )
    with sdk_client(server) as client:
        task = client.tasks.retrieve(task_id)
        meta = task.get_meta()
        assert task.size == 2
        assert meta.frame_filter == "step=2"
        assert [f.name for f in meta.frames] == ["i1.jpg", "i3.jpg"]


def test_c6_cache_zip_copy_flags(server, tmp_path, abc_images):
    task_id = create(
        server,
        tmp_path,
        "t6",
        "local",
        *map(str, abc_images),
        "--labels",
        '[{"name":"a"}]',
        "--use_cache",
        "--use_zip_chunks",
        "--copy_data",
    )
    with sdk_client(server) as client:
        task = client.tasks.retrieve(task_id)
        assert task.size == 3
        buffer = io.BytesIO()
        task.download_chunk(0, buffer, quality="original")
        assert len(zipfile.ZipFile(buffer).infolist()) == 3


def test_c8_share_directory_and_files(server, tmp_path):
    write_images(server.share_root / "sub", ["s0.png", "s1.png", "s2.png"])
    whole = create(server, tmp_path, "t8", "share", "sub/", "--labels", '[{"name":"a"}]')
    some = create(
        server, tmp_path, "t8b", "share", "sub/s0.png", "sub/s2.png", "--labels", '[{"name":"a"}]'
    )
    with sdk_client(server) as client:
        assert client.tasks.retrieve(whole).size == 3
        task = client.tasks.retrieve(some)
        assert [f.name for f in task.get_meta().frames] == ["sub/s0.png", "sub/s2.png"]


def test_c9_remote_files(server, tmp_path, remote_base):
    task_id = create(
        server,
        tmp_path,
        "t9",
        "remote",
        f"{remote_base}/x.jpg",
        f"{remote_base}/y.jpg",
        "--labels",
        '[{"name":"a"}]',
    )
    with sdk_client(server) as client:
        assert client.tasks.retrieve(task_id).size == 2


def test_c12_broken_file_fails_and_leaves_no_healthy_task(server, tmp_path, admin):
    bad = write_garbage(tmp_path / "bad.jpg")
    result = run_cli(
        server,
        tmp_path,
        "task",
        "create",
        "t12",
        "local",
        str(bad),
        "--labels",
        '[{"name":"a"}]',
        *FAST,
    )
    assert result.returncode != 0
    assert "bad.jpg" in result.stderr
    tasks = admin.get("/api/tasks", params={"name": "t12", "page_size": 100}).json()["results"]
    for task in tasks:
        assert task["size"] == 0 and task["data"] is None
        assert task["creation_request"]["status"] == "failed"


def test_c13_unknown_share_path_is_a_clear_400(server, tmp_path):
    result = run_cli(
        server,
        tmp_path,
        "task",
        "create",
        "t13",
        "share",
        "nope/missing.png",
        "--labels",
        '[{"name":"a"}]',
        *FAST,
    )
    assert result.returncode == 1
    assert "400" in result.stderr and "server_files" in result.stderr


@pytest.mark.slow
def test_c14_many_small_files_in_one_request(sqlite_server, tmp_path):
    files = [write_image(tmp_path / "many" / f"p{n:04d}.png", 4, 3) for n in range(1500)]
    task_id = create(
        sqlite_server, tmp_path, "t14", "local", *map(str, files), "--labels", '[{"name":"a"}]'
    )
    with sdk_client(sqlite_server) as client:
        assert client.tasks.retrieve(task_id).size == 1500


@pytest.mark.slow
def test_c7_big_file_goes_through_tus(sqlite_server, tmp_path):
    from PIL import Image

    big = tmp_path / "big.bmp"
    Image.new("RGB", (6000, 6000), (10, 120, 200)).save(big)
    assert big.stat().st_size > 100 * 1024 * 1024
    small = write_images(tmp_path / "s", ["s1.jpg", "s2.jpg"])
    task_id = create(
        sqlite_server,
        tmp_path,
        "t7",
        "local",
        str(big),
        *map(str, small),
        "--labels",
        '[{"name":"a"}]',
    )
    with sdk_client(sqlite_server) as client:
        task = client.tasks.retrieve(task_id)
        assert task.size == 3
        widths = {f.name: f.width for f in task.get_meta().frames}
        assert widths["big.bmp"] == 6000


def test_archive_through_the_cli(server, tmp_path):
    import zipfile as zf

    images = write_images(tmp_path / "z", ["z2.jpg", "z1.jpg"])
    archive = tmp_path / "set.zip"
    with zf.ZipFile(archive, "w") as out:
        for image in images:
            out.write(image, f"inner/{image.name}")
    task_id = create(server, tmp_path, "tzip", "local", str(archive), "--labels", '[{"name":"a"}]')
    with sdk_client(server) as client:
        names = [f.name for f in client.tasks.retrieve(task_id).get_meta().frames]
    assert names == ["inner/z1.jpg", "inner/z2.jpg"]
