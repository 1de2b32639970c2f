"""Annotation API rules over raw HTTP on every backend: validation, versions (ETag and
If-Match), permissions, transactions, the overlap merge end to end, formats and export
downloads (spec 2.7-2.9, K4-K8).
"""

from __future__ import annotations

import re

from tests.annotations_api.helpers import (
    attribute_id,
    box,
    label_id,
    make_task,
    upload_file,
    wait_request,
    zip_members,
)
from tests.conftest import make_user
from tests.support.route_servers import BACKGROUND_REQUESTS
from tests.support.server import login


def test_validation_names_every_field_and_changes_nothing(server, admin):
    task = make_task(admin, 3)
    car, color = label_id(task, "car"), attribute_id(task, "car", "color")
    url = f"/api/tasks/{task['id']}/annotations/"
    saved = admin.put(url, json={"shapes": [box(car, 0, [1, 2, 3, 4])]})
    assert saved.status_code == 200
    before = admin.get(url).json()
    bad = {
        "shapes": [
            box(car, 1, [1, 2, 3, 4], attributes=[{"spec_id": color, "value": "green"}]),
            box(car, 1, [1, 2, 3]),
            box(999999, 1, [1, 2, 3, 4]),
            box(car, 7, [1, 2, 3, 4]),
        ],
        "tags": [{"frame": 0, "label_id": car, "attributes": [{"spec_id": 424242, "value": "x"}]}],
    }
    for method in ("put", "patch"):
        params = {"action": "create"} if method == "patch" else {}
        response = admin.request(method.upper(), url, json=bad, params=params)
        assert response.status_code == 400, response.text
        body = response.json()
        assert set(body) >= {
            "shapes[0].attributes[0].value",
            "shapes[1].points",
            "shapes[2].label_id",
            "shapes[3].frame",
            "tags[0].attributes[0].spec_id",
        }, body
        assert "green" in body["shapes[0].attributes[0].value"][0]
    assert admin.get(url).json() == before
    assert admin.patch(url, params={"action": "frobnicate"}, json={}).status_code == 400
    wrong_type = admin.put(url, json={"shapes": [{"type": "box", "frame": 0, "label_id": car}]})
    assert wrong_type.status_code == 400 and "shapes[0].type" in wrong_type.json()


def test_a_failed_batch_saves_nothing(server, admin):
    task = make_task(admin, 2)
    car = label_id(task, "car")
    job_url = f"/api/jobs/{task['jobs_list'][0]['id']}/annotations/"
    first = admin.patch(
        job_url, params={"action": "create"}, json={"shapes": [box(car, 0, [0, 0, 5, 5])]}
    )
    assert first.status_code == 200
    before = admin.get(job_url).json()
    batch = {"shapes": [box(car, 0, [1, 1, 6, 6]), box(car, 1, [2, 2, 7, 7]), box(car, 1, [1])]}
    response = admin.patch(job_url, params={"action": "create"}, json=batch)
    assert response.status_code == 400 and list(response.json()) == ["shapes[2].points"]
    assert admin.get(job_url).json() == before
    assert admin.put(job_url, json=batch).status_code == 400
    assert admin.get(job_url).json() == before


def test_stale_if_match_gets_412_with_the_current_state(server, admin):
    task = make_task(admin, 2)
    car = label_id(task, "car")
    url = f"/api/jobs/{task['jobs_list'][0]['id']}/annotations/"
    read = admin.get(url)
    version = read.json()["version"]
    assert read.headers["ETag"] == f'"{version}"'
    etag = {"If-Match": read.headers["ETag"]}
    first = admin.put(url, json={"shapes": [box(car, 0, [0, 0, 4, 4])]}, headers=etag)
    assert first.status_code == 200 and first.json()["version"] == version + 1
    assert first.headers["ETag"] == f'"{version + 1}"'
    stale = admin.put(url, json={"shapes": []}, headers=etag)
    assert stale.status_code == 412
    assert stale.headers["ETag"] == f'"{version + 1}"'
    body = stale.json()
    assert body["version"] == version + 1 and [s["points"] for s in body["shapes"]] == [
        [0.0, 0.0, 4.0, 4.0]
    ]
    stale_patch = admin.patch(url, params={"action": "create"}, json={"tags": []}, headers=etag)
    assert stale_patch.status_code == 412
    assert admin.delete(url, headers=etag).status_code == 412
    assert len(admin.get(url).json()["shapes"]) == 1
    # Weak tags, lists and "*" are understood; a tag that is no version is a 400.
    current = admin.get(url).headers["ETag"]
    assert admin.patch(
        url, params={"action": "create"}, json={}, headers={"If-Match": f'"0", W/{current}'}
    ).is_success
    assert admin.patch(url, params={"action": "create"}, json={}, headers={"If-Match": "*"})
    bad = admin.put(url, json={}, headers={"If-Match": "yesterday"})
    assert bad.status_code == 400 and "If-Match" in bad.json()
    task_url = f"/api/tasks/{task['id']}/annotations/"
    task_read = admin.get(task_url)
    task_version = task_read.json()["version"]
    assert task_read.headers["ETag"] == f'"{task_version}"'
    old = {"If-Match": f'"{task_version - 1}"'}
    assert admin.put(task_url, json={}, headers=old).status_code == 412
    assert admin.put(task_url, json={}, headers={"If-Match": task_read.headers["ETag"]}).is_success


