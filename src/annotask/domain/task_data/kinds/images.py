"""Images (and PDF documents, whose pages are rendered to images first): one
image file per frame, chunked as zips of JPEGs (compressed) or of the files as
uploaded (original)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from annotask import media
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.kinds import frame_files
from annotask.domain.task_data.kinds.base import PlanContext
from annotask.domain.task_data.kinds.frame_files import FilesPlan
from annotask.domain.task_data.payload import Payload
from annotask.domain.task_data.probe import probe_images
from annotask.domain.task_data.sources import ROOT_RAW, CollectedSources
from annotask.media.kinds import MediaKind

if TYPE_CHECKING:
    from annotask.domain.task_data.chunk_source import ChunkSource

media_type = "image"
dimension = "2d"
mode = "annotation"


@dataclass
class ImagesPlan(FilesPlan):
    """The kept images, in task order, with their source indices."""


def plan(
    ctx: PlanContext, collected: CollectedSources, selection: media.MediaSelection
) -> ImagesPlan:
    if selection.kind == MediaKind.PDF:
        collected, selection = _render_pdf(ctx, collected, selection)
    ctx.report(0.15, "Preparing a manifest file")
    probed = probe_images(
        collected.root,
        selection,
        ctx.params,
        max_pixels=ctx.max_pixels,
        on_progress=lambda done: ctx.report(
            0.15 + 0.13 * done, f"Reading image headers ({round(100 * done)}%)"
        ),
    )
    if probed.manifest_used:
        ctx.report(0.28, "A manifest has been created")
    return frame_files.plan_files(ImagesPlan, ctx, collected, probed.frames, sized=True)


def _render_pdf(
    ctx: PlanContext, collected: CollectedSources, selection: media.MediaSelection
) -> tuple[CollectedSources, media.MediaSelection]:
    """A PDF becomes the images of its pages, in ``raw/``; from then on it is images."""
    from annotask.media.pdf import render_pdf

    layout = ctx.layout
    pdf = layout.source_file(collected.root, selection.files[0])
    # pages are named "<pdf name><9-digit page>.jpeg", as in CVAT
    pages = render_pdf(pdf, layout.raw, stop=ctx.params.stop_frame)
    files = [layout.raw_name(page) for page in pages]
    return CollectedSources(ROOT_RAW, layout.raw, files, "local"), media.classify_media(files)


chunk_types = frame_files.chunk_types
planned_media = frame_files.planned_media
stored_media = frame_files.stored_media
frame_rows = frame_files.frame_rows
frame_infos = frame_files.frame_infos
meta_frames = frame_files.meta_frames
source_files = frame_files.source_files
export_media = frame_files.export_media
chunk_spec = frame_files.chunk_spec


def frame(source: ChunkSource, quality: str, index: int) -> Payload:
    path = _path(source, index)
    if quality == cb.ORIGINAL:
        payload, mime = media.original_frame_bytes(path, max_pixels=source.max_pixels)
        return Payload(mime, data=payload)
    return Payload(
        "image/jpeg",
        data=media.encode_frame_jpeg(path, source.image_quality, max_pixels=source.max_pixels),
    )


def preview(source: ChunkSource, index: int) -> bytes:
    return media.make_preview(_path(source, index), max_pixels=source.max_pixels)


def _path(source: ChunkSource, index: int) -> str:
    (path,) = frame_files.frame_files(source, [index])
    return path
