"""The lean path for the requests annotators make most: chunk and frame reads.

``GET /api/tasks/{id}/data/?type=chunk&number=N[&quality=Q]`` and the job's
``/api/jobs/{id}/data?...`` are answered here, in front of FastAPI's middleware
and routing, when everything about the request is ordinary and the chunk is
ready (a static chunk file, or an on-the-fly chunk already in the cache); a
frame (``type=frame``) is read as the normal route reads it, in one database
trip, without authenticating or checking the permission again. Per process, and
for at most :data:`TTL_SECONDS`, it remembers:

- the user a token, access token or session cookie authenticates (the secret is
  kept only as its SHA-256, as in the database);
- that a user may see a task or a job (and the job's frame range);
- the task's chunk layout (size, chunk size and types, storage, cache key).

Anything else (HEAD, Basic authentication, previews, context images, an unknown query
parameter, a number out of range, a failed authentication or a refused
permission, a chunk still to build) falls through to the normal route, which
decides and words the answer: the lean path never answers an error itself.
The response is the normal route's (``api.media.send``: same headers, same
``sendfile``).

Revocation: a write committed in this process to a table the decisions read
(users, sessions, tokens, projects, tasks, data, segments, jobs) empties all
three memories at once, so a logout, a deleted token, a changed password, a
deactivation or a job given to someone else takes effect immediately in the
process that handled it; other processes forget within :data:`TTL_SECONDS`
(docs/security.md).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from annotask.cache.base import WouldWait
from annotask.domain import auth
from annotask.domain.errors import DomainError
from annotask.domain.login_throttle import LoginLimits
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data import lean_reads
from annotask.domain.task_data.lean_reads import Allowed, ChunkLayout
from annotask.domain.task_data.serving import Payload
from annotask.services import Services

log = logging.getLogger(__name__)

TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000  # per memory; past it, the memory starts over
# Tables whose rows the remembered decisions were read from.
WATCHED_TABLES = frozenset(
    {"users", "sessions", "auth_tokens", "access_tokens", "projects", "tasks", "data"}
    | {"segments", "jobs"}
)
_PATH = re.compile(r"^/api/(tasks|jobs)/([1-9][0-9]{0,17})/data/?$")
_QUERY_PART = re.compile(
    r"^(type=(?:chunk|frame)|quality=(?:compressed|original)|number=(?:0|[1-9][0-9]{0,8}))$"
)
_QUALITIES = (cb.COMPRESSED, cb.ORIGINAL)


@dataclass(frozen=True)
class ChunkRead:
    """A request the lean path may answer, as parsed from its path and query."""

    kind: str  # "tasks" or "jobs"
    object_id: int
    type: str  # "chunk" or "frame"
    number: int
    quality: str


def parse(scope: Scope) -> ChunkRead | None:
    """The chunk read ``scope`` asks for, or None when it is anything unusual."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    match = _PATH.match(scope["path"])
    if match is None:
        return None
    parts = scope["query_string"].split(b"&") if scope["query_string"] else []
    found: dict[str, str] = {}
    for raw in parts:
        try:
            part = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
        if not _QUERY_PART.match(part):
            return None
        key, _, value = part.partition("=")
        if key in found:
            return None
        found[key] = value
    if found.get("type") not in ("chunk", "frame") or "number" not in found:
        return None
    return ChunkRead(
        match.group(1),
        int(match.group(2)),
        found["type"],
        int(found["number"]),
        found.get("quality", "compressed"),
    )


def _credentials_key(scope: Scope) -> tuple[str, str, str] | None:
    """(scheme, secret, its digest) of a Token/Bearer header or a session cookie;
    None for Basic, a malformed header or none at all (the normal route decides)."""
    authorization = cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:
                return None
            authorization = value
        elif name == b"cookie":
            cookie = value if cookie is None else cookie + b"; " + value
    try:
        if authorization is not None:
            scheme, _, secret = authorization.decode("latin-1").partition(" ")
            scheme, secret = scheme.lower(), secret.strip()
            if scheme not in ("token", "bearer") or not secret:
                return None
            return scheme, secret, auth.digest(secret)
        if cookie is not None:
            session_key = Request(scope).cookies.get("sessionid")
            if session_key:
                return "session", session_key, auth.digest(session_key)
    except UnicodeError:
        return None
    return None


