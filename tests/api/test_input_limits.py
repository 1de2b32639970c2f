"""Hostile input never makes a 500: every case is a 400 (or a failed request) with a reason,
and the same connection keeps working afterwards. Runs on every backend (PostgreSQL is
the one that refused NUL characters and out-of-range integers with a 500)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from annotask.security import UnsafeInput
from annotask.security.xml import iterparse_xml, parse_xml_string
from tests.annotations_api.helpers import make_task, upload_file
from tests.support.media import image_bytes
from tests.support.rest import new_task, wait_request

JPEG = image_bytes(40, 30)


def _still_usable(client) -> None:
    """The same keep-alive connection answers the next request normally."""
    response = client.get("/api/tasks", params={"page_size": 1})
    assert response.status_code == 200, response.text
    assert response.headers.get("connection", "").lower() != "close"


@pytest.mark.parametrize("text", ["nul\x00name", "bell\x07", "esc\x1b[31m", "\x7f"])
def test_control_characters_in_text_fields_are_400(server, admin, text):
    response = admin.post("/api/tasks", json={"name": text, "labels": [{"name": "a"}]})
    assert response.status_code == 400, response.text
    assert "control character" in response.text
    _still_usable(admin)
    response = admin.post("/api/projects", json={"name": "p", "labels": [{"name": text}]})
    assert response.status_code == 400, response.text
    task_id = new_task(admin, "ok")
    response = admin.patch(f"/api/tasks/{task_id}", json={"name": "x", "subset": text})
    assert response.status_code == 400, response.text
    response = admin.post("/api/tasks", json={"name": "k", "labels": [{"name": "a"}], text: 1})
    assert response.status_code == 400, response.text
    _still_usable(admin)


def test_tabs_and_newlines_are_still_text(server, admin):
    response = admin.post("/api/tasks", json={"name": "a\tb", "labels": [{"name": "x"}]})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "params",
    [
        {"search": "a\x00b"},
        {"name": "\x00"},
        {"filter": json.dumps({"==": [{"var": "name"}, "a\x00"]})},
        {"org": "\x01"},
    ],
)
def test_control_characters_in_query_strings_are_400(server, admin, params):
    response = admin.get("/api/tasks", params=params)
    assert response.status_code == 400, response.text
    _still_usable(admin)


def test_huge_page_numbers_and_sizes(server, admin):
    for page in (10**20, 2**63, 2**64 + 1):
        response = admin.get("/api/tasks", params={"page": str(page)})
        assert response.status_code == 400, response.text
    assert admin.get("/api/tasks", params={"page_size": str(10**20)}).status_code == 200
    assert admin.get("/api/tasks", params={"page": "1" * 5000}).status_code == 400
    _still_usable(admin)


def test_thousands_of_sort_keys_and_search_words(server, admin):
    response = admin.get("/api/tasks", params={"sort": ",".join(["name", "-id"] * 2000)})
    assert response.status_code == 400 and "sort" in response.json()
    response = admin.get("/api/tasks", params={"search": " ".join(["a"] * 3000)})
    assert response.status_code == 400 and "search" in response.json()
    _still_usable(admin)


def test_deeply_nested_filter_and_bodies(server, admin):
    deep_filter = '{"!":' * 1500 + '{"==":[{"var":"id"},1]}' + "}" * 1500
    response = admin.get("/api/tasks", params={"filter": deep_filter})
    assert response.status_code == 400, response.text[:300]
    medium = '{"!":' * 100 + '{"==":[{"var":"id"},1]}' + "}" * 100
    assert admin.get("/api/tasks", params={"filter": medium}).status_code == 400
    for body in ("[" * 100_000 + "]" * 100_000, '{"a":' * 3000 + "1" + "}" * 3000):
        response = admin.post(
            "/api/tasks", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text[:300]
    task_id = new_task(admin, "deep")
    shapes = {
        "shapes": [{"attributes": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]
    }
    response = admin.put(f"/api/tasks/{task_id}/annotations", json=json.loads(json.dumps(shapes)))
    assert response.status_code == 400, response.text[:300]
    _still_usable(admin)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"chunk_size": 2**70}, "chunk_size"),
        ({"chunk_size": 2**40}, "chunk_size"),
        ({"start_frame": 2**40}, "start_frame"),
        ({"stop_frame": 2**40}, "stop_frame"),
        ({"random_seed": 2**64}, "random_seed"),
    ],
)
def test_integers_beyond_range_in_data_params(server, admin, body, field):
    task_id = new_task(admin, "ints")
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url, headers={"Upload-Multiple": ""}, files={"client_files[0]": ("a.jpg", JPEG, "x")}
    )
    response = admin.post(url, json={"image_quality": 70, **body}, headers={"Upload-Finish": ""})
    assert response.status_code == 400, response.text
    assert field in response.text or "64 bits" in response.text, response.text
    _still_usable(admin)


@pytest.mark.parametrize("field", ["segment_size", "overlap", "bug_tracker", "project_id"])
def test_integers_beyond_range_in_task_fields(server, admin, field):
    for value in (2**40, 2**70, -(2**70)):
        response = admin.post(
            "/api/tasks", json={"name": "big", "labels": [{"name": "a"}], field: value}
        )
        assert response.status_code == 400, (value, response.text)
    _still_usable(admin)


def test_backup_with_huge_integers_fails_with_a_reason(server, admin):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "task.json",
            '{"name": "big", "labels": [{"name": "a"}], "segment_size": '
            + "9" * 40
            + ', "data": {"chunk_size": 1, "image_quality": 70}}',
        )
        archive.writestr("annotations.json", "[]")
    started = upload_file(admin, "/api/tasks/backup/", "big.zip", buffer.getvalue(), {})
    assert started.status_code == 202, started.text
    result = wait_request(admin, started.json()["rq_id"])
    assert result["status"] == "failed"
    assert "64 bits" in result["message"], result["message"]


@pytest.mark.parametrize("encoding", ["EBCDIC-XYZ", "utf-7", "utf-32", "shift_jis"])
def test_xml_with_an_unsupported_encoding_is_refused_cleanly(encoding):
    document = f'<?xml version="1.0" encoding="{encoding}"?><annotations/>'.encode()
    with pytest.raises(UnsafeInput, match="encoding"):
        parse_xml_string(document)
    with pytest.raises(UnsafeInput, match="encoding"):
        list(iterparse_xml(io.BytesIO(document)))


def test_annotation_import_with_an_unsupported_encoding_fails_with_a_reason(sqlite_server):
    client = sqlite_server.client()
    task = make_task(client, 1)
    document = b'<?xml version="1.0" encoding="EBCDIC-XYZ"?><annotations></annotations>'
    url = f"/api/tasks/{task['id']}/annotations/"
    started = upload_file(client, url, "a.xml", document, {"format": "CVAT 1.1"})
    assert started.status_code == 202, started.text
    result = wait_request(client, started.json()["rq_id"])
    client.close()
    assert result["status"] == "failed"
    assert "encoding" in result["message"], result["message"]
