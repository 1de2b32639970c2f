"""Servers starting together on a fresh database: their migrations must not race.

Three processes import everything first, wait at a barrier file, and are then
released at once into ``upgrade``; without a lock, they all see an empty
database and run the same ``CREATE TABLE`` (all but one fail).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from annotask.db.migrate import alembic_config
from tests.support.services import create_pg_database, drop_pg_database, postgres_available

PROCESSES = 3

SCRIPT = """
import os, sys, time
from alembic import command  # noqa: F401 - imported before the barrier: a tight race
from annotask.db import models  # noqa: F401
from annotask.db.migrate import upgrade
import annotask.db.engine  # noqa: F401
url, barrier, ready = sys.argv[1], sys.argv[2], sys.argv[3]
open(ready, "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(barrier):
    if time.monotonic() > deadline:
        sys.exit("barrier never opened")
    time.sleep(0.0005)
upgrade(url)
"""


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _race(url: str, tmp_path: Path) -> None:
    barrier = tmp_path / "go"
    procs = []
    for i in range(PROCESSES):
        ready = tmp_path / f"ready{i}"
        procs.append(
            (
                ready,
                subprocess.Popen(
                    [sys.executable, "-c", SCRIPT, url, str(barrier), str(ready)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    deadline = time.monotonic() + 60
    while not all(ready.exists() for ready, _ in procs):
        assert time.monotonic() < deadline, "the migration processes did not start"
        time.sleep(0.01)
    barrier.touch()
    failures = []
    for _, proc in procs:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(out[-3000:])
    assert not failures, "\n----\n".join(failures)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            assert list(versions) == [_head()]
            assert conn.execute(text("SELECT count(*) FROM tasks")).scalar() == 0
    finally:
        engine.dispose()


def test_concurrent_migrations_on_fresh_sqlite(tmp_path):
    _race(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)


@pytest.mark.skipif(not postgres_available(), reason="PostgreSQL is not running on 5432")
def test_concurrent_migrations_on_fresh_postgres(tmp_path):
    url = create_pg_database()
    try:
        _race(url, tmp_path)
    finally:
        drop_pg_database(url)
