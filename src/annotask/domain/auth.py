"""Credentials: login sessions with CSRF tokens, login keys, personal access tokens.

Secrets are random and only their SHA-256 is stored, so a database leak does not
hand out sessions or tokens.
"""

from __future__ import annotations

import base64
import binascii
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
from sqlalchemy.orm import sessionmaker

from annotask.db.base import utcnow
from annotask.db.models import AccessToken, AuthToken, Session, User
from annotask.domain import login_throttle
from annotask.domain.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from annotask.domain.login_throttle import LoginLimits
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


def find_account(db: DbSession, identifier: str, *, by_email: bool) -> User | None:
    """The account a name designates: the exact user name first, then (when
    ``by_email``) an e-mail address, compared without regard to case."""
    user = db.scalar(select(User).where(User.username == identifier))
    if user is None and by_email and "@" in identifier:
        user = db.scalar(
            select(User)
            .where(func.lower(User.email) == identifier.strip().lower())
            .order_by(User.id)
            .limit(1)
        )
    return user


@dataclass
class PasswordCheck:
    """The outcome of one password presentation: the user (None when refused)
    and the throttle key the attempt counts against."""

    user: User | None
    key: str


def check_password(
    db: DbSession,
    identifier: str,
    password: str,
    *,
    address: str,
    limits: LoginLimits,
    by_email: bool,
) -> PasswordCheck:
    """Every password check goes through here, whatever the scheme: the throttle
    first (``RateLimited``), then the hash. The caller records a failure with
    ``login_throttle.record_failure`` in a write transaction of its own."""
    user = find_account(db, identifier, by_email=by_email)
    key = login_throttle.account_key(user, identifier)
    login_throttle.check(db, key, address, limits, user)
    if not verify_password(user.password_hash if user else None, password) or not (
        user and user.is_active
    ):
        return PasswordCheck(None, key)
    return PasswordCheck(user, key)


def login(
    db: DbSession,
    *,
    username: str,
    password: str,
    address: str,
    session_days: int,
    limits: LoginLimits,
) -> LoginResult | None:
    """Check a password and open a session; None when the credentials are wrong
    (the failure is recorded in ``db``, whose transaction the caller commits).
    ``sign_in`` is the route's way: it keeps the hash out of the write transaction."""
    checked = check_password(db, username, password, address=address, limits=limits, by_email=True)
    if checked.user is None:
        login_throttle.record_failure(db, checked.key, address, limits)
        return None
    return _open_session(db, checked.user, address, session_days)


def _open_session(db: DbSession, user: User, address: str, session_days: int) -> LoginResult:
    """The writes of a successful login: known address, last login, session, key."""
    login_throttle.record_success(db, user, address)
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


def logout(db: DbSession, user: User, session_key: str | None) -> None:
    """End the session used, if any, and the user's ``Token`` key (as dj-rest-auth's
    logout deletes ``request.user.auth_token``). Personal access tokens stay."""
    if session_key:
        db.execute(delete(Session).where(Session.key_hash == digest(session_key)))
    db.execute(delete(AuthToken).where(AuthToken.user_id == user.id))


def end_logins(db: DbSession, user: User) -> None:
    """End every session and the ``Token`` key of ``user``: after a password change
    or deactivation. Personal access tokens are left to their owner, as in CVAT."""
    db.execute(delete(Session).where(Session.user_id == user.id))
    db.execute(delete(AuthToken).where(AuthToken.user_id == user.id))


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
    db: DbSession,
    username: str,
    password: str,
    *,
    address: str,
    limits: LoginLimits,
    verified: VerifiedCredentials | None = None,
) -> PasswordCheck:
    """HTTP Basic: the user name only (as Django's backend), throttled with the
    same counters as the login form.

    The user row is read every time; a credential ``verified`` remembers skips
    the throttle and the Argon2 verification (it is no guess: it matched the
    stored hash, which has not changed since)."""
    if verified is not None:
        user = find_account(db, username, by_email=False)
        if user is not None and verified.known(user, password):
            key = login_throttle.account_key(user, username)
            return PasswordCheck(user if user.is_active else None, key)
    checked = check_password(db, username, password, address=address, limits=limits, by_email=False)
    if checked.user is not None and verified is not None:
        verified.remember(checked.user, password)
    return checked


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


def require_token_management(via_access_token: bool) -> None:
    """A request authenticated by a personal access token may list and read tokens
    but not create or change them: a leaked token must not mint itself successors."""
    if via_access_token:
        raise PermissionDenied(
            "Access tokens cannot be created or changed with an access token; "
            "sign in with your password."
        )


def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


# ---- commands: each owns its transactions ------------------------------------------------


