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

import logging
import shutil
from typing import Protocol

from sqlalchemy import insert, select

from annotask import media
from annotask.db.base import utcnow
from annotask.db.models import Data, Job, Segment, Task
from annotask.domain.errors import DomainError
from annotask.domain.requests import Attempt, JobInterrupted, LeaseLost, fail, finish
from annotask.domain.task_data import chunk_builder as cb
from annotask.domain.task_data.attempts import discard_attempt, forget_upload
from annotask.domain.task_data.chunk_source import ChunkSource, chunk_spec
from annotask.domain.task_data.kinds import CreationFailed, Kind, PlanContext, TaskPlan, kind_for
from annotask.domain.task_data.layout import TaskLayout, attempt_layout
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.sources import collect
from annotask.domain.tasks import dimension_mismatch, project_dimension
from annotask.security.errors import UnsafeInput
from annotask.services import Services

__all__ = ["CreationFailed", "Progress", "create_task_data"]

log = logging.getLogger(__name__)


class Progress(Protocol):
    attempt: Attempt

    def report(self, progress: float, message: str | None = None) -> None: ...


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
        kind, plan = _plan(services, layout, params, segment_size, overlap, progress)
        with services.read_sessions() as db:  # fail before the chunks, not after
            _check_project_dimension(db, task_id, kind.dimension)
        source = ChunkSource.from_plan(kind, layout, plan, params, settings.image_max_pixels)
        if not params.uses_cache:
            progress.report(0.3, "CVAT is preparing data chunks")
            _prepare_chunks(source, progress)
        layout.preview.write_bytes(kind.preview(source, source.start))
        progress.report(0.97, "Task is being saved in database")
        files_dir = layout.generated.relative_to(layout.root).as_posix()
        _commit(
            services,
            task_id,
            kind,
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
) -> tuple[Kind, TaskPlan]:
    """Collect the sources, classify them, and let their kind plan the task."""
    settings = services.settings
    collected = collect(settings, layout, params, lambda p, m: progress.report(p, m))
    selection = media.classify_media(collected.files)
    kind = kind_for(selection.kind)
    ctx = PlanContext(
        layout=layout,
        params=params,
        step=params.frame_step,
        segment_size=segment_size,
        overlap=overlap,
        max_pixels=settings.image_max_pixels,
        report=progress.report,
    )
    return kind, kind.plan(ctx, collected, selection)


def _prepare_chunks(source: ChunkSource, progress: Progress) -> None:
    count = source.chunk_count()
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


def _commit(
    services: Services,
    task_id: int,
    kind: Kind,
    plan: TaskPlan,
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
    compressed_type, original_type = kind.chunk_types(params.use_zip_chunks)
    with services.sessions() as db, db.begin():
        task = db.scalar(select(Task).where(Task.id == task_id))
        if task is None:
            raise CreationFailed(f"Task #{task_id} was deleted while its data was being prepared.")
        if task.data_id is not None:
            raise CreationFailed("The task already has data.")
        _check_project_dimension(db, task_id, kind.dimension)
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
            media_type=kind.media_type,
            use_zip_chunks=params.use_zip_chunks,
            copy_data=params.copy_data,
            source_root=plan.collected.root_kind,
            chunks_updated_date=utcnow(),
            files_dir=files_dir,
        )
        db.add(data)
        db.flush()
        kind.frame_rows(db, data.id, plan)
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
        task.mode = kind.mode
        task.dimension = kind.dimension
        task.segment_size = plan.segment_size
        task.overlap = plan.overlap
        task.updated_date = now
        if finish_request and not finish(db, attempt, result_id=task_id):
            raise LeaseLost  # another attempt owns the request now: roll everything back


def _check_project_dimension(db, task_id: int, dimension: str) -> None:
    """All tasks with data in one project share a dimension (checked in the job, as CVAT)."""
    project_id = db.scalar(select(Task.project_id).where(Task.id == task_id))
    if project_id is None:
        return
    problem = dimension_mismatch(dimension, project_dimension(db, project_id, task_id))
    if problem:
        raise CreationFailed(problem)
