"""Import Huey without the client libraries of backends this process does not use.

``huey.storage`` tries ``import redis`` and ``import psycopg`` when it is first
imported, for backends we may never use: on the embedded default (SQLite queue)
that is ~20 MB and ~0.1 s per process for nothing. Those two are hidden while
Huey is imported (``None`` in ``sys.modules`` makes an import fail, and Huey
falls back to ``None`` for them), then put back; a Redis queue made later in the
same process fills in the names Huey's Redis storage reads.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

_OPTIONAL = ("redis", "psycopg")


def import_huey(*, redis: bool) -> ModuleType:
    """``huey``, with its Redis storage usable when ``redis`` is true."""
    with_redis = redis
    hidden = []
    if "huey.storage" not in sys.modules:
        for name in _OPTIONAL:
            if name == "redis" and with_redis:
                continue
            if name not in sys.modules:
                sys.modules[name] = None  # type: ignore[assignment]
                hidden.append(name)
    try:
        import huey
        import huey.storage
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    storage: Any = huey.storage
    if with_redis and storage.Redis is None:
        import redis as redis_module
        from redis import exceptions as redis_exceptions

        storage.ConnectionPool = redis_module.ConnectionPool
        storage.Redis = redis_module.Redis
        storage.ConnectionError = redis_exceptions.ConnectionError
        storage.TimeoutError = redis_exceptions.TimeoutError
        for value in vars(storage).values():  # class attributes bound at definition time
            if isinstance(value, type) and vars(value).get("redis_client", False) is None:
                setattr(value, "redis_client", redis_module.Redis)  # noqa: B010
    return huey
