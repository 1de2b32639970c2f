"""The worker's side of dataset repositories: the clone and push jobs (spec section 8).

``create:dataset_repo`` clones the repository into the task's ``repos/``
(creating ``master`` in an empty one); ``push:dataset_repo`` exports the task,
commits the file on the task branch made afresh from master and force-pushes
it. Either keeps its failure on the repository (``last_error``, status
``!sync``): the task stays, and the next push retries from the start.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from annotask.db.base import utcnow
from annotask.db.models import Task, User
from annotask.domain.annotations.exporting import build_export, plan_export
from annotask.domain.dataset_repo import workspace
from annotask.domain.dataset_repo.git import GitError
from annotask.domain.dataset_repo.parsing import branch_name
from annotask.domain.dataset_repo.remote import RemotePlan, plan_remote
from annotask.domain.dataset_repo.service import DISABLED, clone_dir, get_repository
from annotask.domain.errors import DomainError, NotFound, ValidationFailed
from annotask.domain.requests import Progress, RequestSnapshot
from annotask.services import Services

#: How long a job waits for another operation on the same repository.
LOCK_WAIT = 600.0
FALLBACK_EMAIL = "noreply@annotask.invalid"


def _identity(owner: User | None) -> workspace.Identity:
    if owner is None:
        return workspace.Identity("annotask", FALLBACK_EMAIL)
    return workspace.Identity(owner.username, owner.email or FALLBACK_EMAIL)


def _record(services: Services, task_id: int, *, error: str | None = None, **values: Any) -> bool:
    """Store an outcome on the repository row; False when the row (or its task) is gone."""
    with services.sessions() as session, session.begin():
        repo = get_repository(session, task_id)
        if repo is None:
            return False
        if error is not None:
            repo.last_error = error
            repo.status = "!sync"
        for key, value in values.items():
            setattr(repo, key, value)
        repo.updated_date = utcnow()
    return True


def _forget_clone_if_orphaned(directory: Path, recorded: bool) -> None:
    """The task was deleted while git worked: its clone must not outlive it."""
    if not recorded:
        shutil.rmtree(directory, ignore_errors=True)
        (directory.parent / f"{directory.name}.lock").unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the task's directory, if nothing else is left
            directory.parent.rmdir()


def run_clone(services: Services, request: RequestSnapshot, progress: Progress) -> None:
    """``create:dataset_repo``: clone into the task's ``repos/``, create ``master`` in
    an empty repository. A failure is kept on the repository (the task stays)."""
    if not services.settings.git_enabled:
        raise GitError(DISABLED)
    task_id = request.task_id
    assert task_id is not None
    with services.read_sessions() as db:
        repo = get_repository(db, task_id)
        task = db.get(Task, task_id)
        if repo is None or task is None:
            raise NotFound(f"Task #{task_id} has no dataset repository any more.")
        url = repo.url
        owner = _identity(db.get(User, task.owner_id) if task.owner_id else None)
    progress.report(0.1, "Cloning the repository")
    directory = clone_dir(services.settings, task_id)
    try:
        remote = _plan(services, url)
        with workspace.locked(directory, LOCK_WAIT):
            workspace.clone(directory, remote, owner)
    except GitError as exc:
        message = f"Could not clone the repository {url}: {_reason(exc, directory)}"
        _record(services, task_id, error=message)
        raise GitError(message) from exc
    _forget_clone_if_orphaned(directory, _record(services, task_id, last_error=""))


def _plan(services: Services, url: str, *, lfs: bool = False) -> RemotePlan:
    """The remote checked against the settings of now (see :mod:`.remote`)."""
    try:
        return plan_remote(url, services.settings, lfs=lfs)
    except ValidationFailed as exc:
        raise GitError(" ".join(m for ms in exc.errors.values() for m in ms)) from None


def _reason(exc: GitError, directory: Path) -> str:
    return exc.message.replace(str(directory), "<clone>")


def commit_message(
    *,
    pusher: str,
    task_url: str,
    bug_tracker: str,
    changes: tuple[int, int, int],
    last_save: datetime,
    since: datetime,
    created: datetime,
) -> str:
    """CVAT's commit message (spec section 8)."""
    lines = [f"CVAT Annotation updated by {pusher}.", f"Task URL: {task_url}"]
    if bug_tracker:
        lines.append(f"Bug Tracker URL: {bug_tracker}")
    created_n, updated_n, deleted_n = changes
    lines.append(f"Created: {created_n}, updated: {updated_n}, deleted: {deleted_n}")
    lines.append(f"Annotation time: {_hours(last_save - since)} hours")
    lines.append(f"Total annotation time: {_hours(last_save - created)} hours")
    return "\n".join(lines)


