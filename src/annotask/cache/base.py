"""The chunk cache seam: bytes stored by key and read back as files, bounded in
size, shared by all processes."""

from __future__ import annotations

from typing import BinaryIO, Protocol


class ChunkCache(Protocol):
    def open(self, key: str) -> BinaryIO | None:
        """The cached value as a file to read (and close), or None on a miss. A real
        file where the cache keeps one, so that it can be sent with ``sendfile``; it
        stays readable even if the item is evicted meanwhile."""

    def set(self, key: str, value: bytes) -> None:
        """Store a value; the cache may evict other (less used) items to make room."""

    def delete_prefix(self, prefix: str) -> None:
        """Forget every item whose key starts with ``prefix`` (a task's chunks)."""

    def lock(self, key: str, timeout: float) -> object:
        """A context manager that lets one process prepare ``key`` while others wait."""

    def ping(self) -> None:
        """Raise when the cache cannot be used."""
