"""The worker process: take request ids from the queue and run them.

For each message: claim the request (a no-op for duplicates), look up the
handler of its operation, run it with a :class:`Progress` reporter, then mark it
finished or failed. Beside the job threads run a lease heartbeat (one thread
for all jobs) and a reaper that repairs requests of dead workers and lost
messages; every worker reaps, which is safe because each repair is a
conditional update.

On SIGTERM/SIGINT the worker stops taking messages and gives running jobs
``worker_grace_seconds`` to finish; jobs still running are then interrupted at
their next report and put back in the queue, and those that do not report are
put back directly (their late writes are fenced off by the attempt number).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import timedelta

from annotask.db.base import utcnow
from annotask.db.models import BackgroundRequest
from annotask.domain import health, pending, uploads
from annotask.domain import requests as rq
from annotask.domain.errors import NO_SPACE_MESSAGE, DomainError, is_disk_full
from annotask.domain.functions import runs as function_runs
from annotask.domain.requests import (
    Attempt,
    Cancelled,
    JobResult,
    LeaseLost,
    Progress,
    WorkerStopping,
)
from annotask.domain.task_data import attempts
from annotask.gc_tuning import freeze_startup_objects
from annotask.media.errors import MediaError
from annotask.queue.base import DEFAULT_LANE, NETWORK_LANE
from annotask.security.errors import UnsafeInput
from annotask.services import Services
from annotask.worker.registry import get_handler

log = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal error while processing the request"
# Set by ``annotask serve`` for its embedded worker: exit when that parent is gone.
SUPERVISOR_PID_ENV = "ANNOTASK_SUPERVISOR_PID"
PURGE_EVERY_SECONDS = 60.0


def user_message(exc: BaseException) -> str | None:
    """The message of an error meant for the user, or None for an internal error."""
    if isinstance(exc, DomainError):
        return exc.message or str(exc) or None
    if is_disk_full(exc):
        return NO_SPACE_MESSAGE + " Free some space, then create the request again."
    if isinstance(exc, MediaError | UnsafeInput):
        return exc.message or None
    message = getattr(exc, "message", None)
    if isinstance(exc, ValueError) and isinstance(message, str):
        return message or None
    return None


class Heartbeat:
    """One thread that keeps the leases of all of this process's running jobs fresh,
    whether or not the jobs report, and writes throttled progress that is pending."""

    def __init__(self, renew_every: float, tick: float = 0.2) -> None:
        self.renew_every = renew_every
        self.tick = min(tick, renew_every)
        self._active: set[Progress] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, progress: Progress) -> None:
        with self._lock:
            self._active.add(progress)

    def remove(self, progress: Progress) -> None:
        with self._lock:
            self._active.discard(progress)

    def running(self) -> list[Progress]:
        with self._lock:
            return list(self._active)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def beat(self) -> None:
        for progress in self.running():
            try:
                since = progress.seconds_since_write()
                if since >= self.renew_every:
                    progress.renew()
                elif progress.dirty and since >= progress.min_interval:
                    progress.flush()
            except Exception:  # one job's failure must not stop the others' renewals
                log.exception("lease renewal failed")

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self.beat()


class Worker:
    def __init__(self, services: Services, worker_id: str | None = None) -> None:
        settings = services.settings
        self.services = services
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        self.retention = timedelta(hours=settings.request_retention_hours)
        self.requeue_after = timedelta(seconds=settings.job_requeue_seconds)
        self.heartbeat = Heartbeat(renew_every=max(settings.job_lease_seconds / 3, 0.2))
        # Reap often enough that a dead worker's job restarts soon after its lease ends.
        self.reap_every = min(max(settings.job_lease_seconds / 5, 0.5), 30.0)
        self.stopping = threading.Event()

    # ---- one request ---------------------------------------------------------

    def run_request(self, request_id: str) -> None:
        """The queue's runner: called on a job thread for every message."""
        if self.stopping.is_set():  # taken off the queue while shutting down: put it back
            self._send(request_id)
            return
        attempt = rq.claim_attempt(
            self.services.sessions,
            request_id,
            self.id,
            lease=self.lease,
            retention=self.retention,
        )
        if attempt is None:
            log.debug("request %s: nothing to do (duplicate or already done)", request_id)
            return
        progress = Progress(self.services.sessions, attempt)
        self.heartbeat.add(progress)
        try:
            self._execute(attempt, progress)
        finally:
            self.heartbeat.remove(progress)

    def _execute(self, attempt: Attempt, progress: Progress) -> None:
        with self.services.read_sessions() as session:
            snapshot = rq.load_snapshot(session, attempt)
        if snapshot is None:  # deleted meanwhile
            return
        handler = get_handler(snapshot.operation)
        if handler is None:
            self._fail(attempt, f"This server cannot run '{snapshot.operation}' requests")
            return
        log.info(
            "request %s (%s) attempt %d started",
            attempt.request_id,
            snapshot.operation,
            attempt.number,
        )
        try:
            result = handler(self.services, snapshot, progress)
        except Cancelled:
            self._fail(attempt, rq.CANCELED_MESSAGE, progress.value)
        except WorkerStopping:
            self._release(attempt)
        except LeaseLost:
            log.warning(
                "request %s attempt %d lost its lease; result discarded",
                attempt.request_id,
                attempt.number,
            )
        except Exception as exc:
            message = user_message(exc)
            if not self._fail(attempt, message or INTERNAL_ERROR, progress.value):
                # A stale attempt (paused past its lease) often fails on its way out;
                # its error is not the request's.
                log.warning(
                    "request %s attempt %d lost its lease; result discarded (%r)",
                    attempt.request_id,
                    attempt.number,
                    exc,
                )
            elif message is None:
                log.exception("request %s (%s) failed", attempt.request_id, snapshot.operation)
            else:
                log.info("request %s failed: %s", attempt.request_id, message)
        else:
            self._finish(attempt, result if isinstance(result, JobResult) else JobResult())

    def _finish(self, attempt: Attempt, result: JobResult) -> None:
        with self.services.sessions() as session, session.begin():
            done = rq.finish(
                session,
                attempt,
                result_id=result.result_id,
                result_path=result.result_path,
                result_filename=result.result_filename,
            )
            if not done:  # the job may have finished itself in its own transaction
                current = session.get(BackgroundRequest, attempt.request_id)
                if current is None or current.status != "finished":
                    log.warning(
                        "request %s attempt %d finished after losing its lease",
                        attempt.request_id,
                        attempt.number,
                    )

    def _fail(self, attempt: Attempt, message: str, progress: float | None = None) -> bool:
        """Fail the request; False when this attempt no longer owns it (nor failed it
        itself already, as a job that records its failure in its own transaction)."""
        with self.services.sessions() as session, session.begin():
            if rq.fail(session, attempt, message, progress=progress):
                return True
            current = session.get(BackgroundRequest, attempt.request_id)
            return (
                current is not None
                and current.status == "failed"
                and current.attempts == attempt.number
            )

    def _release(self, attempt: Attempt) -> None:
        with self.services.sessions() as session, session.begin():
            released = rq.release(session, attempt, requeue_after=self.requeue_after)
        if released:
            self._send(attempt.request_id)

    def _send(self, request_id: str) -> None:
        try:
            self.services.queue.enqueue(request_id, rq.lane_of(self.services.sessions, request_id))
        except Exception:  # the reaper re-sends queued requests whose message is lost
            log.warning("could not re-send request %s", request_id, exc_info=True)

    # ---- the process ---------------------------------------------------------

    def reap_once(self) -> rq.ReapReport:
        """Repair requests of dead workers, then remove what their attempts left:
        objects created by an attempt that can no longer finish (an empty restored
        task) and the staged files of attempts that can no longer commit."""
        settings = self.services.settings
        report = rq.reap_expired(
            self.services.sessions,
            self.services.queue,
            settings.job_max_attempts,
            requeue_after=self.requeue_after,
            retention=self.retention,
        )
        pending.reap_orphans(self.services)
        attempts.sweep(self.services)
        return report

    def _reap_loop(self, stop: threading.Event) -> None:
        last_purge = 0.0
        while True:
            try:
                self.reap_once()
                if time.monotonic() - last_purge >= PURGE_EVERY_SECONDS:
                    rq.purge_expired(self.services.sessions, retention=self.retention)
                    with self.services.sessions() as session, session.begin():
                        uploads.purge_abandoned(session, self.services.settings)
                        health.purge_stale_workers(session)
                        function_runs.purge_ended(session, utcnow() - self.retention)
                    last_purge = time.monotonic()
            except Exception:  # e.g. the database restarting: try again next round
                log.warning("reaper pass failed", exc_info=True)
            if stop.wait(self.reap_every):
                return

    def _presence_loop(self, stop: threading.Event) -> None:
        """Record that this worker is alive (``/api/server/health`` reads it), every
        third of a lease: a worker not seen for a whole lease counts as gone."""
        every = max(self.services.settings.job_lease_seconds / 3, 0.2)
        while True:
            try:
                health.record_worker_seen(self.services.sessions, self.id)
            except Exception:  # e.g. the database restarting: try again next round
                log.warning("could not record this worker's presence", exc_info=True)
            if stop.wait(every):
                return

    def run(self, stop: threading.Event, install_signals: bool = True) -> None:
        settings = self.services.settings
        if install_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        parent = int(os.environ.get(SUPERVISOR_PID_ENV, "0") or 0)
        self.heartbeat.start()
        reaper_stop = threading.Event()
        reaper = threading.Thread(
            target=self._reap_loop, args=(reaper_stop,), name="reaper", daemon=True
        )
        reaper.start()
        presence = threading.Thread(
            target=self._presence_loop, args=(reaper_stop,), name="presence", daemon=True
        )
        presence.start()
        # Network jobs have their own lane and threads: however many hang on a silent
        # server, the default lane's threads stay free for everyone's task creation.
        concurrency = {
            DEFAULT_LANE: settings.worker_concurrency,
            NETWORK_LANE: settings.worker_network_concurrency,
        }
        consumer = threading.Thread(
            target=self.services.queue.consume,
            args=(self.run_request, concurrency),
            name="consumer",
            daemon=True,
        )
        consumer.start()
        log.info(
            "worker %s started (concurrency %d, network %d)",
            self.id,
            settings.worker_concurrency,
            settings.worker_network_concurrency,
        )
        crashed = False
        while not stop.wait(0.5):
            if not consumer.is_alive():
                crashed = True
                break
            if parent and os.getppid() != parent:
                log.warning("the server that started this worker is gone; stopping")
                break
        self._shutdown(settings.worker_grace_seconds, consumer)
        reaper_stop.set()
        reaper.join(timeout=5)
        presence.join(timeout=5)
        try:
            health.forget_worker(self.services.sessions, self.id)
        except Exception:  # its row ages out of the health window anyway
            log.warning("could not remove this worker's presence", exc_info=True)
        self.heartbeat.stop()
        if crashed:
            raise RuntimeError("the queue consumer stopped unexpectedly")
        log.info("worker %s stopped", self.id)

    def _shutdown(self, grace: float, consumer: threading.Thread) -> None:
        self.stopping.set()
        self.services.queue.stop()
        if not _wait_until(lambda: not self.heartbeat.running(), grace):
            running = self.heartbeat.running()
            log.warning("%d job(s) still running after %ss; re-queueing them", len(running), grace)
            for progress in running:  # stop at the next report, then release
                progress.interrupt(WorkerStopping)
            if not _wait_until(lambda: not self.heartbeat.running(), 2.0):
                for progress in self.heartbeat.running():  # not reporting: release for them
                    progress.interrupt(LeaseLost)
                    self._release(progress.attempt)
        # The queue loop may still take a message (a blocking Redis read started before
        # the stop): run_request sends it back, and exiting before it has would lose it.
        consumer.join(timeout=3.0)


def _wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def run_worker(
    services: Services, *, stop: threading.Event | None = None, install_signals: bool = True
) -> None:
    """Run a worker until ``stop`` is set or SIGTERM/SIGINT arrives (``annotask worker``)."""
    import annotask.worker.jobs  # noqa: F401 - registers every handler in this process

    freeze_startup_objects()
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    Worker(services).run(stop or threading.Event(), install_signals=install_signals)
