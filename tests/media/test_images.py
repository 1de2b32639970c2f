import io

import numpy as np
import pytest
from PIL import Image

from annotask.media import MediaError, encode_jpeg, load_rgb, probe_image

from .conftest import ImageSet


def test_probe_reads_size_format_and_quality(images: ImageSet) -> None:
    info = probe_image(images.jpeg_q50)
    assert (info.width, info.height, info.format, info.mode) == (640, 480, "JPEG", "RGB")
    assert info.jpeg_quality == 50
    assert info.jpeg_baseline
    assert info.orientation == 1 and not info.rotated


def test_probe_is_orientation_aware(images: ImageSet) -> None:
    info = probe_image(images.jpeg_rotated6_q40)  # stored 400x300, displayed portrait
    assert (info.width, info.height, info.orientation) == (300, 400, 6)
    assert info.rotated
    assert load_rgb(images.jpeg_rotated6_q40).size == (300, 400)


def test_probe_and_decode_agree_for_rotated_tiff(images: ImageSet) -> None:
    info = probe_image(images.tiff_rotated6)
    assert (info.width, info.height) == (300, 400)
    assert load_rgb(images.tiff_rotated6).size == (300, 400)


def test_probe_reads_bytes_too(images: ImageSet) -> None:
    info = probe_image(images.png_rgb.read_bytes())
    assert (info.width, info.height, info.format, info.jpeg_quality) == (640, 480, "PNG", None)


def test_baseline_flag(images: ImageSet) -> None:
    assert not probe_image(images.jpeg_progressive_q40).jpeg_baseline
    assert probe_image(images.jpeg_gray_q50).jpeg_baseline
    assert not probe_image(images.jpeg_cmyk).jpeg_baseline
    assert not probe_image(images.png_rgb).jpeg_baseline


@pytest.mark.parametrize("name", ["corrupt", "not_an_image"])
def test_unreadable_files_name_the_file(images: ImageSet, name: str) -> None:
    path = getattr(images, name)
    with pytest.raises(MediaError) as caught:
        probe_image(path)
    assert path.name in str(caught.value)
    assert str(images.root) not in str(caught.value)  # no server paths in messages
    assert caught.value.filename == str(path)


def test_missing_file_is_a_media_error(images: ImageSet) -> None:
    with pytest.raises(MediaError, match="missing.jpg"):
        probe_image(images.root / "missing.jpg")


def test_pixel_limit(images: ImageSet) -> None:
    with pytest.raises(MediaError, match="too large"):
        probe_image(images.jpeg_q50, max_pixels=640 * 480 - 1)
    assert probe_image(images.jpeg_q50, max_pixels=640 * 480).width == 640
    with pytest.raises(MediaError, match="too large"):
        load_rgb(images.jpeg_q50, max_pixels=1000)


def test_sixteen_bit_gray_is_stretched_and_equalised(images: ImageSet) -> None:
    assert probe_image(images.png_gray16).mode.startswith("I;16")
    image = load_rgb(images.png_gray16)
    pixels = np.asarray(image)
    assert image.mode == "L"
    # The source spans ~20000..22000 of 65535: a naive conversion would be flat.
    assert pixels.min() < 10 and pixels.max() > 245
    histogram = np.bincount(pixels.ravel(), minlength=256)
    assert (histogram > 0).sum() > 100  # equalised: many levels used


def test_int32_and_float_images_become_visible_gray(images: ImageSet) -> None:
    for path in (images.tiff_int32, images.tiff_float):
        image = load_rgb(path)
        assert image.mode == "L"
        assert np.asarray(image).max() > 200


@pytest.mark.parametrize(
    ("name", "mode", "size"),
    [
        ("png_rgba", "RGB", (640, 480)),
        ("png_gray", "L", (640, 480)),
        ("jpeg_cmyk", "RGB", (640, 480)),
        ("tiff_rgb", "RGB", (640, 480)),
        ("webp", "RGB", (640, 480)),
        ("gif", "RGB", (80, 60)),
    ],
)
def test_load_rgb_modes(images: ImageSet, name: str, mode: str, size: tuple[int, int]) -> None:
    image = load_rgb(getattr(images, name))
    assert (image.mode, image.size) == (mode, size)


def test_gif_gives_its_first_frame(images: ImageSet) -> None:
    with Image.open(images.gif) as gif:
        assert gif.n_frames == 2
        first = np.asarray(gif.convert("RGB"))
    assert np.array_equal(np.asarray(load_rgb(images.gif)), first)


def test_encode_jpeg_rgb_and_gray(images: ImageSet) -> None:
    rgb = load_rgb(images.png_rgb)
    data = encode_jpeg(rgb, 80)
    decoded = Image.open(io.BytesIO(data))
    assert (decoded.format, decoded.mode, decoded.size) == ("JPEG", "RGB", (640, 480))
    gray = encode_jpeg(load_rgb(images.png_gray), 80)
    assert probe_image(gray).mode == "L"
    assert probe_image(encode_jpeg(rgb, 0)).jpeg_quality == 1  # 0 is clamped
