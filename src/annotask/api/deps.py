"""Request-scoped dependencies: services, the database session, the caller.

Authentication follows spec 0.8: a Django-style session cookie (with the
double-submit CSRF check on unsafe methods), ``Bearer`` personal access tokens,
``Token`` login keys and HTTP Basic. Only cookie sessions need CSRF: the other
schemes cannot be sent by a browser on another site's behalf.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Annotated, TypeVar

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import AccessToken, User
from annotask.domain import auth, login_throttle
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


def _authenticate(request: Request, db: Session) -> Caller | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer" and credentials:
        found = auth.access_token_user(db, credentials)
        if found is None:
            raise NotAuthenticated("Invalid or expired access token.")
        user, token = found
        _touch_token(request, token)
        if token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("This access token is read-only.")
        return Caller(user, "bearer", access_token=token)
    if scheme == "token" and credentials:
        user = auth.token_user(db, credentials)
        if user is None:
            raise NotAuthenticated("Invalid token.")
        return Caller(user, "token")
    if scheme == "basic" and credentials:
        try:
            name, _, password = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise NotAuthenticated("Invalid basic header.") from exc
        return Caller(_basic_user(request, db, name, password), "basic")
    session_key = request.cookies.get("sessionid")
    if session_key:
        found_session = auth.session_user(db, session_key)
        if found_session is None:
            return None
        user, csrf_token = found_session
        csrf_ok = _csrf_matches(request, csrf_token)
        if request.method not in SAFE_METHODS and not csrf_ok:
            raise PermissionDenied(CSRF_FAILED)
        return Caller(user, "session", session_key=session_key, csrf_ok=csrf_ok)
    return None


def client_address(request: Request) -> str:
    """The client's address (the proxy's view when uvicorn trusts its headers)."""
    return request.client.host if request.client else ""


def _basic_user(request: Request, db: Session, name: str, password: str) -> User:
    """HTTP Basic counts against the same login throttle as ``/api/auth/login``;
    a failure is written in a transaction of its own (``db`` only reads)."""
    services: Services = request.app.state.services
    limits = LoginLimits.from_settings(services.settings)
    address = client_address(request)
    checked = auth.basic_user(
        db, name, password, address=address, limits=limits, verified=services.verified_credentials
    )
    if checked.user is None:
        with services.sessions() as writer, writer.begin():
            login_throttle.record_failure(writer, checked.key, address, limits)
        raise NotAuthenticated("Invalid username/password.")
    return checked.user


def _touch_token(request: Request, token: AccessToken) -> None:
    if token.last_used_date and utcnow() - token.last_used_date < timedelta(minutes=1):
        return
    services: Services = request.app.state.services
    try:
        with services.sessions() as session, session.begin():
            auth.touch_access_token(session, token.id)
    except Exception:  # best effort: never fail a request over a usage timestamp
        pass


CSRF_FAILED = "CSRF Failed: CSRF token missing or incorrect."


def _csrf_matches(request: Request, session_csrf: str) -> bool:
    """Double submit: the header must equal the cookie, and both the session's token."""
    header = request.headers.get("x-csrftoken", "")
    cookie = request.cookies.get("csrftoken", "")
    return bool(
        header and hmac.compare_digest(header, cookie) and hmac.compare_digest(header, session_csrf)
    )


def _authenticate_short(request: Request) -> Caller | None:
    """Authenticate in a short read transaction of its own, closed before the handler
    runs: a handler can then open write transactions without waiting on this one."""
    services: Services = request.app.state.services
    with services.read_sessions() as session, session.begin():
        return _authenticate(request, session)


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
