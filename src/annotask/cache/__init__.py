"""Chunk cache: disk (embedded) or Redis (scale-out), chosen from settings."""

from __future__ import annotations

from annotask.cache.base import ChunkCache
from annotask.settings import Settings


def make_cache(settings: Settings) -> ChunkCache:
    if settings.cache_url.startswith(("redis://", "rediss://", "unix://")):
        from annotask.cache.redis_cache import RedisChunkCache

        return RedisChunkCache(settings.cache_url, prefix=f"{settings.redis_namespace}:chunk:")
    if settings.cache_url:
        raise ValueError(
            f"Unsupported cache URL {settings.cache_url!r}: use redis://... or leave empty"
        )
    from annotask.cache.disk import DiskChunkCache

    return DiskChunkCache(settings.cache_dir, settings.cache_size_limit)
