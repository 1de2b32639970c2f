"""Annotation requests, the user's side: a native function run on a task.

States (CVAT's)::

    queued --acquire--> started --complete--> finished   (annotations saved)
       ^                   |  \\---fail-----> failed
       +--lease expired----+                  (failed after MAX_ATTEMPTS leases)
    queued/started --cancel--> failed ("Canceled by the user")

A user creates a request (``POST /api/lambda/requests``) and follows it; the
function's agents carry it out (:mod:`annotask.domain.functions.agents`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import AnnotationRequest, Task, User
from annotask.domain import permissions
from annotask.domain.annotations import service as annotations
from annotask.domain.annotations.context import label_set
from annotask.domain.errors import Conflict, Errors, NotFound, ValidationFailed
from annotask.domain.functions.mapping import build_mapping
from annotask.domain.functions.registry import find_function
from annotask.domain.tasks import MAX_ID

ANNOTATE_TASK = "annotate_task"
CANCELED = "Canceled by the user"
NOT_FOUND = "There is no annotation request with this id."
UNFINISHED = ("queued", "started")
REQUEST_FIELDS = (
    "function",
    "task",
    "job",
    "threshold",
    "cleanup",
    "conv_mask_to_poly",
    "convMaskToPoly",
    "mapping",
    "quality",
)


# ---- users: create, read, cancel ---------------------------------------------------


def create_request(db: Session, user: User, raw: Any) -> AnnotationRequest:
    """Queue a run of a detector on a whole task (CVAT's ``FunctionCallRequest``).

    The caller must be allowed to change the task's annotations; the task needs
    data in image-set chunks (what agents read); one unfinished request per task.
    """
    options = _parse_options(raw)
    function = find_function(db, user, raw.get("function"))
    if function.kind != "detector":
        raise ValidationFailed(
            {
                "function": f'Function #{function.id} is a {function.kind}: only "detector" '
                "functions can annotate a whole task (interactors and trackers work on "
                "single frames, from an annotation view)."
            }
        )
    task_id = raw.get("task")
    task = db.get(Task, task_id) if 0 < task_id <= MAX_ID else None
    if task is None:
        raise NotFound(f"Task #{task_id} not found.")
    task = annotations.require_task_annotate(db, user, task)
    owner = db.get(User, function.owner_id) if function.owner_id else None
    if owner is None or not permissions.can_see_task(db, owner, task):
        # The agent reads the task with its owner's login: it would fail on a task
        # its owner cannot see, after the request had looked accepted.
        raise ValidationFailed(
            {
                "function": f"Function #{function.id} runs with its owner's rights, and its "
                f"owner cannot see task #{task.id}: ask them to share the task or its project."
            }
        )
    if task.data is None or not task.data.size:
        raise ValidationFailed(
            {"task": f"Task #{task.id} has no data yet: upload its media first."}
        )
    if task.data.original_chunk_type != "imageset":
        raise ValidationFailed(
            {
                "task": f"Task #{task.id} keeps its original frames as video chunks; agents "
                "read tasks whose original chunks are image sets."
            }
        )
    # Lock the task's row (PostgreSQL; SQLite writers are serialised already) so
    # that two concurrent requests cannot both find the task free.
    db.execute(select(Task.id).where(Task.id == task.id).with_for_update())
    busy = db.scalar(
        select(AnnotationRequest.id).where(
            AnnotationRequest.task_id == task.id, AnnotationRequest.status.in_(UNFINISHED)
        )
    )
    if busy is not None:
        raise Conflict(f"Only one running request is allowed for the same task #{task.id}")
    mapping = build_mapping(
        function.spec.get("labels_v2", []),
        label_set(db, task),
        raw.get("mapping"),
        conv_mask_to_poly=options["conv_mask_to_poly"],
        function_desc=f"function #{function.id}",
        task_desc=f"task #{task.id}",
    )
    now = utcnow()
    request = AnnotationRequest(
        id=str(uuid.uuid4()),
        function_id=function.id,
        task_id=task.id,
        owner_id=user.id,
        type=ANNOTATE_TASK,
        category="batch",
        params={
            "type": ANNOTATE_TASK,
            "task": task.id,
            "mapping": mapping,
            "threshold": options["threshold"],
            "conv_mask_to_poly": options["conv_mask_to_poly"],
        },
        threshold=options["threshold"],
        cleanup=options["cleanup"],
        status="queued",
        progress=0.0,
        message="",
        attempts=0,
        created_date=now,
    )
    db.add(request)
    db.flush()
    return request


def _parse_options(raw: Any) -> dict[str, Any]:
    errors = Errors()
    if not isinstance(raw, Mapping):
        errors.add("", "The body must be a JSON object.")
        errors.raise_if_any()
    for key in raw:
        if key not in REQUEST_FIELDS:
            errors.add(str(key), "Unknown field, or a field that cannot be written.")
    task = raw.get("task")
    if isinstance(task, bool) or not isinstance(task, int):
        errors.add("task", "The id of the task to annotate is required.")
    if raw.get("job") is not None:
        errors.add(
            "job",
            "Running a function on a single job is not supported yet: give its task instead.",
        )
    threshold = raw.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
        or not 0 <= threshold <= 1
    ):
        errors.add("threshold", "A number between 0 and 1 is required.")
    quality = raw.get("quality", "original")
    if quality not in ("original", "compressed"):
        errors.add("quality", '"original" or "compressed" is required.')
    flags = {}
    for key, aliases in (
        ("cleanup", ("cleanup",)),
        ("conv_mask_to_poly", ("conv_mask_to_poly", "convMaskToPoly")),
    ):
        values = [raw[a] for a in aliases if a in raw]
        value = values[0] if values else False
        if not isinstance(value, bool):
            errors.add(key, "Must be true or false.")
        flags[key] = bool(value)
    errors.raise_if_any()
    return {"threshold": None if threshold is None else float(threshold), **flags}


def purge_ended(db: Session, before: datetime) -> None:
    """Forget finished and failed lambda requests that ended before ``before`` (the
    worker's housekeeping, with the background requests' retention)."""
    db.execute(
        delete(AnnotationRequest).where(
            AnnotationRequest.status.in_(("finished", "failed")),
            AnnotationRequest.finished_date < before,
        )
    )


def visible_requests(user: User) -> Select:
    """The requests the user sees: their own, and those on tasks they see."""
    query = select(AnnotationRequest)
    if user.is_superuser:
        return query
    seen_tasks = select(Task.id).where(permissions.visible_tasks(user))
    return query.where(
        or_(AnnotationRequest.owner_id == user.id, AnnotationRequest.task_id.in_(seen_tasks))
    )


def list_requests(db: Session, user: User) -> list[AnnotationRequest]:
    """Newest first, as CVAT's ``GET /api/lambda/requests`` (one list, no pages)."""
    query = visible_requests(user).order_by(
        AnnotationRequest.created_date.desc(), AnnotationRequest.id
    )
    return list(db.scalars(query))


def get_request(db: Session, user: User, request_id: str) -> AnnotationRequest:
    found = db.scalar(visible_requests(user).where(AnnotationRequest.id == request_id))
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def cancel_request(db: Session, user: User, request_id: str) -> None:
    """Cancel an unfinished request (it fails as "Canceled by the user"; an agent
    still working on it gets 409 for its result) or remove an ended one.

    Allowed to its owner and to whoever may change the task's annotations.
    """
    request = get_request(db, user, request_id)
    if request.owner_id != user.id:
        annotations.require_task_annotate(db, user, db.get(Task, request.task_id))
    if request.status in UNFINISHED:
        db.execute(
            update(AnnotationRequest)
            .where(AnnotationRequest.id == request.id, AnnotationRequest.status.in_(UNFINISHED))
            .values(
                status="failed", message=CANCELED, finished_date=utcnow(), lease_expires_at=None
            )
        )
    else:
        db.execute(delete(AnnotationRequest).where(AnnotationRequest.id == request.id))
