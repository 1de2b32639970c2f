"""Engine and session factory for SQLite (embedded) and PostgreSQL (scale-out)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Default connections per engine: anyio's default of 40 worker threads plus headroom
# (``Settings.effective_pool_size`` gives the configured value).
DEFAULT_POOL_SIZE = 50
# Connections beyond the pool, opened for a spike and closed when returned.
POOL_OVERFLOW = 10


def make_engine(url: str, *, write: bool = True, pool_size: int = DEFAULT_POOL_SIZE) -> Engine:
    """Create an engine tuned for its backend.

    SQLite runs in WAL mode with a generous busy timeout so the server and the
    worker processes can write the same file; foreign keys are switched on so
    cascades behave as on PostgreSQL.
    ``write=False`` gives a SQLite engine for read-only requests: its
    transactions start deferred, so readers never queue behind the write lock.
    ``pool_size`` must cover the web server's threads: a thread that waits for a
    connection holds its slot, and the threads that hold connections may need
    another slot to finish (that wait used to freeze a server).
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=pool_size,
            max_overflow=POOL_OVERFLOW,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # Let SQLAlchemy's "begin" hook below emit BEGIN itself (pysqlite's is lazy).
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # Writers take the lock at BEGIN: SQLite otherwise fails a transaction that
        # read first and writes later with "database is locked" instead of waiting.
        begin = "BEGIN IMMEDIATE" if write else "BEGIN"

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:
            conn.exec_driver_sql(begin)

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=POOL_OVERFLOW)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
