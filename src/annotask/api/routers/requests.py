"""``/api/requests``: the status of background work (spec 1.7, 3, 4.5).

A user sees and cancels their own requests; an admin can also open and cancel
anyone's by id, but the list shows only the caller's, as in CVAT. Ids are
UUIDs and the routes use ``{rq_id:path}``, so percent-encoded ids work (spec 0.1).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Request
from starlette.datastructures import QueryParams

from annotask.api.body import json_body
from annotask.api.deps import CurrentCaller, Db, ServicesDep
from annotask.api.openapi import PAGING, IntText, query_doc
from annotask.api.pagination import paginate_query
from annotask.api.routing import CvatRouter
from annotask.api.schemas.common import Page, RqId
from annotask.api.schemas.requests import DiagnosticsSleep, RequestRead, request_read
from annotask.db.models import User
from annotask.domain import requests as rq
from annotask.domain.errors import NotFound, PermissionDenied, ValidationFailed

router = CvatRouter(prefix="/api/requests", tags=["requests"])

# Run by annotask.worker.jobs.diagnostics (not imported here: importing the jobs
# package loads every job module, which the web process does not need).
DIAGNOSTICS_SLEEP = "diagnostics:sleep"
_INT_FILTERS = ("project_id", "task_id", "job_id")
_TEXT_FILTERS = ("action", "target", "subresource", "format", "operation")


def _filters(params: QueryParams) -> rq.RequestFilters:
    filters = rq.RequestFilters()
    for name in _INT_FILTERS:
        if (value := params.get(name)) not in (None, ""):
            try:
                setattr(filters, name, int(value))
            except ValueError as exc:
                raise ValidationFailed({name: "A valid integer is required."}) from exc
    if status := params.get("status"):
        if status not in rq.STATUSES:
            raise ValidationFailed({"status": f"Must be one of: {', '.join(rq.STATUSES)}."})
        filters.status = status
    for name in _TEXT_FILTERS:
        if value := params.get(name):
            setattr(filters, name, value)
    if not filters.operation and (value := params.get("type")):
        filters.operation = value
    filters.sort = [key.strip() for key in params.get("sort", "").split(",") if key.strip()]
    return filters


_LIST_DOC = query_doc(
    **PAGING,
    **{name: IntText for name in _INT_FILTERS},
    **{name: str for name in _TEXT_FILTERS},
    status=(str, f"One of: {', '.join(rq.STATUSES)}."),
    type=(str, "The operation (when ``operation`` is not given)."),
    sort=(str, "Comma-separated fields, ``-`` first for descending."),
)


@router.get("", dependencies=[Depends(_LIST_DOC)])
def list_requests(request: Request, caller: CurrentCaller, db: Db) -> Page[RequestRead]:
    """The caller's requests, newest first; CVAT's filters and ``sort``."""
    query = rq.list_query(caller, _filters(request.query_params))
    return paginate_query(
        request, db, query, lambda r: request_read(request, r, caller.user), Page[RequestRead]
    )


def _require_diagnostics(services: ServicesDep) -> None:
    if not services.settings.diagnostics_enabled:
        raise NotFound()


@router.post("/diagnostics/sleep", status_code=202, dependencies=[Depends(_require_diagnostics)])
def diagnostics_sleep(
    caller: CurrentCaller,
    db: Db,
    services: ServicesDep,
    body: DiagnosticsSleep = Depends(json_body(DiagnosticsSleep)),
) -> RqId:
    """Queue a job that only sleeps and reports progress (admins; for testing the
    job machinery, enabled by ``diagnostics_enabled``)."""
    if not caller.is_admin:
        raise PermissionDenied()
    req = rq.create_request(
        db,
        services,
        operation=DIAGNOSTICS_SLEEP,
        target="server",
        owner_id=caller.user.id,
        params=body.model_dump(),
    )
    return RqId(rq_id=req.id)


@router.get("/{rq_id:path}")
def get_request(
    request: Request, rq_id: str, caller: CurrentCaller, db: Db, services: ServicesDep
) -> RequestRead:
    req = rq.get_checking_lease(db, services, caller, rq_id.rstrip("/"))
    owner = caller.user if req.owner_id == caller.user.id else db.get(User, req.owner_id or 0)
    return request_read(request, req, owner)


@router.post("/{rq_id:path}/cancel")
def cancel_request(
    request: Request, rq_id: str, caller: CurrentCaller, db: Db, services: ServicesDep
) -> RequestRead:
    """Queued: failed at once ("Canceled by the user"). Started: stopped at the job's
    next progress report. Finished or failed: 400."""
    retention = timedelta(hours=services.settings.request_retention_hours)
    req = rq.cancel(db, caller, rq_id, retention=retention)
    owner = caller.user if req.owner_id == caller.user.id else db.get(User, req.owner_id or 0)
    return request_read(request, req, owner)
