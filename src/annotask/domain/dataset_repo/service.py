"""Dataset repositories of tasks: attach, push ("synchronize"), status (spec section 8).

The HTTP routes and the worker jobs call these functions. Cloning and pushing
are background requests (``create:dataset_repo``, ``push:dataset_repo``) run by
the worker; the status is computed when asked:

- ``syncing`` while a clone or push request of the task is queued or running;
- ``!sync`` when the task changed since the last push (its ``updated_date``,
  which every annotation save moves, differs from ``sync_date``), or nothing
  was pushed yet, or the pushed branch was deleted without being merged;
- ``merged`` when the pushed branch head is contained in the remote's master
  (the head equals its merge base with ``origin/master``);
- ``sync`` when the remote still has the pushed branch.

A failed clone or push keeps the repository attached with the reason
(``last_error``); pushing again retries from the start (it re-clones when needed).
The jobs themselves are in :mod:`.jobs`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import BackgroundRequest, DatasetRepository, Task, User
from annotask.domain import permissions
from annotask.domain.bodies import ignore_unknown, note_ignored
from annotask.domain.dataset_repo import workspace
from annotask.domain.dataset_repo.git import GitError, git_available
from annotask.domain.dataset_repo.parsing import (
    RepoSpec,
    branch_name,
    check_format,
    parse_repository,
)
from annotask.domain.dataset_repo.remote import plan_remote
from annotask.domain.errors import Conflict, NotFound, ValidationFailed
from annotask.domain.requests import create_request
from annotask.domain.task_data.layout import task_layout
from annotask.domain.tasks import get_task_for_change
from annotask.services import Services
from annotask.settings import Settings

log = logging.getLogger(__name__)

CREATE_OPERATION = "create:dataset_repo"
PUSH_OPERATION = "push:dataset_repo"
OPERATIONS = (CREATE_OPERATION, PUSH_OPERATION)
#: A status check gives up quickly: the page asks again later.
STATUS_LOCK_WAIT = 2.0
STATUS_TIMEOUT = 30.0
DISABLED = "Dataset repositories are disabled on this server (ANNOTASK_GIT_ENABLED)."


def enabled(settings: Settings) -> bool:
    """What ``GET /api/server/plugins`` reports as ``GIT_INTEGRATION``."""
    return settings.git_enabled and git_available()


def require_enabled(settings: Settings) -> None:
    if not settings.git_enabled:
        raise NotFound(DISABLED)


def clone_dir(settings: Settings, task_id: int) -> Path:
    """The local clone: the task's ``repos/`` directory (CVAT's artifacts ``repos``)."""
    return task_layout(settings, task_id).root / "repos"


def get_repository(db: Session, task_id: int) -> DatasetRepository | None:
    return db.scalar(select(DatasetRepository).where(DatasetRepository.task_id == task_id))


def active_request(db: Session, task_id: int) -> BackgroundRequest | None:
    """The newest queued or running clone or push of the task's repository."""
    return db.scalar(
        select(BackgroundRequest)
        .where(
            BackgroundRequest.task_id == task_id,
            BackgroundRequest.operation.in_(OPERATIONS),
            BackgroundRequest.status.in_(("queued", "started")),
        )
        .order_by(BackgroundRequest.created_date.desc())
        .limit(1)
    )


# ---- what users do -------------------------------------------------------------------


def attach(
    db: Session,
    services: Services,
    user: User,
    task: Task,
    *,
    text: Any,
    format_name: Any,
    lfs: Any,
) -> str:
    """Attach (or re-attach) a repository to the task and queue its clone; the request id.

    Checks everything that can be checked without the network first, so a bad
    URL or path is a 400 naming the field. A task whose repository is being
    cloned or pushed answers 409.
    """
    settings = services.settings
    spec = parse_repository(
        text,
        task.name,
        field="path",
        data_dir=settings.data_dir,
        allow_local=settings.git_allow_local,
    )
    if format_name is not None and not isinstance(format_name, str):
        raise ValidationFailed({"format": "Expected the name of an export format."})
    fmt = check_format(format_name, spec.path)
    if lfs is not None and not isinstance(lfs, bool):
        raise ValidationFailed({"lfs": "Must be a boolean."})
    plan_remote(spec.url, settings, lfs=bool(lfs))  # a refused host is a 400 now
    if active_request(db, task.id) is not None:
        raise Conflict("The task's repository is being cloned or pushed; try again when it ends.")
    repo = get_repository(db, task.id)
    if repo is None:
        repo = DatasetRepository(task_id=task.id, created_date=utcnow())
        db.add(repo)
    _apply(repo, spec, fmt, bool(lfs))
    db.flush()
    request = create_request(
        db,
        services,
        operation=CREATE_OPERATION,
        target="task",
        owner_id=user.id,
        task_id=task.id,
        format=fmt,
    )
    return request.id


