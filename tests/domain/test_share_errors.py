"""Share listing errors say the same for a directory that is missing and one that
lies outside the share (through a symbolic link), so nobody can probe the server's
file system through ``GET /api/server/share``."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotask.domain.errors import ValidationFailed
from annotask.domain.share import list_share
from annotask.settings import Settings


def test_missing_and_outside_directories_read_alike(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (share / "escape").symlink_to(outside)
    settings = Settings(data_dir=tmp_path / "data", share_root=share)
    said = []
    for name in ("escape/", "missing/", "escape", "missing"):
        with pytest.raises(ValidationFailed) as caught:
            list_share(settings, name)
        said.append(
            caught.value.errors["directory"][0].replace(repr(name), "'NAME'").replace(name, "NAME")
        )
    assert said[0] == said[1] and said[2] == said[3], said
