"""Who sees and changes what: invisible objects are 404, visible but forbidden ones 403."""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass

import httpx
import pytest

from tests.support.resources import add_jobs, create_project, create_task, new_user, user_id


@dataclass
class World:
    alice: httpx.Client  # owns the project P, the task T (own labels) and TP (in P)
    bob: httpx.Client  # a stranger
    carol: httpx.Client  # assignee of job J1 of T only
    dave: httpx.Client  # assignee of the task T
    erin: httpx.Client  # assignee of the project P
    project: dict
    task: dict
    project_task: dict
    jobs: list[int]  # J1, J2 of T
    project_job: int
    label: dict  # a label of T


ROLES = ("alice", "bob", "carol", "dave", "erin")


@pytest.fixture(scope="module")
def people(server):
    """Logged-in users, shared by the module: every test builds its own objects for them."""
    clients = {who: server.client(new_user(server)) for who in ROLES}
    ids = {who: client.get("/api/users/self").json()["id"] for who, client in clients.items()}
    yield clients, ids
    for client in clients.values():
        client.close()


@pytest.fixture
def world(server, people):
    clients, ids = people
    alice = clients["alice"]
    project = create_project(alice, labels=[{"name": "tree"}])
    task = create_task(alice, labels=[{"name": "car"}, {"name": "dog"}])
    project_task = create_task(alice, project_id=project["id"])
    jobs = add_jobs(server, task["id"], [(0, 1), (2, 3)])
    (project_job,) = add_jobs(server, project_task["id"], [(0, 0)])
    assert alice.patch(f"/api/jobs/{jobs[0]}", json={"assignee": ids["carol"]}).status_code == 200
    response = alice.patch(f"/api/tasks/{task['id']}", json={"assignee_id": ids["dave"]})
    assert response.status_code == 200
    response = alice.patch(f"/api/projects/{project['id']}", json={"assignee_id": ids["erin"]})
    assert response.status_code == 200
    label = alice.get(task["labels"]["url"]).json()["results"][0]
    return World(
        **clients,
        project=project,
        task=task,
        project_task=project_task,
        jobs=jobs,
        project_job=project_job,
        label=label,
    )


def _listed(client: httpx.Client, resource: str, among: set[int]) -> set[int]:
    """Which of ``among`` the list shows (users are shared, so other tests add objects)."""
    only = json.dumps({"in": [{"var": "id"}, sorted(among)]})
    response = client.get(f"/api/{resource}", params={"filter": only, "page_size": 100})
    assert response.status_code == 200, response.text
    listed = {item["id"] for item in response.json()["results"]}
    assert listed <= among
    return listed


def _tasks(w: World) -> set[int]:
    return {w.task["id"], w.project_task["id"]}


def _jobs(w: World) -> set[int]:
    return {*w.jobs, w.project_job}


def test_a_stranger_sees_nothing_and_changes_nothing(world):
    bob, w = world.bob, world
    reads = [
        f"/api/projects/{w.project['id']}",
        f"/api/projects/{w.project['id']}/tasks",
        f"/api/tasks/{w.task['id']}",
        f"/api/tasks/{w.project_task['id']}",
        f"/api/jobs/{w.jobs[0]}",
        f"/api/labels/{w.label['id']}",
        f"/api/labels?task_id={w.task['id']}",
        f"/api/labels?project_id={w.project['id']}",
        f"/api/labels?job_id={w.jobs[0]}",
    ]
    for path in reads:
        response = bob.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found."}
    changes = [
        ("patch", f"/api/projects/{w.project['id']}", {"name": "mine"}),
        ("delete", f"/api/projects/{w.project['id']}", None),
        ("patch", f"/api/tasks/{w.task['id']}", {"name": "mine"}),
        ("delete", f"/api/tasks/{w.task['id']}", None),
        ("patch", f"/api/jobs/{w.jobs[0]}", {"state": "completed"}),
        ("patch", f"/api/labels/{w.label['id']}", {"name": "mine"}),
        ("delete", f"/api/labels/{w.label['id']}", None),
    ]
    for method, path, body in changes:
        kwargs = {"json": body} if body is not None else {}
        assert getattr(bob, method)(path, **kwargs).status_code == 404, (method, path)
    assert _listed(bob, "projects", {w.project["id"]}) == set()
    assert _listed(bob, "tasks", _tasks(w)) == set()
    assert _listed(bob, "jobs", _jobs(w)) == set()
    assert _listed(bob, "labels", {w.label["id"]}) == set()
    # Someone else's project is "not found" as a reference too.
    refused = bob.post(
        "/api/tasks", json={"name": "x", "labels": [], "project_id": w.project["id"]}
    )
    assert refused.status_code == 400 and "project_id" in refused.json()
    own = create_task(bob, labels=[{"name": "tree"}])
    moved = bob.patch(f"/api/tasks/{own['id']}", json={"project_id": w.project["id"]})
    assert moved.status_code == 400 and "project_id" in moved.json()
    # Nothing changed.
    assert w.alice.get(f"/api/tasks/{w.task['id']}").json()["name"] == w.task["name"]
    assert w.alice.get(f"/api/labels/{w.label['id']}").json()["name"] == w.label["name"]