def _apply(repo: DatasetRepository, spec: RepoSpec, fmt: str, lfs: bool) -> None:
    """New settings: nothing is synchronised with them yet."""
    repo.url, repo.path, repo.format, repo.lfs = spec.url, spec.path, fmt, lfs
    repo.status, repo.sync_date, repo.last_error = "!sync", None, ""
    repo.updated_date = utcnow()


def push(services: Services, user: User, task_id: int, base_url: str) -> str:
    """Synchronize: the user may change the task; queue (or reuse) its push, in a write
    transaction of its own (CVAT's method is GET, whose request session only reads)."""
    with services.sessions() as db, db.begin():
        task = get_task_for_change(db, user, task_id)
        return start_push(db, services, user, task, base_url)


def start_push(db: Session, services: Services, user: User, task: Task, base_url: str) -> str:
    """Queue a push of the task's annotations; a push already queued or running is
    reused (clicking Synchronize twice starts one push)."""
    if get_repository(db, task.id) is None:
        raise NotFound(f"Task #{task.id} has no dataset repository.")
    active = active_request(db, task.id)
    if active is not None and active.operation == PUSH_OPERATION:
        return active.id
    request = create_request(
        db,
        services,
        operation=PUSH_OPERATION,
        target="task",
        owner_id=user.id,
        task_id=task.id,
        params={"base_url": base_url},
    )
    return request.id


def update(db: Session, services: Services, task: Task, body: Any) -> DatasetRepository:
    """``PATCH``: CVAT's ``{"type": "url"|"format"|"lfs", "value": ...}`` or any of
    ``{"url": "URL [PATH]", "format": ..., "lfs": ...}``; a URL without ``[PATH]``
    keeps the file (CVAT's UI sends the URL alone). Any change needs a new push."""
    if not isinstance(body, dict):
        raise ValidationFailed("The body must be a JSON object.")
    if "type" in body:
        kind = body.get("type")
        if kind not in ("url", "format", "lfs"):
            raise ValidationFailed({"type": "Must be one of: url, format, lfs."})
        note_ignored("dataset repository", set(body) - {"type", "value"})
        body = {kind: body.get("value")}
    body = ignore_unknown(body, ("url", "format", "lfs"), "dataset repository")
    repo = get_repository(db, task.id)
    if repo is None:
        raise NotFound(f"Task #{task.id} has no dataset repository.")
    if active_request(db, task.id) is not None:
        raise Conflict("The task's repository is being cloned or pushed; try again when it ends.")
    spec = RepoSpec(repo.url, repo.path)
    if "url" in body:
        spec = parse_repository(
            body["url"],
            task.name,
            field="url",
            data_dir=services.settings.data_dir,
            allow_local=services.settings.git_allow_local,
            current_path=repo.path,
        )
    fmt = repo.format
    if "format" in body:
        if not isinstance(body["format"], str):
            raise ValidationFailed({"format": "Expected the name of an export format."})
        fmt = body["format"]
    fmt = check_format(fmt, spec.path, field="format" if "format" in body else "url")
    lfs = repo.lfs
    if "lfs" in body:
        if not isinstance(body["lfs"], bool):
            raise ValidationFailed({"lfs": "Must be a boolean."})
        lfs = body["lfs"]
    if (spec.url, spec.path, fmt, lfs) != (repo.url, repo.path, repo.format, repo.lfs):
        plan_remote(spec.url, services.settings, field="url", lfs=lfs)
        _apply(repo, spec, fmt, lfs)
    db.flush()
    return repo


def quick_status(repo: DatasetRepository, task: Task, active: BackgroundRequest | None) -> str:
    """The status without asking the remote (what the list of statuses shows)."""
    if active is not None:
        return "syncing"
    if repo.sync_date is None or task.updated_date != repo.sync_date:
        return "!sync"
    return repo.status if repo.status in ("sync", "merged") else "!sync"


