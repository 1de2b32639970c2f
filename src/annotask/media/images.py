"""Reading still images: header probes, decoding to 8-bit pixels, JPEG encoding.

Probing only parses headers (Pillow opens files lazily), so a task of 10,000
images learns every frame size in seconds. Decoding follows CVAT's rules so that
frames look the same as in CVAT: EXIF orientation applied, 16-bit grayscale
stretched and histogram-equalised (such images usually use a narrow band of the
16-bit range and would otherwise look black), 32-bit integers scaled to 8 bits.
JPEG encoding goes through simplejpeg (libjpeg-turbo), several times faster than
Pillow with ``optimize=True`` for the same quality.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, JpegImagePlugin

from . import jpeg
from .errors import MediaError, display_name
from .pixel_limit import apply as _apply_pixel_limit
from .pixel_limit import set_pixel_limit as set_pixel_limit

_apply_pixel_limit(Image)

ImageSource = str | os.PathLike[str] | bytes
"""A path to an image file, or the file's bytes."""

EXIF_ORIENTATION = 0x0112
JPEG_FORMATS = frozenset({"JPEG", "MPO"})  # MPO: camera multi-picture JPEG, same codec
_SIXTEEN_BIT_GRAY = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# 'R', 'G', 'B' component ids mark an RGB-coded (not YCbCr) JPEG.
_RGB_COMPONENT_IDS = (ord("R"), ord("G"), ord("B"))


@dataclass(frozen=True)
class ImageInfo:
    """What a header says about an image.

    ``width``/``height`` are as displayed, i.e. after EXIF orientation (5-8 swap
    them). ``jpeg_quality`` is the estimated IJG quality for JPEGs, else None.
    ``jpeg_baseline`` is True for 8-bit baseline/extended-sequential Huffman JPEGs
    in grayscale or YCbCr: the files any browser decodes and that may therefore be
    passed through untouched. ``jpeg_plain`` is True for any 8-bit grayscale or
    YCbCr JPEG (progressive too): libjpeg-turbo decodes those straight to pixels.
    ``jpeg_sampling`` is Pillow's chroma subsampling code (0 4:4:4, 1 4:2:2, 2 4:2:0,
    -1 other) for JPEGs, else None.
    """

    width: int
    height: int
    orientation: int
    mode: str
    format: str
    jpeg_quality: int | None = None
    jpeg_baseline: bool = False
    jpeg_plain: bool = False
    jpeg_sampling: int | None = None

    @property
    def rotated(self) -> bool:
        """True when EXIF asks for a transposition before display."""
        return self.orientation != 1


def _open(source: ImageSource) -> Image.Image:
    return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)


def _binary(source: ImageSource) -> BinaryIO:
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115


def source_name(source: ImageSource) -> str | None:
    """The path of a source, None for bytes."""
    return None if isinstance(source, bytes) else os.fspath(source)


def _fail(source: ImageSource, exc: BaseException, what: str = "read") -> MediaError:
    name = source_name(source)
    reason = str(exc) or type(exc).__name__
    if name:  # Pillow and OSError quote the full path; users only see the file name
        reason = reason.replace(name, display_name(name))
    return MediaError(f"Could not {what} image '{display_name(name)}': {reason}", filename=name)


def _check_pixels(source: ImageSource, width: int, height: int, max_pixels: int | None) -> None:
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    if limit is not None and width * height > limit:
        name = source_name(source)
        raise MediaError(
            f"Image '{display_name(name)}' is too large: {width}x{height} pixels "
            f"exceeds the limit of {limit} pixels",
            filename=name,
        )


def exif_orientation(image: Image.Image) -> int:
    """EXIF orientation 1..8 (1 when absent or invalid)."""
    try:
        value = int(image.getexif().get(EXIF_ORIENTATION, 1))
    except (TypeError, ValueError, SyntaxError, OSError):
        return 1
    return value if 1 <= value <= 8 else 1


def _is_gray_or_ycc_jpeg(image: Image.Image) -> bool:
    """An 8-bit grayscale or YCbCr JPEG (not CMYK, not RGB-coded)."""
    if image.format not in JPEG_FORMATS or image.mode not in ("L", "RGB"):
        return False
    if getattr(image, "bits", 8) != 8:
        return False
    ids = tuple(layer[0] for layer in getattr(image, "layer", ()))
    return image.mode == "L" or (
        ids != _RGB_COMPONENT_IDS and image.info.get("adobe_transform") != 0
    )


