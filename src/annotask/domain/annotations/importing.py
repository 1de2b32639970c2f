"""Annotation and dataset imports (spec 2.8): a file in, annotations stored.

The file is parsed outside any write transaction; the store, the version bump
and finishing the request happen in one transaction, so a re-run after a crash
never imports twice and a failure changes nothing.

``import_mode``: ``replace`` (the default, as CVAT's annotation import always
replaced) deletes what the target holds first; ``append`` adds to it.

A project dataset goes to the project's tasks, matched by frame name. When the
project has no task with data yet, the dataset makes one (as CVAT's project
import does): the images of the zip (under ``images/``, or anywhere in it) go
through the normal task creation pipeline as a new task of the project, then
the annotations are imported into it; the task is deleted again if the import
fails.
"""

from __future__ import annotations

import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from annotask.annotations.merge import slice_for_job
from annotask.annotations.model import AnnotationError, AnnotationSet, Shape, Tag
from annotask.annotations.validation import drop_invalid_attribute_values, validate_annotations
from annotask.db.models import BackgroundRequest, Job, Project, Task
from annotask.domain import pending
from annotask.domain import tasks as task_rules
from annotask.domain.annotations import rows
from annotask.domain.annotations.context import (
    JobRange,
    annotation_jobs,
    frame_step,
    job_range,
    label_set,
    task_frames,
)
from annotask.domain.annotations.service import bump_revisions, store_task_data
from annotask.domain.annotations.task_media import (
    Scaled,
    StepProgress,
    create_data,
    drop_task,
    new_task,
)
from annotask.domain.errors import DomainError, NotFound
from annotask.domain.requests import LeaseLost, Progress, RequestSnapshot, finish
from annotask.domain.task_data.params import DataParams
from annotask.formats.common import FormatError, FrameInfo
from annotask.formats.registry import UnknownFormat, find_importer
from annotask.media.kinds import is_ignored, is_image
from annotask.security.archives import extract_archive
from annotask.security.errors import UnsafeInput
from annotask.services import Services

IMPORT_MODES = ("replace", "append")
DEFAULT_IMPORT_MODE = "replace"


class ImportFailed(DomainError):
    """The file cannot be imported; the message says why."""


@dataclass
class _Target:
    """Where parsed annotations go: whole tasks (sliced into jobs) or one job."""

    task_jobs: list[tuple[int, list[JobRange], int]]  # (task id, its jobs, frame offset)
    job: JobRange | None = None
    dropped: list[str] = field(default_factory=list)  # what the import left out, and why


def _load(fmt_name: str, path: Path, labels, frames: list[FrameInfo], start: int, step: int):
    try:
        fmt = find_importer(fmt_name)
    except UnknownFormat as exc:
        raise ImportFailed(str(exc)) from exc
    assert fmt.load is not None
    try:
        with open(path, "rb") as source:
            return fmt.load(source, labels, frames, start_frame=start, frame_step=step)
    except FormatError as exc:
        raise ImportFailed(str(exc)) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a member cut short or corrupt
        raise ImportFailed("The zip archive is damaged or truncated.") from exc


def _validate(data: AnnotationSet, labels, start: int, stop: int) -> list[str]:
    """Drop attribute values only the API refuses (CVAT imports them); check the rest."""
    dropped = drop_invalid_attribute_values(data, labels)
    try:
        validate_annotations(data, labels, start, stop)
    except AnnotationError as exc:
        raise ImportFailed(f"The imported annotations are invalid: {exc}") from exc
    return dropped


#: How many dropped values the finished request's message lists one by one.
DROPPED_SHOWN = 5


def dropped_message(dropped: list[str]) -> str:
    """The finished import's ``message``: empty, or what was dropped and why."""
    if not dropped:
        return ""
    count = len(dropped)
    noun = "value" if count == 1 else "values"
    shown = "; ".join(dropped[:DROPPED_SHOWN])
    more = f"; and {count - DROPPED_SHOWN} more" if count > DROPPED_SHOWN else ""
    return f"Imported; {count} attribute {noun} dropped (the labels refuse them): {shown}{more}."


