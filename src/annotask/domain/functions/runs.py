"""Annotation requests, the user's side: a native function run on a task (or a job).

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
from typing import Any, TypeGuard

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import Session

from annotask.db.base import utcnow
from annotask.db.models import AnnotationRequest, Function, Job, Task, User
from annotask.domain import permissions
from annotask.domain.annotations import service as annotation_service
from annotask.domain.annotations.context import job_range, label_set
from annotask.domain.errors import Conflict, Errors, NotFound, ValidationFailed
from annotask.domain.functions.mapping import build_mapping
from annotask.domain.functions.registry import find_function
from annotask.domain.tasks import MAX_ID

ANNOTATE_TASK = "annotate_task"
BATCH = "batch"
INTERACTIVE = "interactive"
CANCELED = "Canceled by the user"
NOT_FOUND = "There is no annotation request with this id."
UNFINISHED = ("queued", "started")
FLAG_ALIASES = {
    "cleanup": ("cleanup",),
    "conv_mask_to_poly": ("conv_mask_to_poly", "convMaskToPoly"),
}
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


def detector_mapping(
    db: Session, function: Function, task: Task, requested: Any, conv_mask_to_poly: bool
) -> dict:
    """The detector's labels paired with the task's (the caller's ``mapping`` first)."""
    return build_mapping(
        function.spec.get("labels_v2", []),
        label_set(db, task),
        requested,
        conv_mask_to_poly=conv_mask_to_poly,
        function_desc=f"function #{function.id}",
        task_desc=f"task #{task.id}",
    )


def create_request(db: Session, user: User, raw: Any) -> AnnotationRequest:
    """Queue a run of a detector on a whole task, or on one job's frames (CVAT's
    ``FunctionCallRequest``).

    The caller must be allowed to change the annotations it targets (the task's,
    or the job's); the task needs data in image-set chunks (what agents read);
    one unfinished batch request per task (interactive calls do not count).
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
    task, job = resolve_target(db, user, raw.get("task"), raw.get("job"))
    check_runnable(db, function, task)
    # Lock the task's row (PostgreSQL; SQLite writers are serialised already) so
    # that two concurrent requests cannot both find the task free.
    db.execute(select(Task.id).where(Task.id == task.id).with_for_update())
    busy = db.scalar(
        select(AnnotationRequest.id).where(
            AnnotationRequest.task_id == task.id,
            AnnotationRequest.category == BATCH,
            AnnotationRequest.status.in_(UNFINISHED),
        )
    )
    if busy is not None:
        raise Conflict(f"Only one running request is allowed for the same task #{task.id}")
    mapping = detector_mapping(db, function, task, raw.get("mapping"), options["conv_mask_to_poly"])
    request = new_request(
        function.id,
        task.id,
        user.id,
        BATCH,
        {
            "type": ANNOTATE_TASK,
            "task": task.id,
            "mapping": mapping,
            "threshold": options["threshold"],
            "conv_mask_to_poly": options["conv_mask_to_poly"],
        },
    )
    request.job_id = job.id if job is not None else None
    request.threshold = options["threshold"]
    request.cleanup = options["cleanup"]
    db.add(request)
    db.flush()
    return request


def new_request(
    function_id: int, task_id: int, owner_id: int, category: str, params: dict[str, Any]
) -> AnnotationRequest:
    """A queued request, not yet added to the session (``params`` go to the agent)."""
    return AnnotationRequest(
        id=str(uuid.uuid4()),
        function_id=function_id,
        task_id=task_id,
        owner_id=owner_id,
        type=params["type"],
        category=category,
        params=params,
        threshold=None,
        cleanup=False,
        status="queued",
        progress=0.0,
        message="",
        attempts=0,
        created_date=utcnow(),
    )


def resolve_target(db: Session, user: User, task_id: Any, job_id: Any) -> tuple[Task, Job | None]:
    """The task a request works on, and its job when one is given (as CVAT: the task
    is derived from the job, and a task that disagrees with it is a 400).

    With a job, the caller must be allowed to write that job's annotations (a
    job's assignee may run functions on it); without, the task's.
    """
    if job_id is None:
        task = db.get(Task, task_id) if 0 < task_id <= MAX_ID else None
        if task is None:
            raise NotFound(f"Task #{task_id} not found.")
        return annotation_service.require_task_annotate(db, user, task), None
    job = db.get(Job, job_id) if 0 < job_id <= MAX_ID else None
    job = permissions.require_job_view(db, user, job)
    if task_id is not None and task_id != job.task_id:
        raise ValidationFailed(
            {"job": f"Job #{job.id} belongs to task #{job.task_id}, not to task #{task_id}."}
        )
    task = db.get(Task, job.task_id)
    if task is None:
        raise NotFound(f"Task #{job.task_id} not found.")
    return task, job


def check_runnable(db: Session, function: Function, task: Task) -> None:
    """Refuse at once what the function's agent would fail on later: a task its owner
    cannot see (the agent reads it with the owner's login), or without image data."""
    owner = db.get(User, function.owner_id) if function.owner_id else None
    if owner is None or not permissions.can_see_task(db, owner, task):
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


def job_frames(db: Session, job: Job) -> set[int]:
    """The task frames a job annotates: its segment's range, or its listed frames."""
    segment = job.segment
    if segment.type == "specific_frames" and segment.frames is not None:
        return set(segment.frames)
    span = job_range(db, job)
    return set(range(span.start, span.stop + 1))


def _parse_options(raw: Any) -> dict[str, Any]:
    errors = Errors()
    if not isinstance(raw, Mapping):
        errors.add("", "The body must be a JSON object.")
        errors.raise_if_any()
    for key in raw:
        if key not in REQUEST_FIELDS:
            errors.add(str(key), "Unknown field, or a field that cannot be written.")
    check_target_ids(raw, errors)
    threshold = raw.get("threshold")
    if threshold is not None and not is_fraction(threshold):
        errors.add("threshold", "A number between 0 and 1 is required.")
    quality = raw.get("quality", "original")
    if quality not in ("original", "compressed"):
        errors.add("quality", '"original" or "compressed" is required.')
    flags = {key: read_flag(raw, key, errors) for key in ("cleanup", "conv_mask_to_poly")}
    errors.raise_if_any()
    return {"threshold": None if threshold is None else float(threshold), **flags}


def is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_fraction(value: object) -> TypeGuard[float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def check_target_ids(raw: Mapping[str, Any], errors: Errors) -> None:
    """``task`` and/or ``job``: at least one, each an id when given."""
    task, job = raw.get("task"), raw.get("job")
    if job is not None and not is_id(job):
        errors.add("job", "The id of a job of the task is required.")
    if (task is not None or job is None) and not is_id(task):
        errors.add("task", "The id of the task to annotate (or a job's id in job) is required.")


def read_flag(raw: Mapping[str, Any], key: str, errors: Errors) -> bool:
    """A boolean field (false when absent), under any of its CVAT spellings."""
    values = [raw[a] for a in FLAG_ALIASES[key] if a in raw]
    value = values[0] if values else False
    if not isinstance(value, bool):
        errors.add(key, "Must be true or false.")
    return bool(value)


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
    """The batch requests the user sees: their own, those on tasks they are staff
    of, and those on the jobs they see (a job assignee sees the runs on their
    job, never the runs on the whole task). Interactive calls are answered
    directly and never listed (as in CVAT)."""
    query = select(AnnotationRequest).where(AnnotationRequest.category == BATCH)
    if user.is_superuser:
        return query
    seen_tasks = select(Task.id).where(permissions.visible_tasks(user))
    seen_jobs = select(Job.id).where(permissions.visible_jobs(user))
    return query.where(
        or_(
            AnnotationRequest.owner_id == user.id,
            AnnotationRequest.task_id.in_(seen_tasks),
            AnnotationRequest.job_id.in_(seen_jobs),
        )
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
        if request.job_id is not None:
            permissions.require_job_view(db, user, db.get(Job, request.job_id))
        else:
            annotation_service.require_task_annotate(db, user, db.get(Task, request.task_id))
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