def _hours(delta: timedelta) -> int:
    return max(0, math.ceil(delta.total_seconds() / 3600))


def run_push(services: Services, request: RequestSnapshot, progress: Progress) -> None:
    """``push:dataset_repo``: export the task, commit it on the task branch made
    from master, force-push the branch, and record the sync date. A failure is kept
    on the repository (``last_error``, status ``!sync``) and fails the request."""
    if not services.settings.git_enabled:
        raise GitError(DISABLED)
    task_id = request.task_id
    assert task_id is not None
    directory = clone_dir(services.settings, task_id)
    try:
        last_save = _push(services, request, progress, task_id, directory)
    except _PushFailed as exc:
        message = f"Could not push to the repository {exc.url}: {_reason(exc, directory)}"
        _record(services, task_id, error=message)
        raise GitError(message) from exc
    except DomainError as exc:  # no data, the export could not be built...
        _record(services, task_id, error=f"Could not push: {exc.message}")
        raise
    except Exception:
        _record(services, task_id, error="Could not push: internal error (see the server log).")
        raise
    recorded = _record(services, task_id, sync_date=last_save, status="sync", last_error="")
    _forget_clone_if_orphaned(directory, recorded)


class _PushFailed(GitError):
    """A git error of a push, with the repository's URL for the message."""

    def __init__(self, url: str, cause: GitError) -> None:
        super().__init__(cause.message)
        self.url = url


def _push(
    services: Services,
    request: RequestSnapshot,
    progress: Progress,
    task_id: int,
    directory: Path,
) -> datetime:
    """The push itself; returns the task's ``updated_date`` the export was made at."""
    settings = services.settings
    with services.read_sessions() as db:
        repo = get_repository(db, task_id)
        task = db.get(Task, task_id)
        if repo is None or task is None:
            raise NotFound(f"Task #{task_id} has no dataset repository any more.")
        if task.data is None:
            raise ValidationFailed(f"Task #{task_id} has no data yet: there is nothing to push.")
        url, path, fmt, lfs = repo.url, repo.path, repo.format, repo.lfs
        previous_sync = repo.sync_date
        owner = _identity(db.get(User, task.owner_id) if task.owner_id else None)
        pusher = db.get(User, request.owner_id) if request.owner_id else None
        branch = branch_name(task.id, task.name)
        bug_tracker, created = task.bug_tracker or "", task.created_date
    base_url = str(request.params.get("base_url") or settings.public_base_url or "").rstrip("/")
    progress.report(0.05, "Waiting for the repository")
    try:
        with workspace.locked(directory, LOCK_WAIT):
            progress.report(0.1, "Updating the local copy of the repository")
            remote = _plan(services, url, lfs=lfs)
            if not workspace.ensure_clone(directory, remote, owner):
                workspace.fetch(directory, remote)
            workspace.start_branch(directory, branch, workspace.base_branch(directory))
            progress.report(0.3, "Exporting the annotations")
            with services.read_sessions() as db:
                task = db.get(Task, task_id)
                if task is None:
                    raise NotFound(f"Task #{task_id} no longer exists.")
                last_save = task.updated_date
                plan = plan_export(db, "task", task_id, base_url)  # annotations read once
                current = workspace.fingerprints(plan.parts[0].data.to_json())
                export, _ = build_export(
                    services,
                    db,
                    request_id=f"git-{request.id}-{request.attempt}",
                    target="task",
                    target_id=task_id,
                    format_name=fmt,
                    save_images=False,
                    base_url=base_url,
                    plan=plan,
                )
            try:
                workspace.write_annotations(directory, path, export)
            finally:
                export.unlink(missing_ok=True)
            paths = [path]
            if lfs and workspace.add_lfs_attributes(directory):
                paths.append(".gitattributes")
            message = commit_message(
                pusher=pusher.username if pusher is not None else owner.name,
                task_url=f"{base_url}/tasks/{task_id}",
                bug_tracker=bug_tracker,
                changes=workspace.count_changes(directory, current),
                last_save=last_save,
                since=previous_sync or created,
                created=created,
            )
            progress.report(0.7, "Pushing the task's branch")
            workspace.commit_and_push(directory, branch, paths, message, remote=remote, lfs=lfs)
            workspace.save_state(directory, current)
    except GitError as exc:
        raise _PushFailed(url, exc) from exc
    return last_save
