"""Videos: one file, frames decoded from it. Chunks are mp4 (or zips of JPEGs
with ``use_zip_chunks``); key frames (number, pts) found at creation let any
frame be decoded from the key frame before it."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zipfile import ZipFile

from sqlalchemy.orm import Session

from annotask import media
from annotask.db.models import Data, Video
from annotask.domain.errors import NotFound
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.kinds.base import (
    CreationFailed,
    PlanContext,
    SourceFiles,
    TaskPlan,
    check_not_empty,
)
from annotask.domain.task_data.payload import Payload
from annotask.domain.task_data.probe import probe_video, uploaded_video_manifest_problem
from annotask.domain.task_data.segments import effective_overlap, segment_ranges
from annotask.domain.task_data.sources import CollectedSources
from annotask.formats.common import FrameInfo

if TYPE_CHECKING:
    from PIL import Image

    from annotask.domain.task_data.chunk_source import ChunkSource

media_type = "video"
dimension = "2d"
mode = "interpolation"


@dataclass
class VideoPlan(TaskPlan):
    """The video (relative ``path``), what probing found, and the kept frame numbers."""

    video: media.VideoInfo
    path: str
    frames: list[int]


@dataclass(frozen=True)
class VideoFile:
    """``ChunkSource.media`` of a video task."""

    path: str  # relative to the source root
    keyframes: tuple[tuple[int, int], ...]  # (number, pts)


def plan(
    ctx: PlanContext, collected: CollectedSources, selection: media.MediaSelection
) -> VideoPlan:
    params = ctx.params
    ctx.report(0.15, "Preparing a manifest file")
    if params.job_file_mapping is not None:
        raise CreationFailed("job_file_mapping can't be used with sequence-based data like videos")
    ctx.report(0.15, "Reading the video's key frames")
    probed = probe_video(collected.root, selection)
    if selection.manifest is not None:
        problem = uploaded_video_manifest_problem(
            ctx.layout.source_file(collected.root, selection.manifest), probed.info
        )
        if problem:
            ctx.report(0.2, f"Invalid manifest file was uploaded: {problem}")
    kept = list(
        media.frame_range(probed.info.frame_count, params.start_frame, params.stop_frame, ctx.step)
    )
    check_not_empty(kept, params)
    chunk_size = params.chunk_size or _chunk_size(probed.info, params.use_zip_chunks)
    size = len(kept)
    seg, ovl = effective_overlap(size, ctx.segment_size, ctx.overlap, video=True)
    planned = VideoPlan(
        collected,
        size,
        kept[0],
        kept[-1],
        ctx.step,
        chunk_size,
        seg,
        ovl,
        segment_ranges(size, seg, ovl),
        video=probed.info,
        path=probed.path,
        frames=kept,
    )
    media.write_video_manifest(
        ctx.layout.manifest,
        media.VideoProperties(
            name=os.path.basename(probed.path),
            width=probed.info.width,
            height=probed.info.height,
            length=probed.info.frame_count,
        ),
        probed.info.keyframes,
    )
    return planned


def _chunk_size(info: media.VideoInfo, use_zip_chunks: bool) -> int:
    """Zip chunks of a video are image sets: their size follows the image formula
    (task-semantics 3c); mp4 chunks hold 36 frames."""
    if use_zip_chunks:
        return media.image_chunk_size(info.width, info.height)
    return media.video_chunk_size()


def chunk_types(use_zip_chunks: bool) -> tuple[str, str]:
    return (cb.IMAGESET if use_zip_chunks else cb.VIDEO), cb.VIDEO


def planned_media(plan: VideoPlan) -> VideoFile:
    return VideoFile(plan.path, tuple((k.number, k.pts) for k in plan.video.keyframes))


def stored_media(db: Session, data: Data) -> VideoFile:
    video = data.video
    if video is None:
        raise NotFound("The task's video is not recorded.")
    return VideoFile(video.path, tuple((n, p) for n, p in video.keyframes))


def frame_rows(db: Session, data_id: int, plan: VideoPlan) -> None:
    db.add(
        Video(
            data_id=data_id,
            path=plan.path,
            width=plan.video.width,
            height=plan.video.height,
            frame_count=plan.video.frame_count,
            keyframes=[[k.number, k.pts] for k in plan.video.keyframes],
        )
    )


def chunk_spec(source: ChunkSource, quality: str, out: Path, indices: list[int]) -> cb.ChunkSpec:
    video: VideoFile = source.media
    return cb.ChunkSpec(
        quality,
        source.chunk_type(quality),
        str(out),
        source.image_quality,
        video=str(source.file(video.path)),
        video_frames=tuple(indices),
        keyframes=video.keyframes,
        max_pixels=source.max_pixels,
    )


def frame(source: ChunkSource, quality: str, index: int) -> Payload:
    image = _decode(source, index)
    if quality == cb.ORIGINAL:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        return Payload("image/png", data=buffer.getvalue())
    return Payload("image/jpeg", data=media.encode_jpeg(image, source.image_quality))


def preview(source: ChunkSource, index: int) -> bytes:
    return media.make_preview(_decode(source, index))


def _decode(source: ChunkSource, index: int) -> Image.Image:
    video: VideoFile = source.media
    keyframes = [media.Keyframe(n, p) for n, p in video.keyframes] or None
    for _n, decoded in media.iter_frames(str(source.file(video.path)), index, index, 1, keyframes):
        return media.frame_to_image(decoded)
    raise NotFound(f"Frame {index} could not be decoded from the video.")


# ---- the read side: names, sizes and source files of a stored task's frames ----------

#: Video frames are decoded into PNG files in dataset exports.
EXPORT_FRAME_SUFFIX = ".png"


def _video(data: Data) -> Video:
    if data.video is None:
        raise NotFound("The task's video is not recorded.")
    return data.video


def frame_infos(db: Session, data: Data, numbers: Sequence[int], step: int) -> list[FrameInfo]:
    """Frames named ``frame_%06d`` by their absolute source index, as CVAT's formats do."""
    video = _video(data)
    names = [f"frame_{data.start_frame + n * step:06d}" for n in numbers]
    return [
        FrameInfo(n, name, video.width, video.height, file=f"{name}{EXPORT_FRAME_SUFFIX}")
        for n, name in zip(numbers, names, strict=True)
    ]


def meta_frames(db: Session, data: Data, wanted: Sequence[int]) -> list[dict[str, Any]]:
    """``DataMetaRead.frames`` of a video: one entry, the video file (as CVAT answers)."""
    video = _video(data)
    return [
        {
            "name": video.path.rsplit("/", 1)[-1],
            "width": video.width,
            "height": video.height,
            "related_files": 0,
            "has_related_context": False,
        }
    ]


def source_files(db: Session, data: Data, manifest: Path) -> list[str]:
    return [_video(data).path]


def export_media(
    db: Session,
    data: Data,
    files: SourceFiles,
    frames: Sequence[FrameInfo],
    step: int,
    archive: ZipFile,
) -> None:
    """Each exported frame decoded from the video, as a PNG under ``images/``."""
    video = _video(data)
    numbers = {data.start_frame + f.number * step: f for f in frames}
    if not numbers:
        return
    keyframes = [media.Keyframe(n, p) for n, p in video.keyframes] or None
    for index, frame in media.iter_frames(
        str(files(video.path)), min(numbers), max(numbers), step, keyframes
    ):
        info = numbers.get(index)
        if info is None:
            continue
        with archive.open(f"images/{info.file_name}", "w") as out:
            media.frame_to_image(frame).save(out, format="PNG")
