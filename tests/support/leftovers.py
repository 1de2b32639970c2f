"""A pytest plugin: no process started by the tests outlives the run.

Every process the tests start inherits :data:`MARK` in its environment (the
test helpers copy ``os.environ``). When the run ends (after xdist's workers have
been shut down), the controlling pytest process looks for marked processes still
running: a child never stopped, or an orphan (a server's worker, an agent's
helpers), names them, kills them and fails the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

MARK = "TESTS_RUN_MARK"  # not ANNOTASK_*: server_env strips those
# Stopped servers' children notice their parent is gone within this.
GRACE_SECONDS = float(os.environ.get("TESTS_LEFTOVER_GRACE_SECONDS", "15"))


def _marked_pids(token: str) -> list[int]:
    needle = f"{MARK}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def leftovers(token: str) -> list[int]:
    """Marked processes still running (zombies have ended; their parent reaps them)."""
    return [pid for pid in _marked_pids(token) if not _zombie(pid)]


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not Path("/proc").is_dir():
        return  # xdist workers inherit the controller's mark
    os.environ[MARK] = uuid.uuid4().hex
    config._leftovers_token = os.environ[MARK]  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    token = getattr(session.config, "_leftovers_token", None)
    if token is None:
        return
    deadline = time.monotonic() + GRACE_SECONDS
    left = leftovers(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = leftovers(token)
    if not left:
        return
    lines = [f"  {pid}: {_command(pid)}" for pid in left]
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "processes started by the tests outlived them (now killed):\n" + "\n".join(lines)
    if reporter is not None:
        reporter.write_sep("=", "leftover processes", red=True)
        reporter.write_line(message)
    else:  # pragma: no cover
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
