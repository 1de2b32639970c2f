"""The task creation job: collect, probe, order, plan, prepare, commit.

Nothing of the task's data is visible until the final transaction, and a
failure removes everything the attempt prepared, so a task never looks
healthy with half its data; the request carries the reason and the task
accepts a new upload. Every step can run again after a crash: each attempt
rebuilds ``raw/`` and the chunks from the untouched uploaded files.

Files are fenced like rows. Each attempt writes what it generates (``raw/``,
chunks, manifest, preview) into its own directory,
``tasks/<id>/attempts/<request id>-<attempt>/``, and never anywhere else; the
uploaded files in ``upload/`` are only read. The commit that writes the data
rows and finishes the request (a conditional update fenced by the attempt
number) also stores that directory's name in ``Data.files_dir``: publishing the
files *is* that commit, so there is no moment when a finished task lacks its
files or shows a mix of two attempts', and no rename can clobber a winner. A
worker paused past its lease that wakes up finds its commit fenced off and
removes only its own directory (``attempts.discard_attempt``); the sweep in the
worker's housekeeping removes the directories of attempts that died.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import insert, select

from annotask import media
from annotask.db.base import utcnow
from annotask.db.bulk import insert_rows
from annotask.db.models import Data, Frame, Job, Segment, Task, Video
from annotask.domain.errors import DomainError
from annotask.domain.requests import Attempt, JobInterrupted, LeaseLost, fail, finish
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.attempts import discard_attempt, forget_upload
from annotask.domain.task_data.layout import TaskLayout, attempt_layout
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.probe import (
    ImageFrame,
    order_point_clouds,
    probe_images,
    probe_point_clouds,
    probe_video,
    uploaded_video_manifest_problem,
)
from annotask.domain.task_data.segments import effective_overlap, mapping_ranges, segment_ranges
from annotask.domain.task_data.sources import CollectedSources, collect, convert_point_clouds
from annotask.domain.tasks import dimension_mismatch, project_dimension
from annotask.media.kinds import MediaKind
from annotask.security.errors import UnsafeInput
from annotask.services import Services

log = logging.getLogger(__name__)


class Progress(Protocol):
    attempt: Attempt

    def report(self, progress: float, message: str | None = None) -> None: ...


class CreationFailed(DomainError):
    """The user's data cannot make a task; the message says why."""


@dataclass
class Plan:
    collected: CollectedSources
    kind: MediaKind
    size: int
    start_frame: int
    stop_frame: int
    step: int
    chunk_size: int
    segment_size: int
    overlap: int
    segments: list[tuple[int, int]]
    images: list[ImageFrame] | None = None  # kept frames only
    image_indices: list[int] | None = None  # their source indices
    video: media.VideoInfo | None = None
    video_path: str | None = None
    video_frames: list[int] | None = None


def create_task_data(
    services: Services,
    task_id: int,
    params: DataParams,
    progress: Progress,
    *,
    finish_request: bool = True,
) -> None:
    """Run the whole pipeline for ``task_id``; raises ``CreationFailed`` with the reason.

    ``finish_request=False`` leaves the request running (a backup restore goes on
    with the annotations and finishes it itself).
    """
    settings = services.settings
    attempt = progress.attempt
    layout = attempt_layout(settings, task_id, attempt.request_id, attempt.number)
    with services.read_sessions() as db:
        task = db.get(Task, task_id)
        if task is None:
            raise CreationFailed(f"Task #{task_id} no longer exists.")
        segment_size, overlap = task.segment_size, task.overlap
    shutil.rmtree(layout.generated, ignore_errors=True)  # this attempt's own, never another's
    layout.generated.mkdir(parents=True)
    try:
        plan = _plan(services, layout, params, segment_size, overlap, progress)
        with services.read_sessions() as db:  # fail before the chunks, not after
            _check_project_dimension(db, task_id, _dimension(plan.kind))
        if not params.uses_cache:
            progress.report(0.3, "CVAT is preparing data chunks")
            _prepare_chunks(services, layout, plan, params, progress)
        _write_preview(layout, plan, settings.image_max_pixels)
        progress.report(0.97, "Task is being saved in database")
        files_dir = layout.generated.relative_to(layout.root).as_posix()
        _commit(
            services,
            task_id,
            plan,
            params,
            attempt,
            files_dir=files_dir,
            finish_request=finish_request,
        )
    except JobInterrupted:
        # Lost lease, shutdown or cancel: this attempt's files will never be published.
        discard_attempt(services, task_id, layout)
        raise
    except BaseException as exc:
        discard_attempt(services, task_id, layout)
        failure = exc
        if isinstance(exc, media.MediaError | UnsafeInput):
            failure = CreationFailed(exc.message)
        if finish_request and isinstance(failure, DomainError):
            _fail_and_forget_upload(services, layout, attempt, failure)
        if failure is exc:
            raise
        raise failure from exc
    if plan.collected.root != layout.upload:  # e.g. an archive, now extracted into raw/
        shutil.rmtree(layout.upload, ignore_errors=True)


