"""Request-scoped dependencies: services, the database session, the caller.

Authentication follows spec 0.8: a Django-style session cookie (with the
double-submit CSRF check on unsafe methods), ``Bearer`` personal access tokens,
``Token`` login keys and HTTP Basic. Only cookie sessions need CSRF: the other
schemes cannot be sent by a browser on another site's behalf.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from annotask.db.models import AccessToken, User
from annotask.domain import auth
from annotask.domain.errors import NotAuthenticated, PermissionDenied
from annotask.domain.login_throttle import LoginLimits
from annotask.domain.task_data import serving
from annotask.services import Services

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


@contextmanager
def request_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent.

    The transaction begins at the first query, not when the request arrives, so a
    request holds SQLite's write lock only while it really works with the
    database (never while a body streams in). Reads use a deferred transaction so
    they never wait for the write lock.
    """
    session = _new_session(request)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _new_session(request: Request) -> Session:
    services: Services = request.app.state.services
    factory = services.read_sessions if request.method in SAFE_METHODS else services.sessions
    return factory()


SESSIONS_KEY = "annotask.sessions"


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's session, ended in the same thread trip as the endpoint's work.

    Creating a session does no I/O, so this runs on the event loop and takes no
    thread slot. The routes' wrapper (``api.routing.run_endpoint``) commits or rolls
    back every session of the request right after the endpoint returns, in the
    endpoint's own thread: the transaction never outlives that trip, so it never
    waits for another thread slot while it holds a lock (which deadlocked the
    thread pool when more requests wrote at once than there are threads).
    Whatever is left here (an endpoint that is not wrapped) ends in a thread of
    its own, without waiting for a slot.
    """
    session = _new_session(request)
    request.scope.setdefault(SESSIONS_KEY, []).append(session)
    try:
        yield session
    except BaseException:
        await _end_in_own_thread(session, commit=False)
        raise
    await _end_in_own_thread(session, commit=True)


async def _end_in_own_thread(session: Session, *, commit: bool) -> None:
    if session.in_transaction():
        # A thread that waits for no slot (as FastAPI ends sync dependencies with
        # yield): the transaction may hold a lock that the slot holders wait for.
        await anyio.to_thread.run_sync(
            partial(end_session, session, commit=commit), limiter=CapacityLimiter(1)
        )
    else:
        session.close()  # nothing to send to the database


def end_session(session: Session, *, commit: bool, close: bool = True) -> None:
    """Commit (or roll back), then close unless ``close`` is false; a failed commit is
    rolled back and raised."""
    try:
        if commit and session.in_transaction():
            session.commit()
        elif session.in_transaction():
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        if close:
            session.close()


def end_request_sessions(request: Request, *, commit: bool) -> None:
    """End the transactions of every session ``get_db`` gave this request, in the
    calling thread: the routes' wrapper calls it right after the endpoint returned
    (``commit=True``) or raised. The sessions stay open (their objects may still be
    read while the response is built; ``get_db`` closes them). If one commit fails,
    the other sessions are rolled back."""
    sessions = request.scope.get(SESSIONS_KEY, [])
    for index, session in enumerate(sessions):
        try:
            end_session(session, commit=commit, close=False)
        except BaseException:
            for rest in sessions[index + 1 :]:
                end_session(rest, commit=False, close=False)
            raise


Db = Annotated[Session, Depends(get_db, scope="function")]


@dataclass
class Caller:
    user: User
    scheme: str  # "session", "bearer", "token" or "basic"
    access_token: AccessToken | None = None
    session_key: str | None = None
    # False only for a cookie session whose request lacks the CSRF token (allowed on
    # safe methods); a GET with side effects (CVAT has a few) must refuse those.
    csrf_ok: bool = True

    @property
    def is_admin(self) -> bool:
        return self.user.is_superuser


def client_address(request: Request) -> str:
    """The client's address (the proxy's view when uvicorn trusts its headers)."""
    return request.client.host if request.client else ""


CSRF_FAILED = "CSRF Failed: CSRF token missing or incorrect."


def _csrf_matches(request: Request, session_csrf: str) -> bool:
    """Double submit: the header must equal the cookie, and both the session's token."""
    header = request.headers.get("x-csrftoken", "")
    cookie = request.cookies.get("csrftoken", "")
    return bool(
        header and hmac.compare_digest(header, cookie) and hmac.compare_digest(header, session_csrf)
    )


def _authenticate_short(request: Request) -> Caller | None:
    """Who sends the request (``domain.auth.authenticate``: one short read of its own,
    closed before the handler runs, so the handler's writes never wait on it), then
    the double-submit CSRF check of a cookie session."""
    services: Services = request.app.state.services
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    credentials = auth.Credentials(
        scheme=scheme.lower(),
        secret=secret.strip(),
        session_key=request.cookies.get("sessionid") or None,
        writes=request.method not in SAFE_METHODS,
        address=client_address(request),
    )
    found = auth.authenticate(
        services.sessions,
        services.read_sessions,
        credentials,
        limits=LoginLimits.from_settings(services.settings),
        verified=services.verified_credentials,
    )
    if found is None:
        return None
    csrf_ok = True
    if found.scheme == "session":
        csrf_ok = _csrf_matches(request, found.csrf_token or "")
        if credentials.writes and not csrf_ok:
            raise PermissionDenied(CSRF_FAILED)
    return Caller(
        found.user,
        found.scheme,
        access_token=found.access_token,
        session_key=found.session_key,
        csrf_ok=csrf_ok,
    )


def optional_caller(request: Request) -> Caller | None:
    return _authenticate_short(request)


def current_caller(request: Request) -> Caller:
    caller = _authenticate_short(request)
    if caller is None:
        raise NotAuthenticated()
    return caller


def in_one_trip(request: Request, work: Callable[[Caller, Session], T]) -> T:
    """``work(caller, db)`` with what ``CurrentCaller`` and ``Db`` would give, all
    in the calling thread. The hottest routes (frames and chunks) call it through
    one ``run_in_threadpool``: as dependencies, authentication and the session's
    opening and closing would each cost a hop to a worker thread and back."""
    caller = current_caller(request)
    with request_session(request) as db:
        return work(caller, db)


async def one_trip_waiting(request: Request, work: Callable[[Caller, Session], T]) -> T:
    """``in_one_trip`` in a worker thread, for routes that may serve a chunk another
    request prepares: that wait happens on the event loop, holding no thread, and
    the trip is then made again (it finds the chunk cached, or builds it itself if
    the builder died)."""
    services: Services = request.app.state.services
    return await serving.retry_while_building(
        services.cache, lambda: anyio.to_thread.run_sync(in_one_trip, request, work)
    )


CurrentCaller = Annotated[Caller, Depends(current_caller)]
OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]
