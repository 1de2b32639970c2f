"""Pieces of the media layer the pipeline leans on: fast header probe, ordered threads."""

from __future__ import annotations

import threading
import time

import pytest
from PIL import Image

from annotask.media import MediaError, ordered_map, probe_image, probe_size

from .conftest import encode, jpeg, pixels


@pytest.mark.parametrize("orientation", [None, 1, 2, 3, 4, 5, 6, 7, 8])
def test_fast_jpeg_probe_agrees_with_pillow(tmp_path, orientation):
    path = tmp_path / "x.jpg"
    path.write_bytes(jpeg(50, 20, orientation=orientation))
    info = probe_image(str(path))
    assert probe_size(str(path)) == (info.width, info.height)


def test_fast_probe_handles_big_exif_progressive_and_other_formats(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x010E] = "x" * 40_000  # a large APP1 segment before the frame header
    big = tmp_path / "big.jpeg"
    Image.fromarray(pixels(30, 10)).save(big, "JPEG", exif=exif, progressive=True)
    assert probe_size(str(big)) == (10, 30)
    png = tmp_path / "p.png"
    png.write_bytes(encode(Image.fromarray(pixels(7, 5)), "PNG"))
    assert probe_size(str(png)) == (7, 5)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(MediaError, match="bad.jpg"):
        probe_size(str(bad))
    with pytest.raises(MediaError, match="too large"):
        probe_size(str(big), max_pixels=100)


def test_ordered_map_keeps_order_bounds_work_and_raises():
    running = []
    lock = threading.Lock()
    peak = [0]

    def work(value: int) -> int:
        with lock:
            running.append(value)
            peak[0] = max(peak[0], len(running))
        time.sleep(0.01 * (value % 3))
        with lock:
            running.remove(value)
        return value * 2

    assert list(ordered_map(work, range(20), 3)) == [v * 2 for v in range(20)]
    assert 1 < peak[0] <= 3

    def fail(value: int) -> int:
        if value == 5:
            raise ValueError("five")
        return value

    with pytest.raises(ValueError, match="five"):
        list(ordered_map(fail, range(10), 2))
    assert list(ordered_map(lambda v: v, iter([]), 4)) == []