def _split(data: AnnotationSet, start: int, stop: int, offset: int) -> AnnotationSet:
    """The part of project-wide data on ``[start, stop]``, renumbered from 0."""
    part = slice_for_job(data, start, stop)
    objects: list[Tag | Shape] = [*part.tags, *part.shapes]
    for obj in objects:
        obj.frame -= offset
        for element in getattr(obj, "elements", ()):
            element.frame -= offset
    for track in part.tracks:
        for t in (track, *track.elements):
            t.frame -= offset
            for shape in t.shapes:
                shape.frame -= offset
    return part


def parse_upload(services: Services, request: RequestSnapshot) -> tuple[Any, _Target]:
    """Read the uploaded file against the target's labels and frames."""
    path = Path(request.params["path"])
    if not path.is_file():
        raise ImportFailed("The uploaded file is gone; upload it again.")
    with services.read_sessions() as db:
        task: Task | None
        if request.target == "job":
            job = db.get(Job, request.job_id)
            if job is None:
                raise NotFound(f"Job #{request.job_id} no longer exists.")
            task = job.segment.task
            if task.data is None:
                raise NotFound(f"Task #{task.id} has no data.")
            current = job_range(db, job)
            labels = label_set(db, task)
            frames = task_frames(db, task, current.start, current.stop)
            data = _load(
                request.format or "", path, labels, frames, task.data.start_frame, frame_step(task)
            )
            dropped = _validate(data, labels, current.start, current.stop)
            return data, _Target([], job=current, dropped=dropped)
        if request.target == "task":
            task = db.get(Task, request.task_id)
            if task is None or task.data is None:
                raise NotFound(f"Task #{request.task_id} no longer exists or has no data.")
            labels = label_set(db, task)
            data = _load(
                request.format or "",
                path,
                labels,
                task_frames(db, task),
                task.data.start_frame,
                frame_step(task),
            )
            dropped = _validate(data, labels, 0, task.data.size - 1)
            return data, _Target([(task.id, annotation_jobs(db, task.id), 0)], dropped=dropped)
        return _parse_project(db, request, path)


def _parse_project(db: Session, request: RequestSnapshot, path: Path) -> tuple[Any, _Target]:
    """Project datasets: every task's frames side by side, matched by frame name."""
    project = db.get(Project, request.project_id)
    if project is None:
        raise NotFound(f"Project #{request.project_id} no longer exists.")
    tasks = [
        t
        for t in db.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id))
        if t.data is not None
    ]
    if not tasks:
        raise ImportFailed("The project has no task with data to import the annotations into.")
    frames: list[FrameInfo] = []
    targets = []
    offset = 0
    for task in tasks:
        frames += [
            FrameInfo(f.number + offset, f.name, f.width, f.height) for f in task_frames(db, task)
        ]
        targets.append((task.id, annotation_jobs(db, task.id), offset))
        assert task.data is not None  # tasks without data were left out above
        offset += task.data.size
    labels = label_set(db, tasks[0])
    data = _load(request.format or "", path, labels, frames, 0, 1)
    dropped = _validate(data, labels, 0, offset - 1)
    return data, _Target(targets, dropped=dropped)


def store_import(db: Session, data: AnnotationSet, target: _Target, mode: str) -> None:
    """Write parsed annotations into the target, replacing or appending."""
    if target.job is not None:
        current = job_range(db, db.get(Job, target.job.id), lock=True)  # type: ignore[arg-type]
        if mode == "replace":
            rows.delete_jobs(db, [current.id])
        rows.insert(db, current.id, data)
        bump_revisions(db, [current])
        return
    for task_id, _jobs, offset in target.task_jobs:
        jobs = annotation_jobs(db, task_id, lock=True)
        if not jobs:
            continue
        size = max(j.stop for j in jobs) + 1
        part = _split(data, offset, offset + size - 1, offset)
        if mode == "replace":
            rows.delete_jobs(db, [j.id for j in jobs])
        store_task_data(db, jobs, part)
        bump_revisions(db, jobs)


