"""Dataset and annotation exports (spec 2.9): the zip a finished request serves.

The document comes from ``formats.registry.export_archive``; with images the
original frames go under ``images/`` (image tasks: the source files as they
were uploaded; video tasks: each frame decoded to PNG), as CVAT lays it out.
Files are written under ``settings.exports_dir`` to a temporary name and
renamed when complete, so a download never sees half a file.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.annotations.model import AnnotationSet
from annotask.annotations.schema import LabelSet
from annotask.db.models import Job, Project, Task, User
from annotask.domain.annotations import rows
from annotask.domain.annotations.context import (
    annotation_jobs,
    frame_step,
    label_set,
    task_frames,
)
from annotask.domain.annotations.service import task_annotations
from annotask.domain.errors import DomainError, NotFound
from annotask.domain.task_data.kinds import kind_of_data
from annotask.domain.task_data.layout import data_layout
from annotask.domain.task_data.sources import source_root
from annotask.formats.common import FrameInfo
from annotask.formats.cvat_xml import DumpMeta, Person, SegmentInfo
from annotask.formats.registry import export_archive, find_exporter
from annotask.services import Services

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. ]+")


class ExportFailed(DomainError):
    """The export cannot be built; the message says why."""


def download_name(kind: str, target_id: int | str, what: str, suffix: str = "") -> str:
    """A CVAT-style file name that passes the client's rule (spec 2.9).

    ``task_7_annotations_2025_03_04_09_20_01_cvat for images 1.1.zip``: only
    ``[A-Za-z0-9_-. ]``, no leading dot, at most 254 characters.
    """
    stamp = datetime.now(UTC).strftime("%Y_%m_%d_%H_%M_%S")
    parts = [kind, str(target_id), what, stamp] + ([suffix] if suffix else [])
    stem = _UNSAFE.sub("_", "_".join(parts)).strip(" .") or "export"
    return stem[:240] + ".zip"


def safe_part(text: str, limit: int = 64) -> str:
    """A user-chosen name reduced to characters every client accepts in a file name."""
    return (_UNSAFE.sub("_", text).strip(" ._") or "unnamed")[:limit]


@dataclass
class ExportPart:
    """One task's contribution to an export: its annotations and frames, renumbered."""

    task: Task
    data: AnnotationSet
    frames: list[FrameInfo]
    offset: int = 0  # added to frame numbers in the exported document


def _person(db: Session, user_id: int | None) -> Person | None:
    user = db.get(User, user_id) if user_id else None
    return Person(user.username, user.email or "") if user else None


def _meta(db: Session, task: Task, *, kind: str, base_url: str, job: Job | None = None) -> DumpMeta:
    data = task.data
    assert data is not None
    step = frame_step(task)
    jobs = annotation_jobs(db, task.id)
    if job is not None:
        jobs = [j for j in jobs if j.id == job.id]
    first = jobs[0].start if job is not None and jobs else 0
    last = jobs[0].stop if job is not None and jobs else data.size - 1
    video = data.video
    return DumpMeta(
        id=job.id if job is not None else task.id,
        size=last - first + 1,
        mode=task.mode or "annotation",
        name=task.name,
        kind=kind,
        overlap=task.overlap or 0,
        bugtracker=task.bug_tracker or "",
        created=task.created_date,
        updated=task.updated_date,
        subset=task.subset or "default",
        start_frame=data.start_frame + first * step,
        stop_frame=data.start_frame + last * step,
        frame_filter=data.frame_filter or "",
        segments=[SegmentInfo(j.id, j.start, j.stop, f"{base_url}/api/jobs/{j.id}") for j in jobs],
        owner=_person(db, task.owner_id),
        assignee=_person(db, task.assignee_id),
        dumped=datetime.now(UTC),
        original_size=(video.width, video.height) if video is not None else None,
        source=os.path.basename(video.path) if video is not None else None,
        data_start_frame=data.start_frame,
        frame_step=step,
    )


def _require_data(task: Task) -> None:
    if task.data is None:
        raise ExportFailed(f"Task #{task.id} has no data yet: there is nothing to export.")


def _shifted(data: AnnotationSet, offset: int) -> AnnotationSet:
    if not offset:
        return data
    shifted = data.copy()
    for tag in shifted.tags:
        tag.frame += offset
    for obj in shifted.shapes:
        obj.frame += offset
        for element in obj.elements:
            element.frame += offset
    for track in shifted.tracks:
        for t in (track, *track.elements):
            t.frame += offset
            for shape in t.shapes:
                shape.frame += offset
    return shifted


