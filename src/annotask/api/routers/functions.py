"""``/api/functions``: native functions and the queues their agents work from.

What ``cvat-cli function create-native|delete|run-agent`` call: create, read,
list and delete functions; and, for agents (the function's owner or an admin),
``queues/function:<id>/watch`` (a server-sent event stream announcing new
requests), ``requests/acquire``, ``requests/<id>/update|complete|fail``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json
from annotask.api.deps import CurrentCaller, Db, ServicesDep
from annotask.api.openapi import binary, body_doc, list_doc
from annotask.api.pagination import paginate_views
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Empty, Page
from annotask.api.schemas.functions import (
    AcquiredRequest,
    AgentReport,
    Assignment,
    FunctionRead,
    FunctionWrite,
    function_read,
)
from annotask.db.models import Function, User
from annotask.domain.errors import ValidationFailed
from annotask.domain.functions import agents, registry
from annotask.domain.tasks import users_by_id
from annotask.services import Services

router = CvatRouter(prefix="/api/functions", tags=["functions"])

# The event stream: how often it looks for new requests, how often it sends a
# keep-alive comment, how long one connection lasts, and the client's reconnection delay.
# A single-frame call waits for its agent to hear of it, so the stream looks often;
# a look is one indexed read (two, counting expired leases) per connected agent.
WATCH_POLL_SECONDS = 0.25
WATCH_KEEPALIVE_SECONDS = 20.0
WATCH_MAX_SECONDS = 3600.0
WATCH_RETRY_MS = 5000


async def json_object(request: Request) -> dict:
    """The JSON body, which must be an object (an empty body reads as ``{}``)."""
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise ValidationFailed("The body must be a JSON object.")
    return raw


Body = Annotated[dict, Depends(json_object)]


_AGENT: dict[str, Any] = {"openapi_extra": body_doc(AgentReport)}


@router.post("", status_code=201, openapi_extra=body_doc(FunctionWrite))
def create_function(request: Request, caller: CurrentCaller, db: Db, body: Body) -> FunctionRead:
    function = registry.create_function(db, caller.user, body)
    return function_read(request, function, caller.user)


@router.get("", dependencies=[Depends(list_doc(registry.FUNCTION_LIST))])
def list_functions(request: Request, caller: CurrentCaller, db: Db) -> Page[FunctionRead]:
    query = registry.list_functions(caller.user, request.query_params)

    def with_owners(
        db: Session, functions: Sequence[Function]
    ) -> list[tuple[Function, User | None]]:
        owners = users_by_id(db, [f.owner_id for f in functions])  # one query per page
        return [(f, owners.get(f.owner_id or 0)) for f in functions]

    return paginate_views(
        request,
        db,
        query,
        with_owners,
        lambda row: function_read(request, *row),
        Page[FunctionRead],
    )


@router.get("/{function_id}")
def retrieve_function(
    function_id: int, request: Request, caller: CurrentCaller, db: Db
) -> FunctionRead:
    function = registry.get_function(db, caller.user, function_id)
    owner = db.get(User, function.owner_id) if function.owner_id else None
    return function_read(request, function, owner)


@router.delete("/{function_id}", status_code=204)
def delete_function(function_id: int, caller: CurrentCaller, db: Db) -> Response:
    """The CLI reads 404 as "not found" and goes on with the next id."""
    registry.delete_function(db, caller.user, function_id)
    return Response(status_code=204)


# ---- the queue of a function, for its agents ------------------------------------------


def _release_expired(services: Services) -> None:
    agents.release_expired(services.sessions, services.read_sessions)


@router.post("/queues/{queue_id}/requests/acquire", **_AGENT)
def acquire_request(
    queue_id: str, caller: CurrentCaller, db: Db, services: ServicesDep, body: Body
) -> AcquiredRequest:
    """``{"ar_assignment": {"ar_id", "ar_params"}}``, or ``{"ar_assignment": null}``
    when nothing is waiting in that category."""
    function_id = agents.queue_function_id(queue_id)
    _release_expired(services)  # before this request's own transaction begins
    assignment = agents.acquire(
        db, caller.user, function_id, body.get("agent_id"), body.get("request_category")
    )
    if assignment is None:
        return AcquiredRequest(ar_assignment=None)
    return AcquiredRequest(
        ar_assignment=Assignment(ar_id=assignment.ar_id, ar_params=assignment.ar_params)
    )


@router.post("/queues/{queue_id}/requests/{request_id}/update", **_AGENT)
def update_request(
    queue_id: str, request_id: str, caller: CurrentCaller, db: Db, body: Body
) -> Empty:
    """Progress (0..1) from the agent; renews its lease."""
    function_id = agents.queue_function_id(queue_id)
    agents.update_progress(
        db, caller.user, function_id, request_id, body.get("agent_id"), body.get("progress")
    )
    return Empty()


@router.post("/queues/{queue_id}/requests/{request_id}/complete", **_AGENT)
def complete_request(
    queue_id: str, request_id: str, caller: CurrentCaller, services: ServicesDep, body: Body
) -> Empty:
    """The agent's result: annotations saved on the task, request finished. The
    domain owns the transactions: a refused result still fails the request."""
    function_id = agents.queue_function_id(queue_id)
    agents.complete(services.sessions, caller.user, function_id, request_id, body)
    return Empty()


@router.post("/queues/{queue_id}/requests/{request_id}/fail", **_AGENT)
def fail_request(
    queue_id: str, request_id: str, caller: CurrentCaller, db: Db, body: Body
) -> Empty:
    function_id = agents.queue_function_id(queue_id)
    agents.fail(
        db, caller.user, function_id, request_id, body.get("agent_id"), body.get("exc_info")
    )
    return Empty()


@router.get(
    "/queues/{queue_id}/watch",
    response_model=None,
    responses=binary("text/event-stream", description="Server-sent events: ``newrequest``."),
)
async def watch_queue(
    queue_id: str, caller: CurrentCaller, services: ServicesDep
) -> StreamingResponse:
    """Server-sent events: ``newrequest`` with ``{"request_category": "batch"}`` or
    ``"interactive"`` whenever a request of that category the agent could acquire
    appears. The stream ends after an
    hour, or when the function is deleted; the agent reconnects by itself."""
    function_id = agents.queue_function_id(queue_id)

    await run_in_threadpool(agents.check_watch, services.read_sessions, caller.user, function_id)
    return StreamingResponse(
        _events(services, caller.user, function_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _new_categories(pending: list[tuple[str, str]], announced: set[str]) -> list[str]:
    """The categories of requests not announced yet, interactive first (the agent
    serves those first, and a waiting caller is on the other end)."""
    new = {category for request_id, category in pending if request_id not in announced}
    return sorted(new, key=lambda c: (c != "interactive", c))


async def _events(services: Services, user: User, function_id: int) -> AsyncIterator[str]:
    # No blank line may follow the retry field: a blank line ends an event, and
    # the agent warns about events without a type.
    yield f"retry: {WATCH_RETRY_MS}\n"
    started = last_sent = time.monotonic()
    announced: set[str] = set()
    while time.monotonic() - started < WATCH_MAX_SECONDS:
        pending = await run_in_threadpool(
            agents.watched_pending, services.sessions, services.read_sessions, user, function_id
        )
        if pending is None:
            return
        for category in _new_categories(pending, announced):
            data = json.dumps({"request_category": category})
            yield f"event: newrequest\ndata: {data}\n\n"
            last_sent = time.monotonic()
        announced = {request_id for request_id, _ in pending}
        if time.monotonic() - last_sent >= WATCH_KEEPALIVE_SECONDS:
            yield ": keep-alive\n"
            last_sent = time.monotonic()
        await asyncio.sleep(WATCH_POLL_SECONDS)
