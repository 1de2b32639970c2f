"""Embedded chunk cache: a size-bounded diskcache that evicts the least popular items.

Reads must not queue behind each other. diskcache's least-frequently-used
policy counts a hit by updating the item's row, and it does so in a write
transaction that also reads the whole value: every cached chunk served would
hold the cache's SQLite write lock while 5 MiB are copied, and concurrent
requests would wait for one another (SQLite's busy handler sleeps in steps of
milliseconds). So reads go through a second handle without a policy (no
transaction at all), and a hit is *counted* through the policy handle at most
once per key per :data:`COUNT_INTERVAL` seconds in each process, opening the
file only (``read=True``) so the transaction stays short. Popularity is
therefore "in how many intervals was this chunk wanted", which is what
eviction needs and is not fooled by one client's burst.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import BinaryIO

import diskcache

from annotask.cache.base import WouldWait
from annotask.cache.lease import LEASE_SECONDS, Lease, try_lease

COUNT_INTERVAL = 1.0
_MAX_TRACKED = 10_000
_DISK_MIN_FILE_SIZE = 64 * 1024  # chunks are already compressed: keep them as files


class DiskChunkCache:
    def __init__(
        self, directory: Path, size_limit: int, *, count_interval: float = COUNT_INTERVAL
    ) -> None:
        # The reader is opened first: each handle stores its settings in the cache's
        # database on opening, and the last one written (LFU) is what a later
        # opener without arguments would see.
        self._reader = diskcache.Cache(
            str(directory), eviction_policy="none", disk_min_file_size=_DISK_MIN_FILE_SIZE
        )
        self._cache = diskcache.Cache(
            str(directory),
            size_limit=size_limit,
            eviction_policy="least-frequently-used",
            disk_min_file_size=_DISK_MIN_FILE_SIZE,
        )
        # Leases live in a database of their own: never evicted by the size limit
        # (the chunk cache's culling would drop the least used rows: fresh leases
        # first) and never waiting for a chunk being stored.
        self._leases = diskcache.Cache(str(directory / "leases"), eviction_policy="none")
        self._count_interval = count_interval
        self._counted: dict[str, float] = {}
        self._counted_lock = threading.Lock()

    def open(self, key: str) -> BinaryIO | None:
        value = self._reader.get(key, read=True)  # values of 64 KiB and more are files
        if value is None:
            return None
        if self._due_for_count(key):
            handle = self._cache.get(key, read=True)  # LFU: access_count += 1
            if hasattr(handle, "close"):
                handle.close()
        return value if hasattr(value, "read") else io.BytesIO(value)

    def open_nowait(self, key: str) -> BinaryIO | None:
        """As :meth:`open`, for the event loop: a read that never waits for a
        writer (SQLite's WAL readers do not), or :class:`WouldWait` when this hit
        is due to be counted for eviction (a write, which may wait for a lock)."""
        if self._count_due(key):
            raise WouldWait(key)
        value = self._reader.get(key, read=True)
        if value is None:
            return None
        return value if hasattr(value, "read") else io.BytesIO(value)

    def _count_due(self, key: str) -> bool:
        last = self._counted.get(key)
        return last is None or time.monotonic() - last >= self._count_interval

    def _due_for_count(self, key: str) -> bool:
        now = time.monotonic()
        with self._counted_lock:
            last = self._counted.get(key)
            if last is not None and now - last < self._count_interval:
                return False
            if len(self._counted) >= _MAX_TRACKED:
                self._counted.clear()
            self._counted[key] = now
            return True

    def set(self, key: str, value: bytes) -> None:
        self._cache.set(key, value)

    def delete_prefix(self, prefix: str) -> None:
        for key in list(self._cache.iterkeys()):
            if isinstance(key, str) and key.startswith(prefix):
                self._cache.delete(key)

    def try_lease(self, key: str, seconds: float = LEASE_SECONDS) -> Lease | None:
        return try_lease(self, f"build:{key}", seconds)

    def leased(self, key: str) -> bool:
        return self.held(f"build:{key}")

    # ---- the LeaseStore primitives (see cache/lease.py) ----

    def add(self, name: str, token: str, seconds: float) -> bool:
        return bool(self._leases.add(name, token, expire=seconds, retry=True))

    def renew(self, name: str, token: str, seconds: float) -> bool:
        with self._leases.transact(retry=True):
            if self._leases.get(name) != token:
                return False
            self._leases.set(name, token, expire=seconds)
            return True

    def release(self, name: str, token: str) -> None:
        with self._leases.transact(retry=True):
            if self._leases.get(name) == token:
                self._leases.delete(name)

    def held(self, name: str) -> bool:
        return self._leases.get(name) is not None

    def ping(self) -> None:
        # A read: a write would queue behind the cache's writers (and health must
        # answer while many requests write); the storage check covers a full disk.
        self._reader.get("annotask:ping")

    def close(self) -> None:
        self._reader.close()
        self._cache.close()
        self._leases.close()