def _fail_and_forget_upload(
    services: Services, layout: TaskLayout, attempt: Attempt, failure: DomainError
) -> None:
    """Fail the request (fenced), then remove the upload so the task accepts a new one.

    Only an attempt that still owns the request gets here past ``fail``: a stale
    one leaves ``upload/`` to the attempt that replaced it. The runner's own
    ``fail`` afterwards changes nothing.
    """
    try:
        with services.sessions() as db, db.begin():
            failed = fail(db, attempt, failure.message or str(failure))
            failed_at = utcnow()
    except Exception:  # the runner fails it again; the sweep removes the upload later
        log.warning("could not fail request %s", attempt.request_id, exc_info=True)
        return
    if failed:
        forget_upload(layout, failed_at)


def _plan(
    services: Services,
    layout: TaskLayout,
    params: DataParams,
    segment_size: int,
    overlap: int | None,
    progress: Progress,
) -> Plan:
    settings = services.settings
    collected = collect(settings, layout, params, lambda p, m: progress.report(p, m))
    selection = media.classify_media(collected.files)
    kind = selection.kind
    if kind == MediaKind.POINT_CLOUD:
        return _plan_point_clouds(
            layout, collected, selection, params, segment_size, overlap, progress
        )
    if kind == MediaKind.PDF:
        collected, selection = _render_pdf(layout, collected, selection, params)
        kind = selection.kind
    progress.report(0.15, "Preparing a manifest file")
    step = params.frame_step
    if kind == MediaKind.VIDEO:
        if params.job_file_mapping is not None:
            raise CreationFailed(
                "job_file_mapping can't be used with sequence-based data like videos"
            )
        progress.report(0.15, "Reading the video's key frames")
        probed = probe_video(collected.root, selection)
        if selection.manifest is not None:
            problem = uploaded_video_manifest_problem(
                collected.root / selection.manifest, probed.info
            )
            if problem:
                progress.report(0.2, f"Invalid manifest file was uploaded: {problem}")
        kept = list(
            media.frame_range(probed.info.frame_count, params.start_frame, params.stop_frame, step)
        )
        _check_not_empty(kept, params)
        chunk_size = params.chunk_size or _video_chunk_size(probed.info, params)
        size = len(kept)
        seg, ovl = effective_overlap(size, segment_size, overlap, video=True)
        plan = Plan(
            collected,
            kind,
            size,
            kept[0],
            kept[-1],
            step,
            chunk_size,
            seg,
            ovl,
            segment_ranges(size, seg, ovl),
            video=probed.info,
            video_path=probed.path,
            video_frames=kept,
        )
        media.write_video_manifest(
            layout.manifest,
            media.VideoProperties(
                name=os.path.basename(probed.path),
                width=probed.info.width,
                height=probed.info.height,
                length=probed.info.frame_count,
            ),
            probed.info.keyframes,
        )
        return plan
    probed_images = probe_images(
        collected.root,
        selection,
        params,
        max_pixels=settings.image_max_pixels,
        on_progress=lambda done: progress.report(
            0.15 + 0.13 * done, f"Reading image headers ({round(100 * done)}%)"
        ),
    )
    if probed_images.manifest_used:
        progress.report(0.28, "A manifest has been created")
    return _plan_frames(
        layout, collected, kind, probed_images.frames, params, segment_size, overlap
    )


def _plan_point_clouds(
    layout: TaskLayout,
    collected: CollectedSources,
    selection: media.MediaSelection,
    params: DataParams,
    segment_size: int,
    overlap: int | None,
    progress: Progress,
) -> Plan:
    """A 3D task: ``.pcd`` frames (``.bin`` converted first) sized by their headers."""
    scenes = order_point_clouds(collected.root, selection, params)
    collected, scenes, related = convert_point_clouds(
        layout, collected, scenes, selection.related_images, progress.report
    )
    progress.report(0.15, "Reading point cloud headers")
    frames = probe_point_clouds(
        collected.root,
        scenes,
        related,
        on_progress=lambda done: progress.report(
            0.15 + 0.13 * done, f"Reading point cloud headers ({round(100 * done)}%)"
        ),
    ).frames
    return _plan_frames(
        layout, collected, MediaKind.POINT_CLOUD, frames, params, segment_size, overlap
    )


