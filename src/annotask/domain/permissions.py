"""Who sees and who changes projects, tasks, jobs and labels, in one place.

Visibility is expressed as SQL conditions so that lists are filtered by the
database and single-object checks use the very same definition (an object is
visible when it matches its list's condition). Invisible objects answer 404,
never 403, so ids do not leak; visible objects the caller may not change
answer 403.

The rules (CVAT's ``tasks.rego``/``jobs.rego`` for the personal workspace;
see docs/security.md, "Who may see what"):
- admins see and change everything;
- a project is seen by its owner and its assignee, and changed by its owner;
- a task, its data, annotations, exports and backups are seen by its *staff*:
  its owner and assignee and the owner and assignee of its project. The
  assignee of one of its jobs is not staff: they see that job only;
- a task is changed (settings, labels, assignees, deletion) by its owner or
  its project's owner;
- a job is seen by the task's staff and by its own assignee; all of them may
  set its state, only task staff may move its stage, and only those who may
  change the task may reassign it;
- a label is seen with its task or project, and by the assignee of a job of
  the task using it (an annotator needs the labels); it is changed by whoever
  may change that task or project.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from annotask.db.models import Job, Label, Project, Task, User
from annotask.domain.errors import NotFound, PermissionDenied


def _projects_run_by(user: User):
    return select(Project.id).where(
        or_(Project.owner_id == user.id, Project.assignee_id == user.id)
    )


def visible_projects(user: User) -> ColumnElement[bool]:
    """Condition on ``Project`` rows the user may see."""
    if user.is_superuser:
        return true()
    return or_(Project.owner_id == user.id, Project.assignee_id == user.id)


def _task_staff(user: User) -> ColumnElement[bool]:
    """Condition on ``Task``: the user runs the task (not merely one of its jobs)."""
    return or_(
        Task.owner_id == user.id,
        Task.assignee_id == user.id,
        Task.project_id.in_(_projects_run_by(user)),
    )


def visible_tasks(user: User) -> ColumnElement[bool]:
    """Condition on ``Task`` rows the user may see: admins and task staff.

    Everything task-level (the task, its data, annotations, exports, backups,
    repository and requests) follows this condition, so a job assignee, who
    is not staff, reaches none of it.
    """
    if user.is_superuser:
        return true()
    return _task_staff(user)


def _tasks_with_jobs_of(user: User):
    """Ids of the tasks one of whose jobs the user is assigned to."""
    return select(Job.task_id).where(Job.assignee_id == user.id)


def visible_jobs(user: User) -> ColumnElement[bool]:
    """Condition on ``Job`` rows the user may see (and whose state they may set)."""
    if user.is_superuser:
        return true()
    return or_(
        Job.assignee_id == user.id,
        Job.task_id.in_(select(Task.id).where(_task_staff(user))),
    )


def visible_labels(user: User) -> ColumnElement[bool]:
    """Condition on ``Label`` rows: labels of visible tasks and projects.

    A task inside a project uses the project's labels, so whoever sees such a
    task also sees that project's labels, even without seeing the project. The
    assignee of a job annotates with its task's labels, so they see them too
    (CVAT answers ``GET /api/labels?job_id=`` for them).
    """
    if user.is_superuser:
        return true()
    worked_on = or_(visible_tasks(user), Task.id.in_(_tasks_with_jobs_of(user)))
    seen_tasks = select(Task.id).where(worked_on)
    projects_of_seen_tasks = select(Task.project_id).where(worked_on, Task.project_id.is_not(None))
    return or_(
        Label.task_id.in_(seen_tasks),
        Label.project_id.in_(select(Project.id).where(visible_projects(user))),
        Label.project_id.in_(projects_of_seen_tasks),
    )


def changeable_tasks(user: User) -> ColumnElement[bool]:
    """Condition on ``Task`` rows whose settings, labels and assignees the user may change."""
    if user.is_superuser:
        return true()
    return or_(
        Task.owner_id == user.id,
        Task.project_id.in_(select(Project.id).where(Project.owner_id == user.id)),
    )


def _matches(
    db: Session,
    user: User,
    model: type[Project] | type[Task] | type[Job],
    object_id: int,
    condition: Callable[[User], ColumnElement[bool]],
) -> bool:
    if user.is_superuser:
        return True
    return bool(db.scalar(select(exists().where(model.id == object_id, condition(user)))))


# ---- single-object checks ------------------------------------------------


def can_see_project(db: Session, user: User, project: Project) -> bool:
    return _matches(db, user, Project, project.id, visible_projects)


def can_change_project(user: User, project: Project) -> bool:
    return user.is_superuser or project.owner_id == user.id


def can_see_task(db: Session, user: User, task: Task) -> bool:
    return _matches(db, user, Task, task.id, visible_tasks)


def can_change_task(db: Session, user: User, task: Task) -> bool:
    return _matches(db, user, Task, task.id, changeable_tasks)


def can_see_job(db: Session, user: User, job: Job) -> bool:
    return _matches(db, user, Job, job.id, visible_jobs)


def is_task_staff(db: Session, user: User, task_id: int) -> bool:
    """Admin, or owner/assignee of the task or of its project (not a job assignee)."""
    return _matches(db, user, Task, task_id, visible_tasks)


def require_project_view(db: Session, user: User, project: Project | None) -> Project:
    if project is None or not can_see_project(db, user, project):
        raise NotFound()
    return project


def require_project_change(db: Session, user: User, project: Project | None) -> Project:
    require_project_view(db, user, project)
    assert project is not None
    if not can_change_project(user, project):
        raise PermissionDenied("Only the project owner or an admin may change this project.")
    return project


def require_task_view(db: Session, user: User, task: Task | None) -> Task:
    if task is None or not can_see_task(db, user, task):
        raise NotFound()
    return task


def require_task_change(db: Session, user: User, task: Task | None) -> Task:
    require_task_view(db, user, task)
    assert task is not None
    if not can_change_task(db, user, task):
        raise PermissionDenied(
            "Only the task owner, the project owner or an admin may change this task."
        )
    return task


def require_job_view(db: Session, user: User, job: Job | None) -> Job:
    if job is None or not can_see_job(db, user, job):
        raise NotFound()
    return job


def require_job_stage(db: Session, user: User, job: Job) -> None:
    """Moving a job between annotation, validation and acceptance is for task staff:
    its own assignee may only set its state (CVAT's ``update:stage``)."""
    if not is_task_staff(db, user, job.task_id):
        raise PermissionDenied(
            "Only the people running the task may change a job's stage; "
            "its assignee may change its state."
        )


def require_job_assign(db: Session, user: User, job: Job) -> None:
    """Reassigning a job is a change of its task's staffing."""
    task = db.get(Task, job.task_id)
    if task is None or not can_change_task(db, user, task):
        raise PermissionDenied(
            "Only the task owner, the project owner or an admin may assign this job."
        )
