"""Native functions and agents: ``cvat-cli function create-native|delete|run-agent``
against the lambda API (``/api/functions``, ``/api/lambda``), and the legacy
``GET /api/tasks/{id}/status``.

The stock CLI runs unmodified on every backend: a detector registered from a
function file, a lambda request made through the SDK's own ``lambda_api`` (so
the ``FunctionCall`` answers are deserialized strictly), an agent run in burst
mode that saves one automatic rectangle per frame. The lease test plays two
agents over raw HTTP and ages the lease in the server's database, instead of
waiting the two minutes an agent really has.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.annotations_api.helpers import make_task
from tests.support.cvat import run_cli, sdk_client
from tests.support.resources import database_url, unique
from tests.support.rest import new_task, wait_request
from tests.support.server import LiveServer

FUNCTION = textwrap.dedent(
    """
    import cvat_sdk.auto_annotation as cvataa

    spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("car", 0)])


    def detect(context, image):
        width, height = image.size
        return [cvataa.rectangle(0, [1, 1, width - 1, height - 1])]
    """
)

LABELS = [{"name": "car"}, {"name": "person"}]
DETECTOR = {
    "provider": "native",
    "name": "cars",
    "kind": "detector",
    "labels_v2": [{"name": "car", "attributes": []}],
}


@pytest.fixture
def function_file(tmp_path) -> Path:
    path = tmp_path / "fn.py"
    path.write_text(FUNCTION)
    return path


def create_function(client: httpx.Client, **fields) -> int:
    response = client.post("/api/functions", json={**DETECTOR, **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def auto_boxes(client: httpx.Client, task: dict) -> list[tuple]:
    """The task's shapes as ``(frame, label, type, source, points)``, sorted."""
    names = {label["id"]: label["name"] for label in task["labels_list"]}
    data = client.get(f"/api/tasks/{task['id']}/annotations/").json()
    return sorted(
        (s["frame"], names[s["label_id"]], s["type"], s["source"], s["points"])
        for s in data["shapes"]
    )


def run_agent(server: LiveServer, home: Path, function_id: int, function_file: Path):
    result = run_cli(
        server,
        home,
        "function",
        "run-agent",
        str(function_id),
        "--function-file",
        str(function_file),
        "--burst",
    ).assert_clean()
    assert "No annotation requests left in queue; exiting." in result.stderr
    return result


# ---- the whole round trip, with the stock CLI --------------------------------------------


def test_agent_annotates_a_task_requested_through_the_lambda_api(
    server, admin, tmp_path, function_file
):
    name = unique("cars")
    created = run_cli(
        server, tmp_path, "function", "create-native", name, "--function-file", str(function_file)
    ).assert_clean()
    function_id = int(created.lines[-1])
    assert f"Created function #{function_id}: {name}" in created.stderr
    read = admin.get(f"/api/functions/{function_id}").json()
    assert (read["provider"], read["kind"], read["visibility"]) == ("native", "detector", "private")
    assert read["labels_v2"] == [{"name": "car", "type": "any", "attributes": []}]
    assert read["owner"]["username"] == "admin"

    task = make_task(admin, 3, labels=LABELS)
    person = next(lab["id"] for lab in task["labels_list"] if lab["name"] == "person")
    manual = {"type": "polygon", "frame": 1, "label_id": person, "points": [1, 1, 9, 1, 5, 7]}
    assert admin.put(f"/api/tasks/{task['id']}/annotations/", json={"shapes": [manual]}).is_success

    from cvat_sdk import models

    with sdk_client(server) as client:
        call, _ = client.api_client.lambda_api.create_requests(
            models.FunctionCallRequest(function=str(function_id), task=task["id"], threshold=0.5)
        )
        assert (call.status, call.function.id, call.function.task) == (
            "queued",
            str(function_id),
            task["id"],
        )
        listed, _ = client.api_client.lambda_api.list_requests()
        assert call.id in [c.id for c in listed]

        agent = run_agent(server, tmp_path, function_id, function_file)
        assert f"Got assigned annotation request {call.id!r}" in agent.stderr
        assert f"AR {call.id!r} completed" in agent.stderr

        done, _ = client.api_client.lambda_api.retrieve_requests(call.id)
        assert (done.status, done.progress, done.exc_info) == ("finished", 100, None)
        assert done.ended is not None and done.function.threshold == 0.5

    sizes = [(64, 48), (65, 49), (66, 50)]
    auto = [
        (frame, "car", "rectangle", "auto", [1.0, 1.0, float(w - 1), float(h - 1)])
        for frame, (w, h) in enumerate(sizes)
    ]
    kept = (1, "person", "polygon", "manual", [1.0, 1.0, 9.0, 1.0, 5.0, 7.0])
    assert auto_boxes(admin, task) == sorted([*auto, kept])  # appended

    again = admin.post(
        "/api/lambda/requests", json={"function": name, "task": task["id"], "cleanup": True}
    )
    assert again.status_code == 200, again.text
    run_agent(server, tmp_path, function_id, function_file)
    assert admin.get(f"/api/lambda/requests/{again.json()['id']}").json()["status"] == "finished"
    assert auto_boxes(admin, task) == auto  # replaced


