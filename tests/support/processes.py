"""Subprocesses that take their children with them.

A program that starts helpers of its own (``cvat-cli function run-agent``, the
server's embedded worker) is started in a session of its own, so that its
process group holds everything it started; stopping it ends the whole group and
nothing outlives the test that started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from typing import Any


def start_group(command: list[str], **kwargs: Any) -> subprocess.Popen:
    """``Popen`` in a new session: the process leads a group of its own."""
    return subprocess.Popen(command, start_new_session=True, **kwargs)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's processes
        return True
    return True


def kill_group(pgid: int, timeout: float = 10) -> None:
    """SIGKILL what is left of the group, and wait (bounded) until it is gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_group(process: subprocess.Popen, timeout: float = 20, *, whole_group: bool = True) -> None:
    """Stop a process started by :func:`start_group` and everything it started.

    SIGTERM goes to the whole group (or, with ``whole_group=False``, to the leader
    only, for programs that stop their own children in order); after ``timeout``
    seconds, or once the leader has exited, whatever is left is killed."""
    pgid = process.pid
    try:
        if whole_group:
            os.killpg(pgid, signal.SIGTERM)
        else:
            process.terminate()
    except ProcessLookupError:
        pass
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    kill_group(pgid)
    process.wait(timeout=timeout)
