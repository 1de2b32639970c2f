"""``/api/jobs`` (spec 2.2): listing, reading, and moving a job through its stages."""

from __future__ import annotations

from fastapi import Depends, Request

from annotask.api.body import json_body
from annotask.api.deps import CurrentCaller, Db
from annotask.api.openapi import IntText, list_doc
from annotask.api.pagination import paginate_views
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Page
from annotask.api.schemas.jobs import JobPatch, JobRead, job_read
from annotask.domain import jobs

router = CvatRouter(prefix="/api/jobs", tags=["jobs"])


@router.get("", dependencies=[Depends(list_doc(jobs.JOB_LIST, parent_job_id=IntText))])
def list_jobs(request: Request, caller: CurrentCaller, db: Db) -> Page[JobRead]:
    """``task.get_jobs()`` sends ``task_id``; the other CVAT filters work too."""
    query = jobs.list_jobs(caller.user, request.query_params)
    return paginate_views(
        request, db, query, jobs.job_views, lambda v: job_read(request, v), Page[JobRead]
    )


@router.get("/{job_id}")
def retrieve_job(job_id: int, request: Request, caller: CurrentCaller, db: Db) -> JobRead:
    job = jobs.get_job(db, caller.user, job_id)
    return job_read(request, jobs.job_views(db, [job])[0])


@router.patch("/{job_id}")
def update_job(
    job_id: int,
    request: Request,
    caller: CurrentCaller,
    db: Db,
    body: JobPatch = Depends(json_body(JobPatch)),
) -> JobRead:
    job = jobs.get_job(db, caller.user, job_id)
    job = jobs.update_job(db, caller.user, job, body.model_dump(exclude_unset=True))
    return job_read(request, jobs.job_views(db, [job])[0])