def test_function_delete_existing_and_missing(server, admin, tmp_path):
    function_id = create_function(admin)
    task = make_task(admin, 1, labels=LABELS)
    queued = admin.post("/api/lambda/requests", json={"function": function_id, "task": task["id"]})
    assert queued.status_code == 200, queued.text

    result = run_cli(server, tmp_path, "function", "delete", str(function_id), "999999")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert f"INFO: Function #{function_id} deleted" in result.stderr
    assert "WARNING: Function #999999 not found" in result.stderr
    assert admin.get(f"/api/functions/{function_id}").status_code == 404
    # Its unfinished request failed and stays readable.
    call = admin.get(f"/api/lambda/requests/{queued.json()['id']}").json()
    assert (call["status"], call["exc_info"], call["function"]["id"]) == (
        "failed",
        "The function was deleted",
        None,
    )


# ---- who sees and runs functions -------------------------------------------------------


def test_private_functions_are_invisible_to_others(server, admin, user_factory):
    owner_name, owner_password = user_factory()
    other_name, other_password = user_factory()
    owner = server.client((owner_name, owner_password))
    other = server.client((other_name, other_password))
    try:
        private = create_function(owner, name="mine")
        public = create_function(owner, name="shared", visibility="public")
        acquire = {"agent_id": "x", "request_category": "batch"}

        assert other.get(f"/api/functions/{private}").status_code == 404
        assert other.delete(f"/api/functions/{private}").status_code == 404
        assert (
            other.post(f"/api/functions/queues/function:{private}/requests/acquire", json=acquire)
        ).status_code == 404
        seen = {
            f["id"]
            for f in other.get("/api/functions", params={"page_size": 1000}).json()["results"]
        }
        assert public in seen and private not in seen
        assert private not in {int(f["id"]) for f in other.get("/api/lambda/functions").json()}

        task = make_task(other, 1, labels=LABELS)
        refused = other.post("/api/lambda/requests", json={"function": private, "task": task["id"]})
        assert refused.status_code == 400 and "function" in refused.json(), refused.text

        # A public function: others see and run it, but only its owner manages it.
        assert other.get(f"/api/functions/{public}").status_code == 200
        assert other.delete(f"/api/functions/{public}").status_code == 403
        assert (
            other.post(f"/api/functions/queues/function:{public}/requests/acquire", json=acquire)
        ).status_code == 403
        # Its agent reads the task with the owner's login: a task the owner cannot
        # see is refused at once, not failed later in the agent.
        unseen = other.post("/api/lambda/requests", json={"function": public, "task": task["id"]})
        assert unseen.status_code == 400, unseen.text
        assert "cannot see task" in unseen.json()["function"][0]
        owner_id = owner.get("/api/users/self").json()["id"]
        shared = other.patch(f"/api/tasks/{task['id']}", json={"assignee_id": owner_id})
        assert shared.status_code == 200, shared.text
        ran = other.post("/api/lambda/requests", json={"function": public, "task": task["id"]})
        assert ran.status_code == 200, ran.text
        assert admin.get(f"/api/functions/{private}").status_code == 200

        # Running a function needs the right to change the task's annotations.
        foreign = make_task(admin, 1, labels=LABELS)
        hidden = other.post(
            "/api/lambda/requests", json={"function": public, "task": foreign["id"]}
        )
        assert hidden.status_code == 404
    finally:
        owner.close()
        other.close()


