"""Fixtures of the ecosystem tests: client venvs, a live server, and a way to run drivers.

Each third-party client runs in its own venv (see ``venvs.py``) as a
subprocess executing a small driver script from ``drivers/``; the drivers
print JSON on stdout, which the tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.ecosystem.venvs import VenvSpec, VenvUnavailable, ensure_venv, in_ci
from tests.support.server import LiveServer

DRIVERS = Path(__file__).parent / "drivers"


def client_python(spec: VenvSpec) -> Path:
    """The venv's python, or a skip with pip's reason (a failure in CI)."""
    try:
        return ensure_venv(spec)
    except VenvUnavailable as error:
        if in_ci():
            pytest.fail(f"CI=true and {error}", pytrace=False)
        pytest.skip(str(error))


def run_driver(
    python: Path,
    script: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> dict:
    """Run ``drivers/<script>`` with the client's python; returns its JSON output."""
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), str(DRIVERS / script), *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise DriverFailed(script, done.returncode, done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


class DriverFailed(AssertionError):
    """The client raised; the message ends with its traceback."""

    def __init__(self, script: str, code: int, stderr: str) -> None:
        self.stderr = stderr
        super().__init__(f"{script} exited {code}:\n{stderr[-6000:]}")


@pytest.fixture(scope="module")
def eco_server(tmp_path_factory) -> Iterator[LiveServer]:
    """One embedded (SQLite) server per test module."""
    yield from start_server(tmp_path_factory.mktemp("eco"), "sqlite")
