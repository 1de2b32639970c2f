"""K1 for every implemented endpoint, plus K2 and K11 (spec 5.5).

A realistic world (a project whose labels have every attribute type and a
skeleton, a task in it with 4 images and 2 jobs, annotations of every shape
type the clients model, tags and tracks, finished exports) is read and changed
through the SDK's *generated* API client, whose strict deserialization is on
by default. Each raw answer is also checked against the client's own model
metadata (required fields, nulls, enums, limits), against the field sets of
spec 4 (de facto required fields included) and for datetimes with a time and
a timezone. A new or changed response field that would break the clients
fails here with the field's path.

Runs on every backend: datetimes and nulls come from the database layer.
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cvat_sdk.api_client import exceptions, models
from cvat_sdk.api_client.model_utils import file_type
from PIL import Image

from tests.annotations_api.helpers import make_task
from tests.compat.contract import (
    ABOUT_FIELDS,
    DATA_META_FIELDS,
    FILE_INFO_FIELDS,
    FORMAT_FIELDS,
    FRAME_FIELDS,
    LABELED_DATA_FIELDS,
    OPERATION_FIELDS,
    PAGE_FIELDS,
    REQUEST_FIELDS,
    TOKEN_READ_FIELDS,
    USER_FIELDS,
    check_value,
    datetime_problems,
    field_problems,
    parse_json,
)
from tests.support.cvat import sdk_client
from tests.support.resources import (
    ATTRIBUTE_FIELDS,
    JOB_FIELDS,
    LABEL_FIELDS,
    PROJECT_FIELDS,
    TASK_FIELDS,
    unique,
)
from tests.support.server import ADMIN, LiveServer

SKELETON_SVG = (
    '<circle r="1" data-type="element node" data-label-name="head"></circle>'
    '<circle r="1" data-type="element node" data-label-name="tail"></circle>'
)
PROJECT_LABELS = [
    {
        "name": "car",
        "color": "#ff0000",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]},
            {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "1"]},
            {"name": "parked", "mutable": False, "input_type": "checkbox", "values": ["false"]},
            {"name": "note", "mutable": False, "input_type": "text", "values": ["none"]},
            {"name": "size", "mutable": False, "input_type": "radio", "values": ["s", "l"]},
        ],
    },
    {"name": "person", "type": "any"},
    {"name": "scene", "type": "tag"},
    {
        "name": "body",
        "type": "skeleton",
        "svg": SKELETON_SVG,
        "sublabels": [{"name": "head", "type": "points"}, {"name": "tail", "type": "points"}],
    },
]
EXPORT_FORMAT = "CVAT for images 1.1"


# ---- the world -------------------------------------------------------------------------


@dataclass
class World:
    server: LiveServer
    project: dict
    task: dict
    jobs: list[dict]
    ids: dict[str, int]  # label and attribute ids by name
    annotations: dict = field(default_factory=dict)


def _ids(labels: list[dict]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for label in labels:
        ids[label["name"]] = label["id"]
        for attribute in label["attributes"]:
            ids[f"{label['name']}.{attribute['name']}"] = attribute["id"]
        for sub in label["sublabels"]:
            ids[f"{label['name']}.{sub['name']}"] = sub["id"]
    return ids


def annotation_body(ids: dict[str, int]) -> dict:
    """Every shape type the clients model, tags, a plain track and a skeleton track."""

    def attr(name: str, value: str) -> dict:
        return {"spec_id": ids[f"car.{name}"], "value": value}

    fixed = [attr("color", "red"), attr("parked", "true"), attr("note", "hi"), attr("size", "l")]
    car, person = ids["car"], ids["person"]
    cuboid = [1, 1, 1, 9, 9, 1, 9, 9, 12, 1, 12, 9, 4, 1, 4, 9]
    return {
        "tags": [
            {"frame": 0, "label_id": ids["scene"]},
            {"frame": 1, "label_id": car, "attributes": [*fixed, attr("speed", "7")]},
        ],
        "shapes": [
            {
                "type": "rectangle",
                "frame": 0,
                "label_id": car,
                "points": [1, 2, 10, 12],
                "attributes": [*fixed, attr("speed", "5")],
                "rotation": 15.5,
                "z_order": 1,
                "occluded": True,
                "group": 1,
            },
            {"type": "polygon", "frame": 1, "label_id": person, "points": [1, 1, 10, 1, 5, 8]},
            {"type": "polyline", "frame": 1, "label_id": person, "points": [1, 1, 10.5, 10.25]},
            {"type": "points", "frame": 2, "label_id": person, "points": [3, 3, 6, 6]},
            {"type": "ellipse", "frame": 2, "label_id": person, "points": [20, 20, 25, 23]},
            {"type": "cuboid", "frame": 3, "label_id": person, "points": cuboid},
            {"type": "mask", "frame": 3, "label_id": person, "points": [0, 4, 0, 0, 1, 1]},
            {
                "type": "rectangle",
                "frame": 2,
                "label_id": person,
                "points": [2, 2, 8, 8],
                "source": "auto",
                "score": 0.75,
            },
            {
                "type": "skeleton",
                "frame": 0,
                "label_id": ids["body"],
                "points": [],
                "elements": [
                    {"type": "points", "frame": 0, "label_id": ids["body.head"], "points": [5, 5]},
                    {
                        "type": "points",
                        "frame": 0,
                        "label_id": ids["body.tail"],
                        "points": [8, 8],
                        "outside": True,
                    },
                ],
            },
        ],
        "tracks": [
            {
                "frame": 0,
                "label_id": car,
                "attributes": fixed,
                "shapes": [
                    {
                        "type": "rectangle",
                        "frame": 0,
                        "points": [1, 1, 5, 5],
                        "attributes": [attr("speed", "10")],
                    },
                    {"type": "rectangle", "frame": 1, "points": [2, 2, 6, 6], "outside": True},
                ],
            },
            {
                "frame": 2,
                "label_id": ids["body"],
                "shapes": [{"type": "skeleton", "frame": 2, "points": []}],
                "elements": [
                    {
                        "frame": 2,
                        "label_id": ids[f"body.{name}"],
                        "shapes": [{"type": "points", "frame": 2, "points": [x, x]}],
                    }
                    for name, x in (("head", 1), ("tail", 4))
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def world(server) -> Iterator[World]:
    client = server.client()
    try:
        created = client.post(
            "/api/projects", json={"name": unique("k1-project"), "labels": PROJECT_LABELS}
        )
        assert created.status_code == 201, created.text
        project = created.json()
        task = make_task(
            client,
            4,
            name=unique("k1-task"),
            labels=[],
            project_id=project["id"],
            segment_size=2,
            bug_tracker="http://bt/1",
            subset="Train",
            target_storage={"location": "local"},
            source_storage={"location": "local"},
        )
        assert len(task["jobs_list"]) == 2, task["jobs_list"]
        ids = _ids(task["labels_list"])
        body = annotation_body(ids)
        put = client.put(f"/api/tasks/{task['id']}/annotations/", json=body)
        assert put.status_code == 200, put.text
        yield World(server, project, task, task["jobs_list"], ids, put.json())
    finally:
        client.close()


@pytest.fixture(scope="module")
def sdk(server):
    with sdk_client(server) as client:
        yield client


# ---- calling the generated API with checks -----------------------------------------------


class Checked:
    """``api("tasks", "retrieve", 7)`` calls ``client.api_client.tasks_api.retrieve(7)``.

    The call must not raise (strict deserialization); the raw JSON is walked with the
    client's model metadata and for datetimes. Problems are collected, not raised, so
    one run lists all of them; ``assert_clean()`` fails with the whole list.
    """

    def __init__(self, client) -> None:
        self.client = client
        self.problems: list[str] = []

    def __call__(self, api_name: str, op: str, *args, **kwargs) -> tuple[Any, Any, Any]:
        api = getattr(self.client.api_client, f"{api_name}_api")
        where = f"{api_name}_api.{op}"
        try:
            model, response = getattr(api, op)(*args, **kwargs)
        except Exception as error:
            raise AssertionError(f"{where}{args} raised {error!r}") from error
        schema = getattr(api, f"{op}_endpoint").settings["response_schema"]
        raw = None
        if schema and schema != (file_type,):
            raw = parse_json(response)
            check_value(raw, schema, where, self.problems)
            self.problems += datetime_problems(raw, where)
        return model, raw, response

    def fields(self, obj: Any, spec: dict[str, tuple], where: str) -> None:
        self.problems += field_problems(obj, _nullable(spec), where)

    def page(self, raw: dict, item_spec: dict[str, tuple] | None, where: str) -> None:
        self.fields(raw, PAGE_FIELDS, where)
        for i, item in enumerate(raw.get("results", [])):
            if item_spec:
                self.fields(item, item_spec, f"{where}.results[{i}]")

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def _nullable(spec: dict[str, tuple]) -> dict[str, tuple]:
    """tests.support.resources spells "null allowed" as None; contract.py as NoneType."""
    return {k: tuple(type(None) if t is None else t for t in v) for k, v in spec.items()}


def wait_finished(api: Checked, rq_id: str, timeout: float = 60) -> tuple[Any, dict]:
    deadline = time.monotonic() + timeout
    while True:
        model, raw, _ = api("requests", "retrieve", rq_id)
        api.fields(raw, REQUEST_FIELDS, f"request {rq_id}")
        api.fields(raw["operation"], OPERATION_FIELDS, f"request {rq_id}.operation")
        if model.status.value in ("finished", "failed"):
            assert model.status.value == "finished", raw
            return model, raw
        assert time.monotonic() < deadline, raw
        time.sleep(0.05)


# ---- K2 ----------------------------------------------------------------------------------


def test_k2_about_is_anonymous_and_versioned(server):
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    response = httpx.get(f"{server.url}/api/server/about")
    assert response.status_code == 200
    about = response.json()
    assert not field_problems(about, ABOUT_FIELDS), about
    assert Version(about["version"]) in SpecifierSet("~=2.80.0")
    assert about["logo_url"].startswith("http")


# ---- K1, area by area -------------------------------------------------------------------


def test_k1_server_api(server, sdk):
    api = Checked(sdk)
    _, about, _ = api("server", "retrieve_about")
    api.fields(about, ABOUT_FIELDS, "about")
    _, formats, _ = api("server", "retrieve_annotation_formats")
    for kind in ("importers", "exporters"):
        assert formats[kind], formats
        for i, fmt in enumerate(formats[kind]):
            api.fields(fmt, FORMAT_FIELDS, f"formats.{kind}[{i}]")
    names = {f["name"] for f in formats["exporters"]}
    assert EXPORT_FORMAT in names
    assert "CVAT 1.1" in {f["name"] for f in formats["importers"]}
    _, plugins, _ = api("server", "retrieve_plugins")
    assert isinstance(plugins["analytics"], bool) and isinstance(plugins["models"], bool)
    sub = server.share_root / unique("k1share")
    (sub / "inner").mkdir(parents=True)
    (sub / "a.jpg").write_bytes(b"x")
    _, listing, _ = api("server", "list_share", directory=f"/{sub.name}/")
    for i, entry in enumerate(listing):
        api.fields(entry, FILE_INFO_FIELDS, f"share[{i}]")
    assert {(e["name"], e["type"]) for e in listing} == {("inner", "DIR"), ("a.jpg", "REG")}
    api.assert_clean()


def test_k1_auth_and_users_api(server, sdk):
    from cvat_sdk import Client, make_client

    api = Checked(sdk)
    # login and logout on a client of their own: a new login must not disturb ``sdk``
    fresh = Client(server.url)
    own = Checked(fresh)
    _, token, _ = own(
        "auth",
        "create_login",
        models.LoginSerializerExRequest(username=ADMIN[0], password=ADMIN[1]),
    )
    assert isinstance(token["key"], str) and len(token["key"]) <= 40
    assert {"sessionid", "csrftoken"} <= set(fresh.api_client.cookies)
    fresh.api_client.set_default_header("X-CSRFToken", fresh.api_client.cookies["csrftoken"].value)
    own("auth", "create_logout")
    own.assert_clean()

    model, created, _ = api(
        "auth",
        "create_access_tokens",
        models.AccessTokenWriteRequest(name=unique("k1-token")),
    )
    api.fields(created, TOKEN_READ_FIELDS, "access_tokens.create")
    assert created["value"] and created["expiry_date"] is None
    _, page, _ = api("auth", "list_access_tokens")
    api.page(page, TOKEN_READ_FIELDS, "access_tokens.list")
    assert model.id in [t["id"] for t in page["results"]]
    assert all("value" not in t for t in page["results"])
    _, one, _ = api("auth", "retrieve_access_tokens", model.id)
    api.fields(one, TOKEN_READ_FIELDS, "access_tokens.retrieve")
    with make_client("http://localhost", port=server.port, access_token=created["value"]) as pat:
        bearer = Checked(pat)
        _, me, _ = bearer("auth", "retrieve_access_tokens_self")
        api.fields(me, TOKEN_READ_FIELDS, "access_tokens.self")
        assert me["name"] == created["name"]
        bearer.assert_clean()
    api("auth", "destroy_access_tokens", model.id)

    _, me, _ = api("users", "retrieve_self")
    api.fields(me, USER_FIELDS, "users.self")
    assert me["username"] == "admin" and me["is_superuser"] is True
    _, users, _ = api("users", "list")
    api.page(users, USER_FIELDS, "users.list")
    _, user, _ = api("users", "retrieve", me["id"])
    api.fields(user, USER_FIELDS, "users.retrieve")
    api.assert_clean()


def test_k1_projects_api(sdk, world):
    api = Checked(sdk)
    pid = world.project["id"]
    _, project, _ = api("projects", "retrieve", pid)
    api.fields(project, PROJECT_FIELDS, "projects.retrieve")
    assert project["tasks"]["count"] == 1 and project["dimension"] == "2d"
    assert project["task_subsets"] == ["Train"]
    _, page, _ = api("projects", "list")
    api.page(page, PROJECT_FIELDS, "projects.list")
    _, filtered, _ = api("projects", "list", name=world.project["name"])
    assert [p["id"] for p in filtered["results"]] == [pid]
    _, tasks, _ = api("tasks", "list", project_id=pid, org="")
    assert [t["id"] for t in tasks["results"]] == [world.task["id"]]

    new, made, _ = api(
        "projects",
        "create",
        models.ProjectWriteRequest(
            name=unique("k1-new"),
            labels=[models.PatchedLabelRequest(name="tree")],
            target_storage=models.PatchedProjectWriteRequestTargetStorage(location="local"),
        ),
    )
    api.fields(made, PROJECT_FIELDS, "projects.create")
    assert made["dimension"] is None and made["tasks"]["count"] == 0
    _, patched, _ = api(
        "projects",
        "partial_update",
        new.id,
        patched_project_write_request=models.PatchedProjectWriteRequest(bug_tracker="http://x/1"),
    )
    api.fields(patched, PROJECT_FIELDS, "projects.partial_update")
    assert patched["bug_tracker"] == "http://x/1"
    _, _, response = api("projects", "destroy", new.id)
    assert response.status == 204
    with pytest.raises(exceptions.NotFoundException):
        sdk.api_client.projects_api.retrieve(new.id)
    api.assert_clean()


def test_k1_tasks_api(sdk, world):
    api = Checked(sdk)
    tid = world.task["id"]
    _, task, _ = api("tasks", "retrieve", tid)
    api.fields(task, TASK_FIELDS, "tasks.retrieve")
    assert (task["size"], task["segment_size"], task["project_id"]) == (4, 2, world.project["id"])
    assert isinstance(task["image_quality"], int) and task["data_original_chunk_type"] == "imageset"
    assert task["jobs"]["count"] == 2 and task["target_storage"]["location"] == "local"
    _, page, _ = api("tasks", "list")
    api.page(page, TASK_FIELDS, "tasks.list")
    _, by_name, _ = api("tasks", "list", name=world.task["name"])
    assert [t["id"] for t in by_name["results"]] == [tid]

    new, made, _ = api(
        "tasks",
        "create",
        models.TaskWriteRequest(
            name=unique("k1-new"),
            labels=[
                models.PatchedLabelRequest(
                    name="car",
                    attributes=[
                        models.AttributeRequest(
                            name="a", mutable=False, input_type="select", values=["x", "y"]
                        )
                    ],
                )
            ],
            segment_size=3,
        ),
    )
    api.fields(made, TASK_FIELDS, "tasks.create")
    assert "image_quality" not in made and made["size"] == 0
    _, patched, _ = api(
        "tasks",
        "partial_update",
        new.id,
        patched_task_write_request=models.PatchedTaskWriteRequest(subset="Test", name="renamed"),
    )
    api.fields(patched, TASK_FIELDS, "tasks.partial_update")
    assert (patched["subset"], patched["name"]) == ("Test", "renamed")
    _, _, response = api("tasks", "destroy", new.id)
    assert response.status == 204
    with pytest.raises(exceptions.NotFoundException):
        sdk.api_client.tasks_api.retrieve(new.id)
    api.assert_clean()


def test_k1_task_and_job_data(sdk, world):
    api = Checked(sdk)
    tid = world.task["id"]
    _, meta, _ = api("tasks", "retrieve_data_meta", tid)
    api.fields(meta, DATA_META_FIELDS, "tasks.data_meta")
    for i, frame in enumerate(meta["frames"]):
        api.fields(frame, FRAME_FIELDS, f"tasks.data_meta.frames[{i}]")
    assert [f["name"] for f in meta["frames"]] == [f"f{i}.jpg" for i in range(4)]
    assert [(f["width"], f["height"]) for f in meta["frames"]] == [
        (64 + i, 48 + i) for i in range(4)
    ]
    _, _, frame = api("tasks", "retrieve_data", tid, "frame", number=1, quality="original")
    assert Image.open(io.BytesIO(frame.data)).size == (65, 49)
    _, _, chunk = api("tasks", "retrieve_data", tid, "chunk", number=0, quality="compressed")
    assert len(zipfile.ZipFile(io.BytesIO(chunk.data)).namelist()) == min(meta["chunk_size"], 4)
    _, _, preview = api("tasks", "retrieve_preview", tid)
    Image.open(io.BytesIO(preview.data)).verify()

    second = world.jobs[1]
    _, job_meta, _ = api("jobs", "retrieve_data_meta", second["id"])
    api.fields(job_meta, DATA_META_FIELDS, "jobs.data_meta")
    assert (job_meta["start_frame"], job_meta["stop_frame"]) == (2, 3)
    assert [f["name"] for f in job_meta["frames"]] == ["f2.jpg", "f3.jpg"]
    image, _, _ = api(
        "jobs", "retrieve_data", second["id"], type="frame", number=2, quality="original"
    )
    with image:
        assert Image.open(image).size == (66, 50)
    _, _, job_preview = api("jobs", "retrieve_preview", second["id"])
    Image.open(io.BytesIO(job_preview.data)).verify()
    api.assert_clean()


def test_k1_jobs_api(sdk, world):
    api = Checked(sdk)
    _, page, _ = api("jobs", "list", task_id=world.task["id"], org="")
    api.page(page, JOB_FIELDS, "jobs.list")
    ranges = sorted((j["start_frame"], j["stop_frame"]) for j in page["results"])
    assert ranges == [(0, 1), (2, 3)]
    _, everything, _ = api("jobs", "list")
    api.page(everything, JOB_FIELDS, "jobs.list(all)")
    for job in world.jobs:
        _, read, _ = api("jobs", "retrieve", job["id"])
        api.fields(read, JOB_FIELDS, f"jobs.retrieve({job['id']})")
        assert read["project_id"] == world.project["id"] and read["task_id"] == world.task["id"]
    first = world.jobs[0]["id"]
    _, changed, _ = api(
        "jobs",
        "partial_update",
        first,
        patched_job_write_request=models.PatchedJobWriteRequest(stage="validation"),
    )
    api.fields(changed, JOB_FIELDS, "jobs.partial_update")
    assert changed["stage"] == "validation"
    _, back, _ = api(
        "jobs",
        "partial_update",
        first,
        patched_job_write_request=models.PatchedJobWriteRequest(stage="annotation", state="new"),
    )
    assert (back["stage"], back["state"]) == ("annotation", "new")
    api.assert_clean()


def _check_labels(api: Checked, labels: list[dict], where: str) -> None:
    for i, label in enumerate(labels):
        api.fields(label, LABEL_FIELDS, f"{where}[{i}]")
        for j, attribute in enumerate(label.get("attributes", [])):
            api.fields(attribute, ATTRIBUTE_FIELDS, f"{where}[{i}].attributes[{j}]")


def test_k1_labels_api(sdk, world):
    api = Checked(sdk)
    expected = [label["name"] for label in PROJECT_LABELS]
    for scope in (
        {"project_id": world.project["id"]},
        {"task_id": world.task["id"]},
        {"job_id": world.jobs[1]["id"]},
    ):
        _, page, _ = api("labels", "list", org="", **scope)
        api.page(page, None, f"labels.list({scope})")
        _check_labels(api, page["results"], f"labels.list({scope})")
        assert [label["name"] for label in page["results"]] == expected, scope
    _, car, _ = api("labels", "retrieve", world.ids["car"])
    _check_labels(api, [car], "labels.retrieve")
    assert [a["input_type"] for a in car["attributes"]] == [
        "select",
        "number",
        "checkbox",
        "text",
        "radio",
    ]
    _, head, _ = api("labels", "retrieve", world.ids["body.head"])
    assert head["has_parent"] is True and head["parent_id"] == world.ids["body"]
    _, body, _ = api("labels", "retrieve", world.ids["body"])
    assert [s["name"] for s in body["sublabels"]] == ["head", "tail"]

    project = sdk.projects.create(
        models.ProjectWriteRequest(name=unique("k1-lab"), labels=[{"name": "a"}, {"name": "b"}])
    )
    a, b = sorted(project.get_labels(), key=lambda label: label.name)
    _, patched, _ = api(
        "labels",
        "partial_update",
        a.id,
        patched_label_request=models.PatchedLabelRequest(name="a2", color="#123456"),
    )
    _check_labels(api, [patched], "labels.partial_update")
    assert (patched["name"], patched["color"]) == ("a2", "#123456")
    _, _, response = api("labels", "destroy", b.id)
    assert response.status == 204
    assert [label.name for label in project.get_labels()] == ["a2"]
    project.remove()
    api.assert_clean()


def _shape_types(data: dict) -> list[str]:
    return sorted(s["type"] for s in data["shapes"])


def test_k1_task_annotations(sdk, world, tmp_path):
    api = Checked(sdk)
    tid = world.task["id"]
    _, data, _ = api("tasks", "retrieve_annotations", tid)
    api.fields(data, LABELED_DATA_FIELDS, "tasks.annotations")
    assert _shape_types(data) == sorted(
        ["rectangle", "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid"]
        + ["mask", "skeleton"]
    )
    assert len(data["tags"]) == 2 and len(data["tracks"]) == 2
    skeleton = next(s for s in data["shapes"] if s["type"] == "skeleton")
    assert len(skeleton["elements"]) == 2
    auto = next(s for s in data["shapes"] if s.get("source") == "auto")
    assert auto["score"] == 0.75
    track = next(t for t in data["tracks"] if t["label_id"] == world.ids["car"])
    assert [s["frame"] for s in track["shapes"]] == [0, 1]

    # changes on a copy of the task, so the other tests keep the world as it is
    copy = sdk.tasks.create_from_data(
        spec=models.TaskWriteRequest(name=unique("k1-ann"), project_id=world.project["id"]),
        resources=[_image_file(sdk, world, tmp_path)],
    )
    body = annotation_body(world.ids)
    one_frame = {
        "shapes": [s for s in body["shapes"] if s["frame"] == 0],
        "tags": [t for t in body["tags"] if t["frame"] == 0],
        "tracks": [],
    }
    _, put, _ = api(
        "tasks",
        "update_annotations",
        copy.id,
        labeled_data_request=models.LabeledDataRequest(**_requests(one_frame)),
    )
    _, created, _ = api(
        "tasks",
        "partial_update_annotations",
        "create",
        copy.id,
        patched_labeled_data_request=models.PatchedLabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    type="polygon", frame=0, label_id=world.ids["person"], points=[1, 1, 5, 1, 3, 4]
                )
            ]
        ),
    )
    api.fields(created, LABELED_DATA_FIELDS, "tasks.annotations.create")
    (new_shape,) = created["shapes"]
    _, updated, _ = api(
        "tasks",
        "partial_update_annotations",
        "update",
        copy.id,
        patched_labeled_data_request=models.PatchedLabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    id=new_shape["id"],
                    type="polygon",
                    frame=0,
                    label_id=world.ids["person"],
                    points=[2, 2, 6, 2, 4, 5],
                )
            ]
        ),
    )
    assert updated["shapes"][0]["points"] == [2.0, 2.0, 6.0, 2.0, 4.0, 5.0]
    api(
        "tasks",
        "partial_update_annotations",
        "delete",
        copy.id,
        patched_labeled_data_request=models.PatchedLabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    id=new_shape["id"], type="polygon", frame=0, label_id=world.ids["person"]
                )
            ]
        ),
    )
    _, after, _ = api("tasks", "retrieve_annotations", copy.id)
    assert _shape_types(after) == ["rectangle", "skeleton"] and len(after["tags"]) == 1
    assert after["version"] > 0
    _, _, response = api("tasks", "destroy_annotations", copy.id)
    assert response.status == 204
    _, empty, _ = api("tasks", "retrieve_annotations", copy.id)
    assert empty["shapes"] == empty["tags"] == empty["tracks"] == empty["intervals"] == []
    copy.remove()
    api.assert_clean()


def test_k1_job_annotations(sdk, world, tmp_path):
    api = Checked(sdk)
    first, second = (job["id"] for job in world.jobs)
    _, data, _ = api("jobs", "retrieve_annotations", second)
    api.fields(data, LABELED_DATA_FIELDS, "jobs.annotations")
    assert {s["frame"] for s in data["shapes"]} <= {2, 3} and data["shapes"]
    _, data0, _ = api("jobs", "retrieve_annotations", first)
    assert {s["frame"] for s in data0["shapes"]} <= {0, 1}

    copy = sdk.tasks.create_from_data(
        spec=models.TaskWriteRequest(name=unique("k1-job"), project_id=world.project["id"]),
        resources=[_image_file(sdk, world, tmp_path)],
    )
    (job,) = copy.get_jobs()
    person = world.ids["person"]
    api(
        "jobs",
        "update_annotations",
        job.id,
        labeled_data_request=models.LabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    type="ellipse", frame=0, label_id=person, points=[5, 5, 8, 7]
                )
            ],
            tags=[models.LabeledImageRequest(frame=0, label_id=world.ids["scene"])],
        ),
    )
    api(
        "jobs",
        "partial_update_annotations",
        "create",
        job.id,
        patched_labeled_data_request=models.PatchedLabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    type="points", frame=0, label_id=person, points=[1, 1], source="semi-auto"
                )
            ]
        ),
    )
    _, read, _ = api("jobs", "retrieve_annotations", job.id)
    assert _shape_types(read) == ["ellipse", "points"] and len(read["tags"]) == 1
    _, _, response = api("jobs", "destroy_annotations", job.id)
    assert response.status == 204
    _, empty, _ = api("jobs", "retrieve_annotations", job.id)
    assert empty["shapes"] == [] and empty["tags"] == []
    copy.remove()
    api.assert_clean()


def test_k1_exports_backups_and_requests(sdk, world, tmp_path):
    api = Checked(sdk)
    tid, pid, jid = world.task["id"], world.project["id"], world.jobs[0]["id"]
    started = {}
    _, rq, response = api(
        "tasks", "create_dataset_export", EXPORT_FORMAT, tid, save_images=False, location="local"
    )
    assert response.status == 202
    started["task"] = rq["rq_id"]
    _, rq, _ = api("jobs", "create_dataset_export", EXPORT_FORMAT, jid, save_images=False)
    started["job"] = rq["rq_id"]
    _, rq, _ = api("projects", "create_dataset_export", EXPORT_FORMAT, pid, save_images=True)
    started["project"] = rq["rq_id"]
    _, rq, _ = api("tasks", "create_backup_export", tid, location="local")
    started["backup"] = rq["rq_id"]
    _, rq, _ = api("projects", "create_backup_export", pid, location="local")
    started["project backup"] = rq["rq_id"]
    for name, rq_id in started.items():
        model, raw = wait_finished(api, rq_id)
        assert raw["result_url"].startswith("http"), (name, raw)  # DF for local exports
        is_backup = name.endswith("backup")
        assert raw["operation"]["format"] == (None if is_backup else EXPORT_FORMAT)
        assert raw["result_id"] is None and raw["progress"] == 1.0
    _, page, _ = api("requests", "list")
    api.page(page, REQUEST_FIELDS, "requests.list")
    assert set(started.values()) <= {r["id"] for r in page["results"]}
    _, mine, _ = api("requests", "list", task_id=tid)
    assert started["task"] in {r["id"] for r in mine["results"]}
    with pytest.raises(exceptions.ApiException) as refused:
        sdk.api_client.requests_api.create_cancel(started["task"])
    assert refused.value.status == 400  # finished requests cannot be canceled

    # backup import: the finished request names the new task in result_id (DF)
    task = sdk.tasks.retrieve(tid)
    backup = task.download_backup(tmp_path / "b.zip")
    restored = sdk.tasks.create_from_backup(backup)
    _, imports, _ = api("requests", "list", action="import", target="task")
    assert restored.id in [r["result_id"] for r in imports["results"]], imports["results"]
    _, restored_raw, _ = api("tasks", "retrieve", restored.id)
    api.fields(restored_raw, TASK_FIELDS, "tasks.retrieve(restored)")
    assert restored_raw["size"] == 4
    restored.remove()
    # the same for a project
    project_backup = sdk.projects.retrieve(pid).download_backup(tmp_path / "p.zip")
    restored_project = sdk.projects.create_from_backup(project_backup)
    _, imports, _ = api("requests", "list", action="import", target="project")
    assert restored_project.id in [r["result_id"] for r in imports["results"]], imports
    _, project_raw, _ = api("projects", "retrieve", restored_project.id)
    api.fields(project_raw, PROJECT_FIELDS, "projects.retrieve(restored)")
    assert project_raw["tasks"]["count"] == 1 and project_raw["id"] != pid
    restored_project.remove()
    api.assert_clean()


def test_k1_annotation_import_request(sdk, world, tmp_path):
    """The request of an annotation import, polled through the generated API."""
    api = Checked(sdk)
    copy = sdk.tasks.create_from_data(
        spec=models.TaskWriteRequest(name=unique("k1-imp"), project_id=world.project["id"]),
        resources=[_image_file(sdk, world, tmp_path)],
    )
    xml = tmp_path / "ann.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version>'
        '<image id="0" name="f0.jpg" width="64" height="48">'
        '<box label="person" occluded="0" source="manual" xtl="1" ytl="2" xbr="9" ybr="9"'
        ' z_order="0"></box></image></annotations>'
    )
    copy.import_annotations("CVAT 1.1", xml)
    _, page, _ = api("requests", "list", task_id=copy.id)
    api.page(page, REQUEST_FIELDS, "requests.list(import)")
    (done,) = [r for r in page["results"] if r["operation"]["type"].startswith("import")]
    assert done["status"] == "finished" and done["message"] == ""
    _, one, _ = api("requests", "retrieve", done["id"])
    api.fields(one["operation"], OPERATION_FIELDS, "requests.retrieve.operation")
    _, data, _ = api("tasks", "retrieve_annotations", copy.id)
    assert [s["type"] for s in data["shapes"]] == ["rectangle"]
    # the same file through the job and the project upload endpoints
    (job,) = copy.get_jobs()
    sdk.jobs.retrieve(job.id).import_annotations("CVAT 1.1", xml)
    _, by_job, _ = api("jobs", "retrieve_annotations", job.id)
    assert [s["type"] for s in by_job["shapes"]] == ["rectangle"]
    project = sdk.projects.create(
        models.ProjectWriteRequest(name=unique("k1-pimp"), labels=[{"name": "person"}])
    )
    in_project = sdk.tasks.create_from_data(
        spec={"name": unique("k1-pt"), "project_id": project.id},
        resources=[_image_file(sdk, world, tmp_path)],
    )
    project.import_dataset("CVAT 1.1", xml)
    _, by_project, _ = api("tasks", "retrieve_annotations", in_project.id)
    assert [s["type"] for s in by_project["shapes"]] == ["rectangle"]
    _, imports, _ = api("requests", "list", action="import")
    api.page(imports, REQUEST_FIELDS, "requests.list(action=import)")
    kinds = {(r["operation"]["type"], r["operation"]["target"]) for r in imports["results"]}
    assert {("import:annotations", "job"), ("import:dataset", "project")} <= kinds, kinds
    project.remove()
    copy.remove()
    api.assert_clean()


# ---- K11: a sweep over every JSON answer of the world --------------------------------------


def test_k11_every_datetime_has_a_time_and_a_timezone(world):
    """Every string that is a date anywhere in any JSON answer, not only ``*_date`` keys."""
    client = world.server.client()
    tid, pid = world.task["id"], world.project["id"]
    j0, j1 = (job["id"] for job in world.jobs)
    try:
        export = client.post(
            f"/api/tasks/{tid}/dataset/export",
            params={"format": EXPORT_FORMAT, "save_images": "False"},
        )
        assert export.status_code == 202
        rq_id = export.json()["rq_id"]
        token = client.post("/api/auth/access_tokens", json={"name": unique("k11")})
        assert token.status_code == 201
        bearer = {"Authorization": f"Bearer {token.json()['value']}"}
        answers: dict[str, Any] = {"POST access_tokens": token.json()}
        for path in [
            "/api/server/about",
            "/api/server/plugins",
            "/api/server/annotation/formats",
            "/api/users/self",
            "/api/users",
            "/api/auth/access_tokens",
            f"/api/auth/access_tokens/{token.json()['id']}",
            "/api/projects",
            f"/api/projects/{pid}",
            f"/api/projects/{pid}/tasks",
            "/api/tasks",
            f"/api/tasks/{tid}",
            f"/api/tasks/{tid}/data/meta",
            f"/api/tasks/{tid}/annotations/",
            "/api/jobs",
            f"/api/jobs/{j0}",
            f"/api/jobs/{j1}/data/meta",
            f"/api/jobs/{j1}/annotations/",
            "/api/labels",
            f"/api/labels?project_id={pid}",
            f"/api/labels/{world.ids['body']}",
            "/api/requests",
            f"/api/requests/{rq_id}",
        ]:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            answers[path] = response.json()
        answers["token self"] = httpx.get(
            f"{world.server.url}/api/auth/access_tokens/self", headers=bearer
        ).json()
        answers["PATCH task"] = client.patch(f"/api/tasks/{tid}", json={"subset": "Train"}).json()
        answers["PATCH job"] = client.patch(f"/api/jobs/{j1}", json={"state": "new"}).json()
        answers["login"] = httpx.post(
            f"{world.server.url}/api/auth/login",
            json={"username": ADMIN[0], "password": ADMIN[1]},
        ).json()
    finally:
        client.close()
    problems = [p for where, body in answers.items() for p in datetime_problems(body, where)]
    assert not problems, "\n".join(problems)
    dated = [where for where, body in answers.items() if "_date" in str(body)]
    assert len(dated) >= 15, dated  # the sweep really saw datetimes


# ---- helpers ------------------------------------------------------------------------------


def _image_file(sdk, world, directory: Path) -> str:
    """A local copy of the world's first frame, named like it (f0.jpg), for new tasks."""
    path = directory / "f0.jpg"
    if not path.exists():
        task = sdk.tasks.retrieve(world.task["id"])
        path.write_bytes(task.get_frame(0, quality="original").read())
    return str(path)


def _requests(body: dict) -> dict:
    """Plain annotation dicts as the request models the SDK sends."""
    return {
        "shapes": [models.LabeledShapeRequest(**_shape(s)) for s in body["shapes"]],
        "tags": [
            models.LabeledImageRequest(
                **{
                    **t,
                    "attributes": [
                        models.AttributeValRequest(**a) for a in t.get("attributes", [])
                    ],
                }
            )
            for t in body["tags"]
        ],
        "tracks": [],
    }


def _shape(shape: dict) -> dict:
    out = dict(shape)
    out["attributes"] = [models.AttributeValRequest(**a) for a in shape.get("attributes", [])]
    out["points"] = [float(p) for p in shape.get("points", [])]
    if "elements" in shape:
        out["elements"] = [models.SubLabeledShapeRequest(**_shape(e)) for e in shape["elements"]]
    return out
