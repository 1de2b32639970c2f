"""On-the-fly chunks: built once on first request, kept in the bounded cache (issue 5)."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import anyio.to_thread
import diskcache
import pytest

from annotask.cache.disk import DiskChunkCache
from annotask.domain.task_data.serving import cached, retry_while_building
from tests.conftest import start_server
from tests.support.server import ADMIN

from .conftest import images, jpeg
from .helpers import create_ok, data


def test_concurrent_first_requests_build_once(tmp_path):
    cache = DiskChunkCache(tmp_path / "cache", 10 * 1024 * 1024)
    builds = []
    lock = threading.Lock()

    def build() -> bytes:
        with lock:
            builds.append(1)
        time.sleep(0.3)
        return b"chunk bytes" * 10_000

    def contents(file) -> bytes:
        with file:
            return file.read()

    async def request() -> bytes:  # as the data routes: waits on the event loop
        attempt = partial(anyio.to_thread.run_sync, cached, cache, "k", build)
        return contents(await retry_while_building(cache, attempt))

    async def together() -> list[bytes]:
        return list(await asyncio.gather(*(request() for _ in range(8))))

    results = asyncio.run(together())
    assert len(builds) == 1
    assert results == [b"chunk bytes" * 10_000] * 8
    hit = cached(cache, "k", build)
    assert hit.fileno() >= 0  # a hit is the cache's own file: it can go out with sendfile
    assert contents(hit) == results[0] and len(builds) == 1
    cache.close()


def test_chunks_are_cached_after_the_first_request(client, sqlite_server):
    task_id = create_ok(client, images(6), use_cache=True, chunk_size=3)
    with ThreadPoolExecutor(6) as pool:
        first = list(pool.map(lambda _: data(client, task_id, "chunk", 1).content, range(6)))
    assert all(body == first[0] for body in first)
    store = diskcache.Cache(str(sqlite_server.data_dir / "cache"))
    try:
        keys = [
            k for k in store.iterkeys() if isinstance(k, str) and k.startswith(f"task:{task_id}:")
        ]
        assert len(keys) == 1 and keys[0].endswith(":compressed:frames3-6")
        assert store.get(keys[0]) == first[0]
    finally:
        store.close()
    assert data(client, task_id, "chunk", 1).content == first[0]  # a hit: same bytes


@pytest.fixture(scope="module")
def small_cache_server(tmp_path_factory):
    yield from start_server(
        tmp_path_factory.mktemp("small-cache"), "sqlite", cache_size_limit="400000"
    )


def test_the_cache_stays_bounded_and_evicts_the_least_used(small_cache_server):
    client = small_cache_server.client(ADMIN)
    files = {f"f{i:02d}.jpg": jpeg(160, 120, seed=i) for i in range(30)}
    task_id = create_ok(client, files, use_cache=True, chunk_size=1)
    popular = data(client, task_id, "chunk", 0, "original").content
    for _ in range(5):
        assert data(client, task_id, "chunk", 0, "original").content == popular
    for number in range(1, 30):
        assert data(client, task_id, "chunk", number, "original").status_code == 200
    store = diskcache.Cache(str(small_cache_server.data_dir / "cache"))
    try:
        keys = [k for k in store.iterkeys() if isinstance(k, str) and k.startswith("task:")]
        assert store.volume() <= 400_000 + 64 * 1024  # the limit, give or take one item
        assert 0 < len(keys) < 30  # some chunks were evicted...
        assert any(k.endswith(":original:frames0-1") for k in keys)  # ...not the popular one
    finally:
        store.close()
    # An evicted chunk is simply built again.
    rebuilt = zipfile.ZipFile(io.BytesIO(data(client, task_id, "chunk", 1, "original").content))
    assert rebuilt.read("000000.jpg") == files["f01.jpg"]
    client.close()


def test_on_the_fly_chunks_on_every_backend(server, admin, small_video):
    """The cache (disk or Redis) and its lock, with images and video, per backend."""
    task_id = create_ok(admin, images(5), use_cache=True, chunk_size=2)
    first = data(admin, task_id, "chunk", 2, "original")
    again = data(admin, task_id, "chunk", 2, "original")
    assert first.status_code == 200 and first.content == again.content
    assert zipfile.ZipFile(io.BytesIO(first.content)).read("000000.jpg") == images(5)["img04.jpg"]
    video_id = create_ok(admin, {"clip.mp4": small_video}, use_cache=True, chunk_size=20)
    mp4 = data(admin, video_id, "chunk", 1)
    assert (
        mp4.headers["content-type"] == "video/mp4"
        and mp4.content == data(admin, video_id, "chunk", 1).content
    )


def read(cache: DiskChunkCache, key: str) -> bytes:
    with cache.open(key) as file:
        return file.read()


def test_cache_reads_do_not_wait_for_the_write_lock(tmp_path):
    """A hit is served while another connection holds the cache's write lock (an
    eviction, a set in another process): reads take no transaction."""
    cache = DiskChunkCache(tmp_path / "cache", 10 * 1024 * 1024, count_interval=60)
    value = bytes(range(256)) * 1024  # stored as a file, like a chunk
    cache.set("chunk", value)
    assert read(cache, "chunk") == value  # counted once, now inside the interval
    writer = sqlite3.connect(tmp_path / "cache" / "cache.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert read(cache, "chunk") == value
        # A read that queued for the lock would wait out diskcache's 60 s timeout.
        assert time.monotonic() - started < 5.0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        cache.close()


def test_hits_count_once_per_interval_for_eviction(tmp_path):
    def popularity(key: str) -> int:  # the counter diskcache's LFU culling orders by
        with sqlite3.connect(tmp_path / "cache" / "cache.db") as db:
            return db.execute("SELECT access_count FROM Cache WHERE key = ?", (key,)).fetchone()[0]

    slow = DiskChunkCache(tmp_path / "cache", 10 * 1024 * 1024, count_interval=60)
    slow.set("a", b"x" * 100_000)
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: read(slow, "a"), range(40))) == {b"x" * 100_000}
    assert popularity("a") == 1  # a burst is one interval
    slow.close()
    every = DiskChunkCache(tmp_path / "cache", 10 * 1024 * 1024, count_interval=0)
    for _ in range(3):
        read(every, "a")
    assert popularity("a") == 4
    assert every.open("missing") is None
    every.close()