def sign_in(
    sessions: sessionmaker[DbSession],
    *,
    username: str,
    password: str,
    address: str,
    session_days: int,
    limits: LoginLimits,
    read_sessions: sessionmaker[DbSession] | None = None,
) -> LoginResult | None:
    """``POST /api/auth/login``: the throttle and the password in a read transaction
    (``read_sessions``), then the outcome (a failure, or the new session) in a short
    write transaction of its own, committed even when the login is refused.

    Argon2 takes tens of milliseconds, hundreds on a busy machine: inside a write
    transaction it held SQLite's write lock, so every login stalled every save of
    every annotator for that long (and 50 logins at once queued saves for seconds).
    A password changed or an account deactivated between the two steps refuses the
    login (not counted as a failure), as if it had come a moment later; so does the
    throttle, checked again in the write transaction with the failures that
    concurrent attempts recorded meanwhile.
    """
    with (read_sessions or sessions)() as db, db.begin():
        checked = check_password(
            db, username, password, address=address, limits=limits, by_email=True
        )
        verified = (checked.user.id, checked.user.password_hash) if checked.user else None
    with sessions() as db, db.begin():
        if verified is None:
            login_throttle.record_failure(db, checked.key, address, limits)
            return None
        user = db.get(User, verified[0])
        if user is None or not user.is_active or user.password_hash != verified[1]:
            return None
        # Failures other attempts recorded while this one hashed count too: a batch of
        # guesses sent at once gets no more tries than the same guesses one by one.
        login_throttle.check(db, checked.key, address, limits, user)
        return _open_session(db, user, address, session_days)


@dataclass(frozen=True)
class Credentials:
    """What a request presents, read from its headers and cookies by the HTTP layer."""

    scheme: str  # the Authorization scheme, lowercase ("" without the header)
    secret: str  # what follows it
    session_key: str | None  # the session cookie
    writes: bool  # an unsafe method (POST, PATCH...): read-only tokens are refused
    address: str  # the client's, for the login throttle


@dataclass(frozen=True)
class Authenticated:
    user: User
    scheme: str  # "session", "bearer", "token" or "basic"
    access_token: AccessToken | None = None
    session_key: str | None = None
    csrf_token: str | None = None  # the session's, for the double-submit check


def authenticate(
    sessions: sessionmaker[DbSession],
    read_sessions: sessionmaker[DbSession],
    credentials: Credentials,
    *,
    limits: LoginLimits,
    verified: VerifiedCredentials | None = None,
) -> Authenticated | None:
    """Who presents ``credentials`` (spec 0.8), or None (anonymous, or an unknown
    session cookie). One short read transaction, closed before the handler runs (its
    writes never wait on it); a Basic failure and a token's use are written in
    transactions of their own."""
    with read_sessions() as db, db.begin():
        return _authenticate(db, sessions, credentials, limits, verified)


def _authenticate(
    db: DbSession,
    sessions: sessionmaker[DbSession],
    given: Credentials,
    limits: LoginLimits,
    verified: VerifiedCredentials | None,
) -> Authenticated | None:
    scheme, secret = given.scheme, given.secret
    if scheme == "bearer" and secret:
        found = access_token_user(db, secret)
        if found is None:
            raise NotAuthenticated("Invalid or expired access token.")
        user, token = found
        _touch_soon(sessions, token)
        if token.read_only and given.writes:
            raise PermissionDenied("This access token is read-only.")
        return Authenticated(user, "bearer", access_token=token)
    if scheme == "token" and secret:
        token_owner = token_user(db, secret)
        if token_owner is None:
            raise NotAuthenticated("Invalid token.")
        return Authenticated(token_owner, "token")
    if scheme == "basic" and secret:
        try:
            name, _, password = base64.b64decode(secret).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise NotAuthenticated("Invalid basic header.") from exc
        checked = basic_user(
            db, name, password, address=given.address, limits=limits, verified=verified
        )
        if checked.user is None:
            with sessions() as writer, writer.begin():
                login_throttle.record_failure(writer, checked.key, given.address, limits)
            raise NotAuthenticated("Invalid username/password.")
        return Authenticated(checked.user, "basic")
    if given.session_key:
        found_session = session_user(db, given.session_key)
        if found_session is None:
            return None
        user, csrf_token = found_session
        return Authenticated(user, "session", session_key=given.session_key, csrf_token=csrf_token)
    return None


def _touch_soon(sessions: sessionmaker[DbSession], token: AccessToken) -> None:
    """Record a token's use, at most once a minute and at best effort: never fail a
    request over a usage timestamp."""
    if token.last_used_date and utcnow() - token.last_used_date < timedelta(minutes=1):
        return
    try:
        with sessions() as session, session.begin():
            touch_access_token(session, token.id)
    except Exception:
        pass
