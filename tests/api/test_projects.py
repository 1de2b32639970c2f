"""``/api/projects``: creation, reading, changes, deletion with its tasks; SDK and CLI."""

from __future__ import annotations

from contextlib import closing

import pytest

from tests.support.cvat import run_cli, sdk_client
from tests.support.resources import (
    PROJECT_FIELDS,
    TASK_FIELDS,
    add_data,
    add_jobs,
    assert_fields,
    counts,
    create_project,
    create_task,
    data_exists,
    new_user,
    unique,
    user_id,
)

LIVE_SDK = pytest.mark.live_server("cvat-sdk is a real HTTP client: it needs a socket")
LIVE_CLI = pytest.mark.live_server("cvat-cli runs in a subprocess against a real server")


def test_create_answers_201_with_the_full_project(admin, server):
    name = unique("proj")
    response = admin.post(
        "/api/projects",
        json={"name": name, "labels": [{"name": "tree"}], "bug_tracker": "http://bt/2"},
    )
    assert response.status_code == 201, response.text
    project = response.json()
    assert_fields(project, PROJECT_FIELDS)
    assert (project["name"], project["bug_tracker"], project["status"]) == (
        name,
        "http://bt/2",
        "annotation",
    )
    assert project["dimension"] is None and project["task_subsets"] == []
    assert project["owner"]["username"] == "admin"
    assert project["tasks"] == {
        "count": 0,
        "url": f"{server.url}/api/tasks?project_id={project['id']}",
    }
    assert project["labels"] == {"url": f"{server.url}/api/labels?project_id={project['id']}"}
    assert admin.get(f"/api/projects/{project['id']}").json() == project
    assert admin.get(f"/api/projects/{project['id']}/").status_code == 200


