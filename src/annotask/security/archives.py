"""Bounded, containment-checked extraction of uploaded zip and tar archives.

``zipfile.extractall`` and ``tarfile.extractall`` trust the archive: names with
``..``, links, device files and decompression bombs all get through (tarfile's
extraction filters are version dependent). This module writes every entry itself
so that it can validate names with ``safe_relative_name``, refuse anything that is
not a plain file or directory, check declared sizes *before* reading data, and
count the real bytes while streaming, so a header that lies cannot let a bomb
through. On any failure everything this call created is removed again.

Supported: zip, tar, tar.gz/tgz, tar.bz2/tbz2, tar.xz/txz (stdlib only). 7z and
rar are not supported: rar needs an external ``unrar`` binary, and 7z would add
``py7zr`` and several compiled dependencies; it can sit behind the same checks later.
"""

from __future__ import annotations

import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from annotask.security.errors import UnsafeInput, format_bytes
from annotask.security.paths import safe_relative_name

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")

#: Metadata that macOS and Finder add to archives; never task data.
SKIPPED_TOP_DIRS = frozenset({"__MACOSX"})
SKIPPED_NAMES = frozenset({".DS_Store"})

#: Archives that expand to less than this are never refused for their ratio:
#: small text files legitimately compress a lot and cannot hurt.
RATIO_FLOOR_BYTES = 1024 * 1024
#: Largest tar metadata block (pax header, GNU long name) read into memory.
MAX_TAR_METADATA_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024


def is_archive(path: Path | str) -> bool:
    """Tell whether the file name has an archive extension ``extract_archive`` handles.

    Decided by name, like CVAT's media-type detection, so it is cheap enough to
    call while listing uploads; ``extract_archive`` then verifies the content.
    """
    name = os.fspath(path).lower()
    return name.endswith(ZIP_SUFFIXES + TAR_SUFFIXES)


