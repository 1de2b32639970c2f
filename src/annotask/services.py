"""The services one process needs, built once from settings and passed explicitly.

No import-time singletons: tests build as many independent service sets as
they like, and the worker builds the same set as the web server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from annotask.cache import make_cache
from annotask.cache.base import ChunkCache
from annotask.db.engine import make_engine, make_session_factory
from annotask.queue.huey_queue import HueyQueue, make_queue
from annotask.settings import Settings

AFTER_COMMIT_KEY = "annotask_after_commit"


@dataclass
class Services:
    settings: Settings
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    read_sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.settings.ensure_dirs()
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
        return make_queue(self.settings.queue_url, str(self.settings.queue_path))

    @cached_property
    def cache(self) -> ChunkCache:
        return make_cache(self.settings)

    @cached_property
    def secret_key(self) -> str:
        return self.settings.effective_secret_key()

    def enqueue_after_commit(self, session: Session, request_id: str) -> None:
        """Send the job only once the rows it reads are committed and visible."""
        session.info.setdefault(AFTER_COMMIT_KEY, []).append(lambda: self.queue.enqueue(request_id))

    def close(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()
        if "cache" in self.__dict__ and hasattr(self.cache, "close"):
            self.cache.close()


def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    for callback in callbacks:
        callback()


def _drop_after_commit(session: Session) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
