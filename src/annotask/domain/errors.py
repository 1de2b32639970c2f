"""Errors the domain raises; the HTTP layer maps each to one status code.

Messages are written for the person reading them in a CLI's CRITICAL line or
in the UI, so they name the field or object at fault.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"detail": self.message}


class ValidationFailed(DomainError):
    """Bad input: ``errors`` maps field names to messages (DRF's layout)."""

    status_code = 400

    def __init__(self, errors: Mapping[str, list[str] | str] | str) -> None:
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = {k: [v] if isinstance(v, str) else list(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))

    def body(self) -> dict:
        return dict(self.errors)


class Errors:
    """Collects every violation of one request, DRF style: ``{path: [messages]}``.

    Validation reports all mistakes at once rather than the first one, so a
    client fixes its request in one round trip; ``raise_if_any`` ends the check.
    """

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        self.items.setdefault(path or "non_field_errors", []).append(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


class NotAuthenticated(DomainError):
    status_code = 401

    def __init__(self, message: str = "Authentication credentials were not provided.") -> None:
        super().__init__(message)


class PermissionDenied(DomainError):
    status_code = 403

    def __init__(self, message: str = "You do not have permission to perform this action.") -> None:
        super().__init__(message)


class NotFound(DomainError):
    status_code = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class Conflict(DomainError):
    status_code = 409


class RateLimited(DomainError):
    status_code = 429


class InsufficientStorage(DomainError):
    """The server's disk is full (or the file would not fit): 507, never a 500, with
    the reason, so the client knows retrying later (once space is freed) can work."""

    status_code = 507


class DataLost(DomainError):
    """Files the database says exist are gone and cannot be rebuilt: the server lost
    data. A 5xx (the client did nothing wrong), logged at ERROR by whoever raises it."""

    status_code = 500


NO_SPACE_MESSAGE = "No space left on device: the server's disk is full."
# SQLITE_FULL and PostgreSQL's disk_full (53100) reach us as database errors, not OSError.
_DISK_FULL_TEXTS = ("database or disk is full", "no space left on device", "could not extend file")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) means the disk is full:
    ENOSPC or EDQUOT from the OS, or the database's own "disk full" error."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if (
            getattr(exc, "sqlstate", None) == "53100"
            or getattr(getattr(exc, "orig", None), "sqlstate", None) == "53100"
        ):
            return True
        text = str(exc).lower()
        if type(exc).__module__.startswith(("sqlalchemy", "sqlite3", "psycopg")) and any(
            marker in text for marker in _DISK_FULL_TEXTS
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
