"""Projects: a shared label set and a folder of tasks.

Deleting a project deletes its tasks with everything they own, files included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import Project, Storage, Task, User
from annotask.domain import labels as label_rules
from annotask.domain import permissions
from annotask.domain import tasks as task_rules
from annotask.domain.errors import Errors
from annotask.domain.listing import ListSpec, Lookup, apply_listing, username_of
from annotask.settings import Settings


def get_project(db: Session, user: User, project_id: int) -> Project:
    """A project the user may see; 404 otherwise."""
    project = db.get(Project, project_id) if 0 < project_id <= task_rules.MAX_ID else None
    return permissions.require_project_view(db, user, project)


def get_project_for_change(db: Session, user: User, project_id: int) -> Project:
    project = db.get(Project, project_id) if 0 < project_id <= task_rules.MAX_ID else None
    return permissions.require_project_change(db, user, project)


@dataclass
class ProjectSummary:
    task_count: int = 0
    subsets: list[str] = field(default_factory=list)
    dimension: str | None = None


def project_summaries(db: Session, project_ids: list[int]) -> dict[int, ProjectSummary]:
    """Task counts, subsets and dimension per project for ProjectRead.

    The dimension is null until a task of the project has data (as in CVAT).
    """
    summaries = {pid: ProjectSummary() for pid in project_ids}
    if not project_ids:
        return summaries
    rows = db.execute(
        select(Task.project_id, Task.subset, Task.dimension, Task.data_id)
        .where(Task.project_id.in_(project_ids))
        .order_by(Task.id)
    )
    for project_id, subset, dimension, data_id in rows:
        assert project_id is not None  # selected by project_id
        summary = summaries[project_id]
        summary.task_count += 1
        if subset and subset not in summary.subsets:
            summary.subsets.append(subset)
        if data_id is not None and summary.dimension is None:
            summary.dimension = dimension
    return summaries


@dataclass(frozen=True)
class ProjectView:
    project: Project
    summary: ProjectSummary
    owner: User | None
    assignee: User | None
    source_storage: Storage | None
    target_storage: Storage | None


def project_views(db: Session, projects: Sequence[Project]) -> list[ProjectView]:
    """Projects with what their read model needs, loaded for a whole page at once."""
    summaries = project_summaries(db, [p.id for p in projects])
    users = task_rules.users_by_id(db, [i for p in projects for i in (p.owner_id, p.assignee_id)])
    storages = task_rules.storages_by_id(
        db, [i for p in projects for i in (p.source_storage_id, p.target_storage_id)]
    )
    return [
        ProjectView(
            project=p,
            summary=summaries[p.id],
            owner=users.get(p.owner_id) if p.owner_id else None,
            assignee=users.get(p.assignee_id) if p.assignee_id else None,
            source_storage=storages.get(p.source_storage_id) if p.source_storage_id else None,
            target_storage=storages.get(p.target_storage_id) if p.target_storage_id else None,
        )
        for p in projects
    ]


PROJECT_LIST = ListSpec(
    lookups={
        "id": Lookup(Project.id, "int"),
        "name": Lookup(Project.name),
        "owner": Lookup(username_of(Project.owner_id)),
        "assignee": Lookup(username_of(Project.assignee_id)),
        "status": Lookup(Project.status),
        "created_date": Lookup(Project.created_date, "datetime"),
        "updated_date": Lookup(Project.updated_date, "datetime"),
    },
    simple=("name", "owner", "assignee", "status"),
    search=("name", "owner", "assignee", "status"),
    default_sort="-id",
)


def list_projects(user: User, params: Mapping[str, str]) -> Select:
    """The projects the user may see, filtered and sorted as CVAT's ``GET /api/projects``."""
    query = select(Project).where(permissions.visible_projects(user))
    return apply_listing(query, params, PROJECT_LIST, Project.id)


def create_project(db: Session, user: User, fields: Mapping[str, Any]) -> Project:
    """Create a project from a ``ProjectWriteRequest``'s fields; all checks come first."""
    errors = Errors()
    name = task_rules.check_name(fields["name"], errors)
    bug_tracker = task_rules.check_bug_tracker(fields.get("bug_tracker", ""), errors)
    owner = task_rules.creation_owner(db, user, fields.get("owner_id"), errors)
    assignee = task_rules.check_user(db, fields.get("assignee_id"), "assignee_id", errors)
    for key in ("source_storage", "target_storage"):
        task_rules.check_storage(fields.get(key), key, errors)
    labels = fields.get("labels") or []
    if labels:
        label_rules.check_new_labels(labels, errors)
    errors.raise_if_any()

    now = utcnow()
    project = Project(
        name=name,
        owner_id=owner.id,
        assignee_id=assignee.id if assignee else None,
        assignee_updated_date=now if assignee else None,
        bug_tracker=bug_tracker,
        created_date=now,
        updated_date=now,
    )
    db.add(project)
    db.flush()
    for key in ("source_storage", "target_storage"):
        if fields.get(key) is not None:
            task_rules.set_storage(db, project, key, fields[key])
    if labels:
        label_rules.apply_labels(db, project, labels, creating=True)
    db.flush()
    return project


def update_project(
    db: Session, user: User, project: Project, changes: Mapping[str, Any]
) -> Project:
    """Apply a ``PatchedProjectWriteRequest`` (only the fields present in ``changes``)."""
    errors = Errors()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = task_rules.check_name(changes["name"], errors)
    if "bug_tracker" in changes:
        values["bug_tracker"] = task_rules.check_bug_tracker(changes["bug_tracker"], errors)
    if "owner_id" in changes:
        if changes["owner_id"] is None:
            errors.add("owner_id", "A project must have an owner.")
        elif task_rules.check_user(db, changes["owner_id"], "owner_id", errors):
            values["owner_id"] = changes["owner_id"]
    if "assignee_id" in changes and changes["assignee_id"] != project.assignee_id:
        task_rules.check_user(db, changes["assignee_id"], "assignee_id", errors)
        values["assignee_id"] = changes["assignee_id"]
        values["assignee_updated_date"] = utcnow()
    for key in ("source_storage", "target_storage"):
        task_rules.check_storage(changes.get(key), key, errors)
    task_rules.check_unsupported(changes, {"organization_id": (None,)}, errors)
    errors.raise_if_any()

    if changes.get("labels"):
        label_rules.apply_labels(db, project, changes["labels"])
    for key in ("source_storage", "target_storage"):
        if key in changes:
            task_rules.set_storage(db, project, key, changes[key])
    for key, value in values.items():
        setattr(project, key, value)
    project.updated_date = utcnow()
    db.flush()
    return project


def delete_project(db: Session, settings: Settings, project: Project) -> None:
    """Delete a project, its labels and all its tasks (with their data and files)."""
    for task in db.scalars(select(Task).where(Task.project_id == project.id)).all():
        task_rules.delete_task(db, settings, task)
    storages = [sid for sid in (project.source_storage_id, project.target_storage_id) if sid]
    project_id = project.id
    db.execute(
        delete(Project).where(Project.id == project_id).execution_options(synchronize_session=False)
    )
    db.expunge(project)
    if storages:
        db.execute(delete(Storage).where(Storage.id.in_(storages)))
