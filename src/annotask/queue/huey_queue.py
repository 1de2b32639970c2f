"""Both queue implementations, on Huey: SQLite-backed (embedded) and Redis (scale-out)."""

from __future__ import annotations

import logging
import threading

from huey import Huey, RedisHuey, SqliteHuey

from annotask.queue.base import RequestRunner
from annotask.queue.wakeup import Wakeup

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


def make_queue(queue_url: str, sqlite_path: str, namespace: str = "annotask") -> HueyQueue:
    """Choose the implementation from settings: Redis URL or the embedded SQLite file.

    ``namespace`` prefixes the Redis keys, so deployments sharing a Redis never
    take each other's jobs.
    """
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        # A blocking read (BRPOP): a worker takes a job the moment it is queued.
        huey: Huey = RedisHuey(
            namespace,
            url=queue_url,
            results=False,
            blocking=True,
            read_timeout=REDIS_BLOCK_SECONDS,
        )
        return HueyQueue(huey)
    if queue_url:
        raise ValueError(f"Unsupported queue URL {queue_url!r}: use redis://... or leave empty")
    huey = SqliteHuey("annotask", filename=sqlite_path, timeout=30, results=False)
    return HueyQueue(huey, Wakeup(sqlite_path))
