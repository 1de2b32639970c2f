"""Credentials: login sessions with CSRF tokens, login keys, personal access tokens.

Secrets are random and only their SHA-256 is stored, so a database leak does not
hand out sessions or tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session as DbSession

from annotask.db.base import utcnow
from annotask.db.models import AccessToken, AuthToken, LoginFailure, Session, User
from annotask.domain.errors import NotAuthenticated, NotFound, RateLimited, ValidationFailed
from annotask.domain.passwords import verify_password

PAT_PREFIX = "atk_"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class LoginResult:
    user: User
    session_key: str
    csrf_token: str
    token_key: str  # the DRF-style key, exactly 40 characters


def login(
    db: DbSession,
    *,
    username: str,
    password: str,
    address: str,
    session_days: int,
    rate_limit: int,
    rate_window_seconds: int,
) -> LoginResult | None:
    """Check a password and open a session; None when the credentials are wrong.

    The caller records the failure with ``record_login_failure`` in its own
    transaction, since the request's transaction is rolled back on refusal.
    """
    since = utcnow() - timedelta(seconds=rate_window_seconds)
    db.execute(delete(LoginFailure).where(LoginFailure.at < since))
    failures = db.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.username == username, LoginFailure.address == address
        )
    )
    if failures and failures >= rate_limit:
        raise RateLimited("Too many failed login attempts. Try again later.")
    user = db.scalar(
        select(User).where((User.username == username) | (User.email == username))
        if "@" in username
        else select(User).where(User.username == username)
    )
    if not verify_password(user.password_hash if user else None, password) or not (
        user and user.is_active
    ):
        return None
    user.last_login = utcnow()
    session_key = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    db.add(
        Session(
            key_hash=digest(session_key),
            csrf_token=csrf_token,
            user_id=user.id,
            expires_at=utcnow() + timedelta(days=session_days),
        )
    )
    return LoginResult(user, session_key, csrf_token, _login_key(db, user))


def record_login_failure(db: DbSession, username: str, address: str) -> None:
    db.add(LoginFailure(username=username, address=address))


def _login_key(db: DbSession, user: User) -> str:
    """A fresh ``Token`` key per login (the old one stops working), as DRF's authtoken."""
    key = secrets.token_hex(20)
    existing = db.scalar(select(AuthToken).where(AuthToken.user_id == user.id))
    if existing is None:
        db.add(AuthToken(user_id=user.id, key_hash=digest(key)))
    else:
        existing.key_hash = digest(key)
        existing.created_date = utcnow()
    return key


def logout(db: DbSession, session_key: str) -> None:
    db.execute(delete(Session).where(Session.key_hash == digest(session_key)))


def session_user(db: DbSession, session_key: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, or None."""
    row = db.scalar(select(Session).where(Session.key_hash == digest(session_key)))
    if row is None or row.expires_at < utcnow() or not row.user.is_active:
        return None
    return row.user, row.csrf_token


def token_user(db: DbSession, key: str) -> User | None:
    row = db.scalar(select(AuthToken).where(AuthToken.key_hash == digest(key)))
    if row is None or not row.user.is_active:
        return None
    return row.user


class VerifiedCredentials:
    """HTTP Basic credentials that passed Argon2 recently, remembered per process.

    Clients using Basic send the password with every request, and Argon2 is slow
    on purpose (tens of milliseconds of CPU): verifying each time would make the
    password hash the server's bottleneck. An entry is keyed on the user id, the
    *stored* hash and an HMAC of the presented password under a random key that
    never leaves this process, so:

    - a password change (new stored hash) or a deactivation (the user row is
      still read on every request) takes effect at once;
    - the memory of the process never holds a password, nor a digest that could
      be attacked offline without the key;
    - failed attempts are never remembered (each costs a full verification).

    ``ttl`` seconds bound how long a remembered credential is trusted; 0 turns
    the memory off. Bounded in size: the oldest entries go first.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def _fingerprint(self, user: User, password: str) -> bytes:
        message = f"{user.id}\0{user.password_hash}\0".encode() + password.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def known(self, user: User, password: str) -> bool:
        if self.ttl <= 0:
            return False
        fingerprint = self._fingerprint(user, password)
        with self._lock:
            expires = self._entries.get(fingerprint)
            if expires is None:
                return False
            if expires <= self._clock():
                del self._entries[fingerprint]
                return False
            return True

    def remember(self, user: User, password: str) -> None:
        if self.ttl <= 0:
            return
        fingerprint = self._fingerprint(user, password)
        with self._lock:
            self._entries[fingerprint] = self._clock() + self.ttl
            self._entries.move_to_end(fingerprint)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


def basic_user(
    db: DbSession, username: str, password: str, verified: VerifiedCredentials | None = None
) -> User | None:
    """The active user these Basic credentials name, or None.

    The user row is read every time; only the Argon2 verification is skipped
    for a credential ``verified`` remembers."""
    user = db.scalar(select(User).where(User.username == username))
    if user is not None and verified is not None and verified.known(user, password):
        return user if user.is_active else None
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or not user.is_active:
        return None
    if verified is not None:
        verified.remember(user, password)
    return user


def access_token_user(db: DbSession, secret: str) -> tuple[User, AccessToken] | None:
    row = db.scalar(select(AccessToken).where(AccessToken.key_hash == digest(secret)))
    if row is None or not row.owner.is_active:
        return None
    if row.expiry_date is not None and row.expiry_date < utcnow():
        return None
    return row.owner, row


def touch_access_token(db: DbSession, token_id: int) -> None:
    """Record use, at most once a minute (the write is not worth more)."""
    now = utcnow()
    row = db.get(AccessToken, token_id)
    if row is not None and (
        row.last_used_date is None or now - row.last_used_date > timedelta(minutes=1)
    ):
        row.last_used_date = now


def create_access_token(
    db: DbSession,
    owner: User,
    *,
    name: str,
    expiry_date: datetime | None = None,
    read_only: bool = False,
) -> tuple[AccessToken, str]:
    """Issue a personal access token; the secret is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 255:
        raise ValidationFailed({"name": "The name must have 1 to 255 characters."})
    if expiry_date is not None and expiry_date.tzinfo is None:
        expiry_date = expiry_date.replace(tzinfo=UTC)  # the SDK sends naive datetimes
    if expiry_date is not None and expiry_date <= utcnow():
        raise ValidationFailed({"expiry_date": "The expiry date must be in the future."})
    secret = PAT_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        name=name,
        key_hash=digest(secret),
        owner_id=owner.id,
        expiry_date=expiry_date,
        read_only=read_only,
    )
    db.add(token)
    db.flush()
    db.refresh(token)
    return token, secret


def list_access_tokens(db: DbSession, owner: User) -> list[AccessToken]:
    return list(
        db.scalars(
            select(AccessToken).where(AccessToken.owner_id == owner.id).order_by(AccessToken.id)
        )
    )


def get_access_token(db: DbSession, owner: User, token_id: int) -> AccessToken:
    token = db.get(AccessToken, token_id)
    if token is None or token.owner_id != owner.id:
        raise NotFound()
    return token


def revoke_access_token(db: DbSession, owner: User, token_id: int) -> None:
    db.delete(get_access_token(db, owner, token_id))


def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthenticated()
    return user