# ---- bad input --------------------------------------------------------------------------


def test_bad_input_is_a_clear_4xx(server, admin):
    def create(**fields) -> httpx.Response:
        return admin.post("/api/functions", json={**DETECTOR, **fields})

    bad_kind = create(kind="reid")
    assert create(kind=["detector"]).status_code == 400  # not a name: a 400, not a 500
    assert (
        bad_kind.status_code == 400
        and "detector, interactor, tracker" in bad_kind.json()["kind"][0]
    )
    assert "labels_v2" in create(kind="tracker", supported_shape_types=["rectangle"]).json()
    assert "provider" in create(provider="nuclio").json()
    assert "labels_v2[0].type" in create(labels_v2=[{"name": "car", "type": "box"}]).json()
    interactor = create(kind="interactor", labels_v2=None, min_pos_points=1, startswith_box=True)
    assert interactor.status_code == 400  # labels_v2 is not a field of interactors
    body = {k: v for k, v in DETECTOR.items() if k != "labels_v2"}
    interactor = admin.post(
        "/api/functions", json={**body, "kind": "interactor", "min_pos_points": 1}
    )
    assert interactor.status_code == 201, interactor.text
    assert interactor.json()["min_neg_points"] == -1  # what the agent reads as "no negatives"

    function_id = create_function(admin)
    task = make_task(admin, 2, labels=LABELS)

    def run(**fields) -> httpx.Response:
        return admin.post(
            "/api/lambda/requests", json={"function": function_id, "task": task["id"], **fields}
        )

    unknown = admin.post(
        "/api/lambda/requests", json={"function": "no-such-function", "task": task["id"]}
    )
    assert unknown.status_code == 400 and "no-such-function" in unknown.json()["function"][0]
    no_data = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": new_task(admin)}
    )
    assert no_data.status_code == 400 and "no data" in no_data.json()["task"][0]
    assert (
        admin.post(
            "/api/lambda/requests", json={"function": function_id, "task": 999999}
        ).status_code
        == 404
    )
    kind = admin.post(
        "/api/lambda/requests", json={"function": interactor.json()["id"], "task": task["id"]}
    )
    assert kind.status_code == 400 and "interactor" in kind.json()["function"][0]
    assert "job" in run(job="first").json()
    assert "threshold" in run(threshold=2).json()
    assert "mapping.car.name" in run(mapping={"car": {"name": "bus"}}).json()
    assert "mapping.bus" in run(mapping={"bus": {"name": "car"}}).json()
    unmatched = admin.post(
        "/api/lambda/requests",
        json={
            "function": create_function(admin, labels_v2=[{"name": "dog", "attributes": []}]),
            "task": task["id"],
        },
    )
    assert unmatched.status_code == 400 and "dog" in unmatched.json()["mapping"][0]

    first = run(mapping={"car": {"name": "person"}})
    assert first.status_code == 200, first.text
    assert run().status_code == 409  # one running request per task
    params = admin.post(
        f"/api/functions/queues/function:{function_id}/requests/acquire",
        json={"agent_id": "a", "request_category": "batch"},
    ).json()["ar_assignment"]["ar_params"]
    assert params["mapping"] == {"car": {"name": "person", "attributes": {}}}
    assert params["type"] == "annotate_task" and params["task"] == task["id"]
    bad_category = admin.post(
        f"/api/functions/queues/function:{function_id}/requests/acquire",
        json={"agent_id": "a", "request_category": "later"},
    )
    assert bad_category.status_code == 400
    assert admin.post("/api/functions/queues/task:1/requests/acquire", json={}).status_code == 404


# ---- agents that disappear, and results that arrive late -------------------------------


