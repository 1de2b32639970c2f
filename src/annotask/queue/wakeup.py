"""Wake an idle embedded worker the moment a job is queued, instead of at its next poll.

The SQLite queue has no blocking read, so an idle worker polls it; at 100 ms a
poll, every creation, export or import would start 50 ms late on average, which
users feel on small tasks. Producers therefore also send one datagram to a
Linux abstract UNIX socket named after the queue file, and the consumer waits on
that socket between polls. Nothing depends on the datagram arriving: polling
still runs, so a lost wake-up, a second worker that could not bind the name, or
a system without abstract sockets only costs the old latency.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import select
import socket
import sys
import threading


def _address(queue_path: str) -> str:
    digest = hashlib.sha256(os.path.abspath(queue_path).encode()).hexdigest()[:24]
    return f"\0annotask-queue-{digest}"


class Wakeup:
    """One queue file's wake-up channel; ``notify`` from producers, ``wait`` in the consumer."""

    def __init__(self, queue_path: str) -> None:
        self._address = _address(queue_path)
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        """Tell a waiting consumer, if there is one, that a job is queued."""
        if not sys.platform.startswith("linux"):
            return
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            s.sendto(b"!", self._address)

    def wait(self, timeout: float) -> None:
        """Return after ``timeout`` seconds or as soon as a producer notifies."""
        listener = self._listen()
        if listener is None:
            threading.Event().wait(timeout)
            return
        ready, _, _ = select.select([listener], [], [], timeout)
        if ready:
            with contextlib.suppress(OSError):
                while listener.recv(64):  # drain: one poll serves every pending wake-up
                    pass

    def _listen(self) -> socket.socket | None:
        with self._lock:
            if self._listener is None and sys.platform.startswith("linux"):
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                try:
                    listener.bind(self._address)
                except OSError:  # another consumer has it: poll only
                    listener.close()
                    return None
                listener.setblocking(False)
                self._listener = listener
            return self._listener

    def close(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
