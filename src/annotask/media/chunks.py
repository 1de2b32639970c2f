"""Image chunks: zips of frames, in CVAT's "compressed" and "original" qualities.

A chunk is a ZIP_STORED archive whose members are named ``000000.<ext>``,
``000001.<ext>``... in frame order (CVAT's client reads them by position). JPEG
data does not compress further, so storing saves CPU on both ends.

Writers are plain functions of paths and write one frame at a time straight into
the output file, so they use bounded memory and can run in a
``ProcessPoolExecutor`` (simplejpeg and Pillow release the GIL while coding, too).

Compressed quality
    Every frame becomes a JPEG at the requested quality (4:2:0), except that a
    JPEG which is already baseline, unrotated and at or below that quality is
    copied byte for byte: re-encoding it would only cost time and detail. Other
    upright 4:2:0 or grayscale JPEGs are requantized in the DCT domain
    (:mod:`.jpeg_requantize`) when the extension is built; everything else goes
    through pixels (simplejpeg).

Original quality
    Source bytes unchanged, except (1) EXIF-rotated images, re-encoded with the
    rotation applied so that every consumer sees upright pixels whose size matches
    the frame meta -- JPEGs as JPEG quality 100 without chroma subsampling (as
    CVAT), other formats as PNG; and (2) formats a browser cannot display (TIFF,
    JPEG 2000, PSD, PNM, ...), re-encoded as lossless PNG, which keeps 8- and 16-bit
    depth. CVAT re-saves TIFFs as LZW TIFF, which browsers still cannot show; PNG
    fixes the "original quality" view at no loss. Re-encoded members are named by
    their new format (``000003.png``) so a consumer never guesses wrong from the
    extension. 16-bit PNGs stay as they are: browsers display them.
"""

from __future__ import annotations

import io
import os
import posixpath
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image

from . import jpeg_requantize
from ._io import Output, open_output, write_zip_member
from .images import (
    JPEG_FORMATS,
    ImageInfo,
    ImageSource,
    _check_pixels,
    _fail,
    decode_plain_jpeg,
    encode_array_jpeg,
    encode_jpeg,
    fast_jpeg_header,
    load_image,
    load_rgb,
    probe_image,
    source_name,
    to_display_mode,
)
from .parallel import ordered_map

COMPRESSED_EXT = "jpeg"
JPEG_MIME = "image/jpeg"
PNG_MIME = "image/png"
# Pillow format names of files every current browser can display in an <img>.
BROWSER_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "ICO", "AVIF"})
# Modes Pillow's PNG writer stores losslessly.
_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "P", "RGB", "RGBA"})


def can_pass_through(info: ImageInfo, quality: int) -> bool:
    """True if a file with this header may go into a compressed chunk unchanged."""
    return (
        info.jpeg_baseline
        and not info.rotated
        and info.jpeg_quality is not None
        and info.jpeg_quality <= quality
    )


def _read_bytes(source: ImageSource) -> bytes:
    if isinstance(source, bytes):
        return source
    with open(source, "rb") as fp:
        return fp.read()


def _compressed_payload(source: ImageSource, quality: int, max_pixels: int | None) -> ImageSource:
    """The source itself when it may pass through, else its re-encoded JPEG bytes.

    Upright 4:2:0 JPEGs (the common case) are requantized without decoding pixels;
    other plain JPEGs go bytes -> NumPy pixels -> JPEG. Both stay in libjpeg-turbo,
    which releases the GIL, so frames encode in parallel threads.
    """
    info = probe_image(source, max_pixels=max_pixels)
    if can_pass_through(info, quality):
        return source
    if jpeg_requantize.can_requantize(info):
        try:
            return jpeg_requantize.requantize(_read_bytes(source), quality)
        except ValueError as exc:
            raise _fail(source, exc, "decode") from exc
    if info.jpeg_plain:
        return encode_array_jpeg(decode_plain_jpeg(_read_bytes(source), info, source), quality)
    return encode_jpeg(load_rgb(source, max_pixels=max_pixels), quality)


def encode_frame_jpeg(source: ImageSource, quality: int, *, max_pixels: int | None = None) -> bytes:
    """The compressed-quality JPEG of one frame, exactly as it appears in a chunk."""
    return _read_bytes(_compressed_payload(source, quality, max_pixels))


@dataclass(frozen=True)
class _OriginalMember:
    """An original-quality frame: the source itself, or re-encoded bytes."""

    payload: ImageSource
    ext: str
    mime: str


