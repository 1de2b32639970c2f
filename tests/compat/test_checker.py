"""The contract checks of contract.py are not vacuous (no server needed).

Each breakage of spec 0.4 must be reported by ``check_value`` and, where the
client itself refuses it, also refused by the SDK's own deserializer, so the
checks and the clients agree on what breaks.
"""

from __future__ import annotations

import copy

import pytest
from cvat_sdk.api_client import Configuration, models
from cvat_sdk.api_client.model_utils import validate_and_convert_types

from tests.compat.contract import check_value, datetime_problem, datetime_problems

# spec 4.1, "after data upload"
TASK = {
    "url": "http://localhost:8080/api/tasks/7",
    "id": 7,
    "name": "street scenes",
    "project_id": None,
    "project_name": None,
    "mode": "annotation",
    "owner": {"url": "http://localhost:8080/api/users/1", "id": 1, "username": "admin"},
    "assignee": None,
    "bug_tracker": "",
    "created_date": "2025-03-04T09:15:22.418230Z",
    "updated_date": "2025-03-04T09:15:24.001022Z",
    "overlap": 0,
    "segment_size": 3,
    "status": "annotation",
    "data_chunk_size": 36,
    "data_compressed_chunk_type": "imageset",
    "data_original_chunk_type": "imageset",
    "size": 3,
    "image_quality": 70,
    "data": 7,
    "dimension": "2d",
    "subset": "",
    "organization": None,
    "target_storage": {"id": 11, "location": "local", "cloud_storage_id": None},
    "source_storage": None,
    "jobs": {"count": 1, "completed": 0, "validation": 0, "url": "http://x/api/jobs?task_id=7"},
    "labels": {"url": "http://x/api/labels?task_id=7"},
    "assignee_updated_date": None,
}
# spec 4.5, a finished export
REQUEST = {
    "id": "9a4d",
    "status": "finished",
    "message": "",
    "progress": 1.0,
    "operation": {"type": "export:annotations", "target": "task", "task_id": 7},
    "created_date": "2025-03-04T09:20:00.000000Z",
    "finished_date": "2025-03-04T09:20:01.000000Z",
    "owner": {"id": 1, "username": "admin"},
    "result_url": "http://localhost:8080/api/tasks/7/dataset/download?rq_id=9a4d",
    "result_id": None,
}


def problems(raw, cls) -> list[str]:
    found: list[str] = []
    check_value(raw, (cls,), "$", found)
    return found + datetime_problems(raw)


def sdk_accepts(raw, cls) -> bool:
    try:
        validate_and_convert_types(
            copy.deepcopy(raw), (cls,), ["received_data"], True, True, Configuration()
        )
    except Exception:
        return False
    return True


def changed(base: dict, path: str, value) -> dict:
    out = copy.deepcopy(base)
    *parents, key = path.split(".")
    target = out
    for part in parents:
        target = target[part]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return out


def test_the_spec_examples_pass():
    assert problems(TASK, models.TaskRead) == []
    assert problems(REQUEST, models.Request) == []
    assert sdk_accepts(TASK, models.TaskRead) and sdk_accepts(REQUEST, models.Request)


@pytest.mark.parametrize(
    ("cls", "base", "path", "value", "expected"),
    [
        (models.TaskRead, TASK, "jobs", KeyError, "required"),
        (models.TaskRead, TASK, "jobs.completed", KeyError, "required"),
        (models.TaskRead, TASK, "bug_tracker", None, "null"),
        (models.TaskRead, TASK, "subset", None, "null"),
        (models.TaskRead, TASK, "image_quality", 70.0, "float"),
        (models.TaskRead, TASK, "id", "7", "str"),
        (models.TaskRead, TASK, "created_date", "2025-01-01", "no time part"),
        (models.TaskRead, TASK, "created_date", 1714557600, "int"),
        (models.TaskRead, TASK, "owner.username", "a b", "does not match"),
        (models.TaskRead, TASK, "target_storage.location", "s3", "not one of"),
        (models.Request, REQUEST, "status", "Finished", "not one of"),
        (models.Request, REQUEST, "message", None, "null"),
        (models.Request, REQUEST, "owner", None, "null"),
        (models.Request, REQUEST, "progress", 50, "> 1"),
        (models.Request, REQUEST, "result_id", "5", "str"),
        (models.Request, REQUEST, "operation.type", KeyError, "required"),
    ],
)
def test_what_breaks_the_clients_is_reported(cls, base, path, value, expected):
    broken = changed(base, path, value)
    found = problems(broken, cls)
    assert any(expected in p for p in found), found
    assert not sdk_accepts(broken, cls), "the SDK accepts it: the check is too strict"


def test_token_key_length_and_nullable_fields():
    assert problems({"key": "k" * 41}, models.Token)
    assert not problems({"key": "k" * 40}, models.Token)
    # nullable per the client's models: no problem
    assert not problems(changed(TASK, "assignee", None), models.TaskRead)
    assert not problems(changed(TASK, "target_storage", None), models.TaskRead)
    assert not problems(changed(REQUEST, "progress", None), models.Request)


def test_k11_naive_and_date_only_values_are_reported():
    assert datetime_problem("2025-03-04T09:15:22.418230Z") is None
    assert datetime_problem("2025-03-04T09:15:22+02:00") is None
    assert "timezone" in datetime_problem("2025-03-04T09:15:22")
    assert "time part" in datetime_problem("2025-03-04")
    # the client itself accepts a naive datetime: only K11 catches it
    naive = changed(TASK, "updated_date", "2025-03-04T09:15:24")
    assert sdk_accepts(naive, models.TaskRead)
    assert any("timezone" in p for p in problems(naive, models.TaskRead))
    # anywhere in a document, not only in *_date keys
    assert datetime_problems({"extra": [{"when": "2025-03-04T09:15:24"}]})
    assert not datetime_problems({"name": "2025 report", "frame": "img_2025-03-04.jpg"})
