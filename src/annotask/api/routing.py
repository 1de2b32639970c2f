"""A router that answers a path with and without its trailing slash, and runs each
plain (``def``) endpoint and its transaction's end in one thread trip.

The CVAT clients use both forms (spec 0.1) and must never get a redirect, so
every route is registered twice; only the canonical form is in the schema.

FastAPI runs a ``def`` endpoint in a worker thread, then validates its result in
another trip to the thread pool, then ends the dependencies with ``yield``: a
transaction committed there outlived its thread and, holding its locks, waited
for a second slot. With more concurrent writes than threads (anyio's 40) every
slot was held by a request waiting for a lock that a finished request, queued
for a slot, still held. So each ``def`` endpoint is wrapped in a coroutine that
makes one trip: the endpoint, then the commit (or rollback) of the request's
sessions (``deps.end_request_sessions``). The response is then built on the
event loop, with no transaction open.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Request

from annotask.api.deps import end_request_sessions
from annotask.api.openapi import with_body_doc

_REQUEST = "annotask_request"
_LANE = "__annotask_lane__"


class CvatRouter(APIRouter):
    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        kwargs["openapi_extra"] = with_body_doc(endpoint, kwargs.get("openapi_extra"))
        endpoint = one_thread_trip(endpoint)
        super().add_api_route(path, endpoint, **kwargs)
        twin = path[:-1] if path.endswith("/") else path + "/"
        if twin and not path.endswith(":path}"):
            kwargs = dict(kwargs, include_in_schema=False)
            kwargs.pop("operation_id", None)
            super().add_api_route(twin, endpoint, **kwargs)


def own_lane(tokens: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a cheap endpoint on threads of its own (at most ``tokens`` at once), not on
    the shared ones: health must answer while every shared thread waits for a lock."""
    limiter = CapacityLimiter(tokens)

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        setattr(endpoint, _LANE, limiter)
        return endpoint

    return mark


def one_thread_trip(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` (a ``def``) as a coroutine that runs it and then ends the request's
    sessions in the same worker thread. Coroutines and already wrapped endpoints are
    returned unchanged. FastAPI reads the wrapper's ``__signature__`` (the endpoint's
    own, plus the ``Request`` the wrapper needs)."""
    if inspect.iscoroutinefunction(endpoint) or getattr(endpoint, "__annotask_trip__", False):
        return endpoint
    signature = inspect.signature(endpoint, eval_str=True)
    params = list(signature.parameters.values())
    request_name = next((p.name for p in params if p.annotation is Request), None)
    if request_name is None:
        request_name = _REQUEST
        extra = inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
        params.insert(at, extra)
    added = request_name == _REQUEST
    limiter = getattr(endpoint, _LANE, None)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        request = kwargs.pop(request_name) if added else kwargs[request_name]
        work = partial(run_endpoint, endpoint, request, args, kwargs)
        return await anyio.to_thread.run_sync(work, limiter=limiter)

    wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, name, getattr(endpoint, name))
    wrapper.__annotask_trip__ = True  # type: ignore[attr-defined]
    return wrapper


def run_endpoint(endpoint: Callable[..., Any], request: Request, args: tuple, kwargs: dict) -> Any:
    """The endpoint, then the commit of the request's transaction (a rollback if the
    endpoint raised), in the calling thread."""
    try:
        result = endpoint(*args, **kwargs)
    except BaseException:
        end_request_sessions(request, commit=False)
        raise
    end_request_sessions(request, commit=True)
    return result