def _expire_leases(server: LiveServer, function_id: int) -> None:
    """Age the function's leases as if its agents had been silent for longer than allowed."""
    from annotask.db.base import utcnow
    from annotask.db.engine import make_engine
    from annotask.db.models import AnnotationRequest

    engine = make_engine(database_url(server))
    try:
        with Session(engine) as db, db.begin():
            db.execute(
                update(AnnotationRequest)
                .where(
                    AnnotationRequest.status == "started",
                    AnnotationRequest.function_id == function_id,
                )
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
    finally:
        engine.dispose()


def test_an_abandoned_request_goes_back_to_the_queue(server, admin):
    function_id = create_function(admin)
    task = make_task(admin, 2, labels=LABELS)
    car = next(lab["id"] for lab in task["labels_list"] if lab["name"] == "car")
    ar_id = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": task["id"]}
    ).json()["id"]
    queue = f"/api/functions/queues/function:{function_id}/requests"

    def acquire(agent: str) -> dict | None:
        response = admin.post(
            f"{queue}/acquire", json={"agent_id": agent, "request_category": "batch"}
        )
        assert response.status_code == 200, response.text
        return response.json()["ar_assignment"]

    assert acquire("a")["ar_id"] == ar_id
    assert acquire("b") is None  # held by a
    assert admin.post(f"{queue}/{ar_id}/update", json={"agent_id": "a", "progress": 0.5}).is_success
    assert admin.get(f"/api/lambda/requests/{ar_id}").json()["progress"] == 50

    _expire_leases(server, function_id)  # agent a went silent
    assert admin.get(f"/api/lambda/requests/{ar_id}").json()["status"] == "queued"
    assert acquire("b")["ar_id"] == ar_id
    result = {
        "annotations": {
            "tags": [],
            "shapes": [
                {
                    "type": "rectangle",
                    "frame": f,
                    "label_id": car,
                    "points": [1, 1, 5, 5],
                    "source": "manual",
                }
                for f in (0, 1)
            ],
        }
    }
    late = admin.post(f"{queue}/{ar_id}/complete", json={"agent_id": "a", **result})
    assert late.status_code == 409  # a's late answer cannot overwrite b's run
    assert (
        admin.post(f"{queue}/{ar_id}/update", json={"agent_id": "a", "progress": 0.9}).status_code
        == 409
    )
    for _ in range(2):  # a retried submission is harmless
        assert admin.post(f"{queue}/{ar_id}/complete", json={"agent_id": "b", **result}).is_success
    shapes = admin.get(f"/api/tasks/{task['id']}/annotations/").json()["shapes"]
    assert sorted((s["frame"], s["source"]) for s in shapes) == [(0, "auto"), (1, "auto")]

    # A request every agent abandons fails after three attempts.
    ar_id = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": task["id"]}
    ).json()["id"]
    for agent in ("c", "d", "e"):
        assert acquire(agent)["ar_id"] == ar_id
        _expire_leases(server, function_id)
    call = admin.get(f"/api/lambda/requests/{ar_id}").json()
    assert call["status"] == "failed" and "stopped responding" in call["exc_info"]


def test_refused_results_and_agent_failures_fail_the_request(server, admin):
    function_id = create_function(admin)
    task = make_task(admin, 1, labels=LABELS)
    queue = f"/api/functions/queues/function:{function_id}/requests"
    agent = {"agent_id": "a", "request_category": "batch"}

    ar_id = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": task["id"]}
    ).json()["id"]
    admin.post(f"{queue}/acquire", json=agent)
    bad = {"shapes": [{"type": "rectangle", "frame": 7, "label_id": 10**6, "points": [0, 0, 1, 1]}]}
    refused = admin.post(f"{queue}/{ar_id}/complete", json={"agent_id": "a", "annotations": bad})
    assert refused.status_code == 400
    # The agent then reports the failure; that is accepted and changes nothing.
    assert admin.post(
        f"{queue}/{ar_id}/fail", json={"agent_id": "a", "exc_info": "Received HTTP status 400"}
    ).is_success
    call = admin.get(f"/api/lambda/requests/{ar_id}").json()
    assert call["status"] == "failed" and call["exc_info"].startswith(
        "The agent's result was refused"
    )
    assert admin.get(f"/api/tasks/{task['id']}/annotations/").json()["shapes"] == []

    ar_id = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": task["id"]}
    ).json()["id"]
    admin.post(f"{queue}/acquire", json=agent)
    assert admin.post(
        f"{queue}/{ar_id}/fail", json={"agent_id": "a", "exc_info": "Worker process crashed"}
    ).is_success
    assert admin.get(f"/api/lambda/requests/{ar_id}").json()["exc_info"] == "Worker process crashed"

    # Cancelling: a queued request fails at once; an ended one is removed.
    ar_id = admin.post(
        "/api/lambda/requests", json={"function": function_id, "task": task["id"]}
    ).json()["id"]
    assert admin.delete(f"/api/lambda/requests/{ar_id}").status_code == 204
    assert admin.get(f"/api/lambda/requests/{ar_id}").json()["exc_info"] == "Canceled by the user"
    assert admin.post(f"{queue}/acquire", json=agent).json()["ar_assignment"] is None
    assert admin.delete(f"/api/lambda/requests/{ar_id}").status_code == 204
    assert admin.get(f"/api/lambda/requests/{ar_id}").status_code == 404


