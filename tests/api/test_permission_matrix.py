"""Who reaches what, as a table: every role against every task- and job-level endpoint.

The rules are CVAT's (``tasks.rego``/``jobs.rego``, see docs/security.md, "Who may see
what"): the task, its data, annotations, exports, backups, repository and requests
belong to the task's staff (owner, assignee, project owner or assignee) and admins. A
job's assignee works on that job only: its data and annotations, its state (not its
stage or assignee), its labels; everything of the task is "not found" for them, as
for a stranger.

One task with real media (two jobs of two frames) in a project, on every backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

import httpx
import pytest

from tests.dataset_repo.gitutil import bare_repository
from tests.support.media import write_images
from tests.support.resources import new_user, unique
from tests.support.rest import wait_request
from tests.support.server import ADMIN, LiveServer
from tests.ui.helpers import add_share_data, jobs_of

pytestmark = pytest.mark.xdist_group("permission_matrix")

ROLES = ("admin", "task_owner", "task_assignee", "project_owner", "job_assignee", "stranger")
STAFF = frozenset({"admin", "task_owner", "task_assignee", "project_owner"})
JOB_STAFF = STAFF | {"job_assignee"}
# Who may change the task (and so reassign its jobs): narrower than staff here.
TASK_CHANGERS = frozenset({"admin", "task_owner", "project_owner"})
EXPORT_FORMAT = "CVAT for images 1.1"


@dataclass
class World:
    server: LiveServer
    clients: dict[str, httpx.Client]
    ids: dict[str, int]
    task: int
    job: int  # assigned to job_assignee
    other_job: int  # nobody's
    job_start: int
    function: int
    export_rq: str  # the task owner's dataset export


@pytest.fixture(scope="module")
def world(server, tmp_path_factory) -> World:
    clients = {"admin": server.client(ADMIN)}
    for role in ROLES[1:]:
        clients[role] = server.client(new_user(server))
    ids = {role: c.get("/api/users/self").json()["id"] for role, c in clients.items()}
    admin = clients["admin"]

    project = clients["project_owner"].post(
        "/api/projects", json={"name": unique("pm"), "labels": [{"name": "car"}]}
    )
    assert project.status_code == 201, project.text
    created = admin.post(
        "/api/tasks",
        json={
            "name": unique("matrix"),
            "project_id": project.json()["id"],
            "owner_id": ids["task_owner"],
            "assignee_id": ids["task_assignee"],
            "segment_size": 2,
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()["id"]
    share = server.share_root / f"matrix-{uuid.uuid4().hex[:8]}"
    share.mkdir()
    write_images(share, [f"f{i}.jpg" for i in range(4)], (64, 48))
    done = add_share_data(admin, task, [f"{share.name}/"])
    assert done["creation_request"]["status"] == "finished", done["creation_request"]
    job, other = jobs_of(admin, task)
    answer = admin.patch(f"/api/jobs/{job['id']}", json={"assignee": ids["job_assignee"]})
    assert answer.status_code == 200, answer.text

    bare = bare_repository(tmp_path_factory.mktemp("matrix-git") / "remote.git")
    attached = admin.post(
        f"/api/git/repository/create/{task}",
        json={"path": str(bare), "format": EXPORT_FORMAT, "lfs": False},
    )
    assert attached.status_code == 200, attached.text
    assert wait_request(admin, attached.json()["rq_id"])["status"] == "finished"

    function = admin.post(
        "/api/functions",
        json={
            "provider": "native",
            "name": unique("matrix-fn"),
            "kind": "detector",
            "visibility": "public",
            "labels_v2": [{"name": "car", "attributes": []}],
        },
    )
    assert function.status_code == 201, function.text

    export = clients["task_owner"].post(
        f"/api/tasks/{task}/dataset/export",
        params={"format": EXPORT_FORMAT, "save_images": "False"},
    )
    assert export.status_code == 202, export.text

    yield World(
        server=server,
        clients=clients,
        ids=ids,
        task=task,
        job=job["id"],
        other_job=other["id"],
        job_start=job["start_frame"],
        function=function.json()["id"],
        export_rq=export.json()["rq_id"],
    )
    for client in clients.values():
        client.close()


# ---- the table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One endpoint: how to call it, and what each role gets back."""

    name: str
    call: Callable[[httpx.Client, World], httpx.Response]
    ok: int
    allowed: frozenset[str]
    forbidden: frozenset[str] = frozenset()  # visible but not allowed: 403
    after: Callable[[httpx.Client, World, httpx.Response], None] | None = None

    def expected(self, role: str) -> int:
        if role in self.allowed:
            return self.ok
        return 403 if role in self.forbidden else 404


