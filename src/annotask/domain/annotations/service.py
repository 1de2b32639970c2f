"""Reading and writing annotations of a job or a whole task (spec 2.7).

Each job stores its own annotations. A task's annotations are computed: its
annotation jobs merged in id order (task-semantics 7). Task-level writes go
the other way: the data is sliced into every job whose range it touches, so an
object on an overlapped frame is stored in both jobs (as CVAT does).

Concurrency: every write locks the jobs it touches (``SELECT ... FOR UPDATE``;
SQLite serialises writers anyway), checks the version the client expects, if
it gave one (HTTP ``If-Match``), and bumps ``Job.annotations_version``. A job's
version is its counter; a task's is the sum of its jobs' counters, which also
only grows. A write expecting another version is refused with 412 and the
current annotations. The body's ``version`` is ignored, as CVAT ignores it:
clients hard-code ``0`` there. A save of one job does not lock its task's row:
the task's ``updated_date`` moves after the commit (``touch_tasks_after_commit``),
so annotators of one task never queue.

Everything happens in the caller's transaction: a refused save changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from annotask.annotations.merge import (
    SHAPE_THRESHOLD,
    TRACK_THRESHOLD,
    merge_jobs,
    shape_similarity,
    slice_for_job,
    track_similarity,
)
from annotask.annotations.model import AnnotationError, AnnotationSet, Shape, Tag, Track
from annotask.annotations.schema import LabelSet
from annotask.annotations.validation import validate_annotations
from annotask.db.base import utcnow
from annotask.db.models import Job, Project, Task, User
from annotask.domain import permissions
from annotask.domain.annotations import rows
from annotask.domain.annotations.context import (
    JobRange,
    annotation_jobs,
    job_range,
    label_set,
)
from annotask.domain.errors import DomainError, PermissionDenied, ValidationFailed
from annotask.services import after_commit

ACTIONS = ("create", "update", "delete")
KINDS = ("tags", "shapes", "tracks")


class StaleVersion(DomainError):
    """The client wrote over annotations it has not seen; the body shows the current ones."""

    status_code = 412

    def __init__(self, current: dict[str, Any]) -> None:
        super().__init__(
            f"The annotations were changed by someone else (version {current['version']} is "
            "current): reload them and apply your changes again."
        )
        self.current = current

    def body(self) -> dict:
        return {"detail": self.message, **self.current}


# ---- reading -------------------------------------------------------------------


def task_annotations(db: Session, task: Task, jobs: list[JobRange] | None = None) -> AnnotationSet:
    """The task view: annotation jobs merged in id order, ``version`` set."""
    jobs = annotation_jobs(db, task.id) if jobs is None else jobs
    per_job = rows.load_jobs(db, [j.id for j in jobs])
    merged = merge_jobs(
        ((per_job[j.id], j.start) for j in jobs), task.overlap or 0, dimension=task.dimension
    )
    merged.version = sum(j.version for j in jobs)
    return merged


def job_annotations(db: Session, job: Job) -> AnnotationSet:
    data = rows.load_job(db, job.id)
    data.version = job_range(db, job).version
    return data


def read_task(db: Session, task: Task) -> dict[str, Any]:
    return task_annotations(db, task).to_json()


def read_job(db: Session, job: Job) -> dict[str, Any]:
    return job_annotations(db, job).to_json()


# ---- parsing and checks ----------------------------------------------------------


def parse_action(value: str | None, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise ValidationFailed({"action": "Specify one of: create, update, delete."})
        return None
    if value not in ACTIONS:
        choices = ", ".join(ACTIONS)
        raise ValidationFailed({"action": f'"{value}" is not a valid choice: {choices}.'})
    return value


def parse(raw: Any) -> AnnotationSet:
    try:
        return AnnotationSet.from_json(raw)
    except AnnotationError as exc:
        raise ValidationFailed(exc.errors) from exc


def check(data: AnnotationSet, labels: LabelSet, start: int, stop: int) -> None:
    try:
        validate_annotations(data, labels, start, stop)
    except AnnotationError as exc:
        raise ValidationFailed(exc.errors) from exc


def _ids_to_delete(raw: Any) -> dict[str, list[int]]:
    """The ids of a ``delete`` body; only ``id`` is read, whatever else an object carries."""
    if not isinstance(raw, dict):
        raise ValidationFailed("Expected an object with tags, shapes and tracks.")
    errors: dict[str, list[str]] = {}
    ids: dict[str, list[int]] = {}
    for kind in KINDS:
        items = raw.get(kind) or []
        if not isinstance(items, list):
            errors[kind] = ["Expected a list of items."]
            continue
        ids[kind] = []
        for i, item in enumerate(items):
            value = item.get("id") if isinstance(item, dict) else None
            if isinstance(value, bool) or not isinstance(value, int):
                errors[f"{kind}[{i}].id"] = ["The id of the object to delete is required."]
            else:
                ids[kind].append(value)
    if errors:
        raise ValidationFailed(errors)
    return ids


def _require_ids(data: AnnotationSet, known: dict[str, dict[int, int]], jobs: set[int]) -> None:
    """Every object of an ``update`` must name an existing object of these jobs."""
    errors: dict[str, list[str]] = {}
    for kind in KINDS:
        for i, obj in enumerate(getattr(data, kind)):
            if obj.id is None:
                errors[f"{kind}[{i}].id"] = ["The id of the object to update is required."]
            elif known[kind].get(obj.id) not in jobs:
                errors[f"{kind}[{i}].id"] = [f"There is no object with id {obj.id} here."]
    if errors:
        raise ValidationFailed(errors)


def bump_revisions(
    db: Session, jobs: Iterable[JobRange], *, task_after_commit: bool = False
) -> None:
    """New revision for the jobs, and a new ``updated_date`` for their task too: the
    SDK's dataset cache refreshes a task's annotations only when that date grows.

    ``task_after_commit`` (a save of one job) moves the task's date in a short
    transaction of its own once this one has committed: annotators of different
    jobs of one task then never wait for each other on the task's row, which a
    save would otherwise lock until its commit. The date is set after the commit,
    so it is never older than the saved data (what the SDK's cache relies on).
    """
    ids = [j.id for j in jobs]
    if ids:
        now = utcnow()
        db.execute(
            update(Job)
            .where(Job.id.in_(ids))
            .values(annotations_version=Job.annotations_version + 1, updated_date=now)
        )
        tasks = select(Job.task_id).where(Job.id.in_(ids))
        if task_after_commit:
            touch_tasks_after_commit(db, list(db.scalars(tasks.distinct())))
        else:
            db.execute(update(Task).where(Task.id.in_(tasks)).values(updated_date=now))


def touch_tasks_after_commit(db: Session, task_ids: list[int]) -> None:
    """Once ``db`` commits, move the tasks' ``updated_date`` to the time after that
    commit, in a one-statement transaction (the row is locked only for it). The
    date only grows: a concurrent save that already set a later one is kept."""
    bind = db.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine

    def touch() -> None:
        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                update(Task)
                .where(Task.id.in_(task_ids), Task.updated_date < now)
                .values(updated_date=now)
            )

    after_commit(db, touch)


def _check_version(
    expected: Iterable[int] | None, current: int, show: Callable[[], AnnotationSet]
) -> None:
    """``expected``: the versions the client's ``If-Match`` accepts (None: no check)."""
    if expected is not None and current not in set(expected):
        raise StaleVersion(show().to_json())


# ---- one job ---------------------------------------------------------------------


def write_job(
    db: Session, job: Job, raw: Any, action: str | None, expected: Iterable[int] | None = None
) -> dict[str, Any]:
    """``PUT`` (``action`` None) or ``PATCH ?action=`` of a job's annotations."""
    task = job.segment.task
    current = job_range(db, job, lock=True)
    _check_version(expected, current.version, lambda: job_annotations(db, job))
    if action == "delete":
        ids = _ids_to_delete(raw)
        stored = rows.load_job(db, job.id)
        result = _pick(stored, ids)
        rows.delete_objects(db, **{k: [o.id for o in getattr(result, k)] for k in KINDS})
    else:
        data = parse(raw)
        check(data, label_set(db, task), current.start, current.stop)
        if action is None:
            rows.delete_jobs(db, [job.id])
            rows.insert(db, job.id, data)
        elif action == "create":
            rows.insert(db, job.id, data)
        else:
            among = {k: [o.id for o in getattr(data, k) if o.id is not None] for k in KINDS}
            _require_ids(data, rows.owners(db, [job.id], among), {job.id})
            rows.delete_objects(db, **{k: [o.id for o in getattr(data, k)] for k in KINDS})
            rows.insert(db, job.id, data, keep_ids=True)
        result = data
    bump_revisions(db, [current], task_after_commit=True)
    result.version = current.version + 1
    return result.to_json()


def clear_job(db: Session, job: Job, expected: Iterable[int] | None = None) -> None:
    current = job_range(db, job, lock=True)
    _check_version(expected, current.version, lambda: job_annotations(db, job))
    rows.delete_jobs(db, [job.id])
    bump_revisions(db, [current], task_after_commit=True)


def _pick(data: AnnotationSet, ids: dict[str, list[int]]) -> AnnotationSet:
    wanted = {kind: set(ids.get(kind, ())) for kind in KINDS}
    return AnnotationSet(
        tags=[t for t in data.tags if t.id in wanted["tags"]],
        shapes=[s for s in data.shapes if s.id in wanted["shapes"]],
        tracks=[t for t in data.tracks if t.id in wanted["tracks"]],
    )


# ---- the whole task ----------------------------------------------------------------


def store_task_data(
    db: Session,
    jobs: list[JobRange],
    data: AnnotationSet,
    *,
    keep: dict[tuple[str, int], int] | None = None,
) -> list[AnnotationSet]:
    """Slice task-level ``data`` into every job and insert it; returns the stored slices.

    ``keep`` maps ``(kind, id)`` to the job where that object keeps its id
    (updates); any other copy gets a new id.
    """
    stored = []
    for job in jobs:
        part = slice_for_job(data, job.start, job.stop)
        for kind in KINDS:
            for obj in getattr(part, kind):
                if keep is None or keep.get((kind, obj.id)) != job.id:
                    obj.id = None
        rows.insert(db, job.id, part, keep_ids=keep is not None)
        stored.append(part)
    return stored


def write_task(
    db: Session, task: Task, raw: Any, action: str | None, expected: Iterable[int] | None = None
) -> dict[str, Any]:
    """``PUT`` (``action`` None) or ``PATCH ?action=`` of a task's annotations."""
    jobs = annotation_jobs(db, task.id, lock=True)
    _check_version(expected, sum(j.version for j in jobs), lambda: task_annotations(db, task, jobs))
    size = task.data.size if task.data is not None else 0
    if not jobs:
        raise ValidationFailed("The task has no jobs yet: upload its data first.")
    if action == "delete":
        ids = _ids_to_delete(raw)
        per_job = rows.load_jobs(db, [j.id for j in jobs])
        result = _pick(task_annotations(db, task, jobs), ids)
        rows.delete_objects(db, **_with_twins(per_job, jobs, ids, task))
    else:
        data = parse(raw)
        check(data, label_set(db, task), 0, size - 1)
        if action is None:
            rows.delete_jobs(db, [j.id for j in jobs])
            store_task_data(db, jobs, data)
            result = None
        elif action == "create":
            stored = store_task_data(db, jobs, data)
            result = merge_jobs(
                zip(stored, (j.start for j in jobs), strict=True),
                task.overlap or 0,
                dimension=task.dimension,
            )
        else:
            known = rows.owners(db, [j.id for j in jobs])
            _require_ids(data, known, {j.id for j in jobs})
            per_job = rows.load_jobs(db, [j.id for j in jobs])
            ids = {kind: [o.id for o in getattr(data, kind)] for kind in KINDS}
            rows.delete_objects(db, **_with_twins(per_job, jobs, ids, task))
            keep = {(kind, o.id): known[kind][o.id] for kind in KINDS for o in getattr(data, kind)}
            store_task_data(db, jobs, data, keep=keep)
            result = _pick(task_annotations(db, task, jobs), ids)
    bump_revisions(db, jobs)
    version = sum(j.version for j in jobs) + len(jobs)
    if result is None:
        result = task_annotations(db, task, annotation_jobs(db, task.id))
    result.version = version
    return result.to_json()


def clear_task(db: Session, task: Task, expected: Iterable[int] | None = None) -> None:
    jobs = annotation_jobs(db, task.id, lock=True)
    _check_version(expected, sum(j.version for j in jobs), lambda: task_annotations(db, task, jobs))
    rows.delete_jobs(db, [j.id for j in jobs])
    bump_revisions(db, jobs)


# ---- copies of one object in overlapping jobs ------------------------------------


def _similar(kind: str, a: Any, b: Any, frames: tuple[int, int], dimension: str) -> float:
    if kind == "tags":
        return 1.0 if a.frame == b.frame and a.label_id == b.label_id else 0.0
    if kind == "shapes":
        return shape_similarity(a, b, dimension) if a.frame == b.frame else 0.0
    start, stop = frames
    return track_similarity(a, b, start, stop - start + 1, dimension)


_THRESHOLD = {"tags": 0.25, "shapes": SHAPE_THRESHOLD, "tracks": TRACK_THRESHOLD}


def _with_twins(
    per_job: dict[int, AnnotationSet], jobs: list[JobRange], ids: dict[str, list[int]], task: Task
) -> dict[str, list[int]]:
    """The ids plus the copies the merge unites with them in neighbouring jobs.

    An object on an overlapped frame is stored in both jobs and shown once; a
    task-level delete or update must reach every copy, or the other one would
    reappear. Copies are found the way the merge finds them (same frame and
    label for tags, IoU for shapes, per-frame similarity over the overlap for
    tracks), following chains of jobs.
    """
    located: dict[tuple[str, int], tuple[int, Tag | Shape | Track]] = {}
    for job in jobs:
        for kind in KINDS:
            for obj in getattr(per_job[job.id], kind):
                located[(kind, obj.id)] = (job.id, obj)
    by_id = {j.id: j for j in jobs}
    result = {kind: set(ids.get(kind, ())) for kind in KINDS}
    for kind in KINDS:
        queue = [i for i in result[kind] if (kind, i) in located]
        while queue:
            job_id, obj = located[(kind, queue.pop())]
            home = by_id[job_id]
            for other in jobs:
                start, stop = max(home.start, other.start), min(home.stop, other.stop)
                if other.id == job_id or start > stop:
                    continue
                if kind != "tracks" and not start <= obj.frame <= stop:
                    continue
                best, best_score = None, 1 - _THRESHOLD[kind]
                for candidate in getattr(per_job[other.id], kind):
                    if candidate.id in result[kind]:
                        continue
                    score = _similar(kind, obj, candidate, (start, stop), task.dimension)
                    if score >= best_score:
                        best, best_score = candidate, score
                if best is not None:
                    result[kind].add(best.id)
                    queue.append(best.id)
    return {kind: sorted(values) for kind, values in result.items()}


# ---- who may write ------------------------------------------------------------------


def require_task_annotate(db: Session, user: User, task: Task | None) -> Task:
    """Writing a whole task's annotations is for the people who run the task.

    Those are its owner and assignee, its project's owner and assignee, and
    admins; the assignee of one job may write that job only (the task itself is
    404 for them, as for anyone else outside its staff).
    """
    task = permissions.require_task_view(db, user, task)
    if user.is_superuser or user.id in (task.owner_id, task.assignee_id):
        return task
    project = db.get(Project, task.project_id) if task.project_id else None
    if project is not None and user.id in (project.owner_id, project.assignee_id):
        return task
    raise PermissionDenied(
        "Only the people running the task may change all of its annotations; "
        "a job's assignee changes them through the job."
    )
