"""JPEG sizes and orientations read from markers: the C batch reader answers
exactly as the Python walk (the reference and fallback) on ordinary and odd files,
and ``probe_sizes`` agrees with Pillow on every file it accepts."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from annotask.media import MediaError, images, jpeg, probe_image, probe_sizes

needs_extension = pytest.mark.skipif(
    not images.FAST_HEADERS, reason="the _jpeg_headers extension was not built (no C compiler)"
)


def _jpeg(size=(64, 48), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def _exif(orientation: int, order: str = "II") -> bytes:
    """An APP1 Exif payload whose IFD0 holds one Orientation entry."""
    fmt = "<" if order == "II" else ">"
    tiff = order.encode() + struct.pack(fmt + "HI", 42, 8)
    tiff += struct.pack(fmt + "H", 1) + struct.pack(fmt + "HHIHH", 0x0112, 3, 1, orientation, 0)
    tiff += struct.pack(fmt + "I", 0)
    return b"Exif\x00\x00" + tiff


def _segment(code: int, payload: bytes) -> bytes:
    return bytes([0xFF, code]) + struct.pack(">H", len(payload) + 2) + payload


def _insert_after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def _corpus(tmp_path: Path) -> dict[str, bytes]:
    plain = _jpeg()
    big_app = _segment(0xE2, b"\x00" * 40_000)  # an ICC-profile-sized segment: past 16 KiB
    files = {
        "plain.jpg": plain,
        "progressive.jpeg": _jpeg((33, 17), progressive=True),
        "gray.jpg": _jpeg((20, 90)),
        "big-app-then-exif.jpg": _insert_after_soi(plain, big_app, _segment(0xE1, _exif(6))),
        "exif-then-big-app.jpg": _insert_after_soi(plain, _segment(0xE1, _exif(8, "MM")), big_app),
        "exif-invalid-value.jpg": _insert_after_soi(plain, _segment(0xE1, _exif(9))),
        "exif-bad-offset.jpg": _insert_after_soi(
            plain, _segment(0xE1, b"Exif\x00\x00II*\x00" + struct.pack("<I", 10_000))
        ),
        "not-exif-app1.jpg": _insert_after_soi(plain, _segment(0xE1, b"http://ns.adobe.com/x")),
        "fill-bytes.jpg": plain[:2] + b"\xff\xff\xff" + plain[2:],
        "zero-height.jpg": plain.replace(
            b"\xff\xc0\x00\x11\x08\x00\x30", b"\xff\xc0\x00\x11\x08\x00\x00"
        ),
        "truncated-10.jpg": plain[:10],
        "truncated-in-exif.jpg": _insert_after_soi(plain, _segment(0xE1, _exif(6)))[:30],
        "empty.jpg": b"",
        "png-named.jpg": _png(),
        "text.jpg": b"not an image at all",
    }
    for orientation in range(1, 9):
        files[f"orientation-{orientation}.jpg"] = _insert_after_soi(
            plain, _segment(0xE1, _exif(orientation, "MM" if orientation % 2 else "II"))
        )
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return files


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (5, 7)).save(buffer, "PNG")
    return buffer.getvalue()


def _python_walk(path: Path):
    with open(path, "rb") as fp:
        return jpeg.read_size_and_orientation(fp)


@needs_extension
def test_the_c_reader_answers_exactly_as_the_python_walk(tmp_path):
    files = _corpus(tmp_path)
    paths = [str(tmp_path / name) for name in files] + [str(tmp_path / "missing.jpg")]
    found = images.fast_jpeg_headers(paths)
    for path, header in zip(paths, found, strict=True):
        expected = _python_walk(Path(path)) if Path(path).exists() else None
        assert header == expected, path
    # The corpus does reach both answers and every orientation.
    by_name = dict(zip(paths, found, strict=True))
    assert by_name[str(tmp_path / "big-app-then-exif.jpg")] == (64, 48, 6)
    assert by_name[str(tmp_path / "exif-then-big-app.jpg")] == (64, 48, 8)
    assert by_name[str(tmp_path / "exif-invalid-value.jpg")] == (64, 48, 1)
    assert by_name[str(tmp_path / "zero-height.jpg")] is None
    assert by_name[str(tmp_path / "truncated-in-exif.jpg")] is None
    assert {by_name[str(tmp_path / f"orientation-{o}.jpg")][2] for o in range(1, 9)} == set(
        range(1, 9)
    )


@pytest.fixture(params=["extension", "python"])
def reader(request, monkeypatch):
    if request.param == "extension" and not images.FAST_HEADERS:
        pytest.skip("the _jpeg_headers extension was not built")
    if request.param == "python":
        monkeypatch.setattr(images, "_read_headers", None)
    return request.param


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # exif-bad-offset.jpg
def test_probe_sizes_agrees_with_pillow_on_every_readable_file(tmp_path, reader):
    files = _corpus(tmp_path)
    readable = []
    for name in files:
        try:
            expected = probe_image(str(tmp_path / name))
        except MediaError:
            continue
        readable.append((str(tmp_path / name), (expected.width, expected.height)))
    names = {Path(path).name for path, _ in readable}  # odd-but-valid files are in
    assert {"big-app-then-exif.jpg", "fill-bytes.jpg", "png-named.jpg", "progressive.jpeg"} <= names
    sizes = probe_sizes([path for path, _ in readable])
    assert sizes == [size for _, size in readable]
    assert sizes[[p for p, _ in readable].index(str(tmp_path / "orientation-6.jpg"))] == (48, 64)


@pytest.mark.parametrize("name", ["truncated-10.jpg", "text.jpg", "empty.jpg", "missing.jpg"])
def test_unreadable_files_are_named(tmp_path, reader, name):
    _corpus(tmp_path)
    with pytest.raises(MediaError, match=name):
        probe_sizes([str(tmp_path / "plain.jpg"), str(tmp_path / name)])


def test_pixel_limit_applies_to_the_batch(tmp_path, reader):
    (tmp_path / "wide.jpg").write_bytes(_jpeg((400, 300)))
    with pytest.raises(MediaError, match="wide.jpg"):
        probe_sizes([str(tmp_path / "wide.jpg")], max_pixels=100_000)
    assert probe_sizes([str(tmp_path / "wide.jpg")], max_pixels=120_000) == [(400, 300)]
