"""The one exception type of the media layer.

Everything in :mod:`annotask.media` that fails because of the *input* (a corrupt
file, an impossible frame range, an invalid manifest) raises :class:`MediaError`
with a message meant for the person who uploaded the data. The domain layer turns
it into the request's failure message without having to know which library
(Pillow, PyAV, json) complained.
"""

from __future__ import annotations

import os


class MediaError(Exception):
    """A problem with the user's media, described in words a user understands.

    ``filename`` is the path the caller gave (useful for logs); messages only ever
    show its base name so that server-side directories never leak to users.
    """

    def __init__(self, message: str, filename: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.filename = os.fspath(filename) if filename is not None else None

    def __str__(self) -> str:
        return self.message


def display_name(path: str | os.PathLike[str] | None) -> str:
    """The name to show a user for a file: its base name, never the server path."""
    if path is None:
        return "<data>"
    return os.path.basename(os.fspath(path)) or os.fspath(path)