def _fill(params: dict, w: World) -> dict | None:
    """Query values may name the world's ids too: ``task_id="{task}"``."""
    return {k: str(v).format(**vars(w)) for k, v in params.items()} or None


def get(path: str, **params) -> Callable[[httpx.Client, World], httpx.Response]:
    return lambda c, w: c.get(path.format(**vars(w)), params=_fill(params, w))


def post(path: str, **params) -> Callable[[httpx.Client, World], httpx.Response]:
    return lambda c, w: c.post(path.format(**vars(w)), params=_fill(params, w))


def put_empty(path: str) -> Callable[[httpx.Client, World], httpx.Response]:
    empty = {"tags": [], "shapes": [], "tracks": []}
    return lambda c, w: c.put(path.format(**vars(w)), json=empty)


def patch_job(
    body: dict, *, other: bool = False
) -> Callable[[httpx.Client, World], httpx.Response]:
    def call(c: httpx.Client, w: World) -> httpx.Response:
        values = {k: (w.ids[v] if k == "assignee" else v) for k, v in body.items()}
        return c.patch(f"/api/jobs/{w.other_job if other else w.job}", json=values)

    return call


def lambda_run(target: str) -> Callable[[httpx.Client, World], httpx.Response]:
    def call(c: httpx.Client, w: World) -> httpx.Response:
        ids = {"task": w.task} if target == "task" else {"job": w.job}
        return c.post("/api/lambda/requests", json={"function": w.function, **ids})

    return call


def cancel_run(c: httpx.Client, w: World, response: httpx.Response) -> None:
    """A task has one unfinished run at a time: take this one back."""
    assert c.delete(f"/api/lambda/requests/{response.json()['id']}").status_code == 204


def restore_stage(c: httpx.Client, w: World, response: httpx.Response) -> None:
    admin = w.clients["admin"]
    assert admin.patch(f"/api/jobs/{w.job}", json={"stage": "annotation"}).status_code == 200


