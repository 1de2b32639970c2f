"""Automatic chunk size: how many frames one chunk holds when the user gave none.

CVAT aims at chunks of about 36 Full-HD frames, so a chunk costs roughly the same
to prepare, download and decode whatever the resolution.
"""

from __future__ import annotations

VIDEO_CHUNK_SIZE = 36
_REFERENCE_PIXELS = 36 * 1920 * 1080
MIN_IMAGE_CHUNK_SIZE = 2
MAX_IMAGE_CHUNK_SIZE = 72


def image_chunk_size(width: int, height: int) -> int:
    """``max(2, min(72, 36*1920*1080 // (w*h)))``, from the first kept frame's size.

    1080p -> 36, 4K -> 9, 720p and smaller -> 72, 8K -> 2.
    """
    pixels = max(width, 1) * max(height, 1)
    return max(MIN_IMAGE_CHUNK_SIZE, min(MAX_IMAGE_CHUNK_SIZE, _REFERENCE_PIXELS // pixels))


def video_chunk_size() -> int:
    """Video tasks always get 36 frames per chunk."""
    return VIDEO_CHUNK_SIZE
