"""Finding the local PostgreSQL and Redis, and making throwaway databases in them."""

from __future__ import annotations

import socket
import uuid

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379"


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    return port_open("127.0.0.1", 5432)


def redis_available() -> bool:
    return port_open("127.0.0.1", 6379)


def create_pg_database() -> str:
    """A fresh, empty database; returns its URL."""
    from sqlalchemy import create_engine, text

    name = f"annotask_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    name = url.rsplit("/", 1)[1]
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def forget_redis_namespace(url: str, namespace: str) -> None:
    """Delete what a test server left in Redis (its queue and cached chunks)."""
    import redis

    client = redis.Redis.from_url(url)
    for pattern in (f"{namespace}:*", f"huey*{namespace}*"):
        keys = list(client.scan_iter(match=pattern))
        if keys:
            client.delete(*keys)
    client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