T = "/api/tasks/{task}"
J = "/api/jobs/{job}"
CASES = [
    # The task and everything of it: staff only.
    Case("task", get(T), 200, STAFF),
    Case("task status", get(T + "/status"), 200, STAFF),
    Case("task data meta", get(T + "/data/meta"), 200, STAFF),
    Case("task chunk", get(T + "/data/", type="chunk", number=0, quality="compressed"), 200, STAFF),
    Case("task frame", get(T + "/data/", type="frame", number=0, quality="original"), 200, STAFF),
    Case("task preview (data)", get(T + "/data/", type="preview"), 200, STAFF),
    Case("task preview", get(T + "/preview"), 200, STAFF),
    Case("task annotations", get(T + "/annotations/"), 200, STAFF),
    Case("task annotations write", put_empty(T + "/annotations/"), 200, STAFF),
    Case(
        "task dataset export",
        post(T + "/dataset/export", format=EXPORT_FORMAT, save_images="True"),
        202,
        STAFF,
    ),
    Case(
        "task annotations export",
        post(T + "/dataset/export", format=EXPORT_FORMAT, save_images="False"),
        202,
        STAFF,
    ),
    Case("task backup", post(T + "/backup/export"), 202, STAFF),
    Case("task labels", get("/api/labels", task_id="{task}"), 200, STAFF),
    Case("lambda run on the task", lambda_run("task"), 200, STAFF, after=cancel_run),
    Case("git repository", get("/api/git/repository/get/{task}"), 200, STAFF),
    Case(
        "the task owner's request",
        get("/api/requests/{export_rq}"),
        200,
        frozenset({"admin", "task_owner"}),
    ),
    # The assigned job: job staff, its assignee included.
    Case("job", get(J), 200, JOB_STAFF),
    Case("job data meta", get(J + "/data/meta"), 200, JOB_STAFF),
    Case(
        "job chunk", get(J + "/data", type="chunk", number=0, quality="compressed"), 200, JOB_STAFF
    ),
    Case(
        "job frame",
        get(J + "/data", type="frame", number="{job_start}", quality="original"),
        200,
        JOB_STAFF,
    ),
    Case("job preview", get(J + "/preview"), 200, JOB_STAFF),
    Case("job annotations", get(J + "/annotations/"), 200, JOB_STAFF),
    Case("job annotations write", put_empty(J + "/annotations/"), 200, JOB_STAFF),
    Case(
        "job dataset export",
        post(J + "/dataset/export", format=EXPORT_FORMAT, save_images="False"),
        202,
        JOB_STAFF,
    ),
    Case("job labels", get("/api/labels", job_id="{job}"), 200, JOB_STAFF),
    Case("lambda run on the job", lambda_run("job"), 200, JOB_STAFF, after=cancel_run),
    # The other job of the task: not the job assignee's.
    Case("other job", get("/api/jobs/{other_job}"), 200, STAFF),
    Case("other job chunk", get("/api/jobs/{other_job}/data", type="chunk", number=0), 200, STAFF),
    Case("other job annotations", get("/api/jobs/{other_job}/annotations/"), 200, STAFF),
    # PATCH of a job, field by field.
    Case("job PATCH state", patch_job({"state": "in progress"}), 200, JOB_STAFF),
    Case(
        "job PATCH stage",
        patch_job({"stage": "validation"}),
        200,
        STAFF,
        forbidden=frozenset({"job_assignee"}),
        after=restore_stage,
    ),
    Case(
        "job PATCH assignee",
        patch_job({"assignee": "job_assignee"}),
        200,
        TASK_CHANGERS,
        forbidden=frozenset({"task_assignee", "job_assignee"}),
    ),
    Case("other job PATCH state", patch_job({"state": "new"}, other=True), 200, STAFF),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_role_against_endpoint(world: World, case: Case, role: str) -> None:
    client = world.clients[role]
    response = case.call(client, world)
    assert response.status_code == case.expected(role), (case.name, role, response.text[:300])
    if response.status_code == 404:
        assert "json" in response.headers.get("content-type", ""), response.text[:200]
    if case.after is not None and response.status_code == case.ok:
        case.after(client, world, response)


# ---- lists: what each role finds ------------------------------------------------------


def _listed_ids(client: httpx.Client, path: str, **params) -> set[int]:
    response = client.get(path, params={"page_size": 500, **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_lists(world: World, role: str) -> None:
    client = world.clients[role]
    staff, job_staff = role in STAFF, role in JOB_STAFF
    assert (world.task in _listed_ids(client, "/api/tasks")) is staff
    jobs = _listed_ids(client, "/api/jobs")
    assert (world.job in jobs) is job_staff
    assert (world.other_job in jobs) is staff
    # The jobs of the task, as cvat-sdk's task.get_jobs() asks for them.
    expected = {world.job, world.other_job} if staff else {world.job} if job_staff else set()
    assert _listed_ids(client, "/api/jobs", task_id=world.task) == expected
    repos = client.get("/api/git/repository/meta/get")
    assert repos.status_code == 200, repos.text
    assert (str(world.task) in repos.json()) is staff
    # Background requests list the caller's own only.
    mine = _listed_ids_rq(client, task_id=world.task)
    assert (world.export_rq in mine) is (role == "task_owner")


def _listed_ids_rq(client: httpx.Client, **params) -> set[str]:
    response = client.get("/api/requests", params={"page_size": 500, **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_lambda_requests_on_the_task_are_for_its_staff(world: World, role: str) -> None:
    """A run on the whole task shows in the task staff's list, not in the job
    assignee's; a run on the job shows in the job assignee's too."""
    owner = world.clients["task_owner"]
    for target, seen_by in (("task", STAFF), ("job", JOB_STAFF)):
        started = lambda_run(target)(owner, world)
        assert started.status_code == 200, started.text
        run = started.json()["id"]
        try:
            listed = world.clients[role].get("/api/lambda/requests")
            assert listed.status_code == 200, listed.text
            assert (run in {item["id"] for item in listed.json()}) is (role in seen_by), target
            one = world.clients[role].get(f"/api/lambda/requests/{run}")
            assert one.status_code == (200 if role in seen_by else 404), (target, one.text)
        finally:
            cancel_run(owner, world, started)


def test_a_job_assignee_reads_the_labels_of_the_job_only(world: World) -> None:
    client = world.clients["job_assignee"]
    labels = _listed_ids(client, "/api/labels", job_id=world.job)
    assert labels
    for label in labels:
        assert client.get(f"/api/labels/{label}").status_code == 200
        assert client.patch(f"/api/labels/{label}", json={"name": "x"}).status_code == 403
    with closing(world.server.client(new_user(world.server))) as stranger:
        for label in labels:
            assert stranger.get(f"/api/labels/{label}").status_code == 404


def test_a_job_assignee_keeps_the_job_when_the_task_is_out_of_reach(world: World) -> None:
    """The state moves, the stage stays, and the staff see the new state."""
    client = world.clients["job_assignee"]
    moved = client.patch(f"/api/jobs/{world.job}", json={"state": "completed"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "completed"
    refused = client.patch(f"/api/jobs/{world.job}", json={"stage": "acceptance"})
    assert refused.status_code == 403
    assert "stage" in refused.json()["detail"]
    # The current stage again is no change, and needs no right (clients send whole objects).
    same = client.patch(f"/api/jobs/{world.job}", json={"stage": "annotation", "state": "new"})
    assert same.status_code == 200, same.text
    seen = world.clients["task_owner"].get(f"/api/jobs/{world.job}").json()
    assert (seen["stage"], seen["state"]) == ("annotation", "new")
