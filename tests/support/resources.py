"""Creating projects, tasks and jobs on a live server for API tests.

Jobs normally come from a data upload; tests that are about jobs themselves
insert segments and jobs straight into the server's database instead, which
keeps them fast and independent of the media pipeline.
"""

from __future__ import annotations

import re
import uuid
from functools import cache

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.support.server import LiveServer


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_project(client: httpx.Client, **fields) -> dict:
    body = {"name": unique("p"), "labels": [{"name": "tree"}], **fields}
    response = client.post("/api/projects", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def create_task(client: httpx.Client, **fields) -> dict:
    labels = [] if "project_id" in fields else [{"name": "car"}, {"name": "person"}]
    body = {"name": unique("t"), "labels": labels, **fields}
    response = client.post("/api/tasks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def database_url(server: LiveServer) -> str:
    url = server.env.get("ANNOTASK_DATABASE_URL")
    return url or f"sqlite:///{(server.data_dir / 'annotask.db').resolve()}"


@cache
def _engine(url: str) -> Engine:
    from annotask.db.engine import make_engine

    return make_engine(url)


def add_jobs(server: LiveServer, task_id: int, ranges: list[tuple[int, int]]) -> list[int]:
    """Give a task one segment and one annotation job per ``(start, stop)`` frame range."""
    from annotask.db.models import Job, Segment

    with Session(_engine(database_url(server))) as db, db.begin():
        ids = []
        for start, stop in ranges:
            segment = Segment(task_id=task_id, start_frame=start, stop_frame=stop)
            db.add(segment)
            db.flush()
            job = Job(segment_id=segment.id, task_id=task_id)
            db.add(job)
            db.flush()
            ids.append(job.id)
        return ids


def counts(client: httpx.Client) -> dict[str, int]:
    """How many projects, tasks, jobs and labels the (admin) client sees."""
    return {
        name: client.get(f"/api/{name}", params={"page_size": 1}).json()["count"]
        for name in ("projects", "tasks", "jobs", "labels")
    }


def _attr(input_type: str, values: list[str], **extra) -> dict:
    return {"name": "a", "mutable": False, "input_type": input_type, "values": values, **extra}


def _label(*attributes: dict, **extra) -> dict:
    return {"name": "car", "attributes": list(attributes), **extra}


LONG = "x" * 201
# (labels as a client sends them, the field path the 400 must name)
INVALID_LABELS: list[tuple[list, str]] = [
    (["car"], "labels[0]"),
    ([{}], "labels[0].name"),
    ([{"name": ""}], "labels[0].name"),
    ([{"name": "n" * 65}], "labels[0].name"),
    ([{"name": 5}], "labels[0].name"),
    ([{"name": "car"}, {"name": "car"}], "labels[1].name"),
    ([{"name": "car", "color": "red"}], "labels[0].color"),
    ([{"name": "car", "color": "#12345g"}], "labels[0].color"),
    ([{"name": "car", "type": "box"}], "labels[0].type"),
    ([{"name": "car", "id": 12345}], "labels[0].id"),
    ([{"name": "car", "deleted": True}], "labels[0].deleted"),
    ([{"name": "car", "svg": "<circle/>"}], "labels[0].svg"),
    ([{"name": "car", "sublabels": [{"name": "p"}]}], "labels[0].sublabels"),
    ([{"name": "sk", "type": "skeleton", "sublabels": []}], "labels[0].sublabels"),
    (
        [{"name": "sk", "type": "skeleton", "sublabels": [{"name": "p"}, {"name": "p"}]}],
        "labels[0].sublabels[1].name",
    ),
    (
        [{"name": "sk", "type": "skeleton", "sublabels": [{"name": "p", "type": "skeleton"}]}],
        "labels[0].sublabels[0].type",
    ),
    ([{"name": "car", "attributes": {"name": "a"}}], "labels[0].attributes"),
    (
        [_label({"mutable": False, "input_type": "text", "values": []})],
        "labels[0].attributes[0].name",
    ),
    ([_label(_attr("text", [], name="n" * 65))], "labels[0].attributes[0].name"),
    ([_label(_attr("text", []), _attr("text", []))], "labels[0].attributes[1].name"),
    (
        [_label({"name": "a", "input_type": "text", "values": []})],
        "labels[0].attributes[0].mutable",
    ),
    ([_label(_attr("text", [], mutable="yes"))], "labels[0].attributes[0].mutable"),
    ([_label(_attr("dropdown", ["x"]))], "labels[0].attributes[0].input_type"),
    (
        [_label({"name": "a", "mutable": True, "input_type": "text"})],
        "labels[0].attributes[0].values",
    ),
    ([_label(_attr("text", [1]))], "labels[0].attributes[0].values"),
    ([_label(_attr("select", []))], "labels[0].attributes[0].values"),
    ([_label(_attr("radio", []))], "labels[0].attributes[0].values"),
    ([_label(_attr("select", ["red", LONG]))], "labels[0].attributes[0].values"),
    ([_label(_attr("select", ["v" * 200] * 21))], "labels[0].attributes[0].values"),
    (
        [_label(_attr("select", ["red"], default_value="blue"))],
        "labels[0].attributes[0].default_value",
    ),
    ([_label(_attr("checkbox", ["yes"]))], "labels[0].attributes[0].values"),
    ([_label(_attr("checkbox", ["true", "false"]))], "labels[0].attributes[0].values"),
    (
        [_label(_attr("checkbox", ["true"], default_value="no"))],
        "labels[0].attributes[0].default_value",
    ),
    ([_label(_attr("number", ["1", "2"]))], "labels[0].attributes[0].values"),
    ([_label(_attr("number", ["a", "10", "1"]))], "labels[0].attributes[0].values"),
    ([_label(_attr("number", ["5", "1", "1"]))], "labels[0].attributes[0].values"),
    ([_label(_attr("number", ["0", "10", "0"]))], "labels[0].attributes[0].values"),
    ([_label(_attr("number", ["0", "10", "11"]))], "labels[0].attributes[0].values"),
    (
        [_label(_attr("number", ["0", "10", "1"], default_value="11"))],
        "labels[0].attributes[0].default_value",
    ),
    ([_label(_attr("text", ["a", "b"]))], "labels[0].attributes[0].values"),
    ([_label(_attr("text", ["d" * 129]))], "labels[0].attributes[0].default_value"),
    ([_label(_attr("text", [], default_value="d" * 129))], "labels[0].attributes[0].default_value"),
    (
        [{"name": "ok"}, _label(_attr("text", []), _attr("number", ["1", "1", "1"], name="b"))],
        "labels[1].attributes[1].values",
    ),
]

VALID_LABELS = [
    {"name": "plain"},
    {"name": "coloured", "color": "#FF0000", "type": "rectangle"},
    _label(
        _attr("select", ["red", "blue"]),
        _attr("radio", ["x", "y"], name="r", default_value="y"),
        name="sel",
    ),
    _label(_attr("checkbox", ["false"]), _attr("number", ["0", "10", "0.5"], name="n"), name="chk"),
    _label(
        _attr("text", []),
        _attr("text", [""], name="t2"),
        _attr("text", ["hi"], name="t3"),
        name="txt",
    ),
    {
        "name": "body",
        "type": "skeleton",
        "svg": '<circle r="1" data-type="element node" data-label-name="head"></circle>',
        "sublabels": [
            {"name": "head", "type": "points"},
            {"name": "tail", "attributes": [_attr("text", [])]},
        ],
    },
]


# ---- response shapes (spec 4): every REQ/DF field present, nulls only where allowed ----

OPT_INT = (int, None)
OPT_STR = (str, None)
OPT_DICT = (dict, None)

TASK_FIELDS: dict[str, tuple] = {
    "url": (str,),
    "id": (int,),
    "name": (str,),
    "project_id": OPT_INT,
    "project_name": OPT_STR,
    "mode": (str,),
    "owner": OPT_DICT,
    "assignee": OPT_DICT,
    "bug_tracker": (str,),
    "created_date": (str,),
    "updated_date": (str,),
    "overlap": OPT_INT,
    "segment_size": (int,),
    "status": (str,),
    "data_chunk_size": OPT_INT,
    "data_compressed_chunk_type": OPT_STR,
    "data_original_chunk_type": OPT_STR,
    "data_cloud_storage_id": OPT_INT,
    "guide_id": OPT_INT,
    "size": (int,),
    "data": OPT_INT,
    "dimension": (str,),
    "subset": (str,),
    "organization": OPT_INT,
    "organization_id": OPT_INT,
    "target_storage": OPT_DICT,
    "source_storage": OPT_DICT,
    "jobs": (dict,),
    "labels": (dict,),
    "assignee_updated_date": OPT_STR,
    "validation_mode": OPT_STR,
}
PROJECT_FIELDS: dict[str, tuple] = {
    "url": (str,),
    "id": (int,),
    "name": (str,),
    "owner": OPT_DICT,
    "assignee": OPT_DICT,
    "guide_id": OPT_INT,
    "bug_tracker": (str,),
    "task_subsets": (list,),
    "created_date": (str,),
    "updated_date": (str,),
    "status": (str,),
    "dimension": OPT_STR,
    "organization": OPT_INT,
    "organization_id": OPT_INT,
    "target_storage": OPT_DICT,
    "source_storage": OPT_DICT,
    "tasks": (dict,),
    "labels": (dict,),
    "assignee_updated_date": OPT_STR,
}
JOB_FIELDS: dict[str, tuple] = {
    "url": (str,),
    "id": (int,),
    "task_id": (int,),
    "task_name": OPT_STR,
    "project_id": OPT_INT,
    "project_name": OPT_STR,
    "assignee": OPT_DICT,
    "guide_id": OPT_INT,
    "dimension": (str,),
    "bug_tracker": OPT_STR,
    "status": (str,),
    "stage": (str,),
    "state": (str,),
    "mode": (str,),
    "media_type": (str,),
    "frame_count": (int,),
    "start_frame": (int,),
    "stop_frame": (int,),
    "data_chunk_size": OPT_INT,
    "data_compressed_chunk_type": OPT_STR,
    "data_original_chunk_type": OPT_STR,
    "created_date": (str,),
    "updated_date": (str,),
    "issues": (dict,),
    "labels": (dict,),
    "type": (str,),
    "organization": OPT_INT,
    "target_storage": OPT_DICT,
    "source_storage": OPT_DICT,
    "assignee_updated_date": OPT_STR,
    "parent_job_id": OPT_INT,
    "replicas_count": (int,),
}
ATTRIBUTE_FIELDS: dict[str, tuple] = {
    "id": (int,),
    "name": (str,),
    "mutable": (bool,),
    "input_type": (str,),
    "default_value": (str,),
    "values": (list,),
}
LABEL_FIELDS: dict[str, tuple] = {
    "id": (int,),
    "name": (str,),
    "color": (str,),
    "type": (str,),
    "svg": (str,),
    "attributes": (list,),
    "sublabels": (list,),
    "has_parent": (bool,),
    "parent_id": OPT_INT,
    "task_id": OPT_INT,
    "project_id": OPT_INT,
}
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _matches(value, allowed: tuple) -> bool:
    for kind in allowed:
        if kind is None and value is None:
            return True
        if kind is int and type(value) is int:
            return True
        if kind not in (None, int) and isinstance(value, kind):
            return True
    return False


def assert_fields(obj: dict, fields: dict[str, tuple]) -> None:
    """Every listed field present with an allowed type (so no forbidden null), datetimes in full."""
    for key, allowed in fields.items():
        assert key in obj, f"missing {key!r} in {obj}"
        assert _matches(obj[key], allowed), f"{key}={obj[key]!r} is not one of {allowed}"
    assert_datetimes(obj)


def assert_datetimes(obj) -> None:
    """K11: every ``*_date`` value is ISO-8601 with a time, in UTC with ``Z``."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key.endswith("_date") and value is not None:
                assert isinstance(value, str) and DATETIME_RE.match(value), (key, value)
            assert_datetimes(value)
    elif isinstance(obj, list):
        for item in obj:
            assert_datetimes(item)


def assert_label(label: dict) -> None:
    assert_fields(label, LABEL_FIELDS)
    for attribute in label["attributes"]:
        assert_fields(attribute, ATTRIBUTE_FIELDS)
    for sub in label["sublabels"]:
        assert {"id", "name", "color", "type", "has_parent", "attributes"} <= set(sub)
        assert sub["has_parent"] is True


def add_data(server: LiveServer, task_id: int, *, size: int, image_quality: int = 70) -> int:
    """Attach a Data row as the media pipeline would (no files): the task now reads as uploaded."""
    from annotask.db.models import Data, Task

    with Session(_engine(database_url(server))) as db, db.begin():
        data = Data(size=size, chunk_size=5, image_quality=image_quality, stop_frame=size - 1)
        db.add(data)
        db.flush()
        task = db.get(Task, task_id)
        task.data_id = data.id
        task.mode = "annotation"
        return data.id


def data_exists(server: LiveServer, data_id: int) -> bool:
    from annotask.db.models import Data

    with Session(_engine(database_url(server))) as db:
        return db.get(Data, data_id) is not None


def new_user(server: LiveServer, *, admin: bool = False) -> tuple[str, str]:
    """A user made with the same domain function as ``annotask users add``, minus the process."""
    from annotask.domain.users import create_user

    name = unique("u").replace("-", "")
    password = "pw-" + name
    with Session(_engine(database_url(server))) as db, db.begin():
        create_user(db, name, password, is_superuser=admin)
    return name, password


def user_id(client: httpx.Client, username: str) -> int:
    return client.get("/api/users", params={"username": username}).json()["results"][0]["id"]
