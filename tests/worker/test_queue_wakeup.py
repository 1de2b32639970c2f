"""An idle worker starts a queued job at once: no poll interval between enqueue and start."""

from __future__ import annotations

import threading
import time

import pytest
from huey import SqliteHuey

from annotask.queue.huey_queue import POLL_SECONDS, HueyQueue, make_queue
from annotask.queue.wakeup import Wakeup
from tests.support.services import REDIS_URL, redis_available


def _pickup_delays(queue, samples: int = 10) -> list[float]:
    """Seconds from ``enqueue`` to the runner being called, for jobs sent to an idle worker."""
    started: dict[str, float] = {}
    arrived = threading.Event()

    def runner(request_id: str) -> None:
        started[request_id] = time.monotonic()
        arrived.set()

    consumer = threading.Thread(target=queue.consume, args=(runner, 1), daemon=True)
    consumer.start()
    delays = []
    try:
        time.sleep(0.3)  # idle: the consumer is waiting between polls
        for index in range(samples):
            arrived.clear()
            sent = time.monotonic()
            queue.enqueue(f"r{index}")
            assert arrived.wait(5)
            delays.append(started[f"r{index}"] - sent)
            time.sleep(0.13)  # land anywhere in the next poll interval
    finally:
        queue.stop()
        consumer.join(5)
    return delays


def test_embedded_queue_wakes_the_worker(tmp_path):
    # A long poll makes the difference unmistakable even on a loaded machine:
    # polling alone would take up to 2 s a job (1 s on average).
    path = str(tmp_path / "queue.db")
    queue = HueyQueue(
        SqliteHuey("annotask", filename=path, results=False), Wakeup(path), poll_seconds=2.0
    )
    delays = _pickup_delays(queue, samples=6)
    assert max(delays) < 0.5, delays


def test_the_embedded_default_queue_has_a_wakeup(tmp_path):
    delays = _pickup_delays(make_queue("", str(tmp_path / "queue.db")), samples=6)
    assert sorted(delays)[len(delays) // 2] < POLL_SECONDS / 2, delays


def test_redis_queue_blocks_instead_of_polling():
    if not redis_available():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    import uuid

    queue = make_queue(REDIS_URL + "/0", "", f"test-wakeup-{uuid.uuid4().hex}")
    delays = _pickup_delays(queue)
    assert sorted(delays)[len(delays) // 2] < POLL_SECONDS / 2, delays


def test_a_second_listener_on_the_same_queue_falls_back_to_polling(tmp_path):
    first, second = Wakeup(str(tmp_path / "q.db")), Wakeup(str(tmp_path / "q.db"))
    try:
        first.wait(0)
        started = time.monotonic()
        second.wait(0.05)  # cannot bind: a plain timed wait, no error
        assert time.monotonic() - started >= 0.05
        second.notify()
        started = time.monotonic()
        first.wait(5)  # the owner is woken by the notification
        assert time.monotonic() - started < 2.5  # not the full 5 s wait
    finally:
        first.close()
        second.close()
