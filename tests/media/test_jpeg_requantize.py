"""The DCT-domain requantizer: same image, the target quality's tables, no pixel round trip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import simplejpeg
from PIL import Image, JpegImagePlugin

from annotask.media import MediaError, jpeg_requantize, write_compressed_image_chunk
from annotask.media.images import probe_image
from annotask.media.jpeg import estimate_quality

from .conftest import pattern

pytestmark = pytest.mark.skipif(
    not jpeg_requantize.AVAILABLE, reason="the C extension was not built (no libjpeg headers)"
)


def _jpeg(pixels: np.ndarray, quality: int = 92, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, **save)
    return buffer.getvalue()


def _psnr(reference: np.ndarray, data: bytes) -> float:
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert(Image.fromarray(reference).mode))
    error = np.mean((decoded.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / error))


def test_requantized_frame_has_the_target_tables_size_and_fidelity():
    pixels = pattern(333, 201, seed=3)  # odd sizes: partial MCUs at both edges
    source = _jpeg(pixels, subsampling="4:2:0")
    out = jpeg_requantize.requantize(source, 60)
    with Image.open(io.BytesIO(out)) as image:
        assert image.size == (333, 201)
        assert estimate_quality(image.quantization) == 60
        assert JpegImagePlugin.get_sampling(image) == 2
    assert len(out) < len(source)
    # As faithful as decoding and re-encoding at the same quality (within 0.3 dB).
    pixel_path = simplejpeg.encode_jpeg(simplejpeg.decode_jpeg(source), 60, colorsubsampling="420")
    assert _psnr(pixels, out) > _psnr(pixels, pixel_path) - 0.3


def test_grayscale_and_progressive_sources_become_baseline():
    gray = np.ascontiguousarray(pattern(96, 64, seed=4)[:, :, 0])
    source = _jpeg(gray, progressive=True)
    out = jpeg_requantize.requantize(source, 50)
    with Image.open(io.BytesIO(out)) as image:
        assert image.mode == "L"
        assert estimate_quality(image.quantization) == 50
        assert not image.info.get("progressive")
    pixel_path = simplejpeg.encode_jpeg(
        simplejpeg.decode_jpeg(source, colorspace="GRAY"), 50, colorspace="GRAY"
    )
    assert _psnr(gray, out) > _psnr(gray, pixel_path) - 0.3


@pytest.mark.parametrize(
    "data",
    [b"not a jpeg at all", _jpeg(pattern(64, 64))[:900]],
    ids=["garbage", "truncated"],
)
def test_corrupt_data_is_an_error_not_grey_padding(data):
    with pytest.raises(ValueError):
        jpeg_requantize.requantize(data, 70)


def test_only_upright_420_or_gray_jpegs_take_the_dct_path(tmp_path: Path):
    def info(name: str, pixels: np.ndarray, **save):
        path = tmp_path / name
        path.write_bytes(_jpeg(pixels, **save))
        return probe_image(str(path))

    rgb = pattern(48, 32)
    assert jpeg_requantize.can_requantize(info("a.jpg", rgb, subsampling="4:2:0"))
    assert jpeg_requantize.can_requantize(info("g.jpg", rgb[:, :, 0]))
    assert not jpeg_requantize.can_requantize(info("b.jpg", rgb, subsampling="4:4:4"))
    exif = Image.Exif()
    exif[0x0112] = 6
    assert not jpeg_requantize.can_requantize(info("r.jpg", rgb, exif=exif.tobytes()))


def test_chunk_of_444_source_is_made_through_pixels_as_420(tmp_path: Path):
    path = tmp_path / "full_chroma.jpg"
    path.write_bytes(_jpeg(pattern(64, 48), quality=95, subsampling="4:4:4"))
    out = tmp_path / "chunk.zip"
    write_compressed_image_chunk([str(path)], str(out), quality=70)
    with (
        zipfile.ZipFile(out) as archive,
        Image.open(io.BytesIO(archive.read("000000.jpeg"))) as image,
    ):
        assert JpegImagePlugin.get_sampling(image) == 2
        assert estimate_quality(image.quantization) == 70


def test_truncated_frame_in_a_chunk_is_named(tmp_path: Path):
    good = tmp_path / "good.jpg"
    good.write_bytes(_jpeg(pattern(64, 48)))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(_jpeg(pattern(64, 48, seed=2))[:-400])
    with pytest.raises(MediaError, match="broken.jpg"):
        write_compressed_image_chunk([str(good), str(broken)], str(tmp_path / "c.zip"), quality=70)
