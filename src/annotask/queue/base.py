"""The queue seam: what the domain needs from a job queue, nothing more.

A queued message carries only a request id; everything else (what to do, on
what, with which parameters) lives in the ``requests`` table, so a message that
is delivered twice, or re-sent after a worker died, is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

RequestRunner = Callable[[str], None]


class JobQueue(Protocol):
    def enqueue(self, request_id: str) -> None:
        """Ask some worker to run the request (at least once)."""

    def consume(self, runner: RequestRunner, concurrency: int) -> None:
        """Block, running ``runner(request_id)`` for each message, until stopped."""

    def stop(self) -> None:
        """Make ``consume`` return after the jobs in progress."""

    def ping(self) -> None:
        """Raise when the queue's backing store cannot be reached."""