def test_a_job_assignee_works_on_the_job_but_not_the_task(world):
    """As CVAT: the task is not found for them, the job and its labels are theirs."""
    carol, w = world.carol, world
    one, two = w.jobs
    assert carol.get(f"/api/tasks/{w.task['id']}").status_code == 404
    assert _listed(carol, "tasks", _tasks(w)) == set()
    assert _listed(carol, "jobs", _jobs(w)) == {one}
    assert carol.get(f"/api/jobs/{one}").status_code == 200
    assert carol.get(f"/api/jobs/{two}").status_code == 404
    assert carol.get(f"/api/projects/{w.project['id']}").status_code == 404
    assert carol.get(f"/api/tasks/{w.project_task['id']}").status_code == 404
    assert carol.get(f"/api/labels?task_id={w.task['id']}").status_code == 404
    assert carol.get(f"/api/labels?job_id={one}").status_code == 200
    assert carol.get(f"/api/labels?job_id={two}").status_code == 404
    assert carol.get(f"/api/labels/{w.label['id']}").status_code == 200

    moved = carol.patch(f"/api/jobs/{one}", json={"state": "in progress"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["stage"], moved.json()["state"]) == ("annotation", "in progress")
    forbidden = [
        ("patch", f"/api/jobs/{one}", {"assignee": None}),
        ("patch", f"/api/jobs/{one}", {"stage": "validation", "state": "in progress"}),
        ("patch", f"/api/labels/{w.label['id']}", {"name": "renamed"}),
        ("delete", f"/api/labels/{w.label['id']}", None),
    ]
    for method, path, body in forbidden:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(carol, method)(path, **kwargs)
        assert response.status_code == 403, (method, path, response.text)
    not_found = [
        ("patch", f"/api/tasks/{w.task['id']}", {"name": "carol's"}),
        ("patch", f"/api/tasks/{w.task['id']}", {"labels": [{"name": "new"}]}),
        ("delete", f"/api/tasks/{w.task['id']}", None),
    ]
    for method, path, body in not_found:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(carol, method)(path, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    task = w.alice.get(f"/api/tasks/{w.task['id']}").json()
    assert task["name"] == w.task["name"]
    labels = w.alice.get(w.task["labels"]["url"]).json()["results"]
    assert [label["name"] for label in labels] == ["car", "dog"]
    job = w.alice.get(f"/api/jobs/{one}").json()
    assert job["assignee"] is not None and job["stage"] == "annotation"


def test_a_task_assignee_sees_every_job_but_cannot_change_the_task(world):
    dave, w = world.dave, world
    assert _listed(dave, "jobs", _jobs(w)) == set(w.jobs)
    assert dave.patch(f"/api/jobs/{w.jobs[1]}", json={"state": "in progress"}).status_code == 200
    assert dave.patch(f"/api/jobs/{w.jobs[1]}", json={"assignee": None}).status_code == 403
    assert dave.patch(f"/api/tasks/{w.task['id']}", json={"subset": "x"}).status_code == 403
    assert dave.delete(f"/api/tasks/{w.task['id']}").status_code == 403


def test_a_project_assignee_sees_the_project_and_its_tasks(world):
    erin, w = world.erin, world
    assert _listed(erin, "projects", {w.project["id"]}) == {w.project["id"]}
    assert _listed(erin, "tasks", _tasks(w)) == {w.project_task["id"]}
    assert _listed(erin, "jobs", _jobs(w)) == {w.project_job}
    page = erin.get(f"/api/projects/{w.project['id']}/tasks").json()
    assert [t["id"] for t in page["results"]] == [w.project_task["id"]]
    assert erin.patch(f"/api/projects/{w.project['id']}", json={"name": "x"}).status_code == 403
    assert erin.delete(f"/api/projects/{w.project['id']}").status_code == 403
    assert erin.patch(f"/api/tasks/{w.project_task['id']}", json={"name": "x"}).status_code == 403
    assert erin.patch(f"/api/jobs/{w.project_job}", json={"state": "completed"}).status_code == 200


def test_the_project_owner_changes_other_peoples_tasks_in_it(world, admin, server):
    w = world
    bob_name = w.bob.get("/api/users/self").json()["username"]
    response = admin.post(
        "/api/tasks",
        json={
            "name": "bob's",
            "labels": [],
            "project_id": w.project["id"],
            "owner_id": user_id(admin, bob_name),
        },
    )
    assert response.status_code == 201
    task = response.json()
    assert w.bob.get(f"/api/tasks/{task['id']}").status_code == 200
    assert w.bob.get(f"/api/projects/{w.project['id']}").status_code == 404
    names = [label["name"] for label in w.bob.get(task["labels"]["url"]).json()["results"]]
    assert names == ["tree"]
    assert w.bob.patch(f"/api/tasks/{task['id']}", json={"subset": "b"}).status_code == 200
    assert w.alice.patch(f"/api/tasks/{task['id']}", json={"subset": "a"}).status_code == 200
    assert w.alice.delete(f"/api/tasks/{task['id']}").status_code == 204


def test_admin_sees_everything_and_anonymous_nothing(world, admin, server):
    w = world
    assert _listed(admin, "tasks", _tasks(w)) == _tasks(w)
    assert _listed(admin, "projects", {w.project["id"]}) == {w.project["id"]}
    assert _listed(admin, "jobs", _jobs(w)) == _jobs(w)
    assert admin.get(f"/api/labels/{w.label['id']}").status_code == 200
    assert admin.patch(f"/api/tasks/{w.task['id']}", json={"subset": "adm"}).status_code == 200
    with closing(server.client(auth=None)) as anonymous:
        for path in ("/api/tasks", "/api/projects", "/api/jobs", "/api/labels"):
            assert anonymous.get(path).status_code == 401
        assert anonymous.get(f"/api/tasks/{w.task['id']}").status_code == 401
