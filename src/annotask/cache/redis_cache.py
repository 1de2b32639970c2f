"""Scale-out chunk cache on Redis; eviction is Redis's own ``maxmemory`` policy
(configure ``allkeys-lfu`` on the server), with a TTL as a backstop."""

from __future__ import annotations

import io
from typing import BinaryIO

import redis

from annotask.cache.lease import LEASE_SECONDS, Lease, try_lease

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
# Compare-and-extend and compare-and-delete: only the lease's holder (its token) may.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisChunkCache:
    def __init__(self, url: str, prefix: str = "annotask:chunk:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)

    def open(self, key: str) -> BinaryIO | None:
        value = self._redis.get(self._prefix + key)
        # None when not cached; never str, as the client does not decode responses.
        return io.BytesIO(value) if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes) -> None:
        self._redis.set(self._prefix + key, value, ex=DEFAULT_TTL_SECONDS)

    def delete_prefix(self, prefix: str) -> None:
        for key in self._redis.scan_iter(match=f"{self._prefix}{prefix}*"):
            self._redis.delete(key)

    def try_lease(self, key: str, seconds: float = LEASE_SECONDS) -> Lease | None:
        return try_lease(self, f"{self._prefix}lease:{key}", seconds)

    def leased(self, key: str) -> bool:
        return self.held(f"{self._prefix}lease:{key}")

    # ---- the LeaseStore primitives (see cache/lease.py) ----

    def add(self, name: str, token: str, seconds: float) -> bool:
        return bool(self._redis.set(name, token, nx=True, px=int(seconds * 1000)))

    def renew(self, name: str, token: str, seconds: float) -> bool:
        return bool(self._renew(keys=[name], args=[token, int(seconds * 1000)]))

    def release(self, name: str, token: str) -> None:
        self._release(keys=[name], args=[token])

    def held(self, name: str) -> bool:
        return bool(self._redis.exists(name))

    def ping(self) -> None:
        self._redis.ping()

    def close(self) -> None:
        self._redis.close()
