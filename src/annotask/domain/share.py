"""Browsing the connected file share (``GET /api/server/share``), one level at a time."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from annotask.domain.errors import ValidationFailed
from annotask.media.kinds import shown_kind
from annotask.security.errors import UnsafeInput
from annotask.security.paths import resolve_in_root
from annotask.settings import Settings


@dataclass(frozen=True)
class ShareEntry:
    name: str
    type: str  # "REG" or "DIR"
    mime_type: str


def list_share(settings: Settings, directory: str, search: str = "") -> list[ShareEntry]:
    """Entries of one share directory: directories first, then files, each by name.

    Symlinks that resolve outside the share are not listed at all.
    """
    if settings.share_root is None:
        raise ValidationFailed({"directory": "The connected file share is not configured."})
    root = Path(os.path.realpath(settings.share_root))
    try:
        path = resolve_in_root(root, directory or "/", leading_slash_is_root=True)
    except UnsafeInput as exc:
        raise ValidationFailed(
            {"directory": [f"{directory} is an invalid directory: {exc}"]}
        ) from exc
    if not path.is_dir():
        raise ValidationFailed({"directory": [f"{directory} is an invalid directory"]})
    entries = []
    with os.scandir(path) as listing:
        for item in listing:
            if search and not item.name.startswith(search):
                continue
            real = Path(os.path.realpath(item.path))
            if not real.is_relative_to(root):
                continue
            if real.is_dir():
                entries.append(ShareEntry(item.name, "DIR", "DIR"))
            elif real.is_file():
                entries.append(ShareEntry(item.name, "REG", shown_kind(item.name)))
    entries.sort(key=lambda e: (e.type != "DIR", e.name))
    return entries
