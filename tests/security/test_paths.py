"""Containment and file-name rules from the issue: nothing a client names escapes its root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotask.security import UnsafeInput
from annotask.security.paths import (
    MAX_NAME_BYTES,
    resolve_in_root,
    safe_client_path,
    safe_relative_name,
    safe_upload_name,
    unique_name,
)


@pytest.fixture
def share(tmp_path: Path) -> Path:
    root = tmp_path / "share"
    (root / "images" / "sub").mkdir(parents=True)
    (root / "images" / "a.jpg").write_bytes(b"a")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "share2").mkdir()
    (tmp_path / "share2" / "b.jpg").write_bytes(b"b")
    return root


def test_resolves_files_and_directories(share: Path) -> None:
    real = Path(os.path.realpath(share))
    assert resolve_in_root(share, "images/a.jpg") == real / "images" / "a.jpg"
    assert resolve_in_root(share, "images/") == real / "images"
    assert resolve_in_root(share, "images/./sub/") == real / "images" / "sub"
    assert resolve_in_root(share, "") == real
    assert resolve_in_root(share, ".") == real


def test_leading_slash_is_root_only_when_asked(share: Path) -> None:
    real = Path(os.path.realpath(share))
    assert resolve_in_root(share, "/", leading_slash_is_root=True) == real
    assert resolve_in_root(share, "/images/a.jpg", leading_slash_is_root=True) == (
        real / "images" / "a.jpg"
    )
    with pytest.raises(UnsafeInput, match="absolute"):
        resolve_in_root(share, "//etc/passwd", leading_slash_is_root=True)
    with pytest.raises(UnsafeInput, match="absolute"):
        resolve_in_root(share, "/images/a.jpg")


@pytest.mark.parametrize(
    ("user_path", "message"),
    [
        ("/etc/passwd", "absolute"),
        ("C:/Windows", "absolute"),
        ("..", r"'\.\.'"),
        ("../secret.txt", r"'\.\.'"),
        ("images/../../secret.txt", r"'\.\.'"),
        ("images/..", r"'\.\.'"),
        ("images//a.jpg", "empty path components"),
        ("images/a.jpg\x00.png", "NUL"),
        ("..\\secret.txt", "use '/'"),
        ("images\\a.jpg", "use '/'"),
        ("images/missing.jpg", "does not exist"),
        ("images/a.jpg/", "not a directory"),
    ],
)
def test_rejects_unsafe_paths(share: Path, user_path: str, message: str) -> None:
    with pytest.raises(UnsafeInput, match=message):
        resolve_in_root(share, user_path)


def test_missing_paths_allowed_on_request(share: Path) -> None:
    path = resolve_in_root(share, "images/new.jpg", must_exist=False)
    assert path == Path(os.path.realpath(share)) / "images" / "new.jpg"


def test_symlink_outside_root_is_rejected(share: Path, tmp_path: Path) -> None:
    (share / "escape.txt").symlink_to(tmp_path / "secret.txt")
    (share / "escape_dir").symlink_to(tmp_path)
    (share / "dangling").symlink_to(tmp_path / "nowhere")
    for user_path in ("escape.txt", "escape_dir/", "escape_dir/secret.txt"):
        with pytest.raises(UnsafeInput, match="does not exist"):
            resolve_in_root(share, user_path)
    with pytest.raises(UnsafeInput, match="does not exist"):
        resolve_in_root(share, "dangling", must_exist=False)


def test_outside_reads_exactly_like_missing(share: Path, tmp_path: Path) -> None:
    """The message must not tell what exists beyond the root."""
    (tmp_path / "secret.txt").write_text("s")
    (share / "out").symlink_to(tmp_path / "secret.txt")
    (share / "gone").symlink_to(tmp_path / "nowhere")
    said = []
    for name in ("out", "gone", "missing"):
        with pytest.raises(UnsafeInput) as caught:
            resolve_in_root(share, name)
        said.append(caught.value.message.replace(repr(name), "NAME"))
    assert said == ["NAME does not exist"] * 3


def test_sibling_with_common_prefix_is_outside(share: Path, tmp_path: Path) -> None:
    # A string-prefix check would accept ".../share2" as inside ".../share".
    (share / "link").symlink_to(tmp_path / "share2")
    with pytest.raises(UnsafeInput, match="does not exist"):
        resolve_in_root(share, "link/b.jpg")


def test_symlinks_inside_root_are_fine(share: Path, tmp_path: Path) -> None:
    (share / "alias").symlink_to(share / "images")
    assert resolve_in_root(share, "alias/a.jpg") == Path(os.path.realpath(share / "images/a.jpg"))
    # The root itself may be reached through a symlink.
    (tmp_path / "root_link").symlink_to(share)
    assert resolve_in_root(tmp_path / "root_link", "images/a.jpg").read_bytes() == b"a"


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("img.jpg", "img.jpg"),
        ("/Users/ann/img.jpg", "img.jpg"),
        ("C:\\x\\y.jpg", "y.jpg"),
        ("C:y.jpg", "y.jpg"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("снимок 01.jpg", "снимок 01.jpg"),
        ("...", "..."),
        (".hidden", ".hidden"),
    ],
)
def test_safe_upload_name_keeps_basename(client_name: str, expected: str) -> None:
    assert safe_upload_name(client_name) == expected


@pytest.mark.parametrize(
    "client_name",
    ["", " ", ".", "..", "dir/", "a/..", "C:", "a\x00b.jpg", "a\nb.jpg", "a\x7f", "x" * 256],
)
def test_safe_upload_name_rejects(client_name: str) -> None:
    with pytest.raises(UnsafeInput):
        safe_upload_name(client_name)


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("img.jpg", "img.jpg"),
        ("cam1/0001.jpg", "cam1/0001.jpg"),  # a dropped folder keeps its folders
        ("shots\\day1\\a.jpg", "shots/day1/a.jpg"),
        ("./cam1/0001.jpg", "cam1/0001.jpg"),
        ("/home/ann/cam1/0001.jpg", "0001.jpg"),  # a local path (cvat-sdk): base name
        ("C:\\data\\b.jpg", "b.jpg"),
        ("../../etc/passwd", "passwd"),  # never a directory the client chose
        ("a//b.jpg", "b.jpg"),
        ("cam1/../../x.jpg", "x.jpg"),
    ],
)
def test_safe_client_path_keeps_clean_relative_folders(client_name: str, expected: str) -> None:
    assert safe_client_path(client_name) == expected


@pytest.mark.parametrize("client_name", ["", "..", "a/\x00.jpg", "cam1/a\nb.jpg"])
def test_safe_client_path_rejects(client_name: str) -> None:
    with pytest.raises(UnsafeInput):
        safe_client_path(client_name)


def test_safe_upload_name_length_is_counted_in_bytes() -> None:
    assert safe_upload_name("x" * MAX_NAME_BYTES) == "x" * MAX_NAME_BYTES
    with pytest.raises(UnsafeInput, match="longer"):
        safe_upload_name("я" * 128)  # 256 bytes in UTF-8


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b.jpg", "a/b.jpg"),
        ("./a/./b.jpg", "a/b.jpg"),
        ("dir/", "dir"),
        ("a\\b.jpg", "a/b.jpg"),
        ("кадры/1.png", "кадры/1.png"),
    ],
)
def test_safe_relative_name_normalises(name: str, expected: str) -> None:
    assert safe_relative_name(name) == expected


@pytest.mark.parametrize(
    "name",
    ["", ".", "./", "/a", "../a", "a/../../b", "a\\..\\..\\b", "a//b", "C:/x", "a\x00", "a/\x01"],
)
def test_safe_relative_name_rejects(name: str) -> None:
    with pytest.raises(UnsafeInput):
        safe_relative_name(name)


def test_unique_name(tmp_path: Path) -> None:
    assert unique_name(tmp_path, "ann.xml") == "ann.xml"
    (tmp_path / "ann.xml").touch()
    assert unique_name(tmp_path, "ann.xml") == "ann_1.xml"
    (tmp_path / "ann_1.xml").symlink_to(tmp_path / "gone")  # broken links count as taken
    assert unique_name(tmp_path, "ann.xml") == "ann_2.xml"
    (tmp_path / "data.tar.gz").touch()
    assert unique_name(tmp_path, "data.tar.gz") == "data_1.tar.gz"
    (tmp_path / "README").touch()
    assert unique_name(tmp_path, "README") == "README_1"


def test_unique_name_stays_storable(tmp_path: Path) -> None:
    long_name = "x" * (MAX_NAME_BYTES - 4) + ".jpg"
    (tmp_path / long_name).touch()
    candidate = unique_name(tmp_path, long_name)
    assert candidate.endswith("_1.jpg")
    assert len(candidate.encode()) <= MAX_NAME_BYTES
    (tmp_path / candidate).touch()
