"""The process-wide decompression-bomb limit, set before Pillow is loaded.

``Services`` sets the limit at start-up in every process, but a web process that
never decodes an image should not load Pillow (and NumPy behind it) for that:
the value is kept here and applied to ``PIL.Image`` now if it is loaded, else by
each media module that imports Pillow (:func:`apply`).
"""

from __future__ import annotations

import sys
from typing import Any

_UNSET = object()
_limit: Any = _UNSET


def set_pixel_limit(max_pixels: int | None) -> None:
    """Set the process-wide decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``).

    Pillow itself refuses images over twice this limit inside ``Image.open``, so a
    per-call ``max_pixels`` can only be *stricter*; to accept larger images, call
    this once at start-up (and in every pool worker's initializer).
    """
    global _limit
    _limit = max_pixels
    image: Any = sys.modules.get("PIL.Image")
    if image is not None:
        image.MAX_IMAGE_PIXELS = max_pixels


def apply(image_module: Any) -> None:
    """Give a just-imported ``PIL.Image`` the limit set earlier, if any."""
    if _limit is not _UNSET:
        image_module.MAX_IMAGE_PIXELS = _limit
