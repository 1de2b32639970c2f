"""PATCH .../data/meta (deleted frames) through the SDK, and the project preview."""

from __future__ import annotations

import io

from PIL import Image

from tests.support.cvat import sdk_client
from tests.support.media import write_images


def test_remove_frames_and_project_preview(server, admin, tmp_path):
    files = write_images(tmp_path, [f"d{n}.jpg" for n in range(4)])
    with sdk_client(server) as client:
        project = client.projects.create({"name": "with preview", "labels": [{"name": "a"}]})
        task = client.tasks.create_from_data(
            spec={"name": "deleted frames", "project_id": project.id, "segment_size": 2},
            resources=[str(f) for f in files],
        )
        task.remove_frames_by_ids([1, 2])
        assert task.get_meta().deleted_frames == [1, 2]
        job = sorted(task.get_jobs(), key=lambda j: j.start_frame)[1]
        meta = client.api_client.jobs_api.partial_update_data_meta(
            job.id, patched_job_data_meta_write_request={"deleted_frames": [3]}
        )[0]
        assert meta.deleted_frames == [3]
        assert task.get_meta().deleted_frames == [1, 3]
        Image.open(io.BytesIO(project.get_preview().read()))
    url = f"/api/tasks/{task.id}/data/meta"
    assert admin.patch(url, json={"deleted_frames": [1, 1]}).status_code == 400
    assert admin.patch(url, json={"deleted_frames": [9]}).status_code == 400
    assert admin.get(url).json()["deleted_frames"] == [1, 3]
