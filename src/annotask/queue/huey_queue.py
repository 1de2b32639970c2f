"""Both queue implementations, on Huey: SQLite-backed (embedded) and Redis (scale-out).

Each lane (see :mod:`.base`) is a Huey queue of its own name, in the same SQLite
file or the same Redis, consumed by its own loop and threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from annotask.queue.base import DEFAULT_LANE, LANES, RequestRunner
from annotask.queue.huey_import import import_huey
from annotask.queue.wakeup import Wakeup

if TYPE_CHECKING:
    from huey import Huey

log = logging.getLogger(__name__)

TASK_NAME = "annotask.run_request"
POLL_SECONDS = 0.1  # how long an idle consumer waits between polls of the SQLite queue
REDIS_BLOCK_SECONDS = 0.5  # how long one blocking Redis read waits (bounds stop latency)


class HueyQueue:
    """A ``JobQueue`` over any Huey storage."""

    def __init__(
        self, huey: Huey, wakeup: Wakeup | None = None, *, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self._huey = huey
        self._wakeup = wakeup
        self._poll_seconds = poll_seconds
        self._runner: RequestRunner | None = None
        self._stop = threading.Event()
        self._task = huey.task(name=TASK_NAME, retries=0)(self._run)

    def _run(self, request_id: str) -> None:
        if self._runner is None:  # pragma: no cover - only a misconfigured consumer
            raise RuntimeError("no runner registered")
        self._runner(request_id)

    def enqueue(self, request_id: str) -> None:
        self._task(request_id)
        if self._wakeup is not None:
            self._wakeup.notify()

    def consume(self, runner: RequestRunner, concurrency: int) -> None:
        """Run jobs on ``concurrency`` threads until ``stop`` is called.

        Huey's own consumer installs signal handlers and so only runs on the
        main thread; this loop is small enough to own and works anywhere.
        """
        self._runner = runner
        sem = threading.BoundedSemaphore(concurrency)
        threads: list[threading.Thread] = []
        while not self._stop.is_set():
            if not sem.acquire(timeout=0.5):
                continue
            try:
                message = self._huey.dequeue()
            except Exception:  # the store may be briefly unavailable
                log.exception("dequeue failed")
                sem.release()
                self._stop.wait(1.0)
                continue
            if message is None:
                sem.release()
                if self._wakeup is not None:
                    self._wakeup.wait(self._poll_seconds)
                else:  # Redis: dequeue itself blocks until a job or its read timeout
                    self._stop.wait(0.01)
                continue

            def work(msg=message) -> None:
                try:
                    self._huey.execute(msg)
                except Exception:
                    log.exception("job %s failed", msg.id)
                finally:
                    sem.release()

            thread = threading.Thread(target=work, name=f"job-{message.id}", daemon=True)
            thread.start()
            threads = [t for t in threads if t.is_alive()] + [thread]
        for thread in threads:
            thread.join()
        if self._wakeup is not None:
            self._wakeup.close()

    def stop(self) -> None:
        self._stop.set()

    def ping(self) -> None:
        self._huey.pending_count()


class LanedQueue:
    """A ``JobQueue`` of several lanes, one :class:`HueyQueue` each."""

    def __init__(self, lanes: Mapping[str, HueyQueue]) -> None:
        self.lanes = dict(lanes)

    def enqueue(self, request_id: str, lane: str = DEFAULT_LANE) -> None:
        self.lanes.get(lane, self.lanes[DEFAULT_LANE]).enqueue(request_id)

    def consume(self, runner: RequestRunner, concurrency: int | Mapping[str, int]) -> None:
        """One consuming loop per lane, each with its own threads, until ``stop``."""
        counts = (
            dict.fromkeys(self.lanes, concurrency)
            if isinstance(concurrency, int)
            else {lane: concurrency.get(lane, 1) for lane in self.lanes}
        )
        loops = [
            threading.Thread(
                target=queue.consume, args=(runner, counts[lane]), name=f"lane-{lane}", daemon=True
            )
            for lane, queue in self.lanes.items()
        ]
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()

    def stop(self) -> None:
        for queue in self.lanes.values():
            queue.stop()

    def ping(self) -> None:
        self.lanes[DEFAULT_LANE].ping()


def _lane_name(base: str, lane: str) -> str:
    return base if lane == DEFAULT_LANE else f"{base}-{lane}"


def make_queue(queue_url: str, sqlite_path: str, namespace: str = "annotask") -> LanedQueue:
    """Choose the implementation from settings: Redis URL or the embedded SQLite file.

    ``namespace`` prefixes the Redis keys, so deployments sharing a Redis never
    take each other's jobs.
    """
    lanes: dict[str, HueyQueue] = {}
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        RedisHuey = import_huey(redis=True).RedisHuey  # noqa: N806 - Huey's class
        for lane in LANES:
            # A blocking read (BRPOP): a worker takes a job the moment it is queued.
            huey: Huey = RedisHuey(
                _lane_name(namespace, lane),
                url=queue_url,
                results=False,
                blocking=True,
                read_timeout=REDIS_BLOCK_SECONDS,
            )
            lanes[lane] = HueyQueue(huey)
        return LanedQueue(lanes)
    if queue_url:
        raise ValueError(f"Unsupported queue URL {queue_url!r}: use redis://... or leave empty")
    SqliteHuey = import_huey(redis=False).SqliteHuey  # noqa: N806 - Huey's class
    for lane in LANES:
        huey = SqliteHuey(
            _lane_name("annotask", lane), filename=sqlite_path, timeout=30, results=False
        )
        wakeup_key = sqlite_path if lane == DEFAULT_LANE else f"{sqlite_path}#{lane}"
        lanes[lane] = HueyQueue(huey, Wakeup(wakeup_key))
    return LanedQueue(lanes)
