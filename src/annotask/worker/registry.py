"""Which function runs which operation (``create:task``, ``export:dataset``, ...).

A job module registers its handler at import time::

    @register("export:dataset")
    def export_dataset(services, request, progress) -> JobResult | None: ...

and is imported by :mod:`annotask.worker.jobs`, which the worker imports before
it takes the first message. A handler gets the services of the worker process,
a detached :class:`RequestSnapshot` (ids, format, ``params``) and the
:class:`Progress` reporter. It returns a :class:`JobResult` (or ``None``) and the
runner marks the request finished; or it calls ``finish(session,
progress.attempt, ...)`` itself inside its final transaction. It raises a
``DomainError``, ``MediaError`` or ``UnsafeInput`` to fail the request with that
message; anything else fails it with a generic message (the traceback is logged).
Handlers must be idempotent: after a crash the same request runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from annotask.domain.requests import JobResult, Progress, RequestSnapshot

if TYPE_CHECKING:
    from annotask.services import Services

Handler = Callable[["Services", RequestSnapshot, Progress], JobResult | None]

_HANDLERS: dict[str, Handler] = {}

__all__ = ["Handler", "JobResult", "get_handler", "register", "registered_operations"]


def register(operation: str) -> Callable[[Handler], Handler]:
    """Decorator: make ``fn`` the handler of ``operation``.

    Two different functions for one operation are a programming error, caught at
    import time rather than by a request running the wrong code.
    """

    def decorate(fn: Handler) -> Handler:
        existing = _HANDLERS.get(operation)
        if existing is not None and _qualname(existing) != _qualname(fn):
            raise ValueError(
                f"operation {operation!r} already has a handler: {_qualname(existing)}"
            )
        _HANDLERS[operation] = fn
        return fn

    return decorate


def get_handler(operation: str) -> Handler | None:
    return _HANDLERS.get(operation)


def registered_operations() -> list[str]:
    return sorted(_HANDLERS)


def _qualname(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
