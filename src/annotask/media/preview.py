"""Task and job previews: a JPEG no larger than 256x256, aspect ratio kept.

For JPEG sources Pillow's draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale
directly, so a preview of a 24-megapixel photo costs a fraction of a full decode.
"""

from __future__ import annotations

from PIL import Image, ImageOps

from .images import ImageSource, encode_jpeg, load_rgb, to_display_mode

PREVIEW_SIZE = (256, 256)
PREVIEW_QUALITY = 75


def make_preview(
    source: ImageSource | Image.Image,
    *,
    size: tuple[int, int] = PREVIEW_SIZE,
    quality: int = PREVIEW_QUALITY,
    max_pixels: int | None = None,
) -> bytes:
    """JPEG thumbnail of an image file, image bytes or Pillow image (EXIF applied).

    Pass a decoded video frame as a Pillow image (``video.frame_to_image``).
    """
    if isinstance(source, Image.Image):
        image = to_display_mode(ImageOps.exif_transpose(source))
    else:
        side = max(size)  # square request: covers orientations that swap the axes
        image = load_rgb(source, max_pixels=max_pixels, draft=(side, side))
    image.thumbnail(size, Image.Resampling.LANCZOS)
    return encode_jpeg(image, quality)
