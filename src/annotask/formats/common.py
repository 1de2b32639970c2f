"""What every annotation format needs: frame descriptions, errors, frame matching.

Formats never open media or storage: the caller passes one ``FrameInfo`` per
frame that may carry annotations (deleted frames left out), and a binary file
object to read from or write to.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from annotask.security.errors import UnsafeInput

#: Largest single document read out of an uploaded zip (decompressed).
MAX_MEMBER_BYTES = 2 * 1024**3


class FormatError(ValueError):
    """An annotation file that cannot be imported; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """A task frame: ``number`` as annotations use it, ``name`` as files show it.

    ``name`` is the image path for image tasks and ``frame_%06d`` of the absolute
    source index for video tasks (task-semantics 2a). ``file`` is the name of the
    image packed into a dataset export when it differs from ``name``: a video frame
    is packed as ``frame_%06d.png``, and formats that name files (COCO's
    ``file_name``) must give that name for other tools to find the image.
    """

    number: int
    name: str
    width: int
    height: int
    file: str = ""

    @property
    def file_name(self) -> str:
        """The packed image's name (``images/<file_name>`` in a dataset export)."""
        return self.file or self.name


def _stem(path: str) -> str:
    path = path.replace("\\", "/")
    root, _ext = posixpath.splitext(path)
    return root


class FrameMatcher:
    """Finds the task frame an imported item refers to, as CVAT's ``match_dm_item`` does.

    By the item's name without extension, compared with the frame paths without
    extension; then (our addition) by the base name alone when exactly one frame
    has it; then by the item's frame number (CVAT's image ``id``); for video
    frames also by the ``frame_NNNNNN`` index.
    """

    def __init__(self, frames: Iterable[FrameInfo], start_frame: int = 0, frame_step: int = 1):
        self.frames = {f.number: f for f in frames}
        self.first = min(self.frames, default=0)
        self.last = max(self.frames, default=-1)
        self.start_frame = start_frame
        self.frame_step = frame_step
        self._by_stem = {_stem(f.name): f.number for f in self.frames.values()}
        by_base: dict[str, list[int]] = {}
        for f in self.frames.values():
            by_base.setdefault(posixpath.basename(_stem(f.name)), []).append(f.number)
        self._by_base = {k: v[0] for k, v in by_base.items() if len(v) == 1}

    def match(self, name: str | None, number: str | int | None) -> int | None:
        if name:
            stem = _stem(name)
            if stem in self._by_stem:
                return self._by_stem[stem]
            base = posixpath.basename(stem)
            if base in self._by_base:
                return self._by_base[base]
        if number is not None:
            try:
                value = int(number)
            except ValueError:
                value = None
            if value is not None and value in self.frames:
                return value
        if name and posixpath.basename(_stem(name)).startswith("frame_"):
            try:
                absolute = int(posixpath.basename(_stem(name))[len("frame_") :])
            except ValueError:
                return None
            return self.relative(absolute)
        return None

    def relative(self, absolute: int) -> int | None:
        """The frame number of an absolute source index, if it lies in the frame range."""
        number, rest = divmod(absolute - self.start_frame, self.frame_step)
        return number if not rest and self.first <= number <= self.last else None

    def absolute(self, number: int) -> int:
        return self.start_frame + number * self.frame_step


def open_document(
    source: IO[bytes], suffixes: Sequence[str], prefer: Callable[[str], bool] | None = None
) -> Iterator[tuple[str, IO[bytes]]]:
    """The annotation documents in an upload: the file itself, or the matching zip members.

    A zip is recognised by content. Its members with one of ``suffixes`` are
    taken in name order; only those that ``prefer`` accepts when it accepts any
    (e.g. ``annotations.xml``). Yields ``(name for messages, stream)``; members are streamed,
    never extracted to disk.
    """
    if zipfile.is_zipfile(source):
        source.seek(0)
        archive = zipfile.ZipFile(source)
        names = [
            info.filename
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.lower().endswith(tuple(suffixes))
            and not info.filename.startswith("__MACOSX/")
        ]
        chosen = sorted(n for n in names if prefer and prefer(n)) or sorted(names)
        if not chosen:
            raise FormatError(f"The archive holds no {' or '.join(suffixes)} file.")
        for name in chosen:
            if archive.getinfo(name).file_size > MAX_MEMBER_BYTES:
                raise UnsafeInput(f"{name} is too large to import.")
            with archive.open(name) as member:
                yield name, member
        return
    source.seek(0)
    if source.read(4) in (b"PK\x03\x04", b"PK\x05\x06"):
        raise FormatError("The file is a zip archive, but it is damaged or truncated.")
    source.seek(0)
    yield "the annotation file", source


def read_limited(stream: IO[bytes], limit: int = MAX_MEMBER_BYTES) -> bytes:
    """Read a whole document, refusing one larger than ``limit`` bytes."""
    buffer = io.BytesIO()
    while chunk := stream.read(1024 * 1024):
        buffer.write(chunk)
        if buffer.tell() > limit:
            raise UnsafeInput("The annotation file is too large to import.")
    return buffer.getvalue()
