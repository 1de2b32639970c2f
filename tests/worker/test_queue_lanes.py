"""Queue lanes: network work waits on its own threads, so jobs of the default lane
start however many network jobs hang (embedded SQLite queue and Redis)."""

from __future__ import annotations

import threading
import uuid

import pytest

from annotask.domain.requests import lane_for
from annotask.queue.base import DEFAULT_LANE, NETWORK_LANE
from annotask.queue.huey_queue import make_queue
from tests.support.services import REDIS_URL, redis_available


def test_network_operations_go_to_the_network_lane():
    assert lane_for("create:dataset_repo", {}) == NETWORK_LANE
    assert lane_for("push:dataset_repo", {"base_url": "x"}) == NETWORK_LANE
    assert lane_for("create:task", {"remote_files": ["http://127.0.0.1/a.jpg"]}) == NETWORK_LANE
    assert lane_for("create:task", {"remote_files": [], "server_files": ["a.jpg"]}) == DEFAULT_LANE
    assert lane_for("export:dataset", None) == DEFAULT_LANE


def _queue(kind: str, tmp_path):
    if kind == "redis":
        if not redis_available():
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        return make_queue(REDIS_URL + "/0", "", f"test-lanes-{uuid.uuid4().hex}")
    return make_queue("", str(tmp_path / "queue.db"))


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_hanging_network_jobs_leave_the_default_lane_free(kind, tmp_path):
    queue = _queue(kind, tmp_path)
    release = threading.Event()
    hanging = threading.Semaphore(0)
    done = threading.Event()

    def runner(request_id: str) -> None:
        if request_id.startswith("net"):
            hanging.release()
            release.wait(30)
        else:
            done.set()

    consumer = threading.Thread(
        target=queue.consume, args=(runner, {DEFAULT_LANE: 1, NETWORK_LANE: 2}), daemon=True
    )
    consumer.start()
    try:
        for index in range(3):  # more than the network lane's threads
            queue.enqueue(f"net-{index}", NETWORK_LANE)
        assert hanging.acquire(timeout=20) and hanging.acquire(timeout=20)
        queue.enqueue("create-task", DEFAULT_LANE)
        assert done.wait(20), "the default lane waited behind hanging network jobs"
        assert not hanging.acquire(timeout=0.5)  # the third network job waits its turn
    finally:
        release.set()
        queue.stop()
        consumer.join(10)
    if kind == "redis":
        from tests.support.services import forget_redis_namespace

        for lane in queue.lanes.values():
            forget_redis_namespace(REDIS_URL + "/0", lane._huey.name)
