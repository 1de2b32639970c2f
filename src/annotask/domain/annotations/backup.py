"""Task and project backups (spec 2.10, 2.11), in CVAT's layout where practical.

A task backup zip holds:

- ``task.json``: name, options (segment size, overlap, bug tracker, subset),
  labels as a ``labels`` list that task creation accepts, the jobs' frame
  ranges, and ``data``: image quality, chunk size and type, storage method,
  frame range and filter, sorting method, deleted frames and the ordered list
  of media files;
- ``annotations.json``: one ``LabeledData`` per job (in ``jobs`` order) with
  labels and attributes given by name instead of id, so they map onto the new
  task's labels;
- ``data/``: every media file of the task (all source files, also those the
  frame range skips, so the range means the same on restore) and
  ``manifest.jsonl``.

A project backup holds ``project.json`` (name, bug tracker, labels) and one
folder per task, ``task_0/``, ``task_1/``... in task id order (CVAT's names),
each holding exactly what that task's own backup holds.

A restore creates a new task with the same name, options and labels, stages
the media files as an upload and runs the task creation pipeline on them
(predefined order: the backup's file order), then stores each job's
annotations in the matching new job and finishes the request. A project
restore creates the project with its labels, then restores every task into it
that way (a task without data comes back empty) and finishes the request with
the new project id. If anything fails, what was created is deleted again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.annotations.model import AnnotationSet
from annotask.annotations.schema import LabelSet, LabelSpec
from annotask.db.models import Data, Project, Task, User
from annotask.domain import labels as label_rules
from annotask.domain import pending
from annotask.domain import projects as project_rules
from annotask.domain.annotations import rows
from annotask.domain.annotations.context import annotation_jobs, label_set
from annotask.domain.annotations.exporting import download_name, safe_part
from annotask.domain.annotations.importing import ImportFailed
from annotask.domain.annotations.service import bump_revisions, parse, store_task_data
from annotask.domain.annotations.task_media import (
    Scaled,
    StepProgress,
    create_data,
    drop_task,
    new_task,
)
from annotask.domain.errors import DomainError, NotFound
from annotask.domain.requests import Attempt, LeaseLost, Progress, RequestSnapshot, finish
from annotask.domain.task_data.kinds import kind_of_data
from annotask.domain.task_data.layout import data_layout
from annotask.domain.task_data.params import DataParams
from annotask.domain.task_data.sources import source_root
from annotask.security.archives import extract_archive
from annotask.security.errors import UnsafeInput
from annotask.security.json_input import load_json
from annotask.security.paths import safe_relative_name
from annotask.services import Services

BACKUP_VERSION = "1.0"
TASK_FILE = "task.json"
PROJECT_FILE = "project.json"
ANNOTATIONS_FILE = "annotations.json"
DATA_DIR = "data"
#: A project backup's task folders: ``task_<index>`` (CVAT's ``TASKNAME_TEMPLATE``).
TASK_DIR = re.compile(r"task_(\d+)")


# ---- labels and annotations by name ---------------------------------------------


def _labels_json(db: Session, owner: Task | Project) -> list[dict[str, Any]]:
    """The labels of a task or project as a ``labels`` list for creating one (no ids)."""
    result = []
    for label in label_rules.top_level_labels(db, owner):
        svg = label.svg or ""
        for sub in label.sublabels:
            svg = svg.replace(f'data-label-id="{sub.id}"', f'data-label-name="{sub.name}"')
        attributes = [
            {
                "name": a.name,
                "mutable": a.mutable,
                "input_type": a.input_type,
                "default_value": a.default_value or "",
                "values": list(a.values or []),
            }
            for a in label.attributes
        ]
        item: dict[str, Any] = {
            "name": label.name,
            "color": label.color,
            "type": label.type,
            "attributes": attributes,
            "sublabels": [
                {
                    "name": s.name,
                    "color": s.color,
                    "type": s.type,
                    "attributes": [
                        {
                            "name": a.name,
                            "mutable": a.mutable,
                            "input_type": a.input_type,
                            "default_value": a.default_value or "",
                            "values": list(a.values or []),
                        }
                        for a in s.attributes
                    ],
                }
                for s in label.sublabels
            ],
        }
        if svg:
            item["svg"] = svg
        result.append(item)
    return result


def _by_name(obj: dict[str, Any], labels: LabelSet, parent: LabelSpec | None = None) -> dict:
    label = labels.get(obj.pop("label_id"))
    assert label is not None
    obj.pop("id", None)
    obj["label"] = label.name

    def attrs(items: list[dict], spec_label: LabelSpec) -> list[dict]:
        named = []
        for a in items:
            spec = spec_label.attribute(a["spec_id"])
            if spec is not None:
                named.append({"name": spec.name, "value": a["value"]})
        return named

    obj["attributes"] = attrs(obj.get("attributes", []), label)
    for shape in obj.get("shapes", []):
        shape.pop("id", None)
        shape["attributes"] = attrs(shape.get("attributes", []), label)
    obj["elements"] = [_by_name(e, labels, label) for e in obj.get("elements", [])]
    return obj


def portable(data: AnnotationSet, labels: LabelSet) -> dict[str, Any]:
    body = data.to_json()
    for kind in ("tags", "shapes", "tracks"):
        body[kind] = [_by_name(obj, labels) for obj in body[kind]]
    return body


def _by_id(obj: dict[str, Any], labels: LabelSet, parent: LabelSpec | None, path: str) -> dict:
    if not isinstance(obj, dict):
        raise ImportFailed(f"{ANNOTATIONS_FILE}: {path} is not an object.")
    name = obj.pop("label", None)
    label = parent.sublabel_named(name) if parent else labels.named(name or "")
    if label is None:
        raise ImportFailed(f"{ANNOTATIONS_FILE}: {path} uses the unknown label '{name}'.")
    obj["label_id"] = label.id

    def attrs(items: Any) -> list[dict]:
        result = []
        for a in items or []:
            spec = label.attribute_named(a.get("name", "")) if isinstance(a, dict) else None
            if spec is not None:
                result.append({"spec_id": spec.id, "value": a.get("value", "")})
        return result

    obj["attributes"] = attrs(obj.get("attributes"))
    for shape in obj.get("shapes", []) or []:
        if isinstance(shape, dict):
            shape["attributes"] = attrs(shape.get("attributes"))
    obj["elements"] = [
        _by_id(e, labels, label, f"{path}.elements[{i}]")
        for i, e in enumerate(obj.get("elements", []) or [])
    ]
    return obj


def from_portable(body: Any, labels: LabelSet, where: str) -> AnnotationSet:
    if not isinstance(body, dict):
        raise ImportFailed(f"{ANNOTATIONS_FILE}: {where} is not an object.")
    converted = {
        kind: [
            _by_id(obj, labels, None, f"{where}.{kind}[{i}]")
            for i, obj in enumerate(body.get(kind) or [])
        ]
        for kind in ("tags", "shapes", "tracks")
    }
    try:
        return parse(converted)
    except DomainError as exc:
        raise ImportFailed(f"{ANNOTATIONS_FILE}: {where}: {exc.message}") from exc


# ---- export ------------------------------------------------------------------------


def _media_files(db: Session, services: Services, task: Task, data: Data) -> list[str]:
    """Every source file of the task in its source order (the manifest's)."""
    manifest = data_layout(services.settings, task.id, data).manifest
    return kind_of_data(data).source_files(db, data, manifest)


def _write_task(
    archive: zipfile.ZipFile, services: Services, db: Session, task: Task, prefix: str = ""
) -> None:
    """Add one task's backup (``task.json``, ``annotations.json``, ``data/``) under ``prefix``."""
    data = task.data
    jobs = annotation_jobs(db, task.id)
    labels = label_set(db, task)
    per_job = rows.load_jobs(db, [j.id for j in jobs])
    files = _media_files(db, services, task, data) if data is not None else []
    description: dict[str, Any] = {
        "version": BACKUP_VERSION,
        "name": task.name,
        "bug_tracker": task.bug_tracker or "",
        "subset": task.subset or "",
        "status": task.status,
        "mode": task.mode,
        "overlap": task.overlap,
        "segment_size": task.segment_size,
        "dimension": task.dimension,
        "labels": _labels_json(db, label_rules.label_owner(db, task)),
        "jobs": [
            {"start_frame": j.start, "stop_frame": j.stop, "type": "annotation"} for j in jobs
        ],
    }
    if data is not None:
        description["data"] = {
            "chunk_size": data.chunk_size,
            "image_quality": data.image_quality,
            "start_frame": data.start_frame,
            "stop_frame": data.stop_frame,
            "frame_filter": data.frame_filter or "",
            "chunk_type": data.compressed_chunk_type,
            "storage_method": data.storage_method,
            "storage": "local",
            "sorting_method": data.sorting_method,
            "use_zip_chunks": data.use_zip_chunks,
            "deleted_frames": list(data.deleted_frames or []),
            "media_type": data.media_type,
            "size": data.size,
            "files": files,
        }
    archive.writestr(prefix + TASK_FILE, json.dumps(description, indent=2, ensure_ascii=False))
    archive.writestr(
        prefix + ANNOTATIONS_FILE,
        json.dumps([portable(per_job[j.id], labels) for j in jobs], ensure_ascii=False),
    )
    if data is None:
        return
    layout = data_layout(services.settings, task.id, data)
    root = source_root(services.settings, layout, data.source_root)
    for name in files:
        archive.write(root / name, f"{prefix}{DATA_DIR}/{name}", compress_type=zipfile.ZIP_STORED)
    if layout.manifest.is_file():
        archive.write(layout.manifest, f"{prefix}{DATA_DIR}/manifest.jsonl")


@contextmanager
def _result_zip(services: Services, request_id: str) -> Iterator[tuple[zipfile.ZipFile, Path]]:
    """A zip written under a temporary name and renamed into place once complete."""
    directory = services.settings.exports_dir
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{request_id}.zip"
    partial = path.with_suffix(".part")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            yield archive, path
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def build_backup(
    services: Services, db: Session, *, request_id: str, task_id: int
) -> tuple[Path, str]:
    """Write the backup zip of a task; returns its path and download name."""
    task = db.get(Task, task_id)
    if task is None:
        raise NotFound(f"Task #{task_id} no longer exists.")
    with _result_zip(services, request_id) as (archive, path):
        _write_task(archive, services, db, task)
    return path, download_name("task", safe_part(task.name), "backup")


def build_project_backup(
    services: Services, db: Session, *, request_id: str, project_id: int, progress: Progress
) -> tuple[Path, str]:
    """Write the backup zip of a project and all its tasks; returns its path and download name."""
    project = db.get(Project, project_id)
    if project is None:
        raise NotFound(f"Project #{project_id} no longer exists.")
    tasks = list(db.scalars(select(Task).where(Task.project_id == project.id).order_by(Task.id)))
    description = {
        "version": BACKUP_VERSION,
        "name": project.name,
        "bug_tracker": project.bug_tracker or "",
        "status": project.status,
        "labels": _labels_json(db, project),
    }
    with _result_zip(services, request_id) as (archive, path):
        archive.writestr(PROJECT_FILE, json.dumps(description, indent=2, ensure_ascii=False))
        for index, task in enumerate(tasks):
            progress.report(0.1 + 0.85 * index / len(tasks), f"Writing task #{task.id}")
            _write_task(archive, services, db, task, f"task_{index}/")
    return path, download_name("project", safe_part(project.name), "backup")


# ---- reading a backup ------------------------------------------------------------------


def _unpack(services: Services, archive: Path, what: str) -> Path:
    """Extract the uploaded zip next to it (afresh: a re-run after a crash starts clean)."""
    settings = services.settings
    work = archive.parent / "extracted"
    shutil.rmtree(work, ignore_errors=True)
    if not archive.is_file():
        raise ImportFailed("The uploaded backup is gone; upload it again.")
    if not zipfile.is_zipfile(archive):
        raise ImportFailed(f"A {what} backup must be a zip file.")
    try:
        extract_archive(
            archive,
            work,
            max_entries=settings.archive_max_entries,
            max_total_bytes=settings.archive_max_bytes,
            max_ratio=settings.archive_max_ratio_annotations,
            disk_reserve_bytes=settings.archive_disk_reserve_bytes,
        )
    except UnsafeInput as exc:
        raise ImportFailed(exc.message) from exc
    return work


def _read_json(root: Path, name: str, what: str = "task", where: str = "") -> Any:
    path = root / name
    if not path.is_file():
        raise ImportFailed(f"This is not a {what} backup: {where}{name} is missing.")
    try:
        # The same limits as a JSON body: nesting, control characters, 64-bit integers.
        return load_json(path.read_bytes(), f"{where}{name}")
    except UnsafeInput as exc:
        raise ImportFailed(exc.message) from exc


@dataclass
class TaskBackup:
    """One task of a backup, read and checked: nothing is created before all are."""

    root: Path  # the folder holding task.json
    where: str  # "" or "task_0/", for messages
    description: dict[str, Any]
    annotations: list
    info: dict[str, Any] | None  # task.json's ``data``; None for a task without data
    files: list[str]

    @property
    def params(self) -> DataParams:
        assert self.info is not None
        return _data_params(self.info, self.files, self.where)


def read_task_backup(root: Path, where: str = "", *, require_data: bool = True) -> TaskBackup:
    description = _read_json(root, TASK_FILE, where=where)
    annotations = _read_json(root, ANNOTATIONS_FILE, where=where)
    if not isinstance(description, dict) or not isinstance(annotations, list):
        raise ImportFailed(
            f"This is not a task backup: {where}{TASK_FILE} or {where}{ANNOTATIONS_FILE} "
            "is malformed."
        )
    info = description.get("data")
    if not isinstance(info, dict) or not info.get("files"):
        if require_data:
            raise ImportFailed("The backup holds no media: a task without data cannot be restored.")
        return TaskBackup(root, where, description, annotations, None, [])
    try:
        files = [safe_relative_name(str(name)) for name in info["files"]]
    except UnsafeInput as exc:
        raise ImportFailed(f"{where}{TASK_FILE}: {exc.message}") from exc
    missing = [name for name in files if not (root / DATA_DIR / name).is_file()]
    if missing:
        raise ImportFailed(f"The backup lacks media files: {', '.join(missing[:5])}.")
    _data_params(info, files, where)  # refuse bad data options before anything is created
    return TaskBackup(root, where, description, annotations, info, files)


def _data_params(info: dict[str, Any], files: list[str], where: str = "") -> DataParams:
    try:
        return DataParams.model_validate(
            {
                "image_quality": info.get("image_quality", 70),
                "chunk_size": info.get("chunk_size"),
                "start_frame": info.get("start_frame", 0),
                "stop_frame": info.get("stop_frame"),
                "frame_filter": info.get("frame_filter", ""),
                "use_zip_chunks": bool(info.get("use_zip_chunks", False)),
                "use_cache": info.get("storage_method") == "cache",
                "sorting_method": "predefined",
                "client_files": files,
            }
        )
    except ValueError as exc:
        raise ImportFailed(f"{where}{TASK_FILE}: the data options are invalid: {exc}") from exc


# ---- restore -----------------------------------------------------------------------


def restore_task(
    services: Services,
    owner_id: int | None,
    backup: TaskBackup,
    progress: StepProgress,
    *,
    project_id: int | None = None,
    finish_request: bool = False,
) -> int:
    """A new task from one task backup (inside ``project_id`` if given); its id.

    With ``finish_request`` the request is finished (``result_id`` = the task)
    in the transaction that stores the annotations. The task is deleted again
    if anything fails.
    """
    description = backup.description
    fields: dict[str, Any] = {
        "name": str(description.get("name") or "restored task"),
        "bug_tracker": str(description.get("bug_tracker") or ""),
        "subset": str(description.get("subset") or ""),
        "segment_size": description.get("segment_size") or 0,
        "overlap": description.get("overlap"),
    }
    if project_id is None:
        fields["labels"] = description.get("labels") or []
    else:
        fields["project_id"] = project_id  # a project's task uses the project's labels
    try:
        task_id = new_task(services, owner_id, fields, progress.attempt)
    except NotFound:
        raise
    except DomainError as exc:
        raise ImportFailed(
            f"{backup.where}{TASK_FILE} describes an invalid task: {exc.message}"
        ) from exc
    try:
        if backup.info is not None:
            files = [(name, backup.root / DATA_DIR / name) for name in backup.files]
            create_data(services, task_id, files, backup.params, progress)
            progress.report(0.98, "Restoring the annotations")
        with services.sessions() as db, db.begin():
            if backup.info is not None:
                _restore_annotations(db, task_id, backup.annotations, backup.info)
            if finish_request:
                if not finish(db, progress.attempt, result_id=task_id):
                    raise LeaseLost
                pending.settle(db, progress.attempt)
    except BaseException:
        drop_task(services, task_id, progress.attempt)
        raise
    return task_id


def restore_backup(services: Services, request: RequestSnapshot, progress: Progress) -> int:
    """The ``import:backup`` job of a task: a new task; finishes its own request."""
    archive = Path(request.params["path"])
    progress.report(0.02, "Unpacking the backup")
    work = _unpack(services, archive, "task")
    backup = read_task_backup(work)
    task_id = restore_task(services, request.owner_id, backup, progress, finish_request=True)
    shutil.rmtree(archive.parent, ignore_errors=True)
    return task_id


def _task_folders(work: Path) -> list[Path]:
    """``task_0``, ``task_1``... in index order."""
    found = [
        (int(match.group(1)), entry)
        for entry in work.iterdir()
        if entry.is_dir() and (match := TASK_DIR.fullmatch(entry.name))
    ]
    return [entry for _index, entry in sorted(found)]


def _new_project(
    services: Services, owner_id: int | None, description: dict, attempt: Attempt
) -> int:
    """The empty project, pending for ``attempt`` until the restore finishes."""
    fields = {
        "name": str(description.get("name") or "restored project"),
        "labels": description.get("labels") or [],
        "bug_tracker": str(description.get("bug_tracker") or ""),
    }
    with services.sessions() as db, db.begin():
        owner = db.get(User, owner_id) if owner_id else None
        if owner is None:
            raise ImportFailed("The user who restores the backup no longer exists.")
        try:
            project_id = project_rules.create_project(db, owner, fields).id
        except DomainError as exc:
            raise ImportFailed(
                f"{PROJECT_FILE} describes an invalid project: {exc.message}"
            ) from exc
        pending.register(db, attempt, pending.PROJECT, project_id)
        return project_id


def _drop_project(services: Services, project_id: int, attempt: Attempt) -> None:
    pending.abandon(services, attempt, pending.PROJECT, project_id)


def restore_project_backup(services: Services, request: RequestSnapshot, progress: Progress) -> int:
    """The ``import:backup`` job of a project: a new project with all its tasks.

    Every task folder is read and checked before anything is created; the
    request finishes with ``result_id`` = the new project once the last task
    is restored, and the project (with its tasks) is deleted if anything fails.
    """
    archive = Path(request.params["path"])
    progress.report(0.02, "Unpacking the backup")
    work = _unpack(services, archive, "project")
    description = _read_json(work, PROJECT_FILE, "project")
    if not isinstance(description, dict):
        raise ImportFailed(f"This is not a project backup: {PROJECT_FILE} is malformed.")
    backups = [
        read_task_backup(folder, f"{folder.name}/", require_data=False)
        for folder in _task_folders(work)
    ]
    project_id = _new_project(services, request.owner_id, description, progress.attempt)
    try:
        for index, backup in enumerate(backups):
            low = 0.05 + 0.9 * index / len(backups)
            high = 0.05 + 0.9 * (index + 1) / len(backups)
            step = Scaled(progress, low, high)
            restore_task(services, request.owner_id, backup, step, project_id=project_id)
        with services.sessions() as db, db.begin():
            if not finish(db, progress.attempt, result_id=project_id):
                raise LeaseLost
            pending.settle(db, progress.attempt)  # the project and every task in it
    except BaseException:
        _drop_project(services, project_id, progress.attempt)
        raise
    shutil.rmtree(archive.parent, ignore_errors=True)
    return project_id


def _restore_annotations(db: Session, task_id: int, annotations: list, info: dict) -> None:
    task = db.get(Task, task_id)
    assert task is not None and task.data is not None
    if info.get("sorting_method") in ("lexicographical", "natural", "predefined", "random"):
        task.data.sorting_method = info["sorting_method"]
    if isinstance(info.get("deleted_frames"), list):
        task.data.deleted_frames = [
            f for f in info["deleted_frames"] if isinstance(f, int) and 0 <= f < task.data.size
        ]
    labels = label_set(db, task)
    jobs = annotation_jobs(db, task_id, lock=True)
    per_job = [from_portable(body, labels, f"[{i}]") for i, body in enumerate(annotations)]
    if len(per_job) == len(jobs):
        for job, data in zip(jobs, per_job, strict=True):
            data = AnnotationSet(tags=data.tags, shapes=data.shapes, tracks=data.tracks)
            keep = _inside(data, job.start, job.stop)
            rows.insert(db, job.id, keep)
    else:  # the jobs came out differently: store everything through the task view
        merged = AnnotationSet()
        for data in per_job:
            merged.tags += data.tags
            merged.shapes += data.shapes
            merged.tracks += data.tracks
        store_task_data(db, jobs, _inside(merged, 0, task.data.size - 1))
    bump_revisions(db, jobs)


def _inside(data: AnnotationSet, start: int, stop: int) -> AnnotationSet:
    """Drop objects outside the range rather than failing the whole restore."""
    return AnnotationSet(
        tags=[t for t in data.tags if start <= t.frame <= stop],
        shapes=[s for s in data.shapes if start <= s.frame <= stop],
        tracks=[t for t in data.tracks if t.shapes and start <= t.frame <= stop],
    )
