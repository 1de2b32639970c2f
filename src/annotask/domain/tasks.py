"""Task records: creation, changes, deletion and listing (no media; that is the data pipeline).

A task is created empty (spec 1.4): its data, segments and jobs arrive later
with the upload. Deleting a task removes everything it owns, rows and files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, case, delete, func, select
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import BackgroundRequest, Data, Job, Project, Storage, Task, User
from annotask.domain import labels as label_rules
from annotask.domain import permissions
from annotask.domain.errors import Errors
from annotask.domain.listing import ListSpec, Lookup, apply_listing, username_of
from annotask.domain.task_data.layout import task_layout
from annotask.domain.task_data.start import latest_creations
from annotask.services import AFTER_COMMIT_KEY
from annotask.settings import Settings

MAX_ID = 2**31 - 1
NAME_MAX = 256
BUG_TRACKER_MAX = 2000
SUBSET_MAX = 64


# ---- field rules shared with projects -------------------------------------------


def check_name(name: str, errors: Errors, limit: int = NAME_MAX) -> str:
    name = name.strip()
    if not 1 <= len(name) <= limit:
        errors.add("name", f"A name must have 1 to {limit} characters.")
    return name


def check_bug_tracker(url: str, errors: Errors) -> str:
    """An issue tracker becomes a link in the UI, so only http(s) URLs are accepted."""
    url = url.strip()
    if len(url) > BUG_TRACKER_MAX:
        errors.add("bug_tracker", f"At most {BUG_TRACKER_MAX} characters.")
    elif url:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in url:
            errors.add("bug_tracker", "Issue tracker is expected to be an http(s) URL.")
    return url


def check_subset(subset: str, errors: Errors) -> str:
    if len(subset) > SUBSET_MAX:
        errors.add("subset", f"At most {SUBSET_MAX} characters.")
    return subset


def check_user(db: Session, user_id: int | None, field_name: str, errors: Errors) -> User | None:
    if user_id is None:
        return None
    user = db.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        errors.add(field_name, f'Invalid pk "{user_id}" - object does not exist.')
    return user


def creation_owner(db: Session, user: User, requested: int | None, errors: Errors) -> User:
    """Who owns a new task or project: the caller, unless an admin names someone.

    CVAT's serializers take ``owner_id`` on create only from admins; anyone
    else naming an owner would hand work (and its permissions) to another
    account, so the field is ignored for them, as in CVAT.
    """
    if not user.is_superuser:
        return user
    return check_user(db, requested, "owner_id", errors) or user


def check_storage(spec: Mapping[str, Any] | None, field_name: str, errors: Errors) -> None:
    """Storages are local for now; a cloud storage is refused rather than ignored."""
    if spec is None:
        return
    if spec.get("location", "local") != "local" or spec.get("cloud_storage_id") is not None:
        errors.add(field_name, "Cloud storages are not supported yet; use location 'local'.")


def set_storage(db: Session, obj: Task | Project, attribute: str, spec: Mapping | None) -> None:
    """Write ``source_storage``/``target_storage``: a Storage row, or none."""
    column = f"{attribute}_id"
    current = getattr(obj, column)
    if spec is None:
        setattr(obj, column, None)
        if current is not None:
            db.execute(delete(Storage).where(Storage.id == current))
        return
    storage = db.get(Storage, current) if current is not None else None
    if storage is None:
        storage = Storage()
        db.add(storage)
    storage.location = spec.get("location", "local")
    storage.cloud_storage_id = spec.get("cloud_storage_id")
    db.flush()
    setattr(obj, column, storage.id)


def check_unsupported(
    values: Mapping[str, Any], defaults: Mapping[str, tuple], errors: Errors
) -> None:
    """CVAT fields we do not implement are accepted only with their default values."""
    for key, allowed in defaults.items():
        if values.get(key) not in allowed:
            accepted = " or ".join("null" if a is None else str(a) for a in allowed)
            errors.add(key, f"Not supported yet; only {accepted} is accepted.")


def visible_project(db: Session, user: User, project_id: int, errors: Errors) -> Project | None:
    """The project a task refers to; one the user cannot see is reported as missing."""
    project = db.get(Project, project_id) if 0 < project_id <= MAX_ID else None
    if project is None or not permissions.can_see_project(db, user, project):
        errors.add("project_id", f"The specified project #{project_id} does not exist.")
        return None
    return project


# ---- reading ---------------------------------------------------------------------


def get_task(db: Session, user: User, task_id: int) -> Task:
    """A task the user may see; 404 otherwise (ids of others' tasks do not leak)."""
    task = db.get(Task, task_id) if 0 < task_id <= MAX_ID else None
    return permissions.require_task_view(db, user, task)


def get_task_for_change(db: Session, user: User, task_id: int) -> Task:
    task = db.get(Task, task_id) if 0 < task_id <= MAX_ID else None
    return permissions.require_task_change(db, user, task)


@dataclass(frozen=True)
class JobSummary:
    count: int = 0
    completed: int = 0
    validation: int = 0


def job_summaries(db: Session, task_ids: list[int]) -> dict[int, JobSummary]:
    """Job counts per task for TaskRead's ``jobs`` (completed = accepted and completed)."""
    if not task_ids:
        return {}
    accepted = (Job.stage == "acceptance") & (Job.state == "completed")
    query = (
        select(
            Job.task_id,
            func.count(Job.id),
            func.sum(case((accepted, 1), else_=0)),
            func.sum(case((Job.stage == "validation", 1), else_=0)),
        )
        .where(Job.task_id.in_(task_ids))
        .group_by(Job.task_id)
    )
    return {
        task_id: JobSummary(int(count), int(done or 0), int(validation or 0))
        for task_id, count, done, validation in db.execute(query)
    }


@dataclass(frozen=True)
class TaskView:
    """A task with what its read model needs, loaded for a whole page at once."""

    task: Task
    jobs: JobSummary
    owner: User | None
    assignee: User | None
    source_storage: Storage | None
    target_storage: Storage | None
    # The newest request that created (or failed to create) the task's data.
    creation: BackgroundRequest | None = None


def users_by_id(db: Session, ids: Iterable[int | None]) -> dict[int, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.scalars(select(User).where(User.id.in_(wanted)))}


def storages_by_id(db: Session, ids: Iterable[int | None]) -> dict[int, Storage]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {s.id: s for s in db.scalars(select(Storage).where(Storage.id.in_(wanted)))}


def task_views(db: Session, tasks: Sequence[Task]) -> list[TaskView]:
    summaries = job_summaries(db, [t.id for t in tasks])
    users = users_by_id(db, [i for t in tasks for i in (t.owner_id, t.assignee_id)])
    storages = storages_by_id(
        db, [i for t in tasks for i in (t.source_storage_id, t.target_storage_id)]
    )
    creations = latest_creations(db, [t.id for t in tasks])
    return [
        TaskView(
            task=t,
            jobs=summaries.get(t.id, JobSummary()),
            owner=users.get(t.owner_id) if t.owner_id else None,
            assignee=users.get(t.assignee_id) if t.assignee_id else None,
            source_storage=storages.get(t.source_storage_id) if t.source_storage_id else None,
            target_storage=storages.get(t.target_storage_id) if t.target_storage_id else None,
            creation=creations.get(t.id),
        )
        for t in tasks
    ]


# ---- listing ---------------------------------------------------------------------


TASK_LIST = ListSpec(
    lookups={
        "id": Lookup(Task.id, "int"),
        "name": Lookup(Task.name),
        "project_id": Lookup(Task.project_id, "int"),
        "project_name": Lookup(
            select(Project.name).where(Project.id == Task.project_id).scalar_subquery()
        ),
        "owner": Lookup(username_of(Task.owner_id)),
        "assignee": Lookup(username_of(Task.assignee_id)),
        "status": Lookup(Task.status),
        "subset": Lookup(Task.subset),
        "mode": Lookup(Task.mode),
        "dimension": Lookup(Task.dimension),
        "tracker_link": Lookup(Task.bug_tracker),
        "created_date": Lookup(Task.created_date, "datetime"),
        "updated_date": Lookup(Task.updated_date, "datetime"),
    },
    simple=(
        "project_id",
        "project_name",
        "name",
        "owner",
        "assignee",
        "status",
        "subset",
        "mode",
        "dimension",
        "tracker_link",
    ),
    search=(
        "project_name",
        "name",
        "owner",
        "status",
        "assignee",
        "subset",
        "mode",
        "dimension",
    ),
    default_sort="-id",
)


def list_tasks(user: User, params: Mapping[str, str]) -> Select:
    """The tasks the user may see, filtered and sorted as CVAT's ``GET /api/tasks``."""
    query = select(Task).where(permissions.visible_tasks(user))
    return apply_listing(query, params, TASK_LIST, Task.id)


# ---- writing ---------------------------------------------------------------------


def create_task(db: Session, user: User, fields: Mapping[str, Any]) -> Task:
    """Create an empty task from a ``TaskWriteRequest``'s fields (already typed).

    ``labels`` and a ``project_id`` exclude each other (CVAT's rule), except
    that the CLI always sends ``labels: []``, which is no label set at all.
    Everything is checked before the first row is written.
    """
    errors = Errors()
    name = check_name(fields["name"], errors)
    labels = fields.get("labels") or []
    project = None
    if fields.get("project_id") is not None:
        if labels:
            errors.add("non_field_errors", "Task must have only one of Label set or project_id")
        project = visible_project(db, user, fields["project_id"], errors)
    bug_tracker = check_bug_tracker(fields.get("bug_tracker", ""), errors)
    subset = check_subset(fields.get("subset", ""), errors)
    for key in ("segment_size", "overlap"):
        value = fields.get(key)
        if value is not None and not 0 <= value <= MAX_ID:
            errors.add(key, "Must be a non-negative integer.")
    segment_size, overlap = fields.get("segment_size") or 0, fields.get("overlap")
    if overlap is not None and segment_size and overlap >= segment_size:
        # CVAT's server clamps silently; its UI refuses. A silent change surprises users.
        errors.add("overlap", f"Segment size must be more than overlap size ({overlap}).")
    owner = creation_owner(db, user, fields.get("owner_id"), errors)
    assignee = check_user(db, fields.get("assignee_id"), "assignee_id", errors)
    for key in ("source_storage", "target_storage"):
        check_storage(fields.get(key), key, errors)
    check_unsupported(
        fields, {"initial_replicas": (None, 0), "consensus_replicas": (None, 0)}, errors
    )
    if labels:
        label_rules.check_new_labels(labels, errors)
    errors.raise_if_any()

    now = utcnow()
    task = Task(
        name=name,
        project_id=project.id if project else None,
        owner_id=owner.id,
        assignee_id=assignee.id if assignee else None,
        assignee_updated_date=now if assignee else None,
        bug_tracker=bug_tracker,
        subset=subset,
        segment_size=fields.get("segment_size") or 0,
        overlap=fields.get("overlap"),
        created_date=now,
        updated_date=now,
    )
    db.add(task)
    db.flush()
    for key in ("source_storage", "target_storage"):
        if fields.get(key) is not None:
            set_storage(db, task, key, fields[key])
    if labels:
        label_rules.apply_labels(db, task, labels, creating=True)
    db.flush()
    return task


def project_dimension(db: Session, project_id: int, other_than_task: int) -> str | None:
    """The dimension ("2d"/"3d") of the project's tasks with data, leaving one task out;
    None while no other task has data. A project never mixes 2D and 3D tasks."""
    return db.scalar(
        select(Task.dimension)
        .where(Task.project_id == project_id, Task.id != other_than_task, Task.data_id.is_not(None))
        .order_by(Task.id)
        .limit(1)
    )


def dimension_mismatch(dimension: str, other: str | None) -> str | None:
    """CVAT's message when a task of ``dimension`` would join tasks of ``other``."""
    if other is None or other == dimension:
        return None
    return (
        f"Dimension ({dimension}) of the task must be the same as other tasks in project ({other})"
    )


def update_task(db: Session, user: User, task: Task, changes: Mapping[str, Any]) -> Task:
    """Apply a ``PatchedTaskWriteRequest`` (only the fields present in ``changes``).

    Moving the task into a project maps its labels to the project's by name
    (400 on ``project_id`` when one is missing there); a task never leaves a
    project, and a task in a project has no labels of its own to change.
    """
    errors = Errors()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = check_name(changes["name"], errors)
    if "bug_tracker" in changes:
        values["bug_tracker"] = check_bug_tracker(changes["bug_tracker"], errors)
    if "subset" in changes:
        values["subset"] = check_subset(changes["subset"], errors)
    if "owner_id" in changes:
        if changes["owner_id"] is None:
            errors.add("owner_id", "A task must have an owner.")
        elif check_user(db, changes["owner_id"], "owner_id", errors):
            values["owner_id"] = changes["owner_id"]
    if "assignee_id" in changes and changes["assignee_id"] != task.assignee_id:
        check_user(db, changes["assignee_id"], "assignee_id", errors)
        values["assignee_id"] = changes["assignee_id"]
        values["assignee_updated_date"] = utcnow()
    for key in ("source_storage", "target_storage"):
        check_storage(changes.get(key), key, errors)
    check_unsupported(changes, {"organization_id": (None,)}, errors)
    project = None
    if "project_id" in changes:
        if changes["project_id"] is None:
            if task.project_id is not None:
                errors.add("project_id", "A task cannot leave its project.")
        elif changes["project_id"] != task.project_id:
            project = visible_project(db, user, changes["project_id"], errors)
            if project is not None and task.data_id is not None:
                other = project_dimension(db, project.id, task.id)
                problem = dimension_mismatch(task.dimension or "2d", other)
                if problem:
                    errors.add("project_id", problem)
    labels = changes.get("labels")
    if labels and (task.project_id is not None or project is not None):
        errors.add("labels", "A task in a project uses the project's labels; change them there.")
    errors.raise_if_any()

    if project is not None:
        label_rules.move_task_labels(db, task, project)
        values["project_id"] = project.id
    if labels:
        label_rules.apply_labels(db, task, labels)
    for key in ("source_storage", "target_storage"):
        if key in changes:
            set_storage(db, task, key, changes[key])
    for key, value in values.items():
        setattr(task, key, value)
    task.updated_date = utcnow()
    db.flush()
    db.refresh(task)
    return task


def delete_task(db: Session, settings: Settings, task: Task) -> None:
    """Delete a task with its labels, segments, jobs, annotations, data rows and files.

    Rows go through the database's cascades; the directory is removed only once
    the transaction has committed, so a failed delete never loses media.
    """
    task_id, data_id = task.id, task.data_id
    storages = [sid for sid in (task.source_storage_id, task.target_storage_id) if sid]
    db.execute(delete(Task).where(Task.id == task_id).execution_options(synchronize_session=False))
    db.expunge(task)
    if data_id is not None and not db.scalar(select(Task.id).where(Task.data_id == data_id)):
        db.execute(delete(Data).where(Data.id == data_id))
    if storages:
        db.execute(delete(Storage).where(Storage.id.in_(storages)))
    directory = task_layout(settings, task_id).root
    db.info.setdefault(AFTER_COMMIT_KEY, []).append(
        lambda: shutil.rmtree(directory, ignore_errors=True)
    )