class _Extraction:
    """Limits bookkeeping plus the files and directories one extraction created."""

    def __init__(
        self,
        archive: Path,
        dest: Path,
        max_entries: int,
        max_total_bytes: int,
        max_ratio: float | None,
        disk_reserve_bytes: int | None,
    ) -> None:
        self.label = f"Archive {archive.name}"
        self.dest = dest
        self.real_dest = Path(os.path.realpath(dest))
        self.archive_size = max(archive.stat().st_size, 1)
        self.max_entries = max_entries
        self.max_total_bytes = max_total_bytes
        self.max_ratio = max_ratio
        # What the disk can take, measured once: the extraction itself is what fills it.
        self.disk_budget: int | None = None
        if disk_reserve_bytes is not None:
            self.disk_budget = max(shutil.disk_usage(dest).free - disk_reserve_bytes, 0)
        self.entries = 0
        self.declared = 0
        self.written = 0
        self.seen: set[str] = set()
        self.files: list[Path] = []
        self.created: list[Path] = []

    # ---- limits ---------------------------------------------------------

    def count_entries(self, count: int = 1) -> None:
        self.entries += count
        if self.entries > self.max_entries:
            raise UnsafeInput(f"{self.label} has more than {self.max_entries} entries")

    def _check_total(self, total: int) -> None:
        if total > self.max_total_bytes:
            limit = format_bytes(self.max_total_bytes)
            raise UnsafeInput(f"{self.label} expands to more than {limit}")
        if self.disk_budget is not None and total > self.disk_budget:
            raise UnsafeInput(
                f"{self.label} expands to more than the server's free disk space allows "
                f"({format_bytes(self.disk_budget)} after its reserve)"
            )
        ratio = total / self.archive_size
        if self.max_ratio is not None and total > RATIO_FLOOR_BYTES and ratio > self.max_ratio:
            raise UnsafeInput(
                f"{self.label} expands more than {self.max_ratio:g} times its size; "
                "it looks like a decompression bomb"
            )

    def declare(self, size: int) -> None:
        self.declared += size
        self._check_total(self.declared)

    # ---- writing --------------------------------------------------------

    def entry_name(self, raw: str) -> str | None:
        """Validated relative name, or None for entries that are skipped."""
        text = raw.replace("\\", "/")
        if text in ("", ".", "./"):
            return None  # tar's entry for the archive root
        try:
            name = safe_relative_name(raw)
        except UnsafeInput as exc:
            raise UnsafeInput(f"{self.label} contains an unsafe entry: {exc}") from None
        parts = name.split("/")
        if parts[0] in SKIPPED_TOP_DIRS or parts[-1] in SKIPPED_NAMES:
            return None
        return name

    def refuse(self, raw: str, what: str) -> UnsafeInput:
        return UnsafeInput(f"{self.label} contains {what} ({raw!r}); only files are allowed")

    def make_dirs(self, name: str) -> Path:
        """Create ``dest/name`` component by component, refusing existing symlinks."""
        current = self.dest
        for part in name.split("/"):
            current = current / part
            if current.is_symlink():
                raise UnsafeInput(f"{self.label}: {name!r} would be written through a link")
            if not current.exists():
                try:
                    current.mkdir()
                except FileExistsError:
                    raise UnsafeInput(f"{self.label}: {name!r} clashes with a file") from None
                self.created.append(current)
            elif not current.is_dir():
                raise UnsafeInput(f"{self.label}: {name!r} clashes with a file")
        return current

    def write_file(self, name: str, declared_size: int, source: IO[bytes]) -> None:
        if name in self.seen:
            raise UnsafeInput(f"{self.label} contains {name!r} more than once")
        self.seen.add(name)
        parent_name, _, _ = name.rpartition("/")
        parent = self.make_dirs(parent_name) if parent_name else self.dest
        if not Path(os.path.realpath(parent)).is_relative_to(self.real_dest):
            raise UnsafeInput(f"{self.label}: {name!r} would be written outside the target")
        target = parent / name.rsplit("/", 1)[-1]
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(target, flags, 0o644)
        except FileExistsError:
            raise UnsafeInput(f"{self.label}: {name!r} would overwrite an existing file") from None
        self.created.append(target)
        entry_bytes = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                entry_bytes += len(chunk)
                self.written += len(chunk)
                if entry_bytes > declared_size:
                    raise UnsafeInput(f"{self.label}: {name!r} is larger than its header says")
                self._check_total(self.written)
                out.write(chunk)
        self.files.append(target)

    def rollback(self) -> None:
        """Remove what this extraction created, newest first; never anything else."""
        for path in reversed(self.created):
            try:
                if path.is_dir() and not path.is_symlink():
                    path.rmdir()
                else:
                    path.unlink()
            except OSError:
                pass


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode):  # 3 = Unix: mode bits are meaningful
        if stat.S_ISLNK(mode):
            return "a link"
        if stat.S_ISDIR(mode):
            return "dir"
        if not stat.S_ISREG(mode):
            return "a device or special file"
    return "dir" if info.is_dir() else "file"


def _extract_zip(archive: Path, job: _Extraction) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        # Everything below is known from the central directory: fail before writing.
        job.count_entries(len(infos))
        job.declare(sum(info.file_size for info in infos))
        for info in infos:
            name = job.entry_name(info.filename)
            kind = _zip_kind(info)
            if kind not in ("file", "dir"):
                raise job.refuse(info.filename, kind)
            if info.flag_bits & 0x1:
                raise UnsafeInput(f"{job.label} is encrypted; encrypted entries are not supported")
            if name is None:
                continue
            if kind == "dir":
                job.make_dirs(name)
                continue
            with zf.open(info) as source:
                job.write_file(name, info.file_size, source)


class _TarMetadataTooLarge(Exception):
    """Raised from inside tarfile's header parsing, which re-raises foreign errors."""


