"""``/api/tasks``: creation, reading, lists, changes and deletion, over HTTP, SDK and CLI."""

from __future__ import annotations

import json
from contextlib import closing

import pytest

from tests.support.cvat import run_cli, sdk_client
from tests.support.resources import (
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

LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]}
        ],
    },
    {"name": "person"},
]


def test_create_answers_201_with_the_full_task_before_data(admin, server):
    body = {
        "name": unique("create"),
        "labels": LABELS,
        "bug_tracker": "http://bt/1",
        "overlap": 0,
        "segment_size": 1,
        "subset": "Train",
    }
    response = admin.post("/api/tasks", json=body)
    assert response.status_code == 201, response.text
    task = response.json()
    assert_fields(task, TASK_FIELDS)
    assert "image_quality" not in task  # never null: left out until data exists
    assert (task["name"], task["bug_tracker"], task["subset"]) == (
        body["name"],
        "http://bt/1",
        "Train",
    )
    assert (task["segment_size"], task["overlap"], task["size"], task["mode"]) == (1, 0, 0, "")
    assert task["owner"]["username"] == "admin" and task["assignee"] is None
    assert task["status"] == "annotation" and task["dimension"] == "2d"
    assert task["jobs"] == {
        "count": 0,
        "completed": 0,
        "validation": 0,
        "url": f"{server.url}/api/jobs?task_id={task['id']}",
    }
    assert task["labels"] == {"url": f"{server.url}/api/labels?task_id={task['id']}"}
    assert task["url"] == f"{server.url}/api/tasks/{task['id']}"
    assert task["organization"] is None and task["target_storage"] is None
    assert "creation_request" in task
    assert admin.get(f"/api/tasks/{task['id']}").json() == task


def test_defaults_and_storages(admin):
    task = create_task(
        admin, target_storage={"location": "local"}, source_storage={"location": "local"}
    )
    assert (task["bug_tracker"], task["subset"], task["overlap"]) == ("", "", None)
    for key in ("target_storage", "source_storage"):
        assert task[key]["location"] == "local" and isinstance(task[key]["id"], int)
        assert task[key]["cloud_storage_id"] is None
    changed = admin.patch(f"/api/tasks/{task['id']}", json={"target_storage": None}).json()
    assert changed["target_storage"] is None and changed["source_storage"] == task["source_storage"]


def test_read_after_data_has_the_data_fields(admin, server):
    task = create_task(admin)
    add_data(server, task["id"], size=7, image_quality=55)
    read = admin.get(f"/api/tasks/{task['id']}").json()
    assert_fields(read, TASK_FIELDS)
    assert (read["size"], read["image_quality"], read["data_chunk_size"]) == (7, 55, 5)
    assert read["data_original_chunk_type"] == "imageset" and read["media_type"] == "image"
    assert read["mode"] == "annotation" and isinstance(read["data"], int)


BAD_BODIES = [
    ("{not json", "non_field_errors"),
    ("[]", "non_field_errors"),
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "n" * 257}, "name"),
    ({"name": 5}, "name"),
    ({"name": "x", "segment_size": "3"}, "segment_size"),
    ({"name": "x", "segment_size": True}, "segment_size"),
    ({"name": "x", "segment_size": -1}, "segment_size"),
    ({"name": "x", "segment_size": None}, "segment_size"),
    ({"name": "x", "overlap": -1}, "overlap"),
    ({"name": "x", "labels": None}, "labels"),
    ({"name": "x", "labels": {"name": "car"}}, "labels"),
    ({"name": "x", "bug_tracker": None}, "bug_tracker"),
    ({"name": "x", "bug_tracker": "not a url"}, "bug_tracker"),
    ({"name": "x", "bug_tracker": "javascript:alert(1)"}, "bug_tracker"),
    ({"name": "x", "bug_tracker": "http://bt/" + "a" * 2000}, "bug_tracker"),
    ({"name": "x", "subset": "s" * 65}, "subset"),
    ({"name": "x", "subset": None}, "subset"),
    ({"name": "x", "project_id": 999999}, "project_id"),
    ({"name": "x", "project_id": "1"}, "project_id"),
    ({"name": "x", "owner_id": 999999}, "owner_id"),
    ({"name": "x", "assignee_id": 999999}, "assignee_id"),
    (
        {"name": "x", "target_storage": {"location": "cloud_storage", "cloud_storage_id": 1}},
        "target_storage",
    ),
    (
        {"name": "x", "source_storage": {"location": "local", "cloud_storage_id": 3}},
        "source_storage",
    ),
    ({"name": "x", "source_storage": {"location": "s3"}}, "source_storage.location"),
    ({"name": "x", "consensus_replicas": 2}, "consensus_replicas"),
    ({"name": "x", "initial_replicas": 1}, "initial_replicas"),
    ({"name": "x", "labels": [{"name": "car", "color": "blue"}]}, "labels[0].color"),
]


