"""The queue seam: what the domain needs from a job queue, nothing more.

A queued message carries only a request id; everything else (what to do, on
what, with which parameters) lives in the ``requests`` table, so a message that
is delivered twice, or re-sent after a worker died, is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

RequestRunner = Callable[[str], None]

#: Lanes: separate queues, each consumed by its own threads. Work that waits on
#: other machines (git, remote downloads) goes to ``NETWORK_LANE``, so however many
#: such jobs hang, the default lane's threads stay free for everyone's task creation.
DEFAULT_LANE = "default"
NETWORK_LANE = "network"
LANES = (DEFAULT_LANE, NETWORK_LANE)


class JobQueue(Protocol):
    def enqueue(self, request_id: str, lane: str = DEFAULT_LANE) -> None:
        """Ask some worker to run the request (at least once), in ``lane``."""

    def consume(self, runner: RequestRunner, concurrency: int | Mapping[str, int]) -> None:
        """Block, running ``runner(request_id)`` for each message, until stopped;
        ``concurrency`` is per lane (an int gives every lane that many threads)."""

    def stop(self) -> None:
        """Make ``consume`` return after the jobs in progress."""

    def ping(self) -> None:
        """Raise when the queue's backing store cannot be reached."""
