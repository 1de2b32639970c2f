"""The storage seam: objects by key, on a local directory or in an S3 bucket.

Every byte of task data (uploads, media, chunks, manifests, previews, exports,
backups) is meant to go through :class:`Storage`, so that several hosts without
a shared file system can serve the same tasks. The protocol is the common part
of a file system and an object store, and no more:

* keys, never paths: ``tasks/12/chunks/0-compressed.zip``, POSIX separators,
  no ``.``/``..`` segments, no leading ``/`` (checked by :func:`check_key`);
* whole objects written atomically (a reader sees the old object, the new one,
  or nothing; never part of one, even when the writer is killed mid-write);
  concurrent writers of one key: the last complete write wins;
* reads are streams, optionally of a byte range, so an object larger than
  memory is never held whole;
* prefixes are *directories*: ``list("tasks/1")`` is what lies under
  ``tasks/1/``, never ``tasks/10/`` too (so ``delete_prefix`` of one task can
  never touch another);
* a local path where the object is a plain file, for ``sendfile``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

#: Bytes moved per read or write call when streaming.
COPY_BUFFER = 1 << 20

Source = BinaryIO | Iterable[bytes] | bytes
"""What a write takes: a readable binary stream, an iterable of byte strings, or bytes."""


class StorageError(Exception):
    """A storage operation failed (the message says which object and why)."""


class ObjectNotFound(StorageError, FileNotFoundError):
    """The key names no object."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object at {key!r}")
        self.key = key


class ObjectExists(StorageError, FileExistsError):
    """An exclusive write found the key taken (by an earlier or a concurrent writer)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"an object already exists at {key!r}")
        self.key = key


class InvalidKey(StorageError, ValueError):
    """A key or prefix that could escape the storage root or is not portable."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`InvalidKey`.

    Valid: non-empty, relative, ``/``-separated, every segment non-empty and not
    ``.`` or ``..``, no backslash or NUL, no segment starting with ``.tmp-``
    (reserved for the local storage's in-flight writes)."""
    if not isinstance(key, str) or not key:
        raise InvalidKey("an object key must be a non-empty string")
    if "\\" in key or "\0" in key:
        raise InvalidKey(f"invalid character in key {key!r}")
    if key.startswith("/"):
        raise InvalidKey(f"key {key!r} must be relative")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKey(f"key {key!r} has an empty, '.' or '..' segment")
        if segment.startswith(TEMP_PREFIX):
            raise InvalidKey(f"key {key!r} uses the reserved prefix {TEMP_PREFIX!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A prefix normalised to ``"dir/"`` form (``""`` is the whole storage)."""
    stripped = prefix.strip("/") if isinstance(prefix, str) else prefix
    if stripped == "":
        return ""
    return check_key(stripped) + "/"


#: Segment prefix of the local storage's temporary files (never a key, never listed).
TEMP_PREFIX = ".tmp-"


@runtime_checkable
class Storage(Protocol):
    """Objects by key. Implementations: ``LocalStorage``, ``S3Storage``."""

    def open(self, key: str, start: int = 0, length: int | None = None) -> BinaryIO:
        """A stream of the object's bytes from ``start``, at most ``length`` of them
        (all the rest when None). A range past the end is clipped (possibly to
        nothing). Raises :class:`ObjectNotFound`. Close it (or use ``with``)."""
        ...

    def write(
        self, key: str, source: Source, *, durable: bool = False, exclusive: bool = False
    ) -> int:
        """Store ``source`` as the object ``key`` atomically; returns its size.

        ``durable``: the object survives a power loss once this returns (the local
        storage then fsyncs file and directory; an object store always is).
        ``exclusive``: create only; if the key exists when the write completes
        (or another exclusive writer completed first), nothing is stored and
        :class:`ObjectExists` is raised."""
        ...

    def write_file(
        self, key: str, path: str | Path, *, durable: bool = False, move: bool = False
    ) -> int:
        """Store the local file at ``path`` as ``key`` atomically; returns its size.

        ``move``: the file is consumed (removed once stored); the local storage
        renames it into place when it is on the same file system, copying nothing."""
        ...

    def writer(
        self, key: str, *, durable: bool = False, exclusive: bool = False
    ) -> AbstractContextManager[BinaryIO]:
        """A writable stream whose bytes become the object ``key`` when the ``with``
        block ends normally; on an exception (or a killed process) nothing is stored.
        ``durable`` and ``exclusive`` as for :meth:`write`."""
        ...

    def size(self, key: str) -> int:
        """The object's size in bytes. Raises :class:`ObjectNotFound`."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under the directory ``prefix``, in key order."""
        ...

    def delete(self, key: str) -> bool:
        """Remove one object; False if there was none."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under the directory ``prefix``; returns how many."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file holding ``key`` when objects are plain local files (whether or
        not it exists yet), for ``sendfile``; None on an object store."""
        ...

    def describe(self) -> str:
        """Where the objects are, for logs and ``annotask check`` (no secrets)."""
        ...


def read_all(storage: Storage, key: str, start: int = 0, length: int | None = None) -> bytes:
    """The whole (range of the) object in memory: only for small objects (manifests,
    probes, previews), never for media."""
    with storage.open(key, start, length) as stream:
        return stream.read()


def join_by_streaming(storage: Storage, parts: Iterable[ObjectInfo], target: str) -> None:
    """Write the objects ``parts``, one after the other, as the object ``target``
    (atomically), through this process in pieces of ``COPY_BUFFER``."""
    with storage.writer(target, durable=True) as out:
        for part in parts:
            with storage.open(part.key) as stream:
                while piece := stream.read(COPY_BUFFER):
                    out.write(piece)


def iter_source(source: Source, buffer: int = COPY_BUFFER) -> Iterator[bytes]:
    """The pieces of a write source, at most ``buffer`` bytes each for streams."""
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    read = getattr(source, "read", None)
    if read is not None:
        while piece := read(buffer):
            yield piece
        return
    for piece in source:
        if piece:
            yield piece


class IterableReader(io.RawIOBase):
    """A readable stream over an iterable of byte strings (for clients that want
    ``.read``), holding at most one piece at a time."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._pending = memoryview(piece)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def as_reader(source: Source) -> BinaryIO:
    """``source`` as a readable binary stream."""
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(source))
    if hasattr(source, "read"):
        return source  # type: ignore[return-value]
    return io.BufferedReader(IterableReader(source), COPY_BUFFER)
