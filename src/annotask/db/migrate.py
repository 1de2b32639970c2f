"""Apply Alembic migrations programmatically (``annotask migrate`` and at start).

Servers and workers that start together on a fresh database would otherwise
race: each reads "no version yet" and runs the same ``CREATE TABLE``; all but
one fail. :func:`upgrade` therefore holds a database-wide lock while it checks
and applies migrations: a PostgreSQL advisory lock (released when its
connection ends, so a killed process cannot leave it held), or for SQLite an
exclusive ``flock`` on a file beside the database (released by the kernel when
the process dies). The second process waits, then finds the head applied and
does nothing.

A restart finds the schema at the head: that is checked by reading the version
table and the ``revision``/``down_revision`` lines of the migration files,
without importing Alembic (with Mako and Pygments behind it, ~0.3 s and ~8 MB of
every start). Alembic runs only when there is something to apply.
"""

from __future__ import annotations

import ast
import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_lock's key: any constant shared by every annotask process ("annotask" in ASCII).
ADVISORY_LOCK_KEY = 0x616E6E6F7461736B
# ``revision = "0008"`` / ``down_revision: str | None = "0007"`` at a line's start.
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\b[^=\n]*=([^\n#]+)", re.MULTILINE)


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

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
        if revision == "head" and _at_head(database_url):
            return
        from alembic import command

        command.upgrade(alembic_config(database_url), revision)


def head_revisions() -> frozenset[str]:
    """The revisions no migration file builds on (Alembic's heads), read from the
    files' ``revision = ...`` and ``down_revision = ...`` assignments."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _ASSIGNMENT.findall(path.read_text()):
            parsed = ast.literal_eval(value.strip())
            if name == "revision":
                revisions.add(parsed)
            elif parsed is not None:
                parents.update([parsed] if isinstance(parsed, str) else parsed)
    return frozenset(revisions - parents)


def _at_head(database_url: str) -> bool:
    """True when the database's ``alembic_version`` rows are exactly the heads;
    any doubt (no table yet, an error) answers False and lets Alembic decide."""
    heads = head_revisions()
    if not heads:
        return False
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return frozenset(rows) == heads
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()
