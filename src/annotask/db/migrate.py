"""Apply Alembic migrations programmatically (``annotask migrate`` and at start).

Servers and workers that start together on a fresh database would otherwise
race: each reads "no version yet" and runs the same ``CREATE TABLE``; all but
one fail. :func:`upgrade` therefore holds a database-wide lock while it checks
and applies migrations: a PostgreSQL advisory lock (released when its
connection ends, so a killed process cannot leave it held), or for SQLite an
exclusive ``flock`` on a file beside the database (released by the kernel when
the process dies). The second process waits, then finds the head applied and
does nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_lock's key: any constant shared by every annotask process ("annotask" in ASCII).
ADVISORY_LOCK_KEY = 0x616E6E6F7461736B


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


@contextmanager
def migration_lock(database_url: str) -> Iterator[None]:
    """Hold the database's migration lock (blocking until it is free)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            yield  # a private database: nobody to race with
            return
        lock_path = Path(database + ".migrate-lock")
        with open(lock_path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if url.get_backend_name() == "postgresql":
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                    )
        finally:
            engine.dispose()
        return
    yield


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema to ``revision``; a no-op when already there.

    Safe to call from many processes at once (see the module docstring)."""
    with migration_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)
