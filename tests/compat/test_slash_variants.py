"""K9: every endpoint answers with and without its trailing slash, never with a redirect.

Each request is sent in both forms with redirects off; both must give the
expected status. Spec 0.1: the clients use either form depending on the
endpoint, and a 307 from Starlette breaks them behind a TLS proxy.
"""

from __future__ import annotations

import base64
from contextlib import closing

import httpx

from tests.annotations_api.helpers import make_task, wait_request
from tests.support.resources import create_project, create_task, unique
from tests.support.server import ADMIN


def twin(url: str) -> str:
    path, sep, query = url.partition("?")
    path = path[:-1] if path.endswith("/") else path + "/"
    return path + sep + query


class Both:
    """Sends each request in both slash forms and collects every mismatch."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.problems: list[str] = []
        self.count = 0

    def one(self, method: str, url: str, expected: int, **kwargs) -> httpx.Response:
        response = self.client.request(method, url, follow_redirects=False, **kwargs)
        self.count += 1
        if response.status_code != expected:
            detail = response.headers.get("location") or response.text[:200]
            self.problems.append(
                f"{method} {url}: {response.status_code}, not {expected}: {detail}"
            )
        return response

    def __call__(self, method: str, url: str, expected: int, **kwargs) -> list[httpx.Response]:
        return [self.one(method, u, expected, **kwargs) for u in (url, twin(url))]

    def assert_clean(self) -> None:
        assert not self.problems, "\n".join(self.problems)


def tus_create(client: httpx.Client, url: str, name: str, length: int, **kwargs) -> str:
    created = client.post(
        url,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(length),
            "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode(),
        },
        **kwargs,
    )
    assert created.status_code == 201, created.text
    return created.headers["Location"]


TUS_PATCH = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
FORMAT = "CVAT for images 1.1"


def test_k9_reads(server, admin):
    both = Both(admin)
    project = create_project(admin)
    task = make_task(admin, 2, name=unique("k9"), labels=[], project_id=project["id"])
    tid, pid = task["id"], project["id"]
    jid = task["jobs_list"][0]["id"]
    lid = task["labels_list"][0]["id"]
    uid = admin.get("/api/users/self").json()["id"]
    token = admin.post("/api/auth/access_tokens", json={"name": unique("k9")}).json()
    exports = {
        "tasks": admin.post(f"/api/tasks/{tid}/dataset/export", params={"format": FORMAT}),
        "jobs": admin.post(f"/api/jobs/{jid}/dataset/export", params={"format": FORMAT}),
        "projects": admin.post(f"/api/projects/{pid}/dataset/export", params={"format": FORMAT}),
        "backup": admin.post(f"/api/tasks/{tid}/backup/export"),
        "project backup": admin.post(f"/api/projects/{pid}/backup/export"),
    }
    rq = {name: response.json()["rq_id"] for name, response in exports.items()}
    for rq_id in rq.values():
        assert wait_request(admin, rq_id)["status"] == "finished"

    for url in [
        "/api/server/about",
        "/api/server/plugins",
        "/api/server/share?directory=/",
        "/api/server/annotation/formats",
        "/api/server/health",
        "/api/users",
        "/api/users/self",
        f"/api/users/{uid}",
        "/api/auth/access_tokens",
        f"/api/auth/access_tokens/{token['id']}",
        "/api/projects",
        f"/api/projects/{pid}",
        f"/api/projects/{pid}/tasks",
        "/api/tasks",
        f"/api/tasks/{tid}",
        f"/api/tasks/{tid}/data/?type=frame&number=0&quality=original",
        f"/api/tasks/{tid}/data/?type=chunk&number=0&quality=compressed",
        f"/api/tasks/{tid}/data/meta",
        f"/api/tasks/{tid}/preview",
        f"/api/tasks/{tid}/annotations/",
        "/api/jobs",
        f"/api/jobs/{jid}",
        f"/api/jobs/{jid}/data?type=frame&number=0&quality=original",
        f"/api/jobs/{jid}/data/meta",
        f"/api/jobs/{jid}/preview",
        f"/api/jobs/{jid}/annotations/",
        "/api/labels",
        f"/api/labels/{lid}",
        "/api/requests",
        f"/api/requests/{rq['tasks']}",
        f"/api/tasks/{tid}/dataset/download?rq_id={rq['tasks']}",
        f"/api/jobs/{jid}/dataset/download?rq_id={rq['jobs']}",
        f"/api/projects/{pid}/dataset/download?rq_id={rq['projects']}",
        f"/api/tasks/{tid}/backup/download?rq_id={rq['backup']}",
        f"/api/projects/{pid}/backup/download?rq_id={rq['project backup']}",
    ]:
        both("GET", url, 200)
    bearer = {"Authorization": f"Bearer {token['value']}"}
    with httpx.Client(base_url=server.url) as plain:  # no session: anonymous, then bearer
        other = Both(plain)
        other("GET", "/api/server/about", 200)
        other("GET", "/api/auth/access_tokens/self", 200, headers=bearer)
        other("GET", f"/api/tasks/{tid}", 200, headers=bearer)
        other("PATCH", f"/api/tasks/{tid}", 200, headers=bearer, json={"subset": "b"})
    both.problems += other.problems
    both.assert_clean()


def test_k9_writes(server, admin):
    both = Both(admin)
    project = create_project(admin)
    task = make_task(admin, 2, name=unique("k9w"), labels=[], project_id=project["id"])
    tid, pid = task["id"], project["id"]
    jid = task["jobs_list"][0]["id"]
    lid = task["labels_list"][0]["id"]

    # creation
    both("POST", "/api/tasks", 201, json={"name": unique("k9"), "labels": [{"name": "a"}]})
    both("POST", "/api/projects", 201, json={"name": unique("k9"), "labels": []})
    both("POST", "/api/auth/access_tokens", 201, json={"name": unique("k9")})
    # changes
    both("PATCH", f"/api/tasks/{tid}", 200, json={"subset": "Train"})
    both("PATCH", f"/api/projects/{pid}", 200, json={"bug_tracker": "http://bt/9"})
    both("PATCH", f"/api/jobs/{jid}", 200, json={"state": "in progress"})
    both("PATCH", f"/api/labels/{lid}", 200, json={"color": "#123456"})
    box = {"type": "rectangle", "frame": 0, "label_id": lid, "points": [1, 1, 5, 5]}
    for base in (f"/api/tasks/{tid}/annotations/", f"/api/jobs/{jid}/annotations/"):
        both("PUT", base, 200, json={"shapes": [box]})
        both("PATCH", base + "?action=create", 200, json={"shapes": [box]})
        both("DELETE", base, 204)
    # background work
    both("POST", f"/api/tasks/{tid}/dataset/export?format={FORMAT}", 202)
    both("POST", f"/api/jobs/{jid}/dataset/export?format={FORMAT}", 202)
    both("POST", f"/api/projects/{pid}/dataset/export?format={FORMAT}", 202)
    both("POST", f"/api/tasks/{tid}/backup/export", 202)
    both("POST", f"/api/projects/{pid}/backup/export", 202)
    rq_id = admin.post(f"/api/tasks/{tid}/backup/export").json()["rq_id"]
    wait_request(admin, rq_id)
    both("POST", f"/api/requests/{rq_id}/cancel", 400)  # finished: refused in both forms
    # the upload protocol (Upload-Start) on every upload endpoint
    empty = create_task(admin)
    start = {"Upload-Start": "", "Content-Type": "application/json"}
    both("POST", f"/api/tasks/{empty['id']}/data/", 202, headers=start)
    xml = "?format=CVAT+1.1&filename=a.xml"
    both("POST", f"/api/tasks/{tid}/annotations/{xml}", 202, headers=start)
    both("POST", f"/api/jobs/{jid}/annotations/{xml}", 202, headers=start)
    both("POST", f"/api/projects/{pid}/dataset/{xml}", 202, headers=start)
    both("POST", "/api/tasks/backup/?filename=b.zip", 202, headers=start)
    both("POST", "/api/projects/backup/?filename=p.zip", 202, headers=start)
    # TUS chunk URLs: HEAD in both forms, and the two halves of one file in either form
    payload = b"0123456789" * 3
    for create_url in (
        f"/api/tasks/{empty['id']}/data/",
        f"/api/tasks/{tid}/annotations/",
        f"/api/jobs/{jid}/annotations/",
        f"/api/projects/{pid}/dataset/",
        "/api/tasks/backup/",
        "/api/projects/backup/",
    ):
        location = tus_create(admin, create_url, "part.bin", len(payload))
        assert location.startswith("http"), location
        both("HEAD", location, 200)
        both.one(
            "PATCH",
            location,
            204,
            headers={**TUS_PATCH, "Upload-Offset": "0"},
            content=payload[:10],
        )
        last = both.one(
            "PATCH",
            twin(location),
            204,
            headers={**TUS_PATCH, "Upload-Offset": "10"},
            content=payload[10:],
        )
        if last.headers.get("Upload-Offset") != str(len(payload)):
            both.problems.append(f"PATCH {twin(location)}: offset {last.headers}")
    # deletion: one object through each form
    for kind, make in (
        ("tasks", lambda: create_task(admin)["id"]),
        ("projects", lambda: create_project(admin)["id"]),
        (
            "auth/access_tokens",
            lambda: admin.post("/api/auth/access_tokens", json={"name": unique("d")}).json()["id"],
        ),
    ):
        for form in (f"/api/{kind}/{make()}", f"/api/{kind}/{make()}/"):
            both.one("DELETE", form, 204)
    labels = admin.patch(f"/api/projects/{pid}", json={"labels": [{"name": "x"}, {"name": "y"}]})
    assert labels.status_code == 200, labels.text
    x, y = (
        label["id"]
        for label in admin.get("/api/labels", params={"project_id": pid}).json()["results"]
        if label["name"] in ("x", "y")
    )
    both.one("DELETE", f"/api/labels/{x}", 204)
    both.one("DELETE", f"/api/labels/{y}/", 204)
    both.assert_clean()


def test_k9_login_and_logout(server):
    for url in ("/api/auth/login", "/api/auth/login/"):
        with closing(httpx.Client(base_url=server.url)) as client:
            both = Both(client)
            both.one("POST", url, 200, json={"username": ADMIN[0], "password": ADMIN[1]})
            csrf = {"X-CSRFToken": client.cookies["csrftoken"]}
            both.one("POST", twin(url.replace("login", "logout")), 200, headers=csrf)
            both.assert_clean()
