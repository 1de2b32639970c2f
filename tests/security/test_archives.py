"""Archive extraction: traversal, links, bombs and lying headers fail cleanly."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from annotask.security import UnsafeInput
from annotask.security.archives import extract_archive, is_archive
from annotask.security.errors import format_bytes

MiB = 1024 * 1024
LIMITS = {"max_entries": 100, "max_total_bytes": 10 * MiB}


def make_zip(path: Path, entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def tar_file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    return info, data


def tar_special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def make_tar(path: Path, members: Iterable[tuple[tarfile.TarInfo, bytes]], mode: str = "w") -> Path:
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_is_archive() -> None:
    for name in ("a.zip", "A.ZIP", "a.tar", "a.tar.gz", "a.tgz", "a.tar.bz2", "a.tar.xz"):
        assert is_archive(name)
    for name in ("a.jpg", "a.gz", "zip", "a.7z"):
        assert not is_archive(Path(name))


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(2 * 1024**3) == "2.0 GiB"
    assert format_bytes(1536 * 1024**3) == "1536.0 GiB"


def test_extracts_zip_and_skips_mac_metadata(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "images.zip",
        [
            ("dir/", b""),
            ("dir/a.jpg", b"A" * 1000),
            ("кадры/b.png", b"B"),
            ("__MACOSX/dir/._a.jpg", b"junk"),
            ("dir/.DS_Store", b"junk"),
        ],
    )
    dest = tmp_path / "out"
    files = extract_archive(archive, dest, **LIMITS)
    assert files == [dest / "dir" / "a.jpg", dest / "кадры" / "b.png"]
    assert (dest / "dir" / "a.jpg").read_bytes() == b"A" * 1000
    assert tree(dest) == ["dir", "dir/a.jpg", "кадры", "кадры/b.png"]


@pytest.mark.parametrize(
    ("suffix", "mode"),
    [
        (".tar", "w"),
        (".tar.gz", "w:gz"),
        (".tgz", "w:gz"),
        (".tar.bz2", "w:bz2"),
        (".tar.xz", "w:xz"),
    ],
)
def test_extracts_tar_family(tmp_path: Path, suffix: str, mode: str) -> None:
    members = [
        tar_special("./", tarfile.DIRTYPE),
        tar_special("./sub", tarfile.DIRTYPE),
        tar_file("./sub/a.jpg", b"hello", mode=0o4755),
        tar_file("b.txt", b"world"),
        tar_file("./.DS_Store", b"junk"),
    ]
    archive = make_tar(tmp_path / f"data{suffix}", members, mode)
    dest = tmp_path / "out"
    files = extract_archive(archive, dest, **LIMITS)
    assert files == [dest / "sub" / "a.jpg", dest / "b.txt"]
    assert (dest / "sub" / "a.jpg").read_bytes() == b"hello"
    # Client-chosen modes (setuid here) are not carried over.
    assert stat.S_IMODE((dest / "sub" / "a.jpg").stat().st_mode) & 0o7000 == 0


@pytest.mark.parametrize(
    "bad_name",
    ["../evil.txt", "/abs.txt", "a/../../evil.txt", "C:/evil.txt", "a\\..\\..\\evil.txt"],
)
def test_zip_traversal_is_refused(tmp_path: Path, bad_name: str) -> None:
    archive = make_zip(tmp_path / "x.zip", [("ok.txt", b"ok"), (bad_name, b"evil")])
    dest = tmp_path / "deep" / "out"
    with pytest.raises(UnsafeInput, match="x.zip contains an unsafe entry"):
        extract_archive(archive, dest, **LIMITS)
    assert tree(dest) == []
    assert not list(tmp_path.rglob("evil.txt"))


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (tar_special("link", tarfile.SYMTYPE, "/etc/passwd"), "a link"),
        (tar_special("hard", tarfile.LNKTYPE, "first.txt"), "a link"),
        (tar_special("fifo", tarfile.FIFOTYPE), "special file"),
        (tar_special("dev", tarfile.CHRTYPE), "special file"),
        (tar_special("blk", tarfile.BLKTYPE), "special file"),
        (tar_file("/etc/cron.d/x", b"evil"), "unsafe entry"),
        (tar_file("../evil.txt", b"evil"), "unsafe entry"),
    ],
)
def test_tar_links_devices_and_traversal_are_refused(
    tmp_path: Path, member: tuple[tarfile.TarInfo, bytes], message: str
) -> None:
    archive = make_tar(tmp_path / "x.tar.gz", [tar_file("first.txt", b"1"), member], "w:gz")
    dest = tmp_path / "out"
    (dest / "keep").mkdir(parents=True)
    (dest / "keep" / "mine.txt").write_text("mine")
    with pytest.raises(UnsafeInput, match=message):
        extract_archive(archive, dest, **LIMITS)
    # Rolled back: first.txt is gone, what was there before stays.
    assert tree(dest) == ["keep", "keep/mine.txt"]


def test_zip_symlink_entry_is_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(tmp_path / "x.zip", [(info, b"/etc/passwd")])
    with pytest.raises(UnsafeInput, match="a link"):
        extract_archive(archive, tmp_path / "out", **LIMITS)


def test_encrypted_zip_entry_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "x.zip", [("secret.txt", b"data")])
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit by hand
    # in the local header (offset 6) and the central directory entry (offset 8).
    data = bytearray(archive.read_bytes())
    data[6] |= 0x1
    data[data.index(b"PK\x01\x02") + 8] |= 0x1
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeInput, match="encrypted"):
        extract_archive(archive, tmp_path / "out", **LIMITS)


def test_zip_bomb_fails_fast_before_writing(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", [(f"z{i}.bin", bytes(4 * MiB)) for i in range(4)])
    assert archive.stat().st_size < 100_000
    dest = tmp_path / "out"
    started = time.monotonic()
    with pytest.raises(UnsafeInput, match=r"^Archive bomb.zip expands to more than 8.0 MiB$"):
        extract_archive(archive, dest, max_entries=10, max_total_bytes=8 * MiB)
    assert time.monotonic() - started < 1
    assert tree(dest) == []


def test_tar_bomb_fails_before_writing_the_entry(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "bomb.tar.gz",
        [tar_file("small.txt", b"x"), tar_file("big", bytes(4 * MiB))],
        "w:gz",
    )
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput, match="expands to more than 1.0 MiB"):
        extract_archive(archive, dest, max_entries=10, max_total_bytes=MiB)
    assert tree(dest) == []


def test_ratio_limit(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "r.zip", [("zeros.bin", bytes(3 * MiB))])
    with pytest.raises(UnsafeInput, match="decompression bomb"):
        extract_archive(archive, tmp_path / "out", **LIMITS, max_ratio=100)
    # Small archives are exempt: text compresses well and cannot hurt.
    small = make_zip(tmp_path / "s.zip", [("zeros.bin", bytes(100_000))])
    assert extract_archive(small, tmp_path / "out2", **LIMITS, max_ratio=100)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_entry_count_limit(tmp_path: Path, kind: str) -> None:
    if kind == "zip":
        archive = make_zip(tmp_path / "many.zip", [(f"{i}.txt", b"") for i in range(20)])
    else:
        archive = make_tar(tmp_path / "many.tar", [tar_file(f"{i}.txt", b"") for i in range(20)])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput, match="has more than 10 entries"):
        extract_archive(archive, dest, max_entries=10, max_total_bytes=MiB)
    assert tree(dest) == []


def test_lying_zip_sizes_are_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_zip(tmp_path / "lie.zip", [("a.bin", b"x" * 10)])
    # Declare 5 instead of 10 uncompressed bytes in both headers (the 4-byte field
    # follows the compressed size, 5): zipfile stops at 5 bytes and its CRC check fails.
    data = archive.read_bytes()
    field = b"\x05\x00\x00\x00\x0a\x00\x00\x00"
    assert data.count(field) == 2
    patched = data.replace(field, b"\x05\x00\x00\x00\x05\x00\x00\x00")
    archive.write_bytes(patched)
    with pytest.raises(UnsafeInput, match="damaged"):
        extract_archive(archive, tmp_path / "out", **LIMITS)

    # And if a reader ever yields more than the header declared, our own count stops it.
    honest = make_zip(tmp_path / "honest.zip", [("a.bin", b"x" * 10)])
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info: io.BytesIO(bytes(3 * MiB)))
    dest = tmp_path / "out2"
    with pytest.raises(UnsafeInput, match="larger than its header says"):
        extract_archive(honest, dest, **LIMITS)
    assert tree(dest) == []


def test_huge_tar_metadata_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "pax.tar.gz"
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        info, data = tar_file("a.txt", b"a")
        info.pax_headers = {"comment": "x" * (2 * MiB)}
        tf.addfile(info, io.BytesIO(data))
    with pytest.raises(UnsafeInput, match="metadata block that is too large"):
        extract_archive(archive, tmp_path / "out", **LIMITS)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicate_entries_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "dup.zip", [("a.txt", b"first"), ("a.txt", b"second")])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput, match="more than once"):
        extract_archive(archive, dest, **LIMITS)
    assert tree(dest) == []


def test_existing_files_are_not_overwritten(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "a.txt").write_text("mine")
    archive = make_zip(tmp_path / "x.zip", [("a.txt", b"theirs")])
    with pytest.raises(UnsafeInput, match="overwrite"):
        extract_archive(archive, dest, **LIMITS)
    assert (dest / "a.txt").read_text() == "mine"


def test_existing_symlink_in_destination_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "link").symlink_to(outside)
    archive = make_tar(tmp_path / "x.tar", [tar_file("link/evil.txt", b"evil")])
    with pytest.raises(UnsafeInput, match="through a link"):
        extract_archive(archive, dest, **LIMITS)
    assert list(outside.iterdir()) == []


def test_file_and_directory_clash(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "x.tar", [tar_file("a", b"file"), tar_file("a/b.txt", b"x")])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput, match="clashes with a file"):
        extract_archive(archive, dest, **LIMITS)
    assert tree(dest) == []


@pytest.mark.parametrize(
    "name", ["junk.zip", "junk.tar.gz", "junk.tar.bz2", "junk.tar.xz", "junk.tar"]
)
def test_damaged_archives_are_readable_errors(tmp_path: Path, name: str) -> None:
    archive = tmp_path / name
    archive.write_bytes(os.urandom(2048))
    with pytest.raises(UnsafeInput, match=f"^Archive {name} "):
        extract_archive(archive, tmp_path / "out", **LIMITS)


def test_truncated_tar_is_rolled_back(tmp_path: Path) -> None:
    archive = make_tar(
        tmp_path / "cut.tar", [tar_file("a.txt", b"a" * 600), tar_file("b.txt", b"b" * 5000)]
    )
    archive.write_bytes(archive.read_bytes()[:3000])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeInput, match="cut.tar"):
        extract_archive(archive, dest, **LIMITS)
    assert tree(dest) == []


def test_unsupported_type(tmp_path: Path) -> None:
    archive = tmp_path / "x.7z"
    archive.write_bytes(b"7z")
    with pytest.raises(UnsafeInput, match="not a supported archive"):
        extract_archive(archive, tmp_path / "out", **LIMITS)
