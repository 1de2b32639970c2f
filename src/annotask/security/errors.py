"""The one exception type for rejected client input.

``UnsafeInput`` subclasses ``ValueError`` so that generic "bad value" handling
still catches it, while the API layer can map it precisely: to a 400 response for
synchronous requests, or to a failed request/job with ``str(exc)`` as the message
for background work. Messages are written for the person who sent the input and
never contain a traceback or server-internal paths beyond what they gave us;
``format_bytes`` keeps the sizes in those messages uniform.
"""

from __future__ import annotations


class UnsafeInput(ValueError):
    """Client input that was refused; ``message`` is safe to show to the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def format_bytes(size: float) -> str:
    """Human-readable binary size for messages: ``2.0 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
