"""Point clouds for 3D tasks: PCD headers and KITTI Velodyne ``.bin`` conversion.

A 3D task's frames are ``.pcd`` files that the annotation client renders itself;
the server only needs each file's ``WIDTH`` and ``HEIGHT`` (the frame size CVAT
reports) and a check that the file is a PCD at all, so only the header is read.
The header is ``KEY value`` lines up to ``DATA`` (comments start with ``#``);
versions 0.1 to 0.7 are accepted, as CVAT does.

KITTI ``.bin`` files are bare little-endian float32 records ``x, y, z, intensity``
(16 bytes each). They are converted into a PCD with exactly CVAT's header
(``VERSION 0.7``, ``FIELDS x y z intensity``, ``SIZE 4 4 4 4``, ``TYPE F F F F``,
``COUNT 1 1 1 1``, ``WIDTH`` = points, ``HEIGHT 1``, ``VIEWPOINT 0 0 0 1 0 0 0``,
``POINTS`` = points, ``DATA binary``) followed by the same records, streamed in
blocks so a file of any size costs a fixed amount of memory.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ._io import Output, open_output
from .errors import MediaError, display_name

PcdSource = str | os.PathLike[str] | bytes
"""A PCD file: its path, or its bytes."""

PCD_VERSIONS = frozenset({f"{prefix}.{minor}" for prefix in ("0", "") for minor in range(1, 8)})
PCD_DATA_KINDS = ("ascii", "binary", "binary_compressed")
_FIELD_TYPES = frozenset({"F", "I", "U"})
# Headers are a dozen short lines; anything longer is not a PCD header.
MAX_HEADER_BYTES = 64 * 1024

KITTI_RECORD = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("intensity", "<f4")])
KITTI_RECORD_BYTES = KITTI_RECORD.itemsize  # 16
_CONVERT_BLOCK_RECORDS = 64 * 1024  # 1 MiB per read


@dataclass(frozen=True)
class PcdHeader:
    """What a PCD header says. ``data_offset`` is where the point data starts."""

    version: str
    width: int
    height: int
    points: int
    data: str  # one of PCD_DATA_KINDS
    fields: tuple[str, ...] = ()
    point_bytes: int | None = None  # sum of SIZE x COUNT, when the header gives them
    data_offset: int = 0


def _fail(source: PcdSource, problem: str) -> MediaError:
    name = None if isinstance(source, bytes) else source
    return MediaError(f"Could not read pcd file '{display_name(name)}': {problem}", filename=name)


def _read_head(fp: BinaryIO) -> bytes:
    """The bytes up to and including the ``DATA`` line (or the first MAX_HEADER_BYTES)."""
    head = bytearray()
    while len(head) < MAX_HEADER_BYTES:
        line = fp.readline(MAX_HEADER_BYTES - len(head))
        if not line:
            break
        head += line
        key = line.split(maxsplit=1)[:1]
        if key and key[0].upper() == b"DATA":
            break
    return bytes(head)


def _parse_lines(head: bytes) -> tuple[dict[str, str], int]:
    """``KEY value`` properties (keys upper-cased) and the offset after the DATA line."""
    properties: dict[str, str] = {}
    offset = 0
    for number, raw in enumerate(head.splitlines(keepends=True), 1):
        offset += len(raw)
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise ValueError(f"header line {number} is not text") from None
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"header line {number} is not 'KEY value': {line[:40]!r}")
        key = parts[0].upper()
        properties[key] = parts[1].strip()
        if key == "DATA":
            return properties, offset
    if len(head) >= MAX_HEADER_BYTES:
        raise ValueError("no DATA line in the first 64 KiB: not a PCD header")
    raise ValueError("the header ends without a DATA line (not a PCD file, or truncated)")


def _int(properties: dict[str, str], key: str) -> int:
    value = properties.get(key)
    if value is None:
        raise ValueError(f"the header has no {key} line")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{key} is not a whole number: {value[:40]!r}") from None
    if number < 0:
        raise ValueError(f"{key} is negative: {number}")
    return number


def _point_bytes(properties: dict[str, str]) -> tuple[tuple[str, ...], int | None]:
    """FIELDS, and the bytes per point from SIZE and COUNT (None if not given)."""
    fields = tuple(properties.get("FIELDS", "").split())
    sizes = properties.get("SIZE", "").split()
    types = properties.get("TYPE", "").split()
    counts = properties.get("COUNT", "").split() or ["1"] * len(sizes)
    for key, values in (("SIZE", sizes), ("TYPE", types), ("COUNT", counts)):
        if fields and values and len(values) != len(fields):
            raise ValueError(f"{key} lists {len(values)} values for {len(fields)} FIELDS")
    if any(t.upper() not in _FIELD_TYPES for t in types):
        raise ValueError(f"TYPE must list F, I or U: {' '.join(types)[:40]!r}")
    if not sizes:
        return fields, None
    try:
        per_field = [int(s) * int(c) for s, c in zip(sizes, counts, strict=True)]
    except ValueError:
        raise ValueError("SIZE and COUNT must list whole numbers") from None
    if any(n <= 0 for n in per_field):
        raise ValueError("SIZE and COUNT must be positive")
    return fields, sum(per_field)


def _check_payload(header: PcdHeader, fp: BinaryIO, file_size: int) -> None:
    """Refuse binary files whose point data is shorter than the header promises."""
    available = file_size - header.data_offset
    if header.data == "binary" and header.point_bytes is not None:
        expected = header.points * header.point_bytes
        if available < expected:
            raise ValueError(
                f"the point data is truncated ({expected} bytes expected, {available} found)"
            )
    elif header.data == "binary_compressed" and header.points:
        sizes = fp.read(8)
        if len(sizes) < 8:
            raise ValueError("the compressed point data is truncated")
        compressed, uncompressed = struct.unpack("<II", sizes)
        if available - 8 < compressed:
            raise ValueError(
                f"the compressed point data is truncated ({compressed} bytes expected, "
                f"{available - 8} found)"
            )
        if header.point_bytes is not None and uncompressed != header.points * header.point_bytes:
            raise ValueError("the compressed point data does not match POINTS and SIZE")


def _parse(fp: BinaryIO, file_size: int) -> PcdHeader:
    properties, offset = _parse_lines(_read_head(fp))
    version = properties.get("VERSION")
    if version is None:
        raise ValueError("the header has no VERSION line")
    if version not in PCD_VERSIONS:
        raise ValueError(f"unsupported PCD version {version[:20]!r} (0.1 to 0.7 are supported)")
    width, height = _int(properties, "WIDTH"), _int(properties, "HEIGHT")
    points = _int(properties, "POINTS") if "POINTS" in properties else width * height
    if points != width * height:
        raise ValueError(f"POINTS {points} is not WIDTH x HEIGHT ({width} x {height})")
    data = properties["DATA"].lower()
    if data not in PCD_DATA_KINDS:
        raise ValueError(
            f"DATA must be ascii, binary or binary_compressed, not {properties['DATA'][:40]!r}"
        )
    fields, point_bytes = _point_bytes(properties)
    header = PcdHeader(version, width, height, points, data, fields, point_bytes, offset)
    fp.seek(offset)
    _check_payload(header, fp, file_size)
    return header


def read_pcd_header(source: PcdSource) -> PcdHeader:
    """Parse and check the header of a PCD file (a path or its bytes).

    Raises :class:`MediaError` "Could not read pcd file '<name>': <why>" for
    anything that is not a readable PCD of version 0.1-0.7, including binary
    files whose point data is shorter than the header promises.
    """
    try:
        if isinstance(source, bytes):
            return _parse(io.BytesIO(source), len(source))
        with open(source, "rb") as fp:
            return _parse(fp, os.fstat(fp.fileno()).st_size)
    except ValueError as exc:
        raise _fail(source, str(exc)) from None
    except OSError as exc:
        raise _fail(source, exc.strerror or "the file cannot be opened") from None


def probe_point_cloud(source: PcdSource) -> tuple[int, int]:
    """(WIDTH, HEIGHT) of a PCD file: the size CVAT reports for a 3D frame."""
    header = read_pcd_header(source)
    return header.width, header.height


def kitti_pcd_header(points: int) -> bytes:
    """CVAT's PCD header for ``points`` KITTI records."""
    return (
        "VERSION 0.7\n"
        "FIELDS x y z intensity\n"
        "SIZE 4 4 4 4\n"
        "TYPE F F F F\n"
        "COUNT 1 1 1 1\n"
        f"WIDTH {points}\n"
        "HEIGHT 1\n"
        "VIEWPOINT 0 0 0 1 0 0 0\n"
        f"POINTS {points}\n"
        "DATA binary\n"
    ).encode("ascii")


