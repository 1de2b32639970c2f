"""Shared fixtures: live servers on every backend, users, and CVAT client runners.

``server`` is parametrised over the backends: the embedded default (SQLite and
the SQLite queue), PostgreSQL, and PostgreSQL with the Redis queue and cache
and a separate ``annotask worker`` process. A backend whose service is not
running here is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.inprocess import InProcessServer
from tests.support.server import ADMIN, LiveServer, server_env
from tests.support.services import (
    REDIS_URL,
    create_pg_database,
    drop_pg_database,
    forget_redis_namespace,
    postgres_available,
    redis_available,
)

# Fails the run when a process the tests started outlives it (see the module).
pytest_plugins = ["tests.support.leftovers"]

BACKENDS = ["sqlite", "postgres", "redis"]

# Fast settings for tests: short leases so a dead worker is noticed quickly.
# Tests reach their own helpers on 127.0.0.1 and clone bare repositories in tmp.
TEST_SETTINGS = {
    "job_lease_seconds": "5",
    "remote_allow_private": "true",
    "git_allow_local": "true",
}


def start_server(
    tmp_root: Path,
    backend: str = "sqlite",
    *,
    ready_timeout: float = 60,
    in_process: bool = False,
    **settings: str,
) -> Iterator[LiveServer]:
    """Start a server on ``backend`` with extra settings; yields it, then cleans up.

    ``in_process``: the app runs in the test process (see tests/support/inprocess.py)."""
    data_dir = tmp_root / f"server-{backend}-{uuid.uuid4().hex[:6]}"
    share = tmp_root / f"share-{data_dir.name}"
    share.mkdir()
    merged = {**TEST_SETTINGS, "share_root": str(share), **settings}
    pg_url = None
    if backend in ("postgres", "redis"):
        if not postgres_available():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
        pg_url = create_pg_database()
        merged["database_url"] = pg_url
    if backend == "redis":
        if not redis_available():
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        merged["queue_url"] = REDIS_URL + "/0"
        merged["cache_url"] = merged["queue_url"]
        merged["redis_namespace"] = f"test-{uuid.uuid4().hex}"
        merged["embedded_worker"] = "false"
    kind = InProcessServer if in_process else LiveServer
    server = kind(
        data_dir=data_dir, env=server_env(data_dir, **merged), ready_timeout=ready_timeout
    )
    server.share_root = Path(merged["share_root"])
    try:
        server.start()
        if backend == "redis":
            server.start_worker()
        yield server
    finally:
        server.stop()
        if pg_url:
            drop_pg_database(pg_url)
        if "redis_namespace" in merged:
            forget_redis_namespace(merged["queue_url"], merged["redis_namespace"])


@pytest.fixture(scope="session", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[LiveServer]:
    """A shared server per backend; tests must not depend on each other's objects."""
    yield from start_server(tmp_path_factory.mktemp("srv"), request.param)


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The embedded default only, for tests whose behaviour does not depend on the backend."""
    yield from start_server(tmp_path_factory.mktemp("srv"), "sqlite")


@pytest.fixture
def admin(server):
    client = server.client(ADMIN)
    yield client
    client.close()


def make_user(server: LiveServer, *, admin: bool = False) -> tuple[str, str]:
    name = f"u{uuid.uuid4().hex[:8]}"
    args = ["users", "add", name, "--password", "pw-" + name]
    if admin:
        args.append("--admin")
    result = server.run_cli(*args)
    assert result.returncode == 0, result.stderr
    return name, "pw-" + name


@pytest.fixture
def user_factory(server):
    return lambda **kw: make_user(server, **kw)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A moto S3 server on 127.0.0.1, a process of its own, for the whole session
    (each test makes its own bucket: ``s3_server.new_bucket()``)."""
    from tests.support.s3_server import moto_missing, start_s3_server

    reason = moto_missing()
    if reason:
        # CI installs '.[test]', which has moto[server]: there a missing one is a failure.
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"no S3 server for the tests: {reason}")
        pytest.skip(f"no S3 server for the tests: {reason}")
    server = start_s3_server(tmp_path_factory.mktemp("s3-server"))
    try:
        yield server
    finally:
        server.stop()
