"""``/api/tasks``: task records (spec 1.4, 1.8, 2.12). Data upload lives in ``task_data``."""

from __future__ import annotations

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from annotask.api.body import json_body
from annotask.api.deps import CurrentCaller, Db, ServicesDep
from annotask.api.openapi import list_doc
from annotask.api.pagination import paginate_views
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Page
from annotask.api.schemas.server import RqStatus
from annotask.api.schemas.tasks import TaskPatch, TaskRead, TaskWrite, task_read
from annotask.domain import requests as rq
from annotask.domain import tasks
from annotask.domain.task_data.start import latest_creations

router = CvatRouter(prefix="/api/tasks", tags=["tasks"])


def read_one(request: Request, db: Session, task) -> TaskRead:
    return task_read(request, tasks.task_views(db, [task])[0])


@router.post("", status_code=201)
def create_task(
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: TaskWrite = Depends(json_body(TaskWrite)),
) -> TaskRead:
    """Create an empty task; its data comes with ``POST /api/tasks/{id}/data/``."""
    task = tasks.create_task(db, caller.user, body.model_dump())
    return read_one(request, db, task)


@router.get("", dependencies=[Depends(list_doc(tasks.TASK_LIST))])
def list_tasks(request: Request, caller: CurrentCaller, db: Db) -> Page[TaskRead]:
    query = tasks.list_tasks(caller.user, request.query_params)
    return paginate_views(
        request, db, query, tasks.task_views, lambda v: task_read(request, v), Page[TaskRead]
    )


@router.get("/{task_id}")
def retrieve_task(task_id: int, request: Request, caller: CurrentCaller, db: Db) -> TaskRead:
    return read_one(request, db, tasks.get_task(db, caller.user, task_id))


@router.patch("/{task_id}")
def update_task(
    task_id: int,
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: TaskPatch = Depends(json_body(TaskPatch)),
) -> TaskRead:
    task = tasks.get_task_for_change(db, caller.user, task_id)
    task = tasks.update_task(db, caller.user, task, body.model_dump(exclude_unset=True))
    return read_one(request, db, task)


@router.delete("/{task_id}", status_code=204)
def delete_task(task_id: int, caller: CurrentCaller, db: Db, services: ServicesDep) -> Response:
    """Deletes jobs, annotations, data and files too; the CLI reads 404 as "not found"."""
    task = tasks.get_task_for_change(db, caller.user, task_id)
    tasks.delete_task(db, services.settings, task)
    return Response(status_code=204)


# The legacy ``RqStatus`` states of CVAT's old ``GET /api/tasks/{id}/status``.
LEGACY_STATES = {
    "queued": "Queued",
    "started": "Started",
    "finished": "Finished",
    "failed": "Failed",
}


@router.get("/{task_id}/status")
def task_status(task_id: int, caller: CurrentCaller, db: Db, services: ServicesDep) -> RqStatus:
    """CVAT's deprecated status of the task's data creation: ``Finished`` when
    nothing was ever started (as CVAT answers for a missing job)."""
    task = tasks.get_task(db, caller.user, task_id)
    creation = latest_creations(db, [task.id]).get(task.id)
    if creation is not None and rq.repair_expired_lease(db, services, creation):
        creation = latest_creations(db, [task_id]).get(task_id)
    if creation is None:
        return RqStatus(state="Finished", message="", progress=0.0)
    return RqStatus(
        state=LEGACY_STATES.get(creation.status, "Queued"),
        message=creation.message or "",
        progress=float(creation.progress or 0.0),
    )