def test_watch_announces_new_requests(server, admin):
    function_id = create_function(admin)
    task = make_task(admin, 1, labels=LABELS)
    url = f"/api/functions/queues/function:{function_id}/watch"
    with admin.stream("GET", url, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 5000"
        created = admin.post(
            "/api/lambda/requests", json={"function": function_id, "task": task["id"]}
        )
        assert created.status_code == 200
        event = [next(lines) for _ in range(3)]
    assert event == ["event: newrequest", 'data: {"request_category": "batch"}', ""]


# ---- the legacy task status ------------------------------------------------------------


def test_legacy_task_status(server, admin, user_factory):
    empty = new_task(admin)
    assert admin.get(f"/api/tasks/{empty}/status").json() == {
        "state": "Finished",
        "message": "",
        "progress": 0.0,
    }
    task = make_task(admin, 1, labels=LABELS)
    done = admin.get(f"/api/tasks/{task['id']}/status").json()
    assert (done["state"], done["progress"]) == ("Finished", 1.0)

    broken = new_task(admin)
    url = f"/api/tasks/{broken}/data/"
    admin.post(url, headers={"Upload-Start": ""})
    admin.post(
        url,
        headers={"Upload-Multiple": ""},
        files={"client_files[0]": ("bad.jpg", b"not an image", "image/jpeg")},
    )
    finish = admin.post(url, json={"image_quality": 70}, headers={"Upload-Finish": ""})
    assert wait_request(admin, finish.json()["rq_id"])["status"] == "failed"
    with sdk_client(server) as client:
        status, _ = client.api_client.tasks_api.retrieve_status(broken)
        assert status.state.value == "Failed" and "bad.jpg" in status.message

    name, password = user_factory()
    other = server.client((name, password))
    try:
        assert other.get(f"/api/tasks/{broken}/status").status_code == 404
    finally:
        other.close()


def test_routes_answer_with_and_without_the_trailing_slash(server, admin):
    """K9 for the new routes: both forms answer directly, never with a redirect."""
    function_id = create_function(admin)
    task_id = new_task(admin)
    for path in (
        "/api/functions",
        f"/api/functions/{function_id}",
        "/api/lambda/functions",
        f"/api/lambda/functions/{function_id}",
        "/api/lambda/requests",
        f"/api/tasks/{task_id}/status",
    ):
        for url in (path, path + "/"):
            response = admin.get(url, follow_redirects=False)
            assert response.status_code == 200, (url, response.text)


# ---- the other kinds, and the label mapping sent to agents ----------------------------

INTERACTOR = textwrap.dedent(
    """
    import cvat_sdk.auto_annotation as cvataa

    spec = cvataa.InteractionFunctionSpec(min_pos_points=1, min_bounding_boxes=0)


    def detect(context, image, prompts):
        return []
    """
)

TRACKER = textwrap.dedent(
    """
    import cvat_sdk.auto_annotation as cvataa

    spec = cvataa.TrackingFunctionSpec(supported_shape_types={"rectangle", "points"})


    def preprocess_image(context, image):
        return image


    def init_tracking_state(context, image, shape):
        return shape.points


    def track(context, image, state):
        return None
    """
)


@pytest.mark.parametrize(("source", "kind"), [(INTERACTOR, "interactor"), (TRACKER, "tracker")])
def test_interactors_and_trackers_register_and_their_agents_start(
    sqlite_server, tmp_path, source, kind
):
    """The fields of each kind are stored as the agent checks them; the agent starts
    cleanly and, with nothing queued, finds no work (calls: test_function_calls.py)."""
    path = tmp_path / f"{kind}.py"
    path.write_text(source)
    created = run_cli(
        sqlite_server,
        tmp_path,
        "function",
        "create-native",
        unique(kind),
        "--function-file",
        str(path),
    ).assert_clean()
    function_id = int(created.lines[-1])
    client = sqlite_server.client()
    try:
        read = client.get(f"/api/functions/{function_id}").json()
    finally:
        client.close()
    assert read["kind"] == kind
    if kind == "interactor":
        assert (read["min_pos_points"], read["min_neg_points"]) == (1, -1)
        assert (read["startswith_box"], read["startswith_box_optional"]) == (False, True)
    else:
        assert read["supported_shape_types"] == ["points", "rectangle"]
    run_agent(sqlite_server, tmp_path, function_id, path)


SKELETON_SVG = (
    '<circle r="1" data-type="element node" data-label-name="head"></circle>'
    '<circle r="1" data-type="element node" data-label-name="tail"></circle>'
)
TASK_LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "mutable": False, "input_type": "select", "values": ["red", "blue"]},
            {
                "name": "speed",
                "mutable": False,
                "input_type": "number",
                "values": ["0", "100", "1"],
            },
        ],
    },
    {"name": "person", "type": "rectangle"},
    {
        "name": "body",
        "type": "skeleton",
        "svg": SKELETON_SVG,
        "sublabels": [{"name": "head", "type": "points"}, {"name": "tail", "type": "points"}],
    },
    {"name": "blob", "type": "polygon"},
]
FUNCTION_LABELS = [
    {
        "name": "car",
        "attributes": [
            {"name": "color", "input_type": "select", "values": ["blue", "red"]},
            {"name": "speed", "input_type": "number", "values": ["0", "200", "1"]},
        ],
    },
    {"name": "person", "type": "polygon", "attributes": []},
    {
        "name": "body",
        "type": "skeleton",
        "attributes": [],
        "sublabels": [
            {"name": "head", "type": "points", "attributes": []},
            {"name": "foot", "type": "points", "attributes": []},
        ],
    },
    {"name": "blob", "type": "mask", "attributes": []},
]


