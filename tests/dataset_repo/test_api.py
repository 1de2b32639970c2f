"""Dataset repositories end to end: a live server on every backend pushing to a bare
repository in tmp with real git (``file://`` URLs and plain paths), statuses through
the lifecycle, what lands in the repository, failures and permissions.
"""

from __future__ import annotations

import fcntl
import time
from contextlib import closing
from xml.etree import ElementTree

import httpx
import pytest

from tests.annotations_api.helpers import box, label_id, make_task
from tests.conftest import start_server
from tests.dataset_repo.gitutil import (
    bare_repository,
    branches,
    files_at,
    merge_into_master,
    message,
    show,
    zip_document,
)
from tests.support.resources import new_user, unique, user_id
from tests.support.rest import new_task
from tests.support.server import ADMIN, login

pytestmark = pytest.mark.xdist_group("dataset_repo")

API = "/api/git/repository"


def wait_check(client: httpx.Client, rq_id: str, timeout: float = 60) -> dict:
    """Follow ``check/{rq_id}`` as CVAT's UI does until the request ends."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{API}/check/{rq_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] not in ("queued", "started"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def attach(client: httpx.Client, task_id: int, text: str, **fields) -> dict:
    body = {"path": text, "format": "CVAT for images 1.1", "lfs": False, "tid": task_id, **fields}
    response = client.post(f"{API}/create/{task_id}", json=body)
    assert response.status_code == 200, response.text
    return wait_check(client, response.json()["rq_id"])


def push(client: httpx.Client, task_id: int) -> dict:
    response = client.get(f"{API}/push/{task_id}")
    assert response.status_code == 200, response.text
    return wait_check(client, response.json()["rq_id"])


def info(client: httpx.Client, task_id: int) -> dict:
    response = client.get(f"{API}/get/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()


def status(client: httpx.Client, task_id: int) -> str:
    body = info(client, task_id)
    assert body["status"]["error"] is None, body
    return body["status"]["value"]


@pytest.fixture(scope="module")
def alice(server):
    """A plain user owning the tasks (the commits carry her name)."""
    name, password = new_user(server)
    with closing(server.client((name, password))) as client:
        client.name = name  # type: ignore[attr-defined]
        yield client


def test_plugins_report_git_integration(server):
    with closing(server.client(None)) as anonymous:
        plugins = anonymous.get("/api/server/plugins").json()
    assert plugins["GIT_INTEGRATION"] is True and plugins["git_integration"] is True
    assert plugins["analytics"] is False and plugins["models"] is False


def test_lifecycle_from_an_empty_repository_to_merged(alice, server, tmp_path):
    remote = bare_repository(tmp_path / "remote.git")
    task = make_task(
        alice, 3, name=f"Street scene {unique('n')}", bug_tracker="https://tracker.example.com/7"
    )
    tid, name = task["id"], task["name"]
    assert info(alice, tid) == {
        "url": {"value": None},
        "status": {"value": None, "error": None},
        "format": None,
        "lfs": None,
    }

    assert attach(alice, tid, f"file://{remote}") == {"status": "finished"}
    # The empty repository got master with an empty README.md and CVAT's first commit.
    assert branches(remote) == ["master"]
    assert files_at(remote, "master") == ["README.md"]
    assert message(remote, "master").startswith(
        f"CVAT Annotation. Initial commit by {alice.name} at "
    )
    sanitised = name.replace(" ", "_")
    body = info(alice, tid)
    assert body["url"] == {"value": f"file://{remote} [annotation/{sanitised}.zip]"}
    assert body["status"] == {"value": "!sync", "error": None}
    assert body["format"] == "CVAT for images 1.1" and body["lfs"] is False
    assert body["last_error"] is None and body["rq_id"] is None

    car, person = label_id(task, "car"), label_id(task, "person")
    saved = alice.put(
        f"/api/tasks/{tid}/annotations",
        json={"shapes": [box(car, 0, [1, 2, 30, 40]), box(person, 2, [5, 5, 20, 25])]},
    )
    assert saved.status_code == 200, saved.text
    assert push(alice, tid) == {"status": "finished"}

    branch = f"cvat_{tid}_{sanitised}"
    assert branches(remote) == [branch, "master"]
    assert files_at(remote, branch) == ["README.md", f"annotation/{sanitised}.zip"]
    lines = message(remote, branch).splitlines()
    assert lines[:4] == [
        f"CVAT Annotation updated by {alice.name}.",
        f"Task URL: http://localhost:{server.port}/tasks/{tid}",
        "Bug Tracker URL: https://tracker.example.com/7",
        "Created: 2, updated: 0, deleted: 0",
    ]
    assert lines[4].startswith("Annotation time: ") and lines[5].startswith(
        "Total annotation time: "
    )
    members, xml = zip_document(show(remote, branch, f"annotation/{sanitised}.zip"))
    assert members == ["annotations.xml"]
    document = ElementTree.fromstring(xml)
    boxes = [(b.get("label"), b.get("xtl"), b.get("ybr")) for b in document.iter("box")]
    assert sorted(boxes) == [("car", "1.00", "40.00"), ("person", "5.00", "25.00")]
    assert document.findtext("meta/task/name") == name
    assert status(alice, tid) == "sync"
    assert alice.get(f"{API}/meta/get").json()[str(tid)] == "sync"
    for path in (f"{API}/get/{tid}/", f"{API}/meta/get/"):  # both slash forms, no redirect
        assert alice.get(path, follow_redirects=False).status_code == 200

    # An annotation save makes it "!sync" again; a second push counts only the change.
    shapes = alice.get(f"/api/tasks/{tid}/annotations").json()["shapes"]
    changed = {**shapes[0], "points": [2, 3, 31, 41]}
    patched = alice.patch(
        f"/api/tasks/{tid}/annotations",
        params={"action": "update"},
        json={"shapes": [changed], "tags": [], "tracks": []},
    )
    assert patched.status_code == 200, patched.text
    assert status(alice, tid) == "!sync"
    assert alice.get(f"{API}/meta/get").json()[str(tid)] == "!sync"
    assert push(alice, tid) == {"status": "finished"}
    assert "Created: 0, updated: 1, deleted: 0" in message(remote, branch).splitlines()
    assert status(alice, tid) == "sync"

    # The reviewer merges the branch into master: the task's repository is "merged".
    merge_into_master(remote, branch, tmp_path / "review")
    assert status(alice, tid) == "merged"
    assert alice.get(f"{API}/meta/get").json()[str(tid)] == "merged"
    # ...until the next change.
    alice.patch(
        f"/api/tasks/{tid}/annotations",
        params={"action": "delete"},
        json={"shapes": [changed], "tags": [], "tracks": []},
    ).raise_for_status()
    assert status(alice, tid) == "!sync"
    assert push(alice, tid) == {"status": "finished"}
    assert "Created: 0, updated: 0, deleted: 1" in message(remote, branch).splitlines()


def test_existing_master_xml_path_and_lfs(alice, tmp_path):
    remote = bare_repository(tmp_path / "labels.git", {"data/readme.txt": "kept\n"})
    task = make_task(alice, 2, name=unique("xml"))
    tid = task["id"]
    text = f"{remote} [/exports/labels.xml]"  # a plain path, with a leading slash
    assert attach(alice, tid, text, lfs=True) == {"status": "finished"}
    assert files_at(remote, "master") == ["data/readme.txt"]  # nothing added to master
    assert info(alice, tid)["url"]["value"] == f"{remote} [exports/labels.xml]"
    alice.put(
        f"/api/tasks/{tid}/annotations",
        json={"shapes": [box(label_id(task, "car"), 1, [0, 0, 10, 10])]},
    ).raise_for_status()
    assert push(alice, tid) == {"status": "finished"}
    branch = f"cvat_{tid}_{task['name']}"
    assert files_at(remote, branch) == [".gitattributes", "data/readme.txt", "exports/labels.xml"]
    attributes = show(remote, branch, ".gitattributes").decode()
    assert "*.xml\tfilter=lfs diff=lfs merge=lfs -text" in attributes
    assert "*.zip\tfilter=lfs diff=lfs merge=lfs -text" in attributes
    document = ElementTree.fromstring(show(remote, branch, "exports/labels.xml"))
    assert [b.get("label") for b in document.iter("box")] == ["car"]
    assert status(alice, tid) == "sync"

    # CVAT's PATCH changes the format; the repository needs a new push.
    changed = alice.patch(f"{API}/{tid}", json={"type": "format", "value": "CVAT for video 1.1"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["format"] == "CVAT for video 1.1"
    assert changed.json()["status"]["value"] == "!sync"
    assert push(alice, tid) == {"status": "finished"}
    document = ElementTree.fromstring(show(remote, branch, "exports/labels.xml"))
    assert document.find("meta/task/mode") is not None
    assert [t.get("label") for t in document.iter("track")] == ["car"]  # the video layout
    refused = alice.patch(f"{API}/{tid}", json={"format": "COCO 1.0"})
    assert refused.status_code == 400 and "format" in refused.json()
    # A new URL alone (what CVAT's UI sends) keeps the file; a bad one names "url".
    moved = alice.patch(f"{API}/{tid}", json={"type": "url", "value": f"file://{remote}"})
    assert moved.json()["url"]["value"] == f"file://{remote} [exports/labels.xml]"
    refused = alice.patch(f"{API}/{tid}", json={"url": "ext::sh"})
    assert refused.status_code == 400 and "transport helpers" in refused.json()["url"][0]
    assert push(alice, tid) == {"status": "finished"}  # re-cloned from the new URL
    assert status(alice, tid) == "sync"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"path": "ftp://example.com/owner/repos"}, "path", "Unsupported URL scheme"),
        ({"path": "-uhttps://x/y"}, "path", "cannot start with '-'"),
        ({"path": "ext::sh"}, "path", "transport helpers"),
        ({"path": "https://github.com/user/repos [a.json]"}, "path", ".xml and .zip"),
        ({"path": "https://github.com/user/repos [../a.zip]"}, "path", ".."),
        ({"path": "https://github.com/user/repos", "format": "YOLO 1.1"}, "format", "Unknown"),
        ({"path": "https://github.com/user/repos [a.xml]", "format": "COCO 1.0"}, "format", ".zip"),
        ({"path": "https://github.com/user/repos", "lfs": "yes"}, "lfs", "boolean"),
        ({"path": "https://github.com/user/repos", "tid": 0}, "tid", "task"),
        ({}, "path", "required"),
    ],
)
def test_bad_values_are_400_naming_the_field(alice, body, field, says):
    tid = make_task(alice, 1, name=unique("bad"))["id"] if field != "tid" else None
    if tid is None:
        tid = alice.post(
            "/api/tasks", json={"name": unique("b"), "labels": [{"name": "a"}]}
        ).json()["id"]
    response = alice.post(f"{API}/create/{tid}", json=body)
    assert response.status_code == 400, response.text
    assert says in " ".join(response.json()[field])
    assert info(alice, tid)["url"]["value"] is None


def test_an_unreachable_repository_fails_readably_and_the_task_stays(alice, tmp_path):
    task = make_task(alice, 1, name=unique("lost"))
    tid = task["id"]
    missing = tmp_path / "not-yet.git"
    failed = attach(alice, tid, f"file://{missing}")
    assert failed["status"] == "failed"
    assert failed["stderr"].startswith(f"Could not clone the repository file://{missing}: ")
    assert "does not appear to be a git repository" in failed["stderr"]
    assert "Traceback" not in failed["stderr"]
    assert alice.get(f"/api/tasks/{tid}").status_code == 200  # CVAT's UI deleted the task
    body = info(alice, tid)
    assert body["status"] == {"value": "!sync", "error": None}
    assert body["last_error"] == failed["stderr"]

    # Once the repository exists, Synchronize clones it and pushes: the retry.
    bare_repository(missing)
    assert push(alice, tid) == {"status": "finished"}
    body = info(alice, tid)
    assert body["status"]["value"] == "sync" and body["last_error"] is None
    assert f"cvat_{tid}_{task['name']}" in branches(missing)


def test_a_push_without_data_fails_with_the_reason(alice, tmp_path):
    remote = bare_repository(tmp_path / "r.git")
    tid = alice.post("/api/tasks", json={"name": unique("e"), "labels": [{"name": "a"}]}).json()[
        "id"
    ]
    assert attach(alice, tid, str(remote)) == {"status": "finished"}
    failed = push(alice, tid)
    assert failed["status"] == "failed" and "has no data yet" in failed["stderr"]
    assert "has no data yet" in info(alice, tid)["last_error"]


def test_who_may_do_what(alice, server, tmp_path):
    remote = bare_repository(tmp_path / "p.git")
    task = make_task(alice, 1, name=unique("perm"))
    tid = task["id"]
    stranger = server.client(new_user(server))
    assignee_name, assignee_password = new_user(server)
    alice.patch(
        f"/api/tasks/{tid}", json={"assignee_id": user_id(alice, assignee_name)}
    ).raise_for_status()
    assignee = server.client((assignee_name, assignee_password))
    with closing(stranger), closing(assignee):
        body = {"path": str(remote), "format": "CVAT for images 1.1", "lfs": False}
        assert stranger.post(f"{API}/create/{tid}", json=body).status_code == 404
        assert assignee.post(f"{API}/create/{tid}", json=body).status_code == 403
        assert branches(remote) == []
        response = alice.post(f"{API}/create/{tid}", json=body)
        rq_id = response.json()["rq_id"]
        assert stranger.get(f"{API}/check/{rq_id}").json() == {"status": "unknown"}
        assert wait_check(alice, rq_id) == {"status": "finished"}
        # Whoever sees the task follows its clone or push (the task page polls it).
        assert assignee.get(f"{API}/check/{rq_id}").json() == {"status": "finished"}

        assert stranger.get(f"{API}/get/{tid}").status_code == 404
        assert stranger.get(f"{API}/push/{tid}").status_code == 404
        assert str(tid) not in stranger.get(f"{API}/meta/get").json()
        assert assignee.get(f"{API}/get/{tid}").json()["status"]["value"] == "!sync"
        assert str(tid) in assignee.get(f"{API}/meta/get").json()
        assert assignee.get(f"{API}/push/{tid}").status_code == 403
        assert assignee.post(f"{API}/push/{tid}").status_code == 403
        assert assignee.patch(f"{API}/{tid}", json={"lfs": True}).status_code == 403
        assert branches(remote) == ["master"]
    assert alice.get(f"{API}/check/not-a-request").json() == {"status": "unknown"}
    with closing(server.client(None)) as anonymous:
        assert anonymous.get(f"{API}/get/{tid}").status_code == 401


def test_while_a_push_runs(alice, server, tmp_path):
    """The push waits for the task's repository lock, which the test holds (as a status
    check or another push would): meanwhile the status is "syncing", Synchronize again
    gives the same request, and the settings cannot change."""
    remote = bare_repository(tmp_path / "busy.git")
    tid = make_task(alice, 1, name=unique("busy"))["id"]
    assert attach(alice, tid, str(remote)) == {"status": "finished"}
    lock = server.data_dir / "tasks" / str(tid) / "repos.lock"
    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        first = alice.post(f"{API}/push/{tid}").json()["rq_id"]
        assert alice.get(f"{API}/push/{tid}").json()["rq_id"] == first
        body = info(alice, tid)
        assert body["status"] == {"value": "syncing", "error": None} and body["rq_id"] == first
        assert alice.get(f"{API}/meta/get").json()[str(tid)] == "syncing"
        assert alice.patch(f"{API}/{tid}", json={"lfs": True}).status_code == 409
        again = alice.post(f"{API}/create/{tid}", json={"path": str(remote)})
        assert again.status_code == 409
        assert alice.get(f"{API}/check/{first}").json()["status"] in ("queued", "started")
        fcntl.flock(held, fcntl.LOCK_UN)
    assert wait_check(alice, first) == {"status": "finished"}
    assert status(alice, tid) == "sync"


def test_a_disabled_server_hides_the_feature(tmp_path_factory):
    for server in start_server(tmp_path_factory.mktemp("nogit"), "sqlite", git_enabled="false"):
        with closing(server.client()) as admin:
            plugins = admin.get("/api/server/plugins").json()
            assert plugins["GIT_INTEGRATION"] is False and plugins["git_integration"] is False
            tid = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()[
                "id"
            ]
            for response in (
                admin.post(f"{API}/create/{tid}", json={"path": "https://example.com/a/b"}),
                admin.get(f"{API}/get/{tid}"),
                admin.get(f"{API}/push/{tid}"),
                admin.get(f"{API}/meta/get"),
            ):
                assert response.status_code == 404
                assert "ANNOTASK_GIT_ENABLED" in response.json()["detail"]


def test_a_push_by_get_needs_the_csrf_token_of_a_session(server, admin):
    """CVAT's push is a GET: a cross-site link (cookies, no CSRF header) must not push."""
    task_id = new_task(admin, "csrf-push")
    link = server.client(None)
    login(link, *ADMIN)
    del link.headers["X-CSRFToken"]  # what a link on another site sends: cookies only
    answer = link.get(f"{API}/push/{task_id}")
    assert answer.status_code == 403 and "CSRF" in answer.json()["detail"]
    link.close()


def test_local_repositories_are_refused_unless_the_server_allows_them(tmp_path_factory):
    root = tmp_path_factory.mktemp("nolocal")
    remote = bare_repository(root / "mirror.git")
    for server in start_server(root, "sqlite", git_allow_local="false"):
        with closing(server.client()) as admin:
            tid = new_task(admin, "no-local")
            for url in (str(remote), f"file://{remote}"):
                answer = admin.post(f"{API}/create/{tid}", json={"path": url})
                assert answer.status_code == 400
                assert "ANNOTASK_GIT_ALLOW_LOCAL" in answer.json()["path"][0]
            assert admin.get(f"{API}/get/{tid}").json()["url"]["value"] is None  # not attached
    assert branches(remote) == []
