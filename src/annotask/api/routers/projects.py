"""``/api/projects`` (spec 2.13): projects and the tasks inside them."""

from __future__ import annotations

from fastapi import Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotask.api.body import json_body
from annotask.api.deps import CurrentCaller, Db, ServicesDep
from annotask.api.media import send
from annotask.api.openapi import binary, list_doc
from annotask.api.pagination import paginate_views
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Page
from annotask.api.schemas.projects import ProjectPatch, ProjectRead, ProjectWrite, project_read
from annotask.api.schemas.tasks import TaskRead, task_read
from annotask.db.models import Project, Task
from annotask.domain import projects, tasks
from annotask.domain.errors import NotFound
from annotask.domain.task_data import serving

router = CvatRouter(prefix="/api/projects", tags=["projects"])


def read_one(request: Request, db: Session, project: Project) -> ProjectRead:
    return project_read(request, projects.project_views(db, [project])[0])


@router.post("", status_code=201)
def create_project(
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: ProjectWrite = Depends(json_body(ProjectWrite)),
) -> ProjectRead:
    project = projects.create_project(db, caller.user, body.model_dump())
    return read_one(request, db, project)


@router.get("", dependencies=[Depends(list_doc(projects.PROJECT_LIST))])
def list_projects(request: Request, caller: CurrentCaller, db: Db) -> Page[ProjectRead]:
    query = projects.list_projects(caller.user, request.query_params)
    return paginate_views(
        request,
        db,
        query,
        projects.project_views,
        lambda v: project_read(request, v),
        Page[ProjectRead],
    )


@router.get("/{project_id}")
def retrieve_project(
    project_id: int, request: Request, caller: CurrentCaller, db: Db
) -> ProjectRead:
    return read_one(request, db, projects.get_project(db, caller.user, project_id))


@router.get(
    "/{project_id}/tasks",
    dependencies=[Depends(list_doc(tasks.TASK_LIST, without=("project_id",)))],
)
def list_project_tasks(
    project_id: int, request: Request, caller: CurrentCaller, db: Db
) -> Page[TaskRead]:
    """CVAT's project sub-list: the project's tasks, paginated like ``GET /api/tasks``."""
    project = projects.get_project(db, caller.user, project_id)
    params = {**request.query_params, "project_id": str(project.id)}
    query = tasks.list_tasks(caller.user, params)
    return paginate_views(
        request, db, query, tasks.task_views, lambda v: task_read(request, v), Page[TaskRead]
    )


@router.get("/{project_id}/preview", response_model=None, responses=binary("image/*"))
def project_preview(
    project_id: int, caller: CurrentCaller, db: Db, services: ServicesDep
) -> Response:
    """The preview of the project's first task that has data (CVAT's choice too)."""
    project = projects.get_project(db, caller.user, project_id)
    first = db.scalar(
        select(Task)
        .where(Task.project_id == project.id, Task.data_id.is_not(None))
        .order_by(Task.id)
        .limit(1)
    )
    if first is None:
        raise NotFound("The project has no task with data yet.")
    return send(serving.get_preview(services, first))


@router.patch("/{project_id}")
def update_project(
    project_id: int,
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: ProjectPatch = Depends(json_body(ProjectPatch)),
) -> ProjectRead:
    project = projects.get_project_for_change(db, caller.user, project_id)
    project = projects.update_project(db, caller.user, project, body.model_dump(exclude_unset=True))
    return read_one(request, db, project)


@router.delete("/{project_id}", status_code=204)
def delete_project(
    project_id: int, caller: CurrentCaller, db: Db, services: ServicesDep
) -> Response:
    """Deletes the project's tasks with their data and files as well."""
    project = projects.get_project_for_change(db, caller.user, project_id)
    projects.delete_project(db, services.settings, project)
    return Response(status_code=204)
