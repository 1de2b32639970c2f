import io

from PIL import Image

from annotask.media import make_preview

from .conftest import ImageSet, pattern


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.size


def test_preview_keeps_aspect_within_256(images: ImageSet) -> None:
    assert _size(make_preview(images.jpeg_q95)) == (256, 192)
    assert _size(make_preview(images.png_gray16)) == (160, 120)  # never upscaled
    assert _size(make_preview(images.tiff_rgb)) == (256, 192)


def test_preview_applies_exif_orientation(images: ImageSet) -> None:
    assert _size(make_preview(images.jpeg_rotated6_q40)) == (192, 256)


def test_preview_from_pil_image() -> None:
    image = Image.fromarray(pattern(1000, 250))
    assert _size(make_preview(image)) == (256, 64)