def _plan_frames(
    layout: TaskLayout,
    collected: CollectedSources,
    kind: MediaKind,
    frames: list[ImageFrame],
    params: DataParams,
    segment_size: int,
    overlap: int | None,
) -> Plan:
    """Frame range, chunk size, segments and manifest of a task made of frame files
    (images or point clouds, whose frame size is the PCD WIDTH and HEIGHT)."""
    step = params.frame_step
    kept = list(media.frame_range(len(frames), params.start_frame, params.stop_frame, step))
    _check_not_empty(kept, params)
    images = [frames[i] for i in kept]
    first = images[0]
    chunk_size = params.chunk_size or media.image_chunk_size(first.width, first.height)
    size = len(images)
    if params.job_file_mapping is not None:
        # The mapping defines the frame order: frames are renumbered in job order.
        images, ranges = _apply_job_file_mapping(images, params.job_file_mapping)
        frames, kept, size = images, list(range(len(images))), len(images)
        seg, ovl = 0, 0
    else:
        seg, ovl = effective_overlap(size, segment_size, overlap, video=False)
        ranges = segment_ranges(size, seg, ovl)
    sized = kind != MediaKind.POINT_CLOUD  # spec 4: no width/height for pcd entries
    media.write_image_manifest(
        layout.manifest,
        (
            media.image_entry_for(
                f.path,
                f.width if sized else None,
                f.height if sized else None,
                related_images=f.related,
            )
            for f in frames
        ),
    )
    return Plan(
        collected,
        kind,
        size,
        kept[0],
        kept[-1],
        step,
        chunk_size,
        seg,
        ovl,
        ranges,
        images=images,
        image_indices=kept,
    )


def _check_not_empty(kept: list[int], params: DataParams) -> None:
    if not kept:
        raise CreationFailed(
            f"The frame range (start {params.start_frame}, stop {params.stop_frame}) "
            "selects no frames: the start frame is beyond the last frame."
        )


def _apply_job_file_mapping(
    images: list[ImageFrame], mapping: list[list[str]]
) -> tuple[list[ImageFrame], list[tuple[int, int]]]:
    by_name: dict[str, ImageFrame] = {}
    for frame in images:
        by_name.setdefault(frame.path, frame)
        by_name.setdefault(os.path.basename(frame.path), frame)
    ordered = []
    for job in mapping:
        for name in job:
            if name not in by_name:
                raise CreationFailed(
                    f"job_file_mapping names '{name}', which is not among the files"
                )
            ordered.append(by_name[name])
    return ordered, mapping_ranges([len(job) for job in mapping])


def _render_pdf(layout, collected, selection, params):
    from annotask.media.pdf import render_pdf

    pdf = collected.root / selection.files[0]
    out = layout.raw  # pages are named "<pdf name><9-digit page>.jpeg", as in CVAT
    pages = render_pdf(pdf, out, stop=params.stop_frame)
    files = [Path(p).relative_to(layout.raw).as_posix() for p in pages]
    new = CollectedSources("raw", layout.raw, files, "local")
    return new, media.classify_media(files)


def _prepare_chunks(
    services: Services, layout: TaskLayout, plan: Plan, params: DataParams, progress: Progress
) -> None:
    from annotask.domain.task_data.frames import ChunkSource, chunk_spec

    source = ChunkSource.from_plan(layout, plan, params, services.settings.image_max_pixels)
    count = (plan.size + plan.chunk_size - 1) // plan.chunk_size
    # Compressed chunks first: for images they are the costly ones, and the quick
    # original chunks then fill the end, where one thread would otherwise idle
    # while the other finishes a last compressed chunk.
    specs = [
        chunk_spec(source, quality, index)
        for quality in (cb.COMPRESSED, cb.ORIGINAL)
        for index in range(count)
    ]
    total = len(specs)
    cb.build_all(
        specs,
        cb.cpu_threads(),
        lambda done: progress.report(
            0.3 + 0.65 * done / total, f"CVAT is preparing data chunks ({done}/{total})"
        ),
        check=getattr(progress, "check", None),
    )


def _write_preview(layout: TaskLayout, plan: Plan, max_pixels: int) -> None:
    if plan.kind == MediaKind.POINT_CLOUD:  # a stock image, as CVAT
        data = media.point_cloud_preview()
    elif plan.images is not None:
        data = media.make_preview(
            str(plan.collected.root / plan.images[0].path), max_pixels=max_pixels
        )
    else:
        first = next(
            media.iter_frames(
                str(plan.collected.root / plan.video_path),
                plan.start_frame,
                plan.start_frame,
                1,
                plan.video.keyframes or None,
            )
        )[1]
        data = media.make_preview(media.frame_to_image(first))
    layout.preview.write_bytes(data)


