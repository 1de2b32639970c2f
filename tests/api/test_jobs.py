"""``/api/jobs``: listing, reading, stage/state/assignee changes and the task status."""

from __future__ import annotations

import pytest

from tests.support.cvat import sdk_client
from tests.support.resources import (
    JOB_FIELDS,
    add_data,
    add_jobs,
    assert_fields,
    create_project,
    create_task,
    new_user,
    user_id,
)

LIVE_SDK = pytest.mark.live_server("cvat-sdk is a real HTTP client: it needs a socket")


@pytest.fixture
def task_with_jobs(admin, server):
    task = create_task(admin, bug_tracker="http://bt/task")
    add_data(server, task["id"], size=6)
    jobs = add_jobs(server, task["id"], [(0, 2), (3, 5)])
    return task, jobs


def test_list_by_task_and_read(admin, server, task_with_jobs):
    task, job_ids = task_with_jobs
    page = admin.get("/api/jobs", params={"task_id": task["id"], "org": "", "page": 1}).json()
    assert page["count"] == 2 and page["next"] is None
    assert sorted(job["id"] for job in page["results"]) == job_ids
    first = admin.get(f"/api/jobs/{job_ids[0]}").json()
    assert_fields(first, JOB_FIELDS)
    assert (first["task_id"], first["task_name"], first["start_frame"], first["stop_frame"]) == (
        task["id"],
        task["name"],
        0,
        2,
    )
    assert (first["frame_count"], first["stage"], first["state"], first["status"]) == (
        3,
        "annotation",
        "new",
        "annotation",
    )
    assert first["bug_tracker"] == "http://bt/task" and first["type"] == "annotation"
    assert first["issues"] == {"count": 0, "url": f"{server.url}/api/issues?job_id={job_ids[0]}"}
    assert first["labels"] == {"url": f"{server.url}/api/labels?job_id={job_ids[0]}"}
    assert first["data_chunk_size"] == 5 and first["mode"] == "annotation"
    assert admin.get(f"/api/jobs/{job_ids[0]}/").json() == first
    summary = admin.get(f"/api/tasks/{task['id']}").json()["jobs"]
    assert (summary["count"], summary["completed"], summary["validation"]) == (2, 0, 0)


def test_job_reports_the_project_tracker_when_its_task_has_none(admin, server):
    project = create_project(admin, bug_tracker="http://bt/project")
    task = create_task(admin, project_id=project["id"])
    (job_id,) = add_jobs(server, task["id"], [(0, 0)])
    job = admin.get(f"/api/jobs/{job_id}").json()
    assert (job["bug_tracker"], job["project_id"], job["project_name"]) == (
        "http://bt/project",
        project["id"],
        project["name"],
    )
    labels = admin.get(job["labels"]["url"]).json()["results"]
    assert [label["name"] for label in labels] == ["tree"]


