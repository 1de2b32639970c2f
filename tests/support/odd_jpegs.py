"""Small, odd JPEG files: the seed corpus of the native-code fuzz targets (``scripts/fuzz``).

Each file exercises a path of ``media/_jpeg_requantize.c`` or ``media/_jpeg_headers.c``
that ordinary test images do not: 16-bit quantization tables (including values that
overflowed the requantizer's 32-bit arithmetic), CMYK with an Adobe marker,
progressive scans, restart markers, EXIF orientation in both byte orders, fill
bytes, and truncation at several places. Generated rather than committed, so the
corpus stays reviewable: ``python -m tests.support.odd_jpegs DIR`` writes them.
"""

from __future__ import annotations

import io
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

from PIL import Image


def _image(mode: str, size: tuple[int, int]) -> Image.Image:
    """A gradient with some edges, so the coefficients are not all zero."""
    width, height = size
    gray = Image.linear_gradient("L").resize(size)
    if mode == "L":
        return gray
    bands = [gray, gray.rotate(90).resize(size), Image.new("L", size, 200)]
    if mode == "CMYK":
        bands.append(gray.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    return Image.merge(mode, bands)


def _encode(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker code, start, end) of each marker segment before the first scan."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        code = data[position + 1]
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        yield code, position, position + 2 + length
        if code == 0xDA:
            return
        position += 2 + length


def with_16bit_tables(data: bytes, value: int | None = None) -> bytes:
    """The same JPEG with every quantization table rewritten as a 16-bit (Pq=1) table.

    With ``value`` every entry becomes that value (the entropy-coded coefficients
    are unchanged, so the dequantized values become huge: exactly the input that
    overflowed the requantizer's scaling); otherwise the entries keep their values.
    """
    out = bytearray(data[:2])
    cursor = 2
    for code, start, end in _segments(data):
        out += data[cursor:start]
        if code == 0xDB:
            body = data[start + 4 : end]
            tables = b""
            offset = 0
            while offset < len(body):
                precision, table_id = body[offset] >> 4, body[offset] & 0x0F
                size = 128 if precision else 64
                entries = body[offset + 1 : offset + 1 + size]
                values = struct.unpack(">64H", entries) if precision else tuple(entries)
                if value is not None:
                    values = (value,) * 64
                tables += bytes([0x10 | table_id]) + struct.pack(">64H", *values)
                offset += 1 + size
            out += b"\xff\xdb" + struct.pack(">H", 2 + len(tables)) + tables
        else:
            out += data[start:end]
        cursor = end
    out += data[cursor:]
    return bytes(out)


def _exif(orientation: int, little: bool) -> bytes:
    order = "<" if little else ">"
    tiff = (b"II*\x00" if little else b"MM\x00*") + struct.pack(order + "I", 8)
    tiff += struct.pack(order + "H", 1)
    tiff += struct.pack(order + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(order + "I", 0)
    return b"Exif\x00\x00" + tiff


def _with_app1(data: bytes, payload: bytes, fill: int = 0) -> bytes:
    segment = b"\xff" * fill + b"\xff\xe1" + struct.pack(">H", 2 + len(payload)) + payload
    return data[:2] + segment + data[2:]


def odd_jpegs() -> dict[str, bytes]:
    """Name -> bytes of every seed file (all small: a few KiB each)."""
    rgb = _image("RGB", (48, 32))
    gray = _image("L", (16, 16))
    baseline = _encode(rgb, quality=90)
    files = {
        "baseline-rgb.jpg": baseline,
        "gray-q100.jpg": _encode(gray, quality=100),
        "gray-q100-16bit-tables.jpg": with_16bit_tables(_encode(gray, quality=100)),
        "gray-16bit-1024.jpg": with_16bit_tables(_encode(gray, quality=100), 1024),
        "rgb-16bit-65535.jpg": with_16bit_tables(baseline, 65535),
        "rgb-16bit-257.jpg": with_16bit_tables(baseline, 257),
        "cmyk.jpg": _encode(_image("CMYK", (24, 24)), quality=80),
        "progressive.jpg": _encode(rgb, quality=75, progressive=True),
        "progressive-16bit.jpg": with_16bit_tables(
            _encode(rgb, quality=75, progressive=True), 4000
        ),
        "restart-every-block.jpg": _encode(rgb, quality=85, restart_marker_blocks=1),
        "restart-rows.jpg": _encode(gray, quality=50, restart_marker_rows=1),
        "subsampling-444.jpg": _encode(rgb, quality=95, subsampling=0),
        "exif-6-le.jpg": _with_app1(baseline, _exif(6, little=True)),
        "exif-8-be-fill.jpg": _with_app1(baseline, _exif(8, little=False), fill=3),
        "exif-bad-offset.jpg": _with_app1(baseline, b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"),
        "truncated-half.jpg": baseline[: len(baseline) // 2],
        "truncated-header.jpg": baseline[:40],
        "truncated-in-sof.jpg": baseline[: baseline.index(b"\xff\xc0") + 6],
        "soi-only.jpg": b"\xff\xd8",
    }
    return files


def write_corpus(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in odd_jpegs().items():
        path = directory / name
        path.write_bytes(data)
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.support.odd_jpegs DIRECTORY")
    for path in write_corpus(Path(sys.argv[1])):
        print(path)