@dataclass
class ExportPlan:
    parts: list[ExportPart]
    labels: LabelSet
    meta: DumpMeta


def plan_export(db: Session, target: str, target_id: int, base_url: str) -> ExportPlan:
    """What a task, job or project export contains."""
    task: Task | None
    if target == "job":
        job = db.get(Job, target_id)
        if job is None:
            raise NotFound(f"Job #{target_id} no longer exists.")
        task = job.segment.task
        _require_data(task)
        segment = job.segment
        data = rows.load_job(db, job.id)
        frames = task_frames(db, task, segment.start_frame, segment.stop_frame)
        meta = _meta(db, task, kind="job", base_url=base_url, job=job)
        return ExportPlan([ExportPart(task, data, frames)], label_set(db, task), meta)
    if target == "task":
        task = db.get(Task, target_id)
        if task is None:
            raise NotFound(f"Task #{target_id} no longer exists.")
        _require_data(task)
        part = ExportPart(task, task_annotations(db, task), task_frames(db, task))
        meta = _meta(db, task, kind="task", base_url=base_url)
        return ExportPlan([part], label_set(db, task), meta)
    project = db.get(Project, target_id)
    if project is None:
        raise NotFound(f"Project #{target_id} no longer exists.")
    tasks = list(db.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id)))
    parts, offset = [], 0
    for task in tasks:
        if task.data is None:
            continue
        part = ExportPart(task, task_annotations(db, task), task_frames(db, task), offset)
        parts.append(part)
        offset += task.data.size
    if not parts:
        raise ExportFailed(f"Project #{project.id} has no task with data: nothing to export.")
    first = parts[0].task
    meta = _meta(db, first, kind="task", base_url=base_url)
    # CVAT's project meta: each task's own (a video's <original_size>), then the subsets.
    meta.kind = "project"
    meta.tasks = [_meta(db, part.task, kind="task", base_url=base_url) for part in parts]
    meta.subsets = list(dict.fromkeys(task.subset for task in meta.tasks))
    meta.bugtracker = project.bug_tracker or ""
    meta.id, meta.name, meta.size = project.id, project.name, offset
    meta.segments, meta.start_frame, meta.stop_frame = [], 0, max(offset - 1, 0)
    meta.original_size, meta.source, meta.data_start_frame, meta.frame_step = None, None, 0, 1
    meta.mode, meta.frame_filter = "annotation", ""
    meta.created, meta.updated = project.created_date, project.updated_date
    meta.owner = _person(db, project.owner_id)
    meta.assignee = _person(db, project.assignee_id)
    return ExportPlan(parts, label_set(db, first), meta)


def _add_images(services: Services, db: Session, archive, part: ExportPart) -> None:
    task, data = part.task, part.task.data
    assert data is not None
    layout = data_layout(services.settings, task.id, data)
    root = source_root(services.settings, layout, data.source_root)
    files = functools.partial(layout.source_file, root)
    kind_of_data(data).export_media(db, data, files, part.frames, frame_step(task), archive)


def build_export(
    services: Services,
    db: Session,
    *,
    request_id: str,
    target: str,
    target_id: int,
    format_name: str,
    save_images: bool,
    base_url: str,
    plan: ExportPlan | None = None,
) -> tuple[Path, str]:
    """Write the export zip; returns its path and the name to download it as.

    ``plan`` is what :func:`plan_export` gives, for a caller that already read it
    (the dataset repository's push also fingerprints the annotations).
    """
    fmt = find_exporter(format_name)
    plan = plan or plan_export(db, target, target_id, base_url)
    data = AnnotationSet()
    frames: list[FrameInfo] = []
    for part in plan.parts:
        shifted = _shifted(part.data, part.offset)
        data.tags += shifted.tags
        data.shapes += shifted.shapes
        data.tracks += shifted.tracks
        frames += [dataclasses.replace(f, number=f.number + part.offset) for f in part.frames]
    directory = services.settings.exports_dir
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{request_id}.zip"
    partial = path.with_suffix(".part")
    try:
        with open(partial, "wb") as out:
            archive = export_archive(fmt.name, out, data, plan.labels, frames, plan.meta)
            try:
                if save_images:
                    for part in plan.parts:
                        _add_images(services, db, archive, part)
            finally:
                archive.close()
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    what = "dataset" if save_images else "annotations"
    return path, download_name(target, target_id, what, fmt.name.lower())


def purge_old_exports(directory: Path, max_age_seconds: float) -> None:
    """Remove result files older than the request retention (their requests are gone)."""
    if not directory.is_dir():
        return
    cutoff = time.time() - max_age_seconds
    for entry in directory.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        except OSError:
            continue