def _commit(
    services: Services,
    task_id: int,
    plan: Plan,
    params: DataParams,
    attempt: Attempt,
    *,
    files_dir: str,
    finish_request: bool = True,
) -> None:
    """Write the data, frames, segments and jobs, and finish the request, atomically.

    ``files_dir`` (this attempt's directory) is stored in the same transaction: the
    files become the task's exactly when the fenced ``finish`` lets the commit through.
    """
    compressed_type = (
        cb.VIDEO if plan.kind == MediaKind.VIDEO and not params.use_zip_chunks else cb.IMAGESET
    )
    original_type = cb.VIDEO if plan.kind == MediaKind.VIDEO else cb.IMAGESET
    with services.sessions() as db, db.begin():
        task = db.scalar(select(Task).where(Task.id == task_id))
        if task is None:
            raise CreationFailed(f"Task #{task_id} was deleted while its data was being prepared.")
        if task.data_id is not None:
            raise CreationFailed("The task already has data.")
        _check_project_dimension(db, task_id, _dimension(plan.kind))
        data = Data(
            size=plan.size,
            chunk_size=plan.chunk_size,
            image_quality=params.image_quality,
            start_frame=plan.start_frame,
            stop_frame=plan.stop_frame,
            frame_filter=params.frame_filter,
            compressed_chunk_type=compressed_type,
            original_chunk_type=original_type,
            storage_method="cache" if params.uses_cache else "file_system",
            storage=plan.collected.storage,
            sorting_method=params.sorting_method,
            media_type=_media_type(plan.kind),
            use_zip_chunks=params.use_zip_chunks,
            copy_data=params.copy_data,
            source_root=plan.collected.root_kind,
            chunks_updated_date=utcnow(),
            files_dir=files_dir,
        )
        db.add(data)
        db.flush()
        if plan.images is not None:
            columns = ("data_id", "frame", "path", "width", "height", "related_files")
            rows = [
                (
                    data.id,
                    index,
                    frame.path,
                    frame.width,
                    frame.height,
                    json.dumps(list(frame.related)) if frame.related else "[]",
                )
                for index, frame in zip(plan.image_indices, plan.images, strict=True)
            ]
            insert_rows(db, Frame.__table__, columns, rows)
        else:
            db.add(
                Video(
                    data_id=data.id,
                    path=plan.video_path,
                    width=plan.video.width,
                    height=plan.video.height,
                    frame_count=plan.video.frame_count,
                    keyframes=[[k.number, k.pts] for k in plan.video.keyframes],
                )
            )
        now = utcnow()
        segment_ids = db.scalars(
            insert(Segment).returning(Segment.id, sort_by_parameter_order=True),
            [
                {"task_id": task_id, "start_frame": start, "stop_frame": stop}
                for start, stop in plan.segments
            ],
        ).all()
        db.execute(
            insert(Job),
            [
                {"segment_id": sid, "task_id": task_id, "created_date": now, "updated_date": now}
                for sid in segment_ids
            ],
        )
        task.data_id = data.id
        task.mode = "interpolation" if plan.kind == MediaKind.VIDEO else "annotation"
        task.dimension = _dimension(plan.kind)
        task.segment_size = plan.segment_size
        task.overlap = plan.overlap
        task.updated_date = now
        if finish_request and not finish(db, attempt, result_id=task_id):
            raise LeaseLost  # another attempt owns the request now: roll everything back


def _dimension(kind: MediaKind) -> str:
    return "3d" if kind == MediaKind.POINT_CLOUD else "2d"


def _media_type(kind: MediaKind) -> str:
    """CVAT's media types: ``video``, ``image`` (images, archives, pdf) or ``point_cloud``."""
    if kind == MediaKind.VIDEO:
        return "video"
    return "point_cloud" if kind == MediaKind.POINT_CLOUD else "image"


def _check_project_dimension(db, task_id: int, dimension: str) -> None:
    """All tasks with data in one project share a dimension (checked in the job, as CVAT)."""
    project_id = db.scalar(select(Task.project_id).where(Task.id == task_id))
    if project_id is None:
        return
    problem = dimension_mismatch(dimension, project_dimension(db, project_id, task_id))
    if problem:
        raise CreationFailed(problem)


def _video_chunk_size(info: media.VideoInfo, params: DataParams) -> int:
    """Zip chunks of a video are image sets: their size follows the image formula
    (task-semantics 3c); mp4 chunks hold 36 frames."""
    if params.use_zip_chunks:
        return media.image_chunk_size(info.width, info.height)
    return media.video_chunk_size()
