# Types of the C extension _jpeg_headers.c (mypy cannot read a compiled module).
from collections.abc import Sequence
from os import PathLike

def read_headers(
    paths: Sequence[str | bytes | PathLike[str] | PathLike[bytes]], /
) -> list[tuple[int, int, int] | None]: ...
