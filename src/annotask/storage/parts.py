"""Resumable (TUS) uploads on any storage, object stores included.

S3 cannot append to an object, and a resumed upload may reach another host
than the one that took its first bytes. So each PATCH is stored as an object of
its own, a *part*, keyed by the offset it starts at::

    uploads/<upload id>/parts/00000000000000000000
    uploads/<upload id>/parts/00000000000104857600
    ...

and :meth:`PartsUploads.finish` joins the parts, in order, into the target
object (atomically, like any write) and removes them. Every host sees the same
parts, so any host can take the next PATCH or the finish.

A part is written atomically and create-only: a PATCH in a process that dies
leaves nothing (the client resends from the offset it is told), and of two
PATCHes racing at one offset on two hosts only the first to complete is kept;
the other gets :class:`OffsetMismatch` (TUS: 409, the client asks HEAD again).
A PATCH whose *client* disconnects keeps what arrived (as the local TUS code
does today), so the client resumes after it. The received offset is the end of
the contiguous chain of parts from 0; a part off the chain is ignored and
removed at the finish. Once wired into the routes, the upload's database row
mirrors this offset (updated after each part); this module only ever gives bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from annotask.storage.base import (
    ObjectExists,
    ObjectInfo,
    Storage,
    StorageError,
    check_key,
    join_by_streaming,
)

OFFSET_DIGITS = 20


class OffsetMismatch(StorageError):
    """A PATCH at another offset than the upload's current one (TUS answers 409)."""

    def __init__(self, expected: int, given: int) -> None:
        super().__init__(f"the upload is at offset {expected}, not {given}")
        self.expected = expected
        self.given = given


class UploadTooLong(StorageError):
    """Bytes past the upload's declared length."""


class _NothingArrived(Exception):
    """Abandons the write of a PATCH that brought no byte."""


class IncompleteUpload(StorageError):
    """A finish before every byte of the declared length arrived."""


@dataclass(frozen=True)
class Part:
    start: int
    size: int
    key: str

    @property
    def end(self) -> int:
        return self.start + self.size


class PartsUploads:
    """TUS upload bytes as parts in a :class:`~annotask.storage.base.Storage`."""

    def __init__(self, storage: Storage, root: str = "uploads") -> None:
        self.storage = storage
        self.root = check_key(root)

    def _prefix(self, upload_id: str) -> str:
        return f"{self.root}/{check_key(upload_id)}/parts"

    def _part_key(self, upload_id: str, start: int) -> str:
        return f"{self._prefix(upload_id)}/{start:0{OFFSET_DIGITS}d}"

    def _parts(self, upload_id: str) -> list[Part]:
        parts = []
        for info in self.storage.list(self._prefix(upload_id)):
            name = info.key.rsplit("/", 1)[1]
            if len(name) == OFFSET_DIGITS and name.isdigit():
                parts.append(Part(int(name), info.size, info.key))
        return sorted(parts, key=lambda part: part.start)

    @staticmethod
    def _chain(parts: list[Part]) -> tuple[list[Part], list[Part]]:
        """The contiguous parts from offset 0, and the others."""
        chain: list[Part] = []
        stray: list[Part] = []
        end = 0
        for part in parts:
            if part.start == end and part.size:
                chain.append(part)
                end = part.end
            else:
                stray.append(part)
        return chain, stray

    def offset(self, upload_id: str) -> int:
        """How many bytes have arrived, counted from 0 without a gap."""
        chain, _ = self._chain(self._parts(upload_id))
        return chain[-1].end if chain else 0

    def append(
        self, upload_id: str, offset: int, chunks: Iterable[bytes], length: int
    ) -> int:
        """Store one PATCH's body, which starts at ``offset``, as a part; returns the
        new offset. ``length`` is the upload's declared total.

        If reading ``chunks`` fails (the client went away), what arrived before is
        kept and the error re-raised; a chunk that would go past ``length`` is
        refused whole (:class:`UploadTooLong`), the chunks before it kept."""
        current = self.offset(upload_id)
        if offset != current:
            raise OffsetMismatch(current, offset)
        received = 0
        failure: BaseException | None = None
        key = self._part_key(upload_id, offset)
        try:
            # Create-only: of two PATCHes racing at one offset (on two hosts), the
            # first to complete makes the part and the other gets OffsetMismatch.
            with self.storage.writer(key, durable=True, exclusive=True) as out:
                try:
                    for chunk in chunks:
                        if offset + received + len(chunk) > length:
                            raise UploadTooLong(
                                f"the chunk goes past the upload's length ({length} bytes)"
                            )
                        out.write(chunk)
                        received += len(chunk)
                except Exception as exc:  # keep what arrived; re-raised below
                    failure = exc
                if received == 0:
                    raise _NothingArrived  # no empty part: it would only be noise
        except _NothingArrived:
            pass
        except ObjectExists:
            raise OffsetMismatch(self.offset(upload_id), offset) from None
        if failure is not None:
            raise failure
        return offset + received

    def finish(self, upload_id: str, target: str, length: int) -> int:
        """Join the parts into the object ``target`` (atomically) and remove them;
        returns its size. Raises :class:`IncompleteUpload` when bytes are missing."""
        chain, _ = self._chain(self._parts(upload_id))
        received = chain[-1].end if chain else 0
        if received != length:
            raise IncompleteUpload(f"{received} of {length} bytes arrived")
        pieces = [ObjectInfo(p.key, p.size) for p in chain]
        join = getattr(self.storage, "join", None)
        if join is not None:  # the store joins server-side (S3: UploadPartCopy)
            join(pieces, target)
        else:
            join_by_streaming(self.storage, pieces, target)
        self.abort(upload_id)
        return length

    def abort(self, upload_id: str) -> int:
        """Remove every part of the upload; returns how many there were."""
        return self.storage.delete_prefix(f"{self.root}/{check_key(upload_id)}")
