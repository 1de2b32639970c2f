"""Password hashing with Argon2id (argon2-cffi's tuned defaults)."""

from __future__ import annotations

import threading
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# How many Argon2 verifications this process ran: lets tests observe that a
# remembered credential skips the (deliberately slow) hash.
_count_lock = threading.Lock()
_verified = 0


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so a wrong user name
    costs the same time as a wrong password and does not reveal which it was.
    Made on first use: a hash takes ~0.1-0.5 s and 64 MiB, which no process should
    pay at import (the worker and most CLI commands never verify a password)."""
    return _hasher.hash("annotask-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verifications() -> int:
    """The number of Argon2 verifications run in this process so far."""
    return _verified


def verify_password(password_hash: str | None, password: str) -> bool:
    global _verified
    with _count_lock:
        _verified += 1
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
