"""Same-origin checks: the ``Origin``/``Referer`` guard on login and the ``next``
target after it.

Both are pure functions over strings so the rules can be tested without HTTP.
"""

from __future__ import annotations

from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an absolute http(s) URL, or None (``null``,
    another scheme, garbage)."""
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def cross_origin_source(origin: str | None, referer: str | None, own: list[str]) -> str | None:
    """The foreign origin a request says it comes from, or None when it comes
    from one of ``own`` or says nothing (the CLI, the SDK and scripts send
    neither header). ``Origin`` wins; ``Referer`` is read only without it."""
    claimed = origin if origin is not None else referer
    if claimed is None or not claimed.strip():
        return None
    mine = {origin_of(url) for url in own} - {None}
    return None if origin_of(claimed) in mine else claimed


# Characters the URL parser of a browser removes anywhere in a URL (WHATWG URL,
# "remove all ASCII tab or newline"), and those it trims at both ends.
_REMOVED = str.maketrans("", "", "\t\n\r")
_TRIMMED = "".join(chr(c) for c in range(0x21))


def safe_next(target: str | None, default: str = "/tasks") -> str:
    """A path on this site to go to after login, or ``default``.

    The check runs on the URL as a browser will read it: tabs and newlines
    removed, C0 controls and spaces trimmed, backslashes read as slashes. What
    remains must be a path (``/x``), never a network path (``//host``), a scheme
    (``javascript:``) or anything carrying other control characters.
    """
    if not target:
        return default
    text = target.translate(_REMOVED).strip(_TRIMMED).replace("\\", "/")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return default
    if not text.startswith("/") or text.startswith("//"):
        return default
    try:
        parts = urlsplit(text)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    return text
