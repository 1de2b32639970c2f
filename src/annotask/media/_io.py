"""Writing output files so that a reader never sees half of one.

Chunk writers run in worker processes and may be killed mid-write; a retried job
must not find a truncated chunk that looks finished. Output paths are therefore
written under a temporary name in the same directory and renamed into place
(atomic on POSIX) only after the writer succeeded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

Output = str | os.PathLike[str] | BinaryIO
"""Where a writer puts its result: a file path, or an open binary file object."""


@contextlib.contextmanager
def atomic_path(out: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path next to ``out``; rename it to ``out`` on success."""
    target = os.fspath(out)
    directory = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(target), dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def open_output(out: Output) -> Iterator[BinaryIO]:
    """Yield a writable binary file for ``out`` (atomic when ``out`` is a path).

    A caller-supplied file object is written to as is and left open.
    """
    if isinstance(out, str | os.PathLike):
        with atomic_path(out) as tmp, open(tmp, "wb") as fp:
            yield fp
    else:
        yield out


# Fixed member timestamp: identical input gives byte-identical chunks (cache checksums).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_COPY_BUFFER = 1 << 20


def write_zip_member(
    archive: zipfile.ZipFile, arcname: str, payload: bytes | str | os.PathLike[str]
) -> None:
    """Store ``payload`` (bytes, or a file copied in 1 MiB pieces) uncompressed."""
    info = zipfile.ZipInfo(arcname, date_time=ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    if isinstance(payload, bytes):
        archive.writestr(info, payload)
        return
    info.file_size = os.path.getsize(payload)  # lets zipfile pick ZIP64 for huge files
    with open(payload, "rb") as src, archive.open(info, "w") as dst:
        shutil.copyfileobj(src, dst, _COPY_BUFFER)
