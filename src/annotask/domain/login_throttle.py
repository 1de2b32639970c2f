"""Throttling of password attempts, shared by every way to present a password.

Failures are counted per *account*, not per spelling: the login form by user
name, the login form by e-mail and HTTP Basic all resolve to the same account
key, so none of them gets fresh tries. Two caps apply:

- per (account, client address): tight (``login_rate_limit`` in
  ``login_rate_window_seconds``), so one client guesses slowly;
- per account over all addresses: looser (``login_account_rate_limit`` in
  ``login_account_rate_window_seconds``), against guessing from many addresses.
  Addresses the account logged in from recently (``login_known_address_days``)
  are exempt, so strangers elsewhere cannot lock the owner out of their usual
  place; elsewhere the lock lasts only while failures keep coming, at most the
  window after the last one.

Rows live in the database, so every web process sees the same counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession

from annotask.db.base import utcnow
from annotask.db.models import KnownLoginAddress, LoginFailure, User
from annotask.domain.errors import RateLimited
from annotask.settings import Settings

TOO_MANY = "Too many failed login attempts. Try again later."


@dataclass(frozen=True)
class LoginLimits:
    per_address: int
    per_address_window: timedelta
    per_account: int
    per_account_window: timedelta
    known_address_for: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginLimits:
        return cls(
            per_address=settings.login_rate_limit,
            per_address_window=timedelta(seconds=settings.login_rate_window_seconds),
            per_account=settings.login_account_rate_limit,
            per_account_window=timedelta(seconds=settings.login_account_rate_window_seconds),
            known_address_for=timedelta(days=settings.login_known_address_days),
        )


def account_key(user: User | None, identifier: str) -> str:
    """The counter's key: the account when the name resolves to one, else the
    name as typed, case-folded (a name that matches nobody still gets counted, so
    429 does not tell whether an account exists)."""
    if user is not None:
        return f"user:{user.id}"
    return "name:" + identifier.strip().casefold()[:240]


def check(db: DbSession, key: str, address: str, limits: LoginLimits, user: User | None) -> None:
    """Raise ``RateLimited`` when either cap is reached; called before the password
    is verified, so a throttled attempt costs no hashing and reveals nothing."""
    now = utcnow()
    per_address = db.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.username == key,
            LoginFailure.address == address,
            LoginFailure.at >= now - limits.per_address_window,
        )
    )
    if per_address and per_address >= limits.per_address:
        raise RateLimited(TOO_MANY)
    if user is not None and _is_known_address(db, user, address, limits):
        return
    per_account = db.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.username == key,
            LoginFailure.at >= now - limits.per_account_window,
        )
    )
    if per_account and per_account >= limits.per_account:
        raise RateLimited(TOO_MANY)


def record_failure(db: DbSession, key: str, address: str, limits: LoginLimits) -> None:
    """Count one failure, and forget those older than both windows."""
    oldest = utcnow() - max(limits.per_address_window, limits.per_account_window)
    db.execute(delete(LoginFailure).where(LoginFailure.at < oldest))
    db.add(LoginFailure(username=key, address=address[:64]))


def record_success(db: DbSession, user: User, address: str) -> None:
    """Remember the address as one this account uses (exempt from the account cap)."""
    now = utcnow()
    row = db.scalar(
        select(KnownLoginAddress)
        .where(KnownLoginAddress.user_id == user.id, KnownLoginAddress.address == address[:64])
        .limit(1)
    )
    if row is None:
        db.add(KnownLoginAddress(user_id=user.id, address=address[:64], last_success_at=now))
    else:
        row.last_success_at = now


def forget_addresses(db: DbSession, user: User) -> None:
    db.execute(delete(KnownLoginAddress).where(KnownLoginAddress.user_id == user.id))


def _is_known_address(db: DbSession, user: User, address: str, limits: LoginLimits) -> bool:
    return (
        db.scalar(
            select(KnownLoginAddress.id)
            .where(
                KnownLoginAddress.user_id == user.id,
                KnownLoginAddress.address == address,
                KnownLoginAddress.last_success_at >= utcnow() - limits.known_address_for,
            )
            .limit(1)
        )
        is not None
    )
