"""Staged files of creation attempts: who may remove what, and the sweep that
removes what dead attempts left behind.

Every creation attempt writes what it generates into its own directory,
``tasks/<id>/attempts/<request id>-<attempt>/`` (``layout.attempt_layout``). The
fenced commit that finishes the request names that directory in
``Data.files_dir``: the database row and the files it points to become the
task's data in one transaction, and a stale attempt (paused past its lease,
then resumed) can neither publish its own files (its commit is fenced off) nor
touch the winner's (it only ever writes and removes its own directory).

What may be removed, and by whom:

- an attempt's own directory: by that attempt when it fails or loses its lease,
  unless the database names it as the task's files (a commit whose answer was
  lost on the way back); by the sweep once the attempt can no longer commit
  (its request is queued again, failed, or run by a later attempt);
- ``upload/`` (what the client sent): only once the request is *failed*, which
  no attempt of it can undo, and only if it was put there before that failure
  (its change time is older): a new upload taken for a new request meanwhile is
  kept. A stale attempt never removes it.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import or_, select

from annotask.db.models import BackgroundRequest, Data, Task
from annotask.domain.task_data.layout import ATTEMPT_NAME, TaskLayout, task_layout
from annotask.services import Services

log = logging.getLogger(__name__)

OPERATION = "create:task"


def committed_files_dir(services: Services, task_id: int) -> str | None:
    """``Data.files_dir`` of the task (None without data)."""
    with services.read_sessions() as db:
        return db.scalar(
            select(Data.files_dir).join(Task, Task.data_id == Data.id).where(Task.id == task_id)
        )


def discard_attempt(services: Services, task_id: int, layout: TaskLayout) -> None:
    """Remove the attempt's own directory, unless a commit made it the task's files.

    The check matters when a commit reached the database but its answer did not
    come back: the attempt sees an error, yet its files are the task's. If the
    database cannot say, the directory stays for the sweep.
    """
    directory = layout.generated
    try:
        files_dir = committed_files_dir(services, task_id)
    except Exception:
        log.warning("cannot tell whether %s was committed; left for the sweep", directory)
        return
    if files_dir is not None and layout.root / files_dir == directory:
        return
    shutil.rmtree(directory, ignore_errors=True)
    prune_empty(layout)


def prune_empty(layout: TaskLayout) -> None:
    """Remove ``attempts/`` and the task's directory when nothing is left in them, so
    a task whose creation failed leaves no trace on disk. ``rmdir`` refuses a
    directory that is not empty, so a concurrent attempt's files are never touched
    (and its ``mkdir(parents=True)`` makes the parents again if needed)."""
    for directory in (layout.attempts, layout.root):
        try:
            directory.rmdir()
        except FileNotFoundError:
            continue
        except OSError:  # not empty
            return


def forget_upload(layout: TaskLayout, failed_at: datetime) -> bool:
    """Remove ``upload/`` of a request that failed at ``failed_at``, if it is that
    request's: an upload moved in later (a new request) has a newer change time."""
    try:
        changed = layout.upload.stat().st_ctime
    except FileNotFoundError:
        return False
    if changed >= failed_at.timestamp():
        return False
    shutil.rmtree(layout.upload, ignore_errors=True)
    prune_empty(layout)
    return True


def sweep(services: Services) -> int:
    """Remove staged directories of attempts that can no longer commit, and the
    uploads of failed creations; the number of directories removed.

    Only requests that can have left something are looked at: those with more than
    one attempt, queued again, or failed (requests are kept for the retention
    period, so an attempt killed long ago is no longer found; run often, this is
    well within it).
    """
    settings = services.settings
    table = BackgroundRequest
    with services.read_sessions() as db:
        rows = db.execute(
            select(
                table.id, table.task_id, table.status, table.attempts, table.finished_date
            ).where(
                table.operation == OPERATION,
                table.task_id.is_not(None),
                or_(table.attempts > 1, table.status.in_(("queued", "failed"))),
            )
        ).all()
        if not rows:
            return 0
        task_ids = {row.task_id for row in rows}
        tasks = {
            task_id: (data_id, files_dir)
            for task_id, data_id, files_dir in db.execute(
                select(Task.id, Task.data_id, Data.files_dir)
                .outerjoin(Data, Task.data_id == Data.id)
                .where(Task.id.in_(task_ids))
            )
        }
        active = set(
            db.scalars(
                select(table.task_id).where(
                    table.operation == OPERATION,
                    table.task_id.in_(task_ids),
                    table.status.in_(("queued", "started")),
                )
            )
        )
    removed = 0
    for row in rows:
        if row.task_id not in tasks:
            continue  # deleted: its directory went with it
        data_id, files_dir = tasks[row.task_id]
        layout = task_layout(settings, row.task_id)
        # What the sweep read may be stale by the time it lists the directories: an
        # attempt numbered above ``attempts`` may have been claimed meanwhile, and
        # the one numbered ``attempts`` is alive while the request is started.
        live_from = row.attempts if row.status == "started" else row.attempts + 1
        removed += _remove_stale_attempts(layout, row.id, live_from, files_dir)
        if (
            row.status == "failed"
            and data_id is None
            and row.task_id not in active
            and row.finished_date is not None
            and forget_upload(layout, row.finished_date)
        ):
            log.info("removed the upload of task #%d (its creation failed)", row.task_id)
            removed += 1
    return removed


def _remove_stale_attempts(
    layout: TaskLayout, request_id: str, live_from: int, files_dir: str | None
) -> int:
    """Remove the request's attempt directories numbered below ``live_from`` (those
    attempts can no longer commit), never the committed one."""
    try:
        entries = list(os.scandir(layout.attempts))
    except FileNotFoundError:
        return 0
    removed = 0
    committed = layout.root / files_dir if files_dir else None
    for entry in entries:
        match = ATTEMPT_NAME.fullmatch(entry.name)
        if match is None or match["request"] != request_id:
            continue
        path = Path(entry.path)
        if path == committed or int(match["number"]) >= live_from:
            continue
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed %s: staged by an attempt that can no longer commit", path)
        removed += 1
    return removed
