"""Password hashing with Argon2id (argon2-cffi's tuned defaults)."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# How many Argon2 verifications this process ran: lets tests observe that a
# remembered credential skips the (deliberately slow) hash.
_count_lock = threading.Lock()
_verified = 0


# A hash to verify against when the user does not exist, so a wrong user name
# costs the same time as a wrong password and does not reveal which it was. A
# constant (made once with ``PasswordHasher().hash("annotask-timing-equaliser")``):
# hashing it at import cost every process ~0.1-0.5 s and 64 MiB at start. A test
# checks that its parameters are still the hasher's.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$PHTGnDFL6A+MAJgEZ1uTMw$"
    "QvFqUxrHmRrqu9UV1TvcS55wFqU6wudjNA9TWAduOn0"
)


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
        return _hasher.verify(password_hash or DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
