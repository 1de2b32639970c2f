"""PDF documents: every page becomes one image frame.

Pages are rendered with pypdfium2 (PDFium, the renderer of Chrome; a wheel with no
system dependencies, unlike CVAT's pdf2image which shells out to poppler) and
written as JPEG files named ``<pdf name><9-digit page index>.jpeg``, CVAT's names,
so exported annotations refer to the same frame names. After rendering, the task is
an ordinary image task. pypdfium2 is optional: importing this module without it
raises ImportError; every other media function works without it.

One page is rendered and written at a time, so memory stays bounded by a single
page bitmap. PDFium is not thread-safe: render in processes, not threads.
"""

from __future__ import annotations

import os

import pypdfium2 as pdfium

from ._io import atomic_path
from .errors import MediaError, display_name
from .images import encode_jpeg

RENDER_DPI = 200  # pdf2image's default, so page sizes match CVAT's
RENDER_QUALITY = 95  # these files are the task's *source* frames: keep detail


def page_file_name(pdf_path: str | os.PathLike[str], page: int) -> str:
    """CVAT's frame name for a page: ``doc.pdf`` page 3 -> ``doc000000003.jpeg``."""
    stem = os.path.splitext(os.path.basename(os.fspath(pdf_path)))[0]
    return f"{stem}{page:09d}.jpeg"


def render_pdf(
    pdf_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    stop: int | None = None,
    dpi: int = RENDER_DPI,
    quality: int = RENDER_QUALITY,
) -> list[str]:
    """Render pages ``0..stop`` (all when ``stop`` is None or 0) into ``out_dir``.

    Returns the written file paths in page order. Rendering stops at the task's
    stop frame like CVAT's reader, so a 2-page excerpt of a 900-page manual does not
    render 900 pages. Raises :class:`MediaError` for unreadable or encrypted files.
    """
    path = os.fspath(pdf_path)
    try:
        document = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise MediaError(
            f"Could not read PDF '{display_name(path)}': {exc}", filename=path
        ) from exc
    written: list[str] = []
    try:
        pages = len(document)
        if pages == 0:
            raise MediaError(f"PDF '{display_name(path)}' has no pages", filename=path)
        last = pages - 1 if not stop else min(stop, pages - 1)
        for index in range(last + 1):
            page = document[index]
            try:
                image = page.render(scale=dpi / 72).to_pil()
            finally:
                page.close()
            target = os.path.join(os.fspath(out_dir), page_file_name(path, index))
            with atomic_path(target) as tmp, open(tmp, "wb") as fp:
                fp.write(encode_jpeg(image, quality))
            written.append(target)
    except pdfium.PdfiumError as exc:
        raise MediaError(
            f"Could not render PDF '{display_name(path)}': {exc}", filename=path
        ) from exc
    finally:
        document.close()
    return written
