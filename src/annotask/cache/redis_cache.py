"""Scale-out chunk cache on Redis; eviction is Redis's own ``maxmemory`` policy
(configure ``allkeys-lfu`` on the server), with a TTL as a backstop."""

from __future__ import annotations

import io
from typing import BinaryIO

import redis

DEFAULT_TTL_SECONDS = 7 * 24 * 3600


class RedisChunkCache:
    def __init__(self, url: str, prefix: str = "annotask:chunk:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def open(self, key: str) -> BinaryIO | None:
        value = self._redis.get(self._prefix + key)
        return None if value is None else io.BytesIO(value)

    def set(self, key: str, value: bytes) -> None:
        self._redis.set(self._prefix + key, value, ex=DEFAULT_TTL_SECONDS)

    def delete_prefix(self, prefix: str) -> None:
        for key in self._redis.scan_iter(match=f"{self._prefix}{prefix}*"):
            self._redis.delete(key)

    def lock(self, key: str, timeout: float):
        return self._redis.lock(
            f"{self._prefix}lock:{key}", timeout=timeout, blocking_timeout=timeout
        )

    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()
