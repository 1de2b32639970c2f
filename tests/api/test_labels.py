"""``/api/labels`` and the label rules as the API enforces them (task-semantics 1a)."""

from __future__ import annotations

import re

import pytest

from tests.support.cvat import sdk_client
from tests.support.resources import (
    INVALID_LABELS,
    VALID_LABELS,
    add_jobs,
    assert_label,
    counts,
    create_project,
    create_task,
    unique,
)

LIVE_SDK = pytest.mark.live_server("cvat-sdk is a real HTTP client: it needs a socket")


def test_every_label_violation_is_400_naming_the_field_and_writes_nothing(admin):
    before = counts(admin)
    for labels, field in INVALID_LABELS:
        for path in ("/api/tasks", "/api/projects"):
            response = admin.post(path, json={"name": unique("bad"), "labels": labels})
            assert response.status_code == 400, (path, labels, response.text)
            assert field in response.json(), (path, field, response.json())
    assert counts(admin) == before


def test_violations_in_a_patch_leave_the_labels_unchanged(admin):
    task = create_task(admin)
    project = create_project(admin)
    for owner, path in (
        (task, f"/api/tasks/{task['id']}"),
        (project, f"/api/projects/{project['id']}"),
    ):
        labels_before = admin.get(owner["labels"]["url"]).json()
        for labels, field in INVALID_LABELS[::3]:
            if field.endswith(".id"):
                continue
            response = admin.patch(path, json={"labels": labels})
            assert response.status_code == 400, (labels, response.text)
            assert field in response.json() or any(
                key.startswith("labels[") for key in response.json()
            ), response.json()
        assert admin.get(owner["labels"]["url"]).json() == labels_before


def test_valid_labels_round_trip(admin):
    task = create_task(admin, labels=VALID_LABELS)
    labels = admin.get(task["labels"]["url"]).json()["results"]
    assert [label["name"] for label in labels] == [label["name"] for label in VALID_LABELS]
    for label in labels:
        assert_label(label)
        assert re.fullmatch(r"#[0-9a-f]{6}", label["color"])
        assert label["task_id"] == task["id"] and label["has_parent"] is False
    assert len({label["color"] for label in labels}) == len(labels)
    by_name = {label["name"]: label for label in labels}
    assert by_name["coloured"]["color"] == "#ff0000" and by_name["coloured"]["type"] == "rectangle"
    select, radio = by_name["sel"]["attributes"]
    assert (select["default_value"], select["values"]) == ("red", ["red", "blue"])
    assert radio["default_value"] == "y" and radio["input_type"] == "radio"
    skeleton = by_name["body"]
    head = next(sub for sub in skeleton["sublabels"] if sub["name"] == "head")
    assert f'data-label-id="{head["id"]}"' in skeleton["svg"]
    point = admin.get(f"/api/labels/{head['id']}").json()
    assert_label(point)
    assert (point["has_parent"], point["parent_id"], point["type"]) == (
        True,
        skeleton["id"],
        "points",
    )
    # Skeleton points change through their skeleton, as in CVAT.
    assert admin.patch(f"/api/labels/{head['id']}", json={"name": "x"}).status_code == 400
    assert admin.delete(f"/api/labels/{head['id']}").status_code == 400
    renamed = admin.patch(
        f"/api/labels/{skeleton['id']}", json={"sublabels": [{"id": head["id"], "name": "skull"}]}
    )
    assert renamed.status_code == 200, renamed.text
    assert {sub["name"] for sub in renamed.json()["sublabels"]} == {"skull", "tail"}


def test_generated_colours_avoid_the_colours_in_use(admin):
    first = create_task(admin, labels=[{"name": "car"}])
    color = admin.get(first["labels"]["url"]).json()["results"][0]["color"]
    # The same name in another task gets the same colour: it comes from the name.
    again = create_task(admin, labels=[{"name": "car"}])
    assert admin.get(again["labels"]["url"]).json()["results"][0]["color"] == color
    # But not when another label of the task already uses it.
    taken = create_task(admin, labels=[{"name": "truck", "color": color}, {"name": "car"}])
    colors = [label["color"] for label in admin.get(taken["labels"]["url"]).json()["results"]]
    assert colors[0] == color and colors[1] != color