def test_invalid_bodies_are_400_naming_the_field_and_create_nothing(admin):
    before = counts(admin)
    for body, field in BAD_BODIES:
        if isinstance(body, str):
            response = admin.post(
                "/api/tasks", content=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = admin.post("/api/tasks", json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.json(), (body, response.json())
    assert counts(admin) == before


def test_unknown_and_read_only_fields_are_ignored_as_cvat_does(admin):
    """FiftyOne creates tasks with ``image_quality``; scripts send back labels read from
    the server (``has_parent``, ``parent_id``, ``task_id``...) and bodies copied from a GET."""
    before = counts(admin)
    labels = [
        {
            "name": "car",
            "has_parent": False,
            "parent_id": None,
            "project_id": None,
            "task_id": 77,
            "attributes": [
                {"name": "color", "mutable": False, "input_type": "text", "values": [""], "spec": 1}
            ],
            "sublabels": [],
        }
    ]
    made = admin.post(
        "/api/tasks",
        json={"name": unique(), "image_quality": 75, "organization": 1, "labels": labels},
    )
    assert made.status_code == 201, made.text
    task = made.json()
    assert counts(admin)["tasks"] == before["tasks"] + 1
    (car,) = admin.get(task["labels"]["url"]).json()["results"]
    assert (car["name"], [a["name"] for a in car["attributes"]]) == ("car", ["color"])
    copied = {**task, "name": "renamed", "labels": [{**car, "name": "auto"}]}
    changed = admin.patch(f"/api/tasks/{task['id']}", json=copied)
    assert changed.status_code == 200, changed.text
    for key in ("segment_size", "overlap", "size", "status", "id"):
        assert changed.json()[key] == task[key], key
    (auto,) = admin.get(task["labels"]["url"]).json()["results"]
    assert (auto["id"], auto["name"]) == (car["id"], "auto")  # the label's id is used
    for body, field in [
        ({"segment_size": 5, "name": 5}, "name"),
        ({"labels": [{"id": "1", "name": "x", "has_parent": "yes"}]}, "labels[0].id"),
    ]:
        response = admin.patch(f"/api/tasks/{task['id']}", json=body)
        assert response.status_code == 400 and list(response.json()) == [field], response.text


def test_defaults_accepted_for_unimplemented_fields(admin):
    task = create_task(admin, consensus_replicas=0, initial_replicas=0)
    assert task["initial_replicas"] == 0


def test_labels_and_project_exclude_each_other_except_empty_labels(admin):
    project = create_project(admin)
    response = admin.post(
        "/api/tasks",
        json={"name": unique(), "labels": [{"name": "x"}], "project_id": project["id"]},
    )
    assert response.status_code == 400
    assert "Label set or project_id" in json.dumps(response.json())
    task = create_task(admin, project_id=project["id"], labels=[])
    assert (task["project_id"], task["project_name"]) == (project["id"], project["name"])
    names = [label["name"] for label in admin.get(task["labels"]["url"]).json()["results"]]
    assert names == ["tree"]


def test_patch_changes_the_writable_fields(admin, server):
    task = create_task(admin)
    name, _ = new_user(server)
    uid = user_id(admin, name)
    new_name = unique("renamed")
    changed = admin.patch(
        f"/api/tasks/{task['id']}",
        json={
            "name": new_name,
            "bug_tracker": "https://issues.example.com/7",
            "subset": "Test",
            "assignee_id": uid,
        },
    )
    assert changed.status_code == 200, changed.text
    read = changed.json()
    assert_fields(read, TASK_FIELDS)
    assert (read["name"], read["bug_tracker"], read["subset"]) == (
        new_name,
        "https://issues.example.com/7",
        "Test",
    )
    assert read["assignee"]["username"] == name and read["assignee_updated_date"]
    assert read["updated_date"] > task["updated_date"]
    assert admin.get(f"/api/tasks/{task['id']}").json() == read
    cleared = admin.patch(f"/api/tasks/{task['id']}", json={"assignee_id": None}).json()
    assert cleared["assignee"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"owner_id": None}, "owner_id"),
        ({"owner_id": 999999}, "owner_id"),
        ({"bug_tracker": "ftp://x"}, "bug_tracker"),
        ({"organization_id": 3}, "organization_id"),
        ({"project_id": 999999}, "project_id"),
        ({"labels": [{"name": "car"}]}, "labels[0].name"),
        ({"labels": [{"id": 999999, "name": "bus"}]}, "labels[0].id"),
    ],
)
def test_patch_refuses_read_only_and_invalid_fields(admin, body, field):
    task = create_task(admin)
    labels_before = admin.get(task["labels"]["url"]).json()
    response = admin.patch(f"/api/tasks/{task['id']}", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json(), response.json()
    assert admin.get(f"/api/tasks/{task['id']}").json() == task
    assert admin.get(task["labels"]["url"]).json() == labels_before


def test_patch_labels_adds_extends_and_deletes(admin):
    task = create_task(admin, labels=LABELS)
    car, person = admin.get(task["labels"]["url"]).json()["results"]
    color = car["attributes"][0]
    response = admin.patch(
        f"/api/tasks/{task['id']}",
        json={
            "labels": [
                {
                    "id": car["id"],
                    "attributes": [{"id": color["id"], "values": ["red", "blue", "green"]}],
                },
                {"id": person["id"], "deleted": True},
                {"name": "bus", "color": "#123456"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    labels = admin.get(task["labels"]["url"]).json()["results"]
    assert [label["name"] for label in labels] == ["car", "bus"]
    assert labels[0]["attributes"][0]["values"] == ["red", "blue", "green"]
    assert labels[1]["color"] == "#123456"


def test_moving_into_a_project_maps_labels_by_name(admin):
    project = create_project(admin, labels=[{"name": "car"}, {"name": "person"}, {"name": "bus"}])
    narrow = create_project(admin, labels=[{"name": "car"}])
    task = create_task(admin, labels=[{"name": "car"}, {"name": "person"}])
    refused = admin.patch(f"/api/tasks/{task['id']}", json={"project_id": narrow["id"]})
    assert refused.status_code == 400 and "person" in refused.json()["project_id"][0]
    assert admin.get(f"/api/tasks/{task['id']}").json()["project_id"] is None
    moved = admin.patch(f"/api/tasks/{task['id']}", json={"project_id": project["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["project_id"] == project["id"]
    labels = admin.get(task["labels"]["url"]).json()["results"]
    assert [(label["name"], label["project_id"]) for label in labels] == [
        ("car", project["id"]),
        ("person", project["id"]),
        ("bus", project["id"]),
    ]
    leave = admin.patch(f"/api/tasks/{task['id']}", json={"project_id": None})
    assert leave.status_code == 400 and "project_id" in leave.json()
    own = admin.patch(f"/api/tasks/{task['id']}", json={"labels": [{"name": "new"}]})
    assert own.status_code == 400 and "labels" in own.json()


def test_delete_removes_jobs_labels_data_and_files(admin, server):
    task = create_task(admin)
    task_id = task["id"]
    job_ids = add_jobs(server, task_id, [(0, 1), (2, 3)])
    data_id = add_data(server, task_id, size=4)
    directory = server.data_dir / "tasks" / str(task_id)
    (directory / "chunks").mkdir(parents=True, exist_ok=True)
    (directory / "chunks" / "0.zip").write_bytes(b"x")
    label_ids = [label["id"] for label in admin.get(task["labels"]["url"]).json()["results"]]

    response = admin.delete(f"/api/tasks/{task_id}")
    assert response.status_code == 204 and response.content == b""
    assert admin.get(f"/api/tasks/{task_id}").status_code == 404
    assert admin.get("/api/jobs", params={"task_id": task_id}).json()["count"] == 0
    for job_id in job_ids:
        assert admin.get(f"/api/jobs/{job_id}").status_code == 404
    for label_id in label_ids:
        assert admin.get(f"/api/labels/{label_id}").status_code == 404
    assert not data_exists(server, data_id)
    assert not directory.exists()
    assert admin.delete(f"/api/tasks/{task_id}").status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_and_malformed_ids(admin, method):
    for task_id in (999999, 2**40):
        response = getattr(admin, method)(f"/api/tasks/{task_id}")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
    response = getattr(admin, method)("/api/tasks/abc")
    assert response.status_code in (400, 404)


def test_slash_variants_answer_directly(admin):
    task = create_task(admin)
    for path in (
        "/api/tasks",
        "/api/tasks/",
        f"/api/tasks/{task['id']}",
        f"/api/tasks/{task['id']}/",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
    response = admin.post("/api/tasks/", json={"name": unique(), "labels": []})
    assert response.status_code == 201
    response = admin.patch(f"/api/tasks/{task['id']}/", json={"subset": "x"})
    assert response.status_code == 200


def _ids(client, **params) -> list[int]:
    response = client.get("/api/tasks", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return [task["id"] for task in response.json()["results"]]


def test_list_filters_search_and_sort(admin, server):
    marker = unique("flt")
    name, _ = new_user(server)
    uid = user_id(admin, name)
    project = create_project(admin)
    a = create_task(admin, name=f"{marker}-alpha", subset="Train")
    b = create_task(admin, name=f"{marker}-beta", subset="Test", assignee_id=uid)
    c = create_task(admin, name=f"{marker}-gamma", project_id=project["id"])
    mine = {a["id"], b["id"], c["id"]}

    assert _ids(admin, name=f"{marker}-alpha") == [a["id"]]  # exact, as CVAT
    assert _ids(admin, name=marker) == []
    assert _ids(admin, search=marker) == [c["id"], b["id"], a["id"]]  # newest first
    assert _ids(admin, search=marker.upper() + "-BETA") == [b["id"]]
    assert _ids(admin, search=marker, sort="name") == [a["id"], b["id"], c["id"]]
    assert _ids(admin, search=marker, sort="-name") == [c["id"], b["id"], a["id"]]
    assert _ids(admin, search=marker, sort="subset,id") == [c["id"], b["id"], a["id"]]
    assert _ids(admin, search=marker, sort="created_date") == [a["id"], b["id"], c["id"]]
    assert _ids(admin, project_id=project["id"], org="") == [c["id"]]
    assert _ids(admin, search=marker, subset="Train") == [a["id"]]
    assert _ids(admin, search=marker, assignee=name) == [b["id"]]
    assert set(_ids(admin, search=marker, owner="admin", status="annotation")) == mine
    assert _ids(admin, search=marker, mode="annotation") == []
    assert set(_ids(admin, search=marker, dimension="2d", org_id="")) == mine
    logic = {"and": [{"==": [{"var": "id"}, b["id"]]}]}
    assert _ids(admin, filter=json.dumps(logic)) == [b["id"]]
    logic = {"and": [{"in": [marker, {"var": "name"}]}, {">": [{"var": "id"}, a["id"]]}]}
    assert _ids(admin, filter=json.dumps(logic)) == [c["id"], b["id"]]
    logic = {
        "or": [{"==": [{"var": "project_id"}, project["id"]]}, {"==": [{"var": "name"}, a["name"]]}]
    }
    assert _ids(admin, filter=json.dumps(logic)) == [c["id"], a["id"]]
    logic = {"!": {"in": [{"var": "subset"}, ["Train", "Test"]]}}
    assert c["id"] in _ids(admin, filter=json.dumps(logic), search=marker)

    for params, field in [
        ({"sort": "bogus"}, "sort"),
        ({"filter": "{oops"}, "filter"),
        ({"filter": json.dumps({"==": [{"var": "secret"}, 1]})}, "filter"),
        ({"filter": json.dumps({"==": [{"var": "id"}, "abc"]})}, "filter"),
        ({"project_id": "abc"}, "project_id"),
        ({"page": "0"}, "page"),
    ]:
        response = admin.get("/api/tasks", params=params)
        assert response.status_code == 400 and field in response.json(), (params, response.text)


def test_pagination(server):
    user = new_user(server)
    with closing(server.client(user)) as client:
        ids = [create_task(client)["id"] for _ in range(3)]
        first = client.get("/api/tasks", params={"page_size": 2}).json()
        assert first["count"] == 3 and first["previous"] is None
        assert first["next"].startswith("http") and "page=2" in first["next"]
        second = client.get("/api/tasks", params={"page_size": 2, "page": 2}).json()
        assert second["next"] is None and second["previous"]
        listed = [t["id"] for t in first["results"] + second["results"]]
        assert listed == sorted(ids, reverse=True)


@LIVE_SDK
def test_sdk_create_read_list_remove(server):
    from cvat_sdk.api_client import exceptions, models

    with sdk_client(server) as client:
        name = unique("sdk")
        task = client.tasks.create(
            spec=models.TaskWriteRequest(name=name, labels=[{"name": "cat"}, {"name": "dog"}])
        )
        assert task.name == name and task.size == 0
        assert client.tasks.retrieve(task.id).name == name
        assert task.id in [t.id for t in client.tasks.list()]
        assert [t.id for t in client.tasks.list(name=name)] == [task.id]
        assert task.get_jobs() == []
        assert [label.name for label in task.get_labels()] == ["cat", "dog"]
        task.update(models.PatchedTaskWriteRequest(subset="Validation"))
        assert client.tasks.retrieve(task.id).subset == "Validation"
        client.tasks.remove_by_ids([task.id, 10**9])
        with pytest.raises(exceptions.NotFoundException):
            client.tasks.retrieve(task.id)


@LIVE_SDK
def test_generated_api_deserializes_task_reads_strictly(admin, server):
    """K1: the SDK's own strict deserializer accepts every task answer."""
    from cvat_sdk.api_client import models

    task = create_task(admin, labels=LABELS)
    with_data = create_task(admin, target_storage={"location": "local"})
    add_data(server, with_data["id"], size=2)
    with sdk_client(server) as client:
        api = client.api_client.tasks_api
        for task_id in (task["id"], with_data["id"]):
            read, response = api.retrieve(task_id)
            assert read.id == task_id and response.status == 200
        page, _ = api.list(page_size=100, org="")
        assert {task["id"], with_data["id"]} <= {t.id for t in page.results}
        patched, _ = api.partial_update(
            task["id"], patched_task_write_request=models.PatchedTaskWriteRequest(subset="a")
        )
        assert patched.subset == "a"
        created, _ = api.create(models.TaskWriteRequest(name=unique(), labels=[]))
        assert created.size == 0


@LIVE_CLI
def test_cli_task_ls_pages_json_and_delete(server, tmp_path):
    user = new_user(server)
    with closing(server.client(user)) as client:
        ids = {create_task(client, labels=[])["id"] for _ in range(12)}  # page size is 10
    listed = run_cli(server, tmp_path, "task", "ls", auth=user).assert_clean()
    printed = [int(line) for line in listed.lines]
    assert sorted(printed) == sorted(ids)

    as_json = run_cli(server, tmp_path, "task", "ls", "--json", auth=user).assert_clean()
    items = json.loads(as_json.stdout)
    assert sorted(item["id"] for item in items) == sorted(ids)
    for item in items:
        assert_fields(item, TASK_FIELDS)

    victim = min(ids)
    deleted = run_cli(server, tmp_path, "task", "delete", str(victim), "999999", auth=user)
    deleted.assert_clean()
    assert f"#{victim} deleted" in deleted.stderr and "#999999 not found" in deleted.stderr
    with closing(server.client(user)) as client:
        assert client.get(f"/api/tasks/{victim}").status_code == 404


def test_overlap_not_smaller_than_segment_size_is_refused(server, admin):
    before = admin.get("/api/tasks", params={"name": "overlapping"}).json()["count"]
    response = admin.post(
        "/api/tasks",
        json={"name": "overlapping", "labels": [{"name": "a"}], "segment_size": 3, "overlap": 3},
    )
    assert response.status_code == 400 and "overlap" in response.json()
    assert admin.get("/api/tasks", params={"name": "overlapping"}).json()["count"] == before
    ok = admin.post(
        "/api/tasks",
        json={"name": "overlapping", "labels": [{"name": "a"}], "segment_size": 3, "overlap": 2},
    )
    assert ok.status_code == 201
