"""The services one process needs, built once from settings and passed explicitly.

No import-time singletons: tests build as many independent service sets as
they like, and the worker builds the same set as the web server.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from annotask import media
from annotask.cache import make_cache
from annotask.cache.base import ChunkCache
from annotask.db.engine import make_engine, make_session_factory
from annotask.domain.auth import VerifiedCredentials
from annotask.queue.base import DEFAULT_LANE
from annotask.settings import Settings
from annotask.storage import Storage, make_storage

if TYPE_CHECKING:
    from annotask.queue.huey_queue import LanedQueue

AFTER_COMMIT_KEY = "annotask_after_commit"
log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    read_sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.settings.ensure_dirs()
        # Pillow's process-wide decompression-bomb limit, from settings, in every process.
        media.set_pixel_limit(self.settings.image_max_pixels)
        url = self.settings.resolved_database_url
        pool_size = self.settings.effective_pool_size
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessions = make_session_factory(self.engine)
        self.read_engine = (
            make_engine(url, write=False, pool_size=pool_size)
            if url.startswith("sqlite")
            else self.engine
        )
        self.read_sessions = make_session_factory(self.read_engine)
        event.listen(self.sessions, "after_commit", _run_after_commit)
        event.listen(self.sessions, "after_rollback", _drop_after_commit)

    @cached_property
    def queue(self) -> LanedQueue:
        from annotask.queue.huey_queue import make_queue  # Huey only where a job is sent

        return make_queue(
            self.settings.queue_url, str(self.settings.queue_path), self.settings.redis_namespace
        )

    @cached_property
    def cache(self) -> ChunkCache:
        return make_cache(self.settings)

    @cached_property
    def storage(self) -> Storage:
        """Task data objects (see ``annotask.storage``); made on first use, so a
        process that never touches it never connects to a bucket."""
        return make_storage(self.settings)

    @cached_property
    def verified_credentials(self) -> VerifiedCredentials:
        """HTTP Basic credentials this process verified recently (see ``domain.auth``)."""
        return VerifiedCredentials(self.settings.basic_auth_cache_seconds)

    @cached_property
    def secret_key(self) -> str:
        return self.settings.effective_secret_key()

    def enqueue_after_commit(
        self, session: Session, request_id: str, lane: str = DEFAULT_LANE
    ) -> None:
        """Send the job only once the rows it reads are committed and visible.

        If the send fails (the queue went down after ``create_request`` pinged
        it), the request is failed at once with the reason: a client polling it
        learns why, instead of watching it stay "queued"."""

        def send() -> None:
            try:
                self.queue.enqueue(request_id, lane)
            except Exception as exc:
                self._fail_unsent(request_id, exc)
                raise

        after_commit(session, send)

    def _fail_unsent(self, request_id: str, exc: Exception) -> None:
        from annotask.domain.requests import fail_unsent

        try:
            retention = timedelta(hours=self.settings.request_retention_hours)
            fail_unsent(self.sessions, request_id, exc, retention=retention)
        except Exception:  # the database too: the reaper re-sends it once it is back
            log.warning("could not mark unsent request %s as failed", request_id, exc_info=True)

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
        if "cache" in self.__dict__ and hasattr(self.cache, "close"):
            self.cache.close()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once this transaction of a write session (``Services.sessions``)
    has committed; forgotten on rollback. It cannot use ``session`` (no SQL may be
    sent from the commit hook) but may open its own connection."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def _run_after_commit(session: Session) -> None:
    """Run the callbacks (send the queued messages, ...). A failure is logged, never
    raised: the commit is done and the HTTP answer stays a success; a lost message
    only delays a job, since the reaper re-sends the messages of queued requests."""
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit step failed")


def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
