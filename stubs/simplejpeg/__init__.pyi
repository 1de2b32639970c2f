# The part of simplejpeg's API annotask calls; simplejpeg (a Cython module) ships no types.
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import Buffer

__version__: str

def decode_jpeg(
    data: Buffer,
    colorspace: str = "rgb",
    fastdct: bool = False,
    fastupsample: bool = False,
    min_height: int = 0,
    min_width: int = 0,
    min_factor: float = 1.0,
    buffer: Buffer | None = None,
    strict: bool = True,
) -> npt.NDArray[np.uint8]: ...
def decode_jpeg_header(
    data: Buffer,
    min_height: int = 0,
    min_width: int = 0,
    min_factor: float = 1.0,
    strict: bool = True,
) -> tuple[int, int, str, str]: ...
def encode_jpeg(
    image: npt.NDArray[Any],
    quality: int = 85,
    colorspace: str = "rgb",
    colorsubsampling: str = "444",
    fastdct: bool = False,
) -> bytes: ...
def is_jpeg(data: Buffer) -> bool: ...
