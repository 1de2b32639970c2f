"""Commands behind the upload routes of annotation files, datasets and backups: each
takes the caller and the ids, checks permissions and owns its transaction (the
request's own would stay open while the file arrives). See ``docs/architecture.md``,
"Commands and routes"."""

from __future__ import annotations

from annotask.db.models import Job, Project, Task, User
from annotask.domain import permissions
from annotask.domain.annotations import service
from annotask.domain.annotations.start import start_import, start_restore, take_staged_file
from annotask.domain.errors import ValidationFailed
from annotask.domain.tasks import MAX_ID
from annotask.domain.uploads import StagingArea
from annotask.services import Services


def _row(db, model, object_id: int):
    """The row, or None for ids no database column can hold (a 404, never a 500)."""
    return db.get(model, object_id) if 0 < object_id <= MAX_ID else None


def check_import_target(services: Services, user: User, target: str, target_id: int) -> None:
    """The user may import into the task (annotate it; it must have data), the job
    (see it: an assignee imports into their job) or the project (change it)."""
    with services.read_sessions() as db, db.begin():
        if target == "task":
            task = service.require_task_annotate(db, user, _row(db, Task, target_id))
            if task.data is None:
                raise ValidationFailed("The task has no data yet: upload its data first.")
        elif target == "job":
            permissions.require_job_view(db, user, _row(db, Job, target_id))
        else:
            permissions.require_project_change(db, user, _row(db, Project, target_id))


def import_staged(
    services: Services,
    user: User,
    staging: StagingArea,
    filename: str | None,
    *,
    purpose: str,
    operation: str,
    target: str,
    target_id: int,
    format_name: str,
    import_mode: str,
    conv_mask_to_poly: bool,
) -> str:
    """Queue the import of the staged file ``filename``; returns the request id."""
    with services.sessions() as db, db.begin():
        path = take_staged_file(db, services, staging, purpose, target_id, filename)
        return start_import(
            db,
            services,
            operation=operation,
            target=target,
            target_id=target_id,
            owner_id=user.id,
            format_name=format_name,
            path=path,
            import_mode=import_mode,
            conv_mask_to_poly=conv_mask_to_poly,
        )


def restore_staged(
    services: Services,
    user: User,
    staging: StagingArea,
    filename: str | None,
    *,
    purpose: str,
    target: str,
) -> str:
    """Queue the restore of the staged backup ``filename`` as a new task or project.
    Restores stage per user (the target id of their area is the user's id)."""
    with services.sessions() as db, db.begin():
        path = take_staged_file(
            db, services, staging, purpose, user.id, filename, store_as="backup.zip"
        )
        return start_restore(db, services, owner_id=user.id, path=path, target=target)
