"""Short leases renewed by a heartbeat: who builds a chunk now, in any process.

A lease lives for a few seconds in the shared store (the disk cache's lock
database or Redis) and its holder's heartbeat thread renews it while the work
runs. A holder that dies (SIGKILL, a crash) stops renewing, so the lease
expires within :data:`LEASE_SECONDS` and another request takes over: a killed
web process delays a chunk by seconds, not by a long fixed TTL. Taking a lease
never blocks; waiting for one is the caller's business (on the event loop).
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Protocol

LEASE_SECONDS = 10.0
RENEW_EVERY = LEASE_SECONDS / 3

log = logging.getLogger(__name__)


class LeaseStore(Protocol):
    """Atomic primitives of a lease store; ``token`` identifies the holder."""

    def add(self, name: str, token: str, seconds: float) -> bool:
        """Take ``name`` unless someone holds it (an expired lease is free)."""

    def renew(self, name: str, token: str, seconds: float) -> bool:
        """Extend the lease to ``seconds`` from now if ``token`` still holds it."""

    def release(self, name: str, token: str) -> None:
        """Free ``name`` if ``token`` holds it."""

    def held(self, name: str) -> bool:
        """Whether anyone holds an unexpired lease on ``name``."""


class Lease:
    """A held lease, renewed every ``seconds / 3`` by a daemon thread until released
    (use it as a context manager). If a renewal finds the lease taken over (this
    process stalled past the expiry), ``lost`` becomes true; the work may finish
    anyway, since building a chunk twice is harmless."""

    def __init__(self, store: LeaseStore, name: str, token: str, seconds: float) -> None:
        self._store = store
        self.name = name
        self._token = token
        self._seconds = seconds
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(
            target=self._heartbeat, name=f"lease:{name}"[:60], daemon=True
        )
        self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                if not self._store.renew(self.name, self._token, self._seconds):
                    self.lost = True
                    log.warning("lease %s was taken over before its work ended", self.name)
                    return
            except Exception:  # the store is unreachable for now: try again next beat
                log.exception("could not renew lease %s", self.name)

    def release(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._store.release(self.name, self._token)
        except Exception:  # it expires by itself in a few seconds
            log.exception("could not release lease %s", self.name)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def try_lease(store: LeaseStore, name: str, seconds: float = LEASE_SECONDS) -> Lease | None:
    """The lease on ``name`` with its heartbeat running, or None if another holds it."""
    token = secrets.token_hex(16)
    if not store.add(name, token, seconds):
        return None
    return Lease(store, name, token, seconds)