def _is_baseline_jpeg(source: ImageSource, image: Image.Image) -> bool:
    if not _is_gray_or_ycc_jpeg(image):
        return False
    with _binary(source) as fp:
        return jpeg.read_sof_marker(fp) in (jpeg.SOF_BASELINE, jpeg.SOF_EXTENDED)


def probe_image(source: ImageSource, *, max_pixels: int | None = None) -> ImageInfo:
    """Read an image's header: displayed size, orientation, mode, format, JPEG quality.

    No pixel data is decoded. ``max_pixels`` defaults to Pillow's
    ``MAX_IMAGE_PIXELS``. Raises :class:`MediaError` naming the file when it is
    corrupt, not an image Pillow knows, or too large.
    """
    try:
        with _open(source) as image:
            width, height = image.size
            _check_pixels(source, width, height, max_pixels)
            orientation = exif_orientation(image)
            # Pillow's TIFF plugin transposes on load and already reports the
            # upright size on open; every other format reports the stored size.
            if orientation >= 5 and image.format != "TIFF":
                width, height = height, width
            quality = sampling = None
            baseline = plain = False
            if image.format in JPEG_FORMATS:
                quality = jpeg.estimate_quality(getattr(image, "quantization", {}) or {})
                plain = _is_gray_or_ycc_jpeg(image)
                baseline = plain and _is_baseline_jpeg(source, image)
                sampling = JpegImagePlugin.get_sampling(image)
            return ImageInfo(
                width=width,
                height=height,
                orientation=orientation,
                mode=image.mode,
                format=image.format or "",
                jpeg_quality=quality,
                jpeg_baseline=baseline,
                jpeg_plain=plain,
                jpeg_sampling=sampling,
            )
    except MediaError:
        raise
    except Exception as exc:  # Pillow plugins raise many types for corrupt data
        raise _fail(source, exc) from exc


_read_headers: Callable[[list[str]], list[tuple[int, int, int] | None]] | None
try:
    from ._jpeg_headers import read_headers as _read_headers
except ImportError:  # pragma: no cover - depends on how the package was built
    _read_headers = None

FAST_HEADERS = _read_headers is not None
"""True when JPEG headers are read by the C extension (``annotask check`` says so)."""

_FADVISE_RANDOM = getattr(os, "POSIX_FADV_RANDOM", None)
_JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg", ".pjp")


def fast_jpeg_header(source: ImageSource) -> tuple[int, int, int] | None:
    """``(stored width, stored height, orientation)`` of a file named like a JPEG, from
    its markers only; None when the name or the headers call for Pillow instead."""
    name = source_name(source)
    if name is None or not name.lower().endswith(_JPEG_SUFFIXES):
        return None
    try:
        with open(name, "rb") as fp:
            if _FADVISE_RANDOM is not None:
                # Only the first few KiB are wanted: no read-ahead of 128 KiB per
                # file, which would make a cold probe read ten times the data.
                os.posix_fadvise(fp.fileno(), 0, 0, _FADVISE_RANDOM)
            return jpeg.read_size_and_orientation(fp)
    except OSError as exc:
        raise _fail(source, exc) from exc


def fast_jpeg_headers(paths: list[str]) -> list[tuple[int, int, int] | None]:
    """:func:`fast_jpeg_header` of many files at once.

    With the ``_jpeg_headers`` extension built, the files are read in C without
    the GIL (a 10,000-image task's sizes in tens of milliseconds, on every core);
    otherwise one by one in Python. None where Pillow must answer instead,
    including files that cannot be opened (Pillow's error names them).
    """
    jpegs = [i for i, path in enumerate(paths) if path.lower().endswith(_JPEG_SUFFIXES)]
    found: list[tuple[int, int, int] | None] = [None] * len(paths)
    if _read_headers is None:
        for i in jpegs:
            try:
                found[i] = fast_jpeg_header(paths[i])
            except MediaError:
                found[i] = None
        return found
    for i, header in zip(jpegs, _read_headers([paths[i] for i in jpegs]), strict=True):
        found[i] = header
    return found


def probe_sizes(paths: list[str], *, max_pixels: int | None = None) -> list[tuple[int, int]]:
    """:func:`probe_size` of many files, JPEG markers read in one batch."""
    return [
        _displayed_size(path, header, max_pixels)
        for path, header in zip(paths, fast_jpeg_headers(paths), strict=True)
    ]


