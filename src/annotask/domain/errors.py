"""Errors the domain raises; the HTTP layer maps each to one status code.

Messages are written for the person reading them in a CLI's CRITICAL line or
in the UI, so they name the field or object at fault.
"""

from __future__ import annotations


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

    def __init__(self, errors: dict[str, list[str] | str] | str) -> None:
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