def test_body_version_is_ignored_as_cvat_does(server, admin):
    """Clients hard-code ``version: 0`` (FiftyOne, old scripts): without If-Match
    there is no conflict check, whatever the body says."""
    task = make_task(admin, 2)
    car = label_id(task, "car")
    url = f"/api/jobs/{task['jobs_list'][0]['id']}/annotations/"
    for _ in range(2):
        sent = {"version": 0, "shapes": [box(car, 0, [0, 0, 4, 4])], "tags": [], "tracks": []}
        assert admin.put(url, json=sent).status_code == 200
    assert admin.patch(url, params={"action": "create"}, json={"version": 0}).status_code == 200
    task_url = f"/api/tasks/{task['id']}/annotations/"
    assert admin.put(task_url, json={"version": 0, "shapes": []}).status_code == 200


def test_update_and_delete_by_id_in_a_job(server, admin):
    task = make_task(admin, 2)
    car, person = label_id(task, "car"), label_id(task, "person")
    url = f"/api/jobs/{task['jobs_list'][0]['id']}/annotations/"
    created = admin.patch(
        url,
        params={"action": "create"},
        json={"shapes": [box(car, 0, [0, 0, 4, 4]), box(car, 1, [1, 1, 5, 5])]},
    ).json()
    first, second = (s["id"] for s in created["shapes"])
    changed = admin.patch(
        url,
        params={"action": "update"},
        json={"shapes": [box(person, 1, [2, 2, 6, 6], id=first)]},
    )
    assert changed.status_code == 200 and changed.json()["shapes"][0]["id"] == first
    unknown = admin.patch(
        url, params={"action": "update"}, json={"shapes": [box(car, 0, [0, 0, 1, 1], id=10**8)]}
    )
    assert unknown.status_code == 400 and "shapes[0].id" in unknown.json()
    shapes = {s["id"]: s for s in admin.get(url).json()["shapes"]}
    assert shapes[first]["label_id"] == person and shapes[first]["frame"] == 1
    removed = admin.patch(url, params={"action": "delete"}, json={"shapes": [{"id": second}]})
    assert removed.status_code == 200 and [s["id"] for s in removed.json()["shapes"]] == [second]
    assert [s["id"] for s in admin.get(url).json()["shapes"]] == [first]
    assert admin.delete(url).status_code == 204
    assert admin.get(url).json()["shapes"] == []


def test_an_update_names_only_objects_of_its_job(server, admin):
    """The ids an update names are looked up among the job's own objects: one of
    another job of the task is refused, and the other job's object is untouched."""
    task = make_task(admin, 5, segment_size=3, overlap=1)
    car = label_id(task, "car")
    url_a, url_b = (f"/api/jobs/{j['id']}/annotations/" for j in task["jobs_list"])
    theirs = admin.patch(
        url_b, params={"action": "create"}, json={"shapes": [box(car, 4, [0, 0, 4, 4])]}
    ).json()["shapes"][0]
    ours = admin.patch(
        url_a, params={"action": "create"}, json={"shapes": [box(car, 0, [0, 0, 4, 4])]}
    ).json()["shapes"][0]
    refused = admin.patch(
        url_a,
        params={"action": "update"},
        json={
            "shapes": [
                box(car, 0, [1, 1, 5, 5], id=ours["id"]),
                box(car, 0, [1, 1, 2, 2], id=theirs["id"]),
            ]
        },
    )
    assert refused.status_code == 400 and list(refused.json()) == ["shapes[1].id"], refused.text
    assert admin.get(url_b).json()["shapes"][0]["points"] == theirs["points"]
    assert admin.get(url_a).json()["shapes"][0]["points"] == ours["points"]


