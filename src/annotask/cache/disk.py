"""Embedded chunk cache: a size-bounded diskcache that evicts the least used items."""

from __future__ import annotations

from pathlib import Path

import diskcache


class DiskChunkCache:
    def __init__(self, directory: Path, size_limit: int) -> None:
        self._cache = diskcache.Cache(
            str(directory),
            size_limit=size_limit,
            eviction_policy="least-frequently-used",
            # Chunks are already compressed; keep them as files, read without copying.
            disk_min_file_size=64 * 1024,
        )

    def get(self, key: str) -> bytes | None:
        return self._cache.get(key)

    def set(self, key: str, value: bytes) -> None:
        self._cache.set(key, value)

    def delete_prefix(self, prefix: str) -> None:
        for key in list(self._cache.iterkeys()):
            if isinstance(key, str) and key.startswith(prefix):
                self._cache.delete(key)

    def lock(self, key: str, timeout: float) -> diskcache.Lock:
        return diskcache.Lock(self._cache, f"lock:{key}", expire=timeout)

    def ping(self) -> None:
        self._cache.set("annotask:ping", b"1", expire=60)
        if self._cache.get("annotask:ping") != b"1":
            raise RuntimeError("the disk cache did not return what was stored")

    def close(self) -> None:
        self._cache.close()
