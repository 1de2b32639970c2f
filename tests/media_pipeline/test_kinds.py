"""The media-kind seam (issue 13 item 1): what differs between kinds lives in
``domain/task_data/kinds/``, one module per kind, behind one protocol."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

import annotask
from annotask.domain.task_data import kinds
from annotask.domain.task_data.kinds import CreationFailed, images, point_cloud, video
from annotask.domain.task_data.kinds.base import Kind
from annotask.media.kinds import MediaKind

SRC = Path(annotask.__file__).parent
KINDS_DIR = SRC / "domain" / "task_data" / "kinds"
#: The measure of the issue: branches on the media kind outside kinds/ and media/.
BRANCH = re.compile(
    r"MediaKind\.(IMAGE|VIDEO|PDF|POINT_CLOUD)|media_type ==|dimension =="
    r"|\bdata\.video is (not )?None"  # a video task, told apart from its row
)
#: Not a media-kind branch: merging cuboids compares 3D geometry.
ALLOWED = {("annotations/merge.py", 'dimension == "3d"')}


def test_no_media_kind_branches_outside_the_kind_modules():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(("media/", "domain/task_data/kinds/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = BRANCH.search(line)
            if match and not any(rel == f and text in line for f, text in ALLOWED):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "branch on the media kind outside kinds/:\n" + "\n".join(found)


def test_kind_modules_join_no_paths():
    """Files are reached through ``TaskLayout`` (``source_file``...), so another storage
    swaps only the layout: no ``a / b`` and no ``os.path.join`` in a kind module."""
    modules = sorted(KINDS_DIR.glob("*.py"))
    assert {p.stem for p in modules} >= {"__init__", "images", "video", "point_cloud"}
    joins = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                joins.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Attribute) and node.attr == "join":
                joins.append(f"{path.name}:{node.lineno}")
    assert not joins, f"paths joined in kind modules: {joins}"


@pytest.mark.parametrize(
    ("media_kind", "module"),
    [
        (MediaKind.IMAGE, images),
        (MediaKind.PDF, images),  # rendered to page images first
        (MediaKind.VIDEO, video),
        (MediaKind.POINT_CLOUD, point_cloud),
    ],
)
def test_registry_picks_one_module_per_kind(media_kind, module):
    assert kinds.kind_for(media_kind) is module
    data = types.SimpleNamespace(media_type=module.media_type)
    assert kinds.kind_of_data(data) is module


def test_files_of_no_task_kind_are_refused_with_a_message():
    with pytest.raises(CreationFailed, match="cannot make a task"):
        kinds.kind_for(MediaKind.MANIFEST)


def test_a_new_kind_is_one_module_and_its_registration(monkeypatch):
    monkeypatch.setattr(kinds, "_BY_MEDIA", dict(kinds._BY_MEDIA))
    monkeypatch.setattr(kinds, "_BY_TYPE", dict(kinds._BY_TYPE))
    new: Kind = types.ModuleType("fake_kind")  # type: ignore[assignment]
    new.media_type = "fake"  # the rest of the protocol is not called here
    kinds.register(new, MediaKind.UNKNOWN)
    assert kinds.kind_for(MediaKind.UNKNOWN) is new
    assert kinds.kind_of_data(types.SimpleNamespace(media_type="fake")) is new
    assert kinds.kind_for(MediaKind.IMAGE) is images


def test_creation_does_not_import_serving():
    code = (
        "import sys, annotask.domain.task_data.pipeline as p; "
        "print('annotask.domain.task_data.serving' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"
