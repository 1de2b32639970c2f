"""Task and job previews: a JPEG no larger than 256x256, aspect ratio kept.

For JPEG sources Pillow's draft mode lets libjpeg decode at 1/2, 1/4 or 1/8 scale
directly, so a preview of a 24-megapixel photo costs a fraction of a full decode.
"""

from __future__ import annotations

import functools
import random

from PIL import Image, ImageDraw, ImageOps

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


@functools.cache
def point_cloud_preview() -> bytes:
    """The stock preview of every 3D task, as CVAT uses one fixed image for them.

    Drawn once per process (a grey wire-frame cube over a scatter of points)
    rather than shipped as a file, so there is no asset to lose in packaging.
    """
    width, height = PREVIEW_SIZE
    image = Image.new("RGB", (width, height), (58, 63, 70))
    draw = ImageDraw.Draw(image)
    rng = random.Random(3)  # the same picture every time
    for _ in range(900):
        x, y = rng.gauss(width / 2, width / 5), rng.gauss(height * 0.62, height / 9)
        shade = 110 + rng.randrange(90)
        draw.point((x, y), fill=(shade, shade + 10, shade + 20))
    front = [(58, 98), (158, 98), (158, 198), (58, 198)]
    back = [(x + 40, y - 40) for x, y in front]
    line = (226, 230, 236)
    draw.polygon(back, outline=line, width=2)
    draw.polygon(front, outline=line, width=3)
    for a, b in zip(front, back, strict=True):
        draw.line([a, b], fill=line, width=2)
    return encode_jpeg(image, PREVIEW_QUALITY)
