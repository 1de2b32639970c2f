"""``GET /api/jobs`` as the Jobs page uses it: the caller's jobs first, CVAT's filters
(stage, state, assignee, task, ``parent_job_id``), search and pages, and never a job
the caller may not see, whatever they filter by."""

from __future__ import annotations

import json
from contextlib import closing

import pytest

from tests.support.resources import add_jobs, create_task, new_user, unique, user_id

MINE_FIRST = "-assigned_to_me,-id"


@pytest.fixture
def crew(server, admin):
    """A task owner (staff, not admin) with two tasks of 3 and 2 jobs; an annotator
    assigned jobs[1] and other[0]; the owner assigned jobs[2]; the rest unassigned."""
    owner = new_user(server)
    annotator = new_user(server)
    with closing(server.client(owner)) as client:
        task = create_task(client, name=unique("street"))
        other = create_task(client, name=unique("harbour"))
    jobs = add_jobs(server, task["id"], [(0, 1), (2, 3), (4, 5)])
    other_jobs = add_jobs(server, other["id"], [(0, 1), (2, 3)])
    ids = {name: user_id(admin, name) for name in (owner[0], annotator[0])}
    for job_id, who in ((jobs[1], annotator), (other_jobs[0], annotator), (jobs[2], owner)):
        answer = admin.patch(f"/api/jobs/{job_id}", json={"assignee": ids[who[0]]})
        assert answer.status_code == 200, answer.text
    owner_client = server.client(owner)
    annotator_client = server.client(annotator)
    yield {
        "owner": owner_client,
        "annotator": annotator_client,
        "names": (owner[0], annotator[0]),
        "task": task,
        "other": other,
        "jobs": jobs,
        "other_jobs": other_jobs,
    }
    owner_client.close()
    annotator_client.close()


def listed(client, **params) -> list[int]:
    response = client.get("/api/jobs", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()["results"]]


def test_own_jobs_come_first(crew):
    jobs, other = crew["jobs"], crew["other_jobs"]
    # The owner runs both tasks and is assigned jobs[2]: that one first, then the
    # others newest first.
    assert listed(crew["owner"], sort=MINE_FIRST) == [
        jobs[2],
        other[1],
        other[0],
        jobs[1],
        jobs[0],
    ]
    # The annotator's own jobs are all they see; newest first among them.
    assert listed(crew["annotator"], sort=MINE_FIRST) == [other[0], jobs[1]]
    # Ascending puts them last; as a filter it keeps only them.
    assert listed(crew["owner"], sort="assigned_to_me,id")[-1] == jobs[2]
    mine = json.dumps({"==": [{"var": "assigned_to_me"}, 1]})
    assert listed(crew["owner"], filter=mine) == [jobs[2]]
    # The key is relative to the caller: for the annotator it means their jobs.
    assert listed(crew["annotator"], filter=mine) == [other[0], jobs[1]]


def test_filters_by_stage_state_assignee_and_task(crew, admin):
    owner, jobs, other = crew["owner"], crew["jobs"], crew["other_jobs"]
    owner_name, annotator_name = crew["names"]
    assert owner.patch(f"/api/jobs/{jobs[0]}", json={"stage": "validation"}).status_code == 200
    assert owner.patch(f"/api/jobs/{jobs[1]}", json={"state": "completed"}).status_code == 200

    assert listed(owner, stage="validation") == [jobs[0]]
    assert listed(owner, state="completed") == [jobs[1]]
    assert listed(owner, stage="annotation", state="new") == [other[1], other[0], jobs[2]]
    assert listed(owner, assignee=annotator_name) == [other[0], jobs[1]]
    assert listed(owner, assignee=owner_name) == [jobs[2]]
    nobody = json.dumps({"==": [{"var": "assignee"}, None]})
    assert listed(owner, filter=nobody) == [other[1], jobs[0]]
    assert listed(owner, task_id=crew["other"]["id"]) == [other[1], other[0]]
    assert listed(owner, task_name=crew["task"]["name"]) == [jobs[2], jobs[1], jobs[0]]
    part = crew["other"]["name"].split("-")[1]  # the random part of "harbour-xxxxxxxx"
    contains = json.dumps({"in": [part, {"var": "task_name"}]})
    assert listed(owner, filter=contains) == [other[1], other[0]]
    both = json.dumps(
        {
            "and": [
                {"==": [{"var": "task_id"}, crew["task"]["id"]]},
                {"!=": [{"var": "assignee"}, None]},
            ]
        }
    )
    assert listed(owner, filter=both, sort=MINE_FIRST) == [jobs[2], jobs[1]]


