"""Which server a route test gets: the app in the test process, unless marked.

Route tests (tests/api, tests/annotations_api) ask for ``server`` (every backend)
or ``sqlite_server`` as everywhere else; their conftest uses these fixtures and
:func:`parametrize`, so they get an :class:`~tests.support.inprocess.InProcessServer`
(no port, no server process; real databases, queue, cache and worker). A test
that needs a real ``annotask serve`` (a real client over a socket, sendfile,
slow or hung-up connections) is marked ``@pytest.mark.live_server("why")`` and
gets a :class:`~tests.support.server.LiveServer` instead; the reason is required.
Fixtures built on ``server`` follow the test's choice.

``server`` gives SQLite and PostgreSQL (every route touches the database). The
third backend (PostgreSQL with the Redis queue and cache and a separate worker
process) only changes what runs in the background, so it is added only where a
module or test is marked ``@pytest.mark.with_redis("why")``: exports, imports
and the clients' round trips. The queue and cache themselves are tested against
Redis in tests/worker, tests/media_pipeline and tests/faults.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, start_server
from tests.support.server import LiveServer

MARK = "live_server"
REDIS_MARK = "with_redis"
DATABASE_BACKENDS = [b for b in BACKENDS if b != "redis"]
# The mark of route tests whose subject runs as a background request.
BACKGROUND_REQUESTS = pytest.mark.with_redis(
    "exports and imports run as background requests: also on the Redis queue and cache"
)
LIVE, IN_PROCESS = "live", "in-process"


def _marked(metafunc: pytest.Metafunc, name: str, needs: str) -> bool:
    """The test carries mark ``name``, which must say why it ``needs`` what it asks."""
    marker = metafunc.definition.get_closest_marker(name)
    if marker is None:
        return False
    if not (marker.args or marker.kwargs.get("reason")):
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: say why it needs {needs}")
    return True


def _kind(metafunc: pytest.Metafunc) -> str:
    return LIVE if _marked(metafunc, MARK, "a live server") else IN_PROCESS


def _ours(metafunc: pytest.Metafunc, name: str) -> bool:
    """The fixture ``name`` is this module's (a test module may define its own)."""
    definitions = metafunc._arg2fixturedefs.get(name)
    return bool(definitions) and definitions[-1].func.__module__ == __name__


def _backends(metafunc: pytest.Metafunc) -> list[str]:
    return BACKENDS if _marked(metafunc, REDIS_MARK, "Redis") else DATABASE_BACKENDS


def parametrize(metafunc: pytest.Metafunc) -> None:
    """Call from ``pytest_generate_tests`` of a route tests' conftest."""
    kind = _kind(metafunc)
    if "server" in metafunc.fixturenames and _ours(metafunc, "server"):
        backends = _backends(metafunc)
        params = [(kind, backend) for backend in backends]
        metafunc.parametrize("server", params, ids=backends, indirect=True, scope="session")
    if "sqlite_server" in metafunc.fixturenames and _ours(metafunc, "sqlite_server"):
        metafunc.parametrize(
            "sqlite_server", [(kind, "sqlite")], ids=["sqlite"], indirect=True, scope="session"
        )


@pytest.fixture(scope="session")
def server(request, tmp_path_factory) -> Iterator[LiveServer]:
    kind, backend = request.param
    yield from start_server(tmp_path_factory.mktemp("srv"), backend, in_process=kind == IN_PROCESS)


@pytest.fixture(scope="session")
def sqlite_server(request, tmp_path_factory) -> Iterator[LiveServer]:
    kind, backend = request.param
    yield from start_server(tmp_path_factory.mktemp("srv"), backend, in_process=kind == IN_PROCESS)