class _BoundedTarInfo(tarfile.TarInfo):
    """TarInfo that refuses huge pax/GNU long-name blocks before tarfile reads them.

    tarfile reads those metadata blocks into memory whole, so without this a tiny
    compressed archive could make us allocate gigabytes before the first entry.
    """

    def _proc_member(self, tarfile_obj: tarfile.TarFile) -> tarfile.TarInfo:
        metadata_types = (
            tarfile.GNUTYPE_LONGNAME,
            tarfile.GNUTYPE_LONGLINK,
            tarfile.XHDTYPE,
            tarfile.XGLTYPE,
            tarfile.SOLARIS_XHDTYPE,
        )
        if self.type in metadata_types and self.size > MAX_TAR_METADATA_BYTES:
            raise _TarMetadataTooLarge()
        # A private hook of tarfile that typeshed leaves out, hence the ignore.
        member: tarfile.TarInfo = super()._proc_member(tarfile_obj)  # type: ignore[misc]
        return member


def _extract_tar(archive: Path, job: _Extraction) -> None:
    # Members are checked one by one as the stream is read: listing them first
    # would decompress the whole archive once just to look, which is exactly what
    # a bomb wants. A member's declared size is checked before its data is read.
    with tarfile.open(archive, mode="r:*", tarinfo=_BoundedTarInfo) as tf:
        for member in tf:
            job.count_entries()
            name = job.entry_name(member.name)
            if member.issym() or member.islnk():
                raise job.refuse(member.name, "a link")
            if member.isdir():
                if name is not None:
                    job.make_dirs(name)
                continue
            if not member.isreg():
                raise job.refuse(member.name, "a device or special file")
            if member.issparse():
                raise job.refuse(member.name, "a sparse file")
            if name is None:
                continue
            job.declare(member.size)
            source = tf.extractfile(member)
            if source is None:  # pragma: no cover - isreg() members always have data
                raise job.refuse(member.name, "an unreadable entry")
            with source:
                job.write_file(name, member.size, source)


@contextmanager
def _readable_errors(label: str) -> Iterator[None]:
    """Turn library errors about damaged archives into ``UnsafeInput``."""
    try:
        yield
    except _TarMetadataTooLarge:
        raise UnsafeInput(f"{label} has a tar metadata block that is too large") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError) as exc:
        raise UnsafeInput(f"{label} is damaged or not a valid archive ({exc})") from None
    except (zlib.error, lzma.LZMAError, NotImplementedError) as exc:
        raise UnsafeInput(f"{label} could not be decompressed ({exc})") from None
    except OSError as exc:
        # gzip/bz2 report bad data as OSError; keep server paths out of the message.
        raise UnsafeInput(f"{label} could not be extracted ({exc.strerror or exc})") from None


def extract_archive(
    archive: Path,
    dest: Path,
    *,
    max_entries: int,
    max_total_bytes: int,
    max_ratio: float | None = None,
    disk_reserve_bytes: int | None = None,
) -> list[Path]:
    """Extract ``archive`` into ``dest`` and return the regular files written, in order.

    Refused with ``UnsafeInput`` (and nothing left behind): absolute names, ``..``,
    links, devices, FIFOs, sparse or encrypted entries, duplicates, entries that
    would overwrite an existing file, more than ``max_entries`` entries, more than
    ``max_total_bytes`` uncompressed, or (if given) an expansion ratio above
    ``max_ratio`` for archives over ``RATIO_FLOOR_BYTES``, or (if
    ``disk_reserve_bytes`` is given) more than the free space of ``dest``'s disk
    minus that reserve. Declared sizes are checked before anything is written, and
    the real bytes again before each chunk is written, so at most the limit ever
    reaches the disk even when a header lies. ``__MACOSX/`` and
    ``.DS_Store`` entries are skipped. Files are written with mode 0644 whatever
    the archive says, so no setuid bits or odd permissions arrive from clients.
    """
    archive = Path(archive)
    dest = Path(dest)
    lowered = archive.name.lower()
    if lowered.endswith(ZIP_SUFFIXES):
        extract = _extract_zip
    elif lowered.endswith(TAR_SUFFIXES):
        extract = _extract_tar
    else:
        raise UnsafeInput(f"{archive.name} is not a supported archive (zip or tar)")
    dest.mkdir(parents=True, exist_ok=True)
    job = _Extraction(archive, dest, max_entries, max_total_bytes, max_ratio, disk_reserve_bytes)
    try:
        with _readable_errors(job.label):
            extract(archive, job)
    except BaseException:
        job.rollback()
        raise
    return job.files