def describe(
    services: Services, db: Session, task: Task, *, check_remote: bool = True
) -> dict[str, Any]:
    """``GET /api/git/repository/get/{tid}``: CVAT's shape, plus what the page needs.

    ``status.error`` is set when the status could not be determined (the page then
    says "Could not receive repository status"); ``last_error`` is why the last
    clone or push failed; ``rq_id`` is the clone or push running now.
    """
    repo = get_repository(db, task.id)
    if repo is None:
        return {
            "url": {"value": None},
            "status": {"value": None, "error": None},
            "format": None,
            "lfs": None,
        }
    active = active_request(db, task.id)
    status, error = quick_status(repo, task, active), None
    if check_remote and status in ("sync", "merged"):
        try:
            status = _remote_status(services.settings, repo, task)
        except GitError as exc:
            error = exc.message.replace(str(clone_dir(services.settings, task.id)), "<clone>")
        else:
            if status != repo.status:
                _store_status(services, repo.id, status, repo.sync_date)
    return {
        "url": {"value": RepoSpec(repo.url, repo.path).text},
        "status": {"value": status, "error": error},
        "format": repo.format,
        "lfs": repo.lfs,
        "sync_date": repo.sync_date.isoformat().replace("+00:00", "Z") if repo.sync_date else None,
        "last_error": repo.last_error or None,
        "rq_id": active.id if active is not None else None,
    }


def _remote_status(settings: Settings, repo: DatasetRepository, task: Task) -> str:
    directory = clone_dir(settings, task.id)
    try:
        remote = plan_remote(repo.url, settings)
    except ValidationFailed as exc:
        raise GitError(" ".join(m for ms in exc.errors.values() for m in ms)) from None
    with workspace.locked(directory, STATUS_LOCK_WAIT):
        if workspace.origin_url(directory) != repo.url:
            return "!sync"
        return workspace.remote_status(
            directory, branch_name(task.id, task.name), remote, timeout=STATUS_TIMEOUT
        )


def _store_status(services: Services, repo_id: int, status: str, seen: datetime | None) -> None:
    """Remember a status learnt from the remote, unless a push changed the row meanwhile."""
    try:
        with services.sessions() as session, session.begin():
            repo = session.get(DatasetRepository, repo_id)
            if repo is not None and repo.sync_date == seen:
                repo.status = status
    except Exception:  # only a cache of the remote's state: never fail the read over it
        log.warning("could not store the status of dataset repository %s", repo_id, exc_info=True)


def statuses(db: Session, user: User) -> dict[str, str]:
    """``GET /api/git/repository/meta/get``: ``{task id: status}`` of the tasks the
    user can see, without asking any remote."""
    rows = db.execute(
        select(DatasetRepository, Task)
        .join(Task, Task.id == DatasetRepository.task_id)
        .where(permissions.visible_tasks(user))
        .order_by(Task.id)
    ).all()
    busy = set(
        db.scalars(
            select(BackgroundRequest.task_id).where(
                BackgroundRequest.task_id.in_([task.id for _, task in rows]),
                BackgroundRequest.operation.in_(OPERATIONS),
                BackgroundRequest.status.in_(("queued", "started")),
            )
        )
    )
    result = {}
    for repo, task in rows:
        result[str(task.id)] = "syncing" if task.id in busy else quick_status(repo, task, None)
    return result


def check(db: Session, user: User, rq_id: str) -> dict[str, str]:
    """``GET /api/git/repository/check/{rq_id}``: ``{"status"}`` and, when it failed,
    ``stderr`` (the reason). Anyone who sees the task may follow its clone or push
    (the task page shows everyone the one running); other requests are ``unknown``,
    as CVAT answers for an id it does not know."""
    row = db.get(BackgroundRequest, rq_id)
    task = db.get(Task, row.task_id) if row is not None and row.task_id else None
    if (
        row is None
        or row.operation not in OPERATIONS
        or task is None
        or not permissions.can_see_task(db, user, task)
    ):
        return {"status": "unknown"}
    body = {"status": row.status}
    if row.status == "failed":
        body["stderr"] = row.message or "The operation failed."
    return body