def _png_bytes(source: ImageSource, max_pixels: int | None) -> bytes:
    """Lossless PNG of the upright image, keeping 16-bit depth where PNG can."""
    image = load_image(source, max_pixels=max_pixels)
    if image.mode in ("PA", "La", "RGBa"):
        image = image.convert("RGBA")
    elif image.mode not in _PNG_MODES:
        image = to_display_mode(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _original_member(source: ImageSource, max_pixels: int | None) -> _OriginalMember:
    name = source_name(source)
    ext = os.path.splitext(name)[1].lstrip(".") if name else ""
    fast = fast_jpeg_header(source)
    if fast is not None and fast[2] == 1:  # an upright JPEG: the file itself, no Pillow
        _check_pixels(source, fast[0], fast[1], max_pixels)
        return _OriginalMember(source, ext, JPEG_MIME)
    info = probe_image(source, max_pixels=max_pixels)
    is_jpeg = info.format in JPEG_FORMATS
    if info.rotated and is_jpeg:
        data = encode_jpeg(load_rgb(source, max_pixels=max_pixels), 100, subsampling="444")
        return _OriginalMember(data, ext or "jpeg", JPEG_MIME)
    if info.rotated or info.format not in BROWSER_FORMATS:
        return _OriginalMember(_png_bytes(source, max_pixels), "png", PNG_MIME)
    mime = JPEG_MIME if is_jpeg else Image.MIME.get(info.format, "application/octet-stream")
    return _OriginalMember(source, ext or info.format.lower(), mime)


def original_frame_bytes(
    source: ImageSource, *, max_pixels: int | None = None
) -> tuple[bytes, str]:
    """The original-quality bytes of one frame and their MIME type (as in a chunk)."""
    member = _original_member(source, max_pixels)
    return _read_bytes(member.payload), member.mime


def write_compressed_image_chunk(
    sources: Iterable[ImageSource],
    out: Output,
    quality: int,
    *,
    max_pixels: int | None = None,
    threads: int = 1,
) -> int:
    """Write a compressed-quality chunk (``000000.jpeg``...) and return its frame count.

    ``threads > 1`` encodes that many frames at once (one chunk asked for by a
    user should use every core); frames still enter the zip in order, and at most
    ``2 * threads`` are held in memory.
    """
    count = 0
    payloads = ordered_map(
        lambda source: _compressed_payload(source, quality, max_pixels), sources, threads
    )
    with open_output(out) as fp, zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED) as archive:
        for index, payload in enumerate(payloads):
            write_zip_member(archive, f"{index:06d}.{COMPRESSED_EXT}", payload)
            count += 1
    return count


def write_original_image_chunk(
    sources: Iterable[ImageSource],
    out: Output,
    *,
    max_pixels: int | None = None,
    threads: int = 1,
) -> int:
    """Write an original-quality chunk (``000000.<ext>``...) and return its frame count.

    Sources should be paths: the member extension comes from the file name (bytes
    sources are named after their detected format). ``threads`` as for
    :func:`write_compressed_image_chunk` (only re-encoded frames cost CPU).
    """
    count = 0
    members = ordered_map(lambda source: _original_member(source, max_pixels), sources, threads)
    with open_output(out) as fp, zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED) as archive:
        for index, member in enumerate(members):
            write_zip_member(archive, f"{index:06d}.{member.ext}", member.payload)
            count += 1
    return count


def write_point_cloud_chunk(sources: Iterable[str | os.PathLike[str]], out: Output) -> int:
    """Write a 3D chunk: the ``.pcd`` files unchanged as ``000000.pcd``... (both qualities)."""
    count = 0
    with open_output(out) as fp, zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED) as archive:
        for index, source in enumerate(sources):
            write_zip_member(archive, f"{index:06d}.pcd", source)
            count += 1
    return count


CONTEXT_IMAGE_QUALITY = 95


def context_image_names(paths: Sequence[str]) -> list[str]:
    """CVAT's member names for context images: the path relative to their common
    directory, extension replaced by ``.jpg`` (``cam1/a.png`` -> ``cam1/a.jpg``).

    Where that would give two members one name (``a.png`` and ``a.jpg`` beside a
    point cloud), every name keeps its extension before ``.jpg`` instead
    (``a.png.jpg``, ``a.jpg.jpg``): a zip must not hold two members of one name.
    """
    if not paths:
        return []
    normalized = [p.replace("\\", "/") for p in paths]
    common = posixpath.commonpath([posixpath.dirname(p) for p in normalized])
    relative = [posixpath.relpath(p, common or ".") for p in normalized]
    names = [posixpath.splitext(r)[0] + ".jpg" for r in relative]
    if len(set(names)) < len(names):
        names = [r + ".jpg" for r in relative]
    return names


def write_context_image_chunk(
    sources: Sequence[ImageSource],
    names: Sequence[str],
    out: Output,
    *,
    max_pixels: int | None = None,
) -> int:
    """A frame's context images as a zip of JPEGs (CVAT's ``type=context_image``)."""
    with open_output(out) as fp, zipfile.ZipFile(fp, "w", zipfile.ZIP_STORED) as archive:
        for source, name in zip(sources, names, strict=True):
            payload = encode_jpeg(load_rgb(source, max_pixels=max_pixels), CONTEXT_IMAGE_QUALITY)
            write_zip_member(archive, name, payload)
    return len(sources)
