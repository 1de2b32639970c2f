"""Finding labels: whose label set a task uses, one label by id, and ``GET /api/labels``.

Labels belong to a project or to a task outside any project; a task inside a
project has no labels of its own and uses the project's.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.orm import Session, aliased, selectinload

from annotask.db.models import Job, Label, Project, Task, User
from annotask.domain import permissions
from annotask.domain.errors import NotFound, PermissionDenied, ValidationFailed
from annotask.domain.labels.parsing import MAX_ID
from annotask.domain.listing import ListSpec, Lookup, apply_listing, parse_id

LabelOwner = Task | Project


def label_owner(db: Session, task: Task) -> LabelOwner:
    """A task inside a project uses the project's labels."""
    if task.project_id is not None:
        project = db.get(Project, task.project_id)
        if project is not None:
            return project
    return task


def owner_condition(owner: LabelOwner) -> ColumnElement[bool]:
    """The labels of ``owner`` (sublabels included), as a SQL condition."""
    if isinstance(owner, Project):
        return Label.project_id == owner.id
    return Label.task_id == owner.id


def top_level_labels(db: Session, owner: LabelOwner) -> list[Label]:
    """The labels of a task or project with their attributes and sublabels loaded."""
    query = (
        select(Label)
        .where(owner_condition(owner), Label.parent_id.is_(None))
        .options(
            selectinload(Label.attributes),
            selectinload(Label.sublabels).selectinload(Label.attributes),
        )
        .order_by(Label.id)
    )
    return list(db.scalars(query).all())


def get_label(db: Session, user: User, label_id: int) -> Label:
    """A label (or skeleton point) the user may see; 404 otherwise."""
    label = db.get(Label, label_id) if 0 < label_id <= MAX_ID else None
    if label is None or not db.scalar(
        select(exists().where(Label.id == label.id, permissions.visible_labels(user)))
    ):
        raise NotFound()
    return label


def label_owner_for_change(db: Session, user: User, label: Label) -> LabelOwner:
    """The task or project whose label set changes; 403 when the user may not change it.

    The caller already sees the label (:func:`get_label`), so refusing is a 403
    even when its task or project is out of their sight (a job's assignee sees
    the labels of a task they cannot open).
    """
    if label.project_id is not None:
        project = db.get(Project, label.project_id)
        if project is not None and permissions.can_change_project(user, project):
            return project
        raise PermissionDenied("Only the project owner or an admin may change its labels.")
    task = db.get(Task, label.task_id)
    if task is not None and permissions.can_change_task(db, user, task):
        return task
    raise PermissionDenied(
        "Only the task owner, the project owner or an admin may change its labels."
    )


_parent_label = aliased(Label)

LABEL_LIST = ListSpec(
    lookups={
        "id": Lookup(Label.id, "int"),
        "name": Lookup(Label.name),
        "parent": Lookup(
            select(_parent_label.name).where(_parent_label.id == Label.parent_id).scalar_subquery()
        ),
        "parent_id": Lookup(Label.parent_id, "int"),
        "type": Lookup(Label.type),
        "color": Lookup(Label.color),
    },
    simple=("name", "parent", "parent_id", "type", "color"),
    search=("name", "parent"),
    default_sort="id",
)


def _row(db: Session, model: type[Job | Task | Project], value: str, field: str):
    """The row named by a list filter, or None (a 404 from the access check) for ids no
    column holds. The access checks come from ``permissions``, not from the task, job
    and project modules: those import this package to validate and write labels."""
    object_id = parse_id(value, field) or 0
    return db.get(model, object_id) if 0 < object_id <= MAX_ID else None


def list_labels(db: Session, user: User, params: Mapping[str, str]) -> Select:
    """CVAT's ``GET /api/labels``: the labels of one task, job or project, or all visible ones.

    Only top-level labels are listed; skeleton points come nested in ``sublabels``.
    A task or job inside a project lists the project's labels.
    """
    scopes = {key: params.get(key) for key in ("job_id", "task_id", "project_id")}
    given = {key: value for key, value in scopes.items() if value not in (None, "")}
    if len(given) > 1:
        raise ValidationFailed("job_id, task_id and project_id cannot be used together.")
    query = select(Label)
    owner: LabelOwner | None = None
    if "job_id" in given:
        job = permissions.require_job_view(db, user, _row(db, Job, given["job_id"], "job_id"))
        owner = label_owner(db, db.get_one(Task, job.task_id))
    elif "task_id" in given:
        task = permissions.require_task_view(db, user, _row(db, Task, given["task_id"], "task_id"))
        owner = label_owner(db, task)
    elif "project_id" in given:
        project = _row(db, Project, given["project_id"], "project_id")
        owner = permissions.require_project_view(db, user, project)
    if owner is not None:
        query = query.where(owner_condition(owner))
    else:
        query = query.where(permissions.visible_labels(user))
    if not params.get("parent") and not params.get("parent_id"):
        query = query.where(Label.parent_id.is_(None))
    query = query.options(
        selectinload(Label.attributes),
        selectinload(Label.sublabels).selectinload(Label.attributes),
    )
    return apply_listing(query, params, LABEL_LIST, Label.id)