def test_the_mapping_pairs_only_what_the_agent_accepts(sqlite_server):
    client = sqlite_server.client()
    try:
        function_id = create_function(client, labels_v2=FUNCTION_LABELS)
        task = make_task(client, 1, labels=TASK_LABELS)
        queue = f"/api/functions/queues/function:{function_id}/requests/acquire"

        def mapping(**fields) -> dict:
            body = {"function": function_id, "task": task["id"], **fields}
            created = client.post("/api/lambda/requests", json=body)
            assert created.status_code == 200, created.text
            agent = {"agent_id": "m", "request_category": "batch"}
            params = client.post(queue, json=agent).json()["ar_assignment"]["ar_params"]
            assert client.delete(f"/api/lambda/requests/{created.json()['id']}").is_success
            return params["mapping"]

        car = {"name": "car", "attributes": {"color": "color"}}  # speed: other values
        body = {
            "name": "body",
            "attributes": {},
            "sublabels": {"head": {"name": "head", "attributes": {}}},
        }
        assert mapping() == {"car": car, "body": body}  # person: polygon vs rectangle
        blob = {"name": "blob", "attributes": {}}  # a mask fills a polygon label when converted
        assert mapping(conv_mask_to_poly=True) == {"car": car, "body": body, "blob": blob}
        assert mapping(mapping={"car": {"name": "car"}}) == {"car": car}
        renamed = {"car": {"name": "car", "attributes": {}}}
        assert mapping(mapping={"car": {"name": "car", "attributes": {}}}) == renamed

        wrong = client.post(
            "/api/lambda/requests",
            json={
                "function": function_id,
                "task": task["id"],
                "mapping": {"car": {"name": "car", "attributes": {"color": "speed"}}},
            },
        )
        assert wrong.status_code == 400 and "mapping.car.attributes.color" in wrong.json()
        skeleton = client.post(
            "/api/lambda/requests",
            json={
                "function": function_id,
                "task": task["id"],
                "mapping": {"body": {"name": "car"}},
            },
        )
        assert skeleton.status_code == 400 and "mapping.body.name" in skeleton.json()
    finally:
        client.close()