def test_a_job_assignee_writes_only_their_job(server, admin):
    task = make_task(admin, 5, segment_size=3, overlap=1)
    car = label_id(task, "car")
    job_a, job_b = (j["id"] for j in task["jobs_list"])
    name, password = make_user(server)
    user_id = next(
        u["id"]
        for u in admin.get("/api/users", params={"search": name}).json()["results"]
        if u["username"] == name
    )
    assert admin.patch(f"/api/jobs/{job_a}", json={"assignee": user_id}).status_code == 200
    client = server.client(auth=None)
    login(client, name, password)
    own = client.put(
        f"/api/jobs/{job_a}/annotations/", json={"shapes": [box(car, 0, [0, 0, 3, 3])]}
    )
    assert own.status_code == 200
    assert client.get(f"/api/jobs/{job_a}/annotations/").status_code == 200
    other = client.put(f"/api/jobs/{job_b}/annotations/", json={"shapes": []})
    assert other.status_code in (403, 404)
    whole = client.put(f"/api/tasks/{task['id']}/annotations/", json={"shapes": []})
    assert whole.status_code == 404  # the task is not theirs to see (CVAT's tasks.rego)
    assert len(admin.get(f"/api/tasks/{task['id']}/annotations/").json()["shapes"]) == 1
    client.close()


def _export_xml(client, task_id: int) -> str:
    started = client.post(
        f"/api/tasks/{task_id}/dataset/export",
        params={"format": "CVAT for images 1.1", "save_images": "False", "location": "local"},
        headers={"Content-Type": "application/json"},
    )
    assert started.status_code == 202, started.text
    done = wait_request(client, started.json()["rq_id"])
    assert done["status"] == "finished", done
    response = client.get(done["result_url"])
    import io
    import zipfile

    return zipfile.ZipFile(io.BytesIO(response.content)).read("annotations.xml").decode()


def test_overlap_merge_end_to_end(server, admin):
    task = make_task(admin, 5, segment_size=3, overlap=1)
    car = label_id(task, "car")
    jobs = task["jobs_list"]
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == [(0, 2), (2, 4)]
    a_url, b_url = (f"/api/jobs/{j['id']}/annotations/" for j in jobs)
    task_url = f"/api/tasks/{task['id']}/annotations/"
    assert admin.put(a_url, json={"shapes": [box(car, 2, [10, 10, 50, 40])]}).status_code == 200
    assert admin.put(b_url, json={"shapes": [box(car, 2, [11, 10, 51, 41])]}).status_code == 200
    merged = admin.get(task_url).json()
    assert [(s["frame"], s["points"]) for s in merged["shapes"]] == [(2, [10.0, 10.0, 50.0, 40.0])]
    assert len(re.findall(r"<box ", _export_xml(admin, task["id"]))) == 1
    # below the IoU threshold both boxes stay
    assert admin.put(b_url, json={"shapes": [box(car, 2, [30, 10, 70, 40])]}).status_code == 200
    assert len(admin.get(task_url).json()["shapes"]) == 2
    assert len(re.findall(r"<box ", _export_xml(admin, task["id"]))) == 2

    # a track crossing the boundary, annotated in both jobs, is one track
    def track(frames):
        shapes = [
            {"type": "rectangle", "frame": f, "points": [5, 5, 20, 20], "outside": outside}
            for f, outside in frames
        ]
        return {"tracks": [{"frame": frames[0][0], "label_id": car, "shapes": shapes}]}

    assert admin.put(a_url, json=track([(0, False), (2, False)])).status_code == 200
    assert admin.put(b_url, json=track([(2, False), (4, False)])).status_code == 200
    tracks = admin.get(task_url).json()["tracks"]
    assert len(tracks) == 1 and [s["frame"] for s in tracks[0]["shapes"]] == [0, 2, 4]


