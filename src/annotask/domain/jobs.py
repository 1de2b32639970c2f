"""Jobs: who annotates which segment, and how far they got (task-semantics 10).

A job's ``status`` is derived from its stage and state; a task's status is
recomputed from its jobs whenever one of them moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Integer, Select, case, cast, null, select
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import Job, Project, Segment, Storage, Task, User
from annotask.domain import permissions
from annotask.domain import tasks as task_rules
from annotask.domain.errors import Errors
from annotask.domain.listing import ListSpec, Lookup, apply_listing, username_of

STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")


def job_status(stage: str, state: str) -> str:
    """CVAT's deprecated job status: annotation, completed (accepted and done) or validation."""
    if stage == "annotation":
        return "annotation"
    if stage == "acceptance" and state == "completed":
        return "completed"
    return "validation"


def task_status(statuses: list[str]) -> str:
    """Annotation while any job is in annotation, then validation, else completed."""
    if not statuses or "annotation" in statuses:
        return "annotation"
    if "validation" in statuses:
        return "validation"
    return "completed"


def recompute_task_status(db: Session, task_id: int) -> None:
    rows = db.execute(select(Job.stage, Job.state).where(Job.task_id == task_id)).all()
    task = db.get(Task, task_id)
    if task is not None:
        task.status = task_status([job_status(stage, state) for stage, state in rows])


def get_job(db: Session, user: User, job_id: int) -> Job:
    """A job the user may see; 404 otherwise."""
    job = db.get(Job, job_id) if 0 < job_id <= task_rules.MAX_ID else None
    return permissions.require_job_view(db, user, job)


@dataclass(frozen=True)
class JobView:
    """A job with its task, segment and the task's storages, for JobRead."""

    job: Job
    task: Task
    segment: Segment
    assignee: User | None
    source_storage: Storage | None
    target_storage: Storage | None

    @property
    def status(self) -> str:
        return job_status(self.job.stage, self.job.state)

    @property
    def frame_count(self) -> int:
        if self.segment.type == "specific_frames" and self.segment.frames is not None:
            return len(self.segment.frames)
        return self.segment.stop_frame - self.segment.start_frame + 1

    @property
    def bug_tracker(self) -> str | None:
        """The task's tracker or, when empty, its project's (CVAT's ``Job.get_bug_tracker``)."""
        if self.task.bug_tracker:
            return self.task.bug_tracker
        if self.task.project is not None and self.task.project.bug_tracker:
            return self.task.project.bug_tracker
        return None


def job_views(db: Session, jobs: Sequence[Job]) -> list[JobView]:
    tasks = {
        t.id: t for t in db.scalars(select(Task).where(Task.id.in_({j.task_id for j in jobs})))
    }
    users = task_rules.users_by_id(db, [j.assignee_id for j in jobs])
    storages = task_rules.storages_by_id(
        db, [i for t in tasks.values() for i in (t.source_storage_id, t.target_storage_id)]
    )
    views = []
    for job in jobs:
        task = tasks[job.task_id]
        views.append(
            JobView(
                job=job,
                task=task,
                segment=job.segment,
                assignee=users.get(job.assignee_id) if job.assignee_id else None,
                source_storage=storages.get(task.source_storage_id)
                if task.source_storage_id
                else None,
                target_storage=storages.get(task.target_storage_id)
                if task.target_storage_id
                else None,
            )
        )
    return views


JOB_LIST = ListSpec(
    lookups={
        "id": Lookup(Job.id, "int"),
        "task_id": Lookup(Job.task_id, "int"),
        "project_id": Lookup(
            select(Task.project_id).where(Task.id == Job.task_id).scalar_subquery(), "int"
        ),
        "task_name": Lookup(select(Task.name).where(Task.id == Job.task_id).scalar_subquery()),
        "project_name": Lookup(
            select(Project.name)
            .join(Task, Task.project_id == Project.id)
            .where(Task.id == Job.task_id)
            .scalar_subquery()
        ),
        "assignee": Lookup(username_of(Job.assignee_id)),
        "stage": Lookup(Job.stage),
        "state": Lookup(Job.state),
        "type": Lookup(Job.type),
        "dimension": Lookup(select(Task.dimension).where(Task.id == Job.task_id).scalar_subquery()),
        # No job has a parent (annotask makes no consensus replicas): filtering on it finds
        # only jobs without one, sorting on it keeps the order, as in CVAT for such jobs.
        "parent_job_id": Lookup(cast(null(), Integer), "int"),
        "created_date": Lookup(Job.created_date, "datetime"),
        "updated_date": Lookup(Job.updated_date, "datetime"),
    },
    simple=(
        "task_id",
        "project_id",
        "task_name",
        "project_name",
        "assignee",
        "stage",
        "state",
        "type",
        "dimension",
        "parent_job_id",
    ),
    search=("task_name", "project_name", "assignee", "state", "stage"),
    default_sort="-id",
)


#: annotask's one addition to CVAT's job list names: 1 for the caller's own jobs, else 0.
#: ``sort=-assigned_to_me,-id`` lists them first (the Jobs page does); CVAT has no such
#: key, and CVAT clients never send it.
ASSIGNED_TO_ME = "assigned_to_me"


def list_spec(user: User) -> ListSpec:
    """``JOB_LIST`` plus ``assigned_to_me``, which depends on who asks."""
    mine = case((Job.assignee_id == user.id, 1), else_=0)
    return replace(JOB_LIST, lookups={**JOB_LIST.lookups, ASSIGNED_TO_ME: Lookup(mine, "int")})


def list_jobs(user: User, params: Mapping[str, str]) -> Select:
    """The jobs the user may see, filtered and sorted as CVAT's ``GET /api/jobs``."""
    query = select(Job).where(permissions.visible_jobs(user))
    return apply_listing(query, params, list_spec(user), Job.id)


def update_job(db: Session, user: User, job: Job, changes: Mapping[str, Any]) -> Job:
    """Apply a ``PatchedJobWriteRequest``: ``assignee``, ``stage``, ``state``.

    Whoever sees the job (its assignee too) may set its state; moving its stage
    is for the task's staff, and reassigning it a change of the task's
    staffing (CVAT's ``update:stage`` and ``update:assignee``). Sending the
    current stage again changes nothing and needs no right. A new stage without
    a state restarts the job at ``new``, as in CVAT.
    """
    errors = Errors()
    if changes.get("stage") is not None and changes["stage"] != job.stage:
        permissions.require_job_stage(db, user, job)
    if "assignee" in changes:
        permissions.require_job_assign(db, user, job)
        task_rules.check_user(db, changes["assignee"], "assignee", errors)
    if "stage" in changes and changes["stage"] not in STAGES:
        errors.add("stage", f"Must be one of {', '.join(STAGES)}.")
    if "state" in changes and changes["state"] not in STATES:
        errors.add("state", f"Must be one of {', '.join(STATES)}.")
    errors.raise_if_any()

    now = utcnow()
    if "assignee" in changes and changes["assignee"] != job.assignee_id:
        job.assignee_id = changes["assignee"]
        job.assignee_updated_date = now
    stage, state = changes.get("stage"), changes.get("state")
    if stage is not None:
        if stage != job.stage and state is None:
            state = "new"
        job.stage = stage
    if state is not None:
        job.state = state
    job.updated_date = now
    db.flush()
    recompute_task_status(db, job.task_id)
    db.flush()
    return job
