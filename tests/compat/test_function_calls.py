"""Single-frame function calls (``POST /api/lambda/functions/{id}``) served by the
stock ``cvat-cli function run-agent``, and detector runs limited to one job.

A call waits for the agent's answer, so each test starts it in a thread, waits
until its interactive request is queued, then runs the agent (in burst mode, or
as a long-running process for the tracker, whose states live in the agent's
memory between calls). The timeout is tested on a server started with a
one-second ``function_call_timeout_seconds``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.annotations_api.helpers import make_task
from tests.compat.test_functions import (
    FUNCTION,
    LABELS,
    TRACKER,
    auto_boxes,
    create_function,
    run_agent,
)
from tests.conftest import start_server
from tests.support.cvat import cli_env, run_cli, sdk_client
from tests.support.media import image_bytes
from tests.support.processes import start_group, stop_group
from tests.support.resources import database_url, new_user, unique
from tests.support.rest import new_task, wait_request
from tests.support.server import ADMIN, LiveServer

SIZES = [(64, 48), (65, 49), (66, 50)]  # make_task's frames

INTERACTOR = textwrap.dedent(
    """
    import cvat_sdk.auto_annotation as cvataa

    spec = cvataa.InteractionFunctionSpec(min_pos_points=1, min_bounding_boxes=0)


    def detect(context, image, prompts):
        width, height = image.size
        points = [c for p in prompts.pos_points for c in p] + [width, height]
        return [cvataa.InteractionResultShape(type="polygon", points=points)]
    """
)

# Moves every shape by one pixel per call; the state is the last position.
MOVING_TRACKER = TRACKER.replace(
    "def track(context, image, state):\n    return None",
    "def track(context, image, state):\n"
    "    state[:] = [p + 1 for p in state]\n"
    "    return cvataa.TrackableShape(type=context.original_shape_type, points=list(state))",
)


def same_size_task(client: httpx.Client, frames: int) -> dict:
    """A task of equal-sized frames (a tracker refuses frames of other sizes)."""
    task_id = new_task(client, labels=LABELS)
    url = f"/api/tasks/{task_id}/data/"
    assert client.post(url, headers={"Upload-Start": ""}).status_code == 202
    files = {
        f"client_files[{i}]": (f"s{i}.jpg", image_bytes(64, 48, seed=i), "image/jpeg")
        for i in range(frames)
    }
    assert client.post(url, headers={"Upload-Multiple": ""}, files=files).status_code == 200
    done = client.post(url, json={"image_quality": 70}, headers={"Upload-Finish": ""})
    assert wait_request(client, done.json()["rq_id"])["status"] == "finished"
    return client.get(f"/api/tasks/{task_id}").json()


def register(server: LiveServer, home: Path, source: str, kind: str) -> tuple[int, Path]:
    """A function registered from a file with ``cvat-cli function create-native``."""
    path = home / f"{kind}-{unique()}.py"
    path.write_text(source)
    created = run_cli(
        server, home, "function", "create-native", unique(kind), "--function-file", str(path)
    ).assert_clean()
    return int(created.lines[-1]), path


class Call(threading.Thread):
    """``POST /api/lambda/functions/{id}`` in a thread: the call waits for an agent."""

    def __init__(self, server: LiveServer, function_id: int, body: dict) -> None:
        super().__init__(daemon=True)
        self.server, self.function_id, self.body = server, function_id, body
        self.response: httpx.Response | None = None

    def run(self) -> None:
        client = self.server.client(ADMIN)
        try:
            self.response = client.post(
                f"/api/lambda/functions/{self.function_id}", json=self.body, timeout=120
            )
        finally:
            client.close()

    def answer(self) -> httpx.Response:
        self.join(120)
        assert self.response is not None, "the call did not answer"
        return self.response


def interactive_requests(server: LiveServer, function_id: int) -> list[tuple[str, str]]:
    """``(status, message)`` of the function's interactive requests, from the database."""
    from annotask.db.engine import make_engine
    from annotask.db.models import AnnotationRequest

    engine = make_engine(database_url(server))
    try:
        with Session(engine) as db:
            rows = db.execute(
                select(AnnotationRequest.status, AnnotationRequest.message).where(
                    AnnotationRequest.function_id == function_id,
                    AnnotationRequest.category == "interactive",
                )
            )
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def wait_queued(server: LiveServer, function_id: int, count: int = 1) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        queued = [r for r in interactive_requests(server, function_id) if r[0] == "queued"]
        if len(queued) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the call was not queued")


