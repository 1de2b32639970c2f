"""``/api/lambda``: CVAT's lambda API, backed by native functions and their agents.

``GET /api/lambda/functions`` lists the native functions the caller may run;
``POST /api/lambda/functions/{id}`` calls a function on one frame and answers
with its result (:mod:`annotask.domain.functions.calls`);
``POST /api/lambda/requests`` runs a detector on a whole task or one job
(``{"function": "<id or name>", "task": N, "job": N, "cleanup": ..., "threshold": ...,
"mapping": ..., "conv_mask_to_poly": ...}``) and answers CVAT's ``FunctionCall``;
``GET /api/lambda/requests[/{id}]`` follows it; ``DELETE`` cancels it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from annotask.api.body import read_json
from annotask.api.deps import Caller, CurrentCaller, Db, ServicesDep
from annotask.api.openapi import body_doc
from annotask.api.routing import CvatRouter
from annotask.api.schemas.functions import (
    FunctionCall,
    FunctionCallWrite,
    LambdaCallWrite,
    LambdaFunction,
    function_call,
    lambda_function,
)
from annotask.db.models import Function
from annotask.domain.functions import agents, calls, registry, runs

router = CvatRouter(prefix="/api/lambda", tags=["lambda"])


async def raw_body(request: Request) -> Any:
    return await read_json(request)


@router.get("/functions")
def list_functions(caller: CurrentCaller, db: Db) -> list[LambdaFunction]:
    query = registry.list_functions(caller.user, {"sort": "id"})
    return [lambda_function(f) for f in db.scalars(query)]


def _function(db: Session, caller: Caller, func_id: str) -> Function:
    return registry.get_function_by_key(db, caller.user, func_id)


@router.get("/functions/{func_id}")
def retrieve_function(func_id: str, caller: CurrentCaller, db: Db) -> LambdaFunction:
    return lambda_function(_function(db, caller, func_id))


@router.post(
    "/functions/{func_id}",
    response_model=None,
    openapi_extra=body_doc(LambdaCallWrite),
    responses={200: {"description": "The function's answer for the frame, as CVAT's."}},
)
async def call_function(
    func_id: str,
    caller: CurrentCaller,
    services: ServicesDep,
    body: Annotated[Any, Depends(raw_body)],
) -> Any:
    """CVAT's immediate call on one frame: queued for the function's agents, then
    awaited without holding a worker thread (:func:`calls.await_answer`)."""
    request_id = await run_in_threadpool(
        calls.start_call, services.sessions, caller.user, func_id, body
    )
    return await calls.await_answer(
        services.sessions,
        services.read_sessions,
        request_id,
        services.settings.function_call_timeout_seconds,
    )


@router.post("/requests", openapi_extra=body_doc(FunctionCallWrite))
def create_request(
    caller: CurrentCaller,
    db: Db,
    services: ServicesDep,
    body: Annotated[Any, Depends(raw_body)],
) -> FunctionCall:
    """Queue a run for the function's agents; 200 with the ``FunctionCall``, as CVAT."""
    created = runs.create_request(db, caller.user, body)
    return function_call(created)


@router.get("/requests")
def list_requests(caller: CurrentCaller, db: Db, services: ServicesDep) -> list[FunctionCall]:
    agents.release_expired(services.sessions, services.read_sessions)
    return [function_call(r) for r in runs.list_requests(db, caller.user)]


@router.get("/requests/{request_id}")
def retrieve_request(
    request_id: str, caller: CurrentCaller, db: Db, services: ServicesDep
) -> FunctionCall:
    agents.release_expired(services.sessions, services.read_sessions)
    return function_call(runs.get_request(db, caller.user, request_id))


@router.delete("/requests/{request_id}", status_code=204)
def delete_request(request_id: str, caller: CurrentCaller, db: Db) -> Response:
    """Cancel an unfinished request, or remove an ended one."""
    runs.cancel_request(db, caller.user, request_id)
    return Response(status_code=204)