def test_stage_and_state_drive_the_task_status(admin, task_with_jobs):
    task, (one, two) = task_with_jobs

    def patch(job_id, **body):
        response = admin.patch(f"/api/jobs/{job_id}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def task_status():
        read = admin.get(f"/api/tasks/{task['id']}").json()
        return read["status"], read["jobs"]["completed"], read["jobs"]["validation"]

    job = patch(one, state="in progress")
    assert (job["stage"], job["state"], job["status"]) == (
        "annotation",
        "in progress",
        "annotation",
    )
    job = patch(one, stage="validation")  # a new stage without a state restarts the job
    assert (job["stage"], job["state"], job["status"]) == ("validation", "new", "validation")
    assert task_status() == ("annotation", 0, 1)  # job two is still in annotation
    patch(two, stage="validation", state="in progress")
    assert task_status() == ("validation", 0, 2)
    job = patch(one, stage="acceptance", state="completed")
    assert job["status"] == "completed"
    patch(two, stage="acceptance", state="completed")
    assert task_status() == ("completed", 2, 0)
    job = patch(two, stage="acceptance")  # same stage: the state stays
    assert job["state"] == "completed"
    patch(two, stage="annotation", state="rejected")
    assert task_status() == ("annotation", 1, 0)


def test_assignee_changes_and_refusals(admin, server, task_with_jobs):
    _task, (one, _two) = task_with_jobs
    name, _ = new_user(server)
    job = admin.patch(f"/api/jobs/{one}", json={"assignee": user_id(admin, name)}).json()
    assert job["assignee"]["username"] == name and job["assignee_updated_date"]
    assert admin.get("/api/jobs", params={"assignee": name}).json()["results"][0]["id"] == one
    before = admin.get(f"/api/jobs/{one}").json()
    for body, field in [
        ({"assignee": 999999}, "assignee"),
        ({"assignee": "someone"}, "assignee"),
        ({"stage": "review"}, "stage"),
        ({"state": "done"}, "state"),
        ({"stage": None}, "stage"),
    ]:
        response = admin.patch(f"/api/jobs/{one}", json=body)
        assert response.status_code == 400 and field in response.json(), (body, response.text)
    malformed = admin.patch(
        f"/api/jobs/{one}", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert admin.get(f"/api/jobs/{one}").json() == before
    ignored = admin.patch(f"/api/jobs/{one}", json={"frame_count": 3, "status": "completed"})
    assert ignored.status_code == 200 and ignored.json()["frame_count"] == before["frame_count"]
    assert admin.get(f"/api/jobs/{one}").json()["status"] == before["status"]
    job = admin.patch(f"/api/jobs/{one}", json={"assignee": None}).json()
    assert job["assignee"] is None


def test_list_filters(admin, task_with_jobs):
    task, (one, two) = task_with_jobs
    admin.patch(f"/api/jobs/{two}", json={"stage": "validation"})

    def ids(**params):
        response = admin.get("/api/jobs", params={"task_id": task["id"], **params})
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["results"]]

    assert ids() == [two, one]
    assert ids(sort="id") == [one, two]
    assert ids(stage="validation") == [two]
    assert ids(state="new") == [two, one]
    assert ids(type="annotation") == [two, one]
    assert ids(type="ground_truth") == []
    assert ids(task_name=task["name"]) == [two, one]
    assert ids(filter='{"==": [{"var": "stage"}, "annotation"]}') == [one]
    assert ids(search="validation") == [two]
    for params in ({"task_id": "x"}, {"sort": "secret"}, {"filter": "[1"}):
        assert admin.get("/api/jobs", params=params).status_code == 400
    assert admin.get("/api/jobs/999999").json() == {"detail": "Not found."}
    assert admin.get("/api/jobs/abc").status_code in (400, 404)
    assert admin.patch("/api/jobs/999999", json={"state": "new"}).status_code == 404


@LIVE_SDK
def test_sdk_reads_jobs_strictly(server, task_with_jobs):
    """K1 for jobs: ``task.get_jobs()``, ``jobs.retrieve`` and the generated API."""
    task, job_ids = task_with_jobs
    with sdk_client(server) as client:
        jobs = client.tasks.retrieve(task["id"]).get_jobs()
        assert sorted(job.id for job in jobs) == job_ids
        job = client.jobs.retrieve(job_ids[0])
        assert (job.start_frame, job.stop_frame, job.frame_count) == (0, 2, 3)
        assert [label.name for label in job.get_labels()] == ["car", "person"]
        api = client.api_client.jobs_api
        read, _ = api.retrieve(job_ids[1])
        assert read.stage == "annotation"
        page, _ = api.list(task_id=task["id"])
        assert page.count == 2
        from cvat_sdk.api_client import models

        updated, _ = api.partial_update(
            job_ids[1], patched_job_write_request=models.PatchedJobWriteRequest(state="completed")
        )
        assert updated.state == "completed"