def probe_size(source: ImageSource, *, max_pixels: int | None = None) -> tuple[int, int]:
    """An image's displayed ``(width, height)`` (EXIF orientation applied), headers only.

    What task creation needs from every frame. JPEG markers are parsed directly
    (several times cheaper than Pillow's ``open``); anything else, or a JPEG whose
    headers look unusual, goes through :func:`probe_image`.
    """
    return _displayed_size(source, fast_jpeg_header(source), max_pixels)


def _displayed_size(
    source: ImageSource, header: tuple[int, int, int] | None, max_pixels: int | None
) -> tuple[int, int]:
    """The size from the marker walk's ``header``, or from Pillow where it had none."""
    if header is None:
        info = probe_image(source, max_pixels=max_pixels)
        return info.width, info.height
    width, height, orientation = header
    _check_pixels(source, width, height, max_pixels)
    return (height, width) if orientation >= 5 else (width, height)


def _stretch_to_l(array: np.ndarray) -> Image.Image:
    """Min-max stretch any numeric 2D array to 8-bit grayscale."""
    array = np.nan_to_num(array.astype(np.float64))
    low = float(array.min()) if array.size else 0.0
    high = float(array.max()) if array.size else 0.0
    scaled = (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
    return Image.fromarray(scaled.astype(np.uint8))


def to_display_mode(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit ``RGB`` or ``L`` the way CVAT does.

    - 16-bit grayscale: min-max stretch to 8 bits, then histogram equalisation;
    - 32-bit integers (``I``): scaled by 255/max (negatives clip to 0);
    - 32-bit floats (``F``): min-max stretch (CVAT clips them, which is usually black);
    - ``1`` and ``LA`` become ``L``; ``L`` and ``RGB`` stay; everything else -> ``RGB``
      (alpha is dropped, as in CVAT, not composited).
    """
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode in _SIXTEEN_BIT_GRAY:
        return ImageOps.equalize(_stretch_to_l(np.asarray(image)))
    if mode == "I":
        array = np.asarray(image).astype(np.float64).clip(min=0)
        peak = float(array.max(initial=0.0))
        scaled = array * (255.0 / peak) if peak > 0 else array
        return Image.fromarray(scaled.astype(np.uint8))
    if mode == "F":
        return _stretch_to_l(np.asarray(image))
    if mode in ("1", "LA", "La"):
        return image.convert("L")
    return image.convert("RGB")


def load_image(
    source: ImageSource,
    *,
    max_pixels: int | None = None,
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode an image with EXIF orientation applied, keeping its Pillow mode.

    For animated formats (GIF, APNG, WebP) this is the first frame. Used where the
    original bit depth matters (lossless re-encoding of original-quality frames).
    ``draft`` lets JPEGs decode at a reduced scale (1/2..1/8) that still covers that
    size: much cheaper for thumbnails.
    """
    try:
        with _open(source) as image:
            _check_pixels(source, image.width, image.height, max_pixels)
            if draft is not None and image.format in JPEG_FORMATS:
                image.draft("RGB" if image.mode == "RGB" else None, draft)
            image.load()
            return ImageOps.exif_transpose(image)  # always a new image
    except MediaError:
        raise
    except Exception as exc:
        raise _fail(source, exc, "decode") from exc


# EXIF orientation -> the transposition that makes the image upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _load_jpeg_turbo(source: ImageSource, max_pixels: int | None) -> Image.Image | None:
    """Decode a gray/YCbCr JPEG with simplejpeg: about twice as fast as Pillow.

    Returns None for anything else (CMYK, RGB-coded, other formats), which then
    takes Pillow's path.
    """
    try:
        with _open(source) as image:
            if not _is_gray_or_ycc_jpeg(image):
                return None
            _check_pixels(source, image.width, image.height, max_pixels)
            orientation = exif_orientation(image)
            gray = image.mode == "L"
        data = source if isinstance(source, bytes) else _read_file(source)
        pixels = simplejpeg.decode_jpeg(data, colorspace="GRAY" if gray else "RGB")
    except MediaError:
        raise
    except Exception as exc:
        raise _fail(source, exc, "decode") from exc
    upright = Image.fromarray(pixels[:, :, 0] if gray else pixels)
    transpose = _UPRIGHT.get(orientation)
    return upright.transpose(transpose) if transpose is not None else upright


def _read_file(path: str | os.PathLike[str]) -> bytes:
    with open(path, "rb") as fp:
        return fp.read()


def decode_plain_jpeg(data: bytes, info: ImageInfo, source: ImageSource) -> np.ndarray:
    """Upright ``(h, w, 3)`` RGB or ``(h, w)`` gray pixels of a plain JPEG (``info.jpeg_plain``).

    libjpeg-turbo straight to a NumPy array, with "fast upsampling" of the chroma
    planes (about 15% faster; 0.1 dB), no Pillow image in between; the EXIF
    rotation is a NumPy view made contiguous once.
    """
    gray = info.mode == "L"
    try:
        pixels = simplejpeg.decode_jpeg(
            data, colorspace="GRAY" if gray else "RGB", fastupsample=True
        )
    except Exception as exc:
        raise _fail(source, exc, "decode") from exc
    if gray:
        pixels = pixels[:, :, 0]
    return _upright_array(pixels, info.orientation)


def _upright_array(pixels: np.ndarray, orientation: int) -> np.ndarray:
    if orientation in (2, 4):
        pixels = pixels[:, ::-1] if orientation == 2 else pixels[::-1]
    elif orientation == 3:
        pixels = pixels[::-1, ::-1]
    elif orientation in (6, 8):  # rotate 90 degrees clockwise / counter-clockwise
        pixels = np.rot90(pixels, -1 if orientation == 6 else 1)
    elif orientation in (5, 7):  # transpose / transverse (mirrored rotations)
        pixels = pixels.swapaxes(0, 1)
        if orientation == 7:
            pixels = pixels[::-1, ::-1]
    return np.ascontiguousarray(pixels)


def encode_array_jpeg(pixels: np.ndarray, quality: int, *, subsampling: str = "420") -> bytes:
    """Encode an ``(h, w, 3)`` RGB or ``(h, w)`` gray uint8 array to JPEG."""
    quality = min(max(int(quality), 1), 100)
    if pixels.ndim == 2:
        return simplejpeg.encode_jpeg(
            np.ascontiguousarray(pixels[:, :, np.newaxis]),
            quality,
            colorspace="GRAY",
            colorsubsampling="Gray",
        )
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(pixels), quality, colorspace="RGB", colorsubsampling=subsampling
    )


def load_rgb(
    source: ImageSource,
    *,
    max_pixels: int | None = None,
    draft: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode an image to an 8-bit ``RGB`` (or ``L`` for grayscale) Pillow image.

    EXIF orientation is applied and modes are converted as in
    :func:`to_display_mode`. Raises :class:`MediaError` naming the file on failure.
    """
    if draft is None:
        fast = _load_jpeg_turbo(source, max_pixels)
        if fast is not None:
            return fast
    image = load_image(source, max_pixels=max_pixels, draft=draft)
    try:
        return to_display_mode(image)
    except Exception as exc:
        raise _fail(source, exc, "convert") from exc


def encode_jpeg(image: Image.Image, quality: int, *, subsampling: str = "420") -> bytes:
    """Encode an ``RGB``/``L`` image (other modes are converted) to JPEG with simplejpeg.

    ``subsampling`` is simplejpeg's chroma subsampling ('420', '444', ...); it is
    ignored for grayscale. Quality is clamped to 1..100 (the API allows 0).
    """
    image = to_display_mode(image)
    quality = min(max(int(quality), 1), 100)
    if image.mode == "L":
        pixels = np.ascontiguousarray(np.asarray(image)[:, :, np.newaxis])
        return simplejpeg.encode_jpeg(pixels, quality, colorspace="GRAY", colorsubsampling="Gray")
    pixels = np.ascontiguousarray(np.asarray(image))
    return simplejpeg.encode_jpeg(pixels, quality, colorspace="RGB", colorsubsampling=subsampling)


def encode_rgb_array_jpeg(pixels: np.ndarray, quality: int, *, subsampling: str = "420") -> bytes:
    """Encode an ``(h, w, 3)`` uint8 RGB array (e.g. a decoded video frame) to JPEG."""
    quality = min(max(int(quality), 1), 100)
    return simplejpeg.encode_jpeg(
        np.ascontiguousarray(pixels), quality, colorspace="RGB", colorsubsampling=subsampling
    )