def call_with_agent(
    server: LiveServer, home: Path, function_id: int, path: Path, body: dict
) -> httpx.Response:
    """Start the call, then let a burst agent serve it."""
    call = Call(server, function_id, body)
    call.start()
    wait_queued(server, function_id)
    run_agent(server, home, function_id, path)
    return call.answer()


# ---- the three kinds, served by the stock agent -------------------------------------------


def test_a_detector_call_answers_the_frame_and_saves_nothing(server, admin, tmp_path):
    function_id, path = register(server, tmp_path, FUNCTION, "detector")
    task = make_task(admin, 3, labels=LABELS)

    watch = f"/api/functions/queues/function:{function_id}/watch"
    with admin.stream("GET", watch, timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 5000"
        call = Call(server, function_id, {"task": task["id"], "frame": 1, "threshold": 0.5})
        call.start()
        event = [next(lines) for _ in range(3)]
    assert event == ["event: newrequest", 'data: {"request_category": "interactive"}', ""]

    run_agent(server, tmp_path, function_id, path)
    response = call.answer()
    assert response.status_code == 200, response.text
    width, height = SIZES[1]
    [shape] = response.json()
    assert (shape["type"], shape["label"], shape["attributes"]) == ("rectangle", "car", [])
    assert shape["points"] == [1.0, 1.0, float(width - 1), float(height - 1)]
    assert auto_boxes(admin, task) == []  # only answered, never saved
    assert interactive_requests(server, function_id) == [("finished", "")]
    listed = {c["function"]["id"] for c in admin.get("/api/lambda/requests").json()}
    assert str(function_id) not in listed  # calls are not listed


def test_an_interactor_call_answers_the_agents_shapes(sqlite_server, tmp_path):
    function_id, path = register(sqlite_server, tmp_path, INTERACTOR, "interactor")
    client = sqlite_server.client()
    try:
        task = make_task(client, 2, labels=LABELS)
    finally:
        client.close()
    body = {"task": task["id"], "frame": 0, "pos_points": [[5, 6], [7, 8]], "neg_points": []}
    response = call_with_agent(sqlite_server, tmp_path, function_id, path, body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "shapes": [{"type": "polygon", "points": [5, 6, 7, 8, 64, 48], "attributes": []}]
    }


@pytest.fixture
def tracker_agent(sqlite_server, tmp_path) -> Iterator[int]:
    """A long-running agent of a tracker (its states live in the agent's memory)."""
    function_id, path = register(sqlite_server, tmp_path, MOVING_TRACKER, "tracker")
    command = [
        sys.executable,
        "-m",
        "cvat_cli",
        "--server-host",
        "http://localhost",
        "--server-port",
        str(sqlite_server.port),
        "--auth",
        ":".join(ADMIN),
        "function",
        "run-agent",
        str(function_id),
        "--function-file",
        str(path),
    ]
    log = open(tmp_path / "agent.log", "wb")  # noqa: SIM115 - closed below
    # The agent runs its function in child processes: its own session, so that
    # stopping the group ends them too.
    agent = start_group(command, env=cli_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    try:
        yield function_id
    finally:
        stop_group(agent)
        log.close()


def test_a_tracker_call_starts_then_tracks_and_its_states_round_trip(sqlite_server, tracker_agent):
    client = sqlite_server.client()
    try:
        task = same_size_task(client, 3)
        url = f"/api/lambda/functions/{tracker_agent}"
        box = {"type": "rectangle", "points": [10, 10, 20, 20]}
        started = client.post(url, json={"task": task["id"], "frame": 0, "shapes": [box]})
        assert started.status_code == 200, started.text
        assert started.json()["shapes"] == [box]
        states = started.json()["states"]
        assert len(states) == 1 and isinstance(states[0], str)

        for frame, expected in ((1, [11, 11, 21, 21]), (2, [12, 12, 22, 22])):
            body = {"task": task["id"], "frame": frame, "states": states, "shapes": [box]}
            tracked = client.post(url, json=body)
            assert tracked.status_code == 200, tracked.text
            assert tracked.json() == {
                "shapes": [{"type": "rectangle", "points": expected}],
                "states": states,
            }
        lost = client.post(url, json={"task": task["id"], "frame": 1, "states": ["nope"]})
        assert lost.status_code == 502 and "not found" in lost.json()["detail"], lost.text
    finally:
        client.close()


# ---- calls and batch runs side by side, agent answers over raw HTTP ---------------------


def test_calls_are_never_confused_with_batch_requests(server, admin):
    function_id = create_function(admin)
    task = make_task(admin, 2, labels=LABELS)
    car = next(lab["id"] for lab in task["labels_list"] if lab["name"] == "car")
    queue = f"/api/functions/queues/function:{function_id}/requests"
    batch = admin.post("/api/lambda/requests", json={"function": function_id, "task": task["id"]})
    assert batch.status_code == 200, batch.text

    def acquire(category: str) -> dict | None:
        response = admin.post(
            f"{queue}/acquire", json={"agent_id": "a", "request_category": category}
        )
        assert response.status_code == 200, response.text
        return response.json()["ar_assignment"]

    call = Call(server, function_id, {"task": task["id"], "frame": 1, "conv_mask_to_poly": True})
    call.start()  # a running batch request does not block a call on the same task
    wait_queued(server, function_id)
    interactive = acquire("interactive")
    assert interactive["ar_id"] != batch.json()["id"]
    assert interactive["ar_params"] == {
        "type": "annotate_frame",
        "task": task["id"],
        "frame": 1,
        "mapping": {"car": {"name": "car", "attributes": {}}},
        "threshold": None,
        "conv_mask_to_poly": True,
    }
    assert acquire("interactive") is None
    assert acquire("batch")["ar_id"] == batch.json()["id"]

    shape = {"type": "polygon", "frame": 1, "label_id": car, "points": [1, 1, 9, 1, 5, 7]}
    tag = {"frame": 1, "label_id": car, "attributes": []}
    result = {"agent_id": "a", "annotations": {"tags": [tag], "shapes": [shape]}}
    done = admin.post(f"{queue}/{interactive['ar_id']}/complete", json=result)
    assert done.is_success, done.text
    answer = call.answer()
    assert answer.status_code == 200, answer.text
    assert [(o["type"], o["label"]) for o in answer.json()] == [("tag", "car"), ("polygon", "car")]
    assert answer.json()[1]["points"] == [1.0, 1.0, 9.0, 1.0, 5.0, 7.0]
    assert admin.get(f"/api/tasks/{task['id']}/annotations/").json()["shapes"] == []
    assert admin.get(f"/api/lambda/requests/{interactive['ar_id']}").status_code == 404

    # An agent's failure is the call's answer, with its message. (A job instead of
    # the task, as CVAT's annotation view calls: the task is derived from it.)
    call = Call(server, function_id, {"job": task["jobs_list"][0]["id"], "frame": 0})
    call.start()
    wait_queued(server, function_id)
    assignment = acquire("interactive")
    assert (assignment["ar_params"]["task"], assignment["ar_params"]["frame"]) == (task["id"], 0)
    ar_id = assignment["ar_id"]
    failed = admin.post(
        f"{queue}/{ar_id}/fail", json={"agent_id": "a", "exc_info": "Invalid annotation request"}
    )
    assert failed.is_success
    answer = call.answer()
    assert answer.status_code == 502, answer.text
    assert answer.json()["detail"] == "The function failed: Invalid annotation request"


CALLS = 50  # more than anyio's 40 worker threads


# ---- the timeout, and bad calls -----------------------------------------------------------


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A server whose calls wait one second for an agent."""
    yield from start_server(
        tmp_path_factory.mktemp("calls"), "sqlite", function_call_timeout_seconds="1"
    )


def test_a_call_no_agent_answers_times_out_and_fails(quick_server):
    client = quick_server.client()
    try:
        function_id = create_function(client)
        task = make_task(client, 1, labels=LABELS)
        started = time.monotonic()
        response = client.post(
            f"/api/lambda/functions/{function_id}", json={"task": task["id"], "frame": 0}
        )
        assert 1 <= time.monotonic() - started < 10
        assert response.status_code == 504, response.text
        assert "No agent of the function answered within 1 s" in response.json()["detail"]
        assert interactive_requests(quick_server, function_id) == [
            ("failed", "No agent answered within 1 s")
        ]
        acquired = client.post(
            f"/api/functions/queues/function:{function_id}/requests/acquire",
            json={"agent_id": "late", "request_category": "interactive"},
        )
        assert acquired.json() == {"ar_assignment": None}
    finally:
        client.close()


@pytest.fixture(scope="module")
def patient_server(tmp_path_factory) -> Iterator[LiveServer]:
    """A server whose calls wait four seconds for an agent."""
    yield from start_server(
        tmp_path_factory.mktemp("patient"), "sqlite", function_call_timeout_seconds="4"
    )


def test_waiting_calls_do_not_take_the_servers_threads(patient_server):
    """More calls wait than the web server has worker threads (40), and other
    requests are still answered while every call is waiting."""
    client = patient_server.client()
    try:
        function_id = create_function(client)
        task = make_task(client, 1, labels=LABELS)
        returned: list[float] = []

        def call() -> int:
            response = client.post(
                f"/api/lambda/functions/{function_id}", json={"task": task["id"], "frame": 0}
            )
            returned.append(time.monotonic())
            return response.status_code

        with ThreadPoolExecutor(CALLS) as pool:
            futures = [pool.submit(call) for _ in range(CALLS)]
            deadline = time.monotonic() + 30
            while len(interactive_requests(patient_server, function_id)) < CALLS:
                assert time.monotonic() < deadline, "the calls were not all queued"
                time.sleep(0.05)
            assert client.get("/api/users/self").status_code == 200
            answered = time.monotonic()
            statuses = [future.result() for future in futures]
        assert not [t for t in returned if t < answered]  # every call was still waiting
        assert statuses == [504] * CALLS
    finally:
        client.close()


def test_bad_calls_are_a_clear_4xx(quick_server, tmp_path):
    client = quick_server.client()
    try:
        detector = create_function(client)
        interactor = client.post(
            "/api/functions",
            json={
                "provider": "native",
                "name": "clicks",
                "kind": "interactor",
                "min_pos_points": 1,
                "startswith_box": True,
            },
        ).json()["id"]
        tracker = client.post(
            "/api/functions",
            json={
                "provider": "native",
                "name": "follow",
                "kind": "tracker",
                "supported_shape_types": ["rectangle"],
            },
        ).json()["id"]
        task = make_task(client, 2, labels=LABELS, segment_size=1)
        jobs = [j["id"] for j in task["jobs_list"]]

        def call(function_id: int, **body) -> dict:
            response = client.post(f"/api/lambda/functions/{function_id}", json=body)
            assert response.status_code == 400, response.text
            return response.json()

        here = {"task": task["id"], "frame": 0}
        assert "has no frame 5" in call(detector, task=task["id"], frame=5)["frame"][0]
        assert "frame" in call(detector, task=task["id"])
        assert "outside job" in call(detector, job=jobs[1], frame=0)["frame"][0]
        assert (
            "belongs to task"
            in call(detector, task=task["id"] + 1000, job=jobs[0], frame=0)["job"][0]
        )
        wrong = call(detector, **here, pos_points=[[1, 1]])
        assert "only of interactors" in wrong["pos_points"][0]
        assert "mapping.car.name" in call(detector, **here, mapping={"car": {"name": "bus"}})
        assert (
            "needs a bounding box" in call(interactor, **here, pos_points=[[1, 1]])["obj_bbox"][0]
        )
        no_neg = call(
            interactor, **here, pos_points=[[1, 1]], obj_bbox=[[0, 0], [5, 5]], neg_points=[[2, 2]]
        )
        assert "no negative points" in no_neg["neg_points"][0]
        assert "pos_points" in call(interactor, **here, pos_points="1,1", obj_bbox=[[0, 0], [5, 5]])
        assert (
            "rectangle"
            in call(tracker, **here, shapes=[{"type": "polygon", "points": [1, 2]}])[
                "shapes[0].type"
            ][0]
        )
        assert "separate calls" in call(tracker, **here, states=["s", None])["states"][0]
        assert "shapes" in call(tracker, **here)
        not_object = client.post(f"/api/lambda/functions/{detector}", json=[1])
        assert not_object.status_code == 400
        missing = client.post(f"/api/lambda/functions/{detector}", json={"task": 10**6, "frame": 0})
        assert missing.status_code == 404 and "not found" in missing.json()["detail"]
        assert interactive_requests(quick_server, detector) == []  # nothing was queued

        # Permissions: as for batch runs.
        name, password = new_user(quick_server)
        other = quick_server.client((name, password))
        try:
            hidden = other.post(f"/api/lambda/functions/{detector}", json=here)
            assert hidden.status_code == 404  # a private function of someone else
            public = create_function(other, name="shared", visibility="public")
            foreign = other.post(f"/api/lambda/functions/{public}", json=here)
            assert foreign.status_code == 404 and foreign.json()["detail"]  # admin's task
            unseen = client.post(f"/api/lambda/functions/{public}", json=here)
            assert unseen.status_code == 400 and "cannot see task" in unseen.json()["function"][0]
        finally:
            other.close()
    finally:
        client.close()


# ---- detector runs on one job -------------------------------------------------------------


def test_a_run_on_a_job_keeps_to_its_frames_and_its_cleanup_to_its_annotations(
    server, admin, tmp_path
):
    function_id, path = register(server, tmp_path, FUNCTION, "detector")
    task = make_task(admin, 3, labels=LABELS, segment_size=2)
    first, second = (j["id"] for j in task["jobs_list"])
    person = next(lab["id"] for lab in task["labels_list"] if lab["name"] == "person")
    manual = {"type": "polygon", "frame": 0, "label_id": person, "points": [1, 1, 9, 1, 5, 7]}
    assert admin.put(f"/api/jobs/{first}/annotations/", json={"shapes": [manual]}).is_success

    # The job alone: the task is derived from it (the SDK reads the answer strictly).
    created = admin.post("/api/lambda/requests", json={"function": function_id, "job": second})
    assert created.status_code == 200, created.text
    with sdk_client(server) as client:
        call, _ = client.api_client.lambda_api.retrieve_requests(created.json()["id"])
        assert (call.function.task, call.function.job) == (task["id"], second)
    run_agent(server, tmp_path, function_id, path)
    auto = [
        (frame, "car", "rectangle", "auto", [1.0, 1.0, float(w - 1), float(h - 1)])
        for frame, (w, h) in enumerate(SIZES)
    ]
    kept = (0, "person", "polygon", "manual", [1.0, 1.0, 9.0, 1.0, 5.0, 7.0])
    assert auto_boxes(admin, task) == sorted([kept, auto[2]])  # frame 2 only: the job's

    again = admin.post(
        "/api/lambda/requests",
        json={"function": function_id, "task": task["id"], "job": first, "cleanup": True},
    )
    assert again.status_code == 200, again.text
    assert again.json()["function"]["job"] == first
    run_agent(server, tmp_path, function_id, path)
    assert admin.get(f"/api/lambda/requests/{again.json()['id']}").json()["status"] == "finished"
    # The first job's manual polygon is replaced; the second job's box is kept.
    assert auto_boxes(admin, task) == auto

    mismatch = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": task["id"] + 1, "job": first}
    )
    assert mismatch.status_code == 400 and "belongs to task" in mismatch.json()["job"][0]
    assert (
        "job"
        in admin.post("/api/lambda/requests", json={"function": function_id, "job": "first"}).json()
    )
