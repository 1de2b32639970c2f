"""The services one process needs, built once from settings and passed explicitly.

No import-time singletons: tests build as many independent service sets as
they like, and the worker builds the same set as the web server.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from annotask import media
from annotask.cache import make_cache
from annotask.cache.base import ChunkCache
from annotask.db.engine import make_engine, make_session_factory
from annotask.domain.auth import VerifiedCredentials
from annotask.queue.huey_queue import HueyQueue, make_queue
from annotask.settings import Settings

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
        self.engine = make_engine(self.settings.resolved_database_url)
        self.sessions = make_session_factory(self.engine)
        url = self.settings.resolved_database_url
        self.read_engine = (
            make_engine(url, write=False) if url.startswith("sqlite") else self.engine
        )
        self.read_sessions = make_session_factory(self.read_engine)
        event.listen(self.sessions, "after_commit", _run_after_commit)
        event.listen(self.sessions, "after_rollback", _drop_after_commit)

    @cached_property
    def queue(self) -> HueyQueue:
        return make_queue(
            self.settings.queue_url, str(self.settings.queue_path), self.settings.redis_namespace
        )

    @cached_property
    def cache(self) -> ChunkCache:
        return make_cache(self.settings)

    @cached_property
    def verified_credentials(self) -> VerifiedCredentials:
        """HTTP Basic credentials this process verified recently (see ``domain.auth``)."""
        return VerifiedCredentials(self.settings.basic_auth_cache_seconds)

    @cached_property
    def secret_key(self) -> str:
        return self.settings.effective_secret_key()

    def enqueue_after_commit(self, session: Session, request_id: str) -> None:
        """Send the job only once the rows it reads are committed and visible.

        If the send fails (the queue went down after ``create_request`` pinged
        it), the request is failed at once with the reason: a client polling it
        learns why, instead of watching it stay "queued"."""

        def send() -> None:
            try:
                self.queue.enqueue(request_id)
            except Exception as exc:
                self._fail_unsent(request_id, exc)
                raise

        session.info.setdefault(AFTER_COMMIT_KEY, []).append(send)

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


def _run_after_commit(session: Session) -> None:
    """Send the queued messages. A failed send fails its request with the reason
    (see ``Services.enqueue_after_commit``) and is logged here."""
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("could not enqueue after commit; the request was failed")


def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