def test_task_level_writes_reach_both_overlapping_jobs(server, admin):
    task = make_task(admin, 5, segment_size=3, overlap=1)
    car = label_id(task, "car")
    a_url, b_url = (f"/api/jobs/{j['id']}/annotations/" for j in task["jobs_list"])
    task_url = f"/api/tasks/{task['id']}/annotations/"
    created = admin.patch(
        task_url,
        params={"action": "create"},
        json={"shapes": [box(car, 2, [1, 1, 9, 9]), box(car, 4, [2, 2, 8, 8])]},
    )
    assert created.status_code == 200, created.text
    assert [s["frame"] for s in admin.get(a_url).json()["shapes"]] == [2]
    assert sorted(s["frame"] for s in admin.get(b_url).json()["shapes"]) == [2, 4]
    shapes = admin.get(task_url).json()["shapes"]
    assert sorted(s["frame"] for s in shapes) == [2, 4]
    overlapped = next(s for s in shapes if s["frame"] == 2)
    moved = admin.patch(
        task_url,
        params={"action": "update"},
        json={"shapes": [box(car, 2, [3, 3, 12, 12], id=overlapped["id"])]},
    )
    assert moved.status_code == 200, moved.text
    for url in (a_url, b_url):
        on_two = [s["points"] for s in admin.get(url).json()["shapes"] if s["frame"] == 2]
        assert on_two == [[3.0, 3.0, 12.0, 12.0]]
    shapes = admin.get(task_url).json()["shapes"]
    assert len(shapes) == 2 and overlapped["id"] in {s["id"] for s in shapes}
    gone = admin.patch(
        task_url, params={"action": "delete"}, json={"shapes": [{"id": overlapped["id"]}]}
    )
    assert gone.status_code == 200
    assert [s["frame"] for s in admin.get(task_url).json()["shapes"]] == [4]
    assert admin.get(a_url).json()["shapes"] == []
    assert admin.put(task_url, json={"shapes": [box(car, 2, [1, 1, 9, 9])]}).status_code == 200
    assert len(admin.get(a_url).json()["shapes"]) == len(admin.get(b_url).json()["shapes"]) == 1
    assert len(admin.get(task_url).json()["shapes"]) == 1


@BACKGROUND_REQUESTS
def test_formats_exports_and_downloads(server, admin):
    from cvat_sdk.core.downloading import Downloader

    formats = admin.get("/api/server/annotation/formats").json()
    assert "CVAT 1.1" in [f["name"] for f in formats["importers"]]
    assert {"CVAT for images 1.1", "COCO 1.0"} <= {f["name"] for f in formats["exporters"]}
    task = make_task(admin, 2, name="exp")
    url = f"/api/tasks/{task['id']}/dataset/export"
    query = {"format": "COCO 1.0", "save_images": "True", "location": "local"}
    headers = {"Content-Type": "application/json"}
    first = admin.post(url, params=query, headers=headers)
    second = admin.post(url, params=query, headers=headers)
    assert first.status_code == second.status_code == 202  # K4, K5; a repeat is no 409
    assert first.json()["rq_id"] != second.json()["rq_id"]
    done = wait_request(admin, second.json()["rq_id"])
    assert done["status"] == "finished", done
    assert done["result_url"].startswith(server.url + f"/api/tasks/{task['id']}/dataset/download?")
    response = admin.get(done["result_url"])
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    name = re.fullmatch(r'attachment; filename="(.+)"', disposition).group(1)
    assert Downloader._validate_filename(name) == name
    assert sorted(zip_members(response.content)) == [
        "annotations/instances_default.json",
        "images/f0.jpg",
        "images/f1.jpg",
    ]
    name, password = make_user(server)
    stranger = server.client(auth=None)
    login(stranger, name, password)
    assert stranger.get(done["result_url"]).status_code == 404
    stranger.close()
    assert admin.post(url, params={"format": "No such 9.9"}, headers=headers).status_code == 400
    assert (
        admin.post(url, params={**query, "location": "cloud_storage"}, headers=headers).status_code
        == 400
    )
    # a job export has its own download URL
    job_id = task["jobs_list"][0]["id"]
    job_export = admin.post(
        f"/api/jobs/{job_id}/dataset/export", params={"format": "CVAT for images 1.1"}
    )
    job_done = wait_request(admin, job_export.json()["rq_id"])
    assert f"/api/jobs/{job_id}/dataset/download?" in job_done["result_url"]
    assert zip_members(admin.get(job_done["result_url"]).content) == ["annotations.xml"]


@BACKGROUND_REQUESTS
def test_import_rejects_unknown_formats_and_reports_bad_files(server, admin):
    task = make_task(admin, 2)
    url = f"/api/tasks/{task['id']}/annotations/"
    start = admin.post(
        url, params={"format": "Nope 1.0", "filename": "a.xml"}, headers={"Upload-Start": ""}
    )
    assert start.status_code == 400 and "format" in start.json()
    bad = upload_file(
        admin,
        url,
        "a.xml",
        b"<annotations><image name='zzz.jpg'/></annotations>",
        {"format": "CVAT XML 1.1"},
    )
    assert bad.status_code == 202, bad.text
    failed = wait_request(admin, bad.json()["rq_id"])
    assert failed["status"] == "failed" and "zzz.jpg" in failed["message"]