def test_single_label_patch_and_delete(admin):
    attribute = {"name": "color", "mutable": False, "input_type": "select", "values": ["red"]}
    task = create_task(admin, labels=[{"name": "car", "attributes": [attribute]}, {"name": "dog"}])
    car, dog = admin.get(task["labels"]["url"]).json()["results"]
    spec = car["attributes"][0]
    response = admin.patch(
        f"/api/labels/{car['id']}",
        json={
            "name": "auto",
            "color": "#abcdef",
            "attributes": [
                {"id": spec["id"], "values": ["red", "blue"]},
                {
                    "name": "wheels",
                    "mutable": True,
                    "input_type": "number",
                    "values": ["0", "8", "1"],
                },
            ],
        },
    )
    assert response.status_code == 200, response.text
    read = response.json()
    assert_label(read)
    assert (read["name"], read["color"]) == ("auto", "#abcdef")
    assert [(a["name"], a["values"]) for a in read["attributes"]] == [
        ("color", ["red", "blue"]),
        ("wheels", ["0", "8", "1"]),
    ]
    assert admin.get(f"/api/labels/{car['id']}").json() == read
    for body, field in [
        ({"name": "dog"}, "name"),
        ({"name": ""}, "name"),
        ({"color": "blue"}, "color"),
        ({"type": "skeleton"}, "type"),
        ({"attributes": [{"id": spec["id"], "values": ["blue"]}]}, "attributes[0].values"),
        ({"attributes": [{"id": spec["id"], "input_type": "radio"}]}, "attributes[0].input_type"),
        (
            {
                "attributes": [
                    {"name": "x", "mutable": True, "input_type": "checkbox", "values": ["1"]}
                ]
            },
            "attributes[0].values",
        ),
        ({"id": dog["id"]}, "id"),
        ({"deleted": True}, "deleted"),
    ]:
        refused = admin.patch(f"/api/labels/{car['id']}", json=body)
        assert refused.status_code == 400 and field in refused.json(), (body, refused.text)
    assert admin.get(f"/api/labels/{car['id']}").json() == read
    # Read-only fields are ignored, as CVAT does: the label stays in its task.
    moved = admin.patch(f"/api/labels/{car['id']}", json={"task_id": 1, "has_parent": "x"})
    assert moved.status_code == 200 and moved.json()["task_id"] == read["task_id"]
    assert admin.get(f"/api/labels/{car['id']}").json() == read
    copied = admin.patch(f"/api/labels/{car['id']}", json=read)  # a body copied from a GET
    assert copied.status_code == 200, copied.text
    assert admin.get(f"/api/labels/{car['id']}").json() == read
    malformed = admin.patch(
        f"/api/labels/{car['id']}", content=b"[", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    deleted = admin.delete(f"/api/labels/{dog['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert [label["id"] for label in admin.get(task["labels"]["url"]).json()["results"]] == [
        car["id"]
    ]
    assert admin.get(f"/api/labels/{dog['id']}").status_code == 404
    assert admin.delete(f"/api/labels/{dog['id']}").status_code == 404


def test_label_type_cannot_become_or_stop_being_a_skeleton(admin):
    task = create_task(admin, labels=[VALID_LABELS[-1], {"name": "car"}])
    skeleton, car = admin.get(task["labels"]["url"]).json()["results"]
    for label, new_type in ((skeleton, "any"), (car, "skeleton")):
        response = admin.patch(
            f"/api/tasks/{task['id']}", json={"labels": [{"id": label["id"], "type": new_type}]}
        )
        assert response.status_code == 400 and "labels[0].type" in response.json()
    changed = admin.patch(
        f"/api/tasks/{task['id']}", json={"labels": [{"id": car["id"], "type": "polygon"}]}
    )
    assert changed.status_code == 200
    assert admin.get(f"/api/labels/{car['id']}").json()["type"] == "polygon"


def test_scopes_of_the_label_list(admin, server):
    project = create_project(admin, labels=[{"name": "tree"}, {"name": "rock"}])
    in_project = create_task(admin, project_id=project["id"])
    (job_id,) = add_jobs(server, in_project["id"], [(0, 0)])
    own = create_task(admin, labels=[{"name": "solo"}])
    (own_job,) = add_jobs(server, own["id"], [(0, 0)])

    def names(**params):
        response = admin.get("/api/labels", params={"org": "", **params})
        assert response.status_code == 200, response.text
        return [label["name"] for label in response.json()["results"]]

    assert names(project_id=project["id"]) == ["tree", "rock"]
    assert names(task_id=in_project["id"]) == ["tree", "rock"]
    assert names(job_id=job_id) == ["tree", "rock"]
    assert names(task_id=own["id"]) == ["solo"]
    assert names(job_id=own_job) == ["solo"]
    assert names(task_id=own["id"], name="solo") == ["solo"]
    assert names(task_id=own["id"], name="sol") == []
    assert names(project_id=project["id"], sort="-name") == ["tree", "rock"]
    assert names(project_id=project["id"], search="ROC") == ["rock"]
    everything = admin.get("/api/labels", params={"page_size": 1000}).json()
    assert everything["count"] >= 3
    for params, status in [
        ({"task_id": own["id"], "project_id": project["id"]}, 400),
        ({"task_id": "abc"}, 400),
        ({"task_id": 999999}, 404),
        ({"job_id": 999999}, 404),
        ({"project_id": 999999}, 404),
        ({"sort": "secret"}, 400),
    ]:
        assert admin.get("/api/labels", params=params).status_code == status, params
    assert admin.get("/api/labels/999999").json() == {"detail": "Not found."}
    assert admin.get("/api/labels/abc").status_code in (400, 404)
    assert admin.get("/api/labels/").status_code == 200


@LIVE_SDK
def test_sdk_reads_labels_strictly(admin, server):
    """K1 for labels, including skeletons and every attribute type."""
    task = create_task(admin, labels=VALID_LABELS)
    with sdk_client(server) as client:
        labels = client.tasks.retrieve(task["id"]).get_labels()
        assert [label.name for label in labels] == [label["name"] for label in VALID_LABELS]
        api = client.api_client.labels_api
        page, _ = api.list(task_id=task["id"])
        assert page.count == len(VALID_LABELS)
        skeleton = page.results[-1]
        assert [sub.name for sub in skeleton.sublabels] == ["head", "tail"]
        read, _ = api.retrieve(skeleton.sublabels[0].id)
        assert read.has_parent is True
        everything, _ = api.list(page_size=1000)
        assert everything.count >= len(VALID_LABELS)