def test_search_looks_at_task_project_assignee_stage_and_state(crew):
    owner, jobs, other = crew["owner"], crew["jobs"], crew["other_jobs"]
    _, annotator_name = crew["names"]
    assert listed(owner, search=crew["task"]["name"].upper()) == [jobs[2], jobs[1], jobs[0]]
    assert listed(owner, search=annotator_name) == [other[0], jobs[1]]
    # Every word must match somewhere.
    assert listed(owner, search=f"harbour {annotator_name}") == [other[0]]
    assert listed(owner, search="no-such-thing") == []


def test_pages(crew):
    owner, jobs, other = crew["owner"], crew["jobs"], crew["other_jobs"]
    everything = [jobs[2], other[1], other[0], jobs[1], jobs[0]]
    seen = []
    for page in (1, 2, 3):
        response = owner.get("/api/jobs", params={"page": page, "page_size": 2, "sort": MINE_FIRST})
        body = response.json()
        assert body["count"] == 5
        assert (body["previous"] is None) == (page == 1)
        assert (body["next"] is None) == (page == 3)
        seen += [job["id"] for job in body["results"]]
    assert seen == everything
    # The links keep the filters and the sort.
    second = owner.get("/api/jobs", params={"page_size": 2, "sort": MINE_FIRST}).json()["next"]
    assert "sort=-assigned_to_me%2C-id" in second and "page=2" in second
    beyond = owner.get("/api/jobs", params={"page": 9, "page_size": 2}).json()
    assert (beyond["count"], beyond["results"]) == (5, [])


def test_parent_job_id_as_cvat_lists_it(crew):
    owner, jobs = crew["owner"], crew["jobs"]
    task = crew["task"]["id"]
    assert listed(owner, task_id=task, parent_job_id=5) == []
    no_parent = json.dumps({"==": [{"var": "parent_job_id"}, None]})
    assert listed(owner, task_id=task, filter=no_parent) == [jobs[2], jobs[1], jobs[0]]
    assert listed(owner, task_id=task, sort="parent_job_id,id") == jobs
    bad = owner.get("/api/jobs", params={"parent_job_id": "x"})
    assert bad.status_code == 400 and "parent_job_id" in bad.json()


def test_an_annotator_filters_only_within_their_jobs(crew):
    annotator, jobs, other = crew["annotator"], crew["jobs"], crew["other_jobs"]
    owner_name, _ = crew["names"]
    assert listed(annotator) == [other[0], jobs[1]]
    # Naming someone else's job, assignee or task shows nothing more.
    assert listed(annotator, assignee=owner_name) == []
    assert listed(annotator, task_id=crew["task"]["id"]) == [jobs[1]]
    assert listed(annotator, search=owner_name) == []
    assert listed(annotator, filter=json.dumps({"==": [{"var": "id"}, jobs[0]]})) == []
    assert listed(annotator, filter=json.dumps({"==": [{"var": "assignee"}, None]})) == []
    assert annotator.get(f"/api/jobs/{jobs[0]}").status_code == 404
    assert annotator.get(f"/api/jobs/{jobs[2]}").status_code == 404
    assert annotator.get("/api/jobs", params={"page_size": 1}).json()["count"] == 2
