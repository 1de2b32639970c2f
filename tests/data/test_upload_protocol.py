"""The upload protocol over raw HTTP (spec 1.5, K3-K6), resumable TUS, and the lifecycle."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import start_server
from tests.support.media import image_bytes
from tests.support.rest import new_task, wait_request

JPEG = image_bytes(40, 30)


def tus_create(client: httpx.Client, url: str, name: str, length: int) -> httpx.Response:
    encoded = base64.b64encode(name.encode()).decode()
    return client.post(
        url,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(length),
            "Upload-Metadata": f"filename {encoded}",
            "Content-Type": "application/json",
        },
    )


def patch(client: httpx.Client, location: str, offset: int, body) -> httpx.Response:
    return client.patch(
        location,
        content=body,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def finish(client: httpx.Client, task_id: int, **params) -> str:
    response = client.post(
        f"/api/tasks/{task_id}/data/",
        json={"image_quality": 70, **params},
        headers={"Upload-Finish": ""},
    )
    assert response.status_code == 202, response.text
    return response.json()["rq_id"]


def test_k3_k4_k5_tus_and_bulk_status_codes(server, admin):
    task_id = new_task(admin)
    url = f"/api/tasks/{task_id}/data/"
    start = admin.post(url, headers={"Upload-Start": "", "Content-Type": "application/json"})
    assert start.status_code == 202  # K5: empty JSON body accepted
    bulk = admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("/abs/dir/a.jpg", JPEG, "image/jpeg")},
    )
    assert bulk.status_code == 200
    created = tus_create(admin, url, "b.jpg", len(JPEG))
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith("http") and created.headers["Upload-Filename"] == "b.jpg"
    wrong = patch(admin, location, 5, JPEG[:10])
    assert wrong.status_code == 409 and wrong.headers["Upload-Offset"] == "0"
    first = patch(admin, location, 0, JPEG[:100])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "100"
    head = admin.head(location)
    assert head.headers["Upload-Offset"] == "100"
    rest = patch(admin, location, 100, JPEG[100:])
    assert rest.headers["Upload-Offset"] == str(len(JPEG))
    result = wait_request(admin, finish(admin, task_id))
    assert result["status"] == "finished", result
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    # K6: the client's absolute path is reduced to its basename.
    assert [f["name"] for f in meta["frames"]] == ["a.jpg", "b.jpg"]
    original = admin.get(url, params={"type": "frame", "number": 1, "quality": "original"})
    assert original.content == JPEG
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["x-content-type-options"] == "nosniff"


def test_slash_variants_answer_directly(server, admin):
    task_id = new_task(admin)
    for path in (f"/api/tasks/{task_id}/data", f"/api/tasks/{task_id}/data/"):
        response = admin.post(path, headers={"Upload-Start": ""})
        assert response.status_code == 202


def test_second_upload_is_refused_and_failure_allows_a_new_one(server, admin):
    task_id = new_task(admin)
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("bad.jpg", b"not an image", "image/jpeg")},
    )
    failed = wait_request(admin, finish(admin, task_id))
    assert failed["status"] == "failed" and "bad.jpg" in failed["message"]
    task = admin.get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 0 and task["status"] == "annotation"
    assert admin.get("/api/jobs", params={"task_id": task_id}).json()["count"] == 0
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("good.jpg", JPEG, "image/jpeg")},
    )
    assert wait_request(admin, finish(admin, task_id))["status"] == "finished"
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("more.jpg", JPEG, "image/jpeg")},
    )
    again = admin.post(url, json={"image_quality": 70}, headers={"Upload-Finish": ""})
    assert again.status_code == 400 and "not supported" in again.text
    assert admin.get(f"/api/tasks/{task_id}").json()["size"] == 1


def test_bad_data_params_are_400_naming_the_field(server, admin):
    task_id = new_task(admin)
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("a.jpg", JPEG, "image/jpeg")},
    )
    for params, field in [
        ({"image_quality": 0}, "image_quality"),
        ({"frame_filter": "every=2"}, "frame_filter"),
        ({"sorting_method": "alphabetic"}, "sorting_method"),
        ({"chunk_size": -1}, "chunk_size"),
        ({"cloud_storage_id": 3}, "cloud_storage_id"),
    ]:
        response = admin.post(url, json=params, headers={"Upload-Finish": ""})
        assert response.status_code == 400 and field in response.text, (params, response.text)
    response = admin.post(
        url, json={"start_frame": 3, "stop_frame": 1}, headers={"Upload-Finish": ""}
    )
    assert response.status_code == 400 and "Stop frame" in response.text
    assert admin.get("/api/requests", params={"task_id": task_id}).json()["count"] == 0


def test_options_not_implemented_say_so_and_others_are_ignored(server, admin):
    """Options annotask lacks are refused in plain words (not a validation library's);
    unknown fields and ``filename_pattern`` (CVAT uses it for cloud storages only) are
    ignored as CVAT ignores them."""
    task_id = new_task(admin)
    url = f"/api/tasks/{task_id}/data/"
    for params, field in [
        ({"cloud_storage_id": 3}, "cloud_storage_id"),
        ({"storage": "cloud_storage"}, "storage"),
        (
            {"validation_params": {"mode": "gt", "frame_selection_method": "random_uniform"}},
            "validation_params",
        ),
    ]:
        admin.post(url, headers={"Upload-Start": ""})
        response = admin.post(url, json=params, headers={"Upload-Finish": ""})
        assert response.status_code == 400, response.text
        assert response.json() == {field: [response.json()[field][0]]}
        message = response.json()[field][0]
        assert "not supported yet" in message and "Input should" not in message, message
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("a.jpg", JPEG, "image/jpeg")},
    )
    done = admin.post(
        url,
        json={"image_quality": 70, "filename_pattern": "*.jpg", "an_option_from_v3": True},
        headers={"Upload-Finish": ""},
    )
    assert done.status_code == 202, done.text
    assert wait_request(admin, done.json()["rq_id"])["status"] == "finished"
    assert admin.get(f"/api/tasks/{task_id}").json()["size"] == 1


def test_tus_resumes_after_a_dropped_connection(server, admin):
    task_id = new_task(admin)
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    payload = image_bytes(300, 200)
    location = tus_create(admin, url, "resumed.jpg", len(payload)).headers["Location"]

    def broken_body():
        yield payload[:1000]
        raise ConnectionResetError("cable pulled")

    with pytest.raises((httpx.HTTPError, ConnectionResetError)):
        patch(admin, location, 0, broken_body())
    offset = int(admin.head(location).headers["Upload-Offset"])
    assert 0 <= offset <= 1000
    done = patch(admin, location, offset, payload[offset:])
    assert done.headers["Upload-Offset"] == str(len(payload))
    assert wait_request(admin, finish(admin, task_id))["status"] == "finished"
    frame = admin.get(url, params={"type": "frame", "number": 0, "quality": "original"})
    assert frame.content == payload
    assert "ClientDisconnect" not in server.log()  # an expected event, not a server error


@pytest.fixture
def own_server(tmp_path):
    yield from start_server(tmp_path, "sqlite")


def test_tus_resumes_after_a_server_restart(own_server):
    server = own_server
    client = server.client()
    task_id = new_task(client)
    url = f"/api/tasks/{task_id}/data/"
    client.post(url, headers={"Upload-Start": ""})
    payload = image_bytes(200, 100)
    location = tus_create(client, url, "r.jpg", len(payload)).headers["Location"]
    patch(client, location, 0, payload[:500])
    client.close()
    server.restart()
    client = server.client()
    assert client.head(location).headers["Upload-Offset"] == "500"
    patch(client, location, 500, payload[500:])
    assert wait_request(client, finish(client, task_id))["status"] == "finished"
    frame = client.get(url, params={"type": "frame", "number": 0, "quality": "original"})
    assert frame.content == payload
    client.close()


def test_single_shot_multipart_with_fields(server, admin):
    """The generated client's plain ``create_data`` call: files and text fields at once."""
    task_id = new_task(admin)
    response = admin.post(
        f"/api/tasks/{task_id}/data/",
        data={"image_quality": "50", "sorting_method": "predefined", "use_cache": "true"},
        files=[
            ("client_files[0]", ("/home/u/b.jpg", JPEG, "image/jpeg")),
            ("client_files[1]", ("a.jpg", JPEG, "image/jpeg")),
        ],
    )
    assert response.status_code == 202, response.text
    assert wait_request(admin, response.json()["rq_id"])["status"] == "finished"
    meta = admin.get(f"/api/tasks/{task_id}/data/meta").json()
    assert meta["image_quality"] == 50
    assert [f["name"] for f in meta["frames"]] == ["b.jpg", "a.jpg"]


@pytest.fixture(scope="module")
def small_limit_server(tmp_path_factory):
    yield from start_server(tmp_path_factory.mktemp("small"), "sqlite", max_upload_bytes="5000")


def test_oversized_bulk_file_is_refused_and_nothing_kept(small_limit_server):
    client = small_limit_server.client()
    task_id = new_task(client)
    url = f"/api/tasks/{task_id}/data/"
    client.post(url, headers={"Upload-Start": ""})
    response = client.post(
        url,
        headers={"Upload-Multiple": ""},
        files={
            "client_files[0]": ("ok.jpg", b"x" * 100, "image/jpeg"),
            "client_files[1]": ("big.jpg", b"x" * 6000, "image/jpeg"),
        },
    )
    assert response.status_code == 400 and "big.jpg" in response.text
    staged = small_limit_server.data_dir / "uploads" / f"task_data-{task_id}" / "files"
    assert sorted(p.name for p in staged.iterdir()) == []
    client.close()


def test_folder_uploads_keep_their_relative_names(server, admin):
    """What the web UI sends for a dropped folder: relative names, in bulk and by TUS.
    Two folders' files of the same name stay apart; a predefined order may name
    files by those relative names."""
    task_id = new_task(admin, "folders")
    url = f"/api/tasks/{task_id}/data/"
    assert admin.post(url, headers={"Upload-Start": ""}).status_code == 202
    bulk = admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={
            "client_files[0]": ("shots/day1/x.jpg", JPEG, "image/jpeg"),
            "client_files[1]": ("shots/day2/x.jpg", JPEG, "image/jpeg"),
        },
    )
    assert bulk.status_code == 200, bulk.text
    created = tus_create(admin, url, "shots/day2/night/y.jpg", len(JPEG))
    assert created.headers["Upload-Filename"] == "shots/day2/night/y.jpg"
    assert patch(admin, created.headers["Location"], 0, JPEG).status_code == 204
    order = ["shots/day2/night/y.jpg", "shots/day2/x.jpg", "shots/day1/x.jpg"]
    rq_id = finish(admin, task_id, sorting_method="predefined", upload_file_order=order)
    assert wait_request(admin, rq_id)["status"] == "finished"
    meta = admin.get(f"{url}meta").json()
    assert [f["name"] for f in meta["frames"]] == order


def test_a_file_named_like_a_folder_of_another_is_a_clear_400(server, admin):
    task_id = new_task(admin, "clash")
    url = f"/api/tasks/{task_id}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    first = admin.post(
        url, headers={"Upload-Multiple": ""}, files={"client_files[0]": ("cam", JPEG, "x")}
    )
    assert first.status_code == 200
    clash = admin.post(
        url, headers={"Upload-Multiple": ""}, files={"client_files[0]": ("cam/a.jpg", JPEG, "x")}
    )
    assert clash.status_code == 400 and "cam/a.jpg" in clash.text
