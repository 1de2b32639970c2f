"""Route tests run against the app in the test process; a test marked
``live_server`` (with its reason) gets a real ``annotask serve`` instead
(see tests/support/route_servers.py)."""

from __future__ import annotations

from tests.support.route_servers import parametrize, server, sqlite_server

__all__ = ["server", "sqlite_server"]


def pytest_generate_tests(metafunc):
    parametrize(metafunc)
