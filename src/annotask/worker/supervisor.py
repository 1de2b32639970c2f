"""The embedded worker of ``annotask serve``: a child process, restarted if it dies.

A worker killed by the kernel (out of memory), by a crashing decoder or by an
operator would otherwise leave a single-machine install without anyone running
jobs until the server restarts. The supervisor restarts it with a back-off that
grows while the child keeps dying quickly. Its jobs are not lost meanwhile: the
new worker's reaper re-runs them once their lease expires.

The child gets the server's pid in ``ANNOTASK_SUPERVISOR_PID`` and stops by
itself if the server disappears without stopping it (``kill -9`` of the server).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from annotask.settings import Settings
from annotask.worker.runner import SUPERVISOR_PID_ENV

log = logging.getLogger(__name__)

MIN_BACKOFF = 0.5
MAX_BACKOFF = 30.0
# A child that ran this long was healthy: its next restart starts the back-off anew.
HEALTHY_AFTER = 60.0
# A child that exited cleanly without being asked (e.g. Ctrl-C reached it first)
# is restarted only if the server is still running after this delay.
CLEAN_EXIT_DELAY = 5.0


class EmbeddedWorker:
    def __init__(self, settings: Settings, command: list[str] | None = None) -> None:
        self.settings = settings
        self.command = command or [sys.executable, "-m", "annotask", "worker"]
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._started_at = 0.0
        self._backoff = MIN_BACKOFF
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._monitor: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> EmbeddedWorker:
        with self._lock:
            self._spawn()
        self._monitor = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self._monitor.start()
        return self

    def _spawn(self) -> None:
        env = dict(
            os.environ,
            ANNOTASK_DATA_DIR=str(self.settings.data_dir.resolve()),
            **{SUPERVISOR_PID_ENV: str(os.getpid())},
        )
        self._proc = subprocess.Popen(self.command, env=env)
        self._started_at = time.monotonic()

    def _watch(self) -> None:
        while not self._stopping.wait(0.25):
            proc = self._proc
            if proc is None or (code := proc.poll()) is None:
                continue
            uptime = time.monotonic() - self._started_at
            if uptime >= HEALTHY_AFTER:
                self._backoff = MIN_BACKOFF
            delay = self._backoff if code != 0 else max(self._backoff, CLEAN_EXIT_DELAY)
            log.warning(
                "embedded worker (pid %d) exited with code %s after %.0fs; restarting in %.1fs",
                proc.pid,
                code,
                uptime,
                delay,
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn()
                self.restarts += 1
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)

    def stop(self, timeout: float) -> None:
        """SIGTERM the child (it finishes or re-queues its jobs); kill it after ``timeout``."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
        if self._monitor is not None:
            self._monitor.join(timeout=2)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