class _Memory:
    """A dict whose entries expire ``TTL_SECONDS`` after the data was read."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: Any, value: Any, read_at: float) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (read_at + TTL_SECONDS, value)

    def clear(self) -> None:
        self._entries.clear()


class Decisions:
    """The three per-process memories, emptied together by a local revocation."""

    def __init__(self) -> None:
        self.users = _Memory()  # credentials digest -> user id
        self.allowed = _Memory()  # (user id, "tasks"/"jobs", id) -> Allowed
        self.layouts = _Memory()  # task id -> ChunkLayout
        self.generation = 0  # bumped by clear(): a read that began before is not stored
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self.users.clear()
            self.allowed.clear()
            self.layouts.clear()

    def store(self, memory: _Memory, key: Any, value: Any, read_at: float, generation: int) -> None:
        with self._lock:
            if generation == self.generation:
                memory.put(key, value, read_at)


def watch_revocations(services: Services, decisions: Decisions) -> None:
    """Empty ``decisions`` after every commit, in this process, that wrote to one of
    :data:`WATCHED_TABLES` (ORM changes and bulk ``delete``/``update`` statements)."""
    flag = "annotask.fast_data.revokes"

    def note_flush(session: Session, _context: Any) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(obj, "__tablename__", None)
            if table in WATCHED_TABLES:
                session.info[flag] = True
                return

    def note_execute(state: Any) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) in WATCHED_TABLES:
                state.session.info[flag] = True

    def after_commit(session: Session) -> None:
        if session.info.pop(flag, False):
            decisions.clear()

    def after_rollback(session: Session) -> None:
        session.info.pop(flag, None)

    event.listen(services.sessions, "after_flush", note_flush)
    event.listen(services.sessions, "do_orm_execute", note_execute)
    event.listen(services.sessions, "after_commit", after_commit)
    event.listen(services.sessions, "after_soft_rollback", lambda s, _t: after_rollback(s))


class FastData:
    """ASGI middleware (outermost): answers ready chunk reads, passes on the rest."""

    def __init__(self, app: ASGIApp, services: Services, decisions: Decisions | None = None):
        self.app = app
        self.services = services
        self.decisions = decisions or Decisions()
        self._limits = LoginLimits.from_settings(services.settings)
        watch_revocations(services, self.decisions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        read = parse(scope) if scope["type"] == "http" else None
        credentials = _credentials_key(scope) if read is not None else None
        if read is not None and credentials is not None and not _has_body(scope):
            try:
                decided, response = self.answer_on_loop(read, credentials)
                if not decided:
                    response = await anyio.to_thread.run_sync(self.answer, read, credentials, scope)
            except Exception:  # never an error from here: the normal route decides
                log.debug("lean data path passed a request on", exc_info=True)
                response = None
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def answer_on_loop(
        self, read: ChunkRead, credentials: tuple[str, str, str]
    ) -> tuple[bool, Response | None]:
        """The common case without a trip to a worker thread: everything remembered,
        and the chunk a static file or a cache hit readable without waiting. Returns
        (False, None) when a thread must decide, (True, None) for the normal route."""
        if read.type != "chunk" or read.quality not in _QUALITIES:
            return False, None
        user_id = self.decisions.users.get((credentials[0], credentials[2]))
        allowed = (
            None
            if user_id is None
            else self.decisions.allowed.get((user_id, read.kind, read.object_id))
        )
        layout = None if allowed is None else self.decisions.layouts.get(allowed.task_id)
        if allowed is None or layout is None:
            return False, None
        from annotask.api.media import send as media_send

        try:
            payload = chunk_payload(self.services, layout, read, allowed.job_range, nowait=True)
        except WouldWait:
            return False, None
        return True, (None if payload is None else media_send(payload))

    # -- in a worker thread ------------------------------------------------------------

    def answer(
        self, read: ChunkRead, credentials: tuple[str, str, str], scope: Scope
    ) -> Response | None:
        from annotask.api.media import send as media_send  # the normal route's response

        user_id = self._user_id(credentials, scope)
        if user_id is None:
            return None
        allowed = self._allowed(user_id, read)
        if allowed is None:
            return None
        if read.quality not in _QUALITIES:
            return None
        if read.type == "frame":
            return self._frame(read, allowed)
        layout = self._layout(allowed.task_id)
        if layout is None:
            return None
        payload = chunk_payload(self.services, layout, read, allowed.job_range)
        return None if payload is None else media_send(payload)

    def _frame(self, read: ChunkRead, allowed: Allowed) -> Response | None:
        """A frame, as the normal route finds it, without authenticating and checking
        the permission again."""
        from annotask.api.media import send as media_send

        if allowed.job_range is not None:
            start, stop = allowed.job_range
            if not start <= read.number <= stop:
                return None
        payload = lean_reads.frame(self.services, allowed.task_id, read.quality, read.number)
        return None if payload is None else media_send(payload)

    def _remembered(self, memory: _Memory, key: Any, read: Callable[[], Any]) -> Any:
        found = memory.get(key)
        if found is not None:
            return found
        generation, read_at = self.decisions.generation, time.monotonic()
        value = read()
        if value is not None:
            self.decisions.store(memory, key, value, read_at, generation)
        return value

    def _user_id(self, credentials: tuple[str, str, str], scope: Scope) -> int | None:
        scheme, secret, digest = credentials
        found = self.decisions.users.get((scheme, digest))
        if found is not None:
            return found
        generation, read_at = self.decisions.generation, time.monotonic()
        given = auth.Credentials(
            scheme="" if scheme == "session" else scheme,
            secret="" if scheme == "session" else secret,
            session_key=secret if scheme == "session" else None,
            writes=False,
            address=(scope.get("client") or ("",))[0],
        )
        try:  # as the normal route: one short read, a token's use recorded
            who = auth.authenticate(
                self.services.sessions,
                self.services.read_sessions,
                given,
                limits=self._limits,
                verified=self.services.verified_credentials,
            )
        except DomainError:
            return None
        if who is None:
            return None
        self.decisions.store(
            self.decisions.users, (scheme, digest), who.user.id, read_at, generation
        )
        return who.user.id

    def _allowed(self, user_id: int, read: ChunkRead) -> Allowed | None:
        key = (user_id, read.kind, read.object_id)
        return self._remembered(
            self.decisions.allowed,
            key,
            lambda: lean_reads.allowed(self.services, user_id, read.kind, read.object_id),
        )

    def _layout(self, task_id: int) -> ChunkLayout | None:
        return self._remembered(
            self.decisions.layouts, task_id, lambda: lean_reads.chunk_layout(self.services, task_id)
        )


def chunk_payload(
    services: Services,
    layout: ChunkLayout,
    read: ChunkRead,
    job_range: tuple[int, int] | None,
    *,
    nowait: bool = False,
) -> Payload | None:
    """The ready chunk, as ``serving.get_chunk``/``get_job_chunk`` would find it;
    None when the request is out of range or the chunk must be built (the normal
    route answers those). ``nowait``: on the event loop, raise ``WouldWait`` rather
    than wait for the cache."""
    size, per = layout.size, layout.chunk_size
    if per <= 0:
        return None
    if job_range is None:
        if not 0 <= read.number < (size + per - 1) // per:
            return None
        first = read.number * per
        relative = range(first, min(first + per, size))
        task_index: int | None = read.number
    else:
        start, stop = job_range
        first = start + read.number * per
        if first > stop:
            return None
        relative = range(first, min(first + per, stop + 1))
        index, offset = divmod(first, per)
        aligned = offset == 0 and range(index * per, min((index + 1) * per, size)) == relative
        task_index = index if aligned else None
    chunk_type = layout.chunk_type(read.quality)
    mime = cb.chunk_mime(chunk_type)
    if task_index is not None and layout.static:
        path = layout.layout.chunk(read.quality, task_index, cb.chunk_ext(chunk_type))
        return Payload(mime, path=path) if path.is_file() else None
    key = f"{layout.cache_prefix}:{read.quality}:frames{relative.start}-{relative.stop}"
    if nowait:
        open_nowait = getattr(services.cache, "open_nowait", None)
        if open_nowait is None:  # a cache over the network
            raise WouldWait(key)
        found = open_nowait(key)
    else:
        found = services.cache.open(key)
    return None if found is None else Payload(mime, file=found)


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False
