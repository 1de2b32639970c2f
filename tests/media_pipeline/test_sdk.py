"""The real cvat-sdk 2.80.0 reading data back: spec 5.4 S1, S8 and S9."""

from __future__ import annotations

import io
import zipfile

import pytest
from cvat_sdk import models
from cvat_sdk.datasets import MediaDownloadPolicy, TaskDataset
from PIL import Image

from tests.support.cvat import sdk_client

from .conftest import jpeg


@pytest.fixture
def three_images(tmp_path):
    paths = []
    for index, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        path = tmp_path / name
        path.write_bytes(jpeg(40 + index, 30 + index, seed=index))
        paths.append(path)
    return paths


def test_s1_create_and_read_back(server, three_images, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with sdk_client(server) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="sdk", labels=[{"name": "cat"}], segment_size=2),
            resources=[str(p) for p in three_images],
            data_params={"image_quality": 80, "chunk_size": 2},
        )
        assert task.size == 3 and len(task.get_jobs()) == 2
        assert [f.name for f in task.get_meta().frames] == ["a.jpg", "b.jpg", "c.jpg"]
        assert Image.open(task.get_frame(0, quality="original")).size == (40, 30)
        buffer = io.BytesIO()
        task.download_chunk(1, buffer, quality="original")
        assert len(zipfile.ZipFile(buffer).infolist()) == 1  # frame 2 only
        Image.open(task.get_preview())
        assert [label.name for label in task.get_labels()] == ["cat"]


def test_s8_task_dataset_loads_every_sample_from_chunks(sqlite_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paths = []
    for index in range(7):
        path = tmp_path / f"s{index}.jpg"
        path.write_bytes(jpeg(30 + index, 20 + index, seed=index))
        paths.append(path)
    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="ds", labels=[{"name": "cat"}]),
            resources=[str(p) for p in paths],
            data_params={"image_quality": 70, "chunk_size": 3, "use_cache": True},
        )
        dataset = TaskDataset(
            client, task.id, media_download_policy=MediaDownloadPolicy.PRELOAD_ALL
        )
        names = [f.name for f in task.get_meta().frames]
        assert [s.frame_name for s in dataset.samples] == names == [p.name for p in paths]
        for index, sample in enumerate(dataset.samples):
            image = sample.media.load_image()
            assert image.size == (30 + index, 20 + index)


def test_s9_job_meta_and_frames(sqlite_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    paths = []
    for index in range(7):
        path = tmp_path / f"j{index}.jpg"
        path.write_bytes(jpeg(30 + index, 20 + index, seed=index))
        paths.append(path)
    with sdk_client(sqlite_server) as client:
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(
                name="jobs", labels=[{"name": "cat"}], segment_size=3, overlap=1
            ),
            resources=[str(p) for p in paths],
            data_params={"image_quality": 70},
        )
        jobs = sorted(task.get_jobs(), key=lambda j: j.start_frame)
        assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 2), (2, 4), (4, 6)]
        for summary in jobs:
            job = client.jobs.retrieve(summary.id)
            frames = job.get_meta().frames
            expected = [p.name for p in paths[job.start_frame : job.stop_frame + 1]]
            assert [f.name for f in frames] == expected
            # cvat-sdk 2.80's Job.get_frame sends quality=None unless told, which its own
            # client-side enum check refuses before any request: a quality is required.
            for quality in ("compressed", "original"):
                image = Image.open(job.get_frame(job.start_frame, quality=quality))
                assert image.size == (30 + job.start_frame, 20 + job.start_frame)
