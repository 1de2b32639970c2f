"""Lower a JPEG's quality in the DCT domain, when the C extension is built.

Re-encoding a quality-90 camera JPEG at quality 70 is the bulk of building
compressed chunks. Decoding to pixels and encoding again spends most of its time
on transforms that cancel out (inverse DCT, colour conversion, chroma resampling,
forward DCT); rescaling the quantized coefficients directly gives the same kind
of result (PSNR within 0.1 dB, usually better) in about two thirds of the time.

The extension (``_jpeg_requantize.c``) links the system libjpeg-turbo and is
built by ``pip install`` when its headers are present (Debian:
``libjpeg62-turbo-dev``); without it :data:`AVAILABLE` is False and callers use
the pixel path, which gives equivalent chunks.
"""

from __future__ import annotations

from collections.abc import Callable

from .images import ImageInfo

_requantize: Callable[[bytes, int], bytes] | None
try:
    from ._jpeg_requantize import requantize as _requantize
except ImportError:  # pragma: no cover - depends on how the package was built
    _requantize = None

AVAILABLE = _requantize is not None

# Pillow's JpegImagePlugin.get_sampling: 2 is 4:2:0, the layout the pixel path
# writes; other layouts go through pixels so chunks stay 4:2:0.
SAMPLING_420 = 2


def can_requantize(info: ImageInfo) -> bool:
    """True if this frame's compressed JPEG may be made from its coefficients.

    The frame must be an 8-bit grayscale or YCbCr JPEG (``jpeg_plain``), shown
    as stored (no EXIF rotation: rotating coefficients is another transform), and
    grayscale or 4:2:0 so that the result matches what the pixel path writes.
    """
    return (
        AVAILABLE
        and info.jpeg_plain
        and not info.rotated
        and (info.mode == "L" or info.jpeg_sampling == SAMPLING_420)
    )


def requantize(data: bytes, quality: int) -> bytes:
    """``data`` as a baseline JPEG quantized with libjpeg's tables for ``quality``.

    Raises ValueError with libjpeg's message for corrupt or truncated data, and
    RuntimeError when the extension is not built (check :data:`AVAILABLE`).
    """
    if _requantize is None:
        raise RuntimeError("the JPEG requantizer extension is not built")
    return _requantize(data, min(max(int(quality), 1), 100))
