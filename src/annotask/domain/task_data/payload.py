"""What the data routes send: bytes, a file, or an open cached file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


@dataclass
class Payload:
    """Bytes to send, a file to send, or an open file (from the cache, which the
    response closes), with the content type the server decides."""

    mime: str
    data: bytes | None = None
    path: Path | None = None
    file: BinaryIO | None = None
