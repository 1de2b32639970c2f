"""A default ``annotask serve`` loads only what its configuration uses (issue 18).

The web process and the embedded worker must not import the media, geometry and
scale-out libraries (PyAV, SciPy, Shapely, NumPy, Pillow, pypdfium2, psycopg,
redis) or Alembic on a restart: each costs memory in every process for as long
as it runs. The live server is started with ``PYTHONPROFILEIMPORTTIME=1``, so
both processes write every module they import to the server log.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.server import LiveServer, server_env

NOT_AT_START = ("av", "scipy", "shapely", "numpy", "PIL", "pypdfium2", "psycopg", "redis")


def imported_modules(log: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: 12 | 34 | pkg.mod``."""
    names = set()
    for line in log.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name)
    return names


def loaded_packages(names: set[str]) -> set[str]:
    """Packages of which a submodule was imported. A failed attempt prints a line
    too (Huey probes ``import redis``, refused while it is hidden), but every one
    of these packages imports submodules of its own when it really loads."""
    return {name.split(".")[0] for name in names if "." in name}


@pytest.fixture
def lean_server(tmp_path: Path):
    data_dir = tmp_path / "data"
    env = server_env(data_dir)
    env["PYTHONPROFILEIMPORTTIME"] = "1"
    server = LiveServer(data_dir=data_dir, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_default_server_and_worker_import_no_media_geometry_or_scale_out_libraries(lean_server):
    client = lean_server.client()  # a login verifies a password (argon2) too
    try:
        assert client.get("/api/tasks").status_code == 200
        assert client.get("/api/jobs").status_code == 200
        assert client.get("/api/users/self").status_code == 200
    finally:
        client.close()
    anonymous = lean_server.client(auth=None)
    try:
        assert anonymous.get("/").status_code in (200, 302)
    finally:
        anonymous.close()
    deadline = time.monotonic() + 60
    while "annotask.worker.jobs" not in imported_modules(lean_server.log()):
        assert time.monotonic() < deadline, "the embedded worker never finished importing"
        time.sleep(0.2)
    time.sleep(1.0)  # the worker's first loop (queue, heartbeat) runs after its imports
    names = imported_modules(lean_server.log())
    assert {"fastapi", "annotask.app", "annotask.worker.runner", "huey"} <= names
    assert loaded_packages(names) & set(NOT_AT_START) == set()
    # The restart found the schema at its head without Alembic (``users add`` migrated).
    assert "alembic" not in loaded_packages(names)


def test_huey_on_sqlite_leaves_redis_and_psycopg_unimported_and_redis_usable_later():
    code = """
import sys
from annotask.queue.huey_import import import_huey
huey = import_huey(redis=False)
assert "redis" not in sys.modules and "psycopg" not in sys.modules, sorted(sys.modules)
assert huey.storage.Redis is None
huey = import_huey(redis=True)
import redis
assert huey.storage.Redis is redis.Redis and huey.storage.RedisStorage.redis_client is redis.Redis
storage = huey.RedisHuey("lean-test", url="redis://127.0.0.1:1/0").storage  # no connection yet
assert isinstance(storage.conn, redis.Redis)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_media_package_loads_its_modules_on_first_use():
    code = """
import sys
from annotask import media
from annotask.media.errors import MediaError
media.set_pixel_limit(1234)
assert "PIL" not in sys.modules and "numpy" not in sys.modules and "av" not in sys.modules
assert media.MediaError is MediaError
media.probe_image  # Pillow now, with the limit set before it was loaded
from PIL import Image
assert Image.MAX_IMAGE_PIXELS == 1234, Image.MAX_IMAGE_PIXELS
assert "av" not in sys.modules
media.set_pixel_limit(99)
assert Image.MAX_IMAGE_PIXELS == 99
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_head_revisions_read_from_the_files_match_alembic():
    from alembic.script import ScriptDirectory

    from annotask.db.migrate import alembic_config, head_revisions

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revisions() == frozenset(script.get_heads())


def test_upgrade_applies_what_is_missing_after_the_head_check(tmp_path: Path):
    from sqlalchemy import create_engine, text

    from annotask.db.migrate import head_revisions, upgrade

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url, "0007")
    upgrade(url)  # not at the head: Alembic applies the rest
    engine = create_engine(url)
    with engine.connect() as conn:
        assert set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) == set(
            head_revisions()
        )
    engine.dispose()


def test_every_public_media_name_is_the_object_not_a_submodule():
    """A name that is also a submodule's (``frame_range``) must stay the function
    once every submodule is loaded."""
    import importlib
    import pkgutil
    import types

    from annotask import media

    for info in pkgutil.iter_modules(media.__path__):
        importlib.import_module(f"annotask.media.{info.name}")
    modules = [n for n in media.__all__ if isinstance(getattr(media, n), types.ModuleType)]
    assert modules == []
    assert media.frame_range(10, 0, None, 2) == range(0, 10, 2)


def test_the_constant_dummy_hash_costs_what_a_real_verification_costs():
    """Unknown user names are verified against ``DUMMY_HASH``: it must use the
    hasher's current parameters, or a wrong name would answer faster (or slower)."""
    from argon2 import PasswordHasher, extract_parameters

    from annotask.domain import passwords

    hasher = PasswordHasher()
    assert extract_parameters(passwords.DUMMY_HASH) == extract_parameters(hasher.hash("x"))
    assert hasher.verify(passwords.DUMMY_HASH, "annotask-timing-equaliser")
    assert not passwords.verify_password(None, "annotask-timing-equaliser")
