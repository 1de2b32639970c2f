"""Facts about a JPEG file read from its header, without decoding any pixels.

Two questions matter for chunk preparation: "what quality was this encoded at?"
(a JPEG already at or below the requested quality is passed through byte for byte:
re-encoding it would cost CPU and only lose detail) and "is it a plain baseline
JPEG every browser decodes?" (progressive, arithmetic-coded, lossless or 12-bit
files are re-encoded instead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import BinaryIO, Literal

import numpy as np

# ITU-T T.81 Annex K example tables, natural (row-major) order; libjpeg (IJG),
# libjpeg-turbo, Pillow and simplejpeg all scale these by the quality setting.
_STD_LUMINANCE = np.array(
    [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ],
    dtype=np.int64,
)  # fmt: skip
_STD_CHROMINANCE = np.array(
    [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
    ]
    + [99] * 32,
    dtype=np.int64,
)  # fmt: skip


def ijg_table(std: np.ndarray, quality: int) -> np.ndarray:
    """The quantization table libjpeg's ``jpeg_set_quality`` derives for ``quality``."""
    quality = min(max(quality, 1), 100)
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    table: np.ndarray = np.clip((std * scale + 50) // 100, 1, 255)
    return table


# Rows: quality 1..100; columns: the 64 luminance then the 64 chrominance entries.
_QUALITIES = np.arange(1, 101)
_LUMA_BY_QUALITY = np.stack([ijg_table(_STD_LUMINANCE, int(q)) for q in _QUALITIES])
_CHROMA_BY_QUALITY = np.stack([ijg_table(_STD_CHROMINANCE, int(q)) for q in _QUALITIES])


def estimate_quality(tables: Mapping[int, Sequence[int]]) -> int | None:
    """Estimate the IJG quality (1..100) that produced these quantization tables.

    ``tables`` maps table id to 64 values in natural order (Pillow's
    ``JpegImageFile.quantization``). The answer is the quality whose IJG tables are
    closest in summed absolute difference; for files written by libjpeg-based
    encoders that is exact. For custom tables (some camera firmware) it is the
    nearest IJG equivalent, and ties go to the *higher* quality so that a doubtful
    file is re-encoded rather than passed through at a worse quality than asked.
    """
    if not tables:
        return None
    ordered = [np.asarray(tables[k], dtype=np.int64) for k in sorted(tables)]
    if any(t.shape != (64,) for t in ordered):
        return None
    error = np.abs(_LUMA_BY_QUALITY - ordered[0]).sum(axis=1)
    if len(ordered) > 1:
        error = error + np.abs(_CHROMA_BY_QUALITY - ordered[1]).sum(axis=1)
    best = np.flatnonzero(error == error.min())[-1]
    return int(_QUALITIES[best])


SOF_BASELINE = 0xC0
SOF_EXTENDED = 0xC1
# SOF markers are C0..CF except DHT (C4), JPG (C8) and DAC (CC).
_NOT_SOF = (0xC4, 0xC8, 0xCC)
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def read_sof_marker(fp: BinaryIO) -> int | None:
    """Return the start-of-frame marker code (0xC0 baseline, 0xC2 progressive, ...).

    Walks the marker segments from the current position (which must be the file's
    start) up to the SOF; returns None for anything that is not a well-formed JPEG
    header. Pillow parses the same segments but does not keep the SOF type.
    """
    if fp.read(2) != b"\xff\xd8":
        return None
    while True:
        byte = fp.read(1)
        if not byte:
            return None
        if byte != b"\xff":
            continue  # tolerate junk between segments, as decoders do
        marker = fp.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fp.read(1)
        if not marker:
            return None
        code = marker[0]
        if code in _STANDALONE or code == 0x00:
            continue
        if code in (0xD9, 0xDA):  # EOI or SOS before any SOF
            return None
        length_bytes = fp.read(2)
        if len(length_bytes) < 2:
            return None
        if 0xC0 <= code <= 0xCF and code not in _NOT_SOF:
            return code
        fp.seek(int.from_bytes(length_bytes, "big") - 2, 1)


# ------------------------------------------------------- header-only size probe

_HEADER_READ = 16 * 1024
_EXIF_PREFIX = b"Exif\x00\x00"
_MAX_SEGMENTS = 256


def _exif_orientation(tiff: bytes) -> int:
    """Orientation (tag 0x0112) of IFD0 in a TIFF-structured EXIF block; 1 if absent."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    order: Literal["little", "big"] = "little" if tiff[:2] == b"II" else "big"
    offset = int.from_bytes(tiff[4:8], order)
    if offset + 2 > len(tiff):
        return 1
    count = int.from_bytes(tiff[offset : offset + 2], order)
    for index in range(count):
        entry = offset + 2 + 12 * index
        if entry + 12 > len(tiff):
            return 1
        if int.from_bytes(tiff[entry : entry + 2], order) == 0x0112:
            value = int.from_bytes(tiff[entry + 8 : entry + 10], order)
            return value if 1 <= value <= 8 else 1
    return 1


def read_size_and_orientation(fp: BinaryIO) -> tuple[int, int, int] | None:
    """``(width, height, exif orientation)`` from a JPEG's markers, reading only headers.

    Several times cheaper than opening the file with Pillow, which matters when a
    task of 10,000 images learns every frame size at creation. The stored size is
    returned (callers swap it for orientations 5-8). Returns None for anything
    unusual (not a JPEG, truncated headers, height defined later by DNL), and the
    caller then asks Pillow, so an answer here is never a guess.
    """
    base = 0  # file offset of buffer[0]
    buffer = fp.read(_HEADER_READ)
    if buffer[:2] != b"\xff\xd8":
        return None

    def window(offset: int, size: int) -> bytes:
        nonlocal base, buffer
        if offset < base or offset + size > base + len(buffer):
            fp.seek(offset)
            base, buffer = offset, fp.read(max(size, _HEADER_READ))
        return buffer[offset - base : offset - base + size]

    position = 2
    orientation = 1
    for _ in range(_MAX_SEGMENTS):
        marker = window(position, 4)
        if len(marker) < 4 or marker[0] != 0xFF:
            return None
        code = marker[1]
        if code == 0xFF:  # fill byte
            position += 1
            continue
        if code in _STANDALONE:
            position += 2
            continue
        if code in (0xD9, 0xDA):
            return None
        length = int.from_bytes(marker[2:4], "big")
        if length < 2:
            return None
        if 0xC0 <= code <= 0xCF and code not in _NOT_SOF:
            sof = window(position + 4, 5)
            if len(sof) < 5:
                return None
            height = int.from_bytes(sof[1:3], "big")
            width = int.from_bytes(sof[3:5], "big")
            if not width or not height:
                return None
            return width, height, orientation
        if code == 0xE1 and length > 8:
            segment = window(position + 4, length - 2)
            if segment[:6] == _EXIF_PREFIX:
                orientation = _exif_orientation(segment[6:])
        position += 2 + length
    return None
