"""``/api/schema/`` against cvat-sdk's generated client (issue 13, item 4).

Every difference between our schema and what the SDK's endpoints and models
expect (paths, methods, query parameters, request and response fields, their
JSON types and nulls; see ``openapi_diff``) must be explained by an entry of
``openapi_allowlist.txt``, each with its reason; an entry that explains nothing
any more must go. docs/compatibility.md ("The typed schema") says how to read
and change the list.
"""

from __future__ import annotations

import copy

import anyio
import httpx
import pytest

from annotask.app import create_app
from annotask.settings import Settings
from tests.compat import openapi_diff as diff


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi")))
    try:
        return app.openapi()
    finally:
        app.state.services.close()


def test_every_difference_from_the_sdk_is_allowed_with_a_reason(schema):
    allowed = diff.read_allowlist()
    without_reason = [f"line {a.line}: {a.pattern}" for a in allowed if not a.reason]
    assert not without_reason, "allow-list entries need a reason:\n" + diff.report(without_reason)
    found = diff.differences(schema)
    unexplained = diff.unexplained(found, allowed)
    assert not unexplained, (
        "the schema differs from cvat-sdk's client; fix the route or model, or add an entry "
        "with its reason to tests/compat/openapi_allowlist.txt:\n"
        + diff.report(f"{key}    ({why})" for key, why in unexplained.items())
    )
    stale = diff.stale(found, allowed)
    assert not stale, "allow-list entries that match no difference any more:\n" + diff.report(
        f"line {a.line}: {a.pattern}" for a in stale
    )


def test_the_schema_is_the_one_served(schema, tmp_path):
    """The test reads what ``GET /api/schema/`` answers (the same document)."""
    app = create_app(Settings(data_dir=tmp_path))

    async def fetch() -> dict:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return (await client.get("/api/schema/")).json()

    try:
        served = anyio.run(fetch)
    finally:
        app.state.services.close()
    assert served["paths"].keys() == schema["paths"].keys()
    assert served["components"]["schemas"].keys() == schema["components"]["schemas"].keys()
    assert "422" not in str(served["paths"]["/api/tasks"]["get"]["responses"])


def _component(schema: dict, path: str, method: str = "get") -> dict:
    ref = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return schema["components"]["schemas"][ref["schema"]["$ref"].rsplit("/", 1)[1]]


def test_a_removed_or_retyped_response_field_is_reported(schema):
    changed = copy.deepcopy(schema)
    task = _component(changed, "/api/tasks/{task_id}")
    del task["properties"]["size"]
    task["properties"]["frame_count"] = {"type": "integer"}
    task["properties"]["name"] = {"type": "integer"}
    task["properties"]["subset"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    found = diff.differences(changed)
    assert "response-missing GET /api/tasks/{id} size" in found
    assert "response-extra GET /api/tasks/{id} frame_count" in found
    assert "response-type GET /api/tasks/{id} name" in found
    assert "response-nullable GET /api/tasks/{id} subset" in found
    assert "response-missing GET /api/tasks/{id} size" not in diff.differences(schema)
    # The page of a list shares the model: its rows are compared too.
    assert "response-missing GET /api/tasks results[].size" in found


def test_a_removed_query_parameter_endpoint_or_body_field_is_reported(schema):
    changed = copy.deepcopy(schema)
    listing = changed["paths"]["/api/jobs"]["get"]
    listing["parameters"] = [p for p in listing["parameters"] if p["name"] != "task_id"]
    del changed["paths"]["/api/labels/{label_id}"]
    body = changed["components"]["schemas"]["TaskWrite"]
    del body["properties"]["segment_size"]
    found = diff.differences(changed)
    assert "query-missing GET /api/jobs task_id" in found
    assert "endpoint-missing GET /api/labels/{id}" in found
    assert "request-missing POST /api/tasks segment_size" in found


def test_allow_list_patterns_match_whole_keys_with_star_only():
    assert diff.matches("response-extra GET /api/jobs results[].x", "response-extra * results[].*")
    assert not diff.matches("response-extra GET /api/jobs x", "response-extra GET /api/job")
    assert not diff.matches("query-missing GET /api/tasks org_id", "query-missing * org")
