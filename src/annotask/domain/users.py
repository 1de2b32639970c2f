"""User accounts: creation, lookup, passwords, and the first admin."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotask.db.models import User
from annotask.domain.auth import end_logins
from annotask.domain.errors import NotFound, ValidationFailed
from annotask.domain.login_throttle import forget_addresses
from annotask.domain.passwords import hash_password

USERNAME_RE = re.compile(r"^[\w.@+-]+$")


def validate_username(username: str) -> None:
    if not username or len(username) > 150 or not USERNAME_RE.match(username):
        raise ValidationFailed(
            {"username": "Use at most 150 letters, digits and the characters . @ + - _"}
        )


def create_user(
    session: Session,
    username: str,
    password: str,
    *,
    is_superuser: bool = False,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    validate_username(username)
    if not password:
        raise ValidationFailed({"password": "The password must not be empty."})
    # Hashed before the first query: in a transaction of its own (the CLI's), the slow
    # hash then runs before SQLite's write lock is taken, not while saves wait for it.
    password_hash = hash_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ValidationFailed({"username": f"A user named '{username}' already exists."})
    user = User(
        username=username,
        password_hash=password_hash,
        is_superuser=is_superuser,
        email=email,
        first_name=first_name,
        last_name=last_name,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_name(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"User '{username}' does not exist.")
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """A new password ends the user's sessions and ``Token`` key (whoever knew the
    old one is signed out); personal access tokens stay, as in CVAT."""
    if not password:
        raise ValidationFailed({"password": "The password must not be empty."})
    password_hash = hash_password(password)  # before the lock, as in ``create_user``
    user = get_user_by_name(session, username)
    user.password_hash = password_hash
    end_logins(session, user)
    return user


def deactivate(session: Session, username: str) -> User:
    """Lock an account out at once: its sessions and ``Token`` key end, and its
    personal access tokens stop working while it stays inactive."""
    user = get_user_by_name(session, username)
    user.is_active = False
    end_logins(session, user)
    forget_addresses(session, user)
    return user


def reactivate(session: Session, username: str) -> User:
    """Let the account sign in again; its personal access tokens work again too
    (ended sessions and ``Token`` keys do not come back)."""
    user = get_user_by_name(session, username)
    user.is_active = True
    return user


def ensure_first_admin(session: Session) -> tuple[str, str] | None:
    """Create ``admin`` with a random password when there are no users at all.

    Returns the credentials so the caller can print them once; afterwards only
    the hash exists.
    """
    if session.scalar(select(func.count(User.id))):
        return None
    password = secrets.token_urlsafe(12)
    create_user(session, "admin", password, is_superuser=True)
    return "admin", password
