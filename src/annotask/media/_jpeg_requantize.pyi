# Types of the C extension _jpeg_requantize.c (mypy cannot read a compiled module).
from typing_extensions import Buffer

def requantize(jpeg: Buffer, quality: int, /) -> bytes: ...
