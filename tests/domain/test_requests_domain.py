"""The request lifecycle against a real database file and the real embedded queue.

No mocks: each test builds ``Services`` on a fresh SQLite data directory (and,
for the races, also on PostgreSQL), and reads the embedded queue's file with
Huey to see which messages were really sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from huey import SqliteHuey
from sqlalchemy import select, update

from annotask.db.base import utcnow
from annotask.db.migrate import upgrade
from annotask.db.models import AnnotationRequest, BackgroundRequest, User
from annotask.domain import requests as rq
from annotask.domain.errors import DomainError, NotFound
from annotask.domain.functions import runs as function_runs
from annotask.domain.tasks import create_task
from annotask.domain.users import create_user
from annotask.services import Services
from annotask.settings import Settings
from annotask.worker.registry import register
from annotask.worker.runner import Heartbeat, run_worker
from tests.support.services import create_pg_database, drop_pg_database, postgres_available

LEASE = timedelta(seconds=30)

# Handlers for these tests, registered in this process like real job modules.
ran: list[str] = []


@register("test:record")
def _record(services, request, progress) -> rq.JobResult:
    ran.append(request.id)
    progress.report(1.0, "done")
    return rq.JobResult(result_id=len(ran))


@register("test:slow")
def _slow(services, request, progress) -> None:
    for step in range(100):
        time.sleep(0.05)
        progress.report(step / 100)


@register("test:user-error")
def _user_error(services, request, progress) -> None:
    raise DomainError("The archive has no images")


@dataclass
class FakeCaller:
    user: User
    is_admin: bool = False


def make_services(root: Path, database_url: str = "", **settings) -> Services:
    s = Settings(data_dir=root, database_url=database_url, **settings)
    s.ensure_dirs()
    upgrade(s.resolved_database_url)
    return Services(s)


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:
    svc = make_services(tmp_path / "data", job_lease_seconds=30, worker_grace_seconds=1)
    yield svc
    svc.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_services(request, tmp_path) -> Iterator[Services]:
    """The same data dir and embedded queue, on SQLite or on PostgreSQL."""
    url = ""
    if request.param == "postgres":
        if not postgres_available():
            pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
        url = create_pg_database()
    svc = make_services(tmp_path / "data", url)
    yield svc
    svc.close()
    if url:
        drop_pg_database(url)


def sent(services: Services) -> list[str]:
    """Request ids whose message is waiting in the embedded queue file."""
    huey = SqliteHuey("annotask", filename=str(services.settings.queue_path), results=False)
    messages = [huey.serializer.deserialize(raw) for raw in huey.storage.enqueued_items()]
    return [message.args[0] for message in messages]


def drop_messages(services: Services) -> None:
    """Lose every queued message (as if the queue file had been reset)."""
    SqliteHuey("annotask", filename=str(services.settings.queue_path), results=False).flush()


def add_user(services: Services, name: str = "alice", admin: bool = False) -> User:
    with services.sessions() as s, s.begin():
        return create_user(s, name, "pw", is_superuser=admin)


def new_request(services: Services, operation: str = "test:record", owner: User | None = None):
    with services.sessions() as s, s.begin():
        owner_id = owner.id if owner else None
        return rq.create_request(s, services, operation=operation, target="task", owner_id=owner_id)


def row(services: Services, request_id: str) -> BackgroundRequest | None:
    with services.read_sessions() as s:
        return s.get(BackgroundRequest, request_id)


def expire(services: Services, *ids: str) -> None:
    """Move leases (or re-send times) into the past, as if time had passed."""
    with services.sessions() as s, s.begin():
        s.execute(
            update(BackgroundRequest)
            .where(BackgroundRequest.id.in_(ids))
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# ---- creation: messages only after commit -------------------------------------------


def test_a_rolled_back_request_is_never_sent_nor_run(services):
    kept = new_request(services)
    doomed_id = None
    with pytest.raises(RuntimeError), services.sessions() as s, s.begin():
        doomed_id = rq.create_request(
            s, services, operation="test:record", target="task", owner_id=None
        ).id
        assert sent(services) == [kept.id]  # not before commit either
        raise RuntimeError("the creating transaction fails")
    assert doomed_id and row(services, doomed_id) is None
    assert sent(services) == [kept.id]
    assert kept.id != doomed_id and "%" not in kept.id and "/" not in kept.id

    ran.clear()
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker, args=(services,), kwargs={"stop": stop, "install_signals": False}
    )
    worker.start()
    try:
        done = wait_for(lambda: (r := row(services, kept.id)).status == "finished" and r)
    finally:
        stop.set()
        worker.join(timeout=10)
    assert ran == [kept.id]
    assert done.progress == 1.0 and done.message == "" and done.result_id == 1
    assert done.expiry_date > done.finished_date
    assert sent(services) == []


# ---- claiming -----------------------------------------------------------------------


def test_only_one_of_many_concurrent_claims_wins(any_db_services):
    services = any_db_services
    req = new_request(services)
    results: list[rq.Attempt | None] = []
    barrier = threading.Barrier(6)

    def claim() -> None:
        barrier.wait()
        results.append(rq.claim_attempt(services.sessions, req.id, "w", lease=LEASE))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [a for a in results if a is not None]
    assert len(winners) == 1 and winners[0].number == 1
    current = row(services, req.id)
    assert current.status == "started" and current.attempts == 1
    assert current.lease_expires_at > utcnow()
    # A duplicate message after the run, or for a cancelled request, does nothing.
    with services.sessions() as s, s.begin():
        assert rq.finish(s, winners[0], result_id=5)
    assert not rq.claim(services.sessions, req.id, "w2", lease=LEASE)
    assert row(services, req.id).status == "finished"


# ---- the reaper ---------------------------------------------------------------------


def test_two_reapers_rerun_each_dead_request_once(any_db_services, tmp_path):
    services = any_db_services
    # A second process's view: its own engine and queue client on the same stores.
    other = Services(services.settings.model_copy())
    with services.sessions() as s, s.begin():  # enough rows for the passes to overlap
        ids = [
            rq.create_request(s, services, operation="test:record", target="task", owner_id=None).id
            for _ in range(60)
        ]
    drop_messages(services)
    for request_id in ids:
        assert rq.claim(services.sessions, request_id, "dead-worker", lease=LEASE)
    expire(services, *ids)

    reports: list[rq.ReapReport] = []
    barrier = threading.Barrier(2)

    def reap(svc: Services) -> None:
        barrier.wait()
        reports.append(rq.reap_expired(svc.sessions, svc.queue, max_attempts=2))

    threads = [threading.Thread(target=reap, args=(svc,)) for svc in (services, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()

    requeued = [i for report in reports for i in report.requeued]
    assert sorted(requeued) == sorted(ids)  # each exactly once, whoever won
    assert sorted(sent(services)) == sorted(ids)
    for request_id in ids:
        current = row(services, request_id)
        assert current.status == "queued" and current.attempts == 1
        assert "stopped unexpectedly" in current.message and "attempt 2 of 2" in current.message
    # Idempotent: nothing left to do.
    again = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
    assert again.requeued == again.failed == again.resent == []


def test_the_last_attempt_fails_with_a_message(services):
    req = new_request(services)
    for number in (1, 2):
        attempt = rq.claim_attempt(services.sessions, req.id, "w", lease=LEASE)
        assert attempt is not None and attempt.number == number
        expire(services, req.id)
        report = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
    assert report.failed == [req.id]
    failed = row(services, req.id)
    assert failed.status == "failed"
    assert failed.message == "The worker running this request stopped unexpectedly (attempt 2 of 2)"
    assert failed.finished_date is not None and failed.expiry_date > failed.finished_date


def test_a_lost_message_is_sent_again_once_per_period(services):
    req = new_request(services)
    drop_messages(services)  # e.g. the embedded queue file was reset
    report = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
    assert report.resent == [] and sent(services) == []  # not due yet
    expire(services, req.id)
    report = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
    assert report.resent == [req.id] and sent(services) == [req.id]
    report = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
    assert report.resent == [] and sent(services) == [req.id]
    assert row(services, req.id).status == "queued"


def test_a_superseded_attempt_cannot_report_or_finish(services):
    req = new_request(services)
    old = rq.claim_attempt(services.sessions, req.id, "slow", lease=LEASE)
    old_progress = rq.Progress(services.sessions, old, min_interval=0)
    old_progress.report(0.2)
    expire(services, req.id)
    rq.reap_expired(services.sessions, services.queue, max_attempts=3)
    new = rq.claim_attempt(services.sessions, req.id, "fresh", lease=LEASE)
    assert new is not None and new.number == 2
    rq.Progress(services.sessions, new).report(0.1, "second run")

    with pytest.raises(rq.LeaseLost):
        old_progress.report(0.9, "stale")
    with services.sessions() as s, s.begin():
        assert not rq.finish(s, old, result_id=99)
        assert not rq.fail(s, old, "stale failure")
    current = row(services, req.id)
    assert (current.status, current.progress, current.message) == ("started", 0.1, "second run")
    assert current.worker_id == "fresh" and current.result_id is None


def test_heartbeat_keeps_a_silent_job_alive(services):
    req = new_request(services)
    lease = timedelta(seconds=0.6)
    attempt = rq.claim_attempt(services.sessions, req.id, "w", lease=lease)
    progress = rq.Progress(services.sessions, attempt)
    heartbeat = Heartbeat(renew_every=0.15, tick=0.05)
    heartbeat.add(progress)
    heartbeat.start()
    try:
        time.sleep(1.5)  # more than two leases without a single report
        report = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
        assert report.requeued == [] and row(services, req.id).status == "started"
    finally:
        heartbeat.stop()
    time.sleep(0.8)  # the job's worker "dies": nobody renews
    report = rq.reap_expired(services.sessions, services.queue, max_attempts=2)
    assert report.requeued == [req.id]


# ---- progress -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_clamped_monotonic_and_throttled(services):
    req = new_request(services)
    attempt = rq.claim_attempt(services.sessions, req.id, "w", lease=LEASE)
    clock = FakeClock()
    progress = rq.Progress(services.sessions, attempt, min_interval=0.25, clock=clock)

    progress.report(0.1, "Reading")  # the first value is written at once
    assert progress.writes == 1 and row(services, req.id).progress == 0.1
    for value in (0.2, 0.3, 0.4):  # within the interval: kept in memory only
        progress.report(value, f"at {value}")
    assert progress.writes == 1 and row(services, req.id).progress == 0.1
    clock.now += 0.3
    progress.report(0.35)  # due: writes the highest value so far and the last message
    assert progress.writes == 2
    current = row(services, req.id)
    assert (current.progress, current.message) == (0.4, "at 0.4")
    progress.report(-3)
    progress.report(float("nan"))
    assert progress.value == 0.4  # never decreases, NaN ignored
    progress.report(7.5)  # clamped to 1.0, and the final value is written at once
    assert progress.writes == 3 and row(services, req.id).progress == 1.0
    clock.now += 1
    progress.report(None, "Finishing")
    current = row(services, req.id)
    assert (current.progress, current.message) == (1.0, "Finishing")


def test_a_pending_value_is_flushed(services):
    req = new_request(services)
    attempt = rq.claim_attempt(services.sessions, req.id, "w", lease=LEASE)
    progress = rq.Progress(services.sessions, attempt, clock=FakeClock())
    progress.report(0.1)
    progress.report(0.6, "last words")
    assert row(services, req.id).progress == 0.1 and progress.dirty
    progress.flush()
    assert row(services, req.id).progress == 0.6 and not progress.dirty


# ---- what users do ------------------------------------------------------------------


def test_cancel_and_visibility(services):
    alice, bob = add_user(services, "alice"), add_user(services, "bob")
    admin = add_user(services, "root", admin=True)
    queued = new_request(services, owner=alice)
    started = new_request(services, owner=alice)
    attempt = rq.claim_attempt(services.sessions, started.id, "w", lease=LEASE)

    with services.read_sessions() as s:
        with pytest.raises(NotFound):
            rq.get_for_caller(s, FakeCaller(bob), queued.id)
        assert rq.get_for_caller(s, FakeCaller(admin, is_admin=True), queued.id).id == queued.id
        listed = s.scalars(rq.list_query(FakeCaller(alice), rq.RequestFilters())).all()
        assert {r.id for r in listed} == {queued.id, started.id}
        assert s.scalars(rq.list_query(FakeCaller(bob), rq.RequestFilters())).all() == []

    with services.sessions() as s, s.begin():
        with pytest.raises(NotFound):
            rq.cancel(s, FakeCaller(bob), queued.id)
        cancelled = rq.cancel(s, FakeCaller(alice), queued.id)
        assert (cancelled.status, cancelled.message) == ("failed", rq.CANCELED_MESSAGE)
        flagged = rq.cancel(s, FakeCaller(admin, is_admin=True), started.id)
        assert flagged.status == "started" and flagged.cancel_requested
    assert not rq.claim(services.sessions, queued.id, "w", lease=LEASE)

    progress = rq.Progress(services.sessions, attempt)
    with pytest.raises(rq.Cancelled):
        progress.report(0.5)
    with services.sessions() as s, s.begin():
        rq.fail(s, attempt, rq.CANCELED_MESSAGE)
    with services.sessions() as s, s.begin(), pytest.raises(rq.NotCancellable):
        done = new_request(services, owner=alice)
        finished = rq.claim_attempt(services.sessions, done.id, "w", lease=LEASE)
        rq.finish(s, finished)
        rq.cancel(s, FakeCaller(alice), done.id)


def test_purge_removes_only_expired_finished_requests(services):
    old, fresh, waiting = (new_request(services) for _ in range(3))
    for req in (old, fresh):
        attempt = rq.claim_attempt(services.sessions, req.id, "w", lease=LEASE)
        with services.sessions() as s, s.begin():
            rq.finish(s, attempt)
    with services.sessions() as s, s.begin():
        s.execute(
            update(BackgroundRequest)
            .where(BackgroundRequest.id == old.id)
            .values(expiry_date=utcnow() - timedelta(seconds=1))
        )
    assert rq.purge_expired(services.sessions) == 1
    assert row(services, old.id) is None
    assert row(services, fresh.id) is not None and row(services, waiting.id) is not None


# ---- the worker ---------------------------------------------------------------------


def run_in_thread(services: Services) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(services,), kwargs={"stop": stop, "install_signals": False}
    )
    thread.start()
    return thread, stop


def test_worker_failures_carry_readable_messages(services):
    unknown = new_request(services, operation="test:no-such-operation")
    user_error = new_request(services, operation="test:user-error")
    thread, stop = run_in_thread(services)
    try:
        first = wait_for(lambda: (r := row(services, unknown.id)).status == "failed" and r)
        second = wait_for(lambda: (r := row(services, user_error.id)).status == "failed" and r)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert first.message == "This server cannot run 'test:no-such-operation' requests"
    assert second.message == "The archive has no images"


def test_a_stopping_worker_requeues_jobs_that_outlive_the_grace_period(services):
    req = new_request(services, operation="test:slow")  # 5 s of work, grace is 1 s
    thread, stop = run_in_thread(services)
    wait_for(lambda: (r := row(services, req.id)).status == "started" and (r.progress or 0) > 0)
    drop_messages(services)
    began = time.monotonic()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - began < 4
    current = row(services, req.id)
    assert current.status == "queued" and current.attempts == 1
    assert "was stopped" in current.message
    assert sent(services) == [req.id]  # handed to the next worker


def test_purge_forgets_ended_lambda_requests_only(services):
    """The worker's housekeeping also forgets old lambda requests (see Worker._reap_loop)."""
    owner = add_user(services, "lambda-owner")
    with services.sessions() as s, s.begin():
        task = create_task(s, owner, {"name": "t", "labels": [{"name": "car"}]})
        ended = utcnow() - timedelta(days=2)
        for rid, status, finished in (
            ("old", "finished", ended),
            ("old-failed", "failed", ended),
            ("recent", "finished", utcnow()),
            ("waiting", "queued", None),
        ):
            s.add(
                AnnotationRequest(
                    id=rid, task_id=task.id, owner_id=owner.id, type="annotate_task",
                    status=status, finished_date=finished,
                )
            )  # fmt: skip
    with services.sessions() as s, s.begin():
        function_runs.purge_ended(s, utcnow() - timedelta(days=1))
    with services.read_sessions() as s:
        left = set(s.scalars(select(AnnotationRequest.id)))
    assert left == {"recent", "waiting"}
