"""The chunk cache seam: bytes stored by key and read back as files, bounded in
size, shared by all processes."""

from __future__ import annotations

from typing import BinaryIO, Protocol

from annotask.cache.lease import LEASE_SECONDS, Lease


class WouldWait(Exception):  # noqa: N818 - a signal, not an error
    """``open_nowait`` would have to wait (a write, or the network): call ``open``
    from a worker thread instead."""


class ChunkCache(Protocol):
    def open(self, key: str) -> BinaryIO | None:
        """The cached value as a file to read (and close), or None on a miss. A real
        file where the cache keeps one, so that it can be sent with ``sendfile``; it
        stays readable even if the item is evicted meanwhile."""

    def set(self, key: str, value: bytes) -> None:
        """Store a value; the cache may evict other (less used) items to make room."""

    def delete_prefix(self, prefix: str) -> None:
        """Forget every item whose key starts with ``prefix`` (a task's chunks)."""

    def try_lease(self, key: str, seconds: float = LEASE_SECONDS) -> Lease | None:
        """The right to prepare ``key`` now (in any process), held by a short lease that a
        heartbeat renews until it is released; None if another holds it. Never blocks:
        whoever must wait sleeps on the event loop (``frames.wait_for_chunk``)."""

    def leased(self, key: str) -> bool:
        """Whether someone holds the lease to prepare ``key`` now."""

    def ping(self) -> None:
        """Raise when the cache cannot be used."""
