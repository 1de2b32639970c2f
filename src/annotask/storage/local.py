"""Objects as plain files under one directory (the data directory by default).

Writes follow the rule the rest of annotask already keeps for generated files
(``media/_io.py``, chunk and export writers): a temporary file in the target's
own directory, renamed into place once complete, so a reader never sees half a
file and a killed writer leaves only a ``.tmp-*`` file that no listing shows.
As there, no fsync by default (a crash before the creation commit is redone by
the retried job); ``durable=True`` adds the fsync of the file and its directory
that TUS uploads need, since the client is told those bytes are safe.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from annotask.storage.base import (
    COPY_BUFFER,
    TEMP_PREFIX,
    InvalidKey,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    Source,
    check_key,
    check_prefix,
    iter_source,
)


class _RangeReader(io.RawIOBase):
    """At most ``remaining`` bytes of an open file, from its current position."""

    def __init__(self, raw: io.FileIO, remaining: int) -> None:
        self._raw = raw
        self._remaining = remaining

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._remaining <= 0:
            return 0
        view = memoryview(buffer)[: self._remaining]
        n = self._raw.readinto(view) or 0
        self._remaining -= n
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """:class:`~annotask.storage.base.Storage` on a local directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    # ---- paths -------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def describe(self) -> str:
        return f"local ({self.root})"

    # ---- reading -----------------------------------------------------------

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        path = self._path(key)
        try:
            raw = open(path, "rb", buffering=0)  # noqa: SIM115 - returned to the caller
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if start:
            raw.seek(start)
        if length is None:
            return io.BufferedReader(raw, COPY_BUFFER)
        return io.BufferedReader(_RangeReader(raw, length), COPY_BUFFER)

    def size(self, key: str) -> int:
        try:
            info = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if not stat.S_ISREG(info.st_mode):
            raise ObjectNotFound(key)
        return info.st_size

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        prefix = check_prefix(prefix)
        base = self.root / prefix if prefix else self.root
        found = []
        for directory, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(TEMP_PREFIX)]
            rel_dir = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue
                path = os.path.join(directory, name)
                try:
                    size = os.stat(path).st_size
                except FileNotFoundError:  # removed meanwhile
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                found.append(ObjectInfo(key, size))
        found.sort(key=lambda info: info.key.encode())
        yield from found

    # ---- writing -----------------------------------------------------------

    @contextlib.contextmanager
    def _temporary(self, key: str, durable: bool, exclusive: bool = False) -> Iterator[str]:
        """A temporary path beside ``key``'s file, renamed onto it when the block
        ends normally and removed when it does not. ``exclusive``: hard-linked
        instead of renamed, which fails if the target exists (atomic create-only)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".part", dir=target.parent)
        os.close(fd)
        try:
            yield tmp
            if durable:
                with open(tmp, "rb+") as written:
                    os.fsync(written.fileno())
            if exclusive:
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    raise ObjectExists(key) from None
                os.unlink(tmp)
            else:
                os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if durable:
            _fsync_dir(target.parent)

    @contextlib.contextmanager
    def writer(
        self, key: str, *, durable: bool = False, exclusive: bool = False
    ) -> Iterator[BinaryIO]:
        with (
            self._temporary(key, durable, exclusive) as tmp,
            open(tmp, "wb", buffering=COPY_BUFFER) as out,
        ):
            yield out

    def write(
        self, key: str, source: Source, *, durable: bool = False, exclusive: bool = False
    ) -> int:
        size = 0
        with self.writer(key, durable=durable, exclusive=exclusive) as out:
            for piece in iter_source(source):
                out.write(piece)
                size += len(piece)
        return size

    def write_file(
        self, key: str, path: str | Path, *, durable: bool = False, move: bool = False
    ) -> int:
        size = os.stat(path).st_size
        if move:
            target = self._path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                # Same file system: a rename, no byte copied (uploads into a task).
                os.replace(path, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
            else:
                if durable:
                    _fsync_dir(target.parent)
                return size
        with self._temporary(key, durable) as tmp:
            shutil.copyfile(path, tmp)  # the kernel copies (copy_file_range/sendfile)
        if move:
            os.unlink(path)
        return size

    # ---- deleting ----------------------------------------------------------

    def delete(self, key: str) -> bool:
        try:
            self._path(key).unlink()
        except (FileNotFoundError, NotADirectoryError):
            return False
        except IsADirectoryError:
            return False
        return True

    def delete_prefix(self, prefix: str) -> int:
        prefix = check_prefix(prefix)
        if not prefix:
            raise InvalidKey("refusing to delete the whole storage (empty prefix)")
        base = self.root / prefix
        if not base.is_dir():
            return 0
        removed = 0
        for directory, _dirs, files in os.walk(base, topdown=False):
            for name in files:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(directory, name))
                    if not name.startswith(TEMP_PREFIX):
                        removed += 1
            # A directory a concurrent writer just filled again stays.
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        return removed

    def remove_stale_temporaries(self, prefix: str = "", older_than_seconds: float = 86400) -> int:
        """Remove ``.tmp-*`` files that killed writers left under ``prefix``."""
        prefix = check_prefix(prefix)
        base = self.root / prefix if prefix else self.root
        cutoff = time.time() - older_than_seconds
        removed = 0
        for directory, _dirs, files in os.walk(base):
            for name in files:
                path = os.path.join(directory, name)
                if name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(FileNotFoundError):
                        if os.stat(path).st_mtime < cutoff:
                            os.unlink(path)
                            removed += 1
        return removed