def test_summary_counts_tasks_subsets_and_dimension(admin, server):
    project = create_project(admin)
    first = create_task(admin, project_id=project["id"], subset="Train")
    create_task(admin, project_id=project["id"], subset="Test")
    create_task(admin, project_id=project["id"], subset="Train")
    read = admin.get(f"/api/projects/{project['id']}").json()
    assert read["tasks"]["count"] == 3
    assert read["task_subsets"] == ["Train", "Test"]
    assert read["dimension"] is None  # until a task has data
    add_data(server, first["id"], size=1)
    assert admin.get(f"/api/projects/{project['id']}").json()["dimension"] == "2d"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 257}, "name"),
        ({"name": "p", "bug_tracker": "no url"}, "bug_tracker"),
        ({"name": "p", "labels": "tree"}, "labels"),
        ({"name": "p", "labels": [{"name": "a"}, {"name": "a"}]}, "labels[1].name"),
        ({"name": "p", "owner_id": 999999}, "owner_id"),
        ({"name": "p", "target_storage": {"location": "cloud_storage"}}, "target_storage"),
    ],
)
def test_invalid_bodies_are_400_and_create_nothing(admin, body, field):
    before = counts(admin)
    response = admin.post("/api/projects", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json(), response.json()
    assert counts(admin) == before


def test_patch_and_its_refusals(admin, server):
    project = create_project(admin)
    name, _ = new_user(server)
    changed = admin.patch(
        f"/api/projects/{project['id']}",
        json={
            "name": "renamed",
            "bug_tracker": "https://bt/9",
            "assignee_id": user_id(admin, name),
            "labels": [{"name": "bush"}],
        },
    )
    assert changed.status_code == 200, changed.text
    read = changed.json()
    assert_fields(read, PROJECT_FIELDS)
    assert (read["name"], read["bug_tracker"], read["assignee"]["username"]) == (
        "renamed",
        "https://bt/9",
        name,
    )
    labels = admin.get(read["labels"]["url"]).json()["results"]
    assert [label["name"] for label in labels] == ["tree", "bush"]
    for body, field in [
        ({"name": ""}, "name"),
        ({"organization_id": 4}, "organization_id"),
        ({"labels": [{"name": "tree"}]}, "labels[0].name"),
        ({"owner_id": None}, "owner_id"),
    ]:
        response = admin.patch(f"/api/projects/{project['id']}", json=body)
        assert response.status_code == 400 and field in response.json(), (body, response.text)
    assert admin.get(f"/api/projects/{project['id']}").json() == read


def test_read_only_and_unknown_fields_are_ignored_as_cvat_does(admin):
    """CVAT's serializers drop them: a body copied from a GET, or an older client's."""
    made = admin.post(
        "/api/projects",
        json={"name": unique("p"), "task_subsets": ["x"], "organization_id": 1, "from_v1": 2},
    )
    assert made.status_code == 201, made.text
    project = made.json()
    assert project["task_subsets"] == [] and project["organization_id"] is None
    copied = {**project, "name": "renamed from a read", "labels": []}
    changed = admin.patch(f"/api/projects/{project['id']}", json=copied)
    assert changed.status_code == 200, changed.text
    read = changed.json()
    assert read["name"] == "renamed from a read" and read["dimension"] is None
    wrong_type = admin.patch(f"/api/projects/{project['id']}", json={"name": 5, "tasks": {}})
    assert wrong_type.status_code == 400 and list(wrong_type.json()) == ["name"]


def test_project_tasks_and_task_labels(admin):
    project = create_project(admin, labels=[{"name": "tree"}, {"name": "rock"}])
    task = create_task(admin, project_id=project["id"])
    create_task(admin)  # not in the project
    listed = admin.get(f"/api/projects/{project['id']}/tasks").json()
    assert [t["id"] for t in listed["results"]] == [task["id"]] and listed["next"] is None
    for item in listed["results"]:
        assert_fields(item, TASK_FIELDS)
    by_filter = admin.get("/api/tasks", params={"project_id": project["id"], "org": ""}).json()
    assert [t["id"] for t in by_filter["results"]] == [task["id"]]
    labels = admin.get(task["labels"]["url"]).json()["results"]
    assert [(label["name"], label["project_id"]) for label in labels] == [
        ("tree", project["id"]),
        ("rock", project["id"]),
    ]
    assert admin.get("/api/projects/999999/tasks").status_code == 404


def test_delete_takes_its_tasks_data_and_files(admin, server):
    project = create_project(admin)
    task = create_task(admin, project_id=project["id"])
    add_jobs(server, task["id"], [(0, 0)])
    data_id = add_data(server, task["id"], size=1)
    directory = server.data_dir / "tasks" / str(task["id"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "preview.jpeg").write_bytes(b"x")
    label_ids = [label["id"] for label in admin.get(project["labels"]["url"]).json()["results"]]
    response = admin.delete(f"/api/projects/{project['id']}")
    assert response.status_code == 204 and response.content == b""
    assert admin.get(f"/api/projects/{project['id']}").status_code == 404
    assert admin.get(f"/api/tasks/{task['id']}").status_code == 404
    assert all(admin.get(f"/api/labels/{i}").status_code == 404 for i in label_ids)
    assert not data_exists(server, data_id) and not directory.exists()
    assert admin.delete(f"/api/projects/{project['id']}").status_code == 404


def test_list_filters_and_sort(admin):
    marker = unique("pf")
    a = create_project(admin, name=f"{marker}-a")
    b = create_project(admin, name=f"{marker}-b")

    def ids(**params):
        response = admin.get("/api/projects", params={"page_size": 100, **params})
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["results"]]

    assert ids(search=marker) == [b["id"], a["id"]]
    assert ids(search=marker, sort="name") == [a["id"], b["id"]]
    assert ids(name=f"{marker}-a") == [a["id"]]
    assert ids(search=marker, owner="admin") == [b["id"], a["id"]]
    assert ids(filter=f'{{"==": [{{"var": "id"}}, {a["id"]}]}}') == [a["id"]]
    assert admin.get("/api/projects", params={"sort": "tasks"}).status_code == 400
    assert admin.get("/api/projects/abc").status_code in (400, 404)
    assert admin.get("/api/projects/999999").json() == {"detail": "Not found."}


@LIVE_SDK
def test_sdk_projects(server):
    from cvat_sdk.api_client import models

    with sdk_client(server) as client:
        name = unique("sdkp")
        project = client.projects.create(
            models.ProjectWriteRequest(name=name, labels=[{"name": "tree"}])
        )
        assert client.projects.retrieve(project.id).name == name
        assert project.id in [p.id for p in client.projects.list()]
        task = client.tasks.create(spec={"name": unique(), "project_id": project.id})
        assert [t.id for t in project.get_tasks()] == [task.id]
        assert [label.name for label in project.get_labels()] == ["tree"]
        assert [label.name for label in task.get_labels()] == ["tree"]
        api = client.api_client.projects_api  # K1: strict deserialization
        read, _ = api.retrieve(project.id)
        assert read.tasks.count == 1
        page, _ = api.list(page_size=100)
        assert project.id in [p.id for p in page.results]
        project.remove()
        assert project.id not in [p.id for p in client.projects.list()]


@LIVE_CLI
def test_cli_project_create_ls_delete(server, tmp_path):
    name = unique("clip")
    created = run_cli(
        server, tmp_path, "project", "create", name, "--labels", '[{"name": "tree"}]'
    ).assert_clean()
    project_id = int(created.lines[-1])
    listed = run_cli(server, tmp_path, "project", "ls").assert_clean()
    printed = [int(line) for line in listed.lines]
    assert project_id in printed and len(printed) == len(set(printed))
    with closing(server.client()) as client:
        assert client.get(f"/api/projects/{project_id}").json()["name"] == name
        labels = client.get(f"/api/labels?project_id={project_id}").json()["results"]
        assert [label["name"] for label in labels] == ["tree"]
    run_cli(server, tmp_path, "project", "delete", str(project_id)).assert_clean()
    listed = run_cli(server, tmp_path, "project", "ls").assert_clean()
    assert str(project_id) not in listed.lines
