"""Chunk build leases: short, renewed while the build runs, taken over when the
builder dies; requests waiting for a chunk hold no worker thread.

The holder of a lease in the live test is a separate process using the
server's own cache (the role of a web process in the middle of a build): it is
SIGKILLed, and the waiting requests must get the chunk within a few seconds of
the lease's expiry (formerly a 120 s lock, waited for in worker threads).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from annotask.cache.disk import DiskChunkCache
from annotask.cache.lease import LEASE_SECONDS
from tests.conftest import start_server
from tests.media_pipeline.helpers import create_ok
from tests.support.media import image_bytes
from tests.support.server import LiveServer
from tests.support.services import REDIS_URL, forget_redis_namespace, redis_available

SHORT = 1.0  # seconds: a lease in the unit tests


@pytest.fixture(params=["disk", "redis"])
def cache(request, tmp_path):
    if request.param == "disk":
        store = DiskChunkCache(tmp_path / "cache", 10 * 1024 * 1024)
        yield store
        store.close()
        return
    if not redis_available():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    from annotask.cache.redis_cache import RedisChunkCache

    namespace = f"test-{uuid.uuid4().hex}"
    store = RedisChunkCache(REDIS_URL + "/0", prefix=f"{namespace}:chunk:")
    yield store
    store.close()
    forget_redis_namespace(REDIS_URL + "/0", namespace)


def test_a_lease_is_exclusive_renewed_while_held_and_free_after_release(cache) -> None:
    lease = cache.try_lease("k", SHORT)
    assert lease is not None and cache.leased("k")
    assert cache.try_lease("k", SHORT) is None  # one builder at a time
    time.sleep(SHORT * 2.5)  # well past its lifetime: the heartbeat kept it
    assert cache.leased("k") and cache.try_lease("k", SHORT) is None and not lease.lost
    lease.release()
    assert not cache.leased("k")
    again = cache.try_lease("k", SHORT)
    assert again is not None
    again.release()


def test_a_lease_nobody_renews_expires_within_its_lifetime(cache) -> None:
    """A holder that died stops renewing: its lease is free after ``seconds``."""
    assert cache.add("lease-of-the-dead", "token", SHORT)  # taken, with no heartbeat
    assert cache.held("lease-of-the-dead") and not cache.add("lease-of-the-dead", "x", SHORT)
    time.sleep(SHORT + 0.5)
    assert not cache.held("lease-of-the-dead")
    assert cache.add("lease-of-the-dead", "x", SHORT)
    assert not cache.renew("lease-of-the-dead", "token", SHORT)  # not the holder's any more
    cache.release("lease-of-the-dead", "token")  # a stale holder cannot free it either
    assert cache.held("lease-of-the-dead")


# ---- a live server, a lease holder in another process ------------------------------

THREADS = 4  # a small thread limit, so that a few waiting requests exceed it
WAITERS = 12

HOLDER = textwrap.dedent(
    """
    import sys, time
    from annotask.db.models import Task
    from annotask.domain.task_data import serving
    from annotask.services import Services
    from annotask.settings import Settings

    services = Services(Settings())
    with services.read_sessions() as db:
        task = db.get(Task, int(sys.argv[1]))
        key = serving.chunk_cache_key(task, task.data, "compressed", range(0, 2))
    lease = services.cache.try_lease(key)
    assert lease is not None, "the chunk is already being built"
    print("held", flush=True)
    time.sleep(600)  # "building" until killed
    """
)


@pytest.fixture
def live(tmp_path) -> Iterator[LiveServer]:
    yield from start_server(tmp_path, "sqlite", web_threads=str(THREADS))


def _hold_lease(live: LiveServer, task_id: int) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(task_id)],
        env=live.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = holder.stdout.readline()
    if line.strip() != "held":
        holder.kill()
        raise AssertionError(f"the holder did not take the lease: {holder.stderr.read()}")
    return holder


async def _waiters_and_others(live: LiveServer, client: httpx.Client, task_id: int, holder):
    """``WAITERS`` requests for the held chunk; meanwhile other routes must answer. Then
    the holder is killed; returns (chunk bodies, seconds from kill to last chunk)."""
    headers = {"X-CSRFToken": client.headers["X-CSRFToken"]}
    async with httpx.AsyncClient(
        base_url=live.url, cookies=client.cookies, headers=headers, timeout=50
    ) as http:
        url = f"/api/tasks/{task_id}/data/"
        params = {"type": "chunk", "number": "0", "quality": "compressed"}
        waiting = [asyncio.create_task(http.get(url, params=params)) for _ in range(WAITERS)]
        await asyncio.sleep(1.5)  # every waiter has reached the server and waits
        assert not any(w.done() for w in waiting), "a chunk was served while its lease was held"
        # Other routes need worker threads; the waiters must not hold them.
        for path in (f"/api/tasks/{task_id}", "/api/users/self", f"/api/tasks/{task_id}/data/meta"):
            started = time.monotonic()
            response = await asyncio.wait_for(http.get(path), timeout=30)
            assert response.status_code == 200, response.text
            assert time.monotonic() - started < 5, f"{path} waited for a thread"
        assert not any(w.done() for w in waiting)
        os.kill(holder.pid, signal.SIGKILL)
        killed = time.monotonic()
        responses = await asyncio.wait_for(asyncio.gather(*waiting), timeout=45)
        return responses, time.monotonic() - killed


def test_waiters_hold_no_thread_and_a_killed_builder_delays_a_chunk_by_seconds(live) -> None:
    client = live.client()
    holder = None
    try:
        files = {f"f{i}.jpg": image_bytes(48 + i, 32 + i, seed=i) for i in range(4)}
        task_id = create_ok(client, files, use_cache=True, chunk_size=2)
        holder = _hold_lease(live, task_id)
        responses, after_kill = asyncio.run(_waiters_and_others(live, client, task_id, holder))
        assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
        assert len({r.content for r in responses}) == 1 and responses[0].content
        # The lease expires at most LEASE_SECONDS after the last renewal; then a waiter
        # builds the chunk (generous margin for a loaded machine).
        assert after_kill < LEASE_SECONDS + 8, after_kill
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
        client.close()
