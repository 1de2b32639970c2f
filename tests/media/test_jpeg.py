import io

import pytest
import simplejpeg
from PIL import Image

from annotask.media.jpeg import SOF_BASELINE, estimate_quality, read_sof_marker

from .conftest import pattern

PIXELS = pattern(96, 64)


def _pillow_jpeg(quality: int, **params: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(PIXELS).save(buffer, "JPEG", quality=quality, **params)
    return buffer.getvalue()


@pytest.mark.parametrize("quality", [1, 10, 30, 49, 50, 51, 70, 85, 95, 99, 100])
def test_quality_estimate_is_exact_for_libjpeg_encoders(quality: int) -> None:
    pillow = Image.open(io.BytesIO(_pillow_jpeg(quality)))
    assert estimate_quality(pillow.quantization) == quality
    turbo = Image.open(io.BytesIO(simplejpeg.encode_jpeg(PIXELS, quality)))
    assert estimate_quality(turbo.quantization) == quality


def test_quality_estimate_of_grayscale_uses_the_luminance_table() -> None:
    buffer = io.BytesIO()
    Image.fromarray(PIXELS[:, :, 0]).save(buffer, "JPEG", quality=42)
    image = Image.open(buffer)
    assert len(image.quantization) == 1
    assert estimate_quality(image.quantization) == 42


def test_quality_estimate_of_custom_tables_is_the_nearest() -> None:
    tables = Image.open(io.BytesIO(_pillow_jpeg(80))).quantization
    nudged = {k: [min(255, v + (i % 2)) for i, v in enumerate(t)] for k, t in tables.items()}
    assert estimate_quality(nudged) in (79, 80)
    assert estimate_quality({}) is None


def test_sof_marker() -> None:
    assert read_sof_marker(io.BytesIO(_pillow_jpeg(75))) == SOF_BASELINE
    assert read_sof_marker(io.BytesIO(_pillow_jpeg(75, progressive=True))) == 0xC2
    assert read_sof_marker(io.BytesIO(b"\x89PNG\r\n")) is None
    assert read_sof_marker(io.BytesIO(b"\xff\xd8\xff\xe0\x00")) is None