def run_import(services: Services, request: RequestSnapshot, progress: Progress) -> None:
    """The ``import:annotations`` / ``import:dataset`` job; finishes its own request."""
    mode = request.params.get("import_mode") or DEFAULT_IMPORT_MODE
    directory = Path(request.params["path"]).parent
    created: list[int] = []
    if request.target == "project" and not _project_has_data(services, request.project_id):
        created = tasks_from_dataset(services, request, Scaled(progress, 0.02, 0.85))
    try:
        progress.report(0.1, "Reading the annotation file")
        data, target = parse_upload(services, request)
        progress.report(0.9, "Saving the annotations")
        with services.sessions() as db, db.begin():
            store_import(db, data, target, mode)
            if not finish(db, progress.attempt):
                raise LeaseLost
            pending.settle(db, progress.attempt)  # the dataset's task, if one was made
            if target.dropped:
                db.execute(
                    update(BackgroundRequest)
                    .where(BackgroundRequest.id == progress.attempt.request_id)
                    .values(message=dropped_message(target.dropped))
                )
    except BaseException:
        for task_id in created:
            drop_task(services, task_id, progress.attempt)
        raise
    shutil.rmtree(directory, ignore_errors=True)


# ---- tasks from a project dataset ---------------------------------------------------------

#: Where the images of a dataset zip are (CVAT's and our own exports with images).
DATASET_IMAGES = "images"
#: The subset of the task a dataset makes (datumaro's name for "no subset").
DEFAULT_SUBSET = "default"


def _project_has_data(services: Services, project_id: int | None) -> bool:
    with services.read_sessions() as db:
        query = select(Task.id).where(Task.project_id == project_id, Task.data_id.is_not(None))
        return db.scalar(query.limit(1)) is not None


def _dataset_images(services: Services, path: Path) -> tuple[Path, list[str]]:
    """Unpack the dataset zip; its images' root and their names relative to it (sorted)."""
    settings = services.settings
    if not path.is_file():
        raise ImportFailed("The uploaded file is gone; upload it again.")
    if not zipfile.is_zipfile(path):
        raise ImportFailed(
            "The project has no task with data, and this file holds no images to create one: "
            "import a dataset zip with its images (an export with images), or create the "
            "project's tasks first."
        )
    work = path.parent / "extracted"
    shutil.rmtree(work, ignore_errors=True)
    archive = path
    if not path.name.lower().endswith(".zip"):  # the extractor goes by the name
        archive = path.parent / "dataset.zip"
        archive.unlink(missing_ok=True)
        os.link(path, archive)
    try:
        written = extract_archive(
            archive,
            work,
            max_entries=settings.archive_max_entries,
            max_total_bytes=settings.archive_max_bytes,
            max_ratio=settings.archive_max_ratio_annotations,
            disk_reserve_bytes=settings.archive_disk_reserve_bytes,
        )
    except UnsafeInput as exc:
        raise ImportFailed(exc.message) from exc
    root = work / DATASET_IMAGES if (work / DATASET_IMAGES).is_dir() else work
    names = sorted(
        name
        for file in written
        if file.is_relative_to(root)
        and is_image(name := file.relative_to(root).as_posix())
        and not is_ignored(name)
    )
    if not names:
        raise ImportFailed(
            "The project has no task with data, and the dataset holds no images to create "
            "one: import a dataset zip with its images, or create the project's tasks first."
        )
    return root, names


def tasks_from_dataset(
    services: Services, request: RequestSnapshot, progress: StepProgress
) -> list[int]:
    """Create the project's task from the dataset's images; the new task ids.

    One task named ``<project>_default`` holding every image of the dataset, in
    name order, made by the normal creation pipeline (one job, default chunking).
    """
    root, names = _dataset_images(services, Path(request.params["path"]))
    with services.read_sessions() as db:
        project = db.get(Project, request.project_id)
        if project is None:
            raise NotFound(f"Project #{request.project_id} no longer exists.")
        suffix = f"_{DEFAULT_SUBSET}"
        fields = {
            "name": project.name[: task_rules.NAME_MAX - len(suffix)] + suffix,
            "project_id": project.id,
        }
    try:
        task_id = new_task(services, request.owner_id, fields, progress.attempt)
    except NotFound:
        raise
    except DomainError as exc:
        raise ImportFailed(f"The dataset's task cannot be created: {exc.message}") from exc
    try:
        params = DataParams(client_files=names, sorting_method="lexicographical")
        create_data(services, task_id, [(n, root / n) for n in names], params, progress)
    except BaseException:
        drop_task(services, task_id, progress.attempt)
        raise
    return [task_id]