def pcd_name_for_bin(path: str) -> str:
    """The ``.pcd`` name a converted ``.bin`` gets: same place, same stem."""
    stem, _ext = os.path.splitext(path)
    return stem + ".pcd"


def convert_kitti_bin(source: str | os.PathLike[str], out: Output) -> int:
    """Write the PCD of a KITTI Velodyne ``.bin`` file; returns its point count.

    The records are read 1 MiB at a time into one reused buffer and written as
    little-endian float32, whatever the machine's byte order. A file whose size
    is not a whole number of 16-byte records (or is empty) is refused, naming it.
    """
    try:
        with open(source, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            if size == 0:
                raise _fail(source, "the .bin file is empty")
            if size % KITTI_RECORD_BYTES:
                raise _fail(
                    source,
                    f"its size ({size} bytes) is not a multiple of {KITTI_RECORD_BYTES} "
                    "(KITTI records are four float32 values: x, y, z, intensity)",
                )
            points = size // KITTI_RECORD_BYTES
            buffer = np.empty(_CONVERT_BLOCK_RECORDS * KITTI_RECORD_BYTES, np.uint8)
            view = buffer.data
            written = 0
            with open_output(out) as dst:
                dst.write(kitti_pcd_header(points))
                while (count := src.readinto(view)) > 0:
                    if count % KITTI_RECORD_BYTES:  # a short read mid-record: finish it
                        count += _read_exactly(src, view[count:], -count % KITTI_RECORD_BYTES)
                        if count % KITTI_RECORD_BYTES:
                            break  # the file shrank: caught by the count check below
                    # Already little-endian float32 records, which is what PCD "binary"
                    # data of TYPE F SIZE 4 is: they are written as they are.
                    records = buffer[:count].view(KITTI_RECORD)
                    dst.write(records.data)
                    written += len(records)
                if written != points:
                    raise _fail(source, "the file changed while it was being converted")
    except OSError as exc:
        raise _fail(source, exc.strerror or "the file cannot be read") from None
    return points


def _read_exactly(src: io.BufferedIOBase, view: memoryview, count: int) -> int:
    done = 0
    while done < count:
        got = src.readinto(view[done:count])
        if not got:
            break
        done += got
    return done
